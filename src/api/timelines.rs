//! Individual timelines (2024 consensus): after a caesarean birth, her scar reviewed and
//! cleared before lunges and jogging; and a jogging gate date of her own, earlier or later than
//! the program's, agreed with a clinician. Coaches and admins record both; each is audited and
//! reruns the engine. The three-week floor, her clearance and open red flags always hold.

use crate::domain::trace::RunCauseKind;
use actix_web::{delete, put, web, HttpResponse};
use chrono::{Duration, NaiveDate};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::clients::ClientView;
use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody};
use super::idempotency::Db;
use super::plans::{plan_response, PlanView};
use crate::db::engine_runs::Cause;
use crate::db::plans::{self, JoggingGate};
use crate::db::{audit, clients};
use crate::domain::client::DeliveryType;
use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::domain::program::RECOVERY_FLOOR_DAYS;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::usecases;

/// Her scar clearance changed: the engine reruns (a clearance names no other record).
const SCAR_CLEARANCE: Cause = Cause {
    kind: RunCauseKind::ScarClearance,
    id: None,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(record_scar_clearance)
        .service(withdraw_scar_clearance)
        .service(set_jogging_gate)
        .service(remove_jogging_gate);
}

/// Her caesarean scar, reviewed and cleared by a clinician.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"cleared_on": "2026-11-20", "clinician": "Dr Aisha Bello, GP"}))]
pub struct ScarClearanceInput {
    /// The day of the review (default: today in her time zone); not before the birth, not in
    /// the future.
    pub cleared_on: Option<NaiveDate>,
    /// The clinician who reviewed it, 1–200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub clinician: String,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    Ok(value.to_string())
}

/// Record her caesarean scar as cleared.
///
/// After a caesarean birth, lunges and jogging (by default) wait for it. Only for a client whose
/// birth was a caesarean (409 otherwise). Audited; the engine reruns on her plan.
#[utoipa::path(tag = "clients", operation_id = "recordScarClearance", security(("bearer" = [])),
    params(("client_id" = Uuid, Path, description = "The client's id")),
    request_body = ScarClearanceInput,
    responses((status = 200, description = "Recorded", body = ClientView),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[put("/v1/clients/{client_id}/caesarean-scar-clearance")]
pub async fn record_scar_clearance(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<ScarClearanceInput>,
) -> ApiResult<web::Json<ClientView>> {
    let clinician =
        text("clinician", &body.clinician, 200).map_err(|e| ApiError::Validation(vec![e]))?;
    let mut conn = db.get().await?;
    let client = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let client = clients::find_accessible(conn, &principal, id, true).await?;
            if client.delivery_type != DeliveryType::Caesarean {
                return Err(ApiError::Conflict(
                    "Her birth was not a caesarean: there is no scar to clear.".into(),
                ));
            }
            let today = client.today();
            let on = body.cleared_on.unwrap_or(today);
            if on > today || on < client.delivery_date {
                return Err(ApiError::invalid(
                    "cleared_on",
                    "must be between the delivery date and today",
                ));
            }
            let client = clients::set_scar_clearance(
                conn,
                client.id,
                Some((on, &clinician, principal.user_id)),
            )
            .await?;
            let event = audit::Entry::new(
                principal.actor(),
                "client.scar_clearance.record",
                "client",
                client.id,
                // The clinician's name stays on her record, not in the trail.
                serde_json::json!({"cleared_on": on, "clinician": null}),
            );
            usecases::changed(conn, &client, event, Some(SCAR_CLEARANCE)).await?;
            Ok(client)
        })
        .await?;
    Ok(web::Json(client.into()))
}

/// Withdraw her caesarean scar clearance (recorded in error, say). Audited; the engine reruns.
#[utoipa::path(tag = "clients", operation_id = "withdrawScarClearance", security(("bearer" = [])),
    params(("client_id" = Uuid, Path, description = "The client's id")),
    responses((status = 200, description = "Withdrawn", body = ClientView), NotFound, ReadErrors))]
#[delete("/v1/clients/{client_id}/caesarean-scar-clearance")]
pub async fn withdraw_scar_clearance(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<web::Json<ClientView>> {
    let mut conn = db.get().await?;
    let client = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let client = clients::find_accessible(conn, &principal, id, true).await?;
            if client.caesarean_scar_cleared_on.is_none() {
                return Ok(client);
            }
            let client = clients::set_scar_clearance(conn, client.id, None).await?;
            let event = audit::Entry::new(
                principal.actor(),
                "client.scar_clearance.withdraw",
                "client",
                client.id,
                serde_json::json!({}),
            );
            usecases::changed(conn, &client, event, Some(SCAR_CLEARANCE)).await?;
            Ok(client)
        })
        .await?;
    Ok(web::Json(client.into()))
}

/// An individual jogging gate date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"on": "2026-12-10", "reason": "Strong pelvic floor on assessment; keen runner before pregnancy.",
    "agreed_by": "Sam Reid, pelvic-health physiotherapist"}))]
pub struct JoggingGateInput {
    /// The first day she may start jogging: not before day 21 postpartum, at most two years
    /// after the birth.
    pub on: NaiveDate,
    /// Why, 1–2000 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
    /// The clinician who agreed, 1–200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub agreed_by: String,
    /// A pelvic-health assessment of hers that cleared impact (`POST …/assessments`): required
    /// when `on` is before day 84 postpartum (SPEC §1.8).
    pub assessment_id: Option<Uuid>,
}

/// An individual jogging date before day 84 cites a pelvic-health assessment of hers that
/// cleared impact; a later one may cite one.
async fn check_cited_assessment(
    conn: &mut diesel_async::AsyncPgConnection,
    client: &crate::db::clients::Client,
    on: NaiveDate,
    assessment_id: Option<Uuid>,
) -> ApiResult<()> {
    let early = on < client.delivery_date + Duration::days(84);
    let cited = match assessment_id {
        Some(id) => crate::db::assessments::find(conn, client.id, id).await?,
        None => None,
    };
    let clears = cited
        .as_ref()
        .is_some_and(|a| crate::domain::assessment::clears_impact(a.kind, a.impact_cleared));
    if (early || assessment_id.is_some()) && !clears {
        return Err(ApiError::invalid(
            "assessment_id",
            "a jogging date before day 84 must cite a pelvic-health assessment of hers that cleared impact",
        ));
    }
    Ok(())
}

/// Set her own jogging gate date.
///
/// Earlier or later than the program's (day 84 by default), with a reason and the clinician who
/// agreed; a date before day 84 cites a pelvic-health assessment that cleared impact
/// (`assessment_id`, else 422). The three-week floor (day 21), her clearance for exercise, a caesarean scar
/// clearance and open red flags still hold. Shown in her plan (`jogging_gate`); audited; the
/// engine reruns.
#[utoipa::path(tag = "plans", operation_id = "setJoggingGate", security(("bearer" = [])),
    params(("client_id" = Uuid, Path, description = "The client's id")),
    request_body = JoggingGateInput,
    responses((status = 200, description = "Set", body = PlanView,
            headers(("ETag" = String, description = "The plan's revision, for If-Match"))),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[put("/v1/clients/{client_id}/plan/jogging-gate")]
pub async fn set_jogging_gate(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<JoggingGateInput>,
) -> ApiResult<HttpResponse> {
    let mut errors = Vec::new();
    let reason = text("reason", &body.reason, 2000)
        .map_err(|e| errors.push(e))
        .ok();
    let agreed_by = text("agreed_by", &body.agreed_by, 200)
        .map_err(|e| errors.push(e))
        .ok();
    let mut conn = db.get().await?;
    let plan = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let client = clients::find_accessible(conn, &principal, id, true).await?;
            let floor = client.delivery_date + Duration::days(RECOVERY_FLOOR_DAYS.into());
            if body.on < floor || body.on > client.delivery_date + Duration::days(730) {
                errors.push(FieldError::new("on", format!(
                    "must be between {floor} (day {RECOVERY_FLOOR_DAYS} postpartum, the three-week floor) and two years after the birth")));
            }
            let (Some(reason), Some(agreed_by), true) = (reason, agreed_by, errors.is_empty()) else {
                return Err(ApiError::Validation(errors));
            };
            check_cited_assessment(conn, &client, body.on, body.assessment_id).await?;
            let plan = live_plan(conn, client.id).await?;
            let from = plan.jogging_gate_on;
            let plan = plans::set_jogging_gate(conn, plan.id, Some(JoggingGate {
                on: body.on, reason: &reason, agreed_by: &agreed_by, set_by: principal.user_id,
                assessment_id: body.assessment_id,
            })).await?;
            let event = audit::Entry::new(principal.actor(), "plan.jogging_gate.set", "plan", plan.id,
                // The reason stays on the plan; the trail says one was given.
                serde_json::json!({"client_id": client.id, "from": from, "to": body.on, "reason": null, "agreed_by": agreed_by}));
            usecases::changed(conn, &client, event, Some(Cause::new(RunCauseKind::JoggingGate, plan.id))).await?;
            Ok(plans::current_for_client(conn, client.id, false).await?.unwrap_or(plan))
        })
        .await?;
    let revision = plan.revision;
    Ok(plan_response(
        actix_web::http::StatusCode::OK,
        PlanView::without_prescription(plan),
        revision,
    ))
}

/// Remove her own jogging gate date: the program's gate holds again. Audited; the engine reruns.
#[utoipa::path(tag = "plans", operation_id = "removeJoggingGate", security(("bearer" = [])),
    params(("client_id" = Uuid, Path, description = "The client's id")),
    responses((status = 200, description = "Removed", body = PlanView,
            headers(("ETag" = String, description = "The plan's revision, for If-Match"))),
        NotFound, ReadErrors))]
#[delete("/v1/clients/{client_id}/plan/jogging-gate")]
pub async fn remove_jogging_gate(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
) -> ApiResult<HttpResponse> {
    let mut conn = db.get().await?;
    let plan = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let client = clients::find_accessible(conn, &principal, id, true).await?;
            let plan = live_plan(conn, client.id).await?;
            let Some(from) = plan.jogging_gate_on else {
                return Ok(plan);
            };
            let plan = plans::set_jogging_gate(conn, plan.id, None).await?;
            let event = audit::Entry::new(
                principal.actor(),
                "plan.jogging_gate.remove",
                "plan",
                plan.id,
                serde_json::json!({"client_id": client.id, "from": from}),
            );
            usecases::changed(
                conn,
                &client,
                event,
                Some(Cause::new(RunCauseKind::JoggingGate, plan.id)),
            )
            .await?;
            Ok(plans::current_for_client(conn, client.id, false)
                .await?
                .unwrap_or(plan))
        })
        .await?;
    let revision = plan.revision;
    Ok(plan_response(
        actix_web::http::StatusCode::OK,
        PlanView::without_prescription(plan),
        revision,
    ))
}

/// Her live (active or paused) plan; 404 without one.
async fn live_plan(
    conn: &mut diesel_async::AsyncPgConnection,
    client_id: ClientId,
) -> Result<plans::Plan, ApiError> {
    plans::current_for_client(conn, client_id, true)
        .await?
        .filter(|p| p.is_live())
        .ok_or(ApiError::NotFound)
}
