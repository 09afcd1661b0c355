//! An assessment as a FHIR R4 `Observation` (category `exam`): its kind as the code, the
//! clinician as performer, and each finding as a component (Modified Oxford grade, inter-recti
//! distance in mm, prolapse symptoms, healing, impact cleared).

use serde_json::{json, Value};

use super::OBSERVATION_CATEGORY;
use crate::db::assessments::AssessmentRow;

pub fn assessment_observation(a: &AssessmentRow, base: &str) -> Value {
    let own = |code: &str| json!({"coding": [{"system": format!("{base}/fhir/CodeSystem/assessment"), "code": code}], "text": code});
    let mut components =
        vec![json!({"code": own("impact_cleared"), "valueBoolean": a.impact_cleared})];
    if let Some(grade) = a.modified_oxford {
        components.push(json!({"code": own("modified_oxford"), "valueInteger": grade}));
    }
    if let Some(mm) = a.inter_recti_distance_mm {
        components.push(
            json!({"code": own("inter_recti_distance"), "valueQuantity": {
            "value": mm, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"}}),
        );
    }
    for (code, value) in [
        ("prolapse_symptoms", a.prolapse_symptoms),
        ("scar_healed", a.scar_healed),
        ("perineum_healed", a.perineum_healed),
    ] {
        if let Some(value) = value {
            components.push(json!({"code": own(code), "valueBoolean": value}));
        }
    }
    json!({
        "resourceType": "Observation",
        "id": format!("{}-assessment", a.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam"}]}],
        "code": own(a.kind.as_str()),
        "subject": {"reference": format!("Patient/{}", a.client_id)},
        "effectiveDateTime": a.assessed_on.to_string(),
        "performer": [{"display": a.clinician}],
        "component": components,
    })
}
