//! The progression engine: pure and deterministic. Given the client, her plan, what she did
//! and reported at the current step, and today's date, it recommends `advance`, `hold`,
//! `regress`, `refer` or `stop`, with the rules behind it (R1–R10 of the method).
//!
//! "Keep your fingers on the pulse of your symptoms and make adjustments."

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::client::ClientFacts;
mod evidence;
use super::plan::{
    check_entry_gate, next_step, previous_step, PlanState, PlanStatus, Step, TransitionAction,
};
use super::program::{Stage, StageKey};
pub use super::readiness::{readiness_missing, ReadinessFact, TestSide};
use super::recovery::{self, CheckInFact};
pub use super::rules::Rule;
use super::triage::{Finding, Timing, TriageLevel};
pub use evidence::{evidence, is_about, Evidence};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Advance,
    Hold,
    Regress,
    Refer,
    Stop,
}

impl Decision {
    /// A move toward safety: it applies itself, whatever the organization's `auto_progress`
    /// says (SPEC §1.8).
    pub fn is_safety_move(self) -> bool {
        matches!(self, Decision::Regress | Decision::Refer | Decision::Stop)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Advance => "advance",
            Decision::Hold => "hold",
            Decision::Regress => "regress",
            Decision::Refer => "refer",
            Decision::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "decision": "hold",
    "target_stage": "jogging",
    "target_level": 3,
    "completes_plan": false,
    "reasons": [
        {"rule": "R6", "message": "An amber report at this step: repeat it before moving on."},
        {"rule": "R5", "message": "Symptoms during a run: walk the rest of that run."}
    ]
}))]
pub struct Recommendation {
    pub decision: Decision,
    /// Where the plan should be after the decision.
    pub target_stage: StageKey,
    pub target_level: Option<u32>,
    /// The last level is done: the plan can be completed.
    pub completes_plan: bool,
    /// Why, rule by rule, in words the client's app can show as they are.
    pub reasons: Vec<Finding>,
}

/// A logged session at the current step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionFact {
    pub id: Uuid,
    pub performed_on: NaiveDate,
    pub completed: bool,
    /// Running minutes of the session (jogging), for the weekly volume.
    pub running_minutes: f32,
}

/// A triaged report at the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportFact {
    pub id: Uuid,
    /// The session the report names, if it names one.
    pub session_id: Option<Uuid>,
    /// The day the symptoms were about (for `next_day`, the morning after the session).
    pub date: NaiveDate,
    pub timing: Timing,
    pub level: TriageLevel,
    pub max_pain: u8,
    pub pelvic_symptom: bool,
}

#[derive(Debug, Clone)]
pub struct EngineInput<'a> {
    pub today: NaiveDate,
    pub client: ClientFacts,
    pub plan: PlanState,
    pub stages: &'a [Stage],
    /// Sessions since the plan entered its current step, oldest first.
    pub sessions: &'a [SessionFact],
    /// Reports since the plan entered its current step, oldest first.
    pub reports: &'a [ReportFact],
    /// Readiness results of this plan.
    pub readiness: &'a [ReadinessFact],
    /// Levels of the client's open flags.
    pub open_flags: &'a [TriageLevel],
    /// Running minutes logged in the last 7 days, and in the 7 days before.
    pub running_minutes_this_week: f32,
    pub running_minutes_last_week: f32,
    /// Highest pain reported in the last 7 days, and in the 7 days before.
    pub max_pain_this_week: u8,
    pub max_pain_last_week: u8,
    /// Her recovery check-ins of the last 7 days (at least), oldest first (R11).
    pub check_ins: &'a [CheckInFact],
}

/// R4: the most running a week may hold, given last week's.
pub fn weekly_volume_cap(last_week_minutes: f32) -> f32 {
    (last_week_minutes * 1.10).max(last_week_minutes + 1.0)
}

fn reason(rule: Rule, message: impl Into<String>) -> Finding {
    Finding {
        rule: rule.as_str().into(),
        message: message.into(),
    }
}

fn at(step: Step, decision: Decision, reasons: Vec<Finding>) -> Recommendation {
    Recommendation {
        decision,
        target_stage: step.stage,
        target_level: step.level,
        completes_plan: false,
        reasons,
    }
}

/// A decision that ends the evaluation, with the advice notes (R5) after its own reasons.
fn decided(
    step: Step,
    decision: Decision,
    mut reasons: Vec<Finding>,
    notes: &[Finding],
) -> Recommendation {
    reasons.extend_from_slice(notes);
    at(step, decision, reasons)
}

/// The recommendation for the plan today: the rules in a fixed order. Red flags first (R9, then
/// R8), then a plan that is not active, then what drops or repeats the step (R6); then every
/// reason to hold is gathered (R6, R7, R2, R4, the readiness tests, the next stage's gate R1,
/// recovery R11);
/// with none, the plan advances one step (R2, R3). R5's advice rides along with any decision.
pub fn recommend(input: &EngineInput) -> Recommendation {
    let here = input.plan.step;
    let notes: Vec<Finding> = r5_walk_the_rest(input).into_iter().collect();
    if let Some(stop) = r9_medical_stop(input, &notes) {
        return stop;
    }
    if let Some(refer) = r8_pelvic_referral(input, &notes) {
        return refer;
    }
    if input.plan.status != PlanStatus::Active {
        let why = format!(
            "The plan is {}; nothing moves until a coach changes that.",
            input.plan.status.as_str()
        );
        return at(here, Decision::Hold, vec![reason(Rule::Plan, why)]);
    }
    if let Some(drop) = r6_drop_or_repeat(input, &notes) {
        return drop;
    }
    let Some(stage) = input.stages.iter().find(|s| s.key == here.stage) else {
        let why = "The plan's stage is not in its program.";
        return at(here, Decision::Hold, vec![reason(Rule::Plan, why)]);
    };
    let mut holds: Vec<Finding> = r6_amber_hold(input).into_iter().collect();
    holds.extend(r7_rising_pain(input));
    holds.extend(r2_sessions_at_step(input, stage));
    if here.stage == StageKey::Jogging {
        holds.extend(r2_next_day_reports(input));
        holds.extend(r4_weekly_volume(input));
    }
    holds.extend(r2_readiness_tests(input, stage));
    holds.extend(r1_next_stage_gate(input));
    holds.extend(r11_recovery(input));
    if !holds.is_empty() {
        return decided(here, Decision::Hold, holds, &notes);
    }
    r2_r3_advance(input, notes)
}

/// The newest report at the step, by the day it is about.
pub(super) fn latest(input: &EngineInput) -> Option<ReportFact> {
    input.reports.last().copied()
}

/// R5: symptoms during a run mean walking the rest of it.
pub(super) fn r5_walk_the_rest(input: &EngineInput) -> Option<Finding> {
    let r = latest(input)?;
    (r.timing == Timing::During
        && input.plan.step.stage == StageKey::Jogging
        && r.level >= TriageLevel::Amber)
        .then(|| {
            reason(
                Rule::R5,
                "Symptoms during a run: walk the rest of that run.",
            )
        })
}

/// R9: anything medical stops everything.
pub(super) fn r9_medical_stop(input: &EngineInput, notes: &[Finding]) -> Option<Recommendation> {
    let medical = latest(input).is_some_and(|r| r.level == TriageLevel::RedMedical)
        || input.open_flags.contains(&TriageLevel::RedMedical);
    medical.then(|| {
        let why = "A medical warning sign: stop all exercise and get medical care today. Your coach will resume the plan when it is safe.";
        decided(input.plan.step, Decision::Stop, vec![reason(Rule::R9, why)], notes)
    })
}

/// R8: pelvic red flags refer to a physiotherapist; no impact meanwhile (a jogging plan goes
/// back to lunges).
pub(super) fn r8_pelvic_referral(input: &EngineInput, notes: &[Finding]) -> Option<Recommendation> {
    let here = input.plan.step;
    let pelvic = latest(input).is_some_and(|r| r.level == TriageLevel::RedPelvic)
        || input.open_flags.contains(&TriageLevel::RedPelvic);
    if !pelvic {
        return None;
    }
    let target = if here.stage == StageKey::Jogging
        && input.stages.iter().any(|s| s.key == StageKey::Lunges)
    {
        Step {
            stage: StageKey::Lunges,
            level: None,
        }
    } else {
        here
    };
    let why = "Pelvic symptoms that need a pelvic-health physiotherapist: no running or other impact until you have been seen and your coach moves the plan on.";
    Some(decided(
        target,
        Decision::Refer,
        vec![reason(Rule::R8, why)],
        notes,
    ))
}

/// R6: two ambers in a row at the step, an amber next-day report, or pain of 6 or more drop one
/// jogging level (below jogging, or at level 1, the step repeats).
pub(super) fn r6_drop_or_repeat(input: &EngineInput, notes: &[Finding]) -> Option<Recommendation> {
    let here = input.plan.step;
    let latest = latest(input);
    let ambers_in_a_row = input.reports.len() >= 2
        && input.reports[input.reports.len() - 2..]
            .iter()
            .all(|r| r.level >= TriageLevel::Amber);
    let amber_next_day =
        latest.is_some_and(|r| r.level >= TriageLevel::Amber && r.timing == Timing::NextDay);
    let severe_pain = latest.is_some_and(|r| r.max_pain >= 6);
    let why = if severe_pain {
        "Pain of 6 or more"
    } else if amber_next_day {
        "Symptoms still there the next day"
    } else if ambers_in_a_row {
        "Two amber reports in a row at this step"
    } else {
        return None;
    };
    Some(match (here.stage, here.level) {
        (StageKey::Jogging, Some(level)) if level > 1 => {
            let back = previous_step(input.stages, here).unwrap_or(here);
            let reasons = vec![reason(Rule::R6, format!("{why}: drop back one level."))];
            decided(back, Decision::Regress, reasons, notes)
        }
        _ => {
            let why = format!("{why}: repeat this step (there is no lower level to drop to).");
            decided(here, Decision::Hold, vec![reason(Rule::R6, why)], notes)
        }
    })
}

/// R6: one amber report holds the step.
pub(super) fn r6_amber_hold(input: &EngineInput) -> Option<Finding> {
    latest(input)
        .is_some_and(|r| r.level == TriageLevel::Amber)
        .then(|| {
            reason(
                Rule::R6,
                "An amber report at this step: repeat it before moving on.",
            )
        })
}

/// R7: pain may not climb week on week.
pub(super) fn r7_rising_pain(input: &EngineInput) -> Option<Finding> {
    (input.max_pain_last_week > 0 && input.max_pain_this_week > input.max_pain_last_week).then(
        || {
            reason(
                Rule::R7,
                "Pain is higher than last week: hold until it settles.",
            )
        },
    )
}

/// The completed sessions at the step, oldest first.
pub(super) fn done<'a>(input: &EngineInput<'a>) -> Vec<&'a SessionFact> {
    input.sessions.iter().filter(|s| s.completed).collect()
}

/// The last two completed sessions at the step: the ones R2 looks at.
pub(super) fn recent<'a>(done: &[&'a SessionFact]) -> Vec<&'a SessionFact> {
    done[done.len().saturating_sub(2)..].to_vec()
}

/// R2: enough sessions at the step with a green report about each, a report about each of the
/// last ones, and the last ones all green.
pub(super) fn r2_sessions_at_step(input: &EngineInput, stage: &Stage) -> Vec<Finding> {
    let done = done(input);
    let needed = stage.min_sessions.max(1) as usize;
    let mut holds = Vec::new();
    if done.len() < needed {
        let why = format!("{} of {needed} sessions done at this step.", done.len());
        holds.push(reason(Rule::R2, why));
    } else {
        let counted = done
            .iter()
            .filter(|s| evidence(input, s) == Evidence::Green)
            .count();
        if counted < needed {
            let why = format!(
                "{counted} of {needed} sessions at this step have a green report about them: a session counts once you have told us how it went."
            );
            holds.push(reason(Rule::R2, why));
        }
    }
    for session in recent(&done) {
        if evidence(input, session) == Evidence::Missing {
            let why = format!(
                "No report yet for your session of {}: tell us how it went (a report about it, the same day or the next).",
                session.performed_on.format("%-d %b")
            );
            holds.push(reason(Rule::R2, why));
        }
    }
    if let Some(first) = recent(&done).first() {
        let since = first.performed_on;
        if input
            .reports
            .iter()
            .any(|r| r.date >= since && r.level != TriageLevel::Green)
        {
            holds.push(reason(Rule::R2, "The last sessions were not all green."));
        }
    }
    holds
}

/// R2 (jogging): each of the last runs needs a green report the next morning.
pub(super) fn r2_next_day_reports(input: &EngineInput) -> Vec<Finding> {
    recent(&done(input))
        .into_iter()
        .filter(|run| {
            let next_morning = run.performed_on + Duration::days(1);
            !input.reports.iter().any(|r| {
                r.timing == Timing::NextDay
                    && r.date == next_morning
                    && r.level == TriageLevel::Green
            })
        })
        .map(|run| {
            let why = format!(
                "No green next-day report yet for the run of {}.",
                run.performed_on
            );
            reason(Rule::R2, why)
        })
        .collect()
}

/// R4: weekly running volume grows by at most 10 % or 1 minute.
pub(super) fn r4_weekly_volume(input: &EngineInput) -> Option<Finding> {
    over_weekly_cap(input.running_minutes_this_week, input.running_minutes_last_week)
    .then(|| reason(Rule::R4, "Your running time this week already grew as much as it should; stay at this level for now."))
}

/// R4's test: this week's running already past what last week's allows (no cap without a
/// week of running before).
pub fn over_weekly_cap(this_week: f32, last_week: f32) -> bool {
    last_week > 0.0 && this_week > weekly_volume_cap(last_week)
}

/// R2: the stage's readiness tests, passed. The tests that open jogging (those of the stage
/// before it) count only when recorded or confirmed by staff (SPEC §1.8): hers wait for her
/// coach.
pub(super) fn r2_readiness_tests(input: &EngineInput, stage: &Stage) -> Option<Finding> {
    let opens_jogging = next_step(input.stages, input.plan.step).is_some_and(|n| {
        n.stage == StageKey::Jogging && input.plan.step.stage != StageKey::Jogging
    });
    let all: Vec<&ReadinessFact> = input.readiness.iter().collect();
    let counted: Vec<&ReadinessFact> = all
        .iter()
        .copied()
        .filter(|r| r.confirmed || !opens_jogging)
        .collect();
    let missing = readiness_missing(stage, &counted);
    if missing.is_empty() {
        return None;
    }
    let unconfirmed = readiness_missing(stage, &all);
    let awaiting: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|t| !unconfirmed.contains(t))
        .collect();
    let to_pass: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|t| unconfirmed.contains(t))
        .collect();
    let mut words = Vec::new();
    if !to_pass.is_empty() {
        words.push(format!(
            "Readiness tests still to pass: {}.",
            to_pass.join(", ")
        ));
    }
    if !awaiting.is_empty() {
        words.push(format!(
            "Readiness tests awaiting your coach's confirmation: {}.",
            awaiting.join(", ")
        ));
    }
    Some(reason(Rule::R2, words.join(" ")))
}

/// R1 (and the other stages' gates): the next stage's entry gate, when the next step is a new
/// stage.
pub(super) fn r1_next_stage_gate(input: &EngineInput) -> Option<Finding> {
    let here = input.plan.step;
    let next = next_step(input.stages, here).filter(|n| n.stage != here.stage)?;
    let entering = input
        .stages
        .iter()
        .find(|s| s.key == next.stage)
        .expect("next stage exists");
    let red_flag = input.open_flags.iter().any(|l| l.is_red());
    match check_entry_gate(entering, input.client, red_flag) {
        Err(super::plan::TransitionError::Gate { rule, message }) => Some(reason(rule, message)),
        _ => None,
    }
}

/// R11, recovery: short sleep or many very tired days this week hold the step.
pub(super) fn r11_recovery(input: &EngineInput) -> Option<Finding> {
    let week = recovery::recovery_week(input.today, input.check_ins);
    recovery::r11_recovery(&week).map(|why| reason(Rule::R11, why))
}

/// R2 and R3: nothing holds, so the plan advances one step, or the last level done completes it.
fn r2_r3_advance(input: &EngineInput, notes: Vec<Finding>) -> Recommendation {
    let here = input.plan.step;
    let mut reasons = vec![reason(
        Rule::R2,
        "Enough green sessions at this step and its exit criteria met.",
    )];
    reasons.extend(notes);
    match next_step(input.stages, here) {
        Some(step) => {
            reasons.push(reason(Rule::R3, "One step at a time."));
            at(step, Decision::Advance, reasons)
        }
        None => {
            let why = "The last level is done, green, twice: the plan is complete.";
            reasons.push(reason(Rule::R2, why));
            Recommendation {
                completes_plan: true,
                ..at(here, Decision::Advance, reasons)
            }
        }
    }
}

/// What the engine does itself with its recommendation. Moves toward safety always, whatever
/// `auto_progress` says (SPEC §1.8): R9 pauses the plan, R8 moves it back to where it may be,
/// R6 drops one level (never more than one step). Advances and completion only where the
/// organization lets the engine move plans (`auto_progress`); otherwise a coach applies them.
/// `None` when the plan stays as it is.
pub fn applies_itself(
    recommendation: &Recommendation,
    state: PlanState,
    stages: &[Stage],
    auto_progress: bool,
) -> Option<(TransitionAction, PlanState)> {
    let target = Step {
        stage: recommendation.target_stage,
        level: recommendation.target_level,
    };
    let moved = |action, step| Some((action, PlanState { step, ..state }));
    let applied = match recommendation.decision {
        Decision::Stop if state.status == PlanStatus::Active => Some((
            TransitionAction::Pause,
            PlanState {
                status: PlanStatus::Paused,
                ..state
            },
        )),
        Decision::Refer if target != state.step => moved(TransitionAction::Set, target),
        Decision::Advance if auto_progress && recommendation.completes_plan => Some((
            TransitionAction::Complete,
            PlanState {
                status: PlanStatus::Completed,
                ..state
            },
        )),
        Decision::Advance if auto_progress => moved(TransitionAction::Advance, target),
        Decision::Regress if previous_step(stages, state.step) == Some(target) => {
            moved(TransitionAction::Regress, target)
        }
        _ => None,
    };
    applied.filter(|(_, to)| *to != state)
}

/// Running minutes and the highest pain in the week to `today` (its last 7 days) and the week
/// before (the 7 days before those): what R4 and R7 compare.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Weeks {
    pub running_this: f32,
    pub running_last: f32,
    pub pain_this: u8,
    pub pain_last: u8,
}

/// The first day of the fortnight [`weeks`] looks at.
pub fn fortnight_start(today: NaiveDate) -> NaiveDate {
    today - Duration::days(13)
}

/// Sums `runs` (day, running minutes) and takes the highest of `pains` (day, 0–10) into this
/// week and last; days before the fortnight count for neither.
pub fn weeks(
    today: NaiveDate,
    runs: impl IntoIterator<Item = (NaiveDate, f32)>,
    pains: impl IntoIterator<Item = (NaiveDate, i16)>,
) -> Weeks {
    let week_start = today - Duration::days(6);
    let first = fortnight_start(today);
    let mut w = Weeks::default();
    for (day, minutes) in runs.into_iter().filter(|(day, _)| *day >= first) {
        if day >= week_start {
            w.running_this += minutes
        } else {
            w.running_last += minutes
        }
    }
    for (day, pain) in pains.into_iter().filter(|(day, _)| *day >= first) {
        let pain = pain.clamp(0, 10) as u8;
        if day >= week_start {
            w.pain_this = w.pain_this.max(pain)
        } else {
            w.pain_last = w.pain_last.max(pain)
        }
    }
    w
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;
