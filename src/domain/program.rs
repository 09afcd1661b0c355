//! Programs: an ordered list of stages, the practice's four steps back to running. Crawling,
//! walking hills, lunges, then jogging for short periods on a run–walk ladder.
//!
//! A program is a template with versions; a plan pins the version it started on.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client::DeliveryType;
use super::FieldError;

mod default;

pub use default::{
    default_ladder, default_stages, DEFAULT_PROGRAM_KEY, DEFAULT_PROGRAM_NAME, JOGGING_MIN_DAYS,
    WARM_UP_MINUTES,
};

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
    pub const ALL: [ReadinessTestKey; 11] = {
        use ReadinessTestKey::*;
        [
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
        ]
    };

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

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
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

/// Checks the ladder rule: each level's running time exceeds the previous level's by at most
/// 10 % or 1 minute, whichever is larger. Returns the index of the first level that breaks it.
/// The running minutes of a jog at `level` of the program's ladder (a jog logged without a
/// level is at level 1); 0 when the ladder has no such level.
pub fn running_minutes(stages: &[Stage], level: Option<i32>) -> f32 {
    stages
        .iter()
        .find(|s| s.key == StageKey::Jogging)
        .and_then(|s| s.levels.get(level.unwrap_or(1).max(1) as usize - 1))
        .map(|l| l.running_seconds() as f32 / 60.0)
        .unwrap_or(0.0)
}

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
        check_gates(stage, i, &mut err);
        check_exercises(stage, i, &mut err);
        check_readiness_tests(stage, i, &mut err);
        check_ladder(stage, i, &mut err);
    }
    errors
}

/// A stage's entry gate: its days within range, and jogging's R1 (day 84, a clearance).
fn check_gates(stage: &Stage, i: usize, err: &mut impl FnMut(String, &str)) {
    let at = |f: &str| format!("stages[{i}].{f}");
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
    if stage.key == StageKey::Jogging && stage.entry_gate.min_days_postpartum < JOGGING_MIN_DAYS {
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
}

/// A stage's exercises: names, instructions and doses within range.
fn check_exercises(stage: &Stage, i: usize, err: &mut impl FnMut(String, &str)) {
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
}

/// A stage's readiness tests: a title, one positive target, each test once.
fn check_readiness_tests(stage: &Stage, i: usize, err: &mut impl FnMut(String, &str)) {
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
}

/// The jogging stage's run–walk ladder (only jogging has one): numbered in order, each
/// level within range, and no step up larger than the ladder rule allows.
fn check_ladder(stage: &Stage, i: usize, err: &mut impl FnMut(String, &str)) {
    let at = |f: &str| format!("stages[{i}].{f}");
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

/// A program's stages, looked up by key.
pub fn stage(stages: &[Stage], key: StageKey) -> Option<&Stage> {
    stages.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests;
