//! `Idempotency-Key` on the writes a phone or a script may repeat: one row however many
//! times (or how concurrently) the same request arrives, and the same answer for all.

use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn().await;
    let n: N = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
    n.n
}

async fn keyed_post(
    app: &TestApp,
    caller: &Caller,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&caller.token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

async fn practice(app: &TestApp) -> (Caller, Caller) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    (admin, coach)
}

fn ana() -> Value {
    json!({"name": "Ana Lima", "email": "ana@example.org", "delivery_date": "2026-08-20",
           "delivery_type": "vaginal", "cleared_for_exercise": true})
}

#[tokio::test]
async fn fifty_identical_concurrent_creates_make_one_client_and_one_answer() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let body = ana();
    let answers = join_all(
        (0..50).map(|_| keyed_post(&app, &coach, "/v1/clients", "new-client-ana-1", &body)),
    )
    .await;
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'client.create'"
        )
        .await,
        1
    );
    let (status, first_headers, first_body) = &answers
        .iter()
        .find(|(_, h, _)| !h.contains_key("idempotent-replayed"))
        .expect("one request ran");
    assert_eq!(*status, 201);
    for (status, headers, body) in &answers {
        assert_eq!(*status, 201);
        assert_eq!(body, first_body, "every caller gets the same answer");
        assert_eq!(headers["etag"], first_headers["etag"]);
        assert_eq!(headers["content-type"], "application/json");
    }
    let replays = answers
        .iter()
        .filter(|(_, h, _)| h.get("idempotent-replayed").is_some_and(|v| v == "true"))
        .count();
    assert_eq!(replays, 49);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422_and_writes_nothing() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let (status, _, _) = keyed_post(&app, &coach, "/v1/clients", "k-1", &ana()).await;
    assert_eq!(status, 201);
    let mut other = ana();
    other["name"] = json!("Bea Santos");
    other["email"] = json!("bea@example.org");
    let res = app
        .client
        .post(format!("{}/v1/clients", app.address))
        .bearer_auth(&coach.token)
        .header("idempotency-key", "k-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422).await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 1);
    // Another key is another request.
    let (status, _, _) = keyed_post(&app, &coach, "/v1/clients", "k-2", &other).await;
    assert_eq!(status, 201);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 2);
}

#[tokio::test]
async fn a_refused_request_keeps_no_answer_so_its_corrected_retry_runs() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let mut bad = ana();
    bad["delivery_type"] = json!("unknown");
    let (status, _, _) = keyed_post(&app, &coach, "/v1/clients", "k-1", &bad).await;
    assert_eq!(status, 422);
    // Same key, same (bad) body: refused again, not replayed as a success.
    let (status, headers, _) = keyed_post(&app, &coach, "/v1/clients", "k-1", &bad).await;
    assert_eq!(status, 422);
    assert!(!headers.contains_key("idempotent-replayed"));
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM idempotency_keys").await,
        0
    );
}

#[tokio::test]
async fn keys_belong_to_their_organization() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let other_admin = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    let other = app
        .new_coach(&other_admin, "Zoe Park", "zoe@hillside.example")
        .await;
    let (a, _, first) = keyed_post(&app, &coach, "/v1/clients", "shared-key", &ana()).await;
    let (b, headers, second) = keyed_post(&app, &other, "/v1/clients", "shared-key", &ana()).await;
    assert_eq!((a, b), (201, 201));
    assert!(!headers.contains_key("idempotent-replayed"));
    assert_ne!(first, second, "each organization got its own client");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 2);
}

fn assert_same_201(answers: &[(u16, reqwest::header::HeaderMap, Vec<u8>)]) {
    for (status, _, body) in answers {
        assert_eq!(*status, 201, "{}", String::from_utf8_lossy(body));
        assert_eq!(*body, answers[0].2);
    }
}

#[tokio::test]
async fn reports_transitions_and_sessions_are_written_once_per_key() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let client: Value = app
        .post("/v1/clients", Some(&coach.token), &ana())
        .await
        .json()
        .await
        .unwrap();
    let id = client["id"].as_str().unwrap();
    let programs: Value = app
        .get("/v1/programs", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let plan = json!({"program_id": programs["items"][0]["id"]});
    let path = format!("/v1/clients/{id}/plan");
    for _ in 0..2 {
        let (status, _, _) = keyed_post(&app, &coach, &path, "plan-1", &plan).await;
        assert_eq!(status, 201);
    }
    let advance =
        json!({"action": "advance", "reason": "Crawling is easy now.", "override_gate": true});
    let path = format!("/v1/clients/{id}/plan/transitions");
    let answers =
        join_all((0..5).map(|_| keyed_post(&app, &coach, &path, "advance-1", &advance))).await;
    assert_same_201(&answers);
    let report = json!({"timing": "immediately_after", "pain": [{"location": "knee", "nrs": 2}]});
    let path = format!("/v1/clients/{id}/symptom-reports");
    let answers =
        join_all((0..5).map(|_| keyed_post(&app, &coach, &path, "report-1", &report))).await;
    assert_same_201(&answers);
    let session =
        json!({"performed_on": chrono::Utc::now().date_naive().to_string(), "completed": true});
    let path = format!("/v1/clients/{id}/sessions");
    let answers =
        join_all((0..5).map(|_| keyed_post(&app, &coach, &path, "session-1", &session))).await;
    assert_same_201(&answers);

    assert_eq!(count(&app, "SELECT count(*) AS n FROM plans").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM plan_transitions WHERE reason = 'Crawling is easy now.'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM symptom_reports").await,
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM session_logs").await,
        1
    );
}

#[tokio::test]
async fn a_key_must_be_1_to_255_characters() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    let long = "k".repeat(256);
    let res = app
        .client
        .post(format!("{}/v1/clients", app.address))
        .bearer_auth(&coach.token)
        .header("idempotency-key", long)
        .json(&ana())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422).await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 0);
}

#[tokio::test]
async fn every_route_that_honours_a_key_documents_it() {
    let doc: Value = serde_json::from_str(&runback::openapi::document_json()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            if names.contains(&"Idempotency-Key") {
                documented.push(format!("{method} {path}"));
            }
        }
    }
    let mut expected: Vec<String> = runback::api::idempotency::ROUTES
        .iter()
        .map(|r| format!("post {r}"))
        .chain(["post /v1/imports/clients".to_string()])
        .collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn a_percent_encoded_path_is_still_protected_by_its_key() {
    let app = spawn_app().await;
    let (_, coach) = practice(&app).await;
    // `%63` is `c`: the router serves /v1/clients, and the key must hold there too.
    let first = keyed_post(&app, &coach, "/v1/%63lients", "encoded-1", &ana()).await;
    assert_eq!(first.0, 201);
    let again = keyed_post(&app, &coach, "/v1/%63lients", "encoded-1", &ana()).await;
    assert_eq!(again.0, 201);
    assert_eq!(again.1["idempotent-replayed"], "true");
    assert_eq!(again.2, first.2);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM clients").await, 1);
}

#[tokio::test]
async fn a_key_is_replayed_only_to_the_caller_who_sent_it() {
    let app = spawn_app().await;
    let (admin, coach) = practice(&app).await;
    let body = ana();
    assert_eq!(
        keyed_post(&app, &coach, "/v1/clients", "shared-key", &body)
            .await
            .0,
        201
    );
    // Another person of the practice with the same key and body: refused, not handed her answer.
    let (status, _, problem) = keyed_post(&app, &admin, "/v1/clients", "shared-key", &body).await;
    assert_eq!(status, 422);
    let problem: Value = serde_json::from_slice(&problem).unwrap();
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    // The same for imports, which keep their own key.
    let csv = "external_id,name,delivery_date,delivery_type\nK-1,Kim Lee,2026-08-20,vaginal\n";
    let import = |caller: &Caller| {
        app.client
            .post(format!("{}/v1/imports/clients", app.address))
            .bearer_auth(&caller.token)
            .header("content-type", "text/csv")
            .header("idempotency-key", "import-key")
            .body(csv)
            .send()
    };
    assert_eq!(import(&admin).await.unwrap().status(), 200);
    let replay = import(&admin).await.unwrap();
    assert_eq!(
        replay.status(),
        200,
        "the same caller gets her answer again"
    );
    let (_, token) = app.new_service_token(&admin, &["clients:import"]).await;
    let script = Caller {
        token,
        ..admin.clone()
    };
    assert_problem(import(&script).await.unwrap(), 422).await;
}
