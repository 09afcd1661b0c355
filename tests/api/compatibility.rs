//! The promise about change (README, "Compatibility"): the OpenAPI document is compared with the
//! last released one (`openapi/released/<version>.json`), and a change that could break a
//! client written against that release fails this test unless `CHANGELOG.md` lists it under
//! `### Breaking` in its Unreleased section, by its operation (`GET /v1/flags`). A request limit
//! newly written into the document that the service already enforced (a `maxItems` for what was
//! always refused with a 413) may instead be listed under `### Documented limits`.
//!
//! Breaking, for what a client sends: an operation, parameter, field or media type it used is
//! gone, something it could leave out is now required, a type, value or length it could send
//! is refused. For what it reads: an operation, success status, field or media type it read is
//! gone, a field it could count on may now be absent or null, a type changed. New enum values
//! and new variants in answers are not breaking: clients must tolerate them.

use std::collections::BTreeSet;

use serde_json::Value;

/// Which way a schema's values travel.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// Sent by the client: the new schema must accept all the old one did.
    Request,
    /// Read by the client: the new schema may only promise more.
    Response,
}

/// One change that can break a client: where (`METHOD /path`) and what.
#[derive(Debug, Clone, PartialEq)]
struct Change {
    operation: String,
    what: String,
    /// A request's limit tightened (which may only write down what was enforced already).
    limit: bool,
}

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

struct Compare<'a> {
    old: &'a Value,
    new: &'a Value,
    operation: String,
    changes: Vec<Change>,
    /// Pairs of schemas under comparison (by address in their documents), so that recursive
    /// schemas end.
    visiting: BTreeSet<(usize, usize, bool)>,
}

/// The schema a `$ref` names (`#/components/schemas/X`), followed to the end.
fn resolve<'v>(root: &'v Value, mut schema: &'v Value) -> &'v Value {
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match root.pointer(reference.trim_start_matches('#')) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The JSON types a schema allows (`type` as a string or a list; `nullable` of 3.0), if it says.
fn types(schema: &Value) -> Option<BTreeSet<String>> {
    let mut set: BTreeSet<String> = match schema.get("type")? {
        Value::String(t) => [t.clone()].into(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => return None,
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        set.insert("null".into());
    }
    Some(set)
}

fn strings(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

/// Whether a schema allows `null`: in its `type`, or as one of its alternatives.
fn nullable(schema: &Value) -> bool {
    types(schema).is_some_and(|t| t.contains("null"))
        || variants(schema)
            .iter()
            .any(|(_, v)| v.get("type") == Some(&Value::String("null".into())))
}

/// The one schema that is not `null` among a schema's alternatives, or the schema itself when
/// it has none.
fn only_variant(schema: &Value) -> Option<&Value> {
    let all = variants(schema);
    if all.is_empty() {
        return Some(schema);
    }
    let mut others = all
        .into_iter()
        .filter(|(_, v)| v.get("type") != Some(&Value::String("null".into())));
    match (others.next(), others.next()) {
        (Some((_, only)), None) => Some(only),
        _ => None,
    }
}

/// A schema's alternatives (`oneOf`/`anyOf`), keyed by their `$ref` name or their place.
fn variants(schema: &Value) -> Vec<(String, &Value)> {
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .enumerate()
        .map(|(i, v)| {
            let key = v
                .get("$ref")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| format!("#{i}"));
            (key, v)
        })
        .collect()
}

impl Compare<'_> {
    fn breaks(&mut self, what: String) {
        self.changes.push(Change {
            operation: self.operation.clone(),
            what,
            limit: false,
        });
    }

    fn schema(&mut self, old: &Value, new: &Value, side: Side, at: &str) {
        let old = resolve(self.old, old);
        let new = resolve(self.new, new);
        let key = (
            old as *const Value as usize,
            new as *const Value as usize,
            side == Side::Request,
        );
        if !self.visiting.insert(key) {
            return;
        }
        self.compare(old, new, side, at);
        self.visiting.remove(&key);
    }

    fn compare(&mut self, old: &Value, new: &Value, side: Side, at: &str) {
        if let (Some(o), Some(n)) = (types(old), types(new)) {
            match side {
                Side::Request if !o.is_subset(&n) => {
                    self.breaks(format!("{at}: accepts {n:?}, no longer {o:?}"))
                }
                Side::Response if !n.is_subset(&o) => {
                    self.breaks(format!("{at}: may now be {n:?}, was {o:?}"))
                }
                _ => {}
            }
        }
        // (Where both have a `type`, the check above has said it.)
        let typed = types(old).is_some() && types(new).is_some();
        if side == Side::Response && !typed && nullable(new) && !nullable(old) {
            self.breaks(format!("{at}: may now be null"));
        }
        if side == Side::Request && !typed && nullable(old) && !nullable(new) {
            self.breaks(format!("{at}: no longer accepts null"));
        }
        // A schema that became (or stopped being) a nullable wrapper of one schema: compare
        // what it wraps.
        if variants(old).is_empty() != variants(new).is_empty() {
            let (o, n) = (only_variant(old), only_variant(new));
            if let (Some(o), Some(n)) = (o, n) {
                self.schema(o, n, side, at);
            }
            return;
        }
        let (old_enum, new_enum) = (strings(old.get("enum")), strings(new.get("enum")));
        match side {
            Side::Request if !new_enum.is_empty() => {
                let gone: Vec<_> = if old_enum.is_empty() {
                    vec!["(any value)".to_string()]
                } else {
                    old_enum.difference(&new_enum).cloned().collect()
                };
                if !gone.is_empty() {
                    self.breaks(format!("{at}: no longer accepts {}", gone.join(", ")));
                }
            }
            Side::Response if !old_enum.is_empty() && new_enum.is_empty() => {
                self.breaks(format!("{at}: no longer one of a closed set"))
            }
            _ => {}
        }
        if side == Side::Request {
            self.limits(old, new, at);
        }
        self.properties(old, new, side, at);
        if let (Some(o), Some(n)) = (old.get("items"), new.get("items")) {
            self.schema(o, n, side, &format!("{at}[]"));
        }
        if let (Some(o), Some(n)) = (
            old.get("additionalProperties").filter(|v| v.is_object()),
            new.get("additionalProperties").filter(|v| v.is_object()),
        ) {
            self.schema(o, n, side, &format!("{at}{{}}"));
        }
        let new_variants = variants(new);
        for (key, o) in variants(old) {
            match new_variants.iter().find(|(k, _)| *k == key) {
                Some((_, n)) => self.schema(o, n, side, &format!("{at}|{key}")),
                None if side == Side::Request => {
                    self.breaks(format!("{at}: no longer accepts the variant {key}"))
                }
                None => {}
            }
        }
        let all = |s: &Value| s.get("allOf").and_then(Value::as_array).cloned();
        if let (Some(o), Some(n)) = (all(old), all(new)) {
            for (i, (o, n)) in o.iter().zip(n.iter()).enumerate() {
                self.schema(o, n, side, &format!("{at}&{i}"));
            }
        }
    }

    /// A request's limits may only loosen.
    fn limits(&mut self, old: &Value, new: &Value, at: &str) {
        let number = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
        for key in ["maxLength", "maximum", "maxItems", "exclusiveMaximum"] {
            if let Some(n) = number(new, key) {
                if number(old, key).is_none_or(|o| n < o) {
                    self.breaks(format!("{at}: {key} is now {n}"));
                    self.changes.last_mut().expect("just added").limit = true;
                }
            }
        }
        for key in ["minLength", "minimum", "minItems", "exclusiveMinimum"] {
            if let Some(n) = number(new, key) {
                if number(old, key).is_none_or(|o| n > o) {
                    self.breaks(format!("{at}: {key} is now {n}"));
                    self.changes.last_mut().expect("just added").limit = true;
                }
            }
        }
    }

    fn properties(&mut self, old: &Value, new: &Value, side: Side, at: &str) {
        let empty = serde_json::Map::new();
        let props = |s: &Value| s.get("properties").and_then(Value::as_object).cloned();
        let (Some(old_props), new_props) = (props(old), props(new)) else {
            return;
        };
        let new_props = new_props.unwrap_or_else(|| empty.clone());
        let (old_required, new_required) =
            (strings(old.get("required")), strings(new.get("required")));
        let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, o) in &old_props {
            let quoted = format!("\"{name}\"");
            match (new_props.get(name), side) {
                (None, Side::Response) => self.breaks(format!("{at}.{name}: removed")),
                (None, Side::Request) if closed => {
                    self.breaks(format!("{at}.{name}: no longer accepted"))
                }
                (None, Side::Request) => {}
                (Some(n), _) => {
                    if side == Side::Response
                        && old_required.contains(&quoted)
                        && !new_required.contains(&quoted)
                    {
                        self.breaks(format!("{at}.{name}: may now be absent"));
                    }
                    self.schema(o, n, side, &format!("{at}.{name}"));
                }
            }
        }
        if side == Side::Request {
            for name in new_required.difference(&old_required) {
                self.breaks(format!("{at}.{}: now required", name.trim_matches('"')));
            }
        }
    }

    fn content(&mut self, old: &Value, new: &Value, side: Side, at: &str) {
        let Some(old_types) = old.get("content").and_then(Value::as_object) else {
            return;
        };
        for (media, o) in old_types {
            match new.pointer(&format!("/content/{}", media.replace('/', "~1"))) {
                Some(n) => {
                    if let (Some(os), Some(ns)) = (o.get("schema"), n.get("schema")) {
                        self.schema(os, ns, side, &format!("{at} {media}"));
                    }
                }
                None => self.breaks(format!(
                    "{at}: {media} no longer {}",
                    match side {
                        Side::Request => "accepted",
                        Side::Response => "answered",
                    }
                )),
            }
        }
    }

    fn parameters(&mut self, old: &Value, new: &Value) {
        let list = |op: &Value| -> Vec<Value> {
            op.get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let key = |p: &Value| {
            format!(
                "{} {}",
                p["in"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or("")
            )
        };
        let (old_params, new_params) = (list(old), list(new));
        for n in &new_params {
            let n = resolve(self.new, n);
            let was = old_params
                .iter()
                .map(|o| resolve(self.old, o))
                .find(|o| key(o) == key(n));
            let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
            match was {
                None if required(n) => {
                    self.breaks(format!("parameter {}: new and required", key(n)))
                }
                Some(o) if required(n) && !required(o) => {
                    self.breaks(format!("parameter {}: now required", key(n)))
                }
                Some(o) => {
                    if let (Some(os), Some(ns)) = (o.get("schema"), n.get("schema")) {
                        self.schema(os, ns, Side::Request, &format!("parameter {}", key(n)));
                    }
                }
                None => {}
            }
        }
        for o in &old_params {
            let o = resolve(self.old, o);
            if !new_params
                .iter()
                .any(|n| key(resolve(self.new, n)) == key(o))
            {
                self.breaks(format!("parameter {}: removed", key(o)));
            }
        }
    }

    fn operation(&mut self, old: &Value, new: &Value) {
        if old.get("operationId") != new.get("operationId") {
            self.breaks(format!(
                "operationId {} is now {}",
                old["operationId"], new["operationId"]
            ));
        }
        self.parameters(old, new);
        match (old.get("requestBody"), new.get("requestBody")) {
            (Some(o), Some(n)) => {
                let (o, n) = (resolve(self.old, o), resolve(self.new, n));
                if n.get("required") == Some(&Value::Bool(true))
                    && o.get("required") != Some(&Value::Bool(true))
                {
                    self.breaks("the request body is now required".into());
                }
                self.content(o, n, Side::Request, "request");
            }
            (None, Some(n)) if n.get("required") == Some(&Value::Bool(true)) => {
                self.breaks("a request body is now required".into())
            }
            (Some(_), None) => self.breaks("the request body is no longer read".into()),
            _ => {}
        }
        let empty = serde_json::Map::new();
        let responses = |op: &Value| op.get("responses").and_then(Value::as_object).cloned();
        let old_responses = responses(old).unwrap_or_else(|| empty.clone());
        let new_responses = responses(new).unwrap_or_default();
        for (status, o) in &old_responses {
            match new_responses.get(status) {
                Some(n) => {
                    let (o, n) = (resolve(self.old, o), resolve(self.new, n));
                    self.content(o, n, Side::Response, &format!("response {status}"));
                    let headers = |r: &Value| {
                        r.get("headers")
                            .and_then(Value::as_object)
                            .map(|h| h.keys().cloned().collect::<BTreeSet<_>>())
                            .unwrap_or_default()
                    };
                    for gone in headers(o).difference(&headers(n)) {
                        self.breaks(format!("response {status}: header {gone} removed"));
                    }
                }
                None if status.starts_with('2') => {
                    self.breaks(format!("response {status}: removed"))
                }
                None => {}
            }
        }
    }
}

/// Every change from `old` to `new` that can break a client of `old`.
fn breaking_changes(old: &Value, new: &Value) -> Vec<Change> {
    let mut compare = Compare {
        old,
        new,
        operation: String::new(),
        changes: Vec::new(),
        visiting: BTreeSet::new(),
    };
    let Some(paths) = old.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(old_op) = item.get(method) else {
                continue;
            };
            compare.operation = format!("{} {path}", method.to_uppercase());
            match new.pointer(&format!(
                "/paths/{}/{method}",
                path.replace('~', "~0").replace('/', "~1")
            )) {
                Some(new_op) => compare.operation(old_op, new_op),
                None => compare.breaks("removed".into()),
            }
        }
    }
    compare.changes
}

/// The `### {heading}` part of the changelog's Unreleased section.
fn unreleased(changelog: &str, heading: &str) -> String {
    let unreleased = changelog
        .split("\n## ")
        .find(|s| s.starts_with("[Unreleased]"))
        .unwrap_or_default();
    unreleased
        .split("\n### ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_default()
        .to_string()
}

/// The newest released document (`openapi/released/<major>.<minor>.<patch>.json`) and its version.
fn last_release() -> (Value, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/released");
    let version = |p: &std::path::Path| -> Option<Vec<u64>> {
        let stem = p.file_stem()?.to_str()?;
        stem.split('.').map(|n| n.parse().ok()).collect()
    };
    let newest = std::fs::read_dir(&dir)
        .expect("openapi/released exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && version(p).is_some())
        .max_by_key(|p| version(p))
        .expect("a released document");
    let text = std::fs::read_to_string(&newest).unwrap();
    let name = newest.file_stem().unwrap().to_string_lossy().to_string();
    (serde_json::from_str(&text).unwrap(), name)
}

#[test]
fn no_change_breaks_a_client_of_the_last_release_unless_the_changelog_says_so() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (released, version) = last_release();
    assert_eq!(
        released["info"]["version"],
        version.as_str(),
        "its file is named by its version"
    );
    let current: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("openapi/openapi.json")).unwrap())
            .unwrap();
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(
        changelog.contains(&format!("\n## [{version}]")),
        "the changelog has a section for the released {version}"
    );
    let listed = unreleased(&changelog, "Breaking");
    let documented = unreleased(&changelog, "Documented limits");
    let named = |section: &str, c: &Change| section.contains(&format!("`{}`", c.operation));
    let unlisted: Vec<String> = breaking_changes(&released, &current)
        .into_iter()
        .filter(|c| !(named(&listed, c) || (c.limit && named(&documented, c))))
        .map(|c| format!("{}: {}", c.operation, c.what))
        .collect();
    assert!(
        unlisted.is_empty(),
        "changes that break clients of {version}; list each operation (`METHOD /path`) under \
         \"### Breaking\" in CHANGELOG.md's Unreleased section (a limit the service already \
         enforced: under \"### Documented limits\"), or keep the old behaviour:\n{}",
        unlisted.join("\n")
    );
}

#[cfg(test)]
mod detector {
    use super::*;
    use serde_json::json;

    /// A document with one operation: `POST /v1/things` taking `body`, answering `answer`.
    fn doc(body: Value, answer: Value, parameters: Value) -> Value {
        json!({
            "paths": {"/v1/things": {"post": {
                "operationId": "create_thing",
                "parameters": parameters,
                "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "422": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
                }
            }}},
            "components": {"schemas": {"Thing": answer}}
        })
    }

    fn thing() -> Value {
        json!({
            "type": "object",
            "required": ["id", "stage"],
            "properties": {
                "id": {"type": "string"},
                "stage": {"type": "string", "enum": ["walking", "jogging"]},
                "note": {"type": ["string", "null"]},
                "next": {"$ref": "#/components/schemas/Thing"}
            }
        })
    }

    fn input() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "level": {"type": "integer", "enum": [1, 2, 3]},
                "note": {"type": "string"}
            }
        })
    }

    fn limit() -> Value {
        json!([{"in": "query", "name": "limit", "required": false, "schema": {"type": "integer", "maximum": 200}}])
    }

    fn whats(old: &Value, new: &Value) -> Vec<String> {
        breaking_changes(old, new)
            .into_iter()
            .map(|c| c.what)
            .collect()
    }

    #[test]
    fn the_same_document_and_additions_break_nothing() {
        let old = doc(input(), thing(), limit());
        assert_eq!(whats(&old, &old), Vec::<String>::new());
        let mut answer = thing();
        answer["properties"]["extra"] = json!({"type": "integer"});
        answer["properties"]["stage"]["enum"] = json!(["walking", "jogging", "hills"]);
        answer["required"] = json!(["id", "stage", "note"]);
        let mut body = input();
        body["properties"]["new_optional"] = json!({"type": "string"});
        body["properties"]["name"]["maxLength"] = json!(500);
        body["properties"]["level"]["enum"] = json!([1, 2, 3, 4]);
        let mut params = limit();
        params[0]["schema"]["maximum"] = json!(500);
        params
            .as_array_mut()
            .unwrap()
            .push(json!({"in": "query", "name": "q", "schema": {"type": "string"}}));
        let new = doc(body, answer, params);
        assert_eq!(whats(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn what_a_client_reads_may_not_go_or_loosen() {
        let old = doc(input(), thing(), limit());
        let mut answer = thing();
        answer["properties"].as_object_mut().unwrap().remove("note");
        answer["required"] = json!(["id"]);
        answer["properties"]["id"]["type"] = json!(["string", "null"]);
        answer["properties"]["stage"]
            .as_object_mut()
            .unwrap()
            .remove("enum");
        let new = doc(input(), answer, limit());
        assert_eq!(
            whats(&old, &new),
            [
                "response 201 application/json.id: may now be {\"null\", \"string\"}, was {\"string\"}",
                "response 201 application/json.note: removed",
                "response 201 application/json.stage: may now be absent",
                "response 201 application/json.stage: no longer one of a closed set",
            ]
        );
    }

    #[test]
    fn a_field_read_that_may_now_be_null_through_a_variant_breaks() {
        let old = doc(input(), thing(), limit());
        let mut answer = thing();
        answer["properties"]["next"] =
            json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Thing"}]});
        let new = doc(input(), answer, limit());
        assert_eq!(
            whats(&old, &new),
            ["response 201 application/json.next: may now be null"]
        );
    }

    #[test]
    fn what_a_client_sends_may_not_be_refused() {
        let old = doc(input(), thing(), limit());
        let mut body = input();
        body["required"] = json!(["name", "note"]);
        body["properties"]["name"]["maxLength"] = json!(100);
        body["properties"]["level"]["enum"] = json!([1, 2]);
        body["properties"].as_object_mut().unwrap().remove("note");
        body["properties"]["since"] = json!({"type": "string"});
        body["required"] = json!(["name", "since"]);
        let mut params = limit();
        params[0]["required"] = json!(true);
        let new = doc(body, thing(), params);
        assert_eq!(
            whats(&old, &new),
            [
                "parameter query limit: now required",
                "request application/json.level: no longer accepts 3",
                "request application/json.name: maxLength is now 100",
                "request application/json.note: no longer accepted",
                "request application/json.since: now required",
            ]
        );
    }

    #[test]
    fn a_removed_operation_status_or_id_breaks_and_is_named() {
        let old = doc(input(), thing(), limit());
        let mut new = old.clone();
        new["paths"]["/v1/things"]["post"]["operationId"] = json!("make_thing");
        new["paths"]["/v1/things"]["post"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("201");
        new["paths"]["/v1/things"]["post"]["responses"]["422"]["content"] = json!({});
        let changes = breaking_changes(&old, &new);
        assert!(changes.iter().all(|c| c.operation == "POST /v1/things"));
        assert_eq!(
            changes.iter().map(|c| c.what.as_str()).collect::<Vec<_>>(),
            [
                "operationId \"create_thing\" is now \"make_thing\"",
                "response 201: removed",
                "response 422: application/problem+json no longer answered",
            ]
        );
        new["paths"] = json!({});
        assert_eq!(whats(&old, &new), ["removed"]);
    }

    #[test]
    fn a_listed_operation_is_read_from_the_unreleased_breaking_section_only() {
        let changelog = "# Changelog\n\n## [Unreleased]\n\n### Added\n- `GET /v1/a`\n\n\
                         ### Breaking\n- `POST /v1/things`: the 201 answer's `note` is gone.\n\n\
                         ## [1.0.0] - 2026-12-07\n\n### Breaking\n- `GET /v1/old`\n";
        let listed = unreleased(changelog, "Breaking");
        assert!(listed.contains("`POST /v1/things`"));
        assert!(!listed.contains("`GET /v1/a`") && !listed.contains("`GET /v1/old`"));
        assert!(unreleased(changelog, "Documented limits").is_empty());
    }

    #[test]
    fn a_tightened_request_limit_is_marked_as_a_limit_and_other_changes_are_not() {
        let body = |max: Option<u64>| {
            let mut rows = json!({"type": "array", "items": {"type": "string"}});
            if let Some(max) = max {
                rows["maxItems"] = json!(max);
            }
            json!({"type": "object", "properties": {"rows": rows, "note": {"type": "string"}}})
        };
        let answer = json!({"type": "object"});
        let old = doc(body(None), answer.clone(), json!([]));
        let mut new = doc(body(Some(100_000)), answer, json!([]));
        let changes = breaking_changes(&old, &new);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].limit, "{changes:?}");
        new["paths"]["/v1/things"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"]["note"] = json!({"type": "integer"});
        let changes = breaking_changes(&old, &new);
        assert!(
            changes.iter().any(|c| !c.limit),
            "a changed type is no limit: {changes:?}"
        );
    }
}
