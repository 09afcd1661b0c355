use super::*;
use crate::domain::program::default_stages;

pub(super) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(super) fn green(date: &str, timing: Timing) -> ReportFact {
    ReportFact {
        id: Uuid::nil(),
        session_id: None,
        date: d(date),
        timing,
        level: TriageLevel::Green,
        max_pain: 0,
        pelvic_symptom: false,
    }
}

pub(super) fn run(date: &str, minutes: f32) -> SessionFact {
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
pub(super) struct Case {
    pub(super) stages: Vec<Stage>,
    pub(super) plan: PlanState,
    pub(super) client: ClientFacts,
    pub(super) sessions: Vec<SessionFact>,
    pub(super) reports: Vec<ReportFact>,
    pub(super) readiness: Vec<ReadinessFact>,
    pub(super) open_flags: Vec<TriageLevel>,
    pub(super) this_week: f32,
    pub(super) last_week: f32,
    pub(super) check_ins: Vec<CheckInFact>,
}

impl Case {
    pub(super) fn jogging(level: u32) -> Self {
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

    pub(super) fn run(&self) -> Recommendation {
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
fn safety_moves_apply_themselves_advances_only_with_auto_progress() {
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
    // SPEC §1.8: a drop of one level is a move toward safety and applies itself, whatever
    // `auto_progress` says (before §1.8 it waited for a coach).
    let regress = rec(Decision::Regress, StageKey::Jogging, Some(2));
    for auto in [false, true] {
        assert_eq!(
            applies_itself(&regress, state, &stages, auto),
            Some((Regress, jogging(2)))
        );
    }
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
        session_id: None,
        level: TriageLevel::Amber,
        max_pain: 3,
        ..green("2026-11-24", Timing::During)
    });
    let r = case.run();
    assert_eq!(r.decision, Decision::Hold);
    assert!(rules(&r).contains(&"R6") && rules(&r).contains(&"R5"));
    case.reports.push(ReportFact {
        id: Uuid::nil(),
        session_id: None,
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
        session_id: None,
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
        session_id: None,
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
        session_id: None,
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
        session_id: None,
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
                confirmed: true,
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
        session_id: None,
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
