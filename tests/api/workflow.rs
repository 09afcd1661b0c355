//! The coach's workflow end to end: create a client, assign the program, read today, log
//! sessions, move the plan on, read the history.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

async fn setup(app: &TestApp, days_postpartum: i64) -> (Caller, String, String) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app
        .create_client(
            &coach,
            &json!({
                "name": "Ana Lima", "email": "ana@example.org", "external_id": "RP-1",
                "delivery_date": days_ago(days_postpartum), "delivery_type": "caesarean",
                "cleared_for_exercise": true, "timezone": "Europe/London"
            }),
        )
        .await;
    // Her caesarean scar was reviewed: lunges and jogging need it.
    let res = app
        .request(
            Method::PUT,
            &format!(
                "/v1/clients/{}/caesarean-scar-clearance",
                client["id"].as_str().unwrap()
            ),
            Some(&coach.token),
            Some(&json!({"clinician": "Dr Aisha Bello, GP"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let programs: Value = app
        .get("/v1/programs", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let program_id = programs["items"][0]["id"].as_str().unwrap().to_string();
    (
        coach,
        client["id"].as_str().unwrap().to_string(),
        program_id,
    )
}

async fn transition(app: &TestApp, coach: &Caller, client: &str, body: Value) -> reqwest::Response {
    let plan = app
        .get(&format!("/v1/clients/{client}/plan"), Some(&coach.token))
        .await;
    let etag = plan.headers()["etag"].to_str().unwrap().to_string();
    app.client
        .post(format!(
            "{}/v1/clients/{client}/plan/transitions",
            app.address
        ))
        .bearer_auth(&coach.token)
        .header("if-match", etag)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_coach_takes_a_client_from_crawling_to_jogging() {
    let app = spawn_app().await;
    let (coach, client, program_id) = setup(&app, 100).await;

    let res = app
        .post(
            &format!("/v1/clients/{client}/plan"),
            Some(&coach.token),
            &json!({"program_id": program_id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().contains_key("etag"));
    let plan: Value = res.json().await.unwrap();
    assert_eq!(plan["stage"], "crawling");
    assert_eq!(plan["status"], "active");
    assert_eq!(plan["program_version"], 1);
    assert_eq!(plan["next_session"]["kind"], "session");
    // A second live plan is a conflict.
    assert_problem(
        app.post(
            &format!("/v1/clients/{client}/plan"),
            Some(&coach.token),
            &json!({"program_id": program_id}),
        )
        .await,
        409,
    )
    .await;

    let today: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/today"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(today["stage"], "crawling");
    assert!(today["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "Quadruped bird-dog"));
    assert_eq!(today["safety_notes"].as_array().unwrap().len(), 4);

    for day in [3, 2, 1] {
        let res = app
            .post(&format!("/v1/clients/{client}/sessions"), Some(&coach.token),
                &json!({"performed_on": days_ago(day), "completed": true, "duration_minutes": 25, "rpe": 4}))
            .await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.json::<Value>().await.unwrap()["stage"], "crawling");
    }

    for (expected_stage, expected_level) in [
        ("walking_hills", Value::Null),
        ("lunges", Value::Null),
        ("jogging", json!(1)),
        ("jogging", json!(2)),
    ] {
        let res = transition(
            &app,
            &coach,
            &client,
            json!({"action": "advance", "reason": "Exit criteria met."}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["plan"]["stage"], expected_stage);
        assert_eq!(body["plan"]["level"], expected_level);
        assert_eq!(body["transition"]["action"], "advance");
        assert_eq!(body["transition"]["actor"]["type"], "user");
    }

    // Level 2 today: a warm-up and run–walk intervals a phone can play.
    let today: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/today"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(today["kind"], "session");
    assert_eq!(today["run"]["level"], 2);
    assert_eq!(today["run"]["intervals"][0]["kind"], "warm_up");
    // After a run today, tomorrow is a rest day (below level 5).
    let res = app
        .post(
            &format!("/v1/clients/{client}/sessions"),
            Some(&coach.token),
            &json!({"performed_on": days_ago(0), "completed": true}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["level"], 2);
    let tomorrow = (Utc::now().date_naive() + Duration::days(1)).to_string();
    let rest: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/today?date={tomorrow}"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["kind"], "rest");

    let history: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/transitions"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["to"]["level"], 2, "newest first");
    assert_eq!(items[3]["from"]["stage"], "crawling");

    // Pause says why; resume brings the session back.
    let res = transition(
        &app,
        &coach,
        &client,
        json!({"action": "pause", "reason": "Travelling for two weeks."}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let today: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/today"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(today["kind"], "paused");
    assert!(today["message"].as_str().unwrap().contains("Travelling"));
    assert_problem(
        transition(
            &app,
            &coach,
            &client,
            json!({"action": "advance", "reason": "x"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        transition(
            &app,
            &coach,
            &client,
            json!({"action": "resume", "reason": "Back."})
        )
        .await
        .status(),
        201
    );
}

#[tokio::test]
async fn the_jogging_gate_holds_for_coaches_unless_overridden_with_a_reason() {
    let app = spawn_app().await;
    let (coach, client, program_id) = setup(&app, 70).await;
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": program_id}),
    )
    .await;
    let set_lunges = json!({"action": "set", "stage": "lunges", "reason": "Already strong."});
    assert_eq!(
        transition(&app, &coach, &client, set_lunges).await.status(),
        201
    );
    let problem = assert_problem(
        transition(
            &app,
            &coach,
            &client,
            json!({"action": "advance", "reason": "Ready."}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("R1"),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("day 84"),
        "{problem}"
    );
    let res = transition(&app, &coach, &client,
        json!({"action": "advance", "reason": "Physio cleared early return.", "override_gate": true})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["transition"]["override_gate"], true);
    assert_eq!(body["transition"]["rule_ids"], json!(["R1"]));
    // Today still honours the gate for the client herself.
    assert_eq!(body["plan"]["next_session"]["kind"], "not_yet");
}

#[tokio::test]
async fn two_coaches_moving_one_plan_one_wins_the_other_gets_412() {
    let app = spawn_app().await;
    let (coach, client, program_id) = setup(&app, 100).await;
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": program_id}),
    )
    .await;
    let plan = app
        .get(&format!("/v1/clients/{client}/plan"), Some(&coach.token))
        .await;
    let etag = plan.headers()["etag"].to_str().unwrap().to_string();
    let send = |reason: &'static str| {
        app.client
            .post(format!(
                "{}/v1/clients/{client}/plan/transitions",
                app.address
            ))
            .bearer_auth(&coach.token)
            .header("if-match", etag.clone())
            .json(&json!({"action": "advance", "reason": reason}))
            .send()
    };
    let (a, b) = tokio::join!(send("first"), send("second"));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 412]);
    let history: Value = app
        .get(
            &format!("/v1/clients/{client}/plan/transitions"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    let plan: Value = app
        .get(&format!("/v1/clients/{client}/plan"), Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["stage"], "walking_hills");
}

#[tokio::test]
async fn transition_requests_are_validated() {
    let app = spawn_app().await;
    let (coach, client, program_id) = setup(&app, 100).await;
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": program_id}),
    )
    .await;
    for (body, field) in [
        (json!({"action": "advance", "reason": ""}), "reason"),
        (json!({"action": "fly", "reason": "x"}), "action"),
        (json!({"action": "set", "reason": "x"}), "stage"),
        (
            json!({"action": "set", "stage": "crawling", "level": 2, "reason": "x"}),
            "level",
        ),
        (
            json!({"action": "set", "stage": "jogging", "level": 40, "reason": "x", "override_gate": true}),
            "level",
        ),
        (
            json!({"action": "advance", "stage": "jogging", "reason": "x"}),
            "stage",
        ),
    ] {
        let problem =
            assert_problem(transition(&app, &coach, &client, body.clone()).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_problem(
        transition(
            &app,
            &coach,
            &client,
            json!({"action": "regress", "reason": "x"}),
        )
        .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn a_client_reads_her_own_plan_and_logs_with_me_but_cannot_move_it() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let programs: Value = app
        .get("/v1/programs", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    let program_id = &programs["items"][0]["id"];
    let client = ana.client_id.unwrap();
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": program_id}),
    )
    .await;

    let me: Value = app
        .get("/v1/clients/me", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Ana Lima");
    let today = app.get("/v1/clients/me/plan/today", Some(&ana.token)).await;
    assert_eq!(today.status(), 200);
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "performed_on": days_ago(0), "completed": true, "rpe": 3});
    let first = app
        .post("/v1/clients/me/sessions", Some(&ana.token), &body)
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The phone retries after a lost answer: the same session comes back, nothing new is logged.
    let retry = app
        .post("/v1/clients/me/sessions", Some(&ana.token), &body)
        .await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let changed = json!({"id": id, "performed_on": days_ago(0), "completed": false});
    assert_problem(
        app.post("/v1/clients/me/sessions", Some(&ana.token), &changed)
            .await,
        409,
    )
    .await;
    let sessions: Value = app
        .get("/v1/clients/me/sessions", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);

    assert_problem(
        app.post(
            "/v1/clients/me/plan/transitions",
            Some(&ana.token),
            &json!({"action": "advance", "reason": "I feel great"}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        app.patch(
            "/v1/clients/me",
            Some(&ana.token),
            &json!({"coach_id": null}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        app.request(Method::GET, "/v1/clients", Some(&ana.token), None)
            .await,
        403,
    )
    .await;
    // Her export holds her data.
    let export: Value = app
        .get("/v1/clients/me/export", Some(&ana.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["client"]["email"], "ana@example.org");
    assert_eq!(export["plans"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn readiness_results_pass_at_their_dose_symptom_free() {
    let app = spawn_app().await;
    let (coach, client, program_id) = setup(&app, 100).await;
    app.post(
        &format!("/v1/clients/{client}/plan"),
        Some(&coach.token),
        &json!({"program_id": program_id}),
    )
    .await;
    let path = format!("/v1/clients/{client}/readiness-tests");
    let post = |body: Value| {
        let (app, path, token) = (&app, &path, &coach.token);
        async move { app.post(path, Some(token), &body).await }
    };
    let r: Value = post(
        json!({"test": "single_leg_squat", "reached": 10, "side": "left", "symptom_free": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["passed"], true);
    assert_eq!(r["stage"], "walking_hills");
    let r: Value = post(
        json!({"test": "single_leg_squat", "reached": 9, "side": "right", "symptom_free": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["passed"], false);
    let r: Value = post(
        json!({"test": "walk_30_min", "reached": 1800, "side": "both", "symptom_free": false}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["passed"], false, "a leak during the walk fails it: {r}");
    let problem = assert_problem(
        post(json!({"test": "hop_in_place", "reached": 10, "side": "both", "symptom_free": true}))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "side");
    let problem = assert_problem(
        post(json!({"test": "backflip", "reached": 1, "side": "both", "symptom_free": true})).await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "test");
    let list: Value = app
        .get(
            &format!("/v1/clients/{client}/readiness-tests"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}
