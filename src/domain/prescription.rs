//! Today's prescription: what the client does on a given day. The stage's exercises with their
//! doses, or for jogging the warm-up and run–walk intervals a phone can play step by step, or a
//! rest day when the rules call for one (R10: never two running days in a row below level 5,
//! and at most three runs a week).

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::client::ClientFacts;
use super::plan::{check_entry_gate, PlanState, PlanStatus, TransitionError};
use super::program::{Exercise, Stage, StageKey, WARM_UP_MINUTES};

/// Below this level, running days never follow each other.
pub const BACK_TO_BACK_FROM_LEVEL: u32 = 5;
pub const MAX_RUNS_PER_WEEK: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Do the stage's session.
    Session,
    /// No running today: rest or an easy walk.
    Rest,
    /// The plan is paused: no exercise from it until a coach resumes it.
    Paused,
    /// The plan is finished (completed or stopped).
    Finished,
    /// The stage's entry gate is not met yet (too early postpartum, or no clearance).
    NotYet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    WarmUp,
    Run,
    Walk,
}

/// One step of a run a phone can play: do this for this long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Interval {
    pub kind: IntervalKind,
    pub seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RunSession {
    pub level: u32,
    pub run_seconds: u32,
    pub walk_seconds: u32,
    pub repeats: u32,
    pub running_minutes: f32,
    /// The whole run in order, warm-up first.
    pub intervals: Vec<Interval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Prescription {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub stage: StageKey,
    pub stage_title: String,
    pub level: Option<u32>,
    /// What to do today, in words.
    pub message: String,
    pub exercises: Vec<Exercise>,
    pub run: Option<RunSession>,
    pub safety_notes: Vec<String>,
}

/// What a phone shows every day, whatever the stage.
pub fn safety_notes() -> Vec<String> {
    vec![
        "If you feel leaking, heaviness or a bulge, or pain above 2 out of 10 during exercise, stop the hard part and walk the rest of the session, then report it.".into(),
        "Stop all exercise and get medical care today for chest pain, calf pain or swelling, dizziness or fainting, breathlessness at rest, severe abdominal pain, fever, or new or increased bleeding.".into(),
        "A bulge, losing control of bowels or wind, urgency you cannot hold, pain with sex, or trouble emptying your bowels: see a pelvic-health physiotherapist before more impact.".into(),
    ]
}

fn run_session(stage: &Stage, level: u32) -> Option<RunSession> {
    let rung = stage.levels.get(level.checked_sub(1)? as usize)?;
    let mut intervals = vec![Interval {
        kind: IntervalKind::WarmUp,
        seconds: WARM_UP_MINUTES * 60,
    }];
    for i in 0..rung.repeats {
        intervals.push(Interval {
            kind: IntervalKind::Run,
            seconds: rung.run_seconds,
        });
        if rung.walk_seconds > 0 && i + 1 < rung.repeats {
            intervals.push(Interval {
                kind: IntervalKind::Walk,
                seconds: rung.walk_seconds,
            });
        }
    }
    Some(RunSession {
        level,
        run_seconds: rung.run_seconds,
        walk_seconds: rung.walk_seconds,
        repeats: rung.repeats,
        running_minutes: rung.running_seconds() as f32 / 60.0,
        intervals,
    })
}

/// Today's prescription. `running_days` are the dates of logged jogging sessions.
pub fn prescribe(
    state: PlanState,
    stage: &Stage,
    facts: ClientFacts,
    date: NaiveDate,
    running_days: &[NaiveDate],
    status_reason: Option<&str>,
) -> Prescription {
    let mut p = Prescription {
        date,
        kind: DayKind::Session,
        stage: stage.key,
        stage_title: stage.title.clone(),
        level: state.step.level,
        message: String::new(),
        exercises: vec![],
        run: None,
        safety_notes: safety_notes(),
    };
    match state.status {
        PlanStatus::Paused => {
            p.kind = DayKind::Paused;
            p.message = format!(
                "Your plan is paused{}. No exercise from the plan until your coach resumes it.",
                status_reason.map(|r| format!(": {r}")).unwrap_or_default()
            );
            return p;
        }
        PlanStatus::Completed | PlanStatus::Stopped => {
            p.kind = DayKind::Finished;
            p.message = format!(
                "Your plan is {}.",
                if state.status == PlanStatus::Completed {
                    "complete — well done"
                } else {
                    "stopped"
                }
            );
            return p;
        }
        PlanStatus::Active => {}
    }
    // The gate counts for the stage she is in, too (a plan may start before it opens).
    if let Err(TransitionError::Gate { message, .. }) = check_entry_gate(stage, facts, false) {
        p.kind = DayKind::NotYet;
        p.message = format!("Not yet: {message} Gentle walks and breathing only until then.");
        return p;
    }
    if stage.key != StageKey::Jogging {
        p.exercises = stage.exercises.clone();
        p.message = format!("{}: {}", stage.title, stage.purpose);
        return p;
    }
    let level = state.step.level.unwrap_or(1);
    let ran_yesterday = running_days.contains(&(date - Duration::days(1)));
    let runs_this_week = running_days
        .iter()
        .filter(|d| **d < date && **d >= date - Duration::days(6))
        .count();
    if ran_yesterday && level < BACK_TO_BACK_FROM_LEVEL {
        p.kind = DayKind::Rest;
        p.message =
            "Rest or walk today: below level 5, running days never follow each other (R10).".into();
    } else if runs_this_week >= MAX_RUNS_PER_WEEK {
        p.kind = DayKind::Rest;
        p.message =
            "Rest or walk today: three runs in the last seven days is the most for now (R10)."
                .into();
    } else {
        p.run = run_session(stage, level);
        p.message = format!(
            "Level {level}: warm up with a {WARM_UP_MINUTES}-minute brisk walk, then run and walk as shown. Walk the rest of the run if symptoms appear."
        );
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::Step;
    use crate::domain::program::default_stages;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ok() -> ClientFacts {
        ClientFacts::new(120, true)
    }

    #[test]
    fn before_the_gate_opens_the_day_says_not_yet() {
        let stages = default_stages();
        let p = prescribe(
            jogging(1),
            &stages[3],
            ClientFacts::new(80, true),
            d("2026-11-25"),
            &[],
            None,
        );
        assert_eq!(p.kind, DayKind::NotYet);
        assert!(p.run.is_none());
        let crawling = PlanState {
            step: Step {
                stage: StageKey::Crawling,
                level: None,
            },
            status: PlanStatus::Active,
        };
        let p = prescribe(
            crawling,
            &stages[0],
            ClientFacts::new(30, false),
            d("2026-11-25"),
            &[],
            None,
        );
        assert_eq!(p.kind, DayKind::NotYet);
        assert!(p.message.contains("clearance"));
    }

    fn jogging(level: u32) -> PlanState {
        PlanState {
            step: Step {
                stage: StageKey::Jogging,
                level: Some(level),
            },
            status: PlanStatus::Active,
        }
    }

    #[test]
    fn a_jogging_day_plays_warm_up_then_run_walk_intervals() {
        let stages = default_stages();
        let p = prescribe(jogging(1), &stages[3], ok(), d("2026-11-25"), &[], None);
        assert_eq!(p.kind, DayKind::Session);
        let run = p.run.unwrap();
        assert_eq!(
            run.intervals[0],
            Interval {
                kind: IntervalKind::WarmUp,
                seconds: 300
            }
        );
        assert_eq!(
            run.intervals
                .iter()
                .filter(|i| i.kind == IntervalKind::Run)
                .count(),
            8
        );
        assert_eq!(
            run.intervals
                .iter()
                .filter(|i| i.kind == IntervalKind::Walk)
                .count(),
            7
        );
        assert_eq!(run.running_minutes, 8.0);
    }

    #[test]
    fn below_level_5_a_run_yesterday_means_rest_today_but_not_from_level_5() {
        let stages = default_stages();
        let yesterday = [d("2026-11-24")];
        let p = prescribe(
            jogging(4),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &yesterday,
            None,
        );
        assert_eq!(p.kind, DayKind::Rest);
        assert!(p.run.is_none());
        let p = prescribe(
            jogging(5),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &yesterday,
            None,
        );
        assert_eq!(p.kind, DayKind::Session);
    }

    #[test]
    fn three_runs_in_seven_days_is_the_most() {
        let stages = default_stages();
        let runs = [d("2026-11-19"), d("2026-11-21"), d("2026-11-23")];
        let p = prescribe(jogging(8), &stages[3], ok(), d("2026-11-25"), &runs, None);
        assert_eq!(p.kind, DayKind::Rest);
        let p = prescribe(jogging(8), &stages[3], ok(), d("2026-11-26"), &runs, None);
        assert_eq!(
            p.kind,
            DayKind::Session,
            "the run of the 19th has left the window"
        );
    }

    #[test]
    fn other_stages_list_their_exercises_and_paused_plans_say_why() {
        let stages = default_stages();
        let crawling = PlanState {
            step: Step {
                stage: StageKey::Crawling,
                level: None,
            },
            status: PlanStatus::Active,
        };
        let p = prescribe(crawling, &stages[0], ok(), d("2026-11-25"), &[], None);
        assert_eq!(p.exercises.len(), stages[0].exercises.len());
        assert_eq!(p.safety_notes.len(), 3);
        let paused = PlanState {
            status: PlanStatus::Paused,
            ..crawling
        };
        let p = prescribe(
            paused,
            &stages[0],
            ok(),
            d("2026-11-25"),
            &[],
            Some("chest pain reported"),
        );
        assert_eq!(p.kind, DayKind::Paused);
        assert!(p.message.contains("chest pain reported"));
        assert!(p.exercises.is_empty());
    }
}
