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
    let require = |allowed: &[PlanStatus]| {
        if allowed.contains(&state.status) {
            Ok(())
        } else {
            Err(TransitionError::Conflict(format!(
                "The plan is {}; `{}` is not possible now.",
                state.status.as_str(),
                request.action.as_str()
            )))
        }
    };
    let gated = |target: Step| -> Result<PlanState, TransitionError> {
        let current_position = stages.iter().position(|s| s.key == state.step.stage);
        let target_position = stages.iter().position(|s| s.key == target.stage);
        if target_position > current_position {
            let stage = stages
                .iter()
                .find(|s| s.key == target.stage)
                .expect("known stage");
            check_recovery_floor(stage, facts)?;
            if !request.override_gate {
                check_entry_gate(stage, facts, open_red_flag)?;
            }
        }
        Ok(PlanState {
            step: target,
            status: state.status,
        })
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
            let key = request
                .stage
                .ok_or_else(|| invalid("stage", "is required with `set`"))?;
            let stage = stages
                .iter()
                .find(|s| s.key == key)
                .ok_or_else(|| invalid("stage", "is not a stage of this program"))?;
            let level = match (stage.levels.is_empty(), request.level) {
                (true, None) => None,
                (true, Some(_)) => {
                    return Err(invalid("level", "only the jogging stage has levels"))
                }
                (false, None) => Some(1),
                (false, Some(l)) if l >= 1 && (l as usize) <= stage.levels.len() => Some(l),
                (false, Some(_)) => {
                    return Err(TransitionError::Invalid {
                        field: "level",
                        message: format!("must be between 1 and {}", stage.levels.len()),
                    })
                }
            };
            gated(Step { stage: key, level })
        }
        Pause => {
            require(&[PlanStatus::Active])?;
            Ok(PlanState {
                status: PlanStatus::Paused,
                ..state
            })
        }
        Resume => {
            require(&[PlanStatus::Paused])?;
            if open_red_flag && !request.override_gate {
                return Err(TransitionError::Gate {
                    rule: Rule::R9,
                    message: "A red flag is open: resolve it before the plan resumes.".into(),
                });
            }
            Ok(PlanState {
                status: PlanStatus::Active,
                ..state
            })
        }
        Complete => {
            require(&[PlanStatus::Active, PlanStatus::Paused])?;
            Ok(PlanState {
                status: PlanStatus::Completed,
                ..state
            })
        }
        Discharge => {
            require(&[PlanStatus::Active, PlanStatus::Paused])?;
            Ok(PlanState {
                status: PlanStatus::Stopped,
                ..state
            })
        }
    }
}

#[cfg(test)]
mod tests {
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
        let s =
            apply_transition(at(StageKey::Jogging, Some(3)), &regress, &stages, ok, false).unwrap();
        assert_eq!(s.step.level, Some(2));
        let s =
            apply_transition(at(StageKey::Jogging, Some(1)), &regress, &stages, ok, false).unwrap();
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
}
