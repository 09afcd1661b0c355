//! Evidence, not silence (SPEC §1.8, R2): which of her reports are about a session, and what
//! they say of it. A session counts toward moving her on only when a report about it exists
//! and every report about it is green; a session nobody reported on holds her.

use chrono::Duration;

use super::{EngineInput, ReportFact, SessionFact};
use crate::domain::triage::{Timing, TriageLevel};

/// Whether `report` is about `session`: it names the session, or, naming none, it was sent
/// around a session (not in daily life) about the day of the session or the day after.
pub fn is_about(report: &ReportFact, session: &SessionFact) -> bool {
    match report.session_id {
        Some(id) => id == session.id,
        None => {
            report.timing != Timing::DailyLife
                && (report.date == session.performed_on
                    || report.date == session.performed_on + Duration::days(1))
        }
    }
}

/// What her reports say about one session: R2 counts it only when a report about it exists and
/// every report about it is green. Silence is never green (SPEC §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// No report about the session yet.
    Missing,
    /// Every report about it is green.
    Green,
    /// A report about it is amber or red.
    NotGreen,
}

/// The evidence her reports at the step give about `session`.
pub fn evidence(input: &EngineInput, session: &SessionFact) -> Evidence {
    let mut about = input.reports.iter().filter(|r| is_about(r, session));
    match about.next() {
        None => Evidence::Missing,
        Some(first) => {
            if first.level == TriageLevel::Green && about.all(|r| r.level == TriageLevel::Green) {
                Evidence::Green
            } else {
                Evidence::NotGreen
            }
        }
    }
}
