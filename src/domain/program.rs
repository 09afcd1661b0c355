//! Programs: an ordered list of stages, the practice's four steps back to running. Crawling,
//! walking hills, lunges, then jogging for short periods on a run–walk ladder.
//!
//! A program is a template with versions; a plan pins the version it started on.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client::DeliveryType;
use super::FieldError;

/// The four steps of the practice's method, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StageKey {
    Crawling,
    WalkingHills,
    Lunges,
    Jogging,
}

impl StageKey {
    pub const ALL: [StageKey; 4] = [
        StageKey::Crawling,
        StageKey::WalkingHills,
        StageKey::Lunges,
        StageKey::Jogging,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StageKey::Crawling => "crawling",
            StageKey::WalkingHills => "walking_hills",
            StageKey::Lunges => "lunges",
            StageKey::Jogging => "jogging",
        }
    }

    pub fn parse(s: &str) -> Option<StageKey> {
        StageKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Readiness tests: recorded results that show a stage's exit criteria are met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessTestKey {
    #[serde(rename = "walk_30_min")]
    Walk30Min,
    SingleLegBalance,
    SingleLegSquat,
    JogOnTheSpot,
    ForwardBounds,
    HopInPlace,
    RunningMan,
    SingleLegCalfRaise,
    SingleLegBridge,
    SingleLegSitToStand,
    SideLyingAbduction,
}

impl ReadinessTestKey {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadinessTestKey::Walk30Min => "walk_30_min",
            ReadinessTestKey::SingleLegBalance => "single_leg_balance",
            ReadinessTestKey::SingleLegSquat => "single_leg_squat",
            ReadinessTestKey::JogOnTheSpot => "jog_on_the_spot",
            ReadinessTestKey::ForwardBounds => "forward_bounds",
            ReadinessTestKey::HopInPlace => "hop_in_place",
            ReadinessTestKey::RunningMan => "running_man",
            ReadinessTestKey::SingleLegCalfRaise => "single_leg_calf_raise",
            ReadinessTestKey::SingleLegBridge => "single_leg_bridge",
            ReadinessTestKey::SingleLegSitToStand => "single_leg_sit_to_stand",
            ReadinessTestKey::SideLyingAbduction => "side_lying_abduction",
        }
    }
}

/// How much of an exercise: any combination of sets, reps, holds and minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dose {
    #[schema(minimum = 1, maximum = 100)]
    pub sets: Option<u32>,
    #[schema(minimum = 1, maximum = 1000)]
    pub reps: Option<u32>,
    #[schema(minimum = 1, maximum = 3600)]
    pub hold_seconds: Option<u32>,
    #[schema(minimum = 1, maximum = 600)]
    pub duration_minutes: Option<u32>,
    /// The dose is for each side (left and right).
    #[serde(default)]
    pub per_side: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
        example = "Bird-dog"
    )]
    pub name: String,
    #[schema(max_length = 2000)]
    pub instructions: String,
    pub dose: Dose,
}

/// What must be true to enter a stage. Whatever a gate says, no stage starts before day 21
/// postpartum ([`RECOVERY_FLOOR_DAYS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"min_days_postpartum": 21, "requires_clearance": true,
    "caesarean": {"requires_scar_clearance": true}}))]
pub struct EntryGate {
    #[schema(minimum = 0, maximum = 730)]
    pub min_days_postpartum: u32,
    /// A clinician must have cleared the client for exercise.
    pub requires_clearance: bool,
    /// What differs after a vaginal birth (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vaginal: Option<DeliveryGate>,
    /// What differs after an assisted vaginal birth (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assisted_vaginal: Option<DeliveryGate>,
    /// What differs after a caesarean birth: by default, lunges and jogging need her scar
    /// reviewed and cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caesarean: Option<DeliveryGate>,
}

/// A gate's own terms for one type of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryGate {
    /// Replaces the gate's `min_days_postpartum` for this type of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 21, maximum = 730)]
    pub min_days_postpartum: Option<u32>,
    /// Her caesarean scar must have been reviewed and cleared (recorded by a coach, with the
    /// clinician and the day).
    #[serde(default)]
    pub requires_scar_clearance: bool,
}

/// The three-week floor: no stage starts before this day postpartum, whatever a program, an
/// individual gate date or a coach's override says (Christopher et al., BJSM 2024: a minimum
/// of about three weeks of rest and recovery before a return-to-running programme).
pub const RECOVERY_FLOOR_DAYS: u32 = 21;

impl EntryGate {
    pub const fn new(min_days_postpartum: u32, requires_clearance: bool) -> Self {
        Self {
            min_days_postpartum,
            requires_clearance,
            vaginal: None,
            assisted_vaginal: None,
            caesarean: None,
        }
    }

    /// The gate's terms for one type of birth, if it has any.
    pub fn for_delivery(&self, delivery: DeliveryType) -> Option<DeliveryGate> {
        match delivery {
            DeliveryType::Vaginal => self.vaginal,
            DeliveryType::AssistedVaginal => self.assisted_vaginal,
            DeliveryType::Caesarean => self.caesarean,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadinessTest {
    pub key: ReadinessTestKey,
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub title: String,
    /// Passed at this many repetitions (symptom-free).
    #[schema(minimum = 1)]
    pub target_reps: Option<u32>,
    /// Passed at this many seconds (symptom-free).
    #[schema(minimum = 1)]
    pub target_seconds: Option<u32>,
    /// Both sides must pass.
    pub per_side: bool,
}

impl ReadinessTest {
    pub fn target(&self) -> u32 {
        self.target_reps.or(self.target_seconds).unwrap_or(u32::MAX)
    }
}

/// One rung of the jogging ladder: run, walk, repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    #[schema(minimum = 1)]
    pub level: u32,
    #[schema(minimum = 1, maximum = 7200)]
    pub run_seconds: u32,
    #[schema(minimum = 0, maximum = 3600)]
    pub walk_seconds: u32,
    #[schema(minimum = 1, maximum = 100)]
    pub repeats: u32,
}

impl Level {
    pub fn running_seconds(&self) -> u32 {
        self.run_seconds * self.repeats
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub key: StageKey,
    /// 1, 2, 3…: the order of the stages.
    #[schema(minimum = 1)]
    pub position: u32,
    /// Not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub title: String,
    #[schema(max_length = 2000)]
    pub purpose: String,
    pub exercises: Vec<Exercise>,
    /// Sessions at the current step before the engine may advance.
    #[schema(minimum = 1, maximum = 50)]
    pub min_sessions: u32,
    pub entry_gate: EntryGate,
    /// The exit criteria, in words.
    pub exit_criteria: Vec<String>,
    #[serde(default)]
    pub readiness_tests: Vec<ReadinessTest>,
    /// The run–walk ladder (jogging only).
    #[serde(default)]
    pub levels: Vec<Level>,
}

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
    use ReadinessTestKey::*;
    vec![
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
        },
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
        },
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
        },
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
        },
    ]
}

/// Checks the ladder rule: each level's running time exceeds the previous level's by at most
/// 10 % or 1 minute, whichever is larger. Returns the index of the first level that breaks it.
pub fn first_ladder_violation(levels: &[Level]) -> Option<usize> {
    levels
        .windows(2)
        .position(|pair| {
            let (before, after) = (pair[0].running_seconds(), pair[1].running_seconds());
            let increase = after.saturating_sub(before);
            increase > 60 && increase * 10 > before
        })
        .map(|i| i + 1)
}

/// Validates a program's stages; every problem is reported with its field.
pub fn validate_stages(stages: &[Stage]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: &str| errors.push(FieldError::new(field, message));
    if stages.is_empty() {
        err("stages".into(), "must have at least one stage");
    }
    for (i, stage) in stages.iter().enumerate() {
        let at = |f: &str| format!("stages[{i}].{f}");
        if stage.position != i as u32 + 1 {
            err(at("position"), "positions must be 1, 2, 3… in order");
        }
        if stages[..i].iter().any(|s| s.key == stage.key) {
            err(at("key"), "stage keys must be unique");
        } else if i > 0 && stages[i - 1].key > stage.key {
            err(
                at("key"),
                "stages must follow the method's order: crawling, walking_hills, lunges, jogging",
            );
        }
        if stage.title.trim().is_empty() || stage.title.chars().count() > 200 {
            err(at("title"), "must be between 1 and 200 characters");
        }
        if stage.purpose.chars().count() > 2000 {
            err(at("purpose"), "must be at most 2000 characters");
        }
        if stage.min_sessions == 0 || stage.min_sessions > 50 {
            err(at("min_sessions"), "must be between 1 and 50");
        }
        if stage.entry_gate.min_days_postpartum > 730 {
            err(at("entry_gate.min_days_postpartum"), "must be at most 730");
        }
        for (name, delivery) in [
            ("vaginal", stage.entry_gate.vaginal),
            ("assisted_vaginal", stage.entry_gate.assisted_vaginal),
            ("caesarean", stage.entry_gate.caesarean),
        ] {
            let Some(days) = delivery.and_then(|d| d.min_days_postpartum) else {
                continue;
            };
            let floor = if stage.key == StageKey::Jogging {
                JOGGING_MIN_DAYS
            } else {
                RECOVERY_FLOOR_DAYS
            };
            if !(floor..=730).contains(&days) {
                err(
                    at(&format!("entry_gate.{name}.min_days_postpartum")).to_string(),
                    &format!("must be between {floor} and 730"),
                );
            }
        }
        if stage.key == StageKey::Jogging && stage.entry_gate.min_days_postpartum < JOGGING_MIN_DAYS
        {
            err(
                at("entry_gate.min_days_postpartum"),
                "jogging never starts before day 84 postpartum",
            );
        }
        if stage.key == StageKey::Jogging && !stage.entry_gate.requires_clearance {
            err(
                at("entry_gate.requires_clearance"),
                "jogging always requires a clinician's clearance",
            );
        }
        for (j, ex) in stage.exercises.iter().enumerate() {
            let at = |f: &str| format!("stages[{i}].exercises[{j}].{f}");
            if ex.name.trim().is_empty() || ex.name.chars().count() > 200 {
                err(at("name"), "must be between 1 and 200 characters");
            }
            if ex.instructions.chars().count() > 2000 {
                err(at("instructions"), "must be at most 2000 characters");
            }
            let d = &ex.dose;
            for (name, value, max) in [
                ("sets", d.sets, 100),
                ("reps", d.reps, 1000),
                ("hold_seconds", d.hold_seconds, 3600),
                ("duration_minutes", d.duration_minutes, 600),
            ] {
                if let Some(v) = value {
                    if v == 0 || v > max {
                        err(
                            at(&format!("dose.{name}")),
                            "must be positive and within range",
                        );
                    }
                }
            }
        }
        for (j, t) in stage.readiness_tests.iter().enumerate() {
            let at = |f: &str| format!("stages[{i}].readiness_tests[{j}].{f}");
            if t.title.trim().is_empty() || t.title.chars().count() > 200 {
                err(at("title"), "must be between 1 and 200 characters");
            }
            match (t.target_reps, t.target_seconds) {
                (Some(0), _) | (_, Some(0)) => err(at("target_reps"), "targets must be positive"),
                (None, None) => err(at("target_reps"), "give target_reps or target_seconds"),
                (Some(_), Some(_)) => err(
                    at("target_seconds"),
                    "give target_reps or target_seconds, not both",
                ),
                _ => {}
            }
            if stage.readiness_tests[..j].iter().any(|o| o.key == t.key) {
                err(at("key"), "readiness tests must be unique within a stage");
            }
        }
        if stage.key == StageKey::Jogging {
            if stage.levels.is_empty() {
                err(at("levels"), "the jogging stage needs its run–walk ladder");
            }
            for (j, level) in stage.levels.iter().enumerate() {
                let at = |f: &str| format!("stages[{i}].levels[{j}].{f}");
                if level.level != j as u32 + 1 {
                    err(at("level"), "levels must be numbered 1, 2, 3… in order");
                }
                if level.run_seconds == 0 || level.run_seconds > 7200 {
                    err(at("run_seconds"), "must be between 1 and 7200");
                }
                if level.walk_seconds > 3600 {
                    err(at("walk_seconds"), "must be at most 3600");
                }
                if level.repeats == 0 || level.repeats > 100 {
                    err(at("repeats"), "must be between 1 and 100");
                }
            }
            if let Some(j) = first_ladder_violation(&stage.levels) {
                err(
                    format!("stages[{i}].levels[{j}]"),
                    "running time may grow by at most 10 % or 1 minute (whichever is larger) from the level before",
                );
            }
        } else if !stage.levels.is_empty() {
            err(at("levels"), "only the jogging stage has levels");
        }
    }
    errors
}

/// A program's stages, looked up by key.
pub fn stage(stages: &[Stage], key: StageKey) -> Option<&Stage> {
    stages.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn readiness_test_keys_serialize_as_their_names() {
        use ReadinessTestKey::*;
        for key in [
            Walk30Min,
            SingleLegBalance,
            SingleLegSquat,
            JogOnTheSpot,
            ForwardBounds,
            HopInPlace,
            RunningMan,
            SingleLegCalfRaise,
            SingleLegBridge,
            SingleLegSitToStand,
            SideLyingAbduction,
        ] {
            assert_eq!(serde_json::to_value(key).unwrap(), key.as_str());
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
}
