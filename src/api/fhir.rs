//! FHIR R4 for clinicians: a client's record as a `Bundle` (type `collection`) and a program
//! as a `PlanDefinition`. The mapping functions are pure (records in, JSON out) and tested on
//! their own; a test also parses the served documents with an independent FHIR R4 model
//! library (`fhir.resources`), so every resource is structurally valid R4.
//!
//! References inside the bundle are relative (`Patient/{id}`) and each entry's `fullUrl` is
//! `{api}/fhir/{type}/{id}`, so they resolve within the bundle by FHIR's rules. A plan's
//! `instantiatesCanonical` is the program's served `PlanDefinition` URL with its version
//! (`{api}/v1/programs/{id}/fhir|{version}`).

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::audit_staff_read_after;
use super::docs::{NotFound, ReadErrors, TooManyRequests};
use super::extract::{ClientRef, QueryParams};
use super::programs::VersionQuery;
use crate::db::check_ins::CheckIn;
use crate::db::clients::Client;
use crate::db::plans::Plan;
use crate::db::programs::{self, ProgramVersion};
use crate::db::reports::{Flag, SymptomReport};
use crate::db::workouts::ReadinessResult;
use crate::db::{check_ins, clients, plans, reports, workouts};
use crate::domain::client::ClientStatus;
use crate::domain::identity::Principal;
use crate::domain::plan::PlanStatus;
use crate::domain::program::Stage;
use crate::domain::triage::{FlagLevel, FlagStatus, TriageLevel};
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(client_bundle).service(program_plan_definition);
}

pub const CONTENT_TYPE: &str = "application/fhir+json";
const LOINC: &str = "http://loinc.org";
const PAIN_NRS: &str = "72514-3";
const PAIN_NRS_DISPLAY: &str = "Pain severity - 0-10 verbal numeric rating [Score] - Reported";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// The API's own address as the caller reached it, e.g. `https://api.example.org` (forwarded
/// values only from a trusted proxy).
fn base_url(req: &HttpRequest, settings: &crate::config::Settings) -> String {
    super::forwarded::public_origin(req, settings)
}

fn entry(base: &str, resource: Value) -> Value {
    let url = format!(
        "{base}/fhir/{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    );
    json!({"fullUrl": url, "resource": resource})
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn patient(client: &Client, base: &str) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "id": client.id.to_string(),
        "active": client.status == ClientStatus::Active,
        "name": [{"text": client.name}],
    });
    if let Some(external) = &client.external_id {
        p["identifier"] =
            json!([{"system": format!("{base}/fhir/external-id"), "value": external}]);
    }
    let telecom: Vec<Value> = [("email", &client.email), ("phone", &client.phone)]
        .into_iter()
        .filter_map(|(system, value)| {
            value
                .as_ref()
                .map(|v| json!({"system": system, "value": v}))
        })
        .collect();
    if !telecom.is_empty() {
        p["telecom"] = json!(telecom);
    }
    p
}

/// The canonical URL of a program's `PlanDefinition` (without version).
pub fn plan_definition_url(base: &str, program_id: Uuid) -> String {
    format!("{base}/v1/programs/{program_id}/fhir")
}

fn care_plan_status(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Active => "active",
        PlanStatus::Paused => "on-hold",
        PlanStatus::Completed => "completed",
        PlanStatus::Stopped => "revoked",
    }
}

pub fn care_plan(plan: &Plan, stages: &[Stage], base: &str) -> Value {
    let current = stages.iter().position(|s| s.key == plan.stage).unwrap_or(0);
    let activity: Vec<Value> = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let status = if plan.status == PlanStatus::Completed || i < current {
                "completed"
            } else if i == current {
                match plan.status {
                    PlanStatus::Active => "in-progress",
                    PlanStatus::Paused => "on-hold",
                    PlanStatus::Completed | PlanStatus::Stopped => "stopped",
                }
            } else {
                "not-started"
            };
            json!({"detail": {
                "code": {"text": stage.key.as_str()},
                "status": status,
                "description": format!("Stage {}: {}. {}", stage.position, stage.title, stage.purpose),
            }})
        })
        .collect();
    let mut description = format!("Stage {} ({})", current + 1, plan.stage.as_str());
    if let Some(level) = plan.level {
        description.push_str(&format!(", jogging level {level}"));
    }
    json!({
        "resourceType": "CarePlan",
        "id": plan.id.to_string(),
        "status": care_plan_status(plan.status),
        "intent": "plan",
        "title": "Return to running after childbirth",
        "description": description,
        "subject": {"reference": format!("Patient/{}", plan.client_id)},
        "period": {"start": plan.started_on.to_string()},
        "created": instant(plan.created_at),
        "instantiatesCanonical": [format!(
            "{}|{}",
            plan_definition_url(base, plan.program_id),
            plan.program_version
        )],
        "activity": activity,
    })
}

/// One answer item per field of the report, pain as one nested item per location.
pub fn questionnaire_response(report: &SymptomReport) -> Value {
    let mut items = vec![
        json!({"linkId": "timing", "answer": [{"valueString": report.timing}]}),
        json!({"linkId": "reported_on", "answer": [{"valueDate": report.reported_on.to_string()}]}),
    ];
    if let Value::Object(fields) = &report.symptoms {
        for (name, value) in fields {
            let answer = match value {
                Value::Bool(b) => json!({"valueBoolean": b}),
                Value::Number(n) if n.is_i64() || n.is_u64() => json!({"valueInteger": n}),
                Value::Number(n) => json!({"valueDecimal": n}),
                Value::String(s) => json!({"valueString": s}),
                Value::Array(pains) if name == "pain" => {
                    let nested: Vec<Value> = pains
                        .iter()
                        .map(|p| {
                            json!({
                                "linkId": format!("pain.{}", p["location"].as_str().unwrap_or("other")),
                                "answer": [{"valueInteger": p["nrs"]}],
                            })
                        })
                        .collect();
                    if !nested.is_empty() {
                        items.push(json!({"linkId": "pain", "item": nested}));
                    }
                    continue;
                }
                _ => continue,
            };
            items.push(json!({"linkId": name, "answer": [answer]}));
        }
    }
    if let Some(notes) = &report.notes {
        items.push(json!({"linkId": "notes", "answer": [{"valueString": notes}]}));
    }
    json!({
        "resourceType": "QuestionnaireResponse",
        "id": report.id.to_string(),
        "status": "completed",
        "subject": {"reference": format!("Patient/{}", report.client_id)},
        "authored": instant(report.created_at),
        "item": items,
    })
}

/// The triage level as an observation interpretation: normal, abnormal, critically abnormal.
fn interpretation(triage: TriageLevel) -> Value {
    let (code, display) = match triage {
        TriageLevel::Green => ("N", "Normal"),
        TriageLevel::Amber => ("A", "Abnormal"),
        TriageLevel::RedPelvic | TriageLevel::RedMedical => ("AA", "Critical abnormal"),
    };
    json!([{"coding": [{"system": INTERPRETATION, "code": code, "display": display}], "text": triage.as_str()}])
}

/// One pain observation (LOINC 72514-3) per location of the report.
pub fn pain_observations(report: &SymptomReport) -> Vec<Value> {
    let Some(pains) = report.symptoms.get("pain").and_then(Value::as_array) else {
        return Vec::new();
    };
    pains
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "resourceType": "Observation",
                "id": format!("{}-pain-{i}", report.id),
                "status": "final",
                "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
                "code": {"coding": [{"system": LOINC, "code": PAIN_NRS, "display": PAIN_NRS_DISPLAY}],
                         "text": "Pain (0-10)"},
                "subject": {"reference": format!("Patient/{}", report.client_id)},
                "effectiveDateTime": instant(report.created_at),
                "valueInteger": p["nrs"],
                "bodySite": {"text": p["location"]},
                "interpretation": interpretation(report.triage_level),
                "derivedFrom": [{"reference": format!("QuestionnaireResponse/{}", report.id)}],
            })
        })
        .collect()
}

/// The report's triage: its level as the value and as the interpretation, each finding's rule
/// and message as a note.
pub fn triage_observation(report: &SymptomReport, base: &str) -> Value {
    let notes: Vec<Value> = report
        .findings
        .0
        .iter()
        .map(|f| json!({"text": format!("{}: {}", f.rule, f.message)}))
        .collect();
    let mut o = json!({
        "resourceType": "Observation",
        "id": format!("{}-triage", report.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": format!("{base}/fhir/CodeSystem/observation"), "code": "triage",
                             "display": "Return-to-running symptom triage"}],
                 "text": "Symptom triage"},
        "subject": {"reference": format!("Patient/{}", report.client_id)},
        "effectiveDateTime": instant(report.created_at),
        "valueCodeableConcept": {"coding": [{"system": format!("{base}/fhir/CodeSystem/triage-level"),
                                             "code": report.triage_level}],
                                 "text": report.triage_level},
        "interpretation": interpretation(report.triage_level),
        "derivedFrom": [{"reference": format!("QuestionnaireResponse/{}", report.id)}],
    });
    if !notes.is_empty() {
        o["note"] = json!(notes);
    }
    o
}

pub fn readiness_observation(result: &ReadinessResult, base: &str) -> Value {
    let (code, display) = if result.passed {
        ("N", "Normal")
    } else {
        ("A", "Abnormal")
    };
    json!({
        "resourceType": "Observation",
        "id": result.id.to_string(),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam"}]}],
        "code": {"coding": [{"system": format!("{base}/fhir/CodeSystem/readiness-test"), "code": result.test}],
                 "text": result.test},
        "subject": {"reference": format!("Patient/{}", result.client_id)},
        "effectiveDateTime": result.performed_on.to_string(),
        "valueInteger": result.reached,
        "bodySite": {"text": result.side},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}],
                            "text": if result.passed { "passed" } else { "not passed" }}],
        "component": [{"code": {"text": "symptom_free"}, "valueBoolean": result.symptom_free}],
    })
}

/// A check-in as Observations: sleep duration (LOINC 93832-4), the PHQ-2 total (LOINC 55758-7,
/// its two items 44250-9 and 44255-8 as components) when `mood` allows, and the rest (fatigue,
/// worry about running, feeding, periods) coded in the service's own code system.
pub fn check_in_observations(c: &CheckIn, base: &str, mood: bool) -> Vec<Value> {
    let subject = json!({"reference": format!("Patient/{}", c.client_id)});
    let loinc = |code: &str, display: &str| json!({"coding": [{"system": LOINC, "code": code, "display": display}], "text": display});
    let own = |code: &str| json!({"coding": [{"system": format!("{base}/fhir/CodeSystem/check-in"), "code": code}], "text": code});
    let mut out = vec![json!({
        "resourceType": "Observation",
        "id": format!("{}-sleep", c.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": loinc("93832-4", "Sleep duration"),
        "subject": subject,
        "effectiveDateTime": c.checked_on.to_string(),
        "valueQuantity": {"value": c.sleep_hours, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"},
    })];
    if let (true, Some(a), Some(b)) = (mood, c.mood_little_interest, c.mood_feeling_down) {
        out.push(json!({
            "resourceType": "Observation",
            "id": format!("{}-phq2", c.id),
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": loinc("55758-7", "PHQ-2 total score"),
            "subject": subject,
            "effectiveDateTime": c.checked_on.to_string(),
            "valueInteger": a + b,
            "component": [
                {"code": loinc("44250-9", "Little interest or pleasure in doing things"), "valueInteger": a},
                {"code": loinc("44255-8", "Feeling down, depressed, or hopeless"), "valueInteger": b},
            ],
        }));
    }
    let mut components = vec![json!({"code": own("fatigue"), "valueInteger": c.fatigue})];
    if let Some(w) = c.running_worry {
        components.push(json!({"code": own("running_worry"), "valueInteger": w}));
    }
    if let Some(b) = c.breastfeeding {
        components.push(json!({"code": own("breastfeeding"), "valueString": b.as_str()}));
    }
    if let Some(p) = c.periods_returned {
        components.push(json!({"code": own("periods_returned"), "valueBoolean": p}));
    }
    out.push(json!({
        "resourceType": "Observation",
        "id": format!("{}-recovery", c.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": own("recovery_check_in"),
        "subject": subject,
        "effectiveDateTime": c.checked_on.to_string(),
        "component": components,
    }));
    out
}

pub fn flag(flag: &Flag) -> Value {
    json!({
        "resourceType": "Flag",
        "id": flag.id.to_string(),
        "status": if flag.status == FlagStatus::Open { "active" } else { "inactive" },
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category",
                                   "code": "clinical", "display": "Clinical"}]}],
        "code": {"text": match flag.level.as_str() {
            "red_medical" => "Medical warning sign: stop exercise, medical care today",
            "red_pelvic" => "Pelvic-floor warning sign: refer to a pelvic health physiotherapist",
            "mood" => "Mood screen of 3 or more: suggest she speaks to her GP, midwife or health visitor",
            _ => "Symptoms to review before progressing",
        }},
        "subject": {"reference": format!("Patient/{}", flag.client_id)},
        "period": {"start": instant(flag.opened_at)},
    })
}

/// A FHIR name: letters, digits and `_`, starting with a capital (`return_to_running` →
/// `ReturnToRunning`).
fn computable_name(key: &str) -> String {
    let name: String = key
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect();
    match name.chars().next() {
        Some(c) if c.is_ascii_uppercase() => name,
        _ => format!("P{name}"),
    }
}

pub fn plan_definition(program: &ProgramVersion, base: &str) -> Value {
    let actions: Vec<Value> = program
        .stages
        .iter()
        .map(|stage| {
            let exercises: Vec<Value> = stage
                .exercises
                .iter()
                .map(|e| json!({"title": e.name, "description": e.instructions}))
                .collect();
            let mut action = json!({
                "id": stage.key.as_str(),
                "prefix": format!("Stage {}", stage.position),
                "title": stage.title,
                "description": stage.purpose,
            });
            if !exercises.is_empty() {
                action["action"] = json!(exercises);
            }
            action
        })
        .collect();
    json!({
        "resourceType": "PlanDefinition",
        "id": program.program.id.to_string(),
        "url": plan_definition_url(base, program.program.id),
        "version": program.version.to_string(),
        "name": computable_name(&program.program.key),
        "title": program.name,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                             "code": "clinical-protocol", "display": "Clinical Protocol"}]},
        "status": "active",
        "date": instant(program.published_at),
        "description": "Return to running after childbirth, stage by stage.",
        "action": actions,
    })
}

/// The whole bundle for one client.
pub struct ClientRecord<'a> {
    pub client: &'a Client,
    pub plans: &'a [(Plan, std::sync::Arc<Vec<Stage>>)],
    pub reports: &'a [SymptomReport],
    pub readiness: &'a [ReadinessResult],
    pub flags: &'a [Flag],
    pub check_ins: &'a [CheckIn],
    pub assessments: &'a [crate::db::assessments::AssessmentRow],
    /// Whether the reader may see her mood screens and `mood` flags (she or her coach).
    pub mood: bool,
}

pub fn client_bundle_json(record: &ClientRecord, base: &str, now: DateTime<Utc>) -> Value {
    let mut entries = vec![entry(base, patient(record.client, base))];
    for (plan, stages) in record.plans {
        entries.push(entry(base, care_plan(plan, stages, base)));
    }
    for report in record.reports {
        entries.push(entry(base, questionnaire_response(report)));
        entries.push(entry(base, triage_observation(report, base)));
        entries.extend(
            pain_observations(report)
                .into_iter()
                .map(|o| entry(base, o)),
        );
    }
    for result in record.readiness {
        entries.push(entry(base, readiness_observation(result, base)));
    }
    for c in record.check_ins {
        entries.extend(
            check_in_observations(c, base, record.mood)
                .into_iter()
                .map(|o| entry(base, o)),
        );
    }
    for a in record.assessments {
        entries.push(entry(base, assessment::assessment_observation(a, base)));
    }
    for f in record.flags.iter().filter(|f| f.status == FlagStatus::Open) {
        if record.mood || f.level != FlagLevel::Mood {
            entries.push(entry(base, flag(f)));
        }
    }
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert("type".into(), json!("collection"));
    bundle.insert("timestamp".into(), json!(instant(now)));
    bundle.insert("entry".into(), json!(entries));
    Value::Object(bundle)
}

/// Her record as FHIR R4.
///
/// A `Bundle` of type `collection` (`application/fhir+json`): the `Patient`; a `CarePlan` per
/// plan (status, period, `instantiatesCanonical` of the program's `PlanDefinition`, one
/// activity per stage); per symptom report a `QuestionnaireResponse`, a triage `Observation`
/// (level as value and interpretation: N green, A amber, AA red) and a pain `Observation`
/// (LOINC 72514-3) per location with `bodySite`; an `Observation` per readiness test; per
/// check-in, sleep duration (LOINC 93832-4), the PHQ-2 total (LOINC 55758-7, for her and her
/// coach only) and her other answers; an `Observation` (category `exam`) per assessment; a
/// `Flag` per open flag (`mood` flags for her and her
/// coach only). Staff reads are audited.
#[utoipa::path(tag = "fhir", operation_id = "getClientFhirBundle", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`")),
    responses((status = 200, description = "A FHIR R4 Bundle", body = Object, content_type = "application/fhir+json",
        example = json!({"resourceType": "Bundle", "type": "collection", "timestamp": "2026-11-26T09:00:00Z",
            "entry": [{"fullUrl": "https://api.runback.example/fhir/Patient/01937e00-0000-7000-8000-0000000000c1",
                "resource": {"resourceType": "Patient", "id": "01937e00-0000-7000-8000-0000000000c1",
                    "active": true, "name": [{"text": "Ana Lima"}]}},
                {"fullUrl": "https://api.runback.example/fhir/Observation/01937e00-0000-7000-8000-0000000000a1-pain-0",
                "resource": {"resourceType": "Observation", "id": "01937e00-0000-7000-8000-0000000000a1-pain-0",
                    "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                    "subject": {"reference": "Patient/01937e00-0000-7000-8000-0000000000c1"},
                    "valueInteger": 4, "bodySite": {"text": "knee"},
                    "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "A"}], "text": "amber"}]}}]})),
        NotFound, ReadErrors, TooManyRequests))]
#[get("/v1/clients/{client_id}/fhir")]
pub async fn client_bundle(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = state.heavy_read(&principal).await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let mut with_stages = Vec::new();
    for plan in plans::all_for_client(&mut conn, client.id).await? {
        let stages = programs::stages_of(&mut conn, &plan).await?;
        with_stages.push((plan, stages));
    }
    let reports = reports::list(&mut conn, client.id, &Default::default(), None, i64::MAX).await?;
    let readiness = workouts::list_readiness(&mut conn, client.id, None, i64::MAX).await?;
    let flags = reports::all_flags_for_client(&mut conn, client.id).await?;
    let check_ins = check_ins::list(&mut conn, client.id, None, None, None, i64::MAX).await?;
    let assessments = crate::db::assessments::all_for_client(&mut conn, client.id).await?;
    audit_staff_read_after(
        conn,
        &state,
        &principal,
        client.id,
        "client.fhir_export",
        json!({"symptom_reports": reports.len()}),
    )
    .await?;
    let record = ClientRecord {
        client: &client,
        plans: &with_stages,
        reports: &reports,
        readiness: &readiness,
        flags: &flags,
        check_ins: &check_ins,
        assessments: &assessments,
        mood: super::check_ins::may_see_mood(&principal, &client),
    };
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .json(client_bundle_json(
            &record,
            &base_url(&req, &state.settings),
            Utc::now(),
        )))
}

/// A program as a FHIR R4 `PlanDefinition`.
///
/// Its `url` is this address, `version` the program version (`?version=` for an earlier one),
/// one action per stage (prefix `Stage n`) with its exercises as sub-actions.
#[utoipa::path(tag = "fhir", operation_id = "getProgramPlanDefinition", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The program's id"), VersionQuery),
    responses((status = 200, description = "A FHIR R4 PlanDefinition", body = Object, content_type = "application/fhir+json",
        example = json!({"resourceType": "PlanDefinition", "id": "01937e00-0000-7000-8000-0000000000p1",
            "url": "https://api.runback.example/v1/programs/01937e00-0000-7000-8000-0000000000p1/fhir",
            "version": "1", "name": "ReturnToRunningPostpartum", "title": "Return to running postpartum",
            "status": "active", "action": [{"id": "crawling", "prefix": "Stage 1", "title": "Crawling"}]})),
        NotFound, ReadErrors))]
#[get("/v1/programs/{id}/fhir")]
pub async fn program_plan_definition(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    QueryParams(query): QueryParams<VersionQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let program = programs::find(&mut conn, principal.organization_id, *id, query.version).await?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .json(plan_definition(&program, &base_url(&req, &state.settings))))
}

mod assessment;
#[cfg(test)]
mod tests;
