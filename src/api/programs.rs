//! Programs: versioned templates of stages. Every organization starts with Return to Running
//! Postpartum; coaches and admins may publish their own versions and programs.

use super::idempotency::{Db, IdempotencyKey};
use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{JsonBody, QueryParams};
use super::{Page, PageQuery};
use crate::db::audit;
use crate::db::programs::{self, ProgramVersion};
use crate::domain::identity::Principal;
use crate::domain::program::{validate_stages, Stage};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_programs)
        .service(create_program)
        .service(get_program)
        .service(publish_program);
}

/// A program at one version.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937a4e-9000-7000-8000-000000000001",
    "key": "return_to_running_postpartum",
    "name": "Return to Running Postpartum",
    "version": 1,
    "current_version": 1,
    "stages": [
        {
            "key": "crawling",
            "position": 1,
            "title": "Crawling",
            "purpose": "Crawl before you walk: get the inner core muscles, stretched and sometimes injured in pregnancy, firing and in sync again.",
            "exercises": [
                {
                    "name": "Diaphragmatic breathing",
                    "instructions": "Lying or sitting, breathe into the sides and back of the ribs; let the belly and pelvic floor relax on the inhale and gently lift on the exhale.",
                    "dose": {
                        "sets": null,
                        "reps": null,
                        "hold_seconds": null,
                        "duration_minutes": 5,
                        "per_side": false
                    }
                },
                {
                    "name": "Pelvic-floor fast contractions",
                    "instructions": "Squeeze and lift quickly, then fully let go.",
                    "dose": {
                        "sets": 1,
                        "reps": 10,
                        "hold_seconds": null,
                        "duration_minutes": null,
                        "per_side": false
                    }
                }
            ],
            "min_sessions": 3,
            "entry_gate": {
                "min_days_postpartum": 21,
                "requires_clearance": true
            },
            "exit_criteria": [
                "At least 3 logged sessions, the last 2 green",
                "Pelvic-floor baseline done with no symptoms and no abdominal doming"
            ],
            "readiness_tests": [],
            "levels": []
        },
        {
            "key": "jogging",
            "position": 4,
            "title": "Jogging for short periods",
            "purpose": "Start slow and add time little by little, keeping your fingers on the pulse of your symptoms; give yourself permission to do less than you think you can.",
            "exercises": [
                {
                    "name": "Brisk-walk warm-up",
                    "instructions": "Five minutes of brisk walking before every run.",
                    "dose": {
                        "sets": null,
                        "reps": null,
                        "hold_seconds": null,
                        "duration_minutes": 5,
                        "per_side": false
                    }
                },
                {
                    "name": "Run–walk intervals",
                    "instructions": "The intervals of your current level; walk the rest of the run if symptoms appear.",
                    "dose": {
                        "sets": null,
                        "reps": null,
                        "hold_seconds": null,
                        "duration_minutes": null,
                        "per_side": false
                    }
                }
            ],
            "min_sessions": 2,
            "entry_gate": {
                "min_days_postpartum": 84,
                "requires_clearance": true,
                "caesarean": {
                    "requires_scar_clearance": true
                }
            },
            "exit_criteria": [
                "The last level (30 minutes continuous) done green twice"
            ],
            "readiness_tests": [],
            "levels": [
                {
                    "level": 1,
                    "run_seconds": 60,
                    "walk_seconds": 120,
                    "repeats": 8
                },
                {
                    "level": 2,
                    "run_seconds": 60,
                    "walk_seconds": 90,
                    "repeats": 9
                },
                {
                    "level": 3,
                    "run_seconds": 60,
                    "walk_seconds": 60,
                    "repeats": 10
                }
            ]
        }
    ],
    "published_at": "2026-12-08T01:20:55Z"
}))]
pub struct ProgramView {
    pub id: Uuid,
    /// Stable key, unique in the organization.
    #[schema(example = "return_to_running_postpartum")]
    pub key: String,
    #[schema(example = "Return to Running Postpartum")]
    pub name: String,
    /// The version shown; plans pin the version they started on.
    #[schema(minimum = 1)]
    pub version: i32,
    /// The newest published version.
    pub current_version: i32,
    pub stages: Vec<Stage>,
    pub published_at: DateTime<Utc>,
}

impl From<ProgramVersion> for ProgramView {
    fn from(p: ProgramVersion) -> Self {
        Self {
            id: p.program.id,
            key: p.program.key,
            name: p.name,
            version: p.version,
            current_version: p.program.current_version,
            stages: p.stages,
            published_at: p.published_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgram {
    /// Lowercase letters, digits and `_`; unique in the organization.
    #[schema(pattern = "^[a-z0-9_]{1,64}$", example = "gentle_return")]
    pub key: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Gentle return (caesarean)"
    )]
    pub name: String,
    #[schema(min_items = 1)]
    pub stages: Vec<Stage>,
}

/// A new version of a program: its name and stages, whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramVersionRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_items = 1)]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A published version (default: the current one).
    #[param(minimum = 1)]
    pub version: Option<i32>,
}

fn validate(name: &str, stages: &[Stage]) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "must be between 1 and 200 characters",
        ));
    }
    errors.extend(validate_stages(stages));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The organization's programs, at their current versions.
#[utoipa::path(tag = "programs", operation_id = "listPrograms", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of programs", body = Page<ProgramView>), ReadErrors))]
#[get("/v1/programs")]
pub async fn list_programs(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<ProgramView>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = programs::list(&mut conn, principal.organization_id, after, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |p| p.program.id,
        ProgramView::from,
    )))
}

/// Create a program.
///
/// Stages follow the method's order; keys are unique, positions 1, 2, 3…, doses positive, and
/// each jogging level runs at most 10 % or 1 minute longer than the one before.
#[utoipa::path(tag = "programs", operation_id = "createProgram", security(("bearer" = [])),
    params(IdempotencyKey),
    request_body = NewProgram,
    responses((status = 201, description = "Created at version 1", body = ProgramView),
        Conflict, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/programs")]
pub async fn create_program(
    db: Db,
    principal: Principal,
    JsonBody(body): JsonBody<NewProgram>,
) -> ApiResult<HttpResponse> {
    if !body
        .key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || body.key.is_empty()
        || body.key.len() > 64
    {
        return Err(ApiError::invalid(
            "key",
            "use 1 to 64 lowercase letters, digits or _",
        ));
    }
    validate(&body.name, &body.stages)?;
    let mut conn = db.get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let program = programs::create(
                conn,
                principal.organization_id,
                &body.key,
                body.name.trim(),
                &body.stages,
                Some(principal.user_id.into()),
            )
            .await
            .map_err(|e| {
                if programs::is_duplicate_key(&e) {
                    ApiError::Conflict(
                        "A program with this key exists; publish a new version of it instead."
                            .into(),
                    )
                } else {
                    e.into()
                }
            })?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "program.create",
                "program",
                program.program.id,
                serde_json::json!({"key": body.key, "version": 1}),
            )
            .await?;
            Ok(program)
        })
        .await?;
    Ok(HttpResponse::Created().json(ProgramView::from(created)))
}

/// One program, at its current version or `?version=`.
#[utoipa::path(tag = "programs", operation_id = "getProgram", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The program's id"), VersionQuery),
    responses((status = 200, description = "The program", body = ProgramView), NotFound, ReadErrors))]
#[get("/v1/programs/{id}")]
pub async fn get_program(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    QueryParams(query): QueryParams<VersionQuery>,
) -> ApiResult<web::Json<ProgramView>> {
    let mut conn = state.pool.get().await?;
    let program = programs::find(&mut conn, principal.organization_id, *id, query.version).await?;
    Ok(web::Json(program.into()))
}

/// Publish a new version of a program.
///
/// Published versions never change: plans already running keep the version they started on.
#[utoipa::path(tag = "programs", operation_id = "publishProgramVersion", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The program's id")),
    request_body = ProgramVersionRequest,
    responses((status = 200, description = "The new current version", body = ProgramView),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[put("/v1/programs/{id}")]
pub async fn publish_program(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    JsonBody(body): JsonBody<ProgramVersionRequest>,
) -> ApiResult<web::Json<ProgramView>> {
    validate(&body.name, &body.stages)?;
    let mut conn = state.pool.get().await?;
    let published = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let program = programs::publish(
                conn,
                principal.organization_id,
                *id,
                body.name.trim(),
                &body.stages,
                principal.user_id.into(),
            )
            .await?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "program.publish",
                "program",
                program.program.id,
                serde_json::json!({"version": program.version}),
            )
            .await?;
            Ok(program)
        })
        .await?;
    Ok(web::Json(published.into()))
}
