//! Every failure is problem+json with the right status, including actix's own.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, captured_logs, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.address))
        .header("content-type", "application/json")
        .body("{\"email\": \"ana@example.org\", ")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 400).await;
    assert_eq!(problem["type"], "/problems/malformed-request");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app
            .client
            .post(format!("{}/v1/auth/login", app.address))
            .body("email=ana@example.org");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        assert_problem(req.send().await.unwrap(), 415).await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_names_the_limit() {
    let app = spawn_app().await;
    let huge = json!({"email": "a@example.org", "password": "x".repeat(70 * 1024)});
    let problem = assert_problem(app.post("/v1/auth/login", None, &huge).await, 413).await;
    assert!(problem["detail"].as_str().unwrap().contains("65536"));
    // Also when streamed without a Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 1024])).collect();
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.address))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413).await;
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    let problem = assert_problem(
        app.post(
            "/v1/auth/login",
            None,
            &json!({"email": "a@example.org", "password": "p", "role": "admin"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "role");
    let problem = assert_problem(
        app.post(
            "/v1/auth/login",
            None,
            &json!({"email": 42, "password": "p"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "email");
    let problem = assert_problem(
        app.post("/v1/auth/login", None, &json!({"email": "a@example.org"}))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let problem = assert_problem(app.post("/v1/auth/login", None, &json!([1, 2])).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "body");
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    let app = spawn_app().await;
    for path in ["/nope", "/v1/coaches/1/2/3", "/v1"] {
        let problem = assert_problem(app.get(path, None).await, 404).await;
        assert_eq!(problem["type"], "/problems/not-found");
    }
}

#[tokio::test]
async fn a_percent_encoded_path_is_authorized_as_the_router_reads_it() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    assert_problem(app.get("/v1/%63oaches", None).await, 401).await;
    let res = app.get("/v1/%63oaches", Some(&admin.token)).await;
    assert_eq!(res.status(), 200);
    assert_problem(app.get("/v1/coaches%2Fx", Some(&admin.token)).await, 404).await;
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let res = app.request(Method::PUT, "/v1/coaches", None, None).await;
    let allow = res.headers()["allow"].to_str().unwrap().to_string();
    assert_problem(res, 405).await;
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let res = app.request(Method::GET, "/v1/auth/login", None, None).await;
    assert_eq!(res.headers()["allow"], "POST");
    assert_problem(res, 405).await;
    let res = app
        .request(
            Method::POST,
            "/v1/coaches/0193aaaa-0000-7000-8000-000000000000",
            None,
            None,
        )
        .await;
    assert_problem(res, 405).await;
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_404() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    assert_problem(
        app.get("/v1/coaches/not-a-uuid", Some(&admin.token)).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn bad_query_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=500", "limit"),
        ("cursor=zzz", "cursor"),
        ("colour=red", "colour"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/v1/coaches?{query}"), Some(&admin.token))
                .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_500_is_logged_with_its_cause_and_answered_without_internals() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    // Break the database under the running service.
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "ALTER TABLE organizations RENAME COLUMN auto_progress TO auto_progress_gone",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let res = app.get("/v1/organization", Some(&admin.token)).await;
    let problem = assert_problem(res, 500).await;
    let text = problem.to_string();
    assert!(!text.contains("auto_progress"), "{text}");
    assert!(!text.contains("column"), "{text}");
    assert_eq!(problem["type"], "/problems/internal");
    assert!(
        captured_logs().contains("auto_progress"),
        "the cause is logged"
    );
}

#[tokio::test]
async fn every_answer_carries_safety_headers() {
    let app = spawn_app_with(|_| {}).await;
    for res in [
        app.get("/healthz", None).await,
        app.get("/v1/me", None).await,
        app.get("/nope", None).await,
    ] {
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.headers().contains_key("x-request-id"));
        assert!(!res.headers().contains_key("server"));
        let _: Value = res.json().await.unwrap();
    }
}

#[tokio::test]
async fn a_stored_value_the_code_does_not_know_is_a_500_never_another_value() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client = ana.client_id.unwrap();
    let report: Value = app
        .post(
            &format!("/v1/clients/{client}/symptom-reports"),
            Some(&coach.token),
            &json!({"timing": "during", "pain": [{"location": "knee", "nrs": 4}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/v1/clients/{client}/symptom-reports/{}",
        report["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&path, Some(&coach.token)).await.status(), 200);
    // Findings that are not findings: read as they are, they would have shown as none.
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE symptom_reports SET findings = '{\"rule\": 1}'"),
        &mut conn,
    )
    .await
    .unwrap();
    let problem = assert_problem(app.get(&path, Some(&coach.token)).await, 500).await;
    assert_eq!(problem["type"], "/problems/internal");
    assert!(
        captured_logs().contains("invalid type"),
        "the cause is logged"
    );
}
