//! Recovery check-ins: how she slept, how tired she is, feeding, periods, worry about running
//! and a two-question mood screen. They shape training without ever moving the plan back:
//! R11 holds an advance while she is not recovering, a low mood opens an informational flag for
//! her coach, and some answers are worth a clinician's look (advisories).
//!
//! Sources: Deering et al., *Return to running after childbirth: an international consensus
//! on programme design*, BJSM 2024 (modify training for sleep, mental health, lactation and
//! energy availability); Christopher et al., *Postpartum return to running readiness*, BJSM
//! 2024; Kroenke, Spitzer & Williams, *The Patient Health Questionnaire-2*, Medical Care 2003
//! (a score of 3 or more is the usual cut-off for a closer look; it screens, it does not
//! diagnose).

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::client::Breastfeeding;
use super::triage::Finding;

/// The two questions of the PHQ-2, each answered for the last two weeks: 0 not at all, 1 several
/// days, 2 more than half the days, 3 nearly every day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoodScreen {
    /// "Little interest or pleasure in doing things" (0–3).
    #[schema(minimum = 0, maximum = 3)]
    pub little_interest: u8,
    /// "Feeling down, depressed or hopeless" (0–3).
    #[schema(minimum = 0, maximum = 3)]
    pub feeling_down: u8,
}

/// A PHQ-2 total of this or more asks for a kind word and her coach's attention.
pub const MOOD_SCORE_CUT_OFF: u8 = 3;

impl MoodScreen {
    /// The PHQ-2 total, 0–6.
    pub fn score(self) -> u8 {
        self.little_interest + self.feeling_down
    }

    /// Whether the answers are each 0–3.
    pub fn is_valid(self) -> bool {
        self.little_interest <= 3 && self.feeling_down <= 3
    }

    pub fn needs_support(self) -> bool {
        self.score() >= MOOD_SCORE_CUT_OFF
    }
}

/// What she is told after a mood screen at or over the cut-off. Shown to her and her coach only.
pub const MOOD_SUPPORT: &str = "Thank you for telling us how you have been feeling. Many new mothers feel low at times, and support helps: please talk to your GP, midwife or health visitor about your mood. If you ever feel unsafe, call your local emergency number now.";

/// The flag's note for her coach after such a screen.
pub const MOOD_FLAG_NOTE: &str = "Her mood screen (PHQ-2) was 3 or more: suggest she speaks to her GP, midwife or health visitor about her mood. Training is unchanged.";

/// One check-in as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckInFact {
    pub id: Uuid,
    /// The day it is about.
    pub date: NaiveDate,
    pub sleep_hours: f32,
    pub fatigue: u8,
    pub breastfeeding: Option<Breastfeeding>,
    pub periods_returned: Option<bool>,
    pub running_worry: Option<u8>,
}

/// R11 holds while the last 7 days' average sleep is under this many hours…
pub const R11_MIN_AVERAGE_SLEEP: f64 = 6.0;
/// …or fatigue was this high…
pub const R11_FATIGUE: u8 = 8;
/// …on this many days or more.
pub const R11_TIRED_DAYS: usize = 3;

/// What R11 looked at: her check-ins of the 7 days to `today` (one a day, the latest of each
/// day), their average sleep and the days of high fatigue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecoveryWeek {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub check_in_ids: Vec<Uuid>,
    pub average_sleep_hours: Option<f64>,
    pub tired_days: usize,
}

/// The last 7 days' check-ins (today and the 6 before), the latest of each day.
pub fn recovery_week(today: NaiveDate, check_ins: &[CheckInFact]) -> RecoveryWeek {
    let from = today - Duration::days(6);
    let mut days: Vec<&CheckInFact> = Vec::new();
    // Oldest first: a later check-in about the same day replaces the earlier one.
    for c in check_ins
        .iter()
        .filter(|c| c.date >= from && c.date <= today)
    {
        match days.iter_mut().find(|d| d.date == c.date) {
            Some(day) => *day = c,
            None => days.push(c),
        }
    }
    days.sort_by_key(|d| d.date);
    let average_sleep_hours = (!days.is_empty()).then(|| {
        let total: f64 = days.iter().map(|d| f64::from(d.sleep_hours)).sum();
        ((total / days.len() as f64) * 10.0).round() / 10.0
    });
    RecoveryWeek {
        from,
        to: today,
        check_in_ids: days.iter().map(|d| d.id).collect(),
        average_sleep_hours,
        tired_days: days.iter().filter(|d| d.fatigue >= R11_FATIGUE).count(),
    }
}

/// R11, recovery: why she should not advance this week, if she should not. It holds; it never
/// moves the plan back by itself.
pub fn r11_recovery(week: &RecoveryWeek) -> Option<String> {
    let short_sleep = week
        .average_sleep_hours
        .filter(|h| *h < R11_MIN_AVERAGE_SLEEP);
    let tired = week.tired_days >= R11_TIRED_DAYS;
    match (short_sleep, tired) {
        (Some(hours), true) => Some(format!(
            "You have slept {hours} hours a night on average this week and felt very tired on {} days: stay at this step until you are more rested.",
            week.tired_days
        )),
        (Some(hours), false) => Some(format!(
            "You have slept {hours} hours a night on average this week: stay at this step until you are sleeping a little more."
        )),
        (None, true) => Some(format!(
            "You have felt very tired on {} days this week: stay at this step until you are more rested.",
            week.tired_days
        )),
        (None, false) => None,
    }
}

/// How far back the advisories look.
pub const ADVISORY_DAYS: i64 = 28;

/// Answers worth a clinician's look (they change nothing): periods not back after she stopped
/// breastfeeding, and a strong worry about running on two check-ins. `check_ins` are hers, oldest
/// first, the newest last; `breastfed_at_intake` is what her record said when she joined.
pub fn advisories(
    today: NaiveDate,
    check_ins: &[CheckInFact],
    breastfed_at_intake: bool,
) -> Vec<Finding> {
    let mut notes = Vec::new();
    let Some(latest) = check_ins.last() else {
        return notes;
    };
    let breastfed = breastfed_at_intake
        || check_ins.iter().any(|c| {
            matches!(
                c.breastfeeding,
                Some(Breastfeeding::Exclusive | Breastfeeding::Partial)
            )
        });
    if breastfed
        && latest.breastfeeding == Some(Breastfeeding::No)
        && latest.periods_returned == Some(false)
    {
        notes.push(Finding {
            rule: "advisory.periods_not_returned".into(),
            message: "Your periods have not come back since you stopped breastfeeding. That is worth mentioning to your GP or a women's health physiotherapist.".into(),
        });
    }
    let since = today - Duration::days(ADVISORY_DAYS - 1);
    let worried = check_ins
        .iter()
        .filter(|c| c.date >= since && c.running_worry.is_some_and(|w| w >= 8))
        .count();
    if worried >= 2 {
        notes.push(Finding {
            rule: "advisory.running_worry".into(),
            message: "You have told us more than once that running worries you a lot. A women's health physiotherapist can check how you are doing and talk it through with you.".into(),
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn check_in(date: &str, sleep_hours: f32, fatigue: u8) -> CheckInFact {
        CheckInFact {
            id: Uuid::now_v7(),
            date: d(date),
            sleep_hours,
            fatigue,
            breastfeeding: None,
            periods_returned: None,
            running_worry: None,
        }
    }

    #[test]
    fn the_mood_screen_is_the_sum_of_its_two_answers() {
        let screen = MoodScreen {
            little_interest: 1,
            feeling_down: 2,
        };
        assert_eq!(screen.score(), 3);
        assert!(screen.needs_support());
        let low = MoodScreen {
            little_interest: 1,
            feeling_down: 1,
        };
        assert!(!low.needs_support());
        assert!(!MoodScreen {
            little_interest: 4,
            feeling_down: 0
        }
        .is_valid());
    }

    #[test]
    fn r11_holds_on_short_sleep_or_three_tired_days() {
        let today = d("2026-11-29");
        let rested = [
            check_in("2026-11-27", 7.0, 5),
            check_in("2026-11-28", 6.0, 8),
        ];
        assert_eq!(r11_recovery(&recovery_week(today, &rested)), None);
        let short = [
            check_in("2026-11-27", 5.0, 3),
            check_in("2026-11-28", 6.5, 3),
        ];
        let week = recovery_week(today, &short);
        assert_eq!(week.average_sleep_hours, Some(5.8));
        assert!(r11_recovery(&week).unwrap().contains("5.8 hours"));
        let tired = [
            check_in("2026-11-24", 7.0, 8),
            check_in("2026-11-26", 7.0, 9),
            check_in("2026-11-29", 7.0, 10),
        ];
        let week = recovery_week(today, &tired);
        assert_eq!(week.tired_days, 3);
        assert!(r11_recovery(&week).unwrap().contains("3 days"));
    }

    #[test]
    fn r11_looks_at_seven_days_and_the_latest_answer_of_each() {
        let today = d("2026-11-29");
        let old = [
            check_in("2026-11-22", 3.0, 10),
            check_in("2026-11-23", 7.0, 2),
        ];
        let week = recovery_week(today, &old);
        assert_eq!(week.check_in_ids.len(), 1, "day 7 back is outside the week");
        assert_eq!(r11_recovery(&week), None);
        let corrected = [
            check_in("2026-11-28", 4.0, 9),
            check_in("2026-11-28", 7.5, 4),
        ];
        let week = recovery_week(today, &corrected);
        assert_eq!(week.average_sleep_hours, Some(7.5));
        assert_eq!(week.tired_days, 0);
        assert_eq!(week.check_in_ids, vec![corrected[1].id]);
    }

    #[test]
    fn advisories_need_the_pattern_not_one_answer() {
        let today = d("2026-11-29");
        let mut weaned = check_in("2026-11-29", 7.0, 2);
        weaned.breastfeeding = Some(Breastfeeding::No);
        weaned.periods_returned = Some(false);
        assert!(
            advisories(today, &[weaned], false).is_empty(),
            "never breastfed"
        );
        let rules: Vec<String> = advisories(today, &[weaned], true)
            .into_iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(rules, ["advisory.periods_not_returned"]);
        let mut feeding = weaned;
        feeding.breastfeeding = Some(Breastfeeding::Partial);
        assert_eq!(advisories(today, &[feeding, weaned], false).len(), 1);

        let mut worried = check_in("2026-11-20", 7.0, 2);
        worried.running_worry = Some(8);
        let mut again = worried;
        again.date = d("2026-11-28");
        assert!(advisories(today, &[worried], false).is_empty());
        let rules: Vec<String> = advisories(today, &[worried, again], false)
            .into_iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(rules, ["advisory.running_worry"]);
        let mut long_ago = worried;
        long_ago.date = d("2026-10-01");
        assert!(advisories(today, &[long_ago, again], false).is_empty());
    }

    proptest! {
        /// R11 holds exactly when the week's average sleep is under 6 hours or 3 or more days
        /// were very tired; the order the check-ins come in does not matter when each is about
        /// its own day.
        #[test]
        fn r11_is_its_definition(nights in proptest::collection::vec((0u32..7, 0.0f32..12.0, 0u8..=10), 0..7)) {
            let today = d("2026-11-29");
            let mut seen = std::collections::HashSet::new();
            let check_ins: Vec<CheckInFact> = nights
                .into_iter()
                .filter(|(back, _, _)| seen.insert(*back))
                .map(|(back, sleep, fatigue)| CheckInFact {
                    date: today - Duration::days(back.into()),
                    ..check_in("2026-11-29", sleep, fatigue)
                })
                .collect();
            let week = recovery_week(today, &check_ins);
            let mut by_day = check_ins.clone();
            by_day.sort_by_key(|c| c.date);
            let average = (!by_day.is_empty()).then(|| {
                let mean = by_day.iter().map(|c| f64::from(c.sleep_hours)).sum::<f64>() / by_day.len() as f64;
                (mean * 10.0).round() / 10.0
            });
            let tired = check_ins.iter().filter(|c| c.fatigue >= 8).count();
            prop_assert_eq!(week.average_sleep_hours, average);
            prop_assert_eq!(
                r11_recovery(&week).is_some(),
                average.is_some_and(|a| a < 6.0) || tired >= 3
            );
            let mut reversed = check_ins.clone();
            reversed.reverse();
            prop_assert_eq!(r11_recovery(&recovery_week(today, &reversed)), r11_recovery(&week));
        }
    }
}
