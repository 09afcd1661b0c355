//! The audit trail, for admins: who changed or looked at what, and when.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{ReadErrors, TooManyRequests};
use super::extract::QueryParams;
use super::{Page, PageQuery};
use crate::db::audit::{self, AuditEvent, AuditFilter};
use crate::domain::identity::{ActorType, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_events);
}

/// One event of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193f0c2-7a3e-7d41-9a8e-2f1c5b7d9e01", "occurred_at": "2026-11-26T08:15:02Z",
    "actor_type": "user", "actor_id": "0193f0c1-1111-7000-8000-000000000001",
    "action": "symptom_report.read", "entity": "client",
    "entity_id": "0193f0c1-2222-7000-8000-000000000002", "changes": {"reports": 12}
}))]
pub struct AuditEventView {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: ActorType,
    /// The user or service token; null for the engine and the system.
    pub actor_id: Option<Uuid>,
    /// What happened, as `entity.verb`: `client.update`, `plan.transition`, `client.export`,
    /// `symptom_report.read`, …
    pub action: String,
    /// The kind of record: `client`, `plan`, `symptom_report`, `flag`, `user`, …
    pub entity: String,
    pub entity_id: Uuid,
    /// For a change, `{field: {from, to}}` or the values written; for a read, what was read.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        let actor_type = e.actor_type;
        AuditEventView {
            id: e.id,
            occurred_at: e.occurred_at,
            actor_type,
            actor_id: e.actor_id,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            changes: e.changes,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    /// Only events about this kind of record (`client`, `plan`, `symptom_report`, …).
    #[param(max_length = 64)]
    pub entity: Option<String>,
    /// Only events about this record.
    pub entity_id: Option<Uuid>,
    /// Only events by this user or service token.
    pub actor_id: Option<Uuid>,
    /// Only this action (`client.export`, `symptom_report.read`, …).
    #[param(max_length = 64)]
    pub action: Option<String>,
    /// Only events at or after this instant. In the years 1900 to 2200.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_instant")]
    pub since: Option<DateTime<Utc>>,
    /// Only events before this instant. In the years 1900 to 2200.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_instant")]
    pub until: Option<DateTime<Utc>>,
}

/// The organization's audit trail, newest first (admins).
///
/// Every write to client data is here, with who made it and what changed, and so is every
/// read of a client's symptom reports, timeline or export by staff.
#[utoipa::path(tag = "audit", operation_id = "listAuditEvents", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "A page of events", body = Page<AuditEventView>), ReadErrors, TooManyRequests))]
#[get("/v1/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ApiResult<web::Json<Page<AuditEventView>>> {
    let (limit, before) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    for (field, value) in [("entity", &query.entity), ("action", &query.action)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 64) {
            return Err(ApiError::invalid(field, "must be at most 64 characters"));
        }
    }
    let filter = AuditFilter {
        entity: query.entity,
        entity_id: query.entity_id,
        actor_id: query.actor_id,
        action: query.action,
        since: query.since,
        until: query.until,
    };
    let mut conn = state.heavy_read(&principal).await?;
    let rows = audit::list(&mut conn, principal.organization_id, &filter, before, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |e| e.id,
        AuditEventView::from,
    )))
}
