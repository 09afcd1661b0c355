use super::*;
use TriageLevel::*;

fn level(timing: Timing, s: &Symptoms) -> TriageLevel {
    triage(timing, s, &TriageContext::default()).level
}

fn earlier(reports: &[EarlierReport]) -> TriageContext<'_> {
    TriageContext {
        earlier: reports,
        ..Default::default()
    }
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
    let t = triage(
        Timing::ImmediatelyAfter,
        &Symptoms::default(),
        &TriageContext::default(),
    );
    assert_eq!(
        t,
        Triage {
            level: Green,
            urgency: Urgency::Routine,
            findings: vec![]
        }
    );
}

/// SPEC §1.8 (the pain-monitoring model) revises §1.5's "any pain of 3 or more is amber": knee
/// pain up to 5/10 is green with an advisory, above 5 amber.
#[test]
fn knee_pain_up_to_5_is_green_with_an_advisory_and_6_is_amber() {
    assert_eq!(level(Timing::During, &pain(3)), Green);
    assert_eq!(level(Timing::During, &pain(5)), Green);
    let rules: Vec<_> = advisories(&pain(5)).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["advisory.pain_monitoring"]);
    assert_eq!(level(Timing::During, &pain(6)), Amber);
    assert_eq!(
        triage(Timing::During, &pain(6), &TriageContext::default()).findings[0].rule,
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
        ..Default::default()
    };
    let without = EarlierReport::default();
    assert_eq!(
        triage(Timing::During, &leak, &earlier(&[without, without])).level,
        Amber
    );
    assert_eq!(
        triage(Timing::During, &leak, &earlier(&[without, with])).level,
        RedPelvic
    );
    assert_eq!(
        triage(Timing::During, &leak, &earlier(&[with])).level,
        RedPelvic
    );
    // Only the last three count.
    assert_eq!(
        triage(Timing::During, &leak, &earlier(&[without, without, with])).level,
        Amber
    );
    // A clean report now is not red, whatever came before.
    assert_eq!(
        triage(
            Timing::During,
            &Symptoms::default(),
            &earlier(&[with, with])
        )
        .level,
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
        let t = triage(Timing::During, &s, &TriageContext::default());
        assert_eq!(t.level, RedMedical, "{s:?}");
        assert!(t.findings[0].rule.starts_with("red_medical."));
    }
    // SPEC §1.8: spotting is amber with a question for her (it was green under §1.5).
    let spotting = Symptoms {
        bleeding: Some(Bleeding::Spotting),
        ..Default::default()
    };
    assert_eq!(level(Timing::During, &spotting), Amber);
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
    let t = triage(Timing::During, &s, &TriageContext::default());
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

/// Every emergency sign, alone or with anything else, gives `emergency` and tells her the
/// practice's number (SPEC §1.8).
#[test]
fn every_emergency_sign_is_an_emergency_with_the_practices_number() {
    let signs: [fn(&mut Symptoms); 7] = [
        |s| s.chest_pain = true,
        |s| s.breathless_at_rest = true,
        |s| s.calf_pain_or_swelling = true,
        |s| s.fainting = true,
        |s| s.dizziness_or_fainting = true,
        |s| s.severe_headache_or_visual_disturbance = true,
        |s| s.bleeding = Some(Bleeding::Heavy),
    ];
    let context = TriageContext {
        emergency_number: "999",
        ..Default::default()
    };
    for sign in signs {
        let mut s = Symptoms::default();
        sign(&mut s);
        let t = triage(Timing::DailyLife, &s, &context);
        assert_eq!(
            (t.level, t.urgency),
            (RedMedical, Urgency::Emergency),
            "{s:?}"
        );
        assert!(t.findings[0]
            .message
            .contains("call your local emergency number now (999)"));
    }
}

#[test]
fn same_day_signs_need_a_doctor_today() {
    let signs: [fn(&mut Symptoms); 6] = [
        |s| s.fever = true,
        |s| s.wound_red_hot_or_discharging = true,
        |s| s.palpitations = true,
        |s| s.bleeding = Some(Bleeding::NewOrIncreased),
        |s| s.severe_abdominal_pain = true,
        |s| s.dizziness = true,
    ];
    for sign in signs {
        let mut s = Symptoms::default();
        sign(&mut s);
        let t = triage(Timing::During, &s, &TriageContext::default());
        assert_eq!((t.level, t.urgency), (RedMedical, Urgency::Today), "{s:?}");
    }
    let bulge = Symptoms {
        bulge_seen_or_felt: true,
        ..Default::default()
    };
    assert_eq!(
        triage(Timing::During, &bulge, &TriageContext::default()).urgency,
        Urgency::Soon
    );
    // The most urgent finding comes first.
    let both = Symptoms {
        fever: true,
        chest_pain: true,
        ..Default::default()
    };
    let t = triage(Timing::During, &both, &TriageContext::default());
    assert_eq!(t.findings[0].rule, "red_medical.chest_pain");
}

#[test]
fn a_period_is_no_flag_and_says_her_periods_are_back() {
    let s = Symptoms {
        bleeding: Some(Bleeding::Period),
        ..Default::default()
    };
    assert_eq!(level(Timing::DailyLife, &s), Green);
    let rules: Vec<_> = advisories(&s).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["advisory.period"]);
}

#[test]
fn pelvic_area_pain_with_impact_is_amber_from_1() {
    let at = |location, nrs| Symptoms {
        pain: vec![Pain { location, nrs }],
        ..Default::default()
    };
    for location in [
        PainLocation::PelvicGirdle,
        PainLocation::Pubic,
        PainLocation::Perineum,
        PainLocation::CSectionScar,
        PainLocation::AbdominalWall,
    ] {
        assert_eq!(
            level(Timing::During, &at(location, 1)),
            Amber,
            "{location:?}"
        );
        assert_eq!(level(Timing::DailyLife, &at(location, 2)), Green);
        assert_eq!(level(Timing::DailyLife, &at(location, 3)), Amber);
    }
    assert_eq!(level(Timing::During, &at(PainLocation::Knee, 1)), Green);
    // Not settled by the next morning: amber at any level.
    let unsettled = Symptoms {
        pain_settled_by_next_morning: Some(false),
        ..at(PainLocation::Knee, 2)
    };
    assert_eq!(level(Timing::NextDay, &unsettled), Amber);
    assert!(advisories(&unsettled).is_empty());
}

/// R12: pubic, hip or shin pain at rest, or rising, while breastfeeding or with periods not
/// back, refers (no impact); without that risk, or during a run and not rising, it does not.
#[test]
fn bone_stress_pain_at_rest_or_rising_refers_when_oestrogen_is_low() {
    let shin = |nrs| Symptoms {
        pain: vec![Pain {
            location: PainLocation::ShinFoot,
            nrs,
        }],
        ..Default::default()
    };
    let risk = TriageContext {
        bone_stress_risk: true,
        ..Default::default()
    };
    let t = triage(Timing::DailyLife, &shin(2), &risk);
    assert_eq!((t.level, t.urgency), (RedPelvic, Urgency::Soon));
    assert_eq!(t.findings[0].rule, "red_pelvic.bone_stress");
    assert_eq!(triage(Timing::NextDay, &shin(1), &risk).level, RedPelvic);
    assert_eq!(triage(Timing::During, &shin(2), &risk).level, Green);
    let before = [EarlierReport {
        bone_site_pain: 1,
        ..Default::default()
    }];
    let rising = TriageContext {
        earlier: &before,
        ..risk
    };
    assert_eq!(triage(Timing::During, &shin(2), &rising).level, RedPelvic);
    assert_eq!(triage(Timing::During, &shin(1), &rising).level, Green);
    let no_risk = TriageContext::default();
    assert_eq!(triage(Timing::DailyLife, &shin(2), &no_risk).level, Green);
}

proptest::proptest! {
    /// Whatever else she reports, an emergency sign gives `emergency`, and no report without
    /// one does.
    #[test]
    fn every_emergency_sign_gives_emergency(
        bits in proptest::collection::vec(proptest::bool::ANY, 20),
        bleeding in 0usize..5,
        nrs in 0u8..=10,
        timing in 0usize..4,
    ) {
        let s = Symptoms {
            chest_pain: bits[0], breathless_at_rest: bits[1], calf_pain_or_swelling: bits[2],
            fainting: bits[3], dizziness_or_fainting: bits[4],
            severe_headache_or_visual_disturbance: bits[5], fever: bits[6],
            wound_red_hot_or_discharging: bits[7], palpitations: bits[8], dizziness: bits[9],
            severe_abdominal_pain: bits[10], bulge_seen_or_felt: bits[11],
            urgency_hard_to_defer: bits[12], abdominal_doming: bits[13], dyspareunia: bits[14],
            bleeding: Some([Bleeding::None, Bleeding::Spotting, Bleeding::Period,
                Bleeding::NewOrIncreased, Bleeding::Heavy][bleeding]),
            pain: vec![Pain { location: PainLocation::Hip, nrs }],
            ..Default::default()
        };
        let timing = [Timing::During, Timing::ImmediatelyAfter, Timing::NextDay, Timing::DailyLife][timing];
        let emergency = bits[..6].iter().any(|b| *b) || bleeding == 4;
        let t = triage(timing, &s, &TriageContext { bone_stress_risk: bits[15], ..Default::default() });
        proptest::prop_assert_eq!(t.urgency == Urgency::Emergency, emergency);
        if emergency {
            proptest::prop_assert_eq!(t.level, RedMedical);
        }
    }
}

/// Hazard H7: her first daily safety note draws the line where triage does. Musculoskeletal
/// pain up to [`ACCEPTABLE_PAIN`] is green and above it amber; pain around the pelvis, scar or
/// tummy wall with exercise is amber from 1. The note once said "above 2".
#[test]
fn the_daily_safety_note_draws_the_line_where_triage_does() {
    let note = &crate::domain::prescription::safety_notes()[0];
    assert!(
        note.contains(&format!("other pain above {ACCEPTABLE_PAIN} out of 10")),
        "{note}"
    );
    assert!(
        note.contains("pain around your pelvis, scar or tummy"),
        "{note}"
    );
    assert_eq!(level(Timing::During, &pain(ACCEPTABLE_PAIN)), Green);
    assert_eq!(level(Timing::During, &pain(ACCEPTABLE_PAIN + 1)), Amber);
    for location in [
        PainLocation::PelvicGirdle,
        PainLocation::CSectionScar,
        PainLocation::AbdominalWall,
    ] {
        let s = Symptoms {
            pain: vec![Pain { location, nrs: 1 }],
            ..Default::default()
        };
        assert_eq!(level(Timing::During, &s), Amber, "{location:?}");
    }
}
