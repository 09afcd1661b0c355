//! The document against what is sent: a strict check of a value against a schema of the
//! OpenAPI document (used for webhooks too), and a day of answers checked with it. Generated
//! clients read answers by these schemas, so a required field not sent, a field sent but not
//! named, or a value outside an enum is a crash in someone else's app.

use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::spawn_app;
use crate::webhooks::a_day_of_events;

/// An `allOf` as one object schema: every part's properties and required fields (parts by
/// `$ref` resolved), so that a field one part names is not undocumented for another.
fn merged(doc: &Value, parts: &[Value], outer: &Value) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    let mut object = outer.as_object().cloned().unwrap_or_default();
    object.remove("allOf");
    for part in parts {
        let part = match part["$ref"].as_str() {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(part),
            None => part,
        };
        if let Some(inner) = part["allOf"].as_array() {
            let inner = merged(doc, inner, part);
            properties.extend(inner["properties"].as_object().cloned().unwrap_or_default());
            required.extend(inner["required"].as_array().cloned().unwrap_or_default());
            continue;
        }
        properties.extend(part["properties"].as_object().cloned().unwrap_or_default());
        required.extend(part["required"].as_array().cloned().unwrap_or_default());
    }
    object.insert("type".into(), json!("object"));
    object.insert("properties".into(), Value::Object(properties));
    object.insert("required".into(), Value::Array(required));
    Value::Object(object)
}

/// What `value` breaks of `schema` (resolved in `doc`), strictly: a field the schema does not
/// name is a break too, so the document cannot fall behind what is sent.
pub fn breaks_schema(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let target = doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{reference} is in the document"));
        return breaks_schema(doc, target, value, at);
    }
    if let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let fits = variants
            .iter()
            .any(|v| breaks_schema(doc, v, value, at).is_empty());
        return if fits {
            vec![]
        } else {
            vec![format!("{at}: fits no variant: {value}")]
        };
    }
    if let Some(all) = schema["allOf"].as_array() {
        return breaks_schema(doc, &merged(doc, all, schema), value, at);
    }
    let mut found = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return vec![format!("{at}: {value} is not {types:?}")];
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            found.push(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str()) {
        let ok = match format {
            "uuid" => Uuid::parse_str(text).is_ok(),
            "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
            _ => true,
        };
        if !ok {
            found.push(format!("{at}: {text} is not a {format}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap()) {
                found.push(format!(
                    "{at}.{}: required, missing",
                    name.as_str().unwrap()
                ));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => found.extend(breaks_schema(doc, s, field, &format!("{at}.{name}"))),
                None if properties.is_some() => {
                    found.push(format!("{at}.{name}: sent, not in the document"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            found.extend(breaks_schema(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    found
}

/// Every answer of a coach's, a mother's and an admin's day is what the document says for that
/// operation and status: the caseload, her record, plan, today, trace, transitions, timeline,
/// reports, sessions, check-ins, the inbox, the feed, the export, the audit trail, webhook
/// endpoints and deliveries (a test message's among them), and a 422.
#[tokio::test]
async fn a_days_answers_are_what_the_document_says() {
    let doc: Value = serde_json::from_str(&runback::openapi::document_json()).unwrap();
    let app = spawn_app().await;
    let (admin, coach, ana) = app.riverside().await;
    let today = Utc::now().date_naive();
    let sent = |res: reqwest::Response| assert!(res.status().is_success(), "{}", res.status());
    sent(
        app.post(
            "/v1/clients/me/sessions",
            Some(&ana.token),
            &json!({"performed_on": today, "completed": true, "duration_minutes": 20, "rpe": 4}),
        )
        .await,
    );
    sent(
        app.post(
            "/v1/clients/me/check-ins",
            Some(&ana.token),
            &json!({"sleep_hours": 6.5, "fatigue": 4, "breastfeeding": "exclusive"}),
        )
        .await,
    );
    // A dashboard's endpoint and its test message (a delivery whose type is `webhook.test`).
    let res = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": "https://dashboard.example.org/hooks", "events": ["flag.opened"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let hook = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sent(
        app.post(
            &format!("/v1/webhooks/{hook}/test"),
            Some(&admin.token),
            &json!({}),
        )
        .await,
    );
    a_day_of_events(&app, &admin, &coach, &ana).await;
    let c = ana.client_id.unwrap().to_string();
    let at = |p: &str| p.replace("{client_id}", &c).replace("{id}", &hook);
    let reads = [
        ("/v1/clients", &coach),
        ("/v1/clients/{client_id}", &coach),
        ("/v1/clients/{client_id}/plan", &coach),
        ("/v1/clients/{client_id}/plan/today", &ana),
        ("/v1/clients/{client_id}/plan/recommendation", &coach),
        ("/v1/clients/{client_id}/plan/transitions", &coach),
        ("/v1/clients/{client_id}/timeline", &coach),
        ("/v1/clients/{client_id}/symptom-reports", &coach),
        ("/v1/clients/{client_id}/sessions", &ana),
        ("/v1/clients/{client_id}/check-ins", &coach),
        ("/v1/clients/{client_id}/export", &admin),
        ("/v1/flags", &coach),
        ("/v1/sync", &coach),
        ("/v1/sync", &ana),
        ("/v1/me", &ana),
        ("/v1/audit-events", &admin),
        ("/v1/webhooks", &admin),
        ("/v1/webhooks/{id}/deliveries", &admin),
    ];
    let mut broken = Vec::new();
    for (path, caller) in reads {
        let res = app.get(&at(path), Some(&caller.token)).await;
        assert_eq!(res.status(), 200, "GET {path}");
        let body: Value = res.json().await.unwrap();
        let schema =
            &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "GET {path} documents its 200");
        broken.extend(breaks_schema(&doc, schema, &body, &format!("GET {path}")));
    }
    let path = "/v1/clients/{client_id}/symptom-reports";
    let res = app
        .post(
            &at(path),
            Some(&coach.token),
            &json!({"timing": "during", "pain": [{"location": "hip", "nrs": 42}]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let schema = &doc["paths"][path]["post"]["responses"]["422"]["content"]
        ["application/problem+json"]["schema"];
    broken.extend(breaks_schema(&doc, schema, &body, "POST 422"));
    assert!(
        broken.is_empty(),
        "sent but not as documented:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_schema_check_finds_a_missing_an_extra_and_a_mistyped_field() {
    let doc = json!({"components": {"schemas": {"Data": {
        "type": "object", "required": ["id", "level"],
        "properties": {"id": {"type": "string", "format": "uuid"},
                       "level": {"type": "string", "enum": ["amber", "red_pelvic"]},
                       "at": {"type": ["string", "null"], "format": "date-time"}}}}}});
    let schema = json!({"$ref": "#/components/schemas/Data"});
    let good = json!({"id": Uuid::nil(), "level": "amber", "at": null});
    assert!(breaks_schema(&doc, &schema, &good, "data").is_empty());
    let bad = json!({"id": "not-a-uuid", "level": "green", "extra": 1, "at": 5});
    assert_eq!(
        breaks_schema(&doc, &schema, &bad, "data"),
        [
            "data.at: 5 is not [\"string\", \"null\"]",
            "data.extra: sent, not in the document",
            "data.id: not-a-uuid is not a uuid",
            "data.level: \"green\" is not one of [String(\"amber\"), String(\"red_pelvic\")]",
        ]
    );
    assert_eq!(
        breaks_schema(&doc, &schema, &json!({"id": Uuid::nil()}), "data"),
        ["data.level: required, missing"]
    );
}

#[test]
fn the_schema_check_reads_an_all_of_as_one_object() {
    let doc = json!({"components": {"schemas": {"Base": {
        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}});
    let schema = json!({"allOf": [{"$ref": "#/components/schemas/Base"},
        {"type": "object", "required": ["extra"], "properties": {"extra": {"type": "integer"}}}]});
    assert!(breaks_schema(&doc, &schema, &json!({"id": "a", "extra": 1}), "v").is_empty());
    assert_eq!(
        breaks_schema(&doc, &schema, &json!({"id": "a", "other": 1}), "v"),
        [
            "v.extra: required, missing",
            "v.other: sent, not in the document"
        ]
    );
}
