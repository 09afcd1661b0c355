//! FHIR R4 export: the served documents are parsed by an independent FHIR R4 model library
//! (`fhir.resources` 5.1.1, FHIR 4.0.1, in a virtualenv under `target/`), and carry what a
//! clinician's system looks for.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

/// The validator's Python: `FHIR_PYTHON`, or a virtualenv made once under `target/`.
fn validator_python() -> PathBuf {
    if let Ok(python) = std::env::var("FHIR_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fhir-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv");
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "fhir.resources==5.1.1"])
            .status()
            .unwrap();
        assert!(installed.success(), "pip install fhir.resources");
    }
    python
}

/// Validates documents; returns resource counts per document.
fn validate(documents: &[&Value]) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("runback-fhir-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.join(format!("{i}.json"));
            std::fs::write(&path, serde_json::to_vec(doc).unwrap()).unwrap();
            path
        })
        .collect();
    let out = Command::new(validator_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fhir/validate.py"
        ))
        .args(&paths)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "FHIR validation failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    paths
        .iter()
        .map(|p| summary[p.to_str().unwrap()].clone())
        .collect()
}

async fn get_fhir(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], "application/fhir+json");
    res.json().await.unwrap()
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

#[tokio::test]
async fn a_clients_record_is_a_valid_fhir_r4_bundle_and_her_program_a_plan_definition() {
    // The validator's virtualenv first (the first run installs it), off the async runtime.
    tokio::task::spawn_blocking(validator_python).await.unwrap();
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client = ana.client_id.unwrap();
    let program_id = app.start_default_plan(&coach, &client.to_string()).await;
    let post = |path: String, body: Value| {
        let (app, token) = (&app, coach.token.clone());
        async move {
            let res = app.post(&path, Some(&token), &body).await;
            assert!(res.status().is_success(), "{path}: {}", res.status());
        }
    };
    post(
        format!("/v1/clients/{client}/plan/transitions"),
        json!({"action": "set", "stage": "jogging", "level": 2, "reason": "Cleared to jog.", "override_gate": true}),
    )
    .await;
    post(
        format!("/v1/clients/{client}/readiness-tests"),
        json!({"test": "hop_in_place", "reached": 10, "side": "left", "symptom_free": true}),
    )
    .await;
    post(
        format!("/v1/clients/{client}/symptom-reports"),
        json!({"timing": "immediately_after", "pain": [{"location": "knee", "nrs": 4}, {"location": "low_back", "nrs": 2}],
               "urine_leak": "drops", "notes": "Leaked a little on the last run."}),
    )
    .await;
    post(
        format!("/v1/clients/{client}/symptom-reports"),
        json!({"timing": "daily_life", "chest_pain": true}),
    )
    .await;

    let bundle = get_fhir(&app, &format!("/v1/clients/{client}/fhir"), &coach.token).await;
    let definition = get_fhir(
        &app,
        &format!("/v1/programs/{program_id}/fhir"),
        &coach.token,
    )
    .await;
    let documents = (bundle.clone(), definition.clone());
    let counts = tokio::task::spawn_blocking(move || validate(&[&documents.0, &documents.1]))
        .await
        .unwrap();
    assert_eq!(
        counts[0],
        json!({"Patient": 1, "CarePlan": 1, "QuestionnaireResponse": 2, "Observation": 5, "Flag": 2}),
        "two reports (each opening a flag): two triage and two pain observations, and one readiness result"
    );
    assert_eq!(counts[1], json!({"PlanDefinition": 1}));

    assert_eq!(bundle["type"], "collection");
    let patient = resources(&bundle, "Patient")[0];
    assert_eq!(patient["id"], client.to_string());
    assert_eq!(patient["name"][0]["text"], "Ana Lima");
    let plan = resources(&bundle, "CarePlan")[0];
    assert_eq!(
        plan["status"], "on-hold",
        "the chest-pain report paused her plan"
    );
    assert_eq!(plan["subject"]["reference"], format!("Patient/{client}"));
    assert_eq!(
        plan["instantiatesCanonical"][0],
        format!(
            "{}|{}",
            definition["url"].as_str().unwrap(),
            definition["version"].as_str().unwrap()
        )
    );
    let stages: Vec<&str> = plan["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["completed", "completed", "completed", "on-hold"]);
    let pains: Vec<&Value> = resources(&bundle, "Observation")
        .into_iter()
        .filter(|o| o["code"]["coding"][0]["code"] == "72514-3")
        .collect();
    assert_eq!(pains.len(), 2);
    assert_eq!(
        pains
            .iter()
            .find(|o| o["bodySite"]["text"] == "knee")
            .unwrap()["valueInteger"],
        4
    );
    assert_eq!(pains[0]["code"]["coding"][0]["system"], "http://loinc.org");
    let triage: Vec<&str> = resources(&bundle, "Observation")
        .into_iter()
        .filter(|o| o["code"]["coding"][0]["code"] == "triage")
        .map(|o| {
            o["interpretation"][0]["coding"][0]["code"]
                .as_str()
                .unwrap()
        })
        .collect();
    let mut triage = triage;
    triage.sort();
    assert_eq!(triage, ["A", "AA"], "amber and red_medical");
    let flags = resources(&bundle, "Flag");
    assert!(flags.iter().all(|f| f["status"] == "active"));
    assert!(flags.iter().any(|f| f["code"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Medical warning sign")));
    assert_eq!(definition["resourceType"], "PlanDefinition");
    assert_eq!(definition["action"].as_array().unwrap().len(), 4);

    // She can read her own; another practice cannot see she exists.
    let own = get_fhir(&app, "/v1/clients/me/fhir", &ana.token).await;
    assert_eq!(resources(&own, "Patient")[0]["id"], client.to_string());
    let other = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    assert_problem(
        app.get(&format!("/v1/clients/{client}/fhir"), Some(&other.token))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(
            &format!("/v1/programs/{program_id}/fhir"),
            Some(&other.token),
        )
        .await,
        404,
    )
    .await;
}
