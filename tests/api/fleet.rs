//! Several instances of the service on one database behave as one: what one instance changes,
//! the others serve on their next request. (Two in-process instances here; the rolling restart
//! behind a load balancer is its own test.)

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use runback::config::Settings;

use crate::helpers::{assert_problem, fresh_database, start_app, TestApp};

/// Two instances, A and B, of the service on one fresh database.
async fn two_instances() -> (TestApp, TestApp) {
    two_instances_with(|_| {}).await
}

async fn two_instances_with(tweak: impl Fn(&mut Settings)) -> (TestApp, TestApp) {
    let (db_url, db_name, maintenance_url) = fresh_database().await;
    let a = start_app(
        db_url.clone(),
        db_name.clone(),
        maintenance_url.clone(),
        &tweak,
    )
    .await;
    let b = start_app(db_url, db_name, maintenance_url, &tweak).await;
    (a, b)
}

async fn bad_login(app: &TestApp) -> reqwest::Response {
    app.post(
        "/v1/auth/login",
        None,
        &json!({"email": "nobody@example.org", "password": "wrong password"}),
    )
    .await
}

#[tokio::test]
async fn throttles_count_across_instances() {
    let (a, b) = two_instances_with(|s| {
        s.login_attempts_per_minute = 2;
        s.expensive_requests_per_minute = 2;
    })
    .await;
    assert_eq!(bad_login(&a).await.status(), 401);
    assert_eq!(bad_login(&b).await.status(), 401);
    let res = bad_login(&a).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429).await;
    assert_problem(bad_login(&b).await, 429).await;

    // Expensive requests: the same caller's allowance, whichever instance she reaches.
    let (c, d) = two_instances_with(|s| s.expensive_requests_per_minute = 2).await;
    let admin = c
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    assert_eq!(
        c.get("/v1/audit-events", Some(&admin.token)).await.status(),
        200
    );
    assert_eq!(
        d.get("/v1/audit-events", Some(&admin.token)).await.status(),
        200
    );
    assert_problem(d.get("/v1/audit-events", Some(&admin.token)).await, 429).await;
    assert_problem(c.get("/v1/audit-events", Some(&admin.token)).await, 429).await;
}

#[tokio::test]
async fn a_sign_out_everywhere_on_one_instance_ends_the_token_on_the_others_at_once() {
    let (a, b) = two_instances().await;
    let admin = a
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = a
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    // B has seen her token and holds it as good.
    assert_eq!(b.get("/v1/me", Some(&coach.token)).await.status(), 200);
    let res = a
        .request(
            reqwest::Method::POST,
            "/v1/auth/logout-all",
            Some(&coach.token),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    // B learns it from the database's announcement, well before its cache would expire (30 s).
    let signed_out = Instant::now();
    let mut refused_after = None;
    while signed_out.elapsed() < Duration::from_secs(3) {
        if b.get("/v1/me", Some(&coach.token)).await.status() == 401 {
            refused_after = Some(signed_out.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused_after = refused_after.expect("instance B still accepted the token after 3 s");
    println!("instance B refused the signed-out token {refused_after:?} after instance A's answer");
    // And a removal: the admin removes the coach on B; A refuses her new token.
    let coach = a
        .new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    assert_eq!(a.get("/v1/clients", Some(&coach.token)).await.status(), 200);
    assert_eq!(
        b.delete(
            &format!("/v1/coaches/{}", coach.user_id),
            Some(&admin.token)
        )
        .await
        .status(),
        204
    );
    let removed = Instant::now();
    while a.get("/v1/clients", Some(&coach.token)).await.status() != 401 {
        assert!(
            removed.elapsed() < Duration::from_secs(3),
            "instance A still serves a removed coach"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_program_version_published_on_one_instance_is_what_another_serves() {
    let (a, b) = two_instances().await;
    let admin = a
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let programs: Value = b
        .get("/v1/programs", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    let mut program = programs["items"][0].clone();
    let id = program["id"].as_str().unwrap().to_string();
    // B reads (and keeps) version 1's stages for a plan first.
    let client = b
        .create_client(
            &admin,
            &json!({"name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal"}),
        )
        .await;
    let first = client["id"].as_str().unwrap().to_string();
    b.start_default_plan(&admin, &first).await;
    // A publishes version 2.
    program["name"] = json!("Return to Running, revised");
    let body = json!({"name": program["name"], "stages": program["stages"]});
    let res = a
        .request(
            reqwest::Method::PUT,
            &format!("/v1/programs/{id}"),
            Some(&admin.token),
            Some(&body),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // B serves version 2 at once, and a plan started on B pins it.
    let served: Value = b
        .get(&format!("/v1/programs/{id}"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(served["version"], 2);
    assert_eq!(served["name"], "Return to Running, revised");
    let client = b
        .create_client(
            &admin,
            &json!({"name": "Bea Souza", "delivery_date": "2026-08-20", "delivery_type": "vaginal"}),
        )
        .await;
    let second = client["id"].as_str().unwrap().to_string();
    b.start_default_plan(&admin, &second).await;
    let plan: Value = b
        .get(&format!("/v1/clients/{second}/plan"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["program_version"], 2);
}

#[tokio::test]
async fn an_idempotency_key_sent_to_one_instance_is_replayed_by_another() {
    let (a, b) = two_instances().await;
    let admin = a
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let body =
        json!({"name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal"});
    let send = |app: &TestApp| {
        app.client
            .post(format!("{}/v1/clients", app.address))
            .bearer_auth(&admin.token)
            .header("idempotency-key", "fleet-key-1")
            .json(&body)
            .send()
    };
    let first = send(&a).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(&b).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let list: Value = b
        .get("/v1/clients", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_problem(
        b.post("/v1/clients", Some(&admin.token), &json!({"name": ""}))
            .await,
        422,
    )
    .await;
}
