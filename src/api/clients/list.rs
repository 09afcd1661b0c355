//! The dashboard's list of clients: one row per client with her plan, her last report and her open flags.

use super::super::docs::ReadErrors;
use super::super::extract::QueryParams;
use super::super::{Page, PageQuery};
use crate::db::clients::{self, ClientFilter, ClientSummaryRow};
use crate::domain::client::{days_postpartum, ClientStatus};
use crate::domain::identity::Principal;
use crate::domain::program::StageKey;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{get, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::ids::{ClientId, UserId};

/// The plan a dashboard row shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: Uuid,
    pub stage: StageKey,
    pub level: Option<i32>,
    pub status: crate::domain::plan::PlanStatus,
}

/// One dashboard row: everything a coach sees at a glance, without more calls.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "external_id": "RP-1042",
    "name": "Ana Lima",
    "email": "ana.lima@example.org",
    "coach_id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "status": "active",
    "days_postpartum": 110,
    "cleared_for_exercise": true,
    "plan": {
        "id": "01937c00-1111-7222-8333-444455556666",
        "stage": "lunges",
        "level": null,
        "status": "active"
    },
    "sessions_last_14_days": 0,
    "last_report": {
        "triage": "green",
        "reported_on": "2026-12-08"
    },
    "open_flags": {
        "red_medical": 0,
        "red_pelvic": 0,
        "amber": 0
    },
    "updated_at": "2026-12-08T01:37:54Z"
}))]
pub struct ClientSummary {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub coach_id: Option<Uuid>,
    pub status: ClientStatus,
    pub days_postpartum: i64,
    pub cleared_for_exercise: bool,
    /// The live plan, if any.
    pub plan: Option<PlanSummary>,
    pub sessions_last_14_days: i64,
    /// Her latest symptom report, if any.
    pub last_report: Option<LastReport>,
    /// Her open flags, by level.
    pub open_flags: OpenFlags,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastReport {
    pub triage: crate::domain::triage::TriageLevel,
    pub reported_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenFlags {
    pub red_medical: i64,
    pub red_pelvic: i64,
    pub amber: i64,
}

impl ClientSummary {
    fn from_row(r: ClientSummaryRow, today: NaiveDate) -> Self {
        Self {
            id: r.id,
            external_id: r.external_id,
            name: r.name,
            email: r.email,
            coach_id: r.coach_id.map(Uuid::from),
            status: r.status,
            days_postpartum: days_postpartum(r.delivery_date, today),
            cleared_for_exercise: r.cleared_for_exercise,
            plan: match (r.plan_id, r.stage, r.plan_status) {
                (Some(id), Some(stage), Some(status)) => Some(PlanSummary {
                    id: id.into(),
                    stage,
                    level: r.level,
                    status,
                }),
                _ => None,
            },
            sessions_last_14_days: r.sessions_last_14_days,
            last_report: match (r.last_report_triage, r.last_report_on) {
                (Some(triage), Some(reported_on)) => Some(LastReport {
                    triage,
                    reported_on,
                }),
                _ => None,
            },
            open_flags: OpenFlags {
                red_medical: r.open_red_medical,
                red_pelvic: r.open_red_pelvic,
                amber: r.open_amber,
            },
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientListQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    pub status: Option<ClientStatus>,
    /// Clients whose live plan is at this stage.
    pub stage: Option<StageKey>,
    pub coach_id: Option<Uuid>,
    /// Part of a name, email or external id.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only clients changed since then (for offline sync). In the years 1900 to 2200.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_instant")]
    pub updated_since: Option<DateTime<Utc>>,
    /// Only clients with an open flag of this level.
    pub flag: Option<crate::domain::triage::TriageLevel>,
}

/// The clients the caller coaches (all of them, for an admin), one summary each.
#[utoipa::path(tag = "clients", operation_id = "listClients", security(("bearer" = [])),
    params(ClientListQuery),
    responses((status = 200, description = "A page of client summaries", body = Page<ClientSummary>), ReadErrors))]
#[get("/v1/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ClientListQuery>,
) -> ApiResult<web::Json<Page<ClientSummary>>> {
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    let filter = ClientFilter {
        status: query.status.map(|s| s.as_str().to_string()),
        stage: query.stage.map(|s| s.as_str().to_string()),
        coach_id: query.coach_id.map(UserId),
        q: query.q.filter(|q| !q.trim().is_empty()),
        updated_since: query.updated_since,
        flag: query.flag.map(|f| f.as_str().to_string()),
    };
    let today = Utc::now().date_naive();
    let mut conn = state.heavy_read(&principal).await?;
    let rows = clients::list_summaries(&mut conn, &principal, &filter, today, after, limit).await?;
    for row in &rows {
        crate::api::note_staff_read(&state, &principal, "client.list", ClientId(row.id));
    }
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| ClientSummary::from_row(r, today),
    )))
}
