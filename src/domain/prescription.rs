//! Today's prescription: what the client does on a given day. The stage's exercises with their
//! doses, or for jogging the warm-up and run–walk intervals a phone can play step by step, or a
//! rest day when the rules call for one (R10: never two running days in a row below level 5,
//! and at most three runs a week).
//!
//! Today obeys safety (SPEC §1.8): an open red flag means no impact and no ordinary session
//! (`paused`, saying what to do instead and who will contact her); a run never takes the week
//! over R4's cap (fewer repeats, or a walk day, saying why); a safety recommendation not yet
//! applied to the plan is what today prescribes ([`safety_step`]).

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::client::ClientFacts;
use super::engine::{weekly_volume_cap, weeks, Decision, Recommendation};
use super::plan::{check_entry_gate, PlanState, PlanStatus, Step, TransitionError};
use super::program::{Exercise, Level, Stage, StageKey, WARM_UP_MINUTES};
use super::triage::{TriageLevel, ACCEPTABLE_PAIN};

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
#[schema(example = json!({
    "date": "2026-11-25",
    "kind": "session",
    "stage": "jogging",
    "stage_title": "Jogging for short periods",
    "level": 1,
    "message": "Jogging for short periods: Start slow and add time little by little, keeping your fingers on the pulse of your symptoms; give yourself permission to do less than you think you can.",
    "exercises": [
        {"name": "Brisk-walk warm-up", "instructions": "Five minutes of brisk walking before every run.", "dose": {"sets": null, "reps": null, "hold_seconds": null, "duration_minutes": 5, "per_side": false}},
        {"name": "Run–walk intervals", "instructions": "The intervals of your current level; walk the rest of the run if symptoms appear.", "dose": {"sets": null, "reps": null, "hold_seconds": null, "duration_minutes": null, "per_side": false}}
    ],
    "run": {"level": 1, "run_seconds": 60, "walk_seconds": 120, "repeats": 8, "running_minutes": 8.0, "intervals": [
        {"kind": "warm_up", "seconds": 300}, {"kind": "run", "seconds": 60}, {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60},
        {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60}, {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60},
        {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60}, {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60},
        {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60}, {"kind": "walk", "seconds": 120}, {"kind": "run", "seconds": 60}
    ]},
    "safety_notes": [
        "If you feel leaking, heaviness or a bulge, pain around your pelvis, scar or tummy, or other pain above 5 out of 10 during exercise, stop the hard part and walk the rest of the session, then report it.",
        "Call your local emergency number now for chest pain, breathlessness at rest, calf pain or swelling, fainting, a severe headache or disturbed vision, or heavy bleeding (soaking a pad within an hour).",
        "Stop all exercise and get medical care today for a fever, a wound that is red, hot or discharging, palpitations, dizziness, severe abdominal pain, or new or increased bleeding.",
        "A bulge, losing control of bowels or wind, urgency you cannot hold, pain with sex, or trouble emptying your bowels: see a pelvic-health physiotherapist before more impact."
    ]
}))]
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

/// What the day weighs besides her plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recent {
    /// Her completed jogs (day, running minutes), at least from two weeks before the day.
    pub runs: Vec<(NaiveDate, f32)>,
    /// Her strongest open red flag, if any.
    pub open_red_flag: Option<TriageLevel>,
}

#[cfg(test)]
impl Recent {
    /// Runs of `minutes` on each of `days`, no flag.
    pub fn runs(days: &[NaiveDate], minutes: f32) -> Self {
        Self {
            runs: days.iter().map(|d| (*d, minutes)).collect(),
            open_red_flag: None,
        }
    }
}

/// The step a safety recommendation stored on her plan moves her to, when the plan is not
/// there yet (a regression or a referral back that nobody applied): today prescribes it.
pub fn safety_step(state: PlanState, recommendation: Option<&Recommendation>) -> Option<Step> {
    let r = recommendation?;
    let target = Step {
        stage: r.target_stage,
        level: r.target_level,
    };
    (matches!(r.decision, Decision::Regress | Decision::Refer) && target != state.step)
        .then_some(target)
}

/// What a phone shows every day, whatever the stage.
pub fn safety_notes() -> Vec<String> {
    vec![
        format!("If you feel leaking, heaviness or a bulge, pain around your pelvis, scar or tummy, or other pain above {ACCEPTABLE_PAIN} out of 10 during exercise, stop the hard part and walk the rest of the session, then report it."),
        "Call your local emergency number now for chest pain, breathlessness at rest, calf pain or swelling, fainting, a severe headache or disturbed vision, or heavy bleeding (soaking a pad within an hour).".into(),
        "Stop all exercise and get medical care today for a fever, a wound that is red, hot or discharging, palpitations, dizziness, severe abdominal pain, or new or increased bleeding.".into(),
        "A bulge, losing control of bowels or wind, urgency you cannot hold, pain with sex, or trouble emptying your bowels: see a pelvic-health physiotherapist before more impact.".into(),
    ]
}

fn run_session(stage: &Stage, level: u32) -> Option<RunSession> {
    let rung = stage.levels.get(level.checked_sub(1)? as usize)?;
    Some(run_of(level, rung))
}

/// A run a phone can play: the warm-up, then `rung`'s runs and walks.
fn run_of(level: u32, rung: &Level) -> RunSession {
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
    RunSession {
        level,
        run_seconds: rung.run_seconds,
        walk_seconds: rung.walk_seconds,
        repeats: rung.repeats,
        running_minutes: rung.running_seconds() as f32 / 60.0,
        intervals,
    }
}

/// Today's prescription. `recent` holds her logged jogs and her open red flag.
pub fn prescribe(
    state: PlanState,
    stage: &Stage,
    facts: ClientFacts,
    date: NaiveDate,
    recent: &Recent,
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
    if let Some(level) = recent.open_red_flag {
        p.kind = DayKind::Paused;
        p.message = match level {
            TriageLevel::RedMedical => "No exercise today: you reported a medical warning sign. Get medical care as your report said; your coach will contact you before your plan goes on.",
            _ => "No running, hopping or other impact, and no session from your plan, while a referral is open: gentle walks, breathing and comfortable pelvic-floor exercises only. Your coach will contact you about seeing a pelvic-health physiotherapist.",
        }
        .into();
        return p;
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
    jogging_day(&mut p, stage, state.step.level.unwrap_or(1), recent, date);
    p
}

/// A day at the jogging stage: rest after a run below level 5 or after three runs in a week
/// (R10), else the level's run within the week's cap (R4).
fn jogging_day(p: &mut Prescription, stage: &Stage, level: u32, recent: &Recent, date: NaiveDate) {
    // R10 counts running days: two runs on one day are one day.
    let mut running_days: Vec<NaiveDate> = recent.runs.iter().map(|(d, _)| *d).collect();
    running_days.sort_unstable();
    running_days.dedup();
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
        within_weekly_cap(p, stage, &recent.runs, date);
    }
}

/// R4 on today's run: the week (today and the six days before) may hold at most last week's
/// running × 1.10 or + 1 minute. A run that would take it over loses repeats; with no room
/// for one repeat, today is a walk day.
fn within_weekly_cap(
    p: &mut Prescription,
    stage: &Stage,
    runs: &[(NaiveDate, f32)],
    date: NaiveDate,
) {
    let Some(run) = p.run.as_ref() else { return };
    // The engine's own weeks (R4), of the runs up to the day asked for.
    let upto = runs.iter().copied().filter(|(d, _)| *d <= date);
    let weeks = weeks(date, upto, std::iter::empty());
    let (this_week, last_week) = (weeks.running_this, weeks.running_last);
    if last_week <= 0.0 {
        return;
    }
    let cap = weekly_volume_cap(last_week);
    if this_week + run.running_minutes <= cap + 1e-3 {
        return;
    }
    let per_repeat = run.run_seconds as f32 / 60.0;
    let room = cap - this_week;
    let repeats = if per_repeat > 0.0 {
        (room / per_repeat + 1e-3).floor()
    } else {
        0.0
    };
    if run.repeats > 1 && repeats >= 1.0 {
        let level = run.level;
        let Some(&rung) = stage.levels.get(level as usize - 1) else {
            return;
        };
        let shorter = Level {
            repeats: repeats as u32,
            ..rung
        };
        p.run = Some(run_of(level, &shorter));
        p.message = format!(
            "Level {level}, shortened to {} repeats: your running this week ({this_week:.1} minutes) may grow to {cap:.1} minutes at most, 10 % or 1 minute over last week's {last_week:.1} (R4). Warm up with a {WARM_UP_MINUTES}-minute brisk walk first.",
            shorter.repeats
        );
    } else {
        p.run = None;
        p.kind = DayKind::Rest;
        p.message = format!(
            "Walk today instead of running: your running this week ({this_week:.1} minutes) has reached the most it may grow to, {cap:.1} minutes, 10 % or 1 minute over last week's {last_week:.1} (R4)."
        );
    }
}

#[cfg(test)]
mod properties;

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
            &Recent::default(),
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
            &Recent::default(),
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
        let p = prescribe(
            jogging(1),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &Recent::default(),
            None,
        );
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
            &Recent::runs(&yesterday, 8.0),
            None,
        );
        assert_eq!(p.kind, DayKind::Rest);
        assert!(p.run.is_none());
        let p = prescribe(
            jogging(5),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &Recent::runs(&yesterday, 8.0),
            None,
        );
        assert_eq!(p.kind, DayKind::Session);
    }

    #[test]
    fn two_runs_on_one_day_are_one_running_day() {
        let stages = default_stages();
        // A full week before, so R4's cap leaves room; this week two runs on the 21st.
        let mut runs: Vec<NaiveDate> = (12..=18).map(|n| d(&format!("2026-11-{n}"))).collect();
        runs.extend([d("2026-11-21"), d("2026-11-21"), d("2026-11-23")]);
        let p = prescribe(
            jogging(8),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &Recent::runs(&runs, 8.0),
            None,
        );
        assert_eq!(p.kind, DayKind::Session, "{}", p.message);
    }

    #[test]
    fn three_runs_in_seven_days_is_the_most() {
        let stages = default_stages();
        // Four runs the week before, so R4's cap (SPEC §1.8: today obeys it) leaves room.
        let runs = [
            d("2026-11-13"),
            d("2026-11-15"),
            d("2026-11-17"),
            d("2026-11-19"),
            d("2026-11-21"),
            d("2026-11-23"),
        ];
        let p = prescribe(
            jogging(8),
            &stages[3],
            ok(),
            d("2026-11-25"),
            &Recent::runs(&runs, 8.0),
            None,
        );
        assert_eq!(p.kind, DayKind::Rest);
        let p = prescribe(
            jogging(8),
            &stages[3],
            ok(),
            d("2026-11-26"),
            &Recent::runs(&runs, 8.0),
            None,
        );
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
        let p = prescribe(
            crawling,
            &stages[0],
            ok(),
            d("2026-11-25"),
            &Recent::default(),
            None,
        );
        assert_eq!(p.exercises.len(), stages[0].exercises.len());
        assert_eq!(p.safety_notes.len(), 4);
        let paused = PlanState {
            status: PlanStatus::Paused,
            ..crawling
        };
        let p = prescribe(
            paused,
            &stages[0],
            ok(),
            d("2026-11-25"),
            &Recent::default(),
            Some("chest pain reported"),
        );
        assert_eq!(p.kind, DayKind::Paused);
        assert!(p.message.contains("chest pain reported"));
        assert!(p.exercises.is_empty());
    }
}
