//! The second security review's findings on privacy: what one role may not see (her mood
//! answers, her mood flags) must not be learnable through a side door.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, Caller, TestApp};

/// `path` read with `token`, as JSON.
async fn read(app: &TestApp, path: &str, token: &str) -> Value {
    app.get(path, Some(token)).await.json().await.unwrap()
}

async fn practice(app: &TestApp) -> (Caller, Caller, Caller) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    (admin, coach, ana)
}

/// Finding 1 (High): an admin, or a token with `clients:write`, replayed her check-in's id with
/// each of the 16 PHQ-2 answer pairs; the true pair answered 200. Now anyone but its writer
/// gets the same 409 for every pair, and her own retry is answered and audited.
#[tokio::test]
async fn a_body_id_replay_is_recognised_only_for_its_writer_and_reveals_nothing() {
    let app = spawn_app().await;
    let (admin, coach, ana) = practice(&app).await;
    let client = ana.client_id.unwrap().to_string();
    let id = Uuid::now_v7();
    let body = json!({"id": id, "sleep_hours": 6.5, "fatigue": 5,
        "mood_screen": {"little_interest": 1, "feeling_down": 2}});
    let res = app
        .post("/v1/clients/me/check-ins", Some(&ana.token), &body)
        .await;
    assert_eq!(res.status(), 201);
    // What the admin can read of it: her mood is hidden.
    let page = read(
        &app,
        &format!("/v1/clients/{client}/check-ins"),
        &admin.token,
    )
    .await;
    assert_eq!(page["items"][0]["mood_screen"], Value::Null);
    let (_, token) = app.new_service_token(&admin, &["clients:write"]).await;
    let path = format!("/v1/clients/{client}/check-ins");
    for caller in [&admin.token, &token, &coach.token] {
        let mut answers = Vec::new();
        for a in 0..4 {
            for b in 0..4 {
                let guess = json!({"id": id, "sleep_hours": 6.5, "fatigue": 5,
                    "mood_screen": {"little_interest": a, "feeling_down": b}});
                let res = app.post(&path, Some(caller), &guess).await;
                let status = res.status().as_u16();
                let problem: Value = res.json().await.unwrap();
                answers.push((status, problem["errors"][0]["field"].clone()));
            }
        }
        assert!(
            answers.iter().all(|(s, f)| *s == 409 && f == "id"),
            "every guess, the true one too, is the same 409 naming id: {answers:?}"
        );
    }
    // Her own retry is answered as the first time, and the replay is in the trail.
    let res = app
        .post("/v1/clients/me/check-ins", Some(&ana.token), &body)
        .await;
    assert_eq!(res.status(), 200);
    let events = app
        .audit_events(&admin.token, "?action=check_in.replay")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["entity_id"], id.to_string());
    assert_eq!(events[0]["actor_id"], ana.user_id.to_string());
}

/// The same mechanism holds for reports and sessions: another principal's replay of her id is
/// a 409, her own an answer.
#[tokio::test]
async fn reports_and_sessions_replay_only_for_their_writer() {
    let app = spawn_app().await;
    let (admin, coach, ana) = practice(&app).await;
    let client = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &client).await;
    for (path, body) in [
        (
            "symptom-reports",
            json!({"id": Uuid::now_v7(), "timing": "daily_life", "urine_leak": "drops"}),
        ),
        (
            "sessions",
            json!({"id": Uuid::now_v7(), "performed_on": chrono::Utc::now().date_naive(), "completed": true}),
        ),
    ] {
        let mine = format!("/v1/clients/me/{path}");
        let hers = format!("/v1/clients/{client}/{path}");
        assert_eq!(app.post(&mine, Some(&ana.token), &body).await.status(), 201);
        for caller in [&coach.token, &admin.token] {
            let res = app.post(&hers, Some(caller), &body).await;
            assert_eq!(res.status(), 409, "{path}");
        }
        assert_eq!(app.post(&mine, Some(&ana.token), &body).await.status(), 200);
    }
    let replays = app.audit_events(&admin.token, "?limit=200").await;
    let actions: Vec<&str> = replays
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.ends_with(".replay"))
        .collect();
    assert_eq!(actions, ["session.replay", "symptom_report.replay"]);
}

/// Finding 2 (Medium): mood-flag events carried `"level": "mood"` in the admin's audit trail,
/// and resolving a mood flag made the plan's trace name it as the cause. Now the trail keeps
/// them under their own entity, served to nobody who may not see her mood, and resolving one
/// runs no engine.
#[tokio::test]
async fn mood_flags_show_through_neither_the_audit_trail_nor_the_trace() {
    let app = spawn_app().await;
    let (admin, coach, ana) = practice(&app).await;
    let client = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &client).await;
    let session = json!({"performed_on": chrono::Utc::now().date_naive(), "completed": true});
    let res = app
        .post("/v1/clients/me/sessions", Some(&ana.token), &session)
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post(
            "/v1/clients/me/check-ins",
            Some(&ana.token),
            &json!({"sleep_hours": 7, "fatigue": 3,
                "mood_screen": {"little_interest": 2, "feeling_down": 2}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let inbox = read(&app, "/v1/flags", &coach.token).await;
    let flag = inbox["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(inbox["items"][0]["level"], "mood");
    let before = read(
        &app,
        &format!("/v1/clients/{client}/plan/recommendation"),
        &admin.token,
    )
    .await;
    let res = app
        .post(
            &format!("/v1/flags/{flag}/resolve"),
            Some(&coach.token),
            &json!({"note": "Talked it through; she is seeing her GP."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after = read(
        &app,
        &format!("/v1/clients/{client}/plan/recommendation"),
        &admin.token,
    )
    .await;
    assert_eq!(
        after["cause"], before["cause"],
        "no run names the mood flag"
    );
    assert_ne!(after["cause"]["kind"], "flag_resolved");
    let trail = serde_json::to_string(&app.audit_events(&admin.token, "?limit=200").await).unwrap();
    assert!(
        !trail.contains(&flag),
        "the admin's trail never names the mood flag"
    );
    assert!(
        !trail.contains("\"mood\"") && !trail.contains("mood_flag"),
        "nor any mood-flag event: {trail}"
    );
    // The events are kept.
    let mut conn = app.conn().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let kept: N = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE entity = 'mood_flag'"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(kept.n, 2, "opened and resolved");
}

/// Finding 12 (Low): triage levels, a session's RPE and duration, readiness values and the scar
/// clinician's name were stored in the audit trail's `changes`. The trail keeps ids, field
/// names and how she is managed; the clinical values stay on her records.
#[tokio::test]
async fn the_audit_trail_holds_no_clinical_values() {
    let app = spawn_app().await;
    let (admin, coach, ana) = practice(&app).await;
    let client = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &client).await;
    let today = chrono::Utc::now().date_naive();
    let writes = [
        (
            "sessions",
            json!({"performed_on": today, "completed": true, "duration_minutes": 37, "rpe": 7}),
        ),
        (
            "symptom-reports",
            json!({"timing": "daily_life", "chest_pain": true}),
        ),
        (
            "readiness-tests",
            json!({"test": "walk_30_min", "reached": 1777, "side": "both", "symptom_free": true}),
        ),
    ];
    for (path, body) in writes {
        let res = app
            .post(
                &format!("/v1/clients/{client}/{path}"),
                Some(&coach.token),
                &body,
            )
            .await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let trail = serde_json::to_string(&app.audit_events(&admin.token, "?limit=200").await).unwrap();
    for value in [
        "red_medical",
        "emergency",
        "1777",
        "\"rpe\":7",
        "\"duration_minutes\":37",
    ] {
        assert!(!trail.contains(value), "{value} in the trail: {trail}");
    }
    for action in [
        "session.log",
        "symptom_report.create",
        "readiness.record",
        "flag.open",
    ] {
        assert!(trail.contains(action), "{action} is still audited");
    }
}
