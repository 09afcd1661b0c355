//! Assessments: a postnatal check or a pelvic-health assessment by a clinician, as staff record
//! it (SPEC §1.8). A third- or fourth-degree perineal tear (obstetric anal sphincter injury,
//! OASI) holds lunges and jogging until a pelvic-health assessment clears impact (R1), and an
//! individual jogging date before day 84 cites such an assessment.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    /// The routine postnatal check (GP or midwife, around six to eight weeks).
    PostnatalCheck,
    /// An assessment by a pelvic-health (women's health) physiotherapist.
    PelvicHealth,
}

impl AssessmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssessmentKind::PostnatalCheck => "postnatal_check",
            AssessmentKind::PelvicHealth => "pelvic_health",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "postnatal_check" => Some(AssessmentKind::PostnatalCheck),
            "pelvic_health" => Some(AssessmentKind::PelvicHealth),
            _ => None,
        }
    }
}

/// An assessment's findings, valid once built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub kind: AssessmentKind,
    pub assessed_on: NaiveDate,
    pub clinician: String,
    /// Pelvic-floor strength on the Modified Oxford scale, 0 (none) to 5 (strong).
    pub modified_oxford: Option<u8>,
    /// The gap between the two halves of the rectus abdominis, in millimetres.
    pub inter_recti_distance_mm: Option<u16>,
    pub prolapse_symptoms: Option<bool>,
    pub scar_healed: Option<bool>,
    pub perineum_healed: Option<bool>,
    /// The clinician cleared her for impact (running, hopping).
    pub impact_cleared: bool,
    pub notes: Option<String>,
}

/// What a clinician's record says, as sent: checked by [`Assessment::parse`].
#[derive(Debug, Clone, Default)]
pub struct AssessmentInput {
    pub kind: Option<AssessmentKind>,
    pub assessed_on: Option<NaiveDate>,
    pub clinician: String,
    pub modified_oxford: Option<u8>,
    pub inter_recti_distance_mm: Option<u16>,
    pub prolapse_symptoms: Option<bool>,
    pub scar_healed: Option<bool>,
    pub perineum_healed: Option<bool>,
    pub impact_cleared: bool,
    pub notes: Option<String>,
}

impl Assessment {
    /// The assessment, or every field that is wrong. `delivery_date` and `today` bound the day.
    pub fn parse(
        input: AssessmentInput,
        delivery_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let clinician = input.clinician.trim().to_string();
        if clinician.is_empty()
            || clinician.chars().count() > 200
            || clinician.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                "clinician",
                "must be 1 to 200 characters without control characters",
            ));
        }
        let kind = input.kind.unwrap_or(AssessmentKind::PelvicHealth);
        let assessed_on = input.assessed_on.unwrap_or(today);
        if assessed_on < delivery_date || assessed_on > today {
            errors.push(FieldError::new(
                "assessed_on",
                "must be between the delivery date and today",
            ));
        }
        if input.modified_oxford.is_some_and(|m| m > 5) {
            errors.push(FieldError::new(
                "modified_oxford",
                "must be between 0 and 5",
            ));
        }
        if input.inter_recti_distance_mm.is_some_and(|d| d > 150) {
            errors.push(FieldError::new(
                "inter_recti_distance_mm",
                "must be between 0 and 150",
            ));
        }
        let notes = input.notes.filter(|n| !n.trim().is_empty());
        if notes.as_ref().is_some_and(|n| n.chars().count() > 5000) {
            errors.push(FieldError::new("notes", "must be at most 5000 characters"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Assessment {
            kind,
            assessed_on,
            clinician,
            modified_oxford: input.modified_oxford,
            inter_recti_distance_mm: input.inter_recti_distance_mm,
            prolapse_symptoms: input.prolapse_symptoms,
            scar_healed: input.scar_healed,
            perineum_healed: input.perineum_healed,
            impact_cleared: input.impact_cleared,
            notes,
        })
    }

    /// A pelvic-health assessment that cleared impact: it lifts an OASI hold and may back an
    /// individual jogging date before day 84.
    pub fn clears_impact(&self) -> bool {
        clears_impact(self.kind, self.impact_cleared)
    }
}

/// Whether an assessment of `kind` with this answer clears her for impact.
pub fn clears_impact(kind: AssessmentKind, impact_cleared: bool) -> bool {
    kind == AssessmentKind::PelvicHealth && impact_cleared
}

/// A third- or fourth-degree tear: an obstetric anal sphincter injury.
pub fn is_oasi(perineal_tear_grade: Option<i16>) -> bool {
    perineal_tear_grade.is_some_and(|g| g >= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_assessment_is_checked_field_by_field() {
        let input = AssessmentInput {
            kind: Some(AssessmentKind::PelvicHealth),
            clinician: "  ".into(),
            assessed_on: Some(d("2026-12-08")),
            modified_oxford: Some(6),
            inter_recti_distance_mm: Some(151),
            ..Default::default()
        };
        let errors = Assessment::parse(input, d("2026-09-01"), d("2026-12-07")).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "clinician",
                "assessed_on",
                "modified_oxford",
                "inter_recti_distance_mm"
            ]
        );
        let ok = Assessment::parse(
            AssessmentInput {
                clinician: "Sam Reid, pelvic-health physiotherapist".into(),
                impact_cleared: true,
                ..Default::default()
            },
            d("2026-09-01"),
            d("2026-12-07"),
        )
        .unwrap();
        assert_eq!(ok.assessed_on, d("2026-12-07"));
        assert!(ok.clears_impact());
    }

    #[test]
    fn only_a_pelvic_health_assessment_clears_impact_and_grades_3_and_4_are_oasi() {
        assert!(clears_impact(AssessmentKind::PelvicHealth, true));
        assert!(!clears_impact(AssessmentKind::PostnatalCheck, true));
        assert!(!clears_impact(AssessmentKind::PelvicHealth, false));
        assert!(!is_oasi(None) && !is_oasi(Some(2)));
        assert!(is_oasi(Some(3)) && is_oasi(Some(4)));
    }
}
