//! Properties of today's prescription over random histories (SPEC §1.8: today obeys safety).

use super::*;
use crate::domain::engine::{over_weekly_cap, weekly_volume_cap, weeks, Decision, Recommendation};
use crate::domain::plan::Step;
use crate::domain::program::default_stages;
use proptest::prelude::*;

fn day(offset: i64) -> NaiveDate {
    "2026-11-25".parse::<NaiveDate>().unwrap() + Duration::days(offset)
}

prop_compose! {
    fn arb_day()(
        level in 1u32..=18,
        stage in 0usize..4,
        runs in proptest::collection::vec((-13i64..=0, 1u32..=30), 0..10),
        flag in 0usize..3,
        paused in proptest::bool::weighted(0.1),
    ) -> (PlanState, usize, Recent) {
        let stages = default_stages();
        let key = stages[stage].key;
        let state = PlanState {
            step: Step { stage: key, level: (key == StageKey::Jogging).then_some(level) },
            status: if paused { PlanStatus::Paused } else { PlanStatus::Active },
        };
        let recent = Recent {
            runs: runs.into_iter().map(|(d, m)| (day(d), m as f32)).collect(),
            open_red_flag: [None, Some(TriageLevel::RedPelvic), Some(TriageLevel::RedMedical)][flag],
        };
        (state, stage, recent)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// An open red flag never gets a session, let alone a run.
    #[test]
    fn an_open_red_flag_never_gets_an_impact_session((state, stage, recent) in arb_day()) {
        let stages = default_stages();
        let p = prescribe(state, &stages[stage], ClientFacts::new(120, true), day(0), &recent, None);
        if recent.open_red_flag.is_some() {
            prop_assert!(p.run.is_none() && p.exercises.is_empty());
            prop_assert_ne!(p.kind, DayKind::Session);
        }
    }

    /// A run prescribed never takes the week (today and the six days before) over R4's cap,
    /// when there was running the week before.
    #[test]
    fn a_run_never_takes_the_week_over_the_cap((state, stage, recent) in arb_day()) {
        let stages = default_stages();
        let p = prescribe(state, &stages[stage], ClientFacts::new(120, true), day(0), &recent, None);
        if let Some(run) = &p.run {
            let this_week: f32 = recent.runs.iter().filter(|(d, _)| *d >= day(-6)).map(|(_, m)| m).sum();
            let last_week: f32 = recent.runs.iter().filter(|(d, _)| *d < day(-6)).map(|(_, m)| m).sum();
            if last_week > 0.0 {
                prop_assert!(this_week + run.running_minutes <= weekly_volume_cap(last_week) + 1e-3,
                    "{} + {} over the cap of {}", this_week, run.running_minutes, weekly_volume_cap(last_week));
            }
        }
    }

    /// Hazard H4: today agrees with the engine's R4. Whenever the engine, over the same runs,
    /// holds her because the week is past the cap, today prescribes no run.
    #[test]
    fn when_the_engine_holds_for_r4_today_has_no_run((state, stage, recent) in arb_day()) {
        let stages = default_stages();
        let p = prescribe(state, &stages[stage], ClientFacts::new(120, true), day(0), &recent, None);
        let w = weeks(day(0), recent.runs.iter().copied(), std::iter::empty());
        if over_weekly_cap(w.running_this, w.running_last) {
            prop_assert!(p.run.is_none(), "{} minutes this week, {} last: {}", w.running_this, w.running_last, p.message);
        }
    }
}

#[test]
fn an_unapplied_regression_or_referral_is_what_today_prescribes() {
    let here = PlanState {
        step: Step {
            stage: StageKey::Jogging,
            level: Some(4),
        },
        status: PlanStatus::Active,
    };
    let rec = |decision, stage, level| Recommendation {
        decision,
        target_stage: stage,
        target_level: level,
        completes_plan: false,
        reasons: vec![],
    };
    let regress = rec(Decision::Regress, StageKey::Jogging, Some(3));
    assert_eq!(
        safety_step(here, Some(&regress)),
        Some(Step {
            stage: StageKey::Jogging,
            level: Some(3)
        })
    );
    let refer = rec(Decision::Refer, StageKey::Lunges, None);
    assert_eq!(
        safety_step(here, Some(&refer)).map(|s| s.stage),
        Some(StageKey::Lunges)
    );
    // Applied already, or not a move toward safety: nothing to change.
    let applied = rec(Decision::Regress, StageKey::Jogging, Some(4));
    assert_eq!(safety_step(here, Some(&applied)), None);
    let advance = rec(Decision::Advance, StageKey::Jogging, Some(5));
    assert_eq!(safety_step(here, Some(&advance)), None);
    assert_eq!(safety_step(here, None), None);
}
