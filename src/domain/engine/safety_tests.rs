//! The engine under the safety revision (SPEC §1.8): silence never moves her on, and the tests
//! that open jogging count only when staff recorded or confirmed them.

use super::tests::{green, run, Case};
use super::*;
use crate::domain::program::{default_stages, ReadinessTestKey};

fn crawling_case(sessions: &[&str], reports: Vec<ReportFact>) -> Case {
    Case {
        plan: PlanState {
            step: Step {
                stage: StageKey::Crawling,
                level: None,
            },
            status: PlanStatus::Active,
        },
        sessions: sessions.iter().map(|day| run(day, 0.0)).collect(),
        reports,
        this_week: 0.0,
        last_week: 0.0,
        ..Case::jogging(1)
    }
}

#[test]
fn silence_is_never_green_three_crawling_sessions_and_no_report_hold() {
    let days = ["2026-11-18", "2026-11-20", "2026-11-22"];
    let r = crawling_case(&days, vec![]).run();
    assert_eq!(r.decision, Decision::Hold, "{r:?}");
    assert!(
        r.reasons.iter().any(|f| f.rule == "R2"
            && f.message
                .contains("No report yet for your session of 22 Nov")),
        "{r:?}"
    );
    // A green report about each session (the same day, the next day, or naming it) moves her
    // on.
    let mut named = green("2026-11-25", Timing::DailyLife);
    named.session_id = Some(Uuid::from_u128(3));
    let mut case = crawling_case(
        &days,
        vec![
            green("2026-11-18", Timing::ImmediatelyAfter),
            green("2026-11-21", Timing::NextDay),
            named,
        ],
    );
    case.sessions[2].id = Uuid::from_u128(3);
    assert_eq!(case.run().decision, Decision::Advance, "{:?}", case.run());
    // A report in daily life is not about a session, and a report naming another session is
    // not about this one.
    case.reports[2].session_id = Some(Uuid::from_u128(4));
    assert_eq!(case.run().decision, Decision::Hold);
    case.reports[2] = green("2026-11-22", Timing::DailyLife);
    assert_eq!(case.run().decision, Decision::Hold);
}

#[test]
fn a_session_with_an_amber_report_about_it_does_not_count() {
    let days = ["2026-11-16", "2026-11-18", "2026-11-20", "2026-11-22"];
    let mut amber = green("2026-11-16", Timing::ImmediatelyAfter);
    amber.level = TriageLevel::Amber;
    let case = crawling_case(
        &days,
        vec![
            amber,
            green("2026-11-19", Timing::NextDay),
            green("2026-11-22", Timing::ImmediatelyAfter),
        ],
    );
    let r = case.run();
    // The 16th's report is amber and the 20th has none: two of the three needed count.
    assert_eq!(r.decision, Decision::Hold, "{r:?}");
    assert!(r
        .reasons
        .iter()
        .any(|f| f.message.contains("2 of 3 sessions")));
}

/// At lunges past day 84, two sessions logged, every lunges test passed (`confirmed` says
/// which staff confirmed), with `reports`.
fn at_lunges(reports: Vec<ReportFact>, confirmed: impl Fn(ReadinessTestKey) -> bool) -> Case {
    let mut case = Case::jogging(1);
    case.plan.step = Step {
        stage: StageKey::Lunges,
        level: None,
    };
    case.sessions = vec![run("2026-11-20", 0.0), run("2026-11-22", 0.0)];
    case.reports = reports;
    case.readiness = default_stages()[2]
        .readiness_tests
        .iter()
        .map(|t| ReadinessFact {
            test: t.key,
            side: TestSide::Both,
            passed: true,
            confirmed: confirmed(t.key),
        })
        .collect();
    case
}

#[test]
fn two_lunges_sessions_without_reports_never_open_jogging() {
    let case = at_lunges(vec![], |_| true);
    let r = case.run();
    assert_eq!(r.decision, Decision::Hold, "{r:?}");
    assert_eq!(
        r.reasons
            .iter()
            .filter(|f| f.message.starts_with("No report yet"))
            .count(),
        2
    );
}

#[test]
fn the_tests_that_open_jogging_count_only_when_staff_recorded_or_confirmed_them() {
    let reports = vec![
        green("2026-11-20", Timing::ImmediatelyAfter),
        green("2026-11-22", Timing::ImmediatelyAfter),
    ];
    let mut case = at_lunges(reports, |key| key != ReadinessTestKey::HopInPlace);
    let r = case.run();
    assert_eq!(r.decision, Decision::Hold, "{r:?}");
    assert!(
        r.reasons.iter().any(|f| f.rule == "R2"
            && f.message == "Readiness tests awaiting your coach's confirmation: Hop in place."),
        "{r:?}"
    );
    case.readiness.iter_mut().for_each(|t| t.confirmed = true);
    assert_eq!(case.run().decision, Decision::Advance);
    // Below the gate into jogging, her own results count as they are.
    case.plan.step.stage = StageKey::WalkingHills;
    case.readiness = default_stages()[1]
        .readiness_tests
        .iter()
        .map(|t| ReadinessFact {
            test: t.key,
            side: TestSide::Both,
            passed: true,
            confirmed: false,
        })
        .collect();
    assert_eq!(case.run().decision, Decision::Advance, "{:?}", case.run());
}
