//! Hostile input: random and malicious bodies at every write of the API, and SQL in every
//! filter. The answer is always a 4xx problem (or, for a body that happens to be valid, a
//! success): never a 5xx, never a dropped connection; strings are stored and echoed verbatim.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// Field names the API knows, so random bodies also hit real fields with wrong values.
const FIELDS: [&str; 24] = [
    "name",
    "email",
    "delivery_date",
    "delivery_type",
    "timing",
    "pain",
    "location",
    "nrs",
    "action",
    "stage",
    "level",
    "reason",
    "program_id",
    "coach_id",
    "status",
    "test",
    "reached",
    "side",
    "performed_on",
    "id",
    "scopes",
    "password",
    "token",
    "notes",
];

const NASTY_STRINGS: [&str; 8] = [
    "'; DROP TABLE clients; --",
    "\" OR 1=1 --",
    "NaN",
    "Infinity",
    "-0",
    "\u{0000}",
    "\u{202e}evil",
    "1e999999",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(NASTY_STRINGS.to_vec()).prop_map(Value::from),
        prop::sample::select(vec!["2026-02-30", "9999-12-31", "0000-01-01", "2026-11-26"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(FIELDS.to_vec()).prop_map(String::from),
                        ".{0,12}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Raw bodies no JSON parser should accept quietly.
fn nasty_bodies() -> Vec<Vec<u8>> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    vec![
        deep.into_bytes(),
        deep_object.into_bytes(),
        br#"{"nrs": 1e400, "level": 123456789012345678901234567890}"#.to_vec(),
        br#"{"nrs": NaN, "level": Infinity}"#.to_vec(),
        b"{\"name\": \"\xff\xfe\xfd\"}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        b"null".to_vec(),
        b"".to_vec(),
        b"{\"name\": \"a\", \"name\": \"b\"}".to_vec(),
        b"{\"name\": \"a\"".to_vec(),
        format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024)).into_bytes(),
    ]
}

struct Target {
    method: Method,
    path: String,
}

/// Every POST, PUT and PATCH of the served document, with real ids in its path.
async fn targets(app: &TestApp, ids: &[(&str, String)]) -> Vec<Target> {
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            let mut concrete = path.clone();
            for (name, id) in ids {
                concrete = concrete.replace(&format!("{{{name}}}"), id);
            }
            assert!(!concrete.contains('{'), "no id for {path}");
            out.push(Target {
                method: method.to_uppercase().parse().unwrap(),
                path: concrete,
            });
        }
    }
    assert!(out.len() >= 15, "found {} writes", out.len());
    out
}

async fn send(app: &TestApp, token: &str, target: &Target, body: Vec<u8>) -> (u16, String) {
    let content_type = if target.path.starts_with("/v1/imports") {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let res = app
        .client
        .request(
            target.method.clone(),
            format!("{}{}", app.address, target.path),
        )
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("if-match", "\"1\"")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {}: no answer: {e}", target.method, target.path));
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type)
}

#[tokio::test]
async fn random_and_malformed_bodies_at_every_write_are_4xx_problems_never_5xx() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let programs: Value = app
        .get("/v1/programs", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let ids = [
        ("client_id", client.client_id.unwrap().to_string()),
        (
            "id",
            programs["items"][0]["id"].as_str().unwrap().to_string(),
        ),
    ];
    let targets = targets(&app, &ids).await;

    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    let strategy = json_value();
    let mut sent = 0;
    for target in &targets {
        for token in [&admin.token, &client.token] {
            for _ in 0..12 {
                let value = strategy.new_tree(&mut runner).unwrap().current();
                let (status, content_type) =
                    send(&app, token, target, serde_json::to_vec(&value).unwrap()).await;
                sent += 1;
                assert!(
                    status < 500,
                    "{} {} answered {status} to {value}",
                    target.method,
                    target.path
                );
                if status >= 400 {
                    assert_eq!(
                        content_type, "application/problem+json",
                        "{} {}",
                        target.method, target.path
                    );
                }
            }
        }
        for body in nasty_bodies() {
            if body.is_empty() && target.path.starts_with("/v1/imports") {
                continue; // An empty import is zero rows, a valid (empty) batch.
            }
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
            let (status, content_type) = send(&app, &admin.token, target, body).await;
            sent += 1;
            assert!(
                (400..500).contains(&status),
                "{} {} answered {status} to {shown}",
                target.method,
                target.path
            );
            assert_eq!(content_type, "application/problem+json");
        }
    }
    // The service is still whole.
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    assert!(sent > 300, "sent {sent}");
    eprintln!("hostile bodies sent: {sent} to {} writes", targets.len());
}

#[tokio::test]
async fn sql_in_values_and_filters_is_stored_and_echoed_verbatim_never_run() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let name = "Robert'); DROP TABLE clients; --";
    let created = app
        .create_client(
            &coach,
            &json!({"name": name, "delivery_date": "2026-08-20", "delivery_type": "vaginal",
                    "external_id": "x' OR '1'='1", "notes": "\" OR 1=1; --"}),
        )
        .await;
    app.create_client(
        &coach,
        &json!({"name": "Bea Santos", "delivery_date": "2026-08-20", "delivery_type": "vaginal"}),
    )
    .await;
    let read: Value = app
        .get(
            &format!("/v1/clients/{}", created["id"].as_str().unwrap()),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"], name);
    assert_eq!(read["external_id"], "x' OR '1'='1");
    let q = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // The injection text finds exactly the client whose name holds it, and nothing else.
    let found: Value = app
        .get(
            &format!("/v1/clients?q={}", q("'); DROP TABLE")),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["name"], name);
    for probe in ["' OR 'a'='a", "%' OR 1=1 --", "\\", "%", "_"] {
        let res = app
            .get(&format!("/v1/clients?q={}", q(probe)), Some(&coach.token))
            .await;
        assert_eq!(res.status(), 200, "q={probe}");
        let page: Value = res.json().await.unwrap();
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            0,
            "q={probe} matched {page}"
        );
    }
    for (filter, value) in [
        ("stage", "crawling' OR 1=1 --"),
        ("coach_id", "1 OR 1=1"),
        ("updated_since", "2026-01-01'; DROP TABLE clients; --"),
        ("flag", "amber' --"),
    ] {
        let res = app
            .get(
                &format!("/v1/clients?{filter}={}", q(value)),
                Some(&coach.token),
            )
            .await;
        assert_eq!(res.status(), 422, "{filter}");
    }
    for (filter, value) in [
        ("entity", "client' OR 1=1 --"),
        ("action", "x'; DELETE FROM audit_events; --"),
    ] {
        let res = app
            .get(
                &format!("/v1/audit-events?{filter}={}", q(value)),
                Some(&admin.token),
            )
            .await;
        assert!(
            res.status() == 200 || res.status() == 422,
            "{filter}: {}",
            res.status()
        );
        if res.status() == 200 {
            let page: Value = res.json().await.unwrap();
            assert_eq!(page["items"].as_array().unwrap().len(), 0);
        }
    }
    // Every table is still there and whole.
    let all: Value = app
        .get("/v1/clients", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}
