use super::*;

#[test]
fn computable_names_follow_fhir_rules() {
    assert_eq!(
        computable_name("return_to_running_postpartum"),
        "ReturnToRunningPostpartum"
    );
    assert_eq!(computable_name("2026-plan"), "P2026Plan");
}

#[test]
fn triage_levels_map_to_interpretations() {
    assert_eq!(
        interpretation(TriageLevel::Green)[0]["coding"][0]["code"],
        "N"
    );
    assert_eq!(
        interpretation(TriageLevel::Amber)[0]["coding"][0]["code"],
        "A"
    );
    assert_eq!(
        interpretation(TriageLevel::RedPelvic)[0]["coding"][0]["code"],
        "AA"
    );
    assert_eq!(
        interpretation(TriageLevel::RedMedical)[0]["coding"][0]["code"],
        "AA"
    );
}

#[test]
fn plan_statuses_map_to_care_plan_statuses() {
    assert_eq!(care_plan_status(PlanStatus::Active), "active");
    assert_eq!(care_plan_status(PlanStatus::Paused), "on-hold");
    assert_eq!(care_plan_status(PlanStatus::Completed), "completed");
    assert_eq!(care_plan_status(PlanStatus::Stopped), "revoked");
}
