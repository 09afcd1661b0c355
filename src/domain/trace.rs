//! Why the engine decided what it did, rule by rule: every numbered rule R1–R11 in order, what
//! it says on its own (`pass`, `hold`, `regress`, `refer`, `stop` or `not_applicable` where it
//! has nothing to weigh), whether it applied, whether it is behind the decision, a message for
//! her, and the inputs it used (the sessions and reports it counted, the windows, the gate
//! dates) for her coach. The engine stores one with every run, so a past decision can be
//! explained later with what was known then.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::engine::{self, Decision, EngineInput, Recommendation, ReportFact};
use super::plan::{earliest_day, next_step, Step};
use super::program::StageKey;
use super::recovery;
use super::rules::Rule;
use super::triage::Finding;

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
    "inputs": {"this_week_minutes": 30.0, "last_week_minutes": 24.0, "cap_minutes": 26.4}
}))]
pub struct RuleCheck {
    /// `R1` … `R11`, in this order.
    #[schema(example = "R4")]
    pub rule: String,
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

fn step_json(step: Step) -> Value {
    json!({"stage": step.stage.as_str(), "level": step.level})
}

fn report_json(r: &ReportFact) -> Value {
    json!({"id": r.id, "date": r.date, "timing": r.timing.as_str(), "level": r.level.as_str(), "max_pain": r.max_pain})
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
        rule: rule.as_str().into(),
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
            json!({"next": next_step(input.stages, here).map(step_json)}),
        );
    };
    let gate = stage.entry_gate;
    let facts = input.client;
    let earliest = earliest_day(stage, facts);
    let days_to_go = earliest - facts.days_postpartum;
    let inputs = json!({
        "next_stage": stage.key.as_str(),
        "min_days_postpartum": earliest,
        "days_postpartum": facts.days_postpartum,
        "earliest_on": input.today + Duration::days(days_to_go.max(0)),
        "individual_jogging_gate_day": facts.jogging_gate_day.filter(|_| stage.key == StageKey::Jogging),
        "requires_clearance": gate.requires_clearance,
        "cleared_for_exercise": facts.cleared_for_exercise,
        "delivery_type": facts.delivery_type.as_str(),
        "requires_scar_clearance": gate.for_delivery(facts.delivery_type).is_some_and(|d| d.requires_scar_clearance),
        "caesarean_scar_cleared": facts.caesarean_scar_cleared,
        "open_red_flag": input.open_flags.iter().any(|l| l.is_red()),
    });
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
            json!({}),
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
    let inputs = json!({
        "min_sessions": needed,
        "completed_count": done.len(),
        "completed_sessions": counted.iter().map(|s| json!({"id": s.id, "performed_on": s.performed_on})).collect::<Vec<_>>(),
        "last_sessions": recent.iter().map(|s| s.id).collect::<Vec<_>>(),
        "reports": weighed.iter().map(|r| report_json(r)).collect::<Vec<_>>(),
        "readiness_tests": stage.readiness_tests.iter().map(|t| t.key).collect::<Vec<_>>(),
    });
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
            json!({"from": step_json(here), "next": next.map(step_json)}),
        )
    }
}

fn r4(input: &EngineInput) -> RuleCheck {
    let inputs = json!({
        "this_week_minutes": minutes(input.running_minutes_this_week),
        "last_week_minutes": minutes(input.running_minutes_last_week),
        "cap_minutes": (input.running_minutes_last_week > 0.0)
            .then(|| minutes(engine::weekly_volume_cap(input.running_minutes_last_week))),
        "this_week_from": input.today - Duration::days(6),
        "last_week_from": engine::fortnight_start(input.today),
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
    let inputs = json!({"latest_report": engine::latest(input).as_ref().map(report_json)});
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
    let inputs = json!({"last_reports": last_two.iter().map(report_json).collect::<Vec<_>>()});
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
    let inputs = json!({
        "max_pain_this_week": input.max_pain_this_week,
        "max_pain_last_week": input.max_pain_last_week,
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
    let inputs = json!({
        "latest_report": engine::latest(input).as_ref().map(report_json),
        "open_flags": input.open_flags.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
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
    let inputs = serde_json::to_value(&week).unwrap_or(Value::Null);
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
            json!({}),
        ),
        r11(input),
    ];
    for c in &mut checks {
        c.decided = recommendation
            .reasons
            .iter()
            .any(|f| f.rule == c.rule || (c.rule == "R1" && f.rule == Rule::Gate.as_str()))
            && c.rule != "R5";
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::ClientFacts;
    use crate::domain::engine::{recommend, SessionFact};
    use crate::domain::plan::{PlanState, PlanStatus};
    use crate::domain::program::{default_stages, Stage};
    use crate::domain::recovery::CheckInFact;
    use crate::domain::triage::{Timing, TriageLevel};
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    struct Case {
        stages: Vec<Stage>,
        plan: PlanState,
        sessions: Vec<SessionFact>,
        reports: Vec<ReportFact>,
        open_flags: Vec<TriageLevel>,
        check_ins: Vec<CheckInFact>,
        days_postpartum: i64,
    }

    impl Case {
        fn new(stage: StageKey, level: Option<u32>) -> Self {
            Case {
                stages: default_stages(),
                plan: PlanState {
                    step: Step { stage, level },
                    status: PlanStatus::Active,
                },
                sessions: vec![],
                reports: vec![],
                open_flags: vec![],
                check_ins: vec![],
                days_postpartum: 120,
            }
        }

        fn explained(&self) -> (Recommendation, Vec<RuleCheck>) {
            let input = EngineInput {
                today: d("2026-11-24"),
                client: ClientFacts::new(self.days_postpartum, true),
                plan: self.plan,
                stages: &self.stages,
                sessions: &self.sessions,
                reports: &self.reports,
                readiness: &[],
                open_flags: &self.open_flags,
                running_minutes_this_week: 18.0,
                running_minutes_last_week: 18.0,
                max_pain_this_week: 0,
                max_pain_last_week: 0,
                check_ins: &self.check_ins,
            };
            let r = recommend(&input);
            let trace = explain(&input, &r);
            (r, trace)
        }
    }

    fn session(id: u128, day: &str) -> SessionFact {
        SessionFact {
            id: Uuid::from_u128(id),
            performed_on: d(day),
            completed: true,
            running_minutes: 9.0,
        }
    }

    fn report(id: u128, day: &str, timing: Timing, level: TriageLevel) -> ReportFact {
        ReportFact {
            id: Uuid::from_u128(id),
            date: d(day),
            timing,
            level,
            max_pain: 0,
            pelvic_symptom: false,
        }
    }

    fn of<'a>(trace: &'a [RuleCheck], rule: &str) -> &'a RuleCheck {
        trace.iter().find(|c| c.rule == rule).unwrap()
    }

    #[test]
    fn an_advance_is_r2_and_r3_with_the_sessions_and_reports_it_counted() {
        let mut case = Case::new(StageKey::Jogging, Some(2));
        case.sessions = vec![session(1, "2026-11-20"), session(2, "2026-11-22")];
        case.reports = vec![
            report(11, "2026-11-21", Timing::NextDay, TriageLevel::Green),
            report(12, "2026-11-23", Timing::NextDay, TriageLevel::Green),
        ];
        let (r, trace) = case.explained();
        assert_eq!(r.decision, Decision::Advance);
        let decided: Vec<&str> = trace
            .iter()
            .filter(|c| c.decided)
            .map(|c| c.rule.as_str())
            .collect();
        assert_eq!(decided, ["R2", "R3"]);
        let r2 = of(&trace, "R2");
        assert_eq!(r2.outcome, Outcome::Pass);
        assert_eq!(
            r2.inputs["completed_sessions"][1]["id"],
            json!(Uuid::from_u128(2))
        );
        assert_eq!(r2.inputs["reports"][0]["date"], json!("2026-11-21"));
        assert_eq!(
            of(&trace, "R3").inputs["next"],
            json!({"stage": "jogging", "level": 3})
        );
        assert_eq!(of(&trace, "R4").inputs["cap_minutes"], json!(19.8));
        assert_eq!(of(&trace, "R10").outcome, Outcome::NotApplicable);
    }

    #[test]
    fn a_hold_marks_every_rule_behind_it_and_a_red_flag_the_one_that_decided() {
        let mut case = Case::new(StageKey::Jogging, Some(2));
        case.sessions = vec![session(1, "2026-11-20")];
        let (r, trace) = case.explained();
        assert_eq!(r.decision, Decision::Hold);
        let r2 = of(&trace, "R2");
        assert!(r2.decided && r2.applied);
        assert_eq!(r2.outcome, Outcome::Hold);
        assert!(r2.message.contains("1 of 2 sessions"));

        case.reports = vec![report(
            13,
            "2026-11-23",
            Timing::DailyLife,
            TriageLevel::RedMedical,
        )];
        let (r, trace) = case.explained();
        assert_eq!(r.decision, Decision::Stop);
        let decided: Vec<&str> = trace
            .iter()
            .filter(|c| c.decided)
            .map(|c| c.rule.as_str())
            .collect();
        assert_eq!(decided, ["R9"]);
        assert_eq!(of(&trace, "R9").outcome, Outcome::Stop);
        assert_eq!(
            of(&trace, "R2").outcome,
            Outcome::Hold,
            "each rule still says its own part"
        );
        assert!(!of(&trace, "R2").decided);
    }

    #[test]
    fn a_long_stay_at_a_step_keeps_the_trace_small() {
        let mut case = Case::new(StageKey::Jogging, Some(2));
        let start = d("2026-06-01");
        case.sessions = (0..300u128)
            .map(|i| SessionFact {
                performed_on: start + Duration::days(i as i64 / 2),
                ..session(i, "2026-06-01")
            })
            .collect();
        case.reports = (0..600u128)
            .map(|i| ReportFact {
                date: start + Duration::days(i as i64 / 4),
                ..report(1000 + i, "2026-06-01", Timing::NextDay, TriageLevel::Green)
            })
            .collect();
        let (_, trace) = case.explained();
        let r2 = of(&trace, "R2");
        assert_eq!(r2.inputs["completed_count"], 300);
        assert_eq!(r2.inputs["completed_sessions"].as_array().unwrap().len(), 2);
        assert!(r2.inputs["reports"].as_array().unwrap().len() <= TRACE_REPORTS);
        let last = &r2.inputs["completed_sessions"][1]["id"];
        assert_eq!(last, &json!(Uuid::from_u128(299)));
        assert!(serde_json::to_string(&trace).unwrap().len() < 8_000);
    }

    #[test]
    fn the_next_stage_gate_is_r1_with_its_dates() {
        let mut case = Case::new(StageKey::Lunges, None);
        case.days_postpartum = 80;
        case.sessions = vec![session(1, "2026-11-20"), session(2, "2026-11-22")];
        let (_, trace) = case.explained();
        let r1 = of(&trace, "R1");
        assert_eq!(r1.outcome, Outcome::Hold);
        assert!(r1.decided);
        assert_eq!(r1.inputs["min_days_postpartum"], 84);
        assert_eq!(r1.inputs["earliest_on"], json!("2026-11-28"));
        let (_, trace) = Case::new(StageKey::Jogging, Some(2)).explained();
        assert_eq!(of(&trace, "R1").outcome, Outcome::NotApplicable);
    }

    #[test]
    fn poor_recovery_is_r11() {
        let mut case = Case::new(StageKey::Jogging, Some(2));
        case.check_ins = vec![CheckInFact {
            id: Uuid::from_u128(21),
            date: d("2026-11-23"),
            sleep_hours: 4.5,
            fatigue: 3,
            breastfeeding: None,
            periods_returned: None,
            running_worry: None,
        }];
        let (_, trace) = case.explained();
        let r11 = of(&trace, "R11");
        assert_eq!(r11.outcome, Outcome::Hold);
        assert!(r11.decided);
        assert_eq!(r11.inputs["check_in_ids"], json!([Uuid::from_u128(21)]));
        assert_eq!(r11.inputs["average_sleep_hours"], json!(4.5));
    }

    proptest! {
        /// Whatever the input, the trace names every rule once, R1 to R11 in order; every
        /// reason of the decision (but R5's advice and the plan's own) is a rule marked as
        /// deciding, and a rule marked as deciding is one of the reasons.
        #[test]
        fn every_rule_once_in_order_and_the_deciders_marked(
            level in 1u32..=8,
            stage in 0usize..4,
            sessions in proptest::collection::vec((0i64..8, any::<bool>()), 0..4),
            reports in proptest::collection::vec((0i64..8, 0usize..4, 0usize..4), 0..4),
            flags in proptest::collection::vec(0usize..4, 0..2),
            nights in proptest::collection::vec((0i64..7, 3.0f32..9.0, 0u8..=10), 0..4),
            days_postpartum in 20i64..150,
            paused in any::<bool>(),
        ) {
            let levels = [TriageLevel::Green, TriageLevel::Amber, TriageLevel::RedPelvic, TriageLevel::RedMedical];
            let timings = [Timing::During, Timing::ImmediatelyAfter, Timing::NextDay, Timing::DailyLife];
            let stages = default_stages();
            let key = stages[stage].key;
            let mut case = Case::new(key, (key == StageKey::Jogging).then_some(level));
            case.days_postpartum = days_postpartum;
            if paused { case.plan.status = PlanStatus::Paused; }
            let today = d("2026-11-24");
            case.sessions = sessions.iter().enumerate().map(|(i, (back, completed))| SessionFact {
                completed: *completed,
                performed_on: today - Duration::days(*back),
                ..session(i as u128, "2026-11-24")
            }).collect();
            case.sessions.sort_by_key(|s| s.performed_on);
            case.reports = reports.iter().enumerate().map(|(i, (back, t, l))| ReportFact {
                date: today - Duration::days(*back),
                ..report(100 + i as u128, "2026-11-24", timings[*t], levels[*l])
            }).collect();
            case.reports.sort_by_key(|r| r.date);
            case.open_flags = flags.iter().map(|i| levels[*i]).collect();
            case.check_ins = nights.iter().map(|(back, sleep, fatigue)| CheckInFact {
                id: Uuid::nil(), date: today - Duration::days(*back), sleep_hours: *sleep, fatigue: *fatigue,
                breastfeeding: None, periods_returned: None, running_worry: None,
            }).collect();
            let (r, trace) = case.explained();
            let rules: Vec<&str> = trace.iter().map(|c| c.rule.as_str()).collect();
            prop_assert_eq!(rules, ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11"]);
            for reason in &r.reasons {
                let row = if reason.rule == "GATE" { "R1" } else { reason.rule.as_str() };
                if row != "R5" && row != "PLAN" {
                    prop_assert!(of(&trace, row).decided, "{} is a reason but not marked", row);
                }
            }
            for c in trace.iter().filter(|c| c.decided) {
                prop_assert!(r.reasons.iter().any(|f| f.rule == c.rule || (c.rule == "R1" && f.rule == "GATE")));
                prop_assert!(c.outcome != Outcome::NotApplicable);
            }
            for c in trace.iter().filter(|c| matches!(c.outcome, Outcome::Hold | Outcome::Regress | Outcome::Refer | Outcome::Stop)) {
                prop_assert!(c.applied);
            }
        }
    }
}
