//! Everything the service holds about a client, in one document (her right of access).

use super::super::docs::{NotFound, ReadErrors, TooManyRequests};
use super::super::extract::ClientRef;
use super::super::plans::{PlanView, TransitionView};
use super::super::workouts::{ReadinessResultView, SessionLogView};
use super::ClientView;
use crate::db::clients::{self};
use crate::db::{plans, workouts};
use crate::domain::identity::Principal;
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything the service holds about a client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientExport {
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub exported_at: DateTime<Utc>,
    pub client: ClientView,
    pub plans: Vec<PlanView>,
    pub transitions: Vec<TransitionView>,
    pub sessions: Vec<SessionLogView>,
    pub readiness_results: Vec<ReadinessResultView>,
    pub symptom_reports: Vec<crate::api::reports::SymptomReportView>,
    /// Her flags (`mood` flags only for her and her coach).
    pub flags: Vec<crate::api::reports::FlagView>,
    /// Her check-ins (mood screens only for her and her coach).
    pub check_ins: Vec<crate::api::check_ins::CheckInView>,
    /// Her postnatal checks and pelvic-health assessments.
    pub assessments: Vec<crate::api::assessments::AssessmentView>,
}

/// All of a client's data as one JSON document (her right of access).
#[utoipa::path(tag = "clients", operation_id = "exportClient", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`")),
    responses((status = 200, description = "Everything about her", body = ClientExport), NotFound, ReadErrors, TooManyRequests))]
#[get("/v1/clients/{client_id}/export")]
pub async fn export_client(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<web::Json<ClientExport>> {
    let mut conn = state.heavy_read(&principal).await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let plans = plans::all_for_client(&mut conn, client.id).await?;
    let transitions = plans::transitions_for_client(&mut conn, client.id, None, i64::MAX).await?;
    let sessions = workouts::all_sessions(&mut conn, client.id).await?;
    let results = workouts::list_readiness(&mut conn, client.id, None, i64::MAX).await?;
    let reports =
        crate::db::reports::list(&mut conn, client.id, &Default::default(), None, i64::MAX).await?;
    let mood = crate::api::check_ins::may_see_mood(&principal, &client);
    let mut flags = crate::db::reports::all_flags_for_client(&mut conn, client.id).await?;
    flags.retain(|f| mood || f.level != crate::domain::triage::FlagLevel::Mood);
    let check_ins =
        crate::db::check_ins::list(&mut conn, client.id, None, None, None, i64::MAX).await?;
    let assessments = crate::db::assessments::all_for_client(&mut conn, client.id).await?;
    crate::api::audit_staff_read_after(
        conn,
        &state,
        &principal,
        client.id,
        "client.export",
        serde_json::json!({
            "plans": plans.len(), "sessions": sessions.len(), "symptom_reports": reports.len(),
        }),
    )
    .await?;
    Ok(web::Json(ClientExport {
        exported_at: Utc::now(),
        client: client.into(),
        plans: plans
            .into_iter()
            .map(PlanView::without_prescription)
            .collect(),
        transitions: transitions.into_iter().map(TransitionView::from).collect(),
        sessions: sessions.into_iter().map(SessionLogView::from).collect(),
        readiness_results: results.into_iter().map(ReadinessResultView::from).collect(),
        symptom_reports: reports.into_iter().map(Into::into).collect(),
        flags: flags.into_iter().map(Into::into).collect(),
        check_ins: check_ins
            .into_iter()
            .map(|c| crate::api::check_ins::CheckInView::new(c, mood))
            .collect(),
        assessments: assessments.into_iter().map(Into::into).collect(),
    }))
}
