//! The engine at work: after every new session, symptom report or readiness result, in the
//! same transaction, load what the engine needs, ask it (`domain::engine`: the rules, the
//! weekly windows, what applies itself), store its recommendation on the plan and apply what
//! applies itself.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Date, Json};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncConnectionCore, AsyncPgConnection};
use serde::Deserialize;

use super::audit::{self, Actor};
use super::clients::Client;
use super::engine_runs::{self, Cause, NewRun};
use super::plans::{self, NewTransition, Plan};
use super::reports::{self, SymptomReport};
use super::webhooks::Event;
use super::{programs, CachedExt};
use crate::domain::engine::{
    self, EngineInput, ReadinessFact, Recommendation, ReportFact, SessionFact, TestSide,
};
use crate::domain::ids::{ClientId, OrganizationId};
use crate::domain::plan::{PlanState, TransitionAction};
use crate::domain::program::{ReadinessTestKey, Stage, StageKey};
use crate::domain::recovery::CheckInFact;
use crate::domain::rules::Rule;
use crate::domain::step::StepWindow;
use crate::domain::trace::{self, RuleCheck};
use crate::domain::triage::{
    self, advisories, EarlierReport, FlagLevel, Symptoms, Timing, TriageLevel,
};
use crate::domain::webhook::EventType;
use uuid::Uuid;

mod report;

pub use report::*;

type SqlUuid = diesel::sql_types::Uuid;

use crate::domain::program::running_minutes;

/// What the engine weighs for a client's live plan, read in one statement (see [`context`]).
pub struct EngineContext {
    plan: Plan,
    auto_progress: bool,
    stages: Arc<Vec<Stage>>,
    /// Her latest reports at the step (ever), by the day they are about, newest first, whether
    /// each had pelvic symptoms and its highest pain at a bone-stress site: triage's memory.
    earlier_pelvic: Vec<(NaiveDate, bool, i16)>,
    sessions: Vec<SessionFact>,
    /// Reports since the step began or a coach last resolved a flag (not a mood flag), in the
    /// order of the days they are about (then of arrival): a report queued offline and sent
    /// late weighs as if it had come on its day.
    reports: Vec<ReportFact>,
    readiness: Vec<ReadinessFact>,
    open_flags: Vec<TriageLevel>,
    /// (day, level) of her completed jogs, and (day, max pain) of her reports, from `since`.
    runs: Vec<(NaiveDate, Option<i32>)>,
    pains: Vec<(NaiveDate, i16)>,
    /// Her check-ins from `since`, oldest first (R11).
    check_ins: Vec<CheckInFact>,
}

#[derive(QueryableByName)]
struct ContextRow {
    #[diesel(embed)]
    plan: Plan,
    #[diesel(sql_type = Bool)]
    auto_progress: bool,
    #[diesel(sql_type = Json)]
    inputs: serde_json::Value,
}

/// A report as the context reads it: id, day, timing, triage level, highest pain, pelvic
/// symptom, when it was written, and the session it names.
type ReportInput = (
    Uuid,
    NaiveDate,
    Timing,
    TriageLevel,
    i16,
    bool,
    DateTime<Utc>,
    Option<Uuid>,
);

/// The inputs as the statement returns them, typed: a value the code does not know (a timing,
/// a level, a test) fails the read instead of turning into some other value.
#[derive(Deserialize)]
struct Inputs {
    earlier_pelvic: Vec<(NaiveDate, bool, i16)>,
    /// Her sessions of this plan at its stage and level, with when each was logged.
    sessions: Vec<(Uuid, NaiveDate, bool, DateTime<Utc>)>,
    /// Her reports of this plan at its stage and level, with when each was written.
    reports: Vec<ReportInput>,
    /// Her results of this plan: test, side, passed, confirmed by staff, when recorded.
    readiness: Vec<(ReadinessTestKey, TestSide, bool, bool, DateTime<Utc>)>,
    /// The last red_pelvic referral, or move out of jogging: results before it stop counting.
    readiness_reset: Option<DateTime<Utc>>,
    open_flags: Vec<FlagLevel>,
    /// When a flag of each level was last resolved.
    resolved: Vec<(FlagLevel, DateTime<Utc>)>,
    runs: Vec<(NaiveDate, Option<i32>)>,
    pains: Vec<(NaiveDate, i16)>,
    check_ins: Vec<(Uuid, NaiveDate, f32, i16)>,
}

/// The statement behind [`context`]: $1 her id, $2 her organization's, $3 the first day of the
/// engine's windows.
const CONTEXT: &str = "SELECT p.*, o.auto_progress, json_build_object(
           'earlier_pelvic', (
               SELECT COALESCE(json_agg(json_build_array(e.reported_on, e.pelvic_symptom, e.bone_pain)
                                        ORDER BY e.reported_on DESC, e.created_at DESC, e.id DESC), '[]')
                 FROM (SELECT r.reported_on, r.pelvic_symptom, r.created_at, r.id,
                              (SELECT COALESCE(max((x->>'nrs')::int), 0)
                                 FROM jsonb_array_elements(CASE jsonb_typeof(r.symptoms->'pain')
                                                           WHEN 'array' THEN r.symptoms->'pain' ELSE '[]' END) x
                                WHERE x->>'location' IN ('pubic', 'hip', 'shin_foot')) AS bone_pain
                         FROM symptom_reports r
                        WHERE r.plan_id = p.id AND r.stage = p.stage
                          AND COALESCE(r.level, 0) = COALESCE(p.level, 0)
                        ORDER BY r.reported_on DESC, r.created_at DESC, r.id DESC LIMIT 30) e),
           'sessions', (
               SELECT COALESCE(json_agg(json_build_array(s.id, s.performed_on, s.completed, s.created_at)
                                        ORDER BY s.performed_on, s.created_at, s.id), '[]')
                 FROM session_logs s
                WHERE s.plan_id = p.id
                  AND s.stage = p.stage AND s.level IS NOT DISTINCT FROM p.level),
           'reports', (
               SELECT COALESCE(json_agg(json_build_array(r.id, r.reported_on, r.timing, r.triage_level,
                                                         r.max_pain, r.pelvic_symptom, r.created_at,
                                                         r.session_id)
                                         ORDER BY r.reported_on, r.created_at, r.id), '[]')
                 FROM symptom_reports r
                WHERE r.plan_id = p.id
                  AND r.stage = p.stage AND COALESCE(r.level, 0) = COALESCE(p.level, 0)),
           'readiness', (
               SELECT COALESCE(json_agg(json_build_array(t.test, t.side, t.passed,
                                                         t.confirmed_at IS NOT NULL, t.created_at)
                                        ORDER BY t.id), '[]')
                 FROM readiness_results t WHERE t.plan_id = p.id),
           'readiness_reset', GREATEST(
               (SELECT max(f.opened_at) FROM flags f
                 WHERE f.client_id = p.client_id AND f.level = 'red_pelvic'),
               (SELECT max(x.created_at) FROM plan_transitions x
                 WHERE x.plan_id = p.id AND x.from_stage = 'jogging' AND x.to_stage <> 'jogging')),
           'open_flags', ARRAY(
               SELECT f.level FROM flags f WHERE f.client_id = p.client_id AND f.status = 'open'),
           'resolved', (
               SELECT COALESCE(json_agg(json_build_array(g.level, g.at)), '[]')
                 FROM (SELECT f.level, max(f.resolved_at) AS at FROM flags f
                        WHERE f.client_id = p.client_id AND f.resolved_at IS NOT NULL
                        GROUP BY f.level) g),
           'runs', (
               SELECT COALESCE(json_agg(json_build_array(s.performed_on, s.level)), '[]')
                 FROM session_logs s
                WHERE s.client_id = p.client_id AND s.performed_on >= $3
                  AND s.stage = 'jogging' AND s.completed),
           'pains', (
               SELECT COALESCE(json_agg(json_build_array(r.reported_on, r.max_pain)), '[]')
                 FROM symptom_reports r WHERE r.client_id = p.client_id AND r.reported_on >= $3),
           'check_ins', (
               SELECT COALESCE(json_agg(json_build_array(c.id, c.checked_on, c.sleep_hours, c.fatigue)
                                        ORDER BY c.checked_on, c.created_at, c.id), '[]')
                 FROM check_ins c WHERE c.client_id = p.client_id AND c.checked_on >= $3)
         ) AS inputs
           FROM plans p JOIN organizations o ON o.id = p.organization_id
          WHERE p.client_id = $1 AND p.organization_id = $2 AND p.status IN ('active', 'paused')";

/// The client's live plan and everything the engine and triage read about it, in one
/// statement: her sessions, reports and readiness results at the step (which of her rows at the
/// plan's stage and level count is `domain::step::StepWindow`'s to say), her open flags, and her
/// jogs, pain and check-ins since `since` (two weeks before her today, or earlier: the engine
/// keeps what falls in its windows). `None` when she has no live plan. Call it with her row locked
/// (every writer of her plan, reports and flags locks her first), so what it reads stays true
/// until the transaction ends.
pub async fn context<C: AsyncConnectionCore<Backend = Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Option<EngineContext>> {
    use diesel_async::RunQueryDsl;
    let row: Option<ContextRow> = diesel::sql_query(CONTEXT)
        .bind::<SqlUuid, _>(client_id)
        .bind::<SqlUuid, _>(organization_id)
        .bind::<Date, _>(since)
        .cached()
        .get_result(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let inputs: Inputs = serde_json::from_value(row.inputs)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let stages = programs::stages_of(conn, &row.plan).await?;
    Ok(Some(inputs.into_context(
        row.plan,
        row.auto_progress,
        stages,
    )))
}

/// Her readiness results that still count ([`StepWindow::counts_readiness`]), typed.
fn counted_readiness(
    results: Vec<(ReadinessTestKey, TestSide, bool, bool, DateTime<Utc>)>,
    step: &StepWindow,
) -> Vec<ReadinessFact> {
    results
        .into_iter()
        .filter(|&(.., recorded_at)| step.counts_readiness(recorded_at))
        .map(|(test, side, passed, confirmed, _)| ReadinessFact {
            test,
            side,
            passed,
            confirmed,
        })
        .collect()
}

impl Inputs {
    /// What the engine weighs, from what the statement read: the sessions and reports that
    /// count at the step (`StepWindow`), the flags that hold her plan, the facts typed.
    fn into_context(
        self,
        plan: Plan,
        auto_progress: bool,
        stages: Arc<Vec<Stage>>,
    ) -> EngineContext {
        let inputs = self;
        let step = StepWindow {
            started_at: plan.step_started_at,
            resolved: inputs.resolved,
            readiness_reset: inputs.readiness_reset,
        };
        // Sessions at the step are at the plan's stage and level.
        let minutes = if plan.stage == StageKey::Jogging {
            running_minutes(&stages, plan.level)
        } else {
            0.0
        };
        EngineContext {
            auto_progress,
            earlier_pelvic: inputs.earlier_pelvic,
            sessions: inputs
                .sessions
                .into_iter()
                .filter(|&(.., logged_at)| step.counts_session(logged_at))
                .map(|(id, performed_on, completed, _)| SessionFact {
                    id,
                    performed_on,
                    completed,
                    running_minutes: minutes,
                })
                .collect(),
            reports: inputs
                .reports
                .into_iter()
                .filter(|&(.., written_at, _)| step.counts_report(written_at))
                .map(
                    |(id, date, timing, level, max_pain, pelvic_symptom, _, session_id)| {
                        ReportFact {
                            id,
                            session_id,
                            date,
                            timing,
                            level,
                            max_pain: max_pain.clamp(0, 10) as u8,
                            pelvic_symptom,
                        }
                    },
                )
                .collect(),
            readiness: counted_readiness(inputs.readiness, &step),
            open_flags: inputs
                .open_flags
                .into_iter()
                .filter_map(FlagLevel::triage_level)
                .collect(),
            runs: inputs.runs,
            pains: inputs.pains,
            check_ins: inputs
                .check_ins
                .into_iter()
                .map(|(id, date, sleep_hours, fatigue)| CheckInFact {
                    id,
                    date,
                    sleep_hours,
                    fatigue: fatigue.clamp(0, 10) as u8,
                    breastfeeding: None,
                    periods_returned: None,
                    running_worry: None,
                })
                .collect(),
            stages,
            plan,
        }
    }
}

impl EngineContext {
    /// Adds a report being recorded (and the flag it raises) to what the engine weighs.
    fn with_report(&mut self, report: &SymptomReport) {
        let fact = ReportFact {
            id: report.id.into(),
            session_id: report.session_id,
            date: report.reported_on,
            timing: report.timing,
            level: report.triage_level,
            max_pain: report.max_pain.clamp(0, 10) as u8,
            pelvic_symptom: report.pelvic_symptom,
        };
        // Received now: after the reports about the same day or earlier, whatever id the app
        // chose for it, and before those about later days (it was queued offline).
        let at = self.reports.partition_point(|r| r.date <= fact.date);
        self.reports.insert(at, fact);
        self.pains.push((report.reported_on, report.max_pain));
        if fact.level != TriageLevel::Green && !self.open_flags.contains(&fact.level) {
            self.open_flags.push(fact.level);
        }
    }

    /// The engine's recommendation, and the change it makes itself: red decisions always (the
    /// plan pauses, or goes back a stage), green and amber ones where the organization lets the
    /// engine move plans.
    fn evaluate(&self, client: &Client, today: NaiveDate) -> Evaluation {
        let (plan, stages) = (&self.plan, &self.stages[..]);
        let state = plan.state();
        let weeks = engine::weeks(
            today,
            self.runs
                .iter()
                .map(|&(day, level)| (day, running_minutes(stages, level))),
            self.pains.iter().copied(),
        );
        let input = EngineInput {
            today,
            client: client.facts(Some(plan), today),
            plan: state,
            stages,
            sessions: &self.sessions,
            reports: &self.reports,
            readiness: &self.readiness,
            open_flags: &self.open_flags,
            running_minutes_this_week: weeks.running_this,
            running_minutes_last_week: weeks.running_last,
            max_pain_this_week: weeks.pain_this,
            max_pain_last_week: weeks.pain_last,
            check_ins: &self.check_ins,
        };
        let recommendation = engine::recommend(&input);
        let rules = trace::explain(&input, &recommendation);
        let applied = engine::applies_itself(&recommendation, state, stages, self.auto_progress);
        Evaluation {
            recommendation,
            rules,
            applied,
            today,
        }
    }
}

/// The engine's answer on a plan: its recommendation, the trace behind it, and the move it
/// makes itself.
struct Evaluation {
    recommendation: Recommendation,
    rules: Vec<RuleCheck>,
    applied: Option<(TransitionAction, PlanState)>,
    today: NaiveDate,
}

impl Evaluation {
    /// The run as stored, with what caused it.
    fn run(&self, plan: &Plan, cause: Cause) -> NewRun {
        NewRun {
            id: Uuid::now_v7(),
            organization_id: plan.organization_id,
            client_id: plan.client_id,
            plan_id: plan.id,
            evaluated_on: self.today,
            cause: cause.kind,
            cause_id: cause.id,
            recommendation: json(&self.recommendation),
            rules: json(&self.rules),
        }
    }
}

/// Applies what the engine applies itself ([`engine::applies_itself`]): the transition, its
/// audit event and the plan's new state. Returns the plan as it now is.
async fn apply(
    conn: &mut AsyncPgConnection,
    plan: Plan,
    recommendation: &Recommendation,
    applied: Option<(TransitionAction, PlanState)>,
) -> QueryResult<Plan> {
    let Some((action, to)) = applied else {
        return Ok(plan);
    };
    let rule_ids: Vec<Rule> = recommendation
        .reasons
        .iter()
        .filter_map(|r| Rule::parse(&r.rule))
        .filter(|r| r.is_numbered())
        .collect();
    let reason = recommendation
        .reasons
        .first()
        .map(|r| r.message.clone())
        .unwrap_or_default();
    plans::record_transition(
        conn,
        NewTransition {
            plan: &plan,
            action,
            to,
            actor: Actor::Engine,
            reason: &reason,
            rule_ids: &rule_ids,
            override_gate: false,
        },
    )
    .await?;
    audit::record(conn, plan.organization_id, Actor::Engine, "plan.transition", "plan", plan.id, serde_json::json!({
        "action": action.as_str(),
        "from": {"stage": plan.stage, "level": plan.level, "status": plan.status},
        "to": {"stage": to.step.stage.as_str(), "level": to.step.level, "status": to.status.as_str()},
        "rule_ids": rule_ids,
    }))
    .await?;
    plans::save_state(conn, &plan, to).await
}

/// The audit event of a recommendation stored on a plan.
fn recommend_event(plan: &Plan, recommendation: &Recommendation) -> audit::Entry<'static> {
    audit::Entry::new(
        Actor::Engine,
        "plan.recommend",
        "plan",
        plan.id,
        serde_json::json!({"decision": recommendation.decision.as_str(), "target_stage": recommendation.target_stage.as_str(), "target_level": recommendation.target_level}),
    )
}

/// Runs the engine on the client's live plan (if she has one), applies what applies itself,
/// and stores its recommendation on the plan and the run with its trace. Call it with her row
/// locked.
pub async fn run_engine(
    conn: &mut AsyncPgConnection,
    client: &Client,
    today: NaiveDate,
    cause: Cause,
) -> QueryResult<Option<Recommendation>> {
    let since = engine::fortnight_start(today);
    let Some(context) = context(conn, client.organization_id, client.id, since).await? else {
        return Ok(None);
    };
    let evaluation = context.evaluate(client, today);
    engine_runs::record(conn, &evaluation.run(&context.plan, cause)).await?;
    let Evaluation {
        recommendation,
        applied,
        ..
    } = evaluation;
    let plan = apply(conn, context.plan, &recommendation, applied).await?;
    plans::set_recommendation(conn, plan.id, &json(&recommendation)).await?;
    recommend_event(&plan, &recommendation)
        .record(conn, plan.organization_id)
        .await?;
    Ok(Some(recommendation))
}

/// The domain's plain values as JSON (they always serialize).
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("domain values serialize")
}
