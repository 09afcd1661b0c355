//! Plans and their transition history.

use super::CachedExt;
use crate::domain::webhook::{events, EventType};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::audit::Actor;
use super::clients::Client;
use super::schema::{clients, plan_transitions, plans};
use crate::domain::identity::ActorType;
use crate::domain::ids::{ClientId, OrganizationId, PlanId, UserId};
use crate::domain::plan::{PlanState, PlanStatus, Step, TransitionAction};
use crate::domain::program::StageKey;
use crate::domain::rules::Rule;
use crate::domain::triage::FlagLevel;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = plans)]
pub struct Plan {
    pub id: PlanId,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub program_id: Uuid,
    pub program_version: i32,
    pub stage: StageKey,
    pub level: Option<i32>,
    pub status: PlanStatus,
    pub started_on: NaiveDate,
    pub step_started_at: DateTime<Utc>,
    pub recommendation: Option<serde_json::Value>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Her individual jogging gate, when a coach set one: the day, why, the clinician who
    /// agreed, who set it and when.
    pub jogging_gate_on: Option<NaiveDate>,
    pub jogging_gate_reason: Option<String>,
    pub jogging_gate_agreed_by: Option<String>,
    pub jogging_gate_set_by: Option<UserId>,
    pub jogging_gate_set_at: Option<DateTime<Utc>>,
    /// The pelvic-health assessment an individual jogging date before day 84 cites.
    pub jogging_gate_assessment_id: Option<Uuid>,
}

impl Plan {
    pub fn state(&self) -> PlanState {
        PlanState {
            step: Step {
                stage: self.stage,
                level: self.level.map(|l| l as u32),
            },
            status: self.status,
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.state().status, PlanStatus::Active | PlanStatus::Paused)
    }
}

pub fn is_second_live_plan(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("plans_one_live_per_client")
    )
}

pub struct NewPlan {
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub program_id: Uuid,
    pub program_version: i32,
    pub step: Step,
    pub started_on: NaiveDate,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewPlan) -> QueryResult<Plan> {
    diesel::insert_into(plans::table)
        .values((
            plans::id.eq(Uuid::now_v7()),
            plans::organization_id.eq(new.organization_id),
            plans::client_id.eq(new.client_id),
            plans::program_id.eq(new.program_id),
            plans::program_version.eq(new.program_version),
            plans::stage.eq(new.step.stage.as_str()),
            plans::level.eq(new.step.level.map(|l| l as i32)),
            plans::status.eq(PlanStatus::Active.as_str()),
            plans::started_on.eq(new.started_on),
        ))
        .returning(Plan::as_returning())
        .cached()
        .get_result(conn)
        .await
}

/// Whether a plan is live (active or paused), as an expression for ordering. Written with
/// bound parameters, not an SQL literal: diesel caches only statements it can name, so a literal
/// would make PostgreSQL parse and plan the query again on every call.
fn live(
    status: plans::status,
) -> diesel::dsl::Or<
    diesel::dsl::Eq<plans::status, &'static str>,
    diesel::dsl::Eq<plans::status, &'static str>,
> {
    status.eq("active").or(status.eq("paused"))
}

/// The client's current plan: the live one, else the most recent. `lock` for a write.
pub async fn current_for_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    lock: bool,
) -> QueryResult<Option<Plan>> {
    let query = plans::table
        .filter(plans::client_id.eq(client_id))
        .order((live(plans::status).desc(), plans::id.desc()))
        .select(Plan::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// What reading a plan and its prescription needs, in one round trip: a client the principal
/// may reach, her current plan (live first, then the latest), and the days since `since` on
/// which she completed a jog (the prescription's rest-day and weekly rules count them).
pub async fn with_client(
    conn: &mut AsyncPgConnection,
    principal: &crate::domain::identity::Principal,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<(Client, Option<Plan>, Recent)> {
    use diesel::sql_types::{Array, Date, Nullable, Text};
    let run_days = diesel::dsl::sql::<Array<Date>>(
        "ARRAY(SELECT s.performed_on FROM session_logs s
                WHERE s.client_id = clients.id AND s.stage = 'jogging' AND s.completed
                  AND s.performed_on >= ",
    )
    .bind::<Date, _>(since)
    .sql(" ORDER BY s.id)");
    let run_levels = diesel::dsl::sql::<Array<Nullable<diesel::sql_types::Int4>>>(
        "ARRAY(SELECT s.level FROM session_logs s
                WHERE s.client_id = clients.id AND s.stage = 'jogging' AND s.completed
                  AND s.performed_on >= ",
    )
    .bind::<Date, _>(since)
    .sql(" ORDER BY s.id)");
    let open_flags = diesel::dsl::sql::<Array<Text>>(
        "ARRAY(SELECT f.level FROM flags f WHERE f.client_id = clients.id AND f.status = 'open')",
    );
    let (client, plan, days, levels, open) = clients::table
        .left_join(plans::table)
        .filter(clients::id.eq(client_id))
        .filter(clients::organization_id.eq(principal.organization_id))
        .order((live(plans::status).desc(), plans::id.desc()))
        .select((
            Client::as_select(),
            Option::<Plan>::as_select(),
            run_days,
            run_levels,
            open_flags,
        ))
        .limit(1)
        .cached()
        .get_result::<(
            Client,
            Option<Plan>,
            Vec<NaiveDate>,
            Vec<Option<i32>>,
            Vec<FlagLevel>,
        )>(conn)
        .await?;
    let recent = Recent {
        runs: days.into_iter().zip(levels).collect(),
        open_levels: open
            .into_iter()
            .filter_map(FlagLevel::triage_level)
            .collect(),
    };
    Ok((super::clients::accessible(principal, client)?, plan, recent))
}

/// What today's prescription weighs besides her plan: her completed jogs (day, level) from the
/// day asked for, and the triage levels of her open flags (a mood flag holds nothing).
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub runs: Vec<(NaiveDate, Option<i32>)>,
    pub open_levels: Vec<crate::domain::triage::TriageLevel>,
}

/// [`Recent`] for her, from `since`.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Recent> {
    Ok(Recent {
        runs: super::workouts::runs_since(conn, client_id, since).await?,
        open_levels: super::reports::open_levels(conn, client_id).await?,
    })
}

pub async fn all_for_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Vec<Plan>> {
    plans::table
        .filter(plans::client_id.eq(client_id))
        .order(plans::id.asc())
        .select(Plan::as_select())
        .load(conn)
        .await
}

/// Moves the plan to `state` (resetting the step clock when the step changes) and bumps the
/// revision.
pub async fn save_state(
    conn: &mut AsyncPgConnection,
    plan: &Plan,
    state: PlanState,
) -> QueryResult<Plan> {
    let step_changed = state.step != plan.state().step;
    diesel::update(plans::table.find(plan.id))
        .set((
            plans::stage.eq(state.step.stage.as_str()),
            plans::level.eq(state.step.level.map(|l| l as i32)),
            plans::status.eq(state.status.as_str()),
            plans::step_started_at.eq(if step_changed {
                Utc::now()
            } else {
                plan.step_started_at
            }),
            plans::revision.eq(plans::revision + 1),
            plans::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Plan::as_returning())
        .cached()
        .get_result(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plan_transitions)]
pub struct Transition {
    pub id: Uuid,
    pub plan_id: PlanId,
    pub client_id: ClientId,
    pub action: TransitionAction,
    pub from_stage: StageKey,
    pub from_level: Option<i32>,
    pub from_status: PlanStatus,
    pub to_stage: StageKey,
    pub to_level: Option<i32>,
    pub to_status: PlanStatus,
    pub actor_type: ActorType,
    pub actor_id: Option<Uuid>,
    pub reason: String,
    pub rule_ids: Vec<Rule>,
    pub override_gate: bool,
    pub created_at: DateTime<Utc>,
}

pub struct NewTransition<'a> {
    pub plan: &'a Plan,
    pub action: TransitionAction,
    pub to: PlanState,
    pub actor: Actor,
    pub reason: &'a str,
    pub rule_ids: &'a [Rule],
    pub override_gate: bool,
}

pub async fn record_transition(
    conn: &mut AsyncPgConnection,
    t: NewTransition<'_>,
) -> QueryResult<Transition> {
    let from = t.plan.state();
    // A plan is moved by a person, a script or the engine; the service's own acts count as the
    // engine's.
    let actor = match t.actor {
        Actor::System => Actor::Engine,
        other => other,
    };
    let (actor_type, actor_id) = actor.parts();
    let transition = diesel::insert_into(plan_transitions::table)
        .values((
            plan_transitions::id.eq(Uuid::now_v7()),
            plan_transitions::organization_id.eq(t.plan.organization_id),
            plan_transitions::plan_id.eq(t.plan.id),
            plan_transitions::client_id.eq(t.plan.client_id),
            plan_transitions::action.eq(t.action.as_str()),
            plan_transitions::from_stage.eq(from.step.stage.as_str()),
            plan_transitions::from_level.eq(from.step.level.map(|l| l as i32)),
            plan_transitions::from_status.eq(from.status.as_str()),
            plan_transitions::to_stage.eq(t.to.step.stage.as_str()),
            plan_transitions::to_level.eq(t.to.step.level.map(|l| l as i32)),
            plan_transitions::to_status.eq(t.to.status.as_str()),
            plan_transitions::actor_type.eq(actor_type),
            plan_transitions::actor_id.eq(actor_id),
            plan_transitions::reason.eq(t.reason),
            plan_transitions::rule_ids.eq(t
                .rule_ids
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()),
            plan_transitions::override_gate.eq(t.override_gate),
        ))
        .returning(Transition::as_returning())
        .cached()
        .get_result(conn)
        .await?;
    super::webhooks::enqueue(
        conn,
        t.plan.organization_id,
        EventType::PlanTransitioned.as_str(),
        Some(transition.client_id),
        events::data(&events::WebhookPlanTransitioned {
            transition_id: transition.id,
            plan_id: transition.plan_id.0,
            client_id: transition.client_id.0,
            action: transition.action,
            from: events::WebhookPlanPosition {
                stage: transition.from_stage,
                level: transition.from_level,
                status: transition.from_status,
            },
            to: events::WebhookPlanPosition {
                stage: transition.to_stage,
                level: transition.to_level,
                status: transition.to_status,
            },
            actor: events::WebhookActor {
                actor_type: transition.actor_type,
                id: transition.actor_id,
            },
            created_at: transition.created_at,
        }),
    )
    .await?;
    Ok(transition)
}

/// A page of a client's transitions, newest first.
pub async fn transitions_for_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Transition>> {
    let mut query = plan_transitions::table
        .filter(plan_transitions::client_id.eq(client_id))
        .order(plan_transitions::id.desc())
        .select(Transition::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(plan_transitions::id.lt(before));
    }
    query.load(conn).await
}

/// The latest transition of a plan into its current status (why it is paused, say).
pub async fn last_status_change(
    conn: &mut AsyncPgConnection,
    plan_id: PlanId,
) -> QueryResult<Option<Transition>> {
    plan_transitions::table
        .filter(plan_transitions::plan_id.eq(plan_id))
        .filter(plan_transitions::from_status.ne(plan_transitions::to_status))
        .order(plan_transitions::id.desc())
        .select(Transition::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores the engine's latest output on the plan (a new revision: the plan reads differently).
/// Forgets the plan's recommendation: it was about a step she is no longer on (a coach moved
/// her). The plan as it now is.
pub async fn clear_recommendation(conn: &mut AsyncPgConnection, id: PlanId) -> QueryResult<Plan> {
    diesel::update(plans::table.find(id))
        .set(plans::recommendation.eq(None::<serde_json::Value>))
        .returning(Plan::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_recommendation(
    conn: &mut AsyncPgConnection,
    id: PlanId,
    recommendation: &serde_json::Value,
) -> QueryResult<Plan> {
    diesel::update(plans::table.find(id))
        .set((
            plans::recommendation.eq(recommendation),
            plans::revision.eq(plans::revision + 1),
            plans::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Plan::as_returning())
        .cached()
        .get_result(conn)
        .await
}

/// An individual jogging gate to set on a plan.
pub struct JoggingGate<'a> {
    pub on: NaiveDate,
    pub reason: &'a str,
    pub agreed_by: &'a str,
    pub set_by: UserId,
    pub assessment_id: Option<Uuid>,
}

/// Sets (or, with `None`, removes) the plan's individual jogging gate.
pub async fn set_jogging_gate(
    conn: &mut AsyncPgConnection,
    id: PlanId,
    gate: Option<JoggingGate<'_>>,
) -> QueryResult<Plan> {
    let at = gate.as_ref().map(|_| Utc::now());
    diesel::update(plans::table.find(id))
        .set((
            plans::jogging_gate_on.eq(gate.as_ref().map(|g| g.on)),
            plans::jogging_gate_reason.eq(gate.as_ref().map(|g| g.reason)),
            plans::jogging_gate_agreed_by.eq(gate.as_ref().map(|g| g.agreed_by)),
            plans::jogging_gate_set_by.eq(gate.as_ref().map(|g| g.set_by)),
            plans::jogging_gate_set_at.eq(at),
            plans::jogging_gate_assessment_id.eq(gate.as_ref().and_then(|g| g.assessment_id)),
            plans::revision.eq(plans::revision + 1),
            plans::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Plan::as_returning())
        .get_result(conn)
        .await
}
