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
use super::plan::{
    check_entry_gate, next_step, previous_step, PlanState, PlanStatus, Step, TransitionAction,
};
use super::program::{ReadinessTestKey, Stage, StageKey};
use super::recovery::{self, CheckInFact};
pub use super::rules::Rule;
use super::triage::{Finding, Timing, TriageLevel};

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
    /// The day the symptoms were about (for `next_day`, the morning after the session).
    pub date: NaiveDate,
    pub timing: Timing,
    pub level: TriageLevel,
    pub max_pain: u8,
    pub pelvic_symptom: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSide {
    Left,
    Right,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessFact {
    pub test: ReadinessTestKey,
    pub side: TestSide,
    pub passed: bool,
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

/// Whether every readiness test of the stage has passed (each side, where per side).
fn readiness_passed(stage: &Stage, results: &[ReadinessFact]) -> Result<(), String> {
    let missing: Vec<&str> = stage
        .readiness_tests
        .iter()
        .filter(|test| {
            let passed = |side: TestSide| {
                results.iter().any(|r| {
                    r.test == test.key && r.passed && (r.side == side || r.side == TestSide::Both)
                })
            };
            if test.per_side {
                !(passed(TestSide::Left) && passed(TestSide::Right))
            } else {
                !results.iter().any(|r| r.test == test.key && r.passed)
            }
        })
        .map(|t| t.title.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join(", "))
    }
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

/// R2: enough sessions at the step, and the last ones all green.
pub(super) fn r2_sessions_at_step(input: &EngineInput, stage: &Stage) -> Vec<Finding> {
    let done = done(input);
    let needed = stage.min_sessions.max(1) as usize;
    let mut holds = Vec::new();
    if done.len() < needed {
        let why = format!("{} of {needed} sessions done at this step.", done.len());
        holds.push(reason(Rule::R2, why));
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
    (input.running_minutes_last_week > 0.0
        && input.running_minutes_this_week > weekly_volume_cap(input.running_minutes_last_week))
    .then(|| reason(Rule::R4, "Your running time this week already grew as much as it should; stay at this level for now."))
}

/// R2: the stage's readiness tests, passed.
pub(super) fn r2_readiness_tests(input: &EngineInput, stage: &Stage) -> Option<Finding> {
    let missing = readiness_passed(stage, input.readiness).err()?;
    Some(reason(
        Rule::R2,
        format!("Readiness tests still to pass: {missing}."),
    ))
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

/// What the engine does itself with its recommendation: red decisions always (R9 pauses the
/// plan; R8 moves it back to where it may be), green and amber ones only where the organization
/// lets the engine move plans (`auto_progress`), and never a regression of more than one step.
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
        Decision::Regress if auto_progress && previous_step(stages, state.step) == Some(target) => {
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
mod tests {
    use super::*;
    use crate::domain::program::default_stages;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn green(date: &str, timing: Timing) -> ReportFact {
        ReportFact {
            id: Uuid::nil(),
            date: d(date),
            timing,
            level: TriageLevel::Green,
            max_pain: 0,
            pelvic_symptom: false,
        }
    }

    fn run(date: &str, minutes: f32) -> SessionFact {
        SessionFact {
            id: Uuid::nil(),
            performed_on: d(date),
            completed: true,
            running_minutes: minutes,
        }
    }

    fn jogging(level: u32) -> PlanState {
        PlanState {
            step: Step {
                stage: StageKey::Jogging,
                level: Some(level),
            },
            status: PlanStatus::Active,
        }
    }

    #[derive(Debug)]
    struct Case {
        stages: Vec<Stage>,
        plan: PlanState,
        client: ClientFacts,
        sessions: Vec<SessionFact>,
        reports: Vec<ReportFact>,
        readiness: Vec<ReadinessFact>,
        open_flags: Vec<TriageLevel>,
        this_week: f32,
        last_week: f32,
        check_ins: Vec<CheckInFact>,
    }

    impl Case {
        fn jogging(level: u32) -> Self {
            Self {
                stages: default_stages(),
                plan: jogging(level),
                client: ClientFacts::new(120, true),
                sessions: vec![run("2026-11-20", 9.0), run("2026-11-22", 9.0)],
                reports: vec![
                    green("2026-11-20", Timing::ImmediatelyAfter),
                    green("2026-11-21", Timing::NextDay),
                    green("2026-11-22", Timing::ImmediatelyAfter),
                    green("2026-11-23", Timing::NextDay),
                ],
                readiness: vec![],
                open_flags: vec![],
                this_week: 18.0,
                last_week: 18.0,
                check_ins: vec![],
            }
        }

        fn run(&self) -> Recommendation {
            recommend(&EngineInput {
                today: d("2026-11-24"),
                client: self.client,
                plan: self.plan,
                stages: &self.stages,
                sessions: &self.sessions,
                reports: &self.reports,
                readiness: &self.readiness,
                open_flags: &self.open_flags,
                running_minutes_this_week: self.this_week,
                running_minutes_last_week: self.last_week,
                max_pain_this_week: self.reports.iter().map(|r| r.max_pain).max().unwrap_or(0),
                max_pain_last_week: self.reports.iter().map(|r| r.max_pain).max().unwrap_or(0),
                check_ins: &self.check_ins,
            })
        }
    }

    #[test]
    fn red_decisions_apply_themselves_the_others_only_with_auto_progress() {
        use TransitionAction::*;
        let stages = default_stages();
        let state = jogging(3);
        let rec = |decision, stage, level| Recommendation {
            decision,
            target_stage: stage,
            target_level: level,
            completes_plan: false,
            reasons: vec![],
        };
        let paused = PlanState {
            status: PlanStatus::Paused,
            ..state
        };
        let lunges = Step {
            stage: StageKey::Lunges,
            level: None,
        };
        for auto in [false, true] {
            let stop = rec(Decision::Stop, StageKey::Jogging, Some(3));
            assert_eq!(
                applies_itself(&stop, state, &stages, auto),
                Some((Pause, paused))
            );
            assert_eq!(
                applies_itself(&stop, paused, &stages, auto),
                None,
                "paused once"
            );
            let refer = rec(Decision::Refer, StageKey::Lunges, None);
            let back = PlanState {
                step: lunges,
                ..state
            };
            assert_eq!(
                applies_itself(&refer, state, &stages, auto),
                Some((Set, back))
            );
            let hold = rec(Decision::Hold, StageKey::Jogging, Some(3));
            assert_eq!(applies_itself(&hold, state, &stages, auto), None);
        }
        let advance = rec(Decision::Advance, StageKey::Jogging, Some(4));
        assert_eq!(applies_itself(&advance, state, &stages, false), None);
        assert_eq!(
            applies_itself(&advance, state, &stages, true),
            Some((Advance, jogging(4)))
        );
        let regress = rec(Decision::Regress, StageKey::Jogging, Some(2));
        assert_eq!(applies_itself(&regress, state, &stages, false), None);
        assert_eq!(
            applies_itself(&regress, state, &stages, true),
            Some((Regress, jogging(2)))
        );
        let two_back = rec(Decision::Regress, StageKey::Jogging, Some(1));
        assert_eq!(
            applies_itself(&two_back, state, &stages, true),
            None,
            "one step at most"
        );
        let complete = Recommendation {
            completes_plan: true,
            ..rec(Decision::Advance, StageKey::Jogging, Some(3))
        };
        let completed = PlanState {
            status: PlanStatus::Completed,
            ..state
        };
        assert_eq!(
            applies_itself(&complete, state, &stages, true),
            Some((Complete, completed))
        );
    }

    #[test]
    fn the_weeks_are_the_last_seven_days_and_the_seven_before() {
        let runs = [
            (d("2026-11-24"), 10.0),
            (d("2026-11-18"), 5.0),
            (d("2026-11-17"), 7.0),
            (d("2026-11-11"), 3.0),
            (d("2026-11-10"), 100.0),
        ];
        let pains = [
            (d("2026-11-18"), 4),
            (d("2026-11-17"), 6),
            (d("2026-11-10"), 9),
            (d("2026-11-20"), 12),
        ];
        assert_eq!(fortnight_start(d("2026-11-24")), d("2026-11-11"));
        assert_eq!(
            weeks(d("2026-11-24"), runs, pains),
            Weeks {
                running_this: 15.0,
                running_last: 10.0,
                pain_this: 10,
                pain_last: 6,
            }
        );
    }

    fn rules(r: &Recommendation) -> Vec<&str> {
        r.reasons.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn two_green_runs_with_green_next_day_reports_advance_one_level() {
        let r = Case::jogging(2).run();
        assert_eq!(r.decision, Decision::Advance, "{r:?}");
        assert_eq!(
            (r.target_stage, r.target_level),
            (StageKey::Jogging, Some(3))
        );
    }

    #[test]
    fn a_missing_next_day_report_holds() {
        let mut case = Case::jogging(2);
        case.reports.pop();
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(
            r.reasons
                .iter()
                .any(|f| f.rule == "R2" && f.message.contains("next-day")),
            "{r:?}"
        );
    }

    #[test]
    fn one_amber_holds_two_in_a_row_regress() {
        let mut case = Case::jogging(3);
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::Amber,
            max_pain: 3,
            ..green("2026-11-24", Timing::During)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R6") && rules(&r).contains(&"R5"));
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::Amber,
            max_pain: 3,
            ..green("2026-11-24", Timing::ImmediatelyAfter)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Regress);
        assert_eq!(r.target_level, Some(2));
    }

    #[test]
    fn pain_5_holds_but_6_regresses() {
        let mut case = Case::jogging(4);
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::Amber,
            max_pain: 5,
            ..green("2026-11-24", Timing::During)
        });
        assert_eq!(case.run().decision, Decision::Hold);
        case.reports.last_mut().unwrap().max_pain = 6;
        let r = case.run();
        assert_eq!(r.decision, Decision::Regress);
        assert_eq!(r.target_level, Some(3));
    }

    #[test]
    fn an_amber_next_day_report_regresses_and_below_jogging_holds() {
        let mut case = Case::jogging(2);
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::Amber,
            ..green("2026-11-24", Timing::NextDay)
        });
        assert_eq!(case.run().decision, Decision::Regress);
        case.plan = jogging(1);
        assert_eq!(case.run().decision, Decision::Hold, "no level below 1");
        case.plan = PlanState {
            step: Step {
                stage: StageKey::Lunges,
                level: None,
            },
            status: PlanStatus::Active,
        };
        assert_eq!(case.run().decision, Decision::Hold);
    }

    #[test]
    fn red_reports_refer_or_stop_and_a_jogging_plan_goes_back_to_lunges() {
        let mut case = Case::jogging(5);
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::RedPelvic,
            pelvic_symptom: true,
            ..green("2026-11-24", Timing::NextDay)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Refer);
        assert_eq!((r.target_stage, r.target_level), (StageKey::Lunges, None));
        assert_eq!(rules(&r)[0], "R8");
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            level: TriageLevel::RedMedical,
            ..green("2026-11-24", Timing::DailyLife)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Stop);
        assert_eq!(rules(&r)[0], "R9");
    }

    #[test]
    fn the_jogging_gate_holds_at_day_83_and_opens_at_84() {
        let mut case = Case::jogging(1);
        case.plan = PlanState {
            step: Step {
                stage: StageKey::Lunges,
                level: None,
            },
            status: PlanStatus::Active,
        };
        case.sessions = vec![run("2026-11-20", 0.0), run("2026-11-22", 0.0)];
        case.reports = vec![
            green("2026-11-20", Timing::ImmediatelyAfter),
            green("2026-11-22", Timing::ImmediatelyAfter),
        ];
        case.readiness = default_stages()[2]
            .readiness_tests
            .iter()
            .flat_map(|t| {
                [TestSide::Left, TestSide::Right].map(|side| ReadinessFact {
                    test: t.key,
                    side,
                    passed: true,
                })
            })
            .collect();
        case.client.days_postpartum = 83;
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R1"), "{r:?}");
        case.client.days_postpartum = 84;
        let r = case.run();
        assert_eq!(r.decision, Decision::Advance, "{r:?}");
        assert_eq!(
            (r.target_stage, r.target_level),
            (StageKey::Jogging, Some(1))
        );
        // A failed or missing readiness test holds.
        case.readiness.pop();
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(r
            .reasons
            .iter()
            .any(|f| f.message.contains("Side-lying abduction")));
    }

    #[test]
    fn r10_level_4_vs_5_is_the_prescription_and_r4_caps_weekly_volume() {
        assert!(
            (weekly_volume_cap(30.0) - 33.0).abs() < 1e-4,
            "10 % of 30 is 3 minutes"
        );
        assert!(
            (weekly_volume_cap(8.0) - 9.0).abs() < 1e-4,
            "1 minute beats 10 % of 8"
        );
        let mut case = Case::jogging(2);
        case.last_week = 16.0;
        case.this_week = 17.0;
        assert_eq!(
            case.run().decision,
            Decision::Advance,
            "+1 min is within the cap"
        );
        case.this_week = 17.7;
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R4"));
    }

    #[test]
    fn rising_pain_holds() {
        let r = recommend(&EngineInput {
            today: d("2026-11-24"),
            client: ClientFacts::new(120, true),
            plan: jogging(2),
            stages: &default_stages(),
            sessions: &Case::jogging(2).sessions,
            reports: &Case::jogging(2).reports,
            readiness: &[],
            open_flags: &[],
            running_minutes_this_week: 18.0,
            running_minutes_last_week: 18.0,
            max_pain_this_week: 2,
            max_pain_last_week: 1,
            check_ins: &[],
        });
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R7"));
    }

    #[test]
    fn poor_recovery_holds_an_advance_and_never_regresses() {
        let night = |date: &str, sleep_hours: f32, fatigue: u8| CheckInFact {
            id: Uuid::nil(),
            date: d(date),
            sleep_hours,
            fatigue,
            breastfeeding: None,
            periods_returned: None,
            running_worry: None,
        };
        let mut case = Case::jogging(2);
        assert_eq!(case.run().decision, Decision::Advance);
        case.check_ins = vec![night("2026-11-22", 5.0, 4), night("2026-11-23", 5.5, 5)];
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert_eq!(rules(&r), ["R11"]);
        assert!(r.reasons[0].message.contains("5.3 hours"));
        case.check_ins = vec![night("2026-11-10", 3.0, 10), night("2026-11-23", 7.0, 2)];
        assert_eq!(
            case.run().decision,
            Decision::Advance,
            "last week's nights do not count"
        );
        case.check_ins = vec![night("2026-11-23", 4.0, 9)];
        case.reports.push(ReportFact {
            id: Uuid::nil(),
            date: d("2026-11-24"),
            timing: Timing::DailyLife,
            level: TriageLevel::Amber,
            max_pain: 3,
            pelvic_symptom: false,
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R11") && rules(&r).contains(&"R6"));
    }

    #[test]
    fn the_last_level_done_twice_completes_the_plan() {
        let mut case = Case::jogging(18);
        case.this_week = 60.0;
        case.last_week = 60.0;
        let r = case.run();
        assert_eq!(r.decision, Decision::Advance);
        assert!(r.completes_plan);
        assert_eq!(r.target_level, Some(18));
    }

    fn arb_stage_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step {
                stage: StageKey::Crawling,
                level: None
            }),
            Just(Step {
                stage: StageKey::WalkingHills,
                level: None
            }),
            Just(Step {
                stage: StageKey::Lunges,
                level: None
            }),
            (1u32..=18).prop_map(|l| Step {
                stage: StageKey::Jogging,
                level: Some(l)
            }),
        ]
    }

    fn arb_report() -> impl Strategy<Value = ReportFact> {
        (0i64..14, 0usize..4, 0usize..4, 0u8..=10, any::<bool>()).prop_map(
            |(day, timing, level, max_pain, pelvic_symptom)| ReportFact {
                id: Uuid::nil(),
                date: d("2026-11-10") + Duration::days(day),
                timing: [
                    Timing::During,
                    Timing::ImmediatelyAfter,
                    Timing::NextDay,
                    Timing::DailyLife,
                ][timing],
                level: [
                    TriageLevel::Green,
                    TriageLevel::Amber,
                    TriageLevel::RedPelvic,
                    TriageLevel::RedMedical,
                ][level],
                max_pain,
                pelvic_symptom,
            },
        )
    }

    fn arb_readiness() -> impl Strategy<Value = ReadinessFact> {
        let keys = default_stages()
            .iter()
            .flat_map(|s| s.readiness_tests.iter().map(|t| t.key))
            .collect::<Vec<_>>();
        (proptest::sample::select(keys), 0usize..3, any::<bool>()).prop_map(
            |(test, side, passed)| ReadinessFact {
                test,
                side: [TestSide::Left, TestSide::Right, TestSide::Both][side],
                passed,
            },
        )
    }

    prop_compose! {
        fn arb_case()(
            step in arb_stage_step(),
            days in 0i64..200,
            cleared in any::<bool>(),
            sessions in proptest::collection::vec((0i64..14, any::<bool>()), 0..8),
            mut reports in proptest::collection::vec(arb_report(), 0..8),
            readiness in proptest::collection::vec(arb_readiness(), 0..30),
            flags in proptest::collection::vec(0usize..4, 0..3),
            this_week in 0f32..120.0,
            last_week in 0f32..120.0,
            pain in (0u8..=10, 0u8..=10),
        ) -> (Case, u8, u8) {
            reports.sort_by_key(|r| r.date);
            let mut sessions: Vec<SessionFact> = sessions.into_iter().map(|(day, completed)| SessionFact {
            id: Uuid::nil(),
                performed_on: d("2026-11-10") + Duration::days(day), completed, running_minutes: 10.0,
            }).collect();
            sessions.sort_by_key(|s| s.performed_on);
            (Case {
                stages: default_stages(),
                plan: PlanState { step, status: PlanStatus::Active },
                client: ClientFacts::new(days, cleared),
                sessions,
                reports,
                readiness,
                open_flags: flags.into_iter().map(|i| [TriageLevel::Green, TriageLevel::Amber, TriageLevel::RedPelvic, TriageLevel::RedMedical][i]).collect(),
                this_week,
                last_week,
                check_ins: vec![],
            }, pain.0, pain.1)
        }
    }

    fn run_case(case: &Case, pain: (u8, u8)) -> Recommendation {
        recommend(&EngineInput {
            today: d("2026-11-24"),
            client: case.client,
            plan: case.plan,
            stages: &case.stages,
            sessions: &case.sessions,
            reports: &case.reports,
            readiness: &case.readiness,
            open_flags: &case.open_flags,
            running_minutes_this_week: case.this_week,
            running_minutes_last_week: case.last_week,
            max_pain_this_week: pain.0,
            max_pain_last_week: pain.1,
            check_ins: &case.check_ins,
        })
    }

    fn position(stages: &[Stage], step: Step) -> i64 {
        let index = stages.iter().position(|s| s.key == step.stage).unwrap() as i64;
        index * 100 + i64::from(step.level.unwrap_or(0))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_advances_with_an_open_red_flag((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            if case.open_flags.iter().any(|l| l.is_red()) {
                prop_assert_ne!(r.decision, Decision::Advance);
            }
        }

        #[test]
        fn never_into_jogging_before_day_84_or_without_clearance((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            if case.plan.step.stage != StageKey::Jogging && r.target_stage == StageKey::Jogging {
                prop_assert!(case.client.days_postpartum >= 84 && case.client.cleared_for_exercise);
            }
        }

        #[test]
        fn never_more_than_one_step((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            let target = Step { stage: r.target_stage, level: r.target_level };
            match r.decision {
                Decision::Advance if !r.completes_plan => prop_assert_eq!(Some(target), next_step(&case.stages, case.plan.step)),
                Decision::Regress => prop_assert_eq!(Some(target), previous_step(&case.stages, case.plan.step)),
                Decision::Hold | Decision::Stop => prop_assert_eq!(target, case.plan.step),
                Decision::Refer => prop_assert!(position(&case.stages, target) <= position(&case.stages, case.plan.step)),
                Decision::Advance => prop_assert_eq!(target, case.plan.step),
            }
        }

        #[test]
        fn without_auto_progress_only_red_decisions_move_the_plan((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            let applied = applies_itself(&r, case.plan, &case.stages, false);
            if let Some((action, to)) = applied {
                prop_assert!(matches!(r.decision, Decision::Stop | Decision::Refer), "{:?}", r);
                prop_assert!(matches!(action, TransitionAction::Pause | TransitionAction::Set));
                prop_assert!(position(&case.stages, to.step) <= position(&case.stages, case.plan.step));
            }
            if let Some((_, to)) = applies_itself(&r, case.plan, &case.stages, true) {
                prop_assert!(to != case.plan, "a move changes the plan");
            }
        }

        #[test]
        fn same_input_same_output((case, a, b) in arb_case()) {
            prop_assert_eq!(run_case(&case, (a, b)), run_case(&case, (a, b)));
        }

        #[test]
        fn any_red_report_refers_or_stops((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            if case.reports.last().is_some_and(|r| r.level.is_red()) {
                prop_assert!(matches!(r.decision, Decision::Refer | Decision::Stop));
            }
        }

        #[test]
        fn every_reason_names_its_rule((case, a, b) in arb_case()) {
            let r = run_case(&case, (a, b));
            prop_assert!(!r.reasons.is_empty());
            for f in &r.reasons {
                prop_assert!(!f.rule.is_empty() && !f.message.is_empty());
            }
        }
    }
}
