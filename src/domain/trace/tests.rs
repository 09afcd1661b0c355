use super::*;
use crate::domain::client::ClientFacts;
use crate::domain::engine::{recommend, SessionFact};
use crate::domain::plan::Step;
use crate::domain::plan::{PlanState, PlanStatus};
use crate::domain::program::{default_stages, Stage};
use crate::domain::recovery::CheckInFact;
use crate::domain::triage::{Timing, TriageLevel};
use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::json;
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
        session_id: None,
        date: d(day),
        timing,
        level,
        max_pain: 0,
        pelvic_symptom: false,
    }
}

fn of<'a>(trace: &'a [RuleCheck], rule: &str) -> &'a RuleCheck {
    trace.iter().find(|c| c.rule.as_str() == rule).unwrap()
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
            prop_assert!(r.reasons.iter().any(|f| f.rule == c.rule.as_str() || (c.rule == Rule::R1 && f.rule == "GATE")));
            prop_assert!(c.outcome != Outcome::NotApplicable);
        }
        for c in trace.iter().filter(|c| matches!(c.outcome, Outcome::Hold | Outcome::Regress | Outcome::Refer | Outcome::Stop)) {
            prop_assert!(c.applied);
        }
    }
}
