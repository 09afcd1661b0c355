//! Triage of one symptom report: pure, deterministic, each finding with its rule id.
//!
//! - `red_medical`: any medical flag, or new or increased bleeding → stop all exercise, seek
//!   medical care today.
//! - `red_pelvic`: a bulge, faecal or flatus incontinence, urgency hard to defer, pain with
//!   sex, obstructed defecation; or a pelvic symptom the next day or in daily life; or a pelvic
//!   symptom in 2 of the client's last 3 reports at the same step → stop impact, see a
//!   pelvic-health physiotherapist.
//! - `amber`: a pelvic symptom during or right after activity only; any pain of 3 or more; pain
//!   not settled by the next morning; abdominal doming → walk the rest of the run; repeat or
//!   drop a level.
//! - `green`: none of the above (pain up to 2 is fine).
//! - Advisories (no effect on the level): under 6 hours of sleep, fatigue 8 or more.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TriageLevel {
    Green,
    Amber,
    RedPelvic,
    RedMedical,
}

impl TriageLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TriageLevel::Green => "green",
            TriageLevel::Amber => "amber",
            TriageLevel::RedPelvic => "red_pelvic",
            TriageLevel::RedMedical => "red_medical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Green, Self::Amber, Self::RedPelvic, Self::RedMedical]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    pub fn is_red(self) -> bool {
        matches!(self, TriageLevel::RedPelvic | TriageLevel::RedMedical)
    }
}

/// A flag's level: a report's triage level (`amber` informs, `red_pelvic` refers,
/// `red_medical` is urgent), or `mood`: a check-in's mood screen of 3 or more, for her coach
/// only, which changes nothing in her plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagLevel {
    Amber,
    RedPelvic,
    RedMedical,
    Mood,
}

impl FlagLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagLevel::Amber => "amber",
            FlagLevel::RedPelvic => "red_pelvic",
            FlagLevel::RedMedical => "red_medical",
            FlagLevel::Mood => "mood",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Amber, Self::RedPelvic, Self::RedMedical, Self::Mood]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    /// The triage level behind a flag that holds her plan: every level but mood. A mood flag
    /// asks her coach to look after her wellbeing; it changes nothing in her plan.
    pub fn triage_level(self) -> Option<TriageLevel> {
        match self {
            FlagLevel::Amber => Some(TriageLevel::Amber),
            FlagLevel::RedPelvic => Some(TriageLevel::RedPelvic),
            FlagLevel::RedMedical => Some(TriageLevel::RedMedical),
            FlagLevel::Mood => None,
        }
    }

    /// Whether resolving a flag of this level restarts the reports the engine weighs at the
    /// step (`step::StepWindow::reports_from`): the levels that hold her plan.
    pub fn resets_report_window(self) -> bool {
        self.triage_level().is_some()
    }

    /// The inbox's order: 3 red_medical, 2 red_pelvic, 1 amber, 0 mood.
    pub fn severity(self) -> i16 {
        match self {
            FlagLevel::Mood => 0,
            FlagLevel::Amber => 1,
            FlagLevel::RedPelvic => 2,
            FlagLevel::RedMedical => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// During the session.
    During,
    /// Right after the session.
    ImmediatelyAfter,
    /// The morning after a session.
    NextDay,
    /// Any time, not tied to a session.
    DailyLife,
}

impl Timing {
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::During => "during",
            Timing::ImmediatelyAfter => "immediately_after",
            Timing::NextDay => "next_day",
            Timing::DailyLife => "daily_life",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::During,
            Self::ImmediatelyAfter,
            Self::NextDay,
            Self::DailyLife,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    fn around_activity(self) -> bool {
        matches!(self, Timing::During | Timing::ImmediatelyAfter)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PainLocation {
    PelvicGirdle,
    Pubic,
    LowBack,
    Hip,
    Knee,
    ShinFoot,
    AbdominalWall,
    CSectionScar,
    Perineum,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pain {
    pub location: PainLocation,
    /// Numeric rating scale, 0 (none) to 10 (worst imaginable).
    #[schema(minimum = 0, maximum = 10)]
    pub nrs: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UrineLeak {
    #[default]
    None,
    Drops,
    Small,
    Moderate,
    Large,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeakTrigger {
    Impact,
    CoughSneeze,
    Urgency,
    Unaware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bleeding {
    #[default]
    None,
    Spotting,
    NewOrIncreased,
}

/// What a client reports: every field is optional but `timing`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Symptoms {
    pub pain: Vec<Pain>,
    pub pain_settled_by_next_morning: Option<bool>,
    pub urine_leak: Option<UrineLeak>,
    pub leak_trigger: Option<LeakTrigger>,
    pub urgency_hard_to_defer: bool,
    pub faecal_or_flatus_incontinence: bool,
    pub bulge_seen_or_felt: bool,
    pub abdominal_doming: bool,
    pub dyspareunia: bool,
    pub obstructed_defecation: bool,
    pub pelvic_heaviness: Option<u8>,
    pub bleeding: Option<Bleeding>,
    pub chest_pain: bool,
    pub calf_pain_or_swelling: bool,
    pub dizziness_or_fainting: bool,
    pub breathless_at_rest: bool,
    pub severe_abdominal_pain: bool,
    pub fever: bool,
    pub sleep_hours: Option<f32>,
    pub fatigue: Option<u8>,
}

impl Symptoms {
    /// A leak, any heaviness, or any of the pelvic yes/no symptoms.
    pub fn has_pelvic_symptom(&self) -> bool {
        self.urine_leak.is_some_and(|l| l != UrineLeak::None)
            || self.pelvic_heaviness.is_some_and(|h| h >= 1)
            || self.urgency_hard_to_defer
            || self.faecal_or_flatus_incontinence
            || self.bulge_seen_or_felt
            || self.abdominal_doming
            || self.dyspareunia
            || self.obstructed_defecation
    }

    pub fn max_pain(&self) -> u8 {
        self.pain.iter().map(|p| p.nrs).max().unwrap_or(0)
    }
}

/// One reason for a triage level or a recommendation, in words a mother understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// A stable rule id (`red_medical.chest_pain`, `amber.pain`, `R6`…).
    #[schema(example = "amber.pelvic_symptom_during_activity")]
    pub rule: String,
    pub message: String,
}

impl Finding {
    fn new(rule: &str, message: &str) -> Self {
        Self {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Triage {
    pub level: TriageLevel,
    pub findings: Vec<Finding>,
}

/// What triage needs to know of the client's previous reports at the same step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlierReport {
    pub had_pelvic_symptom: bool,
}

/// Triage of one report. `earlier` are the client's previous reports at the same stage and
/// level, newest first (only the first two count).
pub fn triage(timing: Timing, s: &Symptoms, earlier: &[EarlierReport]) -> Triage {
    let mut findings = medical_findings(s);
    findings.extend(pelvic_findings(timing, s, earlier));
    findings.extend(amber_findings(timing, s));
    let level = findings
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(TriageLevel::Green);
    // The strongest findings first.
    findings.sort_by_key(|f| std::cmp::Reverse(f.0));
    Triage {
        level,
        findings: findings.into_iter().map(|(_, f)| f).collect(),
    }
}

/// Red, medical (R9): signs that need a doctor today.
fn medical_findings(s: &Symptoms) -> Vec<(TriageLevel, Finding)> {
    let mut findings = Vec::new();
    let mut add =
        |level, rule: &str, message: &str| findings.push((level, Finding::new(rule, message)));
    use TriageLevel::*;

    let medical: [(bool, &str, &str); 7] = [
        (s.chest_pain, "red_medical.chest_pain", "Chest pain"),
        (
            s.calf_pain_or_swelling,
            "red_medical.calf_pain_or_swelling",
            "Calf pain or swelling",
        ),
        (
            s.dizziness_or_fainting,
            "red_medical.dizziness_or_fainting",
            "Dizziness or fainting",
        ),
        (
            s.breathless_at_rest,
            "red_medical.breathless_at_rest",
            "Breathlessness at rest",
        ),
        (
            s.severe_abdominal_pain,
            "red_medical.severe_abdominal_pain",
            "Severe abdominal pain",
        ),
        (s.fever, "red_medical.fever", "A fever"),
        (
            s.bleeding == Some(Bleeding::NewOrIncreased),
            "red_medical.bleeding",
            "New or increased bleeding",
        ),
    ];
    for (present, rule, what) in medical {
        if present {
            add(
                RedMedical,
                rule,
                &format!("{what} needs a doctor: stop all exercise and get medical care today."),
            );
        }
    }
    findings
}

/// Red, pelvic (R8): signs that need a pelvic-health physiotherapist, pelvic symptoms outside
/// activity, and pelvic symptoms that come back at the step.
fn pelvic_findings(
    timing: Timing,
    s: &Symptoms,
    earlier: &[EarlierReport],
) -> Vec<(TriageLevel, Finding)> {
    let mut findings = Vec::new();
    let mut add =
        |level, rule: &str, message: &str| findings.push((level, Finding::new(rule, message)));
    use TriageLevel::*;

    let pelvic_red: [(bool, &str, &str); 5] = [
        (
            s.bulge_seen_or_felt,
            "red_pelvic.bulge",
            "A bulge you can see or feel",
        ),
        (
            s.faecal_or_flatus_incontinence,
            "red_pelvic.bowel_or_wind_leak",
            "Losing control of your bowels or wind",
        ),
        (
            s.urgency_hard_to_defer,
            "red_pelvic.urgency",
            "Urgency you cannot hold",
        ),
        (s.dyspareunia, "red_pelvic.painful_sex", "Pain with sex"),
        (
            s.obstructed_defecation,
            "red_pelvic.obstructed_defecation",
            "Trouble emptying your bowels",
        ),
    ];
    for (present, rule, what) in pelvic_red {
        if present {
            add(RedPelvic, rule, &format!("{what} needs a pelvic-health physiotherapist: stop running and other impact until you have seen one."));
        }
    }
    let pelvic = s.has_pelvic_symptom();
    if pelvic && !timing.around_activity() {
        add(RedPelvic, "red_pelvic.symptom_outside_activity",
            "Pelvic symptoms the next day or in daily life mean your pelvic floor needs more help: stop impact and see a pelvic-health physiotherapist.");
    }
    let recurring = earlier
        .iter()
        .take(2)
        .filter(|r| r.had_pelvic_symptom)
        .count();
    if pelvic && recurring >= 1 {
        add(RedPelvic, "red_pelvic.recurring",
            "Pelvic symptoms keep coming back at this step: stop impact and see a pelvic-health physiotherapist.");
    }
    findings
}

/// Amber (R6): pelvic symptoms around exercise, pain of 3 or more, pain not settled by the
/// next morning, abdominal doming.
fn amber_findings(timing: Timing, s: &Symptoms) -> Vec<(TriageLevel, Finding)> {
    let pelvic = s.has_pelvic_symptom();
    let mut findings = Vec::new();
    let mut add =
        |level, rule: &str, message: &str| findings.push((level, Finding::new(rule, message)));
    use TriageLevel::*;

    if pelvic && timing.around_activity() {
        add(Amber, "amber.pelvic_symptom_during_activity",
            "Pelvic symptoms during or right after exercise: walk the rest of the run, and repeat this step or drop a level.");
    }
    if s.max_pain() >= 3 {
        add(Amber, "amber.pain", "Pain of 3 or more out of 10: walk the rest of the run, and repeat this step or drop a level.");
    }
    if s.pain_settled_by_next_morning == Some(false) {
        add(
            Amber,
            "amber.pain_not_settled",
            "Pain that had not settled by the next morning: repeat this step before moving on.",
        );
    }
    if s.abdominal_doming {
        add(
            Amber,
            "amber.abdominal_doming",
            "Doming along your tummy means the load is too high for your core right now: ease off.",
        );
    }
    findings
}

/// Advice that does not change the level.
pub fn advisories(s: &Symptoms) -> Vec<Finding> {
    let mut notes = Vec::new();
    if s.sleep_hours.is_some_and(|h| h < 6.0) {
        notes.push(Finding::new(
            "advisory.sleep",
            "Under 6 hours of sleep: keep today's session easy and listen to your body.",
        ));
    }
    if s.fatigue.is_some_and(|f| f >= 8) {
        notes.push(Finding::new(
            "advisory.fatigue",
            "You are very tired: a rest day or a gentle walk is a fine choice today.",
        ));
    }
    notes
}

#[cfg(test)]
mod tests;
