//! What counts "at this step": the sessions and reports that R2, R6 and R8 weigh for the plan's
//! current stage and level. The database loads her rows of this plan at its stage and level;
//! the rules here say which of them belong to the step she is on now.

use chrono::{DateTime, Utc};

use super::triage::FlagLevel;

/// When her current step began, and when each level of her flags was last resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWindow {
    /// When the plan reached its current stage and level (a coach's move, the engine's, or the
    /// plan's start).
    pub started_at: DateTime<Utc>,
    /// The last time a flag of each level was resolved, for the levels she has had.
    pub resolved: Vec<(FlagLevel, DateTime<Utc>)>,
    /// Her last red_pelvic referral, or the plan's last move out of jogging, if any.
    pub readiness_reset: Option<DateTime<Utc>>,
}

impl StepWindow {
    /// A session counts at the step when it was logged since the step began (or since her coach
    /// last resolved a red or amber flag, like reports: SPEC §1.8), whatever day it is about: a
    /// session queued offline and sent after a move counts at the new step, and one logged
    /// before the move never does, even when the plan comes back to this step later.
    pub fn counts_session(&self, logged_at: DateTime<Utc>) -> bool {
        logged_at >= self.reports_from()
    }

    /// From when sessions and reports count: the step's start, or the last time a red or amber
    /// flag of hers was resolved if that is later. Resolving such a flag is her coach saying the symptom
    /// behind it was seen to, so the engine starts counting afresh (two ambers in a row, green
    /// reports after sessions). A mood flag is about her wellbeing, not her body: resolving it
    /// leaves the window as it was.
    pub fn reports_from(&self) -> DateTime<Utc> {
        self.resolved
            .iter()
            .filter(|(level, _)| level.resets_report_window())
            .map(|&(_, at)| at)
            .fold(self.started_at, DateTime::max)
    }

    /// Whether a readiness result recorded at `recorded_at` still counts: results from before a
    /// red_pelvic referral or a move back out of jogging stop counting, and she redoes the tests
    /// (SPEC §1.8): what her pelvic floor or legs could do before is no longer known.
    pub fn counts_readiness(&self, recorded_at: DateTime<Utc>) -> bool {
        self.readiness_reset
            .is_none_or(|reset| recorded_at >= reset)
    }

    /// Whether a report written at `written_at` counts at the step.
    pub fn counts_report(&self, written_at: DateTime<Utc>) -> bool {
        written_at >= self.reports_from()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(hour: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap() + Duration::hours(hour)
    }

    #[test]
    fn a_session_counts_from_the_moment_the_step_began_or_a_flag_was_resolved() {
        let w = StepWindow {
            started_at: at(10),
            resolved: vec![],
            readiness_reset: None,
        };
        assert!(!w.counts_session(at(9)));
        assert!(w.counts_session(at(10)));
        // A resolved flag opens a fresh window for sessions too (SPEC §1.8): a resolve can
        // never produce an immediate advance from sessions done before it.
        let w = StepWindow {
            resolved: vec![(FlagLevel::Amber, at(12)), (FlagLevel::Mood, at(15))],
            ..w
        };
        assert!(!w.counts_session(at(11)));
        assert!(w.counts_session(at(12)));
    }

    #[test]
    fn a_resolved_red_or_amber_flag_restarts_the_reports_and_a_mood_flag_does_not() {
        let step = StepWindow {
            started_at: at(10),
            resolved: vec![],
            readiness_reset: None,
        };
        assert_eq!(step.reports_from(), at(10));
        let before = StepWindow {
            resolved: vec![(FlagLevel::RedPelvic, at(5))],
            ..step.clone()
        };
        assert_eq!(before.reports_from(), at(10));
        for level in [
            FlagLevel::Amber,
            FlagLevel::RedPelvic,
            FlagLevel::RedMedical,
        ] {
            let after = StepWindow {
                resolved: vec![(level, at(14)), (FlagLevel::Mood, at(20))],
                ..step.clone()
            };
            assert_eq!(after.reports_from(), at(14), "{level:?}");
            assert!(!after.counts_report(at(13)));
            assert!(after.counts_report(at(14)));
        }
        let mood = StepWindow {
            resolved: vec![(FlagLevel::Mood, at(20))],
            ..step
        };
        assert!(mood.counts_report(at(11)));
    }

    #[test]
    fn readiness_results_before_a_referral_or_a_move_out_of_jogging_stop_counting() {
        let w = StepWindow {
            started_at: at(0),
            resolved: vec![],
            readiness_reset: None,
        };
        assert!(w.counts_readiness(at(1)));
        let w = StepWindow {
            readiness_reset: Some(at(10)),
            ..w
        };
        assert!(!w.counts_readiness(at(9)));
        assert!(w.counts_readiness(at(10)));
    }

    proptest::proptest! {
        #[test]
        fn a_report_counts_exactly_when_written_after_the_start_and_every_reset(
            start in 0i64..100,
            resolved in proptest::collection::vec((0usize..4, 0i64..100), 0..6),
            written in 0i64..100,
        ) {
            let levels = [FlagLevel::Amber, FlagLevel::RedPelvic, FlagLevel::RedMedical, FlagLevel::Mood];
            let w = StepWindow {
                started_at: at(start),
                resolved: resolved.iter().map(|&(l, h)| (levels[l], at(h))).collect(),
                readiness_reset: None,
            };
            let expected = written >= start
                && resolved.iter().all(|&(l, h)| levels[l] == FlagLevel::Mood || written >= h);
            proptest::prop_assert_eq!(w.counts_report(at(written)), expected);
        }
    }
}
