//! Triage of one symptom report: pure, deterministic, each finding with its rule id and urgency
//! (SPEC §1.8 revises §1.5).
//!
//! - `red_medical`, urgency `emergency` (call the local emergency number now): chest pain,
//!   breathlessness at rest, calf pain or swelling, fainting, a severe headache or visual
//!   disturbance, heavy bleeding (a pad soaked within an hour). Signs of a pulmonary embolism,
//!   a deep-vein thrombosis or postpartum pre-eclampsia (MBRRACE-UK: leading direct causes of
//!   maternal death).
//! - `red_medical`, urgency `today`: fever, a wound that is red, hot or discharging,
//!   palpitations, new or increased bleeding, severe abdominal pain, dizziness → stop all
//!   exercise, seek medical care today.
//! - `red_pelvic`: a bulge, faecal or flatus incontinence, urgency hard to defer, pain with
//!   sex, obstructed defecation; or a pelvic symptom the next day or in daily life; or a pelvic
//!   symptom in 2 of the client's last 3 reports at the same step → stop impact, see a
//!   pelvic-health physiotherapist.
//!   R12, bone stress: pubic, hip or shin/foot pain in daily life or at rest, or rising from one
//!   report to the next, while breastfeeding or with her periods not back → stop impact and
//!   refer (urgency `soon`, like every red_pelvic finding).
//! - `amber`: a pelvic symptom during or right after activity only; pelvic-area pain (pelvic
//!   girdle, pubic, perineum, caesarean scar, abdominal wall) from 1/10 around exercise, or 3/10
//!   at any time; musculoskeletal pain (knee, shin/foot, hip, low back, other) above 5/10; pain
//!   not settled by the next morning; abdominal doming; spotting (with a question for her) →
//!   walk the rest of the run; repeat or drop a level.
//! - `green`: none of the above. Musculoskeletal pain up to 5/10 is green with an advisory (the
//!   pain-monitoring model: acceptable if it settles by the next morning and does not rise week
//!   on week; the engine's R7 holds a rising week).
//! - Advisories (no effect on the level): under 6 hours of sleep, fatigue 8 or more, the pain
//!   model, a period back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::symptoms::{Bleeding, LeakTrigger, Pain, PainLocation, Symptoms, Timing, UrineLeak};

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

/// How soon she needs care, most urgent first in the inbox.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Nothing needs a clinician: keep to the plan (green or amber).
    Routine,
    /// See a pelvic-health physiotherapist soon; no impact meanwhile (red_pelvic).
    Soon,
    /// Get medical care today; stop all exercise (red_medical).
    Today,
    /// Call the local emergency number now (red_medical).
    Emergency,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Soon => "soon",
            Urgency::Today => "today",
            Urgency::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "routine" => Some(Urgency::Routine),
            "soon" => Some(Urgency::Soon),
            "today" => Some(Urgency::Today),
            "emergency" => Some(Urgency::Emergency),
            _ => None,
        }
    }

    /// The urgency a finding of this level carries when nothing more urgent is known.
    pub fn of_level(level: TriageLevel) -> Self {
        match level {
            TriageLevel::Green | TriageLevel::Amber => Urgency::Routine,
            TriageLevel::RedPelvic => Urgency::Soon,
            TriageLevel::RedMedical => Urgency::Today,
        }
    }
}

/// The number to call in an emergency where the practice is: its own setting, else 999 in the
/// United Kingdom, 911 in the United States and Canada, 112 everywhere else (the European and
/// GSM emergency number).
pub fn emergency_number(country: Option<&str>, own: Option<&str>) -> String {
    if let Some(own) = own.filter(|n| !n.trim().is_empty()) {
        return own.trim().to_string();
    }
    match country.map(str::to_ascii_uppercase).as_deref() {
        Some("GB") => "999".into(),
        Some("US") | Some("CA") => "911".into(),
        _ => "112".into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Open,
    Resolved,
}

impl FlagStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagStatus::Open => "open",
            FlagStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
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
    /// How soon she needs care: `emergency` (call the emergency number now), `today`
    /// (medical care today), `soon` (a pelvic-health physiotherapist), `routine`.
    pub urgency: Urgency,
    pub findings: Vec<Finding>,
}

/// What triage needs to know of one of the client's previous reports at the same step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EarlierReport {
    pub had_pelvic_symptom: bool,
    /// Her highest pain at a bone-stress site in it (R12), 0 without any.
    pub bone_site_pain: u8,
}

/// What triage weighs besides the report itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriageContext<'a> {
    /// Her previous reports at the same stage and level, newest first (only the first two
    /// count).
    pub earlier: &'a [EarlierReport],
    /// Breastfeeding, or her periods not known to be back: low oestrogen, the bone-stress risk
    /// R12 weighs.
    pub bone_stress_risk: bool,
    /// The number an emergency finding tells her to call.
    pub emergency_number: &'a str,
}

impl Default for TriageContext<'_> {
    fn default() -> Self {
        Self {
            earlier: &[],
            bone_stress_risk: false,
            emergency_number: "112",
        }
    }
}

/// Whether her hormones put her bones at risk under impact (R12): she is breastfeeding (her
/// latest check-in says so, or her record when no check-in says), or her periods are not known
/// to be back (no check-in says they are and she has not reported a period). Not knowing counts
/// as at risk: the safer reading.
pub fn bone_stress_risk(
    record_breastfeeding: bool,
    latest_feeding: Option<crate::domain::client::Breastfeeding>,
    periods_returned: Option<bool>,
    period_reported: bool,
) -> bool {
    use crate::domain::client::Breastfeeding;
    let feeding = latest_feeding.map_or(record_breastfeeding, |f| f != Breastfeeding::No);
    let periods_back = periods_returned == Some(true) || period_reported;
    feeding || !periods_back
}

type Found = (TriageLevel, Urgency, Finding);

/// Triage of one report.
pub fn triage(timing: Timing, s: &Symptoms, context: &TriageContext) -> Triage {
    let mut findings = medical_findings(s, context.emergency_number);
    findings.extend(pelvic_findings(timing, s, context.earlier));
    findings.extend(bone_stress_findings(timing, s, context));
    findings.extend(amber_findings(timing, s));
    let level = findings
        .iter()
        .map(|(l, ..)| *l)
        .max()
        .unwrap_or(TriageLevel::Green);
    let urgency = findings
        .iter()
        .map(|(_, u, _)| *u)
        .max()
        .unwrap_or(Urgency::Routine);
    // The strongest findings first, the most urgent first within a level.
    findings.sort_by_key(|f| std::cmp::Reverse((f.0, f.1)));
    Triage {
        level,
        urgency,
        findings: findings.into_iter().map(|(.., f)| f).collect(),
    }
}

/// The emergency signs (R9, urgency `emergency`): what she has and the finding's rule id.
fn emergency_signs(s: &Symptoms) -> [(bool, &'static str, &'static str); 7] {
    [
        (s.chest_pain, "red_medical.chest_pain", "Chest pain"),
        (
            s.breathless_at_rest,
            "red_medical.breathless_at_rest",
            "Breathlessness at rest",
        ),
        (
            s.calf_pain_or_swelling,
            "red_medical.calf_pain_or_swelling",
            "Calf pain or swelling",
        ),
        (s.fainting, "red_medical.fainting", "Fainting"),
        // The older combined answer may mean fainting: the safer reading applies.
        (
            s.dizziness_or_fainting,
            "red_medical.dizziness_or_fainting",
            "Dizziness or fainting",
        ),
        (
            s.severe_headache_or_visual_disturbance,
            "red_medical.severe_headache_or_visual_disturbance",
            "A severe headache or disturbed vision",
        ),
        (
            s.bleeding == Some(Bleeding::Heavy),
            "red_medical.heavy_bleeding",
            "Heavy bleeding, soaking a pad within an hour,",
        ),
    ]
}

/// The signs that need a doctor today (R9, urgency `today`).
fn same_day_signs(s: &Symptoms) -> [(bool, &'static str, &'static str); 6] {
    [
        (s.fever, "red_medical.fever", "A fever"),
        (
            s.wound_red_hot_or_discharging,
            "red_medical.wound",
            "A wound that is red, hot or discharging",
        ),
        (s.palpitations, "red_medical.palpitations", "Palpitations"),
        (
            s.bleeding == Some(Bleeding::NewOrIncreased),
            "red_medical.bleeding",
            "New or increased bleeding",
        ),
        (
            s.severe_abdominal_pain,
            "red_medical.severe_abdominal_pain",
            "Severe abdominal pain",
        ),
        (s.dizziness, "red_medical.dizziness", "Dizziness"),
    ]
}

/// Red, medical (R9): signs that need emergency care now, or a doctor today.
fn medical_findings(s: &Symptoms, emergency_number: &str) -> Vec<Found> {
    let mut findings = Vec::new();
    use TriageLevel::*;
    for (present, rule, what) in emergency_signs(s) {
        if present {
            let message = format!("{what} can be a sign of a medical emergency: stop, and call your local emergency number now ({emergency_number}).");
            findings.push((RedMedical, Urgency::Emergency, Finding::new(rule, &message)));
        }
    }
    for (present, rule, what) in same_day_signs(s) {
        if present {
            let message =
                format!("{what} needs a doctor: stop all exercise and get medical care today.");
            findings.push((RedMedical, Urgency::Today, Finding::new(rule, &message)));
        }
    }
    findings
}

/// Red, pelvic (R8): signs that need a pelvic-health physiotherapist, pelvic symptoms outside
/// activity, and pelvic symptoms that come back at the step.
fn pelvic_findings(timing: Timing, s: &Symptoms, earlier: &[EarlierReport]) -> Vec<Found> {
    let mut findings = Vec::new();
    let mut add = |level, rule: &str, message: &str| {
        findings.push((level, Urgency::of_level(level), Finding::new(rule, message)))
    };
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

/// R12, bone stress: pain at a bone-stress site (pubic, hip, shin/foot) in daily life or at
/// rest, or higher than in her previous report, while breastfeeding or with her periods not back
/// (low oestrogen). It refers like a red_pelvic finding: no impact until a coach resolves it.
fn bone_stress_findings(timing: Timing, s: &Symptoms, context: &TriageContext) -> Vec<Found> {
    let pain = s.bone_site_pain();
    if !context.bone_stress_risk || pain == 0 {
        return vec![];
    }
    let at_rest = matches!(timing, Timing::DailyLife | Timing::NextDay);
    let rising = context
        .earlier
        .first()
        .is_some_and(|e| e.bone_site_pain > 0 && pain > e.bone_site_pain);
    if !(at_rest || rising) {
        return vec![];
    }
    let message = "Pain in your pubic bone, hip or shin/foot at rest or getting worse, while breastfeeding or before your periods return, can be a bone stress injury: no running, hopping or other impact until your coach has had it checked (R12).";
    vec![(
        TriageLevel::RedPelvic,
        Urgency::Soon,
        Finding::new("red_pelvic.bone_stress", message),
    )]
}

/// The pain-monitoring model (R7): musculoskeletal pain up to this, out of 10, is acceptable
/// (green, with an advisory); above it, amber. Her daily safety notes say the same.
pub const ACCEPTABLE_PAIN: u8 = 5;

/// Amber (R6): pelvic symptoms around exercise, pain by location (R7: the pain-monitoring
/// model), pain not settled by the next morning, abdominal doming, spotting.
fn amber_findings(timing: Timing, s: &Symptoms) -> Vec<Found> {
    let pelvic = s.has_pelvic_symptom();
    let mut findings = Vec::new();
    let mut add = |level, rule: &str, message: &str| {
        findings.push((level, Urgency::Routine, Finding::new(rule, message)))
    };
    use TriageLevel::*;

    if pelvic && timing.around_activity() {
        add(Amber, "amber.pelvic_symptom_during_activity",
            "Pelvic symptoms during or right after exercise: walk the rest of the run, and repeat this step or drop a level.");
    }
    let pelvic_area = s
        .pain
        .iter()
        .filter(|p| p.location.is_pelvic_area())
        .map(|p| p.nrs)
        .max()
        .unwrap_or(0);
    let musculoskeletal = s
        .pain
        .iter()
        .filter(|p| !p.location.is_pelvic_area())
        .map(|p| p.nrs)
        .max()
        .unwrap_or(0);
    if pelvic_area >= 3 || (pelvic_area >= 1 && timing.around_activity()) {
        add(Amber, "amber.pelvic_area_pain", "Pain around your pelvis, scar or tummy wall with exercise: walk the rest of the run, and repeat this step or drop a level.");
    }
    if musculoskeletal > ACCEPTABLE_PAIN {
        add(Amber, "amber.pain", &format!("Pain above {ACCEPTABLE_PAIN} out of 10: walk the rest of the run, and repeat this step or drop a level."));
    }
    if s.bleeding == Some(Bleeding::Spotting) {
        add(Amber, "amber.spotting", "Spotting: is this your period coming back, or bleeding after exercise? Tell your coach which. If it gets heavier or comes after every session, see your doctor.");
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
    let musculoskeletal = s
        .pain
        .iter()
        .filter(|p| !p.location.is_pelvic_area())
        .map(|p| p.nrs)
        .max()
        .unwrap_or(0);
    if (1..=ACCEPTABLE_PAIN).contains(&musculoskeletal)
        && s.pain_settled_by_next_morning != Some(false)
    {
        notes.push(Finding::new(
            "advisory.pain_monitoring",
            &format!("Pain up to {ACCEPTABLE_PAIN} out of 10 is fine if it has settled by the next morning and is no worse than last week: tell us tomorrow morning how it is."),
        ));
    }
    if s.bleeding == Some(Bleeding::Period) {
        notes.push(Finding::new(
            "advisory.period",
            "Your period is back: noted for your coach. Nothing changes in your plan.",
        ));
    }
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
