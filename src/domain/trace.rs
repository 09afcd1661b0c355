//! Why the engine decided what it did, rule by rule: every numbered rule R1–R11 in order, what
//! it says on its own (`pass`, `hold`, `regress`, `refer`, `stop` or `not_applicable` where it
//! has nothing to weigh), whether it applied, whether it is behind the decision, a message for
//! her, and the inputs it used (the sessions and reports it counted, the windows, the gate
//! dates) for her coach. The engine stores one with every run, so a past decision can be
//! explained later with what was known then.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::engine::{self, Decision, EngineInput, Recommendation, ReportFact};
use super::plan::{earliest_day, next_step};
use super::program::StageKey;
use super::recovery;
use super::rules::Rule;
use super::triage::Finding;

pub mod inputs;
use inputs::{
    CountedSession, NothingWeighed, R1Gate, R1Inputs, R1SameStage, R2Inputs, R2Weighed, R3Inputs,
    R4Inputs, R5Inputs, R6Inputs, R7Inputs, RedFlagInputs, TraceReport, TraceStep,
};

/// What made the engine run: a new record of hers, or a coach's act on her plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunCauseKind {
    SymptomReport,
    Session,
    ReadinessResult,
    CheckIn,
    Assessment,
    /// A coach resolved a flag (`id` is the flag).
    FlagResolved,
    /// Her caesarean-scar clearance was recorded or withdrawn (no `id`).
    ScarClearance,
    /// Her individual jogging gate was set or cleared (`id` is the plan).
    JoggingGate,
    /// The demo practice's own history (no `id`).
    Demo,
}

impl RunCauseKind {
    /// As stored in `engine_runs.cause` and sent as `cause.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunCauseKind::SymptomReport => "symptom_report",
            RunCauseKind::Session => "session",
            RunCauseKind::ReadinessResult => "readiness_result",
            RunCauseKind::CheckIn => "check_in",
            RunCauseKind::Assessment => "assessment",
            RunCauseKind::FlagResolved => "flag_resolved",
            RunCauseKind::ScarClearance => "scar_clearance",
            RunCauseKind::JoggingGate => "jogging_gate",
            RunCauseKind::Demo => "demo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use RunCauseKind::*;
        [
            SymptomReport,
            Session,
            ReadinessResult,
            CheckIn,
            Assessment,
            FlagResolved,
            ScarClearance,
            JoggingGate,
            Demo,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What one rule says on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing in this rule stands in her way.
    Pass,
    Hold,
    Regress,
    Refer,
    Stop,
    /// The rule has nothing to weigh at this step (e.g. running volume before jogging).
    NotApplicable,
}

/// One rule's part in a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "rule": "R4", "applied": true, "outcome": "hold", "decided": true,
    "message": "Your running time this week already grew as much as it should; stay at this level for now.",
    "inputs": {"this_week_minutes": 30.0, "last_week_minutes": 24.0, "cap_minutes": 26.4,
               "this_week_from": "2026-11-19", "last_week_from": "2026-11-12"}
}))]
pub struct RuleCheck {
    /// `R1` … `R11`, in this order.
    #[schema(example = "R4")]
    pub rule: Rule,
    /// The rule's condition held: it holds, moves back, refers or stops her, gives its advice
    /// (R5), or (R2, R3) it is what moves her on.
    pub applied: bool,
    pub outcome: Outcome,
    /// The rule is behind the decision: one of its reasons.
    pub decided: bool,
    /// In plain words, for her.
    pub message: String,
    /// What the rule looked at, for her coach: ids and dates of the sessions and reports it
    /// counted, the weekly windows, the gate dates.
    #[schema(value_type = Object)]
    pub inputs: Value,
}

/// At most this many reports in R2's inputs (the newest it weighed).
const TRACE_REPORTS: usize = 20;

/// Minutes to one decimal, as her coach reads them.
fn minutes(m: f32) -> f64 {
    (f64::from(m) * 10.0).round() / 10.0
}

/// A rule's inputs as stored and sent.
fn value(inputs: impl Serialize) -> Value {
    serde_json::to_value(inputs).expect("a rule's inputs serialize")
}

fn report_ref(r: &ReportFact) -> TraceReport {
    TraceReport::from(r)
}

/// A check from what a rule found (if anything) and what it says otherwise.
fn check(
    rule: Rule,
    found: Option<(Outcome, String)>,
    otherwise: &str,
    inputs: Value,
) -> RuleCheck {
    let (applied, outcome, message) = match found {
        Some((outcome, message)) => (true, outcome, message),
        None => (false, Outcome::Pass, otherwise.to_string()),
    };
    RuleCheck {
        rule,
        applied,
        outcome,
        decided: false,
        message,
        inputs,
    }
}

fn not_applicable(rule: Rule, message: &str, inputs: Value) -> RuleCheck {
    RuleCheck {
        outcome: Outcome::NotApplicable,
        ..check(rule, None, message, inputs)
    }
}

fn joined(findings: &[Finding]) -> Option<(Outcome, String)> {
    (!findings.is_empty()).then(|| {
        let words: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        (Outcome::Hold, words.join(" "))
    })
}

fn hold(finding: Option<Finding>) -> Option<(Outcome, String)> {
    finding.map(|f| (Outcome::Hold, f.message))
}

fn outcome_of(decision: Decision) -> Outcome {
    match decision {
        Decision::Advance => Outcome::Pass,
        Decision::Hold => Outcome::Hold,
        Decision::Regress => Outcome::Regress,
        Decision::Refer => Outcome::Refer,
        Decision::Stop => Outcome::Stop,
    }
}

fn r1(input: &EngineInput) -> RuleCheck {
    let here = input.plan.step;
    let next = next_step(input.stages, here).filter(|n| n.stage != here.stage);
    let entering = next.and_then(|n| input.stages.iter().find(|s| s.key == n.stage));
    let Some(stage) = entering else {
        return not_applicable(
            Rule::R1,
            "Your next step is in the stage you are in: there is no new stage to be ready for.",
            value(R1Inputs::SameStage(R1SameStage {
                next: next_step(input.stages, here).map(TraceStep::from),
            })),
        );
    };
    let gate = stage.entry_gate;
    let facts = input.client;
    let earliest = earliest_day(stage, facts);
    let days_to_go = earliest - facts.days_postpartum;
    let inputs = value(R1Inputs::Gate(R1Gate {
        next_stage: stage.key,
        min_days_postpartum: earliest,
        days_postpartum: facts.days_postpartum,
        earliest_on: input.today + Duration::days(days_to_go.max(0)),
        individual_jogging_gate_day: facts
            .jogging_gate_day
            .filter(|_| stage.key == StageKey::Jogging),
        requires_clearance: gate.requires_clearance,
        cleared_for_exercise: facts.cleared_for_exercise,
        delivery_type: facts.delivery_type,
        requires_scar_clearance: gate
            .for_delivery(facts.delivery_type)
            .is_some_and(|d| d.requires_scar_clearance),
        caesarean_scar_cleared: facts.caesarean_scar_cleared,
        oasi_hold: facts.oasi_hold,
        open_red_flag: input.open_flags.iter().any(|l| l.is_red()),
    }));
    let ready = format!("You meet what {} asks before you start it.", stage.title);
    check(
        Rule::R1,
        hold(engine::r1_next_stage_gate(input)),
        &ready,
        inputs,
    )
}

fn r2(input: &EngineInput, recommendation: &Recommendation) -> RuleCheck {
    let here = input.plan.step;
    let Some(stage) = input.stages.iter().find(|s| s.key == here.stage) else {
        return not_applicable(
            Rule::R2,
            "Your plan's stage is not in its program.",
            value(R2Inputs::Nothing(NothingWeighed {})),
        );
    };
    let mut holds = engine::r2_sessions_at_step(input, stage);
    if here.stage == StageKey::Jogging {
        holds.extend(engine::r2_next_day_reports(input));
    }
    holds.extend(engine::r2_readiness_tests(input, stage));
    let done = engine::done(input);
    let needed = stage.min_sessions.max(1) as usize;
    let recent = engine::recent(&done);
    // What R2 weighed, and no more, so a trace stays small however long she stays at a step:
    // the completed sessions that meet the minimum (the newest of them), and the reports from
    // the first of the last two sessions on, the newest `TRACE_REPORTS` of them.
    let counted = &done[done.len().saturating_sub(needed.max(2))..];
    let weighed: Vec<&ReportFact> = match recent.first() {
        Some(first) => input
            .reports
            .iter()
            .filter(|r| r.date >= first.performed_on)
            .collect(),
        None => Vec::new(),
    };
    let weighed = &weighed[weighed.len().saturating_sub(TRACE_REPORTS)..];
    let inputs = value(R2Inputs::Weighed(R2Weighed {
        min_sessions: needed,
        completed_count: done.len(),
        completed_sessions: counted
            .iter()
            .map(|s| CountedSession {
                id: s.id,
                performed_on: s.performed_on,
                evidence: engine::evidence(input, s).into(),
            })
            .collect(),
        last_sessions: recent.iter().map(|s| s.id).collect(),
        reports: weighed.iter().map(|r| report_ref(r)).collect(),
        readiness_tests: stage.readiness_tests.iter().map(|t| t.key).collect(),
    }));
    let mut c = check(
        Rule::R2,
        joined(&holds),
        "Enough green sessions at this step and its exit criteria met.",
        inputs,
    );
    c.applied = !holds.is_empty() || recommendation.decision == Decision::Advance;
    c
}

fn r3(input: &EngineInput, recommendation: &Recommendation) -> RuleCheck {
    let here = input.plan.step;
    let next = next_step(input.stages, here);
    let message = match next {
        Some(n) if n.stage == here.stage => {
            format!(
                "One step at a time: the next step is level {}.",
                n.level.unwrap_or(1)
            )
        }
        Some(n) => format!("One step at a time: the next step is {}.", n.stage.as_str()),
        None => "This is the last step of your plan.".to_string(),
    };
    RuleCheck {
        applied: recommendation.decision == Decision::Advance,
        ..check(
            Rule::R3,
            None,
            &message,
            value(R3Inputs {
                from: here.into(),
                next: next.map(TraceStep::from),
            }),
        )
    }
}

fn r4(input: &EngineInput) -> RuleCheck {
    let inputs = value(R4Inputs {
        this_week_minutes: minutes(input.running_minutes_this_week),
        last_week_minutes: minutes(input.running_minutes_last_week),
        cap_minutes: (input.running_minutes_last_week > 0.0)
            .then(|| minutes(engine::weekly_volume_cap(input.running_minutes_last_week))),
        this_week_from: input.today - Duration::days(6),
        last_week_from: engine::fortnight_start(input.today),
    });
    if input.plan.step.stage != StageKey::Jogging {
        return not_applicable(
            Rule::R4,
            "Running time only counts once you are jogging.",
            inputs,
        );
    }
    check(
        Rule::R4,
        hold(engine::r4_weekly_volume(input)),
        "Your running time this week is within what it may grow to.",
        inputs,
    )
}

fn r5(input: &EngineInput) -> RuleCheck {
    let inputs = value(R5Inputs {
        latest_report: engine::latest(input).as_ref().map(report_ref),
    });
    if input.plan.step.stage != StageKey::Jogging {
        return not_applicable(
            Rule::R5,
            "This advice is for runs; you are not running yet.",
            inputs,
        );
    }
    match engine::r5_walk_the_rest(input) {
        Some(advice) => RuleCheck {
            applied: true,
            ..check(Rule::R5, None, &advice.message, inputs)
        },
        None => check(Rule::R5, None, "No symptoms during your last run.", inputs),
    }
}

fn r6(input: &EngineInput) -> RuleCheck {
    let last_two = &input.reports[input.reports.len().saturating_sub(2)..];
    let inputs = value(R6Inputs {
        last_reports: last_two.iter().map(report_ref).collect(),
    });
    let found = match engine::r6_drop_or_repeat(input, &[]) {
        Some(r) => {
            let message = r
                .reasons
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            Some((outcome_of(r.decision), message))
        }
        None => hold(engine::r6_amber_hold(input)),
    };
    check(Rule::R6, found, "No amber reports at this step.", inputs)
}

fn r7(input: &EngineInput) -> RuleCheck {
    let inputs = value(R7Inputs {
        max_pain_this_week: input.max_pain_this_week,
        max_pain_last_week: input.max_pain_last_week,
    });
    check(
        Rule::R7,
        hold(engine::r7_rising_pain(input)),
        "Your pain is not rising week on week.",
        inputs,
    )
}

fn red(
    input: &EngineInput,
    found: Option<Recommendation>,
    rule: Rule,
    otherwise: &str,
) -> RuleCheck {
    let inputs = value(RedFlagInputs {
        latest_report: engine::latest(input).as_ref().map(report_ref),
        open_flags: input.open_flags.to_vec(),
    });
    let found = found.map(|r| {
        let message = r
            .reasons
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        (outcome_of(r.decision), message)
    });
    check(rule, found, otherwise, inputs)
}

fn r11(input: &EngineInput) -> RuleCheck {
    let week = recovery::recovery_week(input.today, input.check_ins);
    let otherwise = if week.check_in_ids.is_empty() {
        "No recovery check-ins this week: nothing here holds you back."
    } else {
        "You are sleeping and recovering well enough to move on."
    };
    let inputs = value(&week);
    check(
        Rule::R11,
        recovery::r11_recovery(&week).map(|why| (Outcome::Hold, why)),
        otherwise,
        inputs,
    )
}

/// Every numbered rule, R1–R11 in order, as it weighed `input` for `recommendation` (which
/// [`engine::recommend`] made from the same input).
pub fn explain(input: &EngineInput, recommendation: &Recommendation) -> Vec<RuleCheck> {
    let mut checks = vec![
        r1(input),
        r2(input, recommendation),
        r3(input, recommendation),
        r4(input),
        r5(input),
        r6(input),
        r7(input),
        red(
            input,
            engine::r8_pelvic_referral(input, &[]),
            Rule::R8,
            "No pelvic warning signs.",
        ),
        red(
            input,
            engine::r9_medical_stop(input, &[]),
            Rule::R9,
            "No medical warning signs.",
        ),
        not_applicable(
            Rule::R10,
            "Rest days shape today's session (see today's plan), not the step you are at.",
            value(NothingWeighed {}),
        ),
        r11(input),
    ];
    for c in &mut checks {
        c.decided = recommendation.reasons.iter().any(|f| {
            f.rule == c.rule.as_str() || (c.rule == Rule::R1 && f.rule == Rule::Gate.as_str())
        }) && c.rule != Rule::R5;
    }
    checks
}

#[cfg(test)]
mod tests;
