//! What the client did: her workouts (`/sessions` in the API, retry-safe with a
//! client-generated id) and readiness-test results. Named apart from sign-in sessions
//! (`auth::sessions`).

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
use crate::db::workouts::{self, Range, ReadinessResult, SessionLog};
use crate::domain::identity::Principal;
use crate::domain::program::{ReadinessTestKey, StageKey};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::usecases::{self, ChosenId};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_sessions)
        .service(log_session)
        .service(list_readiness)
        .service(record_readiness)
        .service(confirm_readiness);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937d00-aaaa-7bbb-8ccc-dddddddddddd",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "plan_id": "01937c00-1111-7222-8333-444455556666",
    "performed_on": "2026-11-24",
    "stage": "jogging",
    "level": 3,
    "completed": true,
    "duration_minutes": 32,
    "rpe": 5,
    "notes": "Felt strong; walked the last interval.",
    "created_at": "2026-11-24T08:10:00Z",
    "updated_at": "2026-11-24T08:10:00Z"
}))]
pub struct SessionLogView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub performed_on: NaiveDate,
    pub stage: StageKey,
    pub level: Option<i32>,
    pub completed: bool,
    pub duration_minutes: Option<i32>,
    /// Rate of perceived exertion, 0–10.
    pub rpe: Option<i16>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SessionLog> for SessionLogView {
    fn from(s: SessionLog) -> Self {
        Self {
            id: s.id,
            client_id: s.client_id.into(),
            plan_id: s.plan_id.map(Uuid::from),
            performed_on: s.performed_on,
            stage: s.stage,
            level: s.level,
            completed: s.completed,
            duration_minutes: s.duration_minutes,
            rpe: s.rpe,
            notes: s.notes,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "01937d00-aaaa-7bbb-8ccc-dddddddddddd",
    "performed_on": "2026-11-24",
    "completed": true,
    "duration_minutes": 32,
    "rpe": 5
}))]
pub struct NewSession {
    /// Optional id made by the app, so a retry after a lost answer does not log twice.
    pub id: Option<Uuid>,
    pub performed_on: NaiveDate,
    /// Default: the plan's current stage.
    pub stage: Option<StageKey>,
    /// Default: the plan's current level (jogging).
    #[schema(minimum = 1, maximum = 100)]
    pub level: Option<u32>,
    pub completed: bool,
    #[schema(minimum = 0, maximum = 600)]
    pub duration_minutes: Option<u32>,
    #[schema(minimum = 0, maximum = 10)]
    pub rpe: Option<u8>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionListQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    /// Sessions performed on or after this date. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub since: Option<NaiveDate>,
    /// Sessions performed on or before this date. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub until: Option<NaiveDate>,
    /// Only sessions changed since then (for offline sync). In the years 1900 to 2200.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_instant")]
    pub updated_since: Option<DateTime<Utc>>,
}

/// A client's logged sessions in the order they reached the server, oldest first (never by
/// the ids an app chose).
#[utoipa::path(tag = "sessions", operation_id = "listSessions", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), SessionListQuery),
    responses((status = 200, description = "A page of sessions", body = Page<SessionLogView>), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<SessionListQuery>,
) -> ApiResult<web::Json<Page<SessionLogView>>> {
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let range = Range {
        since: query.since,
        until: query.until,
        updated_since: query.updated_since,
    };
    let rows = workouts::list_sessions(&mut conn, client.id, &range, after, limit).await?;
    super::note_staff_read(&state, &principal, "session.list", client.id);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |s| s.id,
        SessionLogView::from,
    )))
}

/// Log a session.
///
/// Retrying with the same `id` and body answers 200 with the first record and writes nothing;
/// the same `id` with another body is a 409.
#[utoipa::path(tag = "sessions", operation_id = "logSession", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id, or `me`")),
    request_body = NewSession,
    responses((status = 201, description = "Logged", body = SessionLogView),
        (status = 200, description = "A retry of a session already logged", body = SessionLogView),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/sessions")]
pub async fn log_session(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<NewSession>,
) -> ApiResult<HttpResponse> {
    let mut errors = Vec::new();
    if body.duration_minutes.is_some_and(|m| m > 600) {
        errors.push(FieldError::new(
            "duration_minutes",
            "must be between 0 and 600",
        ));
    }
    if body.rpe.is_some_and(|r| r > 10) {
        errors.push(FieldError::new("rpe", "must be between 0 and 10"));
    }
    if body
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > 5000)
    {
        errors.push(FieldError::new("notes", "must be at most 5000 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let session = usecases::workouts::Session {
        id: ChosenId::of(body.id, &body)?,
        performed_on: body.performed_on,
        stage: body.stage,
        level: body.level,
        completed: body.completed,
        duration_minutes: body.duration_minutes,
        rpe: body.rpe,
        notes: body.notes,
    };
    let mut conn = db.get().await?;
    let (log, created) =
        usecases::workouts::log_session(&mut conn, &principal, id, session).await?;
    let view = SessionLogView::from(log);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

pub use crate::domain::readiness::TestSide as Side;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000004",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "test": "single_leg_balance",
    "stage": "walking_hills",
    "reached": 10,
    "side": "left",
    "symptom_free": true,
    "passed": true,
    "performed_on": "2026-12-08",
    "notes": null,
    "recorded_by": "01937e10-0000-7000-8000-000000000005",
    "created_at": "2026-12-08T01:37:54Z",
    "confirmed_by": null,
    "confirmed_at": null,
    "awaiting_confirmation": true
}))]
pub struct ReadinessResultView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub test: crate::domain::program::ReadinessTestKey,
    pub stage: StageKey,
    /// Reps or seconds reached.
    pub reached: i32,
    pub side: Side,
    pub symptom_free: bool,
    /// Reached the test's dose, symptom-free.
    pub passed: bool,
    pub performed_on: NaiveDate,
    pub notes: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The coach or admin who recorded or confirmed it. The tests that open jogging count only
    /// once staff have (SPEC §1.8).
    pub confirmed_by: Option<Uuid>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// She recorded it herself and no coach has confirmed it yet.
    pub awaiting_confirmation: bool,
}

impl From<ReadinessResult> for ReadinessResultView {
    fn from(r: ReadinessResult) -> Self {
        Self {
            id: r.id,
            client_id: r.client_id.into(),
            test: r.test,
            stage: r.stage,
            reached: r.reached,
            side: r.side,
            symptom_free: r.symptom_free,
            passed: r.passed,
            performed_on: r.performed_on,
            notes: r.notes,
            recorded_by: r.recorded_by.map(Uuid::from),
            created_at: r.created_at,
            confirmed_by: r.confirmed_by.map(Uuid::from),
            confirmed_at: r.confirmed_at,
            awaiting_confirmation: r.confirmed_at.is_none(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"test": "single_leg_squat", "reached": 10, "side": "left", "symptom_free": true}))]
pub struct NewReadinessResult {
    pub test: ReadinessTestKey,
    /// Reps or seconds reached.
    #[schema(minimum = 0, maximum = 100000)]
    pub reached: u32,
    pub side: Side,
    pub symptom_free: bool,
    /// Default: today in the client's time zone.
    pub performed_on: Option<NaiveDate>,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

/// A client's readiness-test results, oldest first.
#[utoipa::path(tag = "readiness", operation_id = "listReadinessResults", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), PageQuery),
    responses((status = 200, description = "A page of results", body = Page<ReadinessResultView>), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/readiness-tests")]
pub async fn list_readiness(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<ReadinessResultView>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let rows = workouts::list_readiness(&mut conn, client.id, after, limit).await?;
    super::note_staff_read(&state, &principal, "readiness.list", client.id);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        ReadinessResultView::from,
    )))
}

/// Record a readiness-test result.
///
/// It passes when it reaches the test's dose (from her plan's program) symptom-free.
#[utoipa::path(tag = "readiness", operation_id = "recordReadinessResult", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id, or `me`")),
    request_body = NewReadinessResult,
    responses((status = 201, description = "Recorded", body = ReadinessResultView),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/readiness-tests")]
pub async fn record_readiness(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<NewReadinessResult>,
) -> ApiResult<HttpResponse> {
    if body.reached > 100_000 {
        return Err(ApiError::invalid("reached", "must be between 0 and 100000"));
    }
    if body
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > 5000)
    {
        return Err(ApiError::invalid(
            "notes",
            "must be at most 5000 characters",
        ));
    }
    let readiness = usecases::workouts::Readiness {
        test: body.test,
        reached: body.reached,
        side: body.side,
        symptom_free: body.symptom_free,
        performed_on: body.performed_on,
        notes: body.notes,
    };
    let mut conn = db.get().await?;
    let result = usecases::workouts::record_readiness(&mut conn, &principal, id, readiness).await?;
    Ok(HttpResponse::Created().json(ReadinessResultView::from(result)))
}

/// Confirm a readiness result she recorded herself (coach or admin).
///
/// The tests that open jogging count only when recorded or confirmed by staff (SPEC §1.8); her
/// own results show `awaiting_confirmation` until then. Audited; the engine reruns. Confirming a
/// confirmed result answers it unchanged.
#[utoipa::path(tag = "readiness", operation_id = "confirmReadinessResult", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"),
        ("id" = Uuid, Path, description = "The result's id")),
    responses((status = 200, description = "Confirmed", body = ReadinessResultView),
        NotFound, ReadErrors))]
#[post("/v1/clients/{client_id}/readiness-tests/{id}/confirm")]
pub async fn confirm_readiness(
    db: Db,
    principal: Principal,
    ClientRef(client): ClientRef,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<ReadinessResultView>> {
    let (_, id) = path.into_inner();
    let mut conn = db.get().await?;
    let result = usecases::workouts::confirm_readiness(&mut conn, &principal, client, id).await?;
    Ok(web::Json(ReadinessResultView::from(result)))
}
