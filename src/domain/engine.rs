//! The progression engine: pure and deterministic. Given the client, her plan, what she did
//! and reported at the current step, and today's date, it recommends `advance`, `hold`,
//! `regress`, `refer` or `stop`, with the rules behind it (R1–R10 of the method).
//!
//! "Keep your fingers on the pulse of your symptoms and make adjustments."

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client::ClientFacts;
use super::plan::{check_entry_gate, next_step, previous_step, PlanState, PlanStatus, Step};
use super::program::{ReadinessTestKey, Stage, StageKey};
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
    pub performed_on: NaiveDate,
    pub completed: bool,
    /// Running minutes of the session (jogging), for the weekly volume.
    pub running_minutes: f32,
}

/// A triaged report at the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportFact {
    /// The day the symptoms were about (for `next_day`, the morning after the session).
    pub date: NaiveDate,
    pub timing: Timing,
    pub level: TriageLevel,
    pub max_pain: u8,
    pub pelvic_symptom: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// R4: the most running a week may hold, given last week's.
pub fn weekly_volume_cap(last_week_minutes: f32) -> f32 {
    (last_week_minutes * 1.10).max(last_week_minutes + 1.0)
}

fn reason(rule: &str, message: impl Into<String>) -> Finding {
    Finding {
        rule: rule.into(),
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

/// The recommendation for the plan today.
pub fn recommend(input: &EngineInput) -> Recommendation {
    let here = input.plan.step;
    let mut notes = Vec::new();
    let latest = input.reports.last();

    // R5: symptoms during a run mean walking the rest of it.
    if let Some(r) = latest {
        if r.timing == Timing::During
            && here.stage == StageKey::Jogging
            && r.level >= TriageLevel::Amber
        {
            notes.push(reason(
                "R5",
                "Symptoms during a run: walk the rest of that run.",
            ));
        }
    }

    // R9: anything medical stops everything.
    let medical = latest.is_some_and(|r| r.level == TriageLevel::RedMedical)
        || input.open_flags.contains(&TriageLevel::RedMedical);
    if medical {
        let mut reasons = vec![reason("R9", "A medical warning sign: stop all exercise and get medical care today. Your coach will resume the plan when it is safe.")];
        reasons.extend(notes);
        return at(here, Decision::Stop, reasons);
    }
    // R8: pelvic red flags refer to a physiotherapist; no impact meanwhile.
    let pelvic = latest.is_some_and(|r| r.level == TriageLevel::RedPelvic)
        || input.open_flags.contains(&TriageLevel::RedPelvic);
    if pelvic {
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
        let mut reasons = vec![reason("R8", "Pelvic symptoms that need a pelvic-health physiotherapist: no running or other impact until you have been seen and your coach moves the plan on.")];
        reasons.extend(notes);
        return at(target, Decision::Refer, reasons);
    }

    if input.plan.status != PlanStatus::Active {
        return at(
            here,
            Decision::Hold,
            vec![reason(
                "PLAN",
                format!(
                    "The plan is {}; nothing moves until a coach changes that.",
                    input.plan.status.as_str()
                ),
            )],
        );
    }

    // R6: amber signs repeat or drop the step.
    let ambers_in_a_row = input.reports.len() >= 2
        && input.reports[input.reports.len() - 2..]
            .iter()
            .all(|r| r.level >= TriageLevel::Amber);
    let amber_next_day =
        latest.is_some_and(|r| r.level >= TriageLevel::Amber && r.timing == Timing::NextDay);
    let severe_pain = latest.is_some_and(|r| r.max_pain >= 6);
    if ambers_in_a_row || amber_next_day || severe_pain {
        let why = if severe_pain {
            "Pain of 6 or more"
        } else if amber_next_day {
            "Symptoms still there the next day"
        } else {
            "Two amber reports in a row at this step"
        };
        return match (here.stage, here.level) {
            (StageKey::Jogging, Some(level)) if level > 1 => {
                let mut reasons = vec![reason("R6", format!("{why}: drop back one level."))];
                reasons.extend(notes);
                at(
                    previous_step(input.stages, here).unwrap_or(here),
                    Decision::Regress,
                    reasons,
                )
            }
            _ => {
                let mut reasons = vec![reason(
                    "R6",
                    format!("{why}: repeat this step (there is no lower level to drop to)."),
                )];
                reasons.extend(notes);
                at(here, Decision::Hold, reasons)
            }
        };
    }

    let mut holds = Vec::new();
    if latest.is_some_and(|r| r.level == TriageLevel::Amber) {
        holds.push(reason(
            "R6",
            "An amber report at this step: repeat it before moving on.",
        ));
    }
    // R7: pain may not climb week on week.
    if input.max_pain_last_week > 0 && input.max_pain_this_week > input.max_pain_last_week {
        holds.push(reason(
            "R7",
            "Pain is higher than last week: hold until it settles.",
        ));
    }

    // R2: enough green sessions at this step, and the stage's exit criteria.
    let Some(stage) = input.stages.iter().find(|s| s.key == here.stage) else {
        return at(
            here,
            Decision::Hold,
            vec![reason("PLAN", "The plan's stage is not in its program.")],
        );
    };
    let done: Vec<&SessionFact> = input.sessions.iter().filter(|s| s.completed).collect();
    let needed = stage.min_sessions.max(1) as usize;
    if done.len() < needed {
        holds.push(reason(
            "R2",
            format!("{} of {needed} sessions done at this step.", done.len()),
        ));
    }
    let recent = &done[done.len().saturating_sub(2)..];
    if let Some(first) = recent.first() {
        let since = first.performed_on;
        if input
            .reports
            .iter()
            .any(|r| r.date >= since && r.level != TriageLevel::Green)
        {
            holds.push(reason("R2", "The last sessions were not all green."));
        }
    }
    if here.stage == StageKey::Jogging {
        // Each run needs a green report the next morning.
        for run in recent {
            let next_morning = run.performed_on + Duration::days(1);
            let green = input.reports.iter().any(|r| {
                r.timing == Timing::NextDay
                    && r.date == next_morning
                    && r.level == TriageLevel::Green
            });
            if !green {
                holds.push(reason(
                    "R2",
                    format!(
                        "No green next-day report yet for the run of {}.",
                        run.performed_on
                    ),
                ));
            }
        }
        // R4: weekly running volume grows by at most 10 % or 1 minute.
        if input.running_minutes_last_week > 0.0
            && input.running_minutes_this_week > weekly_volume_cap(input.running_minutes_last_week)
        {
            holds.push(reason("R4", "Your running time this week already grew as much as it should; stay at this level for now."));
        }
    }
    if let Err(missing) = readiness_passed(stage, input.readiness) {
        holds.push(reason(
            "R2",
            format!("Readiness tests still to pass: {missing}."),
        ));
    }

    let next = next_step(input.stages, here);
    if let Some(next) = next.filter(|n| n.stage != here.stage) {
        let entering = input
            .stages
            .iter()
            .find(|s| s.key == next.stage)
            .expect("next stage exists");
        let red_flag = input.open_flags.iter().any(|l| l.is_red());
        if let Err(super::plan::TransitionError::Gate { rule, message }) =
            check_entry_gate(entering, input.client, red_flag)
        {
            holds.push(reason(rule, message));
        }
    }

    if !holds.is_empty() {
        holds.extend(notes);
        return at(here, Decision::Hold, holds);
    }
    let mut reasons = vec![reason(
        "R2",
        "Enough green sessions at this step and its exit criteria met.",
    )];
    reasons.extend(notes);
    match next {
        Some(step) => {
            reasons.push(reason("R3", "One step at a time."));
            at(step, Decision::Advance, reasons)
        }
        None => Recommendation {
            completes_plan: true,
            reasons: {
                reasons.push(reason(
                    "R2",
                    "The last level is done, green, twice: the plan is complete.",
                ));
                reasons
            },
            ..at(here, Decision::Advance, vec![])
        },
    }
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
            date: d(date),
            timing,
            level: TriageLevel::Green,
            max_pain: 0,
            pelvic_symptom: false,
        }
    }

    fn run(date: &str, minutes: f32) -> SessionFact {
        SessionFact {
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
    }

    impl Case {
        fn jogging(level: u32) -> Self {
            Self {
                stages: default_stages(),
                plan: jogging(level),
                client: ClientFacts {
                    days_postpartum: 120,
                    cleared_for_exercise: true,
                },
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
            })
        }
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
            level: TriageLevel::Amber,
            max_pain: 3,
            ..green("2026-11-24", Timing::During)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R6") && rules(&r).contains(&"R5"));
        case.reports.push(ReportFact {
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
            level: TriageLevel::RedPelvic,
            pelvic_symptom: true,
            ..green("2026-11-24", Timing::NextDay)
        });
        let r = case.run();
        assert_eq!(r.decision, Decision::Refer);
        assert_eq!((r.target_stage, r.target_level), (StageKey::Lunges, None));
        assert_eq!(rules(&r)[0], "R8");
        case.reports.push(ReportFact {
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
            client: ClientFacts {
                days_postpartum: 120,
                cleared_for_exercise: true,
            },
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
        });
        assert_eq!(r.decision, Decision::Hold);
        assert!(rules(&r).contains(&"R7"));
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
                performed_on: d("2026-11-10") + Duration::days(day), completed, running_minutes: 10.0,
            }).collect();
            sessions.sort_by_key(|s| s.performed_on);
            (Case {
                stages: default_stages(),
                plan: PlanState { step, status: PlanStatus::Active },
                client: ClientFacts { days_postpartum: days, cleared_for_exercise: cleared },
                sessions,
                reports,
                readiness,
                open_flags: flags.into_iter().map(|i| [TriageLevel::Green, TriageLevel::Amber, TriageLevel::RedPelvic, TriageLevel::RedMedical][i]).collect(),
                this_week,
                last_week,
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
