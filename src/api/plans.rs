//! Plans: a client's run through a program. Assign one, read it with its recommendation and
//! next session, see today's prescription, and move it with transitions (coaches).

use super::idempotency::{Db, IdempotencyKey};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody, QueryParams};
use super::{if_match, Page, PageQuery};
use crate::db::clients;
use crate::db::plans::{self, Plan, Transition};
use crate::domain::identity::Principal;
use crate::domain::plan::{PlanStatus, TransitionAction, TransitionRequest};
use crate::domain::prescription::Prescription;
use crate::domain::program::StageKey;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;
use crate::usecases::etag;
use crate::usecases::plans::{self as plan_use, Move};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(assign_plan)
        .service(get_plan)
        .service(get_today)
        .service(list_transitions)
        .service(create_transition);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c00-1111-7222-8333-444455556666",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "program_id": "01937a4e-9000-7000-8000-000000000001",
    "program_version": 1,
    "stage": "jogging",
    "level": 3,
    "status": "active",
    "started_on": "2026-09-15",
    "step_started_at": "2026-11-18T07:30:00Z",
    "recommendation": null,
    "jogging_gate": null,
    "created_at": "2026-09-15T09:05:00Z",
    "updated_at": "2026-11-18T07:30:00Z"
}))]
pub struct PlanView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub program_id: Uuid,
    /// The program version the plan pinned when it started.
    pub program_version: i32,
    pub stage: StageKey,
    /// The jogging ladder level (jogging only).
    pub level: Option<i32>,
    pub status: PlanStatus,
    pub started_on: NaiveDate,
    /// When the plan entered its current stage or level.
    pub step_started_at: DateTime<Utc>,
    /// The progression engine's latest output (null until it has run).
    #[schema(value_type = Option<crate::domain::engine::Recommendation>)]
    pub recommendation: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Her individual jogging gate, when a coach set one (`PUT
    /// /v1/clients/{id}/plan/jogging-gate`); otherwise the program's gate holds.
    pub jogging_gate: Option<JoggingGate>,
    /// Today's prescription (omitted in exports).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_session: Option<Prescription>,
}

/// An individual jogging gate date: earlier or later than the program's, agreed with a
/// clinician. The three-week floor, her clearance and open red flags still hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoggingGate {
    /// The first day she may start jogging.
    pub on: NaiveDate,
    pub reason: String,
    /// The clinician who agreed.
    pub agreed_by: String,
    pub set_by: Option<Uuid>,
    pub set_at: Option<DateTime<Utc>>,
    /// The pelvic-health assessment it cites (required before day 84).
    pub assessment_id: Option<Uuid>,
}

impl PlanView {
    pub fn without_prescription(p: Plan) -> Self {
        let state = p.state();
        Self {
            id: p.id.into(),
            client_id: p.client_id.into(),
            program_id: p.program_id,
            program_version: p.program_version,
            stage: state.step.stage,
            level: p.level,
            status: state.status,
            started_on: p.started_on,
            step_started_at: p.step_started_at,
            recommendation: p.recommendation,
            created_at: p.created_at,
            updated_at: p.updated_at,
            jogging_gate: p
                .jogging_gate_on
                .zip(p.jogging_gate_reason)
                .zip(p.jogging_gate_agreed_by)
                .map(|((on, reason), agreed_by)| JoggingGate {
                    on,
                    reason,
                    agreed_by,
                    set_by: p.jogging_gate_set_by.map(Uuid::from),
                    set_at: p.jogging_gate_set_at,
                    assessment_id: p.jogging_gate_assessment_id,
                }),
            next_session: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPosition {
    pub stage: StageKey,
    pub level: Option<i32>,
    pub status: PlanStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    /// `user`, `service_token` or `engine`.
    #[serde(rename = "type")]
    pub actor_type: crate::domain::identity::ActorType,
    pub id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000003",
    "plan_id": "01937c00-1111-7222-8333-444455556666",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "action": "advance",
    "from": {
        "stage": "walking_hills",
        "level": null,
        "status": "active"
    },
    "to": {
        "stage": "lunges",
        "level": null,
        "status": "active"
    },
    "actor": {
        "type": "user",
        "id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f"
    },
    "reason": "Hills are easy for her; her pelvic-health assessment is done.",
    "rule_ids": [
        "R1"
    ],
    "override_gate": true,
    "created_at": "2026-12-08T01:37:54Z"
}))]
pub struct TransitionView {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub client_id: Uuid,
    pub action: TransitionAction,
    pub from: PlanPosition,
    pub to: PlanPosition,
    pub actor: Actor,
    pub reason: String,
    /// The numbered rules behind it (`Rule`), if any.
    #[schema(value_type = Vec<crate::domain::rules::Rule>)]
    pub rule_ids: Vec<String>,
    /// A coach overrode an entry gate.
    pub override_gate: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Transition> for TransitionView {
    fn from(t: Transition) -> Self {
        let position = |stage, level, status| PlanPosition {
            stage,
            level,
            status,
        };
        Self {
            id: t.id,
            plan_id: t.plan_id.into(),
            client_id: t.client_id.into(),
            action: t.action,
            from: position(t.from_stage, t.from_level, t.from_status),
            to: position(t.to_stage, t.to_level, t.to_status),
            actor: Actor {
                actor_type: t.actor_type,
                id: t.actor_id,
            },
            reason: t.reason,
            rule_ids: t.rule_ids.iter().map(|r| r.as_str().to_string()).collect(),
            override_gate: t.override_gate,
            created_at: t.created_at,
        }
    }
}

pub(super) fn plan_response(
    status: actix_web::http::StatusCode,
    view: PlanView,
    revision: i32,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::ETAG, etag(revision)))
        .json(view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"program_id": "01937a4e-9000-7000-8000-000000000001"}))]
pub struct AssignPlan {
    /// The program (its current version is pinned).
    pub program_id: Uuid,
    /// Default: today in the client's time zone.
    pub started_on: Option<NaiveDate>,
}

/// Assign a program to a client: her plan starts at the program's first stage.
#[utoipa::path(tag = "plans", operation_id = "assignPlan", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id")),
    request_body = AssignPlan,
    responses((status = 201, description = "The new plan", body = PlanView,
            headers(("ETag" = String, description = "The plan's revision, for If-Match"))),
        (status = 409, description = "She already has an active or paused plan", body = Problem, content_type = "application/problem+json"),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/plan")]
pub async fn assign_plan(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<AssignPlan>,
) -> ApiResult<HttpResponse> {
    let mut conn = db.get().await?;
    let (plan, next) =
        plan_use::assign(&mut conn, &principal, id, body.program_id, body.started_on).await?;
    let revision = plan.revision;
    let mut view = PlanView::without_prescription(plan);
    view.next_session = Some(next);
    Ok(plan_response(
        actix_web::http::StatusCode::CREATED,
        view,
        revision,
    ))
}

/// Her live plan as `GET /v1/clients/{id}/plan` shows it, with today's session; a plan that
/// is no longer her live one is shown as exports show it.
pub(crate) async fn with_today(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    plan: Plan,
) -> ApiResult<PlanView> {
    let (live, next) = plan_use::read(conn, principal, plan.client_id, None).await?;
    let mut view = PlanView::without_prescription(plan);
    if Uuid::from(live.id) == view.id {
        view.next_session = Some(next);
    }
    Ok(view)
}

/// The client's current plan, with its latest recommendation and next session.
#[utoipa::path(tag = "plans", operation_id = "getPlan", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`")),
    responses((status = 200, description = "The plan", body = PlanView,
            headers(("ETag" = String, description = "The plan's revision, for If-Match"))),
        NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/plan")]
pub async fn get_plan(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let (plan, next) = plan_use::read(&mut conn, &principal, id, None).await?;
    super::note_staff_read(&state, &principal, "plan.read", plan.client_id);
    let revision = plan.revision;
    let mut view = PlanView::without_prescription(plan);
    view.next_session = Some(next);
    Ok(plan_response(
        actix_web::http::StatusCode::OK,
        view,
        revision,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TodayQuery {
    /// The day to prescribe for (default: today in the client's time zone). Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub date: Option<NaiveDate>,
}

/// Today's prescription: the stage's exercises with doses, or the run–walk intervals to play,
/// or a rest day, with safety notes. A paused or finished plan says so and why.
#[utoipa::path(tag = "plans", operation_id = "getToday", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), TodayQuery),
    responses((status = 200, description = "The prescription", body = Prescription), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/plan/today")]
pub async fn get_today(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<TodayQuery>,
) -> ApiResult<web::Json<Prescription>> {
    let mut conn = state.pool.get().await?;
    let (plan, prescription) = plan_use::read(&mut conn, &principal, id, query.date).await?;
    super::note_staff_read(&state, &principal, "plan.today.read", plan.client_id);
    Ok(web::Json(prescription))
}

/// The plan history of a client, newest first.
#[utoipa::path(tag = "plans", operation_id = "listTransitions", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), PageQuery),
    responses((status = 200, description = "A page of transitions", body = Page<TransitionView>), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/plan/transitions")]
pub async fn list_transitions(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<TransitionView>>> {
    let (limit, before) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let rows = plans::transitions_for_client(&mut conn, client.id, before, limit).await?;
    super::note_staff_read(&state, &principal, "plan.transitions.read", client.id);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |t| t.id,
        TransitionView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "advance", "reason": "Two green runs with green next-day reports."}))]
pub struct TransitionBody {
    pub action: TransitionAction,
    /// With `set` only: the stage to move to.
    pub stage: Option<StageKey>,
    /// With `set` only: the jogging level.
    #[schema(minimum = 1, maximum = 100)]
    pub level: Option<u32>,
    /// Why, in words the client and other coaches will read (not blank).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
    /// Move past an entry gate (day 84, clearance, open red flag); recorded and audited.
    #[serde(default)]
    pub override_gate: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionResult {
    pub transition: TransitionView,
    pub plan: PlanView,
}

/// Apply a decision to the plan (coaches and admins).
///
/// Send `If-Match` with the plan's ETag: if another coach moved the plan meanwhile, this is a
/// 412 instead of a double move. Gates hold for coaches too: moving into jogging before day 84,
/// without clearance, or with an open red flag is a 409 unless `override_gate` is true.
#[utoipa::path(tag = "plans", operation_id = "createTransition", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id"),
        ("If-Match" = Option<String>, Header, description = "The plan's ETag")),
    request_body = TransitionBody,
    responses((status = 201, description = "Applied", body = TransitionResult,
            headers(("ETag" = String, description = "The plan's new revision"))),
        (status = 412, description = "The plan changed since you read it", body = Problem, content_type = "application/problem+json"),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/plan/transitions")]
pub async fn create_transition(
    req: HttpRequest,
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let reason = body.reason.trim();
    plan_use::check_move(reason, body.level)?;
    let if_match = if_match(&req);
    let change = Move {
        request: TransitionRequest {
            action: body.action,
            stage: body.stage,
            level: body.level,
            override_gate: body.override_gate,
        },
        reason,
        if_match: if_match.as_deref(),
    };
    let mut conn = db.get().await?;
    let (transition, plan, next) = plan_use::transition(&mut conn, &principal, id, change).await?;
    let revision = plan.revision;
    let mut view = PlanView::without_prescription(plan);
    view.next_session = Some(next);
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::ETAG, etag(revision)))
        .json(TransitionResult {
            transition: transition.into(),
            plan: view,
        }))
}
