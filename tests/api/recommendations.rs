//! Why the plan says what it says: the stored, rule-by-rule trace of each engine decision.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).to_string()
}

async fn trace(app: &TestApp, caller: &Caller, client: &str, query: &str) -> Value {
    let path = format!("/v1/clients/{client}/plan/recommendation{query}");
    let res = app.get(&path, Some(&caller.token)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn rule<'a>(trace: &'a Value, id: &str) -> &'a Value {
    trace["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap()
}

#[tokio::test]
async fn every_decision_is_explained_rule_by_rule_and_a_past_one_stays_as_it_was() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &id).await;

    // No decision yet: nothing to explain.
    assert_problem(
        app.get(
            &format!("/v1/clients/{id}/plan/recommendation"),
            Some(&coach.token),
        )
        .await,
        404,
    )
    .await;

    let mut sessions = Vec::new();
    for day in [3, 2, 1] {
        // SPEC §1.8: a session counts toward moving her on only with a green report about it.
        let res = app
            .post(
                "/v1/clients/me/symptom-reports",
                Some(&ana.token),
                &json!({"timing": "immediately_after", "reported_on": days_ago(day)}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let res = app
            .post(
                "/v1/clients/me/sessions",
                Some(&ana.token),
                &json!({"performed_on": days_ago(day), "completed": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
        sessions.push(res.json::<Value>().await.unwrap()["id"].clone());
    }
    let first = trace(&app, &coach, &id, "").await;
    let rules: Vec<&str> = first["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11"]
    );
    assert_eq!(
        first["cause"],
        json!({"kind": "session", "id": sessions[2]})
    );
    assert_eq!(first["decision"], "advance", "{first}");
    assert_eq!(first["target_stage"], "walking_hills");
    let r2 = rule(&first, "R2");
    assert_eq!(
        (r2["outcome"].as_str(), r2["decided"].as_bool()),
        (Some("pass"), Some(true))
    );
    let counted: Vec<&Value> = r2["inputs"]["completed_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(counted, [&sessions[0], &sessions[1], &sessions[2]]);
    assert_eq!(rule(&first, "R1")["inputs"]["next_stage"], "walking_hills");
    assert_eq!(rule(&first, "R4")["outcome"], "not_applicable");
    // The plan's own recommendation is the trace's.
    let plan: Value = app
        .get(&format!("/v1/clients/{id}/plan"), Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["recommendation"]["reasons"], first["reasons"]);

    // A pelvic red flag: the engine refers her and says which rule decided.
    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life", "bulge_seen_or_felt": true}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let report: Value = res.json().await.unwrap();
    let now = trace(&app, &ana, "me", "").await;
    assert_eq!(now["decision"], "refer");
    assert_eq!(
        now["cause"],
        json!({"kind": "symptom_report", "id": report["id"]})
    );
    let decided: Vec<&str> = now["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["decided"] == true)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(decided, ["R8"]);
    assert_eq!(
        rule(&now, "R8")["inputs"]["latest_report"]["id"],
        report["id"]
    );

    // The first decision, asked for by its run, is as it was.
    let run = first["run_id"].as_str().unwrap();
    assert_eq!(trace(&app, &coach, &id, &format!("?at={run}")).await, first);

    // A coach's transition is explained by what the engine said last before it.
    let res = app
        .post(
            &format!("/v1/clients/{id}/plan/transitions"),
            Some(&coach.token),
            &json!({"action": "pause", "reason": "Seen by the physio next week."}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let transition = res.json::<Value>().await.unwrap()["transition"]["id"].clone();
    let at = trace(
        &app,
        &coach,
        &id,
        &format!("?at={}", transition.as_str().unwrap()),
    )
    .await;
    assert_eq!(at["run_id"], now["run_id"]);
}

#[tokio::test]
async fn a_trace_is_hers_her_coachs_and_the_practices_only() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let other_coach = app
        .new_coach(&admin, "Lena Park", "lena@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let bea = app
        .new_client(&other_coach, "Bea Costa", "bea@example.org")
        .await;
    let id = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &id).await;
    app.start_default_plan(&other_coach, &bea.client_id.unwrap().to_string())
        .await;
    for caller in [&ana, &bea] {
        let res = app
            .post(
                "/v1/clients/me/sessions",
                Some(&caller.token),
                &json!({"performed_on": days_ago(1), "completed": true}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let elsewhere = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    let path = format!("/v1/clients/{id}/plan/recommendation");
    for caller in [&coach, &admin, &ana] {
        let who = if caller.client_id.is_some() {
            "/v1/clients/me/plan/recommendation".to_string()
        } else {
            path.clone()
        };
        let res = app.get(&who, Some(&caller.token)).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    for caller in [&other_coach, &elsewhere, &bea] {
        assert_problem(app.get(&path, Some(&caller.token)).await, 404).await;
    }
    // Another client's run, asked for through her own path, is not found.
    let bea_run = trace(&app, &bea, "me", "").await["run_id"].clone();
    assert_problem(
        app.get(
            &format!("{path}?at={}", bea_run.as_str().unwrap()),
            Some(&coach.token),
        )
        .await,
        404,
    )
    .await;
    let problem = assert_problem(
        app.get(&format!("{path}?at=yesterday"), Some(&coach.token))
            .await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("at"), "{problem}");
    assert_problem(
        app.get(&format!("{path}?since=2026-01-01"), Some(&coach.token))
            .await,
        422,
    )
    .await;
    assert_problem(app.get(&path, Some("not-a-token")).await, 401).await;
}
