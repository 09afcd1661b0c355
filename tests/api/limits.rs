//! Resource limits: expensive routes throttled per caller and address, statements that run
//! too long cancelled, and slow senders cut off.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app_with};

#[tokio::test]
async fn expensive_routes_are_throttled_with_retry_after() {
    let app = spawn_app_with(|s| s.expensive_requests_per_minute = 2).await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app
        .create_client(
            &coach,
            &json!({"name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal"}),
        )
        .await;
    let export = format!("/v1/clients/{}/export", client["id"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(app.get(&export, Some(&coach.token)).await.status(), 200);
    }
    let res = app.get(&export, Some(&coach.token)).await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_problem(res, 429).await;
    // Cheap reads are not throttled.
    assert_eq!(
        app.get(
            &format!("/v1/clients/{}", client["id"].as_str().unwrap()),
            Some(&coach.token)
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_cancelled_and_answered_503() {
    let app = spawn_app_with(|_| {}).await;
    let mut settings = runback::config::Settings::for_database(app.db_url.clone(), "x".repeat(32));
    settings.statement_timeout = Duration::from_millis(100);
    let pool = runback::db::build_pool(&app.db_url, &settings).unwrap();
    let mut conn = pool.get().await.unwrap();
    use diesel_async::RunQueryDsl;
    let err = diesel::sql_query("SELECT pg_sleep(2)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let api: runback::error::ApiError = err.into();
    use actix_web::ResponseError;
    assert_eq!(api.status_code(), 503);
    assert!(api.error_response().headers().contains_key("retry-after"));
    // The connection is still good for the next statement.
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    // Short enough for a quick test, long enough for a busy machine to read a whole head in.
    let app = spawn_app_with(|s| s.client_request_timeout = Duration::from_millis(1000)).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // A slow-loris sender: part of a request head, then silence.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .unwrap();
        let mut answer = Vec::new();
        // Ends when the server closes the connection; a read timeout would fail here instead.
        stream.read_to_end(&mut answer).map(|_| answer)
    })
    .await
    .unwrap()
    .expect("the server closed the connection");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "answered {text:?}"
    );
    // Well-behaved clients are still served.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}
