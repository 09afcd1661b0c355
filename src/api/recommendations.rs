//! Why the plan says what it says: the engine's latest decision on a client's plan, or a past
//! one, with the trace of every rule R1–R11 (`domain::trace`) as it was when the decision was
//! made.

use actix_web::{get, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{NotFound, ReadErrors};
use super::extract::{ClientRef, QueryParams};
use crate::db::clients;
use crate::db::engine_runs::{self, EngineRun};
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::trace::RuleCheck;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_recommendation);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecommendationQuery {
    /// A past decision: the id of an engine run, or of a transition of one of her plans (for a
    /// transition the engine made, its run; for a coach's, what the engine said last before
    /// it). Default: the latest.
    pub at: Option<Uuid>,
}

/// What made the engine run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunCause {
    pub kind: crate::domain::trace::RunCauseKind,
    /// The record's id (a report, session, readiness result, check-in or flag).
    pub id: Option<Uuid>,
}

/// One decision of the engine and every rule's part in it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "run_id": "01937f00-0000-7000-8000-0000000000a1",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "plan_id": "01937c00-1111-7222-8333-444455556666",
    "evaluated_at": "2026-11-25T07:40:00Z", "evaluated_on": "2026-11-25",
    "cause": {"kind": "symptom_report", "id": "01937e00-0000-7000-8000-000000000001"},
    "decision": "hold", "target_stage": "jogging", "target_level": 3, "completes_plan": false,
    "reasons": [{"rule": "R4", "message": "Your running time this week already grew as much as it should; stay at this level for now."}],
    "rules": [
        {"rule": "R1", "applied": false, "outcome": "not_applicable", "decided": false,
         "message": "Your next step is in the stage you are in: there is no new stage to be ready for.",
         "inputs": {"next": {"stage": "jogging", "level": 4}}},
        {"rule": "R2", "applied": false, "outcome": "pass", "decided": false,
         "message": "Enough green sessions at this step and its exit criteria met.",
         "inputs": {"min_sessions": 2, "completed_count": 7, "completed_sessions": [
             {"id": "01937d00-aaaa-7bbb-8ccc-000000000001", "performed_on": "2026-11-21", "evidence": "green"},
             {"id": "01937d00-aaaa-7bbb-8ccc-000000000002", "performed_on": "2026-11-23", "evidence": "green"}],
             "last_sessions": ["01937d00-aaaa-7bbb-8ccc-000000000001", "01937d00-aaaa-7bbb-8ccc-000000000002"],
             "reports": [{"id": "01937e00-0000-7000-8000-000000000001", "date": "2026-11-24", "timing": "next_day",
                          "level": "green", "max_pain": 1}],
             "readiness_tests": []}},
        {"rule": "R4", "applied": true, "outcome": "hold", "decided": true,
         "message": "Your running time this week already grew as much as it should; stay at this level for now.",
         "inputs": {"this_week_minutes": 30.0, "last_week_minutes": 24.0, "cap_minutes": 26.4,
                    "this_week_from": "2026-11-19", "last_week_from": "2026-11-12"}}
    ]
}))]
pub struct RecommendationTrace {
    pub run_id: Uuid,
    pub client_id: Uuid,
    pub plan_id: Uuid,
    pub evaluated_at: DateTime<Utc>,
    /// Her today when the engine ran: the day its weekly windows end.
    pub evaluated_on: NaiveDate,
    pub cause: RunCause,
    #[serde(flatten)]
    pub recommendation: Recommendation,
    /// R1–R11 in order, each once.
    pub rules: Vec<RuleCheck>,
}

impl TryFrom<EngineRun> for RecommendationTrace {
    type Error = ApiError;

    fn try_from(run: EngineRun) -> Result<Self, ApiError> {
        let stored = |e: serde_json::Error| {
            ApiError::Internal(anyhow::anyhow!(
                "engine run {} does not read back: {e}",
                run.id
            ))
        };
        Ok(Self {
            recommendation: serde_json::from_value(run.recommendation.clone()).map_err(stored)?,
            rules: serde_json::from_value(run.rules.clone()).map_err(stored)?,
            run_id: run.id,
            client_id: run.client_id.into(),
            plan_id: run.plan_id.into(),
            evaluated_at: run.created_at,
            evaluated_on: run.evaluated_on,
            cause: RunCause {
                kind: run.cause,
                id: run.cause_id,
            },
        })
    }
}

/// Why: the engine's decision on her plan, rule by rule.
///
/// Every rule R1–R11 in order: whether it applied, what it says on its own (`pass`, `hold`,
/// `regress`, `refer`, `stop`, or `not_applicable`), whether it is behind the decision, a
/// message for her and the inputs it used (sessions and reports by id and date, the weekly
/// windows, the gate dates). Stored with each run of the engine, so `?at=` a past run or
/// transition explains that decision as it was made, whatever came after. Her coach, an
/// admin, and the client herself (`me`) may read it.
#[utoipa::path(tag = "plans", operation_id = "getRecommendation", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), RecommendationQuery),
    responses((status = 200, description = "The decision and every rule's part in it", body = RecommendationTrace),
        NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/plan/recommendation")]
pub async fn get_recommendation(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<RecommendationQuery>,
) -> ApiResult<web::Json<RecommendationTrace>> {
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let run = match query.at {
        Some(at) => engine_runs::at(&mut conn, client.id, at).await?,
        None => engine_runs::latest(&mut conn, client.id).await?,
    };
    let run = run.ok_or(ApiError::NotFound)?;
    super::note_staff_read(&state, &principal, "recommendation.read", client.id);
    Ok(web::Json(run.try_into()?))
}
