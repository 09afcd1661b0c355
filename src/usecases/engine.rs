//! The engine at work: after every new session, symptom report or readiness result, in the
//! same transaction, what the engine weighs (read by `db::progress::context`), its answer
//! (`domain::engine`: the rules, the weekly windows, what applies itself), its recommendation
//! stored on the plan, and what applies itself applied.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::QueryResult;
use diesel_async::{AsyncConnectionCore, AsyncPgConnection};
use uuid::Uuid;

use crate::db::audit::{self, Actor};
use crate::db::clients::Client;
use crate::db::engine_runs::{self, Cause, NewRun};
use crate::db::plans::{self, NewTransition, Plan};
use crate::db::progress::{self, Loaded};
use crate::db::reports::SymptomReport;
use crate::domain::engine::{
    self, EngineInput, ReadinessFact, Recommendation, ReportFact, SessionFact, TestSide,
};
use crate::domain::ids::{ClientId, OrganizationId};
use crate::domain::plan::{PlanState, TransitionAction};
use crate::domain::program::{running_minutes, ReadinessTestKey, Stage, StageKey};
use crate::domain::recovery::CheckInFact;
use crate::domain::rules::Rule;
use crate::domain::step::StepWindow;
use crate::domain::trace::{self, RuleCheck};
use crate::domain::triage::{FlagLevel, TriageLevel};

/// What the engine weighs for a client's live plan ([`load`]).
pub struct EngineContext {
    pub(super) plan: Plan,
    pub(super) auto_progress: bool,
    pub(super) stages: Arc<Vec<Stage>>,
    /// Her latest reports at the step (ever), by the day they are about, newest first, whether
    /// each had pelvic symptoms and its highest pain at a bone-stress site: triage's memory.
    pub(super) earlier_pelvic: Vec<(NaiveDate, bool, i16)>,
    pub(super) sessions: Vec<SessionFact>,
    /// Reports since the step began or a coach last resolved a flag (not a mood flag), in the
    /// order of the days they are about (then of arrival): a report queued offline and sent
    /// late weighs as if it had come on its day.
    pub(super) reports: Vec<ReportFact>,
    pub(super) readiness: Vec<ReadinessFact>,
    pub(super) open_flags: Vec<TriageLevel>,
    /// (day, level) of her completed jogs, and (day, max pain) of her reports, from `since`.
    pub(super) runs: Vec<(NaiveDate, Option<i32>)>,
    pub(super) pains: Vec<(NaiveDate, i16)>,
    /// Her check-ins from `since`, oldest first (R11).
    pub(super) check_ins: Vec<CheckInFact>,
}

/// The client's live plan and what the engine weighs about it (`db::progress::context`, one
/// statement), with the sessions, reports and readiness results that count at her step
/// (`domain::step::StepWindow`). `None` when she has no live plan. Call it with her row locked.
pub async fn load<C: AsyncConnectionCore<Backend = Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Option<EngineContext>> {
    Ok(progress::context(conn, organization_id, client_id, since)
        .await?
        .map(EngineContext::from_loaded))
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

impl EngineContext {
    /// What the engine weighs, from what the statement read: the sessions and reports that
    /// count at the step (`StepWindow`), the flags that hold her plan, the facts typed.
    fn from_loaded(loaded: Loaded) -> EngineContext {
        let Loaded {
            plan,
            auto_progress,
            stages,
            inputs,
        } = loaded;
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
    pub(super) fn with_report(&mut self, report: &SymptomReport) {
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
    pub(super) fn evaluate(&self, client: &Client, today: NaiveDate) -> Evaluation {
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
            client: client.facts(plan.jogging_gate_on, today),
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
pub(super) struct Evaluation {
    pub(super) recommendation: Recommendation,
    rules: Vec<RuleCheck>,
    pub(super) applied: Option<(TransitionAction, PlanState)>,
    today: NaiveDate,
}

impl Evaluation {
    /// The run as stored, with what caused it.
    pub(super) fn run(&self, plan: &Plan, cause: Cause) -> NewRun {
        NewRun {
            id: Uuid::now_v7(),
            organization_id: plan.organization_id,
            client_id: plan.client_id,
            plan_id: plan.id,
            evaluated_on: self.today,
            cause: cause.kind.as_str(),
            cause_id: cause.id,
            recommendation: json(&self.recommendation),
            rules: json(&self.rules),
        }
    }
}

/// Applies what the engine applies itself ([`engine::applies_itself`]): the transition, its
/// audit event and the plan's new state. Returns the plan as it now is.
pub(super) async fn apply(
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
pub(super) fn recommend_event(
    plan: &Plan,
    recommendation: &Recommendation,
) -> audit::Entry<'static> {
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
pub async fn run(
    conn: &mut AsyncPgConnection,
    client: &Client,
    today: NaiveDate,
    cause: Cause,
) -> QueryResult<Option<Recommendation>> {
    let since = engine::fortnight_start(today);
    let Some(context) = load(conn, client.organization_id, client.id, since).await? else {
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
pub(super) fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("domain values serialize")
}
