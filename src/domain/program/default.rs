//! The practice's default program: the four stages with their exercises, doses, readiness
//! tests and entry gates, and the jogging ladder. Each organization gets it when it is created.

use super::{
    DeliveryGate, Dose, EntryGate, Exercise, Level, ReadinessTest, ReadinessTestKey, Stage,
    StageKey,
};

pub const DEFAULT_PROGRAM_KEY: &str = "return_to_running_postpartum";
pub const DEFAULT_PROGRAM_NAME: &str = "Return to Running Postpartum";
/// Before this day, nobody jogs (R1).
pub const JOGGING_MIN_DAYS: u32 = 84;

/// Lunges and jogging after a caesarean birth: her scar reviewed and cleared first (Deering et
/// al., BJSM 2024: individual screening after caesarean birth before impact).
const SCAR_CHECK: DeliveryGate = DeliveryGate {
    min_days_postpartum: None,
    requires_scar_clearance: true,
};
/// Warm-up before every run.
pub const WARM_UP_MINUTES: u32 = 5;

fn exercise(name: &str, instructions: &str, dose: Dose) -> Exercise {
    Exercise {
        name: name.into(),
        instructions: instructions.into(),
        dose,
    }
}

fn dose(
    sets: Option<u32>,
    reps: Option<u32>,
    hold: Option<u32>,
    minutes: Option<u32>,
    per_side: bool,
) -> Dose {
    Dose {
        sets,
        reps,
        hold_seconds: hold,
        duration_minutes: minutes,
        per_side,
    }
}

fn test(
    key: ReadinessTestKey,
    title: &str,
    reps: Option<u32>,
    seconds: Option<u32>,
    per_side: bool,
) -> ReadinessTest {
    ReadinessTest {
        key,
        title: title.into(),
        target_reps: reps,
        target_seconds: seconds,
        per_side,
    }
}

/// The default jogging ladder: from 1 min run / 2 min walk × 8 (8 running minutes) to 30
/// minutes of continuous running, each level at most 10 % or 1 minute more running than the
/// one before.
pub fn default_ladder() -> Vec<Level> {
    const RUNGS: [(u32, u32, u32); 18] = [
        (60, 120, 8),
        (60, 90, 9),
        (60, 60, 10),
        (60, 60, 11),
        (120, 60, 6),
        (180, 60, 4),
        (195, 60, 4),
        (210, 60, 4),
        (300, 60, 3),
        (330, 60, 3),
        (360, 60, 3),
        (390, 60, 3),
        (420, 60, 3),
        (460, 60, 3),
        (500, 60, 3),
        (550, 60, 3),
        (900, 60, 2),
        (1800, 0, 1),
    ];
    RUNGS
        .iter()
        .enumerate()
        .map(|(i, &(run_seconds, walk_seconds, repeats))| Level {
            level: i as u32 + 1,
            run_seconds,
            walk_seconds,
            repeats,
        })
        .collect()
}

/// The program every new organization starts with, from the practice's own text.
pub fn default_stages() -> Vec<Stage> {
    vec![crawling(), walking_hills(), lunges(), jogging()]
}

/// Stage 1: crawling, the inner core and pelvic floor firing again.
fn crawling() -> Stage {
    Stage {
        key: StageKey::Crawling,
        position: 1,
        title: "Crawling".into(),
        purpose: "Crawl before you walk: get the inner core muscles, stretched and sometimes injured in pregnancy, firing and in sync again.".into(),
        exercises: vec![
            exercise("Diaphragmatic breathing", "Lying or sitting, breathe into the sides and back of the ribs; let the belly and pelvic floor relax on the inhale and gently lift on the exhale.", dose(None, None, None, Some(5), false)),
            exercise("Pelvic-floor fast contractions", "Squeeze and lift quickly, then fully let go.", dose(Some(1), Some(10), None, None, false)),
            exercise("Pelvic-floor holds", "Squeeze and lift, hold 6–8 seconds, fully let go; 8 to 12 holds.", dose(Some(1), Some(10), Some(7), None, false)),
            exercise("Pelvic-floor endurance hold", "One long hold at 30–50 % effort, breathing normally.", dose(Some(1), Some(1), Some(60), None, false)),
            exercise("Quadruped bird-dog", "On hands and knees, reach the opposite arm and leg long without the back or belly moving.", dose(Some(3), Some(8), None, None, true)),
            exercise("Bear-crawl hold", "From hands and knees, lift the knees an inch; breathe; watch for doming along the midline.", dose(Some(3), None, Some(25), None, false)),
            exercise("Crawl forward and back", "Slow, quiet crawl, knees low, exhaling on effort.", dose(Some(3), None, Some(30), None, false)),
        ],
        min_sessions: 3,
        entry_gate: EntryGate::new(21, true),
        exit_criteria: vec![
            "At least 3 logged sessions, the last 2 green".into(),
            "Pelvic-floor baseline done with no symptoms and no abdominal doming".into(),
        ],
        readiness_tests: vec![],
        levels: vec![],
    }
}

/// Stage 2: walking hills, the glutes and pelvic floor working together.
fn walking_hills() -> Stage {
    use super::ReadinessTestKey::*;
    Stage {
        key: StageKey::WalkingHills,
        position: 2,
        title: "Walking hills".into(),
        purpose: "Glutes and pelvic floor work together: walking uphill builds the glutes and leans you forward, so the pelvic floor works better.".into(),
        exercises: vec![
            exercise("Flat walk", "Brisk walking on the flat, building to 30 minutes, then add hills.", dose(None, None, None, Some(30), false)),
            exercise("Hill walk", "Walk uphill leaning slightly forward from the ankles; exhale on the steep parts.", dose(None, None, None, Some(20), false)),
            exercise("Glute bridge", "Exhale and lift the hips; squeeze the glutes; lower slowly.", dose(Some(3), Some(12), None, None, false)),
            exercise("Calf raise", "Rise onto the toes with control, lower slowly.", dose(Some(3), Some(15), None, None, false)),
        ],
        min_sessions: 2,
        entry_gate: EntryGate::new(21, true),
        exit_criteria: vec![
            "Walk 30 minutes, symptom-free".into(),
            "Single-leg balance 10 s each side, symptom-free".into(),
            "Single-leg squat ×10 each side, symptom-free".into(),
        ],
        readiness_tests: vec![
            test(Walk30Min, "Walk 30 minutes", None, Some(1800), false),
            test(SingleLegBalance, "Single-leg balance", None, Some(10), true),
            test(SingleLegSquat, "Single-leg squat", Some(10), None, true),
        ],
        levels: vec![],
    }
}

/// Stage 3: lunges, an exaggerated running pattern practised slowly, the pelvic floor readied
/// for impact.
fn lunges() -> Stage {
    use super::ReadinessTestKey::*;
    Stage {
        key: StageKey::Lunges,
        position: 3,
        title: "Lunges".into(),
        purpose: "Practise an exaggerated running pattern, slowly: build running muscles and breathing strategies, and get the pelvic floor ready for impact.".into(),
        exercises: vec![
            exercise("Split squat / slow lunge", "Step long, lower slowly, exhale as you rise.", dose(Some(3), Some(8), None, None, true)),
            exercise("Running-man drill", "Stand on one leg, swing the other knee forward and the opposite arm back, slowly, as in running.", dose(Some(3), Some(10), None, None, true)),
            exercise("Exhale on effort", "Breathe out through every hard part of each exercise.", dose(None, None, None, Some(5), false)),
        ],
        min_sessions: 2,
        entry_gate: EntryGate { caesarean: Some(SCAR_CHECK), ..EntryGate::new(21, true) },
        exit_criteria: vec![
            "Impact tests symptom-free: jog on the spot 1 min, forward bounds ×10, hop in place ×10 each leg, single-leg running man ×10 each side".into(),
            "Strength tests: single-leg calf raise, bridge and sit-to-stand ×20 each, side-lying abduction ×20 each side".into(),
        ],
        readiness_tests: vec![
            test(JogOnTheSpot, "Jog on the spot", None, Some(60), false),
            test(ForwardBounds, "Forward bounds", Some(10), None, false),
            test(HopInPlace, "Hop in place", Some(10), None, true),
            test(RunningMan, "Single-leg running man", Some(10), None, true),
            test(SingleLegCalfRaise, "Single-leg calf raise", Some(20), None, true),
            test(SingleLegBridge, "Single-leg bridge", Some(20), None, true),
            test(SingleLegSitToStand, "Single-leg sit-to-stand", Some(20), None, true),
            test(SideLyingAbduction, "Side-lying abduction", Some(20), None, true),
        ],
        levels: vec![],
    }
}

/// Stage 4: jogging for short periods, up the run–walk ladder.
fn jogging() -> Stage {
    Stage {
        key: StageKey::Jogging,
        position: 4,
        title: "Jogging for short periods".into(),
        purpose: "Start slow and add time little by little, keeping your fingers on the pulse of your symptoms; give yourself permission to do less than you think you can.".into(),
        exercises: vec![
            exercise("Brisk-walk warm-up", "Five minutes of brisk walking before every run.", dose(None, None, None, Some(WARM_UP_MINUTES), false)),
            exercise("Run–walk intervals", "The intervals of your current level; walk the rest of the run if symptoms appear.", dose(None, None, None, None, false)),
        ],
        min_sessions: 2,
        entry_gate: EntryGate { caesarean: Some(SCAR_CHECK), ..EntryGate::new(JOGGING_MIN_DAYS, true) },
        exit_criteria: vec!["The last level (30 minutes continuous) done green twice".into()],
        readiness_tests: vec![],
        levels: default_ladder(),
    }
}
