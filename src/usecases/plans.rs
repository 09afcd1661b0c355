//! Her plan: a program assigned to her, read with today's prescription, and moved by a coach.

use chrono::{Duration, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::check_if_match;
use crate::db::clients::{self, Client};
use crate::db::plans::{self, NewPlan, NewTransition, Plan, Transition};
use crate::db::{audit, programs, reports};
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::domain::plan::{
    apply_transition, PlanState, PlanStatus, Step, TransitionError, TransitionRequest,
};
use crate::domain::prescription::{self, prescribe, safety_step, Prescription};
use crate::domain::program;
use crate::domain::rules::Rule;
use crate::error::{ApiError, ApiResult};

/// Assigns `program_id` (its current version) to her, from `started_on` (default: her today):
/// her plan starts at the program's first stage. Her new plan and today's session.
pub async fn assign(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    program_id: Uuid,
    started_on: Option<NaiveDate>,
) -> ApiResult<(Plan, Prescription)> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        let today = client.today();
        let program = programs::find(conn, principal.organization_id, program_id, None)
            .await
            .map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::invalid("program_id", "is not a program of this organization")
                }
                other => other.into(),
            })?;
        let first = program
            .stages
            .first()
            .ok_or_else(|| ApiError::invalid("program_id", "the program has no stages"))?;
        let started_on = started_on.unwrap_or(today);
        if started_on < client.delivery_date || started_on > today + Duration::days(365) {
            return Err(ApiError::invalid(
                "started_on",
                "must be after the delivery date and within a year",
            ));
        }
        let new = NewPlan {
            organization_id: principal.organization_id,
            client_id: client.id,
            program_id: program.program.id,
            program_version: program.version,
            step: Step::start_of(first),
            started_on,
        };
        let plan = plans::insert(conn, new).await.map_err(|e| {
            if plans::is_second_live_plan(&e) {
                ApiError::Conflict(
                    "She already has an active or paused plan; complete or discharge it first."
                        .into(),
                )
            } else {
                e.into()
            }
        })?;
        let details = serde_json::json!({"client_id": client.id, "program_id": plan.program_id,
            "program_version": plan.program_version, "stage": plan.stage});
        let event = audit::Entry::new(principal.actor(), "plan.assign", "plan", plan.id, details);
        super::changed(conn, &client, event, None).await?;
        let next = prescription(conn, &client, &plan, today, None).await?;
        Ok((plan, next))
    })
    .await
}

/// A coach's move of her plan, with the reason she and other coaches will read.
#[derive(Debug)]
pub struct Move<'a> {
    pub request: TransitionRequest,
    pub reason: &'a str,
    /// The plan's ETag the coach read, if she sent one.
    pub if_match: Option<&'a str>,
}

/// Applies a coach's move to her live plan: the revision must be the one read, and entry
/// gates hold unless overridden (recorded as R1). The transition, her plan after it, and
/// today's session.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    change: Move<'_>,
) -> ApiResult<(Transition, Plan, Prescription)> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        let plan = plans::current_for_client(conn, client.id, true)
            .await?
            .ok_or(ApiError::NotFound)?;
        check_if_match(change.if_match, plan.revision)?;
        let today = client.today();
        let target = target_of(conn, &client, &plan, &change.request, today).await?;
        let request = &change.request;
        let rule_ids = if request.override_gate {
            vec![Rule::R1]
        } else {
            vec![]
        };
        let new = NewTransition {
            plan: &plan,
            action: request.action,
            to: target,
            actor: principal.actor(),
            reason: change.reason,
            rule_ids: &rule_ids,
            override_gate: request.override_gate,
        };
        let transition = plans::record_transition(conn, new).await?;
        let mut updated = plans::save_state(conn, &plan, target).await?;
        // The engine's last recommendation was about the step she left: kept, today would
        // prescribe its target over the coach's choice.
        if target.step != plan.state().step {
            updated = plans::clear_recommendation(conn, updated.id).await?;
        }
        let details = serde_json::json!({
            "action": request.action.as_str(),
            "from": {"stage": plan.stage, "level": plan.level, "status": plan.status},
            "to": {"stage": updated.stage, "level": updated.level, "status": updated.status},
            // The reason (free text) stays on the transition; the trail names it.
            "reason": null,
            "override_gate": request.override_gate,
        });
        let event = audit::Entry::new(
            principal.actor(),
            "plan.transition",
            "plan",
            plan.id,
            details,
        );
        super::changed(conn, &client, event, None).await?;
        let next = prescription(conn, &client, &updated, today, None).await?;
        Ok((transition, updated, next))
    })
    .await
}

/// Where a coach's move takes her plan, as the domain rules it; a refused move is a 409 (or
/// a 422 naming the field).
async fn target_of(
    conn: &mut AsyncPgConnection,
    client: &Client,
    plan: &Plan,
    request: &TransitionRequest,
    today: NaiveDate,
) -> ApiResult<PlanState> {
    let stages = programs::stages_of(conn, plan).await?;
    let open_red_flag = reports::open_levels(conn, client.id)
        .await?
        .iter()
        .any(|l| l.is_red());
    let facts = client.facts(plan.jogging_gate_on, today);
    apply_transition(plan.state(), request, &stages, facts, open_red_flag).map_err(|e| match e {
        TransitionError::Conflict(message) => ApiError::Conflict(message),
        TransitionError::Gate { rule, message } => ApiError::Conflict(format!("{rule}: {message}")),
        TransitionError::Invalid { field, message } => ApiError::invalid(field, message),
    })
}

/// Her live plan and its prescription for `date` (default: her today), read in one round
/// trip.
pub async fn read(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    date: Option<NaiveDate>,
) -> ApiResult<(Plan, Prescription)> {
    // Her today, in her time zone, is within a day of today in UTC: read her jogs from two
    // weeks before the earliest it can be (R4 weighs this week against the last), and keep the
    // fortnight before the day once it is known.
    let since =
        date.unwrap_or_else(|| Utc::now().date_naive() - Duration::days(1)) - Duration::days(14);
    let (client, plan, mut recent) = plans::with_client(conn, principal, client_id, since).await?;
    let plan = plan.ok_or(ApiError::NotFound)?;
    let date = date.unwrap_or_else(|| client.today());
    recent
        .runs
        .retain(|(day, _)| *day >= date - Duration::days(14));
    let next = prescription(conn, &client, &plan, date, Some(recent)).await?;
    Ok((plan, next))
}

/// Today's prescription for her plan, on `date`. `recent` are her jogs from two weeks before
/// `date` on and her open flags, when the caller has read them already.
async fn prescription(
    conn: &mut AsyncPgConnection,
    client: &Client,
    plan: &Plan,
    date: NaiveDate,
    recent: Option<plans::Recent>,
) -> ApiResult<Prescription> {
    let stages = programs::stages_of(conn, plan).await?;
    let mut state = plan.state();
    // A safety recommendation nobody applied yet is what today prescribes.
    let recommendation: Option<Recommendation> = plan
        .recommendation
        .clone()
        .and_then(|r| serde_json::from_value(r).ok());
    let safety = safety_step(state, recommendation.as_ref());
    if let Some(step) = safety.filter(|s| program::stage(&stages, s.stage).is_some()) {
        state.step = step;
    }
    let stage = program::stage(&stages, state.step.stage).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "plan {} at a stage its program lacks",
            plan.id
        ))
    })?;
    let recent = match recent {
        Some(recent) => recent,
        None => plans::recent(conn, client.id, date - Duration::days(14)).await?,
    };
    let day = prescription::Recent {
        runs: recent
            .runs
            .iter()
            .map(|&(day, level)| (day, program::running_minutes(&stages, level)))
            .collect(),
        open_red_flag: recent.open_levels.into_iter().filter(|l| l.is_red()).max(),
    };
    let reason = if state.status == PlanStatus::Active {
        None
    } else {
        plans::last_status_change(conn, plan.id)
            .await?
            .map(|t| t.reason)
    };
    let mut today = prescribe(
        state,
        stage,
        client.facts(plan.jogging_gate_on, date),
        date,
        &day,
        reason.as_deref(),
    );
    if safety.is_some() && today.kind == prescription::DayKind::Session {
        today.message = format!(
            "Your last reports moved you back for now, and your coach has been told. {}",
            today.message
        );
    }
    Ok(today)
}

/// A coach's move, checked before any read: the reason is not blank and at most 2,000
/// characters, and a level is 1–100.
pub fn check_move(reason: &str, level: Option<u32>) -> ApiResult<()> {
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "reason",
            "must be between 1 and 2000 characters",
        ));
    }
    if level.is_some_and(|l| l == 0 || l > 100) {
        return Err(ApiError::invalid("level", "must be between 1 and 100"));
    }
    Ok(())
}
