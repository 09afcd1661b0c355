//! The OpenAPI document, built from the handlers themselves: the routes registered in
//! `api::configure` are the paths of the document. `openapi/openapi.json` is this document,
//! committed; a test fails when they differ (`runback openapi > openapi/openapi.json` rewrites it).

use actix_web::App;
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

mod sdk;

use crate::domain::recovery::RecoveryWeek;
use crate::domain::trace::inputs::{
    NothingWeighed, R1Inputs, R2Inputs, R3Inputs, R4Inputs, R5Inputs, R6Inputs, R7Inputs,
    RedFlagInputs,
};
use crate::domain::webhook::events::{
    WebhookCheckInCreated, WebhookClientImported, WebhookFlagOpened, WebhookFlagResolved,
    WebhookPlanTransitioned, WebhookSymptomReportCreated, WebhookTest,
};
use crate::domain::webhook::{EventType, TEST_EVENT};
use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "runback",
        version = "1.0.0",
        description = "Return to running after childbirth, stage by stage: crawling, walking hills, \
lunges, then short jogs, while the client's pain and pelvic-floor symptoms decide whether she \
moves on, holds, or sees a physiotherapist.\n\n\
Conventions: JSON in snake_case; ids are UUIDs; times RFC 3339 UTC; dates `YYYY-MM-DD`. \
Errors are RFC 9457 `application/problem+json` documents with `type`, `title`, `status`, \
`detail` and, for validation, `errors: [{field, message}]`. Text may not contain the NUL \
character (U+0000): a body, row or query parameter holding it is a 422 naming the field. Lists take `limit` (at most 200) \
and `cursor`, and answer `{items, next_cursor}`. Authenticate with `Authorization: Bearer` and \
an access token from `POST /v1/auth/login`, or a service token.",
        license(name = "MIT", identifier = "MIT"),
        contact(name = "runback", email = "api@runback.example")
    ),
    modifiers(&BearerAuth),
    components(schemas(
        Problem, FieldError, WebhookFlagOpened, WebhookFlagResolved, WebhookPlanTransitioned,
        WebhookSymptomReportCreated, WebhookClientImported, WebhookCheckInCreated, WebhookTest,
        R1Inputs, R2Inputs, R3Inputs, R4Inputs, R5Inputs, R6Inputs, R7Inputs, RedFlagInputs,
        NothingWeighed, RecoveryWeek
    )),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "me", description = "The caller"),
        (name = "organization", description = "The practice and its settings"),
        (name = "coaches", description = "Staff, managed by admins"),
        (name = "service-tokens", description = "Secrets for scripts"),
        (name = "programs", description = "Versioned templates of stages"),
        (name = "clients", description = "The new mothers a practice coaches"),
        (name = "plans", description = "A client's run through a program, today's prescription, transitions"),
        (name = "sessions", description = "What the client did"),
        (name = "readiness", description = "Readiness-test results"),
        (name = "symptom-reports", description = "Symptoms, their triage, and the timeline"),
        (name = "check-ins", description = "Recovery check-ins: sleep, fatigue, feeding, mood"),
        (name = "assessments", description = "Postnatal checks and pelvic-health assessments by clinicians"),
        (name = "flags", description = "The coach's inbox"),
        (name = "imports", description = "Bulk client import for scripts"),
        (name = "audit", description = "Who changed or looked at what, and when (admins)"),
        (name = "fhir", description = "FHIR R4 documents for clinical systems"),
        (name = "sync", description = "One change feed for offline apps and dashboards"),
        (name = "webhooks", description = "Events pushed to dashboards (admins)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or service token")
                    .description(Some(
                        "An access token from `POST /v1/auth/login` (a JWT valid 15 minutes), \
                         or a service token (`rbs_…`) made by an admin.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    let mut doc = serde_json::to_value(&api).expect("the OpenAPI document serializes");
    finish(&mut doc);
    serde_json::from_value(doc).expect("the finished document is still OpenAPI")
}

/// What holds for the whole document rather than one handler: the server is the one serving
/// the document; any request may be refused with 431 for oversized headers (a limit checked
/// before routing); any may meet an unexpected failure (`default`, a 500 problem); every answer
/// carries `x-request-id`; and schemas that no operation uses are left out.
fn finish(doc: &mut Value) {
    doc["servers"] =
        json!([{"url": "/", "description": "The server this document is served from"}]);
    doc["components"]["responses"]["HeadersTooLarge"] = json!({
        "description": "The request's header fields are larger than 16 KiB in all.",
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {"type": "/problems/headers-too-large",
                        "title": "The request's header fields are too large", "status": 431,
                        "detail": "The request's header fields take 20480 bytes; the limit is 16384."}}},
    });
    doc["components"]["responses"]["Unexpected"] = json!({
        "description": "An unexpected failure, answered as a problem; quote `x-request-id` to the \
                        practice's support. Any other status is answered the same way.",
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {"type": "/problems/internal", "title": "Internal server error",
                        "status": 500, "detail": "Something went wrong on our side; it has been logged."}}},
    });
    doc["components"]["headers"]["RequestId"] = json!({
        "description": "The request's id, as in the service's log lines: quote it when asking \
                        about an answer.",
        "schema": {"type": "string"},
        "example": "6f1c2a7e-3b0d-4b8e-9f2a-0c1d2e3f4a5b",
    });
    let request_id = || json!({"$ref": "#/components/headers/RequestId"});
    for name in ["HeadersTooLarge", "Unexpected"] {
        doc["components"]["responses"][name]["headers"]["x-request-id"] = request_id();
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for method in ["get", "put", "post", "delete", "patch"] {
                let Some(operation) = item.get_mut(method) else {
                    continue;
                };
                if let Some(responses) = operation["responses"].as_object_mut() {
                    for response in responses.values_mut().filter(|r| r.get("$ref").is_none()) {
                        response["headers"]["x-request-id"] = request_id();
                    }
                }
                operation["responses"]["431"] =
                    json!({"$ref": "#/components/responses/HeadersTooLarge"});
                operation["responses"]["default"] =
                    json!({"$ref": "#/components/responses/Unexpected"});
                // Public routes (by the policy table) say so: no security requirement.
                let rule = crate::domain::policy::rule_for(&method.to_uppercase(), path);
                if rule.is_some_and(|r| r.access == crate::domain::policy::Access::Public) {
                    operation["security"] = json!([]);
                }
                // Who may call it, from the same table that authorizes the request.
                if let Some(rule) = rule {
                    let said = operation["description"].as_str().unwrap_or_default();
                    let who = who_may_call(rule.access, path);
                    operation["description"] = json!(if said.is_empty() {
                        who
                    } else {
                        format!("{said}\n\n{who}")
                    });
                }
            }
        }
    }
    doc["webhooks"] = webhooks();
    replay_header(doc);
    sdk::for_generated_clients(doc);
    // Drop unreferenced schemas until none is left (one may only be used by another).
    loop {
        let mut used = std::collections::HashSet::new();
        collect_refs(doc, &mut used);
        let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
            return;
        };
        let before = schemas.len();
        schemas.retain(|name, _| used.contains(&format!("#/components/schemas/{name}")));
        if schemas.len() == before {
            return;
        }
    }
}

/// An operation that takes an `Idempotency-Key` may answer a retry with the first answer:
/// its success responses declare the `Idempotent-Replayed` header that says so.
fn replay_header(doc: &mut Value) {
    doc["components"]["headers"]["IdempotentReplayed"] = json!({
        "description": "`true` when this is the first answer to an earlier request with the same \
                        `Idempotency-Key` and body, sent again (nothing was written twice); absent \
                        otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    });
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
        .flat_map(|item| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
        });
    for operation in operations {
        let keyed = operation["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
        let Some(responses) = operation["responses"].as_object_mut().filter(|_| keyed) else {
            continue;
        };
        for (_, response) in responses.iter_mut().filter(|(s, _)| s.starts_with('2')) {
            response["headers"]["Idempotent-Replayed"] =
                json!({"$ref": "#/components/headers/IdempotentReplayed"});
        }
    }
}

/// "Who may call" for an operation's description, from its access rule.
fn who_may_call(access: crate::domain::policy::Access, path: &str) -> String {
    use crate::domain::identity::Role;
    use crate::domain::policy::Access;
    let plural = |role: &Role| match role {
        Role::Admin => "admins",
        Role::Coach => "coaches",
        Role::Client => "clients",
    };
    let (who, roles) = match access {
        Access::Public => ("anyone, with no token".to_string(), &[][..]),
        Access::Authenticated => ("any signed-in user or service token".to_string(), &[][..]),
        Access::Roles(roles, scope) => {
            let names: Vec<&str> = roles.iter().map(plural).collect();
            let tokens = match scope.map(|s| serde_json::to_value(s).expect("a scope serializes")) {
                Some(Value::String(scope)) => format!("service tokens holding `{scope}`"),
                _ => "not service tokens".to_string(),
            };
            (format!("signed-in {}; {tokens}", names.join(", ")), roles)
        }
    };
    let mut reach = Vec::new();
    if path.contains("{client_id}") {
        for role in roles {
            reach.push(match role {
                Role::Admin => "an admin reaches every client of the practice",
                Role::Coach => "a coach her own clients",
                Role::Client => "a client only herself (`me`)",
            });
        }
    }
    match reach.is_empty() {
        true => format!("**Who may call:** {who}."),
        false => format!(
            "**Who may call:** {who}. Of the clients, {}; anything else is a 404.",
            reach.join(", ")
        ),
    }
}

/// The schema of each event's `data` and a line on when it is sent. A match, so that a new event
/// type cannot be sent without its entry in the document.
fn event_data(event: EventType) -> (&'static str, &'static str) {
    match event {
        EventType::FlagOpened => ("WebhookFlagOpened", "A symptom report opened a flag"),
        EventType::FlagResolved => ("WebhookFlagResolved", "A coach resolved a flag"),
        EventType::FlagEmergency => (
            "WebhookFlagOpened",
            "A report with an emergency sign opened or joined a flag (besides flag.opened)",
        ),
        EventType::PlanTransitioned => ("WebhookPlanTransitioned", "A plan moved"),
        EventType::SymptomReportCreated => {
            ("WebhookSymptomReportCreated", "A symptom report was sent")
        }
        EventType::ClientImported => ("WebhookClientImported", "An import committed"),
        EventType::CheckInCreated => ("WebhookCheckInCreated", "A recovery check-in was sent"),
    }
}

/// OpenAPI 3.1 `webhooks`: for every event type (and the test message), what the service POSTs
/// to a subscribed endpoint, as the Standard Webhooks specification has it: the envelope
/// `{type, timestamp, data}` and the three signature headers.
fn webhooks() -> Value {
    let header = |name: &str, description: &str, schema: Value| {
        json!({"in": "header", "name": name, "required": true, "description": description,
               "schema": schema})
    };
    let parameters = json!([
        header(
            "webhook-id",
            "The message's id (`msg_…`), the same on every retry: deduplicate on it.",
            json!({"type": "string"})
        ),
        header(
            "webhook-timestamp",
            "When the message was signed, in Unix seconds.",
            json!({"type": "integer"})
        ),
        header(
            "webhook-signature",
            "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed \
                with the base64-decoded part of the endpoint's secret after `whsec_`.",
            json!({"type": "string"})
        ),
    ]);
    let entries = EventType::ALL
        .iter()
        .map(|e| (e.as_str(), event_data(*e)))
        .chain([(
            TEST_EVENT,
            (
                "WebhookTest",
                "The test message of POST /v1/webhooks/{id}/test",
            ),
        )]);
    let mut hooks = serde_json::Map::new();
    for (name, (schema, summary)) in entries {
        let id: String = name
            .split(['.', '_'])
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_string()
                } else {
                    w[..1].to_uppercase() + &w[1..]
                }
            })
            .collect::<String>()
            + "Webhook";
        hooks.insert(name.into(), json!({"post": {
            "operationId": id, "summary": summary, "tags": ["webhooks"], "security": [],
            "description": format!("Sent to every enabled endpoint subscribed to `{name}`, \
                                    signed with its secret; retried until a 2xx answer (README, \
                                    \"Webhooks for dashboards\")."),
            "parameters": parameters,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["type", "timestamp", "data"],
                "properties": {
                    "type": {"type": "string", "enum": [name]},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "data": {"$ref": format!("#/components/schemas/{schema}")},
                }}}}},
            "responses": {
                "2XX": {"description": "Received: any 2xx answer within 10 s is a delivery."},
                "4XX": {"description": "Refused: tried again later, like any other failure."},
            },
        }}));
    }
    Value::Object(hooks)
}

fn collect_refs(value: &Value, used: &mut std::collections::HashSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                used.insert(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, used));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, used)),
        _ => {}
    }
}

/// The document as the pretty JSON that is committed.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}
