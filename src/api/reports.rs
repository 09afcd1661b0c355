//! Listening to the body: symptom reports (triaged at once, the engine run on the plan), the
//! coach's inbox of flags (`flags`), and a client's timeline for dashboards (`client_timeline`).

use super::idempotency::{Db, IdempotencyKey};
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody, QueryParams};
use super::{Page, PageQuery};
use crate::db::clients;
use crate::db::reports::{self, ReportFilter, SymptomReport};
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::ids::ReportId;
use crate::domain::program::StageKey;
use crate::domain::triage::{
    Bleeding, Finding, LeakTrigger, Pain, Symptoms, Timing, Triage, TriageLevel, UrineLeak,
};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::usecases::{self, ChosenId};

mod client_timeline;
mod flags;

pub use client_timeline::*;
pub use flags::*;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_reports)
        .service(submit_report)
        .service(get_report)
        .service(list_flags)
        .service(resolve_flag)
        .service(timeline);
}

/// A symptom report as the client's app sends it. Every field is optional except `timing`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "timing": "during",
    "session_id": "01937d00-aaaa-7bbb-8ccc-dddddddddddd",
    "pain": [{"location": "pelvic_girdle", "nrs": 3}],
    "urine_leak": "drops",
    "leak_trigger": "impact",
    "pelvic_heaviness": 1,
    "sleep_hours": 5.5,
    "fatigue": 6
}))]
pub struct SymptomReportInput {
    /// Optional id made by the app, so a retry after a lost answer does not report twice.
    pub id: Option<Uuid>,
    /// When the symptoms were felt: during or right after a session, the next morning, or in
    /// daily life.
    pub timing: Timing,
    /// The session this report is about (must be hers).
    pub session_id: Option<Uuid>,
    /// The day the symptoms are about (default: today in her time zone).
    pub reported_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub pain: Vec<Pain>,
    pub pain_settled_by_next_morning: Option<bool>,
    pub urine_leak: Option<UrineLeak>,
    pub leak_trigger: Option<LeakTrigger>,
    #[serde(default)]
    pub urgency_hard_to_defer: bool,
    #[serde(default)]
    pub faecal_or_flatus_incontinence: bool,
    #[serde(default)]
    pub bulge_seen_or_felt: bool,
    #[serde(default)]
    pub abdominal_doming: bool,
    #[serde(default)]
    pub dyspareunia: bool,
    #[serde(default)]
    pub obstructed_defecation: bool,
    /// 0 (none) to 10.
    #[schema(minimum = 0, maximum = 10)]
    pub pelvic_heaviness: Option<u8>,
    pub bleeding: Option<Bleeding>,
    #[serde(default)]
    pub chest_pain: bool,
    #[serde(default)]
    pub calf_pain_or_swelling: bool,
    /// Dizziness or fainting, as one answer (kept for older apps): read as fainting, an
    /// emergency, since it may mean that. New apps send `fainting` and `dizziness` apart.
    #[serde(default)]
    pub dizziness_or_fainting: bool,
    /// She fainted: an emergency.
    #[serde(default)]
    pub fainting: bool,
    /// She felt dizzy: medical care today.
    #[serde(default)]
    pub dizziness: bool,
    /// A severe headache or disturbed vision (a sign of postpartum pre-eclampsia): an
    /// emergency.
    #[serde(default)]
    pub severe_headache_or_visual_disturbance: bool,
    /// A caesarean or perineal wound that is red, hot or discharging: medical care today.
    #[serde(default)]
    pub wound_red_hot_or_discharging: bool,
    /// A racing or irregular heartbeat: medical care today.
    #[serde(default)]
    pub palpitations: bool,
    #[serde(default)]
    pub breathless_at_rest: bool,
    #[serde(default)]
    pub severe_abdominal_pain: bool,
    #[serde(default)]
    pub fever: bool,
    #[schema(minimum = 0, maximum = 24)]
    pub sleep_hours: Option<f32>,
    #[schema(minimum = 0, maximum = 10)]
    pub fatigue: Option<u8>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

impl SymptomReportInput {
    fn validate(&self) -> Result<Symptoms, ApiError> {
        let mut errors = Vec::new();
        for (i, p) in self.pain.iter().enumerate() {
            if p.nrs > 10 {
                errors.push(FieldError::new(
                    format!("pain[{i}].nrs"),
                    "must be between 0 and 10",
                ));
            }
        }
        if self.pain.len() > 10 {
            errors.push(FieldError::new("pain", "at most 10 entries"));
        }
        if self.pelvic_heaviness.is_some_and(|h| h > 10) {
            errors.push(FieldError::new(
                "pelvic_heaviness",
                "must be between 0 and 10",
            ));
        }
        if self.fatigue.is_some_and(|f| f > 10) {
            errors.push(FieldError::new("fatigue", "must be between 0 and 10"));
        }
        if self
            .sleep_hours
            .is_some_and(|h| !(0.0..=24.0).contains(&h) || h.is_nan())
        {
            errors.push(FieldError::new("sleep_hours", "must be between 0 and 24"));
        }
        if self.leak_trigger.is_some() && self.urine_leak.is_none_or(|l| l == UrineLeak::None) {
            errors.push(FieldError::new("leak_trigger", "only with a urine leak"));
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 5000)
        {
            errors.push(FieldError::new("notes", "must be at most 5000 characters"));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Symptoms {
            pain: self.pain.clone(),
            pain_settled_by_next_morning: self.pain_settled_by_next_morning,
            urine_leak: self.urine_leak,
            leak_trigger: self.leak_trigger,
            urgency_hard_to_defer: self.urgency_hard_to_defer,
            faecal_or_flatus_incontinence: self.faecal_or_flatus_incontinence,
            bulge_seen_or_felt: self.bulge_seen_or_felt,
            abdominal_doming: self.abdominal_doming,
            dyspareunia: self.dyspareunia,
            obstructed_defecation: self.obstructed_defecation,
            pelvic_heaviness: self.pelvic_heaviness,
            bleeding: self.bleeding,
            chest_pain: self.chest_pain,
            calf_pain_or_swelling: self.calf_pain_or_swelling,
            dizziness_or_fainting: self.dizziness_or_fainting,
            fainting: self.fainting,
            dizziness: self.dizziness,
            severe_headache_or_visual_disturbance: self.severe_headache_or_visual_disturbance,
            wound_red_hot_or_discharging: self.wound_red_hot_or_discharging,
            palpitations: self.palpitations,
            breathless_at_rest: self.breathless_at_rest,
            severe_abdominal_pain: self.severe_abdominal_pain,
            fever: self.fever,
            sleep_hours: self.sleep_hours,
            fatigue: self.fatigue,
        })
    }
}

/// A stored report: what she said, its triage and advisories.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000006",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "session_id": null,
    "plan_id": "01937c00-1111-7222-8333-444455556666",
    "stage": "crawling",
    "level": null,
    "timing": "next_day",
    "reported_on": "2026-12-08",
    "symptoms": {
        "abdominal_doming": false,
        "bleeding": null,
        "breathless_at_rest": false,
        "bulge_seen_or_felt": false,
        "calf_pain_or_swelling": false,
        "chest_pain": false,
        "dizziness": false,
        "dizziness_or_fainting": false,
        "dyspareunia": false,
        "faecal_or_flatus_incontinence": false,
        "fainting": false,
        "fatigue": null,
        "fever": false,
        "leak_trigger": null,
        "obstructed_defecation": false,
        "pain": [],
        "pain_settled_by_next_morning": null,
        "palpitations": false,
        "pelvic_heaviness": null,
        "severe_abdominal_pain": false,
        "severe_headache_or_visual_disturbance": false,
        "sleep_hours": null,
        "urgency_hard_to_defer": false,
        "urine_leak": "none",
        "wound_red_hot_or_discharging": false
    },
    "notes": null,
    "triage": {
        "level": "green",
        "urgency": "routine",
        "findings": []
    },
    "advisories": [],
    "flag_id": null,
    "created_at": "2026-12-08T01:20:58Z"
}))]
pub struct SymptomReportView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub session_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    /// The plan's step when she reported.
    pub stage: Option<StageKey>,
    pub level: Option<i32>,
    pub timing: Timing,
    pub reported_on: NaiveDate,
    /// Everything she reported, as sent: the symptom fields of `SymptomReportInput`. A report
    /// sent before a field existed lacks it.
    #[schema(value_type = Object)]
    pub symptoms: serde_json::Value,
    pub notes: Option<String>,
    pub triage: Triage,
    pub advisories: Vec<Finding>,
    /// The flag this report opened or joined, if any.
    pub flag_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<SymptomReport> for SymptomReportView {
    fn from(r: SymptomReport) -> Self {
        Self {
            triage: Triage {
                level: r.triage_level,
                urgency: r.urgency,
                findings: r.findings.0,
            },
            advisories: r.advisories.0,
            id: r.id.into(),
            client_id: r.client_id.into(),
            session_id: r.session_id,
            plan_id: r.plan_id.map(Uuid::from),
            stage: r.stage,
            level: r.level,
            timing: r.timing,
            reported_on: r.reported_on,
            symptoms: r.symptoms,
            notes: r.notes,
            flag_id: r.flag_id,
            created_at: r.created_at,
        }
    }
}

/// The answer to a new report: the report with its triage, and the plan's new recommendation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e00-0000-7000-8000-000000000001",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "session_id": null, "plan_id": "01937c00-1111-7222-8333-444455556666",
    "stage": "jogging", "level": 3, "timing": "during", "reported_on": "2026-11-25",
    "symptoms": {"urine_leak": "drops", "leak_trigger": "impact"}, "notes": null,
    "triage": {"level": "amber", "urgency": "routine", "findings": [{"rule": "amber.pelvic_symptom_during_activity",
        "message": "Pelvic symptoms during or right after exercise: walk the rest of the run, and repeat this step or drop a level."}]},
    "advisories": [], "flag_id": "01937e00-0000-7000-8000-0000000000f1",
    "created_at": "2026-11-25T07:40:00Z",
    "recommendation": {"decision": "hold", "target_stage": "jogging", "target_level": 3, "completes_plan": false,
        "reasons": [{"rule": "R6", "message": "An amber report at this step: repeat it before moving on."},
                    {"rule": "R5", "message": "Symptoms during a run: walk the rest of that run."}]}
}))]
pub struct SubmittedReport {
    #[serde(flatten)]
    pub report: SymptomReportView,
    /// The plan's new recommendation (null without an active plan).
    pub recommendation: Option<Recommendation>,
}

/// The fields of a report's body kept beside its `symptoms` rather than in them.
pub const NOT_SYMPTOMS: [&str; 5] = ["id", "timing", "session_id", "reported_on", "notes"];

/// Report symptoms.
///
/// Triage answers at once (`green`, `amber`, `red_pelvic`, `red_medical`, each finding with its
/// rule), the engine reruns on her plan, and red findings act at once: `red_medical` pauses the
/// plan, `red_pelvic` moves a jogging plan back to lunges; both open a flag in her coach's
/// inbox. Retrying with the same `id` and body returns the first answer (200).
#[utoipa::path(tag = "symptom-reports", operation_id = "submitSymptomReport", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id, or `me`")),
    request_body = SymptomReportInput,
    responses((status = 201, description = "Triaged", body = SubmittedReport),
        (status = 200, description = "A retry of a report already received", body = SubmittedReport),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/symptom-reports")]
pub async fn submit_report(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<SymptomReportInput>,
) -> ApiResult<HttpResponse> {
    let symptoms = body.validate()?;
    let mut symptoms_json = serde_json::to_value(&body).map_err(anyhow::Error::from)?;
    if let Some(map) = symptoms_json.as_object_mut() {
        for key in NOT_SYMPTOMS {
            map.remove(key);
        }
    }
    let report = usecases::reports::Report {
        id: ChosenId::of(body.id, &body)?,
        timing: body.timing,
        symptoms,
        symptoms_json,
        reported_on: body.reported_on,
        session_id: body.session_id,
        notes: body.notes,
    };
    let mut conn = db.get().await?;
    let (report, recommendation, created) =
        usecases::reports::submit(&mut conn, &principal, id, report).await?;
    let answer = SubmittedReport {
        report: report.into(),
        recommendation,
    };
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportListQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    /// Reports about this day or later. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub since: Option<NaiveDate>,
    /// Reports about this day or earlier. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub until: Option<NaiveDate>,
    /// Only reports triaged at this level.
    pub triage: Option<TriageLevel>,
    /// Only reports changed since then (for offline sync). In the years 1900 to 2200.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_instant")]
    pub updated_since: Option<DateTime<Utc>>,
}

/// A client's symptom reports in the order they reached the server, oldest first (never by the
/// ids an app chose).
#[utoipa::path(tag = "symptom-reports", operation_id = "listSymptomReports", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), ReportListQuery),
    responses((status = 200, description = "A page of reports", body = Page<SymptomReportView>), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/symptom-reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<ReportListQuery>,
) -> ApiResult<web::Json<Page<SymptomReportView>>> {
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let filter = ReportFilter {
        since: query.since,
        until: query.until,
        triage: query.triage.map(|t| t.as_str().to_string()),
        updated_since: query.updated_since,
    };
    let rows = reports::list(&mut conn, client.id, &filter, after, limit).await?;
    let ids: Vec<ReportId> = rows.iter().map(|r| r.id).collect();
    super::audit_staff_read(
        &mut conn,
        &principal,
        client.id,
        "symptom_report.read",
        serde_json::json!({"report_ids": ids}),
    )
    .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.into(),
        SymptomReportView::from,
    )))
}

/// One symptom report.
#[utoipa::path(tag = "symptom-reports", operation_id = "getSymptomReport", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"),
        ("report_id" = Uuid, Path, description = "The report's id")),
    responses((status = 200, description = "The report", body = SymptomReportView), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/symptom-reports/{report_id}")]
pub async fn get_report(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<SymptomReportView>> {
    let (_, report_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let report = reports::find(&mut conn, principal.organization_id, report_id)
        .await?
        .filter(|r| r.client_id == client.id)
        .ok_or(ApiError::NotFound)?;
    super::audit_staff_read(
        &mut conn,
        &principal,
        client.id,
        "symptom_report.read",
        serde_json::json!({"report_ids": [report.id]}),
    )
    .await?;
    Ok(web::Json(report.into()))
}
