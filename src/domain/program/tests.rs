use super::*;
use proptest::prelude::*;

#[test]
fn readiness_test_keys_serialize_as_their_names() {
    for key in ReadinessTestKey::ALL {
        assert_eq!(serde_json::to_value(key).unwrap(), key.as_str());
        assert_eq!(ReadinessTestKey::parse(key.as_str()), Some(key));
    }
}

#[test]
fn the_default_program_is_valid_and_follows_the_method() {
    let stages = default_stages();
    assert_eq!(validate_stages(&stages), vec![]);
    let keys: Vec<_> = stages.iter().map(|s| s.key).collect();
    assert_eq!(keys, StageKey::ALL);
    assert_eq!(stages[0].entry_gate.min_days_postpartum, 21);
    assert_eq!(stages[3].entry_gate.min_days_postpartum, 84);
    assert_eq!(stages[1].readiness_tests.len(), 3);
    assert_eq!(stages[2].readiness_tests.len(), 8);
}

#[test]
fn the_default_ladder_starts_at_8_minutes_ends_at_30_continuous_and_obeys_the_rule() {
    let ladder = default_ladder();
    assert_eq!(
        ladder[0],
        Level {
            level: 1,
            run_seconds: 60,
            walk_seconds: 120,
            repeats: 8
        }
    );
    let last = ladder.last().unwrap();
    assert_eq!(
        (last.run_seconds, last.walk_seconds, last.repeats),
        (1800, 0, 1)
    );
    assert_eq!(first_ladder_violation(&ladder), None);
    for pair in ladder.windows(2) {
        let (a, b) = (
            pair[0].running_seconds() as f64,
            pair[1].running_seconds() as f64,
        );
        assert!(b - a <= (a * 0.10).max(60.0), "{pair:?}");
    }
}

#[test]
fn a_ladder_step_too_big_is_named() {
    let mut ladder = default_ladder();
    // 10 → 12 minutes: +2 min is more than both 10 % and 1 minute.
    ladder[3] = Level {
        level: 4,
        run_seconds: 120,
        walk_seconds: 60,
        repeats: 6,
    };
    assert_eq!(first_ladder_violation(&ladder), Some(3));
    let mut stages = default_stages();
    stages[3].levels = ladder;
    let errors = validate_stages(&stages);
    assert_eq!(errors[0].field, "stages[3].levels[3]");
}

#[test]
fn exactly_one_minute_or_ten_percent_is_allowed() {
    let l = |level, run_seconds, repeats| Level {
        level,
        run_seconds,
        walk_seconds: 60,
        repeats,
    };
    assert_eq!(first_ladder_violation(&[l(1, 60, 5), l(2, 60, 6)]), None); // +1 min
    assert_eq!(first_ladder_violation(&[l(1, 60, 5), l(2, 61, 6)]), Some(1)); // +66 s
    assert_eq!(first_ladder_violation(&[l(1, 600, 2), l(2, 660, 2)]), None); // +10 %
    assert_eq!(
        first_ladder_violation(&[l(1, 600, 2), l(2, 661, 2)]),
        Some(1)
    );
}

#[test]
fn validation_names_each_field() {
    let mut stages = default_stages();
    stages[1].position = 3;
    stages[2].key = StageKey::Crawling;
    stages[0].exercises[0].dose.sets = Some(0);
    stages[3].entry_gate.min_days_postpartum = 60;
    stages[0].levels = default_ladder();
    let fields: Vec<String> = validate_stages(&stages)
        .into_iter()
        .map(|e| e.field)
        .collect();
    for expected in [
        "stages[1].position",
        "stages[2].key",
        "stages[0].exercises[0].dose.sets",
        "stages[3].entry_gate.min_days_postpartum",
        "stages[0].levels",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} missing from {fields:?}"
        );
    }
}

proptest! {
    /// Any ladder built by steps within the rule passes; one step beyond it fails.
    #[test]
    fn ladders_built_within_the_rule_pass(start in 60u32..1200, steps in proptest::collection::vec(0u32..=100, 1..20)) {
        let mut levels = vec![Level { level: 1, run_seconds: start, walk_seconds: 60, repeats: 1 }];
        for (i, pct) in steps.iter().enumerate() {
            let before = levels[i].run_seconds;
            let cap = (before / 10).max(60);
            let run_seconds = before + cap * pct / 100;
            levels.push(Level { level: i as u32 + 2, run_seconds, walk_seconds: 60, repeats: 1 });
        }
        prop_assert_eq!(first_ladder_violation(&levels), None);
        let last = *levels.last().unwrap();
        let beyond = last.run_seconds + last.run_seconds.div_ceil(10).max(60) + 1;
        levels.push(Level { level: last.level + 1, run_seconds: beyond, walk_seconds: 60, repeats: 1 });
        prop_assert_eq!(first_ladder_violation(&levels), Some(levels.len() - 1));
    }
}
