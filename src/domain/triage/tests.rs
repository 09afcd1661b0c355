use super::*;
use TriageLevel::*;

fn level(timing: Timing, s: &Symptoms) -> TriageLevel {
    triage(timing, s, &[]).level
}

fn pain(nrs: u8) -> Symptoms {
    Symptoms {
        pain: vec![Pain {
            location: PainLocation::Knee,
            nrs,
        }],
        ..Default::default()
    }
}

#[test]
fn nothing_reported_is_green() {
    let t = triage(Timing::ImmediatelyAfter, &Symptoms::default(), &[]);
    assert_eq!(
        t,
        Triage {
            level: Green,
            findings: vec![]
        }
    );
}

#[test]
fn pain_2_is_green_and_3_is_amber() {
    assert_eq!(level(Timing::During, &pain(2)), Green);
    assert_eq!(level(Timing::During, &pain(3)), Amber);
    assert_eq!(
        triage(Timing::During, &pain(3), &[]).findings[0].rule,
        "amber.pain"
    );
}

#[test]
fn pain_not_settled_and_doming_are_amber() {
    let s = Symptoms {
        pain_settled_by_next_morning: Some(false),
        ..Default::default()
    };
    assert_eq!(level(Timing::ImmediatelyAfter, &s), Amber);
    let s = Symptoms {
        pain_settled_by_next_morning: Some(true),
        ..Default::default()
    };
    assert_eq!(level(Timing::ImmediatelyAfter, &s), Green);
    let s = Symptoms {
        abdominal_doming: true,
        ..Default::default()
    };
    assert_eq!(level(Timing::During, &s), Amber);
}

#[test]
fn a_leak_during_a_run_is_amber_but_the_next_morning_it_is_red_pelvic() {
    let leak = Symptoms {
        urine_leak: Some(UrineLeak::Drops),
        leak_trigger: Some(LeakTrigger::Impact),
        ..Default::default()
    };
    assert_eq!(level(Timing::During, &leak), Amber);
    assert_eq!(level(Timing::ImmediatelyAfter, &leak), Amber);
    assert_eq!(level(Timing::NextDay, &leak), RedPelvic);
    assert_eq!(level(Timing::DailyLife, &leak), RedPelvic);
    let none = Symptoms {
        urine_leak: Some(UrineLeak::None),
        ..Default::default()
    };
    assert_eq!(level(Timing::NextDay, &none), Green);
}

#[test]
fn heaviness_of_1_is_a_pelvic_symptom_and_0_is_not() {
    let heavy = |h| Symptoms {
        pelvic_heaviness: Some(h),
        ..Default::default()
    };
    assert_eq!(level(Timing::During, &heavy(0)), Green);
    assert_eq!(level(Timing::During, &heavy(1)), Amber);
    assert_eq!(level(Timing::NextDay, &heavy(1)), RedPelvic);
}

#[test]
fn the_red_pelvic_symptoms_refer_at_any_timing() {
    for s in [
        Symptoms {
            bulge_seen_or_felt: true,
            ..Default::default()
        },
        Symptoms {
            faecal_or_flatus_incontinence: true,
            ..Default::default()
        },
        Symptoms {
            urgency_hard_to_defer: true,
            ..Default::default()
        },
        Symptoms {
            dyspareunia: true,
            ..Default::default()
        },
        Symptoms {
            obstructed_defecation: true,
            ..Default::default()
        },
    ] {
        for timing in [
            Timing::During,
            Timing::ImmediatelyAfter,
            Timing::NextDay,
            Timing::DailyLife,
        ] {
            assert_eq!(level(timing, &s), RedPelvic, "{s:?} {timing:?}");
        }
    }
}

#[test]
fn a_pelvic_symptom_in_two_of_the_last_three_reports_is_red_pelvic() {
    let leak = Symptoms {
        urine_leak: Some(UrineLeak::Small),
        ..Default::default()
    };
    let with = EarlierReport {
        had_pelvic_symptom: true,
    };
    let without = EarlierReport {
        had_pelvic_symptom: false,
    };
    assert_eq!(
        triage(Timing::During, &leak, &[without, without]).level,
        Amber
    );
    assert_eq!(
        triage(Timing::During, &leak, &[without, with]).level,
        RedPelvic
    );
    assert_eq!(triage(Timing::During, &leak, &[with]).level, RedPelvic);
    // Only the last three count.
    assert_eq!(
        triage(Timing::During, &leak, &[without, without, with]).level,
        Amber
    );
    // A clean report now is not red, whatever came before.
    assert_eq!(
        triage(Timing::During, &Symptoms::default(), &[with, with]).level,
        Green
    );
}

#[test]
fn every_medical_flag_and_new_bleeding_is_red_medical() {
    for s in [
        Symptoms {
            chest_pain: true,
            ..Default::default()
        },
        Symptoms {
            calf_pain_or_swelling: true,
            ..Default::default()
        },
        Symptoms {
            dizziness_or_fainting: true,
            ..Default::default()
        },
        Symptoms {
            breathless_at_rest: true,
            ..Default::default()
        },
        Symptoms {
            severe_abdominal_pain: true,
            ..Default::default()
        },
        Symptoms {
            fever: true,
            ..Default::default()
        },
        Symptoms {
            bleeding: Some(Bleeding::NewOrIncreased),
            ..Default::default()
        },
    ] {
        let t = triage(Timing::During, &s, &[]);
        assert_eq!(t.level, RedMedical, "{s:?}");
        assert!(t.findings[0].rule.starts_with("red_medical."));
    }
    let spotting = Symptoms {
        bleeding: Some(Bleeding::Spotting),
        ..Default::default()
    };
    assert_eq!(level(Timing::During, &spotting), Green);
}

#[test]
fn the_worst_finding_decides_and_comes_first() {
    let s = Symptoms {
        chest_pain: true,
        bulge_seen_or_felt: true,
        pain: vec![Pain {
            location: PainLocation::Hip,
            nrs: 7,
        }],
        ..Default::default()
    };
    let t = triage(Timing::During, &s, &[]);
    assert_eq!(t.level, RedMedical);
    assert!(t.findings[0].rule.starts_with("red_medical"));
    assert!(t.findings.iter().any(|f| f.rule == "red_pelvic.bulge"));
    assert!(t.findings.iter().any(|f| f.rule == "amber.pain"));
}

#[test]
fn advisories_do_not_change_the_level() {
    let s = Symptoms {
        sleep_hours: Some(5.5),
        fatigue: Some(8),
        ..Default::default()
    };
    assert_eq!(level(Timing::DailyLife, &s), Green);
    let rules: Vec<_> = advisories(&s).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["advisory.sleep", "advisory.fatigue"]);
    let rested = Symptoms {
        sleep_hours: Some(6.0),
        fatigue: Some(7),
        ..Default::default()
    };
    assert!(advisories(&rested).is_empty());
}
