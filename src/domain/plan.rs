//! A client's plan: where she is in a program (stage, and level when jogging), its status, and
//! the rules for moving it. Coaches move plans with transitions; the gates hold for them too,
//! unless they override a gate with a reason (which is recorded).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client::ClientFacts;
use super::program::{Stage, StageKey, RECOVERY_FLOOR_DAYS};
use super::rules::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Active,
    Paused,
    Completed,
    Stopped,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::Paused => "paused",
            PlanStatus::Completed => "completed",
            PlanStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Paused, Self::Completed, Self::Stopped]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitionAction {
    Advance,
    Hold,
    Regress,
    Pause,
    Resume,
    Complete,
    Discharge,
    Set,
}

impl TransitionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionAction::Advance => "advance",
            TransitionAction::Hold => "hold",
            TransitionAction::Regress => "regress",
            TransitionAction::Pause => "pause",
            TransitionAction::Resume => "resume",
            TransitionAction::Complete => "complete",
            TransitionAction::Discharge => "discharge",
            TransitionAction::Set => "set",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use TransitionAction::*;
        [
            Advance, Hold, Regress, Pause, Resume, Complete, Discharge, Set,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A position in a program: a stage, and a ladder level when jogging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub stage: StageKey,
    pub level: Option<u32>,
}

impl Step {
    /// The first step of a stage.
    pub fn start_of(stage: &Stage) -> Step {
        Step {
            stage: stage.key,
            level: (stage.key == StageKey::Jogging).then_some(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanState {
    pub step: Step,
    pub status: PlanStatus,
}

impl PlanState {
    /// The same step with another status.
    pub fn with_status(self, status: PlanStatus) -> Self {
        PlanState { status, ..self }
    }
}

#[derive(Debug, Clone)]
pub struct TransitionRequest {
    pub action: TransitionAction,
    pub stage: Option<StageKey>,
    pub level: Option<u32>,
    pub override_gate: bool,
}

/// Why a transition cannot happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// Not possible from the plan's current state (409).
    Conflict(String),
    /// A gate of the program stops it (409), with the rule id.
    Gate { rule: Rule, message: String },
    /// The request itself is wrong (422), naming the field.
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The step after `step`: the next level on the ladder, or the first step of the next stage.
pub fn next_step(stages: &[Stage], step: Step) -> Option<Step> {
    let index = stages.iter().position(|s| s.key == step.stage)?;
    let stage = &stages[index];
    if let Some(level) = step.level {
        if (level as usize) < stage.levels.len() {
            return Some(Step {
                stage: step.stage,
                level: Some(level + 1),
            });
        }
    }
    stages.get(index + 1).map(Step::start_of)
}

/// The step before `step`: the previous level, or the last step of the previous stage.
pub fn previous_step(stages: &[Stage], step: Step) -> Option<Step> {
    if let Some(level) = step.level.filter(|l| *l > 1) {
        return Some(Step {
            stage: step.stage,
            level: Some(level - 1),
        });
    }
    let index = stages.iter().position(|s| s.key == step.stage)?;
    let previous = stages.get(index.checked_sub(1)?)?;
    Some(Step {
        stage: previous.key,
        level: (!previous.levels.is_empty()).then_some(previous.levels.len() as u32),
    })
}

/// The first day postpartum she may enter `stage`: the gate's day (or its day for her type of
/// birth; for jogging, her individual gate date when a coach set one), never before the
/// three-week floor.
pub fn earliest_day(stage: &Stage, facts: ClientFacts) -> i64 {
    let gate = stage.entry_gate;
    let mut day = gate
        .for_delivery(facts.delivery_type)
        .and_then(|d| d.min_days_postpartum)
        .map_or(i64::from(gate.min_days_postpartum), i64::from);
    if stage.key == StageKey::Jogging {
        if let Some(individual) = facts.jogging_gate_day {
            day = individual;
        }
    }
    day.max(i64::from(RECOVERY_FLOOR_DAYS))
}

/// The three-week floor, which holds even against a coach's override.
pub fn check_recovery_floor(stage: &Stage, facts: ClientFacts) -> Result<(), TransitionError> {
    if facts.days_postpartum < i64::from(RECOVERY_FLOOR_DAYS) {
        return Err(TransitionError::Gate {
            rule: if stage.key == StageKey::Jogging {
                Rule::R1
            } else {
                Rule::Gate
            },
            message: format!(
                "No stage starts before day {RECOVERY_FLOOR_DAYS} postpartum (three weeks of rest and recovery), whatever the override; today is day {}.",
                facts.days_postpartum
            ),
        });
    }
    Ok(())
}

/// Whether the client may enter `stage` (R1 for jogging; every stage's entry gate): the day
/// ([`earliest_day`]), a clinician's clearance, after a caesarean birth her scar cleared where
/// the gate asks for it, and for jogging no open red flag.
pub fn check_entry_gate(
    stage: &Stage,
    facts: ClientFacts,
    open_red_flag: bool,
) -> Result<(), TransitionError> {
    let gate = stage.entry_gate;
    let rule = if stage.key == StageKey::Jogging {
        Rule::R1
    } else {
        Rule::Gate
    };
    let earliest = earliest_day(stage, facts);
    if facts.days_postpartum < earliest {
        return Err(TransitionError::Gate {
            rule,
            message: format!(
                "{} starts at day {earliest} postpartum; today is day {}.",
                stage.title, facts.days_postpartum
            ),
        });
    }
    if gate.requires_clearance && !facts.cleared_for_exercise {
        return Err(TransitionError::Gate {
            rule,
            message: format!(
                "{} needs a clinician's clearance for exercise first.",
                stage.title
            ),
        });
    }
    check_oasi_hold(stage, facts)?;
    let scar_check = gate
        .for_delivery(facts.delivery_type)
        .is_some_and(|d| d.requires_scar_clearance);
    if scar_check && !facts.caesarean_scar_cleared {
        return Err(TransitionError::Gate {
            rule,
            message: format!(
                "{} needs your caesarean scar checked and cleared by a clinician first.",
                stage.title
            ),
        });
    }
    if stage.key == StageKey::Jogging && open_red_flag {
        return Err(TransitionError::Gate {
            rule,
            message: "No jogging while a red flag is open; a coach must resolve it first.".into(),
        });
    }
    Ok(())
}

fn invalid(field: &'static str, message: &str) -> TransitionError {
    TransitionError::Invalid {
        field,
        message: message.into(),
    }
}

/// Refuses an action the plan's status does not allow.
fn require(
    state: PlanState,
    action: TransitionAction,
    allowed: &[PlanStatus],
) -> Result<(), TransitionError> {
    if allowed.contains(&state.status) {
        Ok(())
    } else {
        Err(TransitionError::Conflict(format!(
            "The plan is {}; `{}` is not possible now.",
            state.status.as_str(),
            action.as_str()
        )))
    }
}

/// The plan moved to `target`. Moving to a later stage passes the three-week floor always,
/// and, unless a coach overrides it (`gate` is `None`), the stage's entry gate (`gate` says
/// whether a red flag is open).
/// R1 after a third- or fourth-degree tear (SPEC §1.8): lunges and jogging wait until a
/// pelvic-health assessment clears her for impact. Like the three-week floor, no override lifts
/// it: the assessment does.
pub fn check_oasi_hold(stage: &Stage, facts: ClientFacts) -> Result<(), TransitionError> {
    if facts.oasi_hold && matches!(stage.key, StageKey::Lunges | StageKey::Jogging) {
        return Err(TransitionError::Gate {
            rule: Rule::R1,
            message: format!(
                "{} waits after a third- or fourth-degree tear until a pelvic-health assessment clears you for impact.",
                stage.title
            ),
        });
    }
    Ok(())
}

fn gated(
    state: PlanState,
    target: Step,
    stages: &[Stage],
    facts: ClientFacts,
    gate: Option<bool>,
) -> Result<PlanState, TransitionError> {
    let current_position = stages.iter().position(|s| s.key == state.step.stage);
    let target_position = stages.iter().position(|s| s.key == target.stage);
    if target_position > current_position {
        let stage = stages
            .iter()
            .find(|s| s.key == target.stage)
            .expect("known stage");
        check_recovery_floor(stage, facts)?;
        check_oasi_hold(stage, facts)?;
        if let Some(open_red_flag) = gate {
            check_entry_gate(stage, facts, open_red_flag)?;
        }
    }
    Ok(PlanState {
        step: target,
        status: state.status,
    })
}

/// Where `set` moves the plan: the stage asked for, at the level asked for (jogging only; its
/// first level when none is given).
fn set_target(stages: &[Stage], request: &TransitionRequest) -> Result<Step, TransitionError> {
    let key = request
        .stage
        .ok_or_else(|| invalid("stage", "is required with `set`"))?;
    let stage = stages
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(|| invalid("stage", "is not a stage of this program"))?;
    let level = match (stage.levels.is_empty(), request.level) {
        (true, None) => None,
        (true, Some(_)) => return Err(invalid("level", "only the jogging stage has levels")),
        (false, None) => Some(1),
        (false, Some(l)) if l >= 1 && (l as usize) <= stage.levels.len() => Some(l),
        (false, Some(_)) => {
            return Err(TransitionError::Invalid {
                field: "level",
                message: format!("must be between 1 and {}", stage.levels.len()),
            })
        }
    };
    Ok(Step { stage: key, level })
}

/// Applies a coach's transition to a plan; the new state, or why not.
pub fn apply_transition(
    state: PlanState,
    request: &TransitionRequest,
    stages: &[Stage],
    facts: ClientFacts,
    open_red_flag: bool,
) -> Result<PlanState, TransitionError> {
    use TransitionAction::*;
    if request.action != Set && (request.stage.is_some() || request.level.is_some()) {
        return Err(invalid(
            "stage",
            "stage and level are given only with the action `set`",
        ));
    }
    let require = |allowed: &[PlanStatus]| require(state, request.action, allowed);
    let gated = |target: Step| {
        let gate = (!request.override_gate).then_some(open_red_flag);
        gated(state, target, stages, facts, gate)
    };
    match request.action {
        Advance => {
            require(&[PlanStatus::Active])?;
            let target = next_step(stages, state.step).ok_or_else(|| {
                TransitionError::Conflict(
                    "This is the program's last step; use `complete` to finish the plan.".into(),
                )
            })?;
            gated(target)
        }
        Regress => {
            require(&[PlanStatus::Active])?;
            let target = previous_step(stages, state.step).ok_or_else(|| {
                TransitionError::Conflict("This is the program's first step.".into())
            })?;
            Ok(PlanState {
                step: target,
                status: state.status,
            })
        }
        Hold => {
            require(&[PlanStatus::Active])?;
            Ok(state)
        }
        Set => {
            require(&[PlanStatus::Active, PlanStatus::Paused])?;
            gated(set_target(stages, request)?)
        }
        Pause => {
            require(&[PlanStatus::Active])?;
            Ok(state.with_status(PlanStatus::Paused))
        }
        Resume => {
            require(&[PlanStatus::Paused])?;
            if open_red_flag && !request.override_gate {
                return Err(TransitionError::Gate {
                    rule: Rule::R9,
                    message: "A red flag is open: resolve it before the plan resumes.".into(),
                });
            }
            Ok(state.with_status(PlanStatus::Active))
        }
        Complete => {
            require(&[PlanStatus::Active, PlanStatus::Paused])?;
            Ok(state.with_status(PlanStatus::Completed))
        }
        Discharge => {
            require(&[PlanStatus::Active, PlanStatus::Paused])?;
            Ok(state.with_status(PlanStatus::Stopped))
        }
    }
}

#[cfg(test)]
mod tests;
