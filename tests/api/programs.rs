use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn every_organization_starts_with_the_default_program() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let list: Value = app
        .get("/v1/programs", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let program = &list["items"][0];
    assert_eq!(program["name"], "Return to Running Postpartum");
    assert_eq!(program["version"], 1);
    let keys: Vec<&str> = program["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["crawling", "walking_hills", "lunges", "jogging"]);
    let jogging = &program["stages"][3];
    assert_eq!(
        jogging["entry_gate"],
        json!({"min_days_postpartum": 84, "requires_clearance": true,
            "caesarean": {"requires_scar_clearance": true}})
    );
    assert_eq!(
        program["stages"][1]["entry_gate"],
        json!({"min_days_postpartum": 21, "requires_clearance": true}),
        "walking hills asks nothing more after a caesarean"
    );
    assert_eq!(
        jogging["levels"][0],
        json!({"level": 1, "run_seconds": 60, "walk_seconds": 120, "repeats": 8})
    );
    let tests: Vec<&str> = program["stages"][2]["readiness_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert!(tests.contains(&"hop_in_place") && tests.contains(&"side_lying_abduction"));
}

#[tokio::test]
async fn publishing_makes_a_new_version_and_plans_keep_theirs() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let list: Value = app
        .get("/v1/programs", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let program = list["items"][0].clone();
    let id = program["id"].as_str().unwrap();
    let client = ana.client_id.unwrap();
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": id}),
    )
    .await;

    let mut stages = program["stages"].clone();
    stages[0]["min_sessions"] = json!(4);
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/programs/{id}"),
            Some(&coach.token),
            Some(&json!({"name": "Return to Running Postpartum", "stages": stages})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v2: Value = res.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["stages"][0]["min_sessions"], 4);
    let v1: Value = app
        .get(&format!("/v1/programs/{id}?version=1"), Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v1["stages"][0]["min_sessions"], 3,
        "a published version never changes"
    );
    let plan: Value = app
        .get("/v1/clients/me/plan", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["program_version"], 1);
    assert_problem(
        app.get(&format!("/v1/programs/{id}?version=9"), Some(&ana.token))
            .await,
        404,
    )
    .await;

    // A ladder step beyond 10 % or 1 minute is refused, naming the level.
    let mut bad = program["stages"].clone();
    bad[3]["levels"][3] = json!({"level": 4, "run_seconds": 120, "walk_seconds": 60, "repeats": 6});
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/programs/{id}"),
            Some(&coach.token),
            Some(&json!({"name": "Too fast", "stages": bad})),
        )
        .await;
    let problem = assert_problem(res, 422).await;
    assert_eq!(problem["errors"][0]["field"], "stages[3].levels[3]");
    // Clients read programs but never write them.
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/programs/{id}"),
            Some(&ana.token),
            Some(&json!({"name": "Mine", "stages": program["stages"]})),
        )
        .await;
    assert_problem(res, 403).await;
}

#[tokio::test]
async fn new_programs_are_validated() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let list: Value = app
        .get("/v1/programs", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let stages = list["items"][0]["stages"].clone();
    let res = app
        .post(
            "/v1/programs",
            Some(&admin.token),
            &json!({"key": "return_to_running_postpartum", "name": "Copy", "stages": stages}),
        )
        .await;
    assert_problem(res, 409).await;
    let problem = assert_problem(
        app.post(
            "/v1/programs",
            Some(&admin.token),
            &json!({"key": "Bad Key", "name": "x", "stages": stages}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "key");
    let mut reordered = stages.clone();
    reordered.as_array_mut().unwrap().swap(0, 1);
    let problem = assert_problem(
        app.post(
            "/v1/programs",
            Some(&admin.token),
            &json!({"key": "swapped", "name": "x", "stages": reordered}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"stages[0].position"), "{fields:?}");
    let mut zero_dose = stages.clone();
    zero_dose[1]["exercises"][2]["dose"]["reps"] = json!(0);
    let problem = assert_problem(
        app.post(
            "/v1/programs",
            Some(&admin.token),
            &json!({"key": "zero", "name": "x", "stages": zero_dose}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"],
        "stages[1].exercises[2].dose.reps"
    );
    let res = app
        .post(
            "/v1/programs",
            Some(&admin.token),
            &json!({"key": "gentle_return", "name": "Gentle return", "stages": stages}),
        )
        .await;
    assert_eq!(res.status(), 201);
}
