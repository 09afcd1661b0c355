use super::*;
use crate::domain::client::DeliveryType;
use crate::domain::program::default_stages;

fn facts(days: i64, cleared: bool) -> ClientFacts {
    ClientFacts::new(days, cleared)
}

fn at(stage: StageKey, level: Option<u32>) -> PlanState {
    PlanState {
        step: Step { stage, level },
        status: PlanStatus::Active,
    }
}

fn request(action: TransitionAction) -> TransitionRequest {
    TransitionRequest {
        action,
        stage: None,
        level: None,
        override_gate: false,
    }
}

#[test]
fn advance_walks_the_stages_then_the_ladder_one_step_at_a_time() {
    let stages = default_stages();
    let ok = facts(120, true);
    let mut state = at(StageKey::Crawling, None);
    let mut seen = vec![];
    while let Ok(next) = apply_transition(
        state,
        &request(TransitionAction::Advance),
        &stages,
        ok,
        false,
    ) {
        seen.push((next.step.stage, next.step.level));
        state = next;
    }
    assert_eq!(seen[0], (StageKey::WalkingHills, None));
    assert_eq!(seen[2], (StageKey::Jogging, Some(1)));
    assert_eq!(seen.last().unwrap(), &(StageKey::Jogging, Some(18)));
    assert_eq!(seen.len(), 3 + 17);
}

#[test]
fn the_jogging_gate_holds_for_coaches_at_day_83_but_not_84() {
    let stages = default_stages();
    let lunges = at(StageKey::Lunges, None);
    let advance = request(TransitionAction::Advance);
    let err = apply_transition(lunges, &advance, &stages, facts(83, true), false).unwrap_err();
    assert!(matches!(err, TransitionError::Gate { rule: Rule::R1, .. }));
    assert!(apply_transition(lunges, &advance, &stages, facts(84, true), false).is_ok());
    // Without clearance, or with an open red flag, no jogging either.
    assert!(apply_transition(lunges, &advance, &stages, facts(90, false), false).is_err());
    assert!(apply_transition(lunges, &advance, &stages, facts(90, true), true).is_err());
    // A coach may override, with a reason recorded by the caller.
    let mut forced = advance.clone();
    forced.override_gate = true;
    let state = apply_transition(lunges, &forced, &stages, facts(70, true), false).unwrap();
    assert_eq!(
        state.step,
        Step {
            stage: StageKey::Jogging,
            level: Some(1)
        }
    );
}

#[test]
fn no_stage_starts_before_day_21_not_even_with_an_override() {
    let stages = default_stages();
    let crawling = at(StageKey::Crawling, None);
    let mut forced = request(TransitionAction::Advance);
    forced.override_gate = true;
    let err = apply_transition(crawling, &forced, &stages, facts(20, true), false).unwrap_err();
    assert!(
        matches!(&err, TransitionError::Gate { rule: Rule::Gate, message } if message.contains("day 21"))
    );
    assert!(apply_transition(crawling, &forced, &stages, facts(21, true), false).is_ok());
    // A program or an individual gate below the floor does not lower it.
    let mut early = stages.clone();
    early[1].entry_gate.min_days_postpartum = 10;
    assert_eq!(earliest_day(&early[1], facts(15, true)), 21);
    let mut individual = facts(15, true);
    individual.jogging_gate_day = Some(14);
    assert_eq!(earliest_day(&stages[3], individual), 21);
}

#[test]
fn after_a_caesarean_lunges_and_jogging_wait_for_her_scar_to_be_cleared() {
    let stages = default_stages();
    let mut caesarean = facts(100, true);
    caesarean.delivery_type = DeliveryType::Caesarean;
    let advance = request(TransitionAction::Advance);
    let hills = at(StageKey::WalkingHills, None);
    let err = apply_transition(hills, &advance, &stages, caesarean, false).unwrap_err();
    assert!(matches!(&err, TransitionError::Gate { message, .. } if message.contains("scar")));
    let lunges = at(StageKey::Lunges, None);
    assert!(apply_transition(lunges, &advance, &stages, caesarean, false).is_err());
    caesarean.caesarean_scar_cleared = true;
    assert!(apply_transition(hills, &advance, &stages, caesarean, false).is_ok());
    assert!(apply_transition(lunges, &advance, &stages, caesarean, false).is_ok());
    // A vaginal birth never waits for it; walking hills never does.
    assert!(apply_transition(hills, &advance, &stages, facts(100, true), false).is_ok());
    let mut uncleared = caesarean;
    uncleared.caesarean_scar_cleared = false;
    let crawling = at(StageKey::Crawling, None);
    assert!(apply_transition(crawling, &advance, &stages, uncleared, false).is_ok());
}

#[test]
fn an_individual_jogging_date_moves_the_gate_both_ways_but_clearance_and_flags_still_hold() {
    let stages = default_stages();
    let lunges = at(StageKey::Lunges, None);
    let advance = request(TransitionAction::Advance);
    let mut earlier = facts(70, true);
    earlier.jogging_gate_day = Some(70);
    assert!(apply_transition(lunges, &advance, &stages, earlier, false).is_ok());
    assert!(
        apply_transition(lunges, &advance, &stages, earlier, true).is_err(),
        "red flag"
    );
    earlier.cleared_for_exercise = false;
    assert!(
        apply_transition(lunges, &advance, &stages, earlier, false).is_err(),
        "clearance"
    );
    let mut later = facts(100, true);
    later.jogging_gate_day = Some(120);
    let err = apply_transition(lunges, &advance, &stages, later, false).unwrap_err();
    assert!(
        matches!(&err, TransitionError::Gate { rule: Rule::R1, message } if message.contains("day 120"))
    );
    // Only jogging's gate moves.
    let mut hills = facts(25, true);
    hills.jogging_gate_day = Some(200);
    assert!(apply_transition(
        at(StageKey::Crawling, None),
        &advance,
        &stages,
        hills,
        false
    )
    .is_ok());
}

#[test]
fn regress_goes_back_one_level_then_one_stage() {
    let stages = default_stages();
    let regress = request(TransitionAction::Regress);
    let ok = facts(120, true);
    let s = apply_transition(at(StageKey::Jogging, Some(3)), &regress, &stages, ok, false).unwrap();
    assert_eq!(s.step.level, Some(2));
    let s = apply_transition(at(StageKey::Jogging, Some(1)), &regress, &stages, ok, false).unwrap();
    assert_eq!(
        s.step,
        Step {
            stage: StageKey::Lunges,
            level: None
        }
    );
    let e = apply_transition(at(StageKey::Crawling, None), &regress, &stages, ok, false);
    assert!(matches!(e, Err(TransitionError::Conflict(_))));
}

#[test]
fn statuses_move_only_where_they_can() {
    let stages = default_stages();
    let ok = facts(120, true);
    let active = at(StageKey::Lunges, None);
    let paused = apply_transition(
        active,
        &request(TransitionAction::Pause),
        &stages,
        ok,
        false,
    )
    .unwrap();
    assert_eq!(paused.status, PlanStatus::Paused);
    assert!(apply_transition(
        paused,
        &request(TransitionAction::Advance),
        &stages,
        ok,
        false
    )
    .is_err());
    assert!(apply_transition(
        paused,
        &request(TransitionAction::Pause),
        &stages,
        ok,
        false
    )
    .is_err());
    assert!(
        matches!(
            apply_transition(
                paused,
                &request(TransitionAction::Resume),
                &stages,
                ok,
                true
            ),
            Err(TransitionError::Gate { rule: Rule::R9, .. })
        ),
        "no resuming over an open red flag"
    );
    let resumed = apply_transition(
        paused,
        &request(TransitionAction::Resume),
        &stages,
        ok,
        false,
    )
    .unwrap();
    assert_eq!(resumed.status, PlanStatus::Active);
    let done = apply_transition(
        resumed,
        &request(TransitionAction::Complete),
        &stages,
        ok,
        false,
    )
    .unwrap();
    assert_eq!(done.status, PlanStatus::Completed);
    assert!(
        apply_transition(done, &request(TransitionAction::Resume), &stages, ok, false).is_err()
    );
    let stopped = apply_transition(
        active,
        &request(TransitionAction::Discharge),
        &stages,
        ok,
        false,
    )
    .unwrap();
    assert_eq!(stopped.status, PlanStatus::Stopped);
}

#[test]
fn set_needs_a_stage_and_a_level_only_when_jogging() {
    let stages = default_stages();
    let ok = facts(120, true);
    let state = at(StageKey::Lunges, None);
    let set = |stage, level| TransitionRequest {
        action: TransitionAction::Set,
        stage,
        level,
        override_gate: false,
    };
    assert!(matches!(
        apply_transition(state, &set(None, None), &stages, ok, false),
        Err(TransitionError::Invalid { field: "stage", .. })
    ));
    assert!(matches!(
        apply_transition(
            state,
            &set(Some(StageKey::Crawling), Some(2)),
            &stages,
            ok,
            false
        ),
        Err(TransitionError::Invalid { field: "level", .. })
    ));
    assert!(matches!(
        apply_transition(
            state,
            &set(Some(StageKey::Jogging), Some(19)),
            &stages,
            ok,
            false
        ),
        Err(TransitionError::Invalid { field: "level", .. })
    ));
    let s = apply_transition(
        state,
        &set(Some(StageKey::Jogging), Some(4)),
        &stages,
        ok,
        false,
    )
    .unwrap();
    assert_eq!(
        s.step,
        Step {
            stage: StageKey::Jogging,
            level: Some(4)
        }
    );
    let s = apply_transition(
        state,
        &set(Some(StageKey::Crawling), None),
        &stages,
        facts(10, false),
        false,
    )
    .unwrap();
    assert_eq!(
        s.step.stage,
        StageKey::Crawling,
        "moving back is never gated"
    );
    let mut advance = request(TransitionAction::Advance);
    advance.stage = Some(StageKey::Jogging);
    assert!(matches!(
        apply_transition(state, &advance, &stages, ok, false),
        Err(TransitionError::Invalid { .. })
    ));
}

/// SPEC §1.8: a third- or fourth-degree tear holds lunges and jogging (R1) until a pelvic-health
/// assessment clears impact; no override lifts it.
#[test]
fn a_tear_of_grade_3_or_4_holds_lunges_and_jogging_whatever_the_override() {
    let stages = default_stages();
    let held = ClientFacts {
        oasi_hold: true,
        ..facts(120, true)
    };
    let hills = at(StageKey::WalkingHills, None);
    for override_gate in [false, true] {
        let err = apply_transition(
            hills,
            &TransitionRequest {
                override_gate,
                ..request(TransitionAction::Advance)
            },
            &stages,
            held,
            false,
        )
        .unwrap_err();
        assert!(
            matches!(&err, TransitionError::Gate { rule: Rule::R1, message } if message.contains("third- or fourth-degree tear")),
            "{err:?}"
        );
    }
    assert!(check_entry_gate(&stages[3], held, false).is_err());
    assert!(check_entry_gate(&stages[1], held, false).is_ok());
    let cleared = ClientFacts {
        oasi_hold: false,
        ..held
    };
    assert!(apply_transition(
        hills,
        &request(TransitionAction::Advance),
        &stages,
        cleared,
        false
    )
    .is_ok());
}
