//! Shapes that client generators read as types (openapi-python-client, openapi-typescript):
//! every page's items by reference to one named schema; every variant of a tagged union a
//! named schema with a `discriminator` (timeline entries by `kind`, the feed's changes by
//! `entity`, a trace's rule checks by `rule`); every field the server always sends
//! `required`; member names for enum values that are not words; a stored report's symptoms
//! typed; and an example on every success response. Each step rewrites what the handlers'
//! types produced; none changes what is sent (`tests/api/contract.rs` holds real answers to
//! the result).

use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashSet};

/// All the steps, in order: page items and variants become components before `required` is
/// worked out over the components, and examples are composed last, from the final shapes.
pub(super) fn for_generated_clients(doc: &mut Value) {
    let sync_records: Vec<(String, &str)> = crate::api::sync::SyncEntity::ALL
        .iter()
        .map(|e| {
            let value = serde_json::to_value(e).expect("an entity serializes");
            (
                value.as_str().unwrap_or_default().to_string(),
                e.record_schema(),
            )
        })
        .collect();
    page_items_by_ref(doc);
    name_tagged_variants(doc);
    sync_changes_by_entity(doc, &sync_records);
    rule_checks_by_rule(doc);
    required_when_always_sent(doc);
    enum_names(doc);
    reported_symptoms(doc, &crate::api::reports::NOT_SYMPTOMS);
    examples_from_parts(doc);
}

fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
    doc["components"]["schemas"]
        .as_object_mut()
        .expect("the document has component schemas")
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `Page_X.items` holds a copy of `X`'s schema (the generic is written out): refer to `X`
/// instead, adding `X` when no operation names it on its own.
fn page_items_by_ref(doc: &mut Value) {
    let schemas = schemas(doc);
    let pages: Vec<String> = schemas
        .keys()
        .filter(|name| name.starts_with("Page_"))
        .cloned()
        .collect();
    for page in pages {
        let item_name = page["Page_".len()..].to_string();
        let item = schemas[&page]["properties"]["items"]["items"].clone();
        if item.get("$ref").is_some() {
            continue;
        }
        match schemas.get(&item_name) {
            Some(known) if *known != item => continue,
            Some(_) => {}
            None => {
                schemas.insert(item_name.clone(), item);
            }
        }
        schemas[&page]["properties"]["items"]["items"] = schema_ref(&item_name);
    }
}

/// The value of the property every member of `one_of` fixes to one string (`kind`, `entity`):
/// the property's name and each member's value, or None when the members are not so tagged.
fn tag_of(one_of: &[Value]) -> Option<(String, Vec<String>)> {
    let fixed = |member: &Value, name: &str| -> Option<String> {
        let values = member["properties"][name]["enum"].as_array()?;
        match values.as_slice() {
            [Value::String(v)] => Some(v.clone()),
            _ => None,
        }
    };
    let first = one_of.first()?.get("properties")?.as_object()?;
    first.keys().find_map(|name| {
        let values: Option<Vec<String>> = one_of.iter().map(|m| fixed(m, name)).collect();
        values.map(|v| (name.clone(), v))
    })
}

fn pascal(words: &str) -> String {
    words
        .split(['_', '.', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

/// A union of inline objects told apart by one fixed property (serde's `tag = "kind"`) becomes
/// a union of named schemas, `{Union}{Value}`, with a `discriminator` mapping each value.
fn name_tagged_variants(doc: &mut Value) {
    let schemas = schemas(doc);
    let unions: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("discriminator").is_none())
        .filter(|(_, s)| {
            s["oneOf"]
                .as_array()
                .is_some_and(|m| m.iter().all(|m| m.get("$ref").is_none()))
        })
        .map(|(name, _)| name.clone())
        .collect();
    for union in unions {
        let members = schemas[&union]["oneOf"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some((tag, values)) = tag_of(&members) else {
            continue;
        };
        let mut mapping = Map::new();
        let mut refs = Vec::new();
        for (member, value) in members.into_iter().zip(values) {
            let name = format!("{union}{}", pascal(&value));
            schemas.insert(name.clone(), member);
            mapping.insert(value, schema_ref(&name)["$ref"].clone());
            refs.push(schema_ref(&name));
        }
        schemas[&union]["oneOf"] = Value::Array(refs);
        schemas[&union]["discriminator"] = json!({"propertyName": tag, "mapping": mapping});
    }
}

/// `SyncChange` carries any of nine records in `data` and names which in `entity`: one variant
/// per entity (`SyncChangeClient`, …) whose `data` is that record's schema, told apart by
/// `entity`. `records` pairs each entity value with its record's schema.
fn sync_changes_by_entity(doc: &mut Value, records: &[(String, &str)]) {
    let describe = |entity: &str| format!("A change of a `{entity}`.");
    split_by_tag(doc, "SyncChange", ("entity", "data"), records, describe);
}

/// `union` (an object whose `tag` names what its `field` holds) as one variant per tag value:
/// `{union}{Value}`, with `tag` fixed to the value and `field` referring to that value's
/// schema, told apart by a `discriminator` on `tag`. The union keeps its description and
/// example.
fn split_by_tag(
    doc: &mut Value,
    union: &str,
    (tag, field): (&str, &str),
    variants: &[(String, &str)],
    describe: impl Fn(&str) -> String,
) {
    let schemas = schemas(doc);
    let Some(base) = schemas.get(union).cloned() else {
        return;
    };
    let mut mapping = Map::new();
    let mut refs = Vec::new();
    for (value, schema) in variants {
        let mut variant = base.clone();
        if let Some(object) = variant.as_object_mut() {
            object.remove("example");
        }
        variant["description"] = json!(describe(value));
        variant["properties"][tag] = json!({"type": "string", "enum": [value]});
        variant["properties"][field] = json!({
            "$ref": schema_ref(schema)["$ref"],
            "description": base["properties"][field]["description"],
        });
        let name = format!("{union}{}", pascal(value));
        schemas.insert(name.clone(), variant);
        mapping.insert(value.clone(), schema_ref(&name)["$ref"].clone());
        refs.push(schema_ref(&name));
    }
    let mut split = json!({
        "description": base["description"],
        "oneOf": refs,
        "discriminator": {"propertyName": tag, "mapping": mapping},
    });
    if let Some(example) = base.get("example") {
        split["example"] = example.clone();
    }
    schemas.insert(union.into(), split);
}

/// A stored report's `symptoms` are the symptom fields of the body she sent
/// (`SymptomReportInput` without `not_symptoms`), none required: `ReportedSymptoms`.
fn reported_symptoms(doc: &mut Value, not_symptoms: &[&str]) {
    let schemas = schemas(doc);
    let Some(input) = schemas.get("SymptomReportInput") else {
        return;
    };
    let mut properties = input["properties"].as_object().cloned().unwrap_or_default();
    properties.retain(|name, _| !not_symptoms.contains(&name.as_str()));
    let description = "The symptom fields of the report as she sent them (`SymptomReportInput`).";
    schemas.insert(
        "ReportedSymptoms".into(),
        json!({"type": "object", "description": description, "properties": properties}),
    );
    if let Some(view) = schemas.get_mut("SymptomReportView") {
        let said = view["properties"]["symptoms"]["description"].clone();
        view["properties"]["symptoms"] =
            json!({"$ref": schema_ref("ReportedSymptoms")["$ref"], "description": said});
    }
}

/// `RuleCheck.inputs` differ by rule: one variant per numbered rule (`RuleCheckR1`, …) whose
/// `inputs` is that rule's own schema (`domain::trace::inputs`), told apart by `rule`.
fn rule_checks_by_rule(doc: &mut Value) {
    use crate::domain::rules::Rule;
    use crate::domain::trace::inputs::schema_of;
    let inputs: Vec<(String, &str)> = Rule::ALL
        .into_iter()
        .filter_map(|rule| Some((rule.as_str().to_string(), schema_of(rule)?)))
        .collect();
    let describe = |rule: &str| format!("{rule}'s part in a decision.");
    split_by_tag(doc, "RuleCheck", ("rule", "inputs"), &inputs, describe);
}

/// A success response whose schema has no example of its own gets one composed from its parts'
/// examples (`TransitionResult` from a transition's and a plan's), so that every success
/// response shows one.
fn examples_from_parts(doc: &mut Value) {
    let operations = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .flat_map(|item| item.as_object().into_iter().flat_map(|o| o.values()));
    let successes = operations.flat_map(|op| {
        let responses = op["responses"].as_object().into_iter().flatten();
        responses
            .filter(|(status, _)| status.starts_with('2'))
            .map(|(_, r)| r)
    });
    let bare: BTreeSet<String> = successes
        .flat_map(|r| {
            r["content"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.values())
        })
        .filter(|media| media.get("example").is_none())
        .filter_map(|media| media["schema"]["$ref"].as_str())
        .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
        .collect();
    for name in bare {
        let schema = doc["components"]["schemas"][&name].clone();
        if schema.get("example").is_some() {
            continue;
        }
        if let Some(example) = composed(doc, &schema, 0) {
            doc["components"]["schemas"][&name]["example"] = example;
        }
    }
}

/// `schema`'s example: its own, or one made of its properties' (every required one must have
/// one), or for a list one item's; None when a part has none.
fn composed(doc: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(reference) = schema["$ref"].as_str() {
        return composed(
            doc,
            doc.pointer(reference.trim_start_matches('#'))?,
            depth + 1,
        );
    }
    if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
        return Some(first.clone());
    }
    if let Some(variants) = schema["oneOf"].as_array() {
        let first = variants.iter().find(|v| v["type"] != "null")?;
        return composed(doc, first, depth + 1);
    }
    if let Some(items) = schema.get("items") {
        return Some(json!([composed(doc, items, depth + 1)?]));
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut example = Map::new();
        for part in parts {
            if let Value::Object(fields) = composed(doc, part, depth + 1)? {
                example.extend(fields);
            }
        }
        return Some(Value::Object(example));
    }
    let properties = schema["properties"].as_object()?;
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut example = Map::new();
    for (name, property) in properties {
        match composed(doc, property, depth + 1) {
            Some(value) => {
                example.insert(name.clone(), value);
            }
            None if required.contains(&name.as_str()) => return None,
            None => {}
        }
    }
    Some(Value::Object(example))
}

/// A string enum whose values are not plain words (`clients:read`, `flag.opened`) names its
/// members in `x-enum-varnames` (`CLIENTS_READ`), which generators use instead of running the
/// words together (`CLIENTSREAD`).
fn enum_names(doc: &mut Value) {
    for schema in schemas(doc).values_mut() {
        let Some(values) = schema["enum"].as_array() else {
            continue;
        };
        let words: Option<Vec<&str>> = values.iter().map(Value::as_str).collect();
        let Some(words) = words else {
            continue;
        };
        if words
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            continue;
        }
        let names: Vec<String> = words
            .iter()
            .map(|w| {
                w.chars()
                    .map(|c| match c.is_ascii_alphanumeric() {
                        true => c.to_ascii_uppercase(),
                        false => '_',
                    })
                    .collect()
            })
            .collect();
        schema["x-enum-varnames"] = json!(names);
    }
}

fn refs_in(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    found.insert(name.to_string());
                }
            }
            map.values().for_each(|v| refs_in(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, found)),
        _ => {}
    }
}

/// The component schemas a client sends: those reached from request bodies and parameters.
fn sent_by_clients(doc: &Value) -> HashSet<String> {
    let mut roots = BTreeSet::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            refs_in(&operation["requestBody"], &mut roots);
            refs_in(&operation["parameters"], &mut roots);
        }
    }
    let mut reached = HashSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if reached.insert(name.clone()) {
            let mut next = BTreeSet::new();
            refs_in(&doc["components"]["schemas"][&name], &mut next);
            todo.extend(next);
        }
    }
    reached
}

fn nullable(property: &Value) -> bool {
    let typed_null = property["type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "null"));
    let one_of_null = property["oneOf"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["type"] == "null"));
    typed_null || one_of_null
}

/// In what only the server sends, a field that may be null is always sent (null when empty):
/// `required`, so that a generated client reads it as "value or null" rather than "value,
/// null or missing". A field the server leaves out when empty is not nullable in the document
/// (`#[schema(nullable = false)]` beside `skip_serializing_if`) and stays optional.
fn required_when_always_sent(doc: &mut Value) {
    let sent = sent_by_clients(doc);
    for (name, schema) in schemas(doc).iter_mut() {
        if !sent.contains(name) {
            require_nullable(schema);
        }
    }
}

fn require_nullable(schema: &mut Value) {
    let newly: Vec<String> = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, property)| nullable(property))
        .map(|(name, _)| name.clone())
        .collect();
    if !newly.is_empty() {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        let mut all = required.clone();
        all.extend(
            newly
                .into_iter()
                .map(Value::String)
                .filter(|n| !required.contains(n)),
        );
        schema["required"] = Value::Array(all);
    }
    // Inline objects within (an `allOf` part, a property's own object, an array's items).
    if let Some(object) = schema.as_object_mut() {
        for (key, inner) in object.iter_mut() {
            match key.as_str() {
                "allOf" | "oneOf" | "anyOf" => inner
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .for_each(require_nullable),
                "properties" => inner
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|p| p.values_mut())
                    .for_each(require_nullable),
                "items" => require_nullable(inner),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_refers_to_its_item_and_names_an_unnamed_one() {
        let item = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let mut doc = json!({"components": {"schemas": {
            "Page_A": {"properties": {"items": {"items": item}}},
            "A": item,
            "Page_B": {"properties": {"items": {"items": item}}},
        }}});
        page_items_by_ref(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["Page_A"]["properties"]["items"]["items"], schema_ref("A"));
        assert_eq!(s["Page_B"]["properties"]["items"]["items"], schema_ref("B"));
        assert_eq!(s["B"], item);
    }

    #[test]
    fn tagged_inline_variants_become_named_schemas_with_a_discriminator() {
        let member = |kind: &str| {
            json!({"type": "object", "required": ["kind"],
                   "properties": {"kind": {"type": "string", "enum": [kind]}}})
        };
        let mut doc = json!({"components": {"schemas": {
            "Entry": {"oneOf": [member("session"), member("check_in")]},
            "Untagged": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        }}});
        name_tagged_variants(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["EntryCheckIn"], member("check_in"));
        assert_eq!(s["Entry"]["discriminator"]["propertyName"], "kind");
        assert_eq!(
            s["Entry"]["discriminator"]["mapping"]["session"],
            "#/components/schemas/EntrySession"
        );
        assert!(s["Untagged"].get("discriminator").is_none());
    }

    #[test]
    fn nullable_fields_of_what_only_the_server_sends_are_required() {
        let object = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": "string"},
            "b": {"type": ["string", "null"]},
            "c": {"oneOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]},
            "d": {"type": "string"},
        }});
        let mut doc = json!({
            "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {
                "schema": schema_ref("Input")}}}}}},
            "components": {"schemas": {"Input": object, "View": object}},
        });
        required_when_always_sent(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["View"]["required"], json!(["a", "b", "c"]));
        assert_eq!(
            s["Input"]["required"],
            json!(["a"]),
            "what a client sends is untouched"
        );
    }

    #[test]
    fn enum_values_that_are_not_words_get_member_names() {
        let mut doc = json!({"components": {"schemas": {
            "Scope": {"type": "string", "enum": ["clients:read", "flag.opened"]},
            "Level": {"type": "string", "enum": ["red_pelvic", "amber"]},
        }}});
        enum_names(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Scope"]["x-enum-varnames"],
            json!(["CLIENTS_READ", "FLAG_OPENED"])
        );
        assert!(s["Level"].get("x-enum-varnames").is_none());
    }

    #[test]
    fn an_example_is_composed_from_the_parts_examples_or_not_at_all() {
        let doc = json!({"components": {"schemas": {
            "Plan": {"type": "object", "example": {"id": "p"}},
            "Level": {"type": "string", "enum": ["green", "amber"]},
        }}});
        let whole = json!({"type": "object", "required": ["plan", "levels", "extra"],
            "properties": {"plan": schema_ref("Plan"),
                           "levels": {"type": "array", "items": schema_ref("Level")},
                           "extra": {"allOf": [schema_ref("Plan"),
                               {"type": "object", "properties": {"n": {"type": "integer", "example": 2}}}]},
                           "note": {"type": "string"}}});
        assert_eq!(
            composed(&doc, &whole, 0),
            Some(json!({"plan": {"id": "p"}, "levels": ["green"], "extra": {"id": "p", "n": 2}}))
        );
        let lacking = json!({"type": "object", "required": ["when"],
            "properties": {"when": {"type": "string", "format": "date-time"}}});
        assert_eq!(
            composed(&doc, &lacking, 0),
            None,
            "a required part without an example"
        );
    }
}
