//! The coach's inbox of flags: list them, most urgent first, and resolve one.

use super::super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::super::extract::{JsonBody, QueryParams};
use super::super::idempotency::{Db, IdempotencyKey};
use super::super::{Page, PageQuery};
use crate::db::audit;
use crate::db::engine_runs::Cause;
use crate::db::reports::{self, Flag, InboxRow};
use crate::domain::identity::Principal;
use crate::domain::plan::PlanStatus;
use crate::domain::program::StageKey;
use crate::domain::trace::RunCauseKind;
use crate::domain::triage::{Finding, FlagLevel, Timing, Urgency};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::usecases::{self};
use actix_web::{get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::ids::ClientId;

pub use crate::domain::triage::FlagStatus;

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagClient {
    pub id: Uuid,
    pub name: String,
    pub stage: Option<StageKey>,
    pub level: Option<i32>,
    pub plan_status: Option<PlanStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagReport {
    pub id: Uuid,
    pub timing: Timing,
    pub reported_on: NaiveDate,
    pub findings: Vec<Finding>,
}

/// A flag in a coach's inbox.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e00-0000-7000-8000-0000000000f1", "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "level": "red_pelvic", "urgency": "soon", "status": "open",
    "report_id": "01937e00-0000-7000-8000-000000000001",
    "report_count": 1, "opened_at": "2026-11-25T07:40:00Z", "last_report_at": "2026-11-25T07:40:00Z",
    "resolved_at": null, "resolved_by": null, "resolution_note": null,
    "check_in_id": null, "note": null
}))]
pub struct FlagView {
    pub id: Uuid,
    pub client_id: Uuid,
    /// `amber` informs, `red_pelvic` refers, `red_medical` is urgent; `mood` (her and her coach only)
    /// asks her coach to suggest she talks to her GP, midwife or health visitor.
    pub level: FlagLevel,
    /// How soon she needs care: an `emergency` flag comes first in the inbox (its report had a
    /// sign to call the emergency number for).
    pub urgency: Urgency,
    pub status: FlagStatus,
    /// The report that opened the flag (null for a `mood` flag).
    pub report_id: Option<Uuid>,
    /// The check-in that opened a `mood` flag.
    pub check_in_id: Option<Uuid>,
    /// For her coach: what the flag asks of her (a `mood` flag's note).
    pub note: Option<String>,
    /// Reports of the same level that joined it while it was open.
    pub report_count: i32,
    pub opened_at: DateTime<Utc>,
    pub last_report_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub resolution_note: Option<String>,
    /// The client at a glance (inbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client: Option<FlagClient>,
    /// The report that raised it (inbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub report: Option<FlagReport>,
}

impl From<Flag> for FlagView {
    fn from(f: Flag) -> Self {
        Self {
            urgency: f.urgency,
            id: f.id,
            client_id: f.client_id.into(),
            level: f.level,
            note: (f.level == FlagLevel::Mood)
                .then(|| crate::domain::recovery::MOOD_FLAG_NOTE.to_string()),
            check_in_id: f.check_in_id,
            status: f.status,
            report_id: f.report_id.map(Uuid::from),
            report_count: f.report_count,
            opened_at: f.opened_at,
            last_report_at: f.last_report_at,
            resolved_at: f.resolved_at,
            resolved_by: f.resolved_by,
            resolution_note: f.resolution_note,
            client: None,
            report: None,
        }
    }
}

impl From<InboxRow> for FlagView {
    fn from(row: InboxRow) -> Self {
        let client = FlagClient {
            id: row.flag.client_id.into(),
            name: row.client_name,
            stage: row.plan_stage,
            level: row.plan_level,
            plan_status: row.plan_status,
        };
        let report = match (
            row.flag.report_id,
            row.report_timing,
            row.report_reported_on,
        ) {
            (Some(id), Some(timing), Some(reported_on)) => Some(FlagReport {
                id: id.into(),
                timing,
                reported_on,
                findings: row.report_findings.map(|f| f.0).unwrap_or_default(),
            }),
            _ => None,
        };
        Self {
            client: Some(client),
            report,
            ..FlagView::from(row.flag)
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlagListQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    /// `open` (default) or `resolved`.
    pub status: Option<FlagStatus>,
    pub level: Option<FlagLevel>,
    pub client_id: Option<Uuid>,
}

/// The coach's inbox: her clients' flags (all clients' for an admin), most urgent first.
#[utoipa::path(tag = "flags", operation_id = "listFlags", security(("bearer" = [])),
    params(FlagListQuery),
    responses((status = 200, description = "A page of flags", body = Page<FlagView>), ReadErrors))]
#[get("/v1/flags")]
pub async fn list_flags(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<FlagListQuery>,
) -> ApiResult<web::Json<Page<FlagView>>> {
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let status = query.status.unwrap_or(FlagStatus::Open).as_str();
    let level = query.level.map(|l| l.as_str());
    let mut conn = state.pool.get().await?;
    let rows = reports::inbox(
        &mut conn,
        &principal,
        status,
        level,
        query.client_id.map(ClientId),
        after,
        limit,
    )
    .await?;
    for row in &rows {
        crate::api::note_staff_read(&state, &principal, "flag.list", row.flag.client_id);
    }
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.flag.id,
        FlagView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Seen by the pelvic-health physio on 28 Nov; cleared to return to lunges, jogging from next week."}))]
pub struct ResolveFlag {
    /// What was done, for the record (kept, never deleted); not blank.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub note: String,
}

/// Resolve a flag with a note.
///
/// Resolution is recorded, never deleted. Once a client's red flags are resolved, her coach
/// can move the plan on again (into jogging too).
#[utoipa::path(tag = "flags", operation_id = "resolveFlag", security(("bearer" = [])),
    params(IdempotencyKey, ("id" = Uuid, Path, description = "The flag's id")),
    request_body = ResolveFlag,
    responses((status = 200, description = "Resolved", body = FlagView),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/flags/{id}/resolve")]
pub async fn resolve_flag(
    db: Db,
    principal: Principal,
    id: web::Path<Uuid>,
    JsonBody(body): JsonBody<ResolveFlag>,
) -> ApiResult<web::Json<FlagView>> {
    let note = body.note.trim().to_string();
    if note.is_empty() || note.chars().count() > 5000 {
        return Err(ApiError::invalid(
            "note",
            "must be between 1 and 5000 characters",
        ));
    }
    let mut conn = db.get().await?;
    let flag = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (flag, client) = reports::find_accessible(conn, &principal, *id).await?;
            let flag = reports::resolve(conn, flag.id, principal.user_id, &note)
                .await?
                .ok_or_else(|| ApiError::Conflict("This flag is already resolved.".into()))?;
            // A mood flag's resolution is her coach's and hers alone: its own entity in the
            // trail, and no engine run (her mood changes nothing in her plan, and a run's cause
            // would name the flag to anyone who reads her plan's trace).
            let mood = flag.level == FlagLevel::Mood;
            let (action, entity) = if mood {
                ("mood_flag.resolve", audit::MOOD_FLAG)
            } else {
                ("flag.resolve", "flag")
            };
            let event = audit::Entry::new(
                principal.actor(),
                action,
                entity,
                flag.id,
                // The note and the level stay on the flag; the trail says a note was written.
                serde_json::json!({"client_id": flag.client_id, "note": null}),
            );
            // The engine sees the flag gone at once.
            let cause = (!mood).then(|| Cause::new(RunCauseKind::FlagResolved, flag.id));
            usecases::changed(conn, &client, event, cause).await?;
            Ok(flag)
        })
        .await?;
    Ok(web::Json(flag.into()))
}
