//! What she reports about her body: when (`Timing`), where it hurts (`Pain`), her pelvic floor,
//! bleeding and the medical warning signs (`Symptoms`). Plain values; `triage` reads them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

    /// During or right after a session.
    pub fn around_activity(self) -> bool {
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

impl PainLocation {
    /// The pelvic area: pain here with impact is amber from 1/10 (SPEC §1.8).
    pub fn is_pelvic_area(self) -> bool {
        matches!(
            self,
            PainLocation::PelvicGirdle
                | PainLocation::Pubic
                | PainLocation::Perineum
                | PainLocation::CSectionScar
                | PainLocation::AbdominalWall
        )
    }

    /// Where bone stress shows first in a runner with low oestrogen (R12).
    pub fn is_bone_stress_site(self) -> bool {
        matches!(
            self,
            PainLocation::Pubic | PainLocation::Hip | PainLocation::ShinFoot
        )
    }
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

impl UrineLeak {
    pub fn as_str(self) -> &'static str {
        match self {
            UrineLeak::None => "none",
            UrineLeak::Drops => "drops",
            UrineLeak::Small => "small",
            UrineLeak::Moderate => "moderate",
            UrineLeak::Large => "large",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use UrineLeak::*;
        [None, Drops, Small, Moderate, Large]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
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
    /// Light spotting: amber, with a question for her (period, or after exercise?).
    Spotting,
    /// Her period: not a warning sign; it tells her coach her periods are back.
    Period,
    /// New or increased bleeding: medical care today.
    NewOrIncreased,
    /// Heavy bleeding, soaking a pad within an hour: an emergency.
    Heavy,
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
    /// Fainted (an emergency sign).
    pub fainting: bool,
    /// Felt dizzy (medical care today).
    pub dizziness: bool,
    /// A severe headache or disturbed vision (postpartum pre-eclampsia).
    pub severe_headache_or_visual_disturbance: bool,
    /// A caesarean or perineal wound that is red, hot or discharging (infection).
    pub wound_red_hot_or_discharging: bool,
    pub palpitations: bool,
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

    /// The highest pain at a bone-stress site (pubic, hip, shin/foot), 0 without any (R12).
    pub fn bone_site_pain(&self) -> u8 {
        self.pain
            .iter()
            .filter(|p| p.location.is_bone_stress_site())
            .map(|p| p.nrs)
            .max()
            .unwrap_or(0)
    }
}
