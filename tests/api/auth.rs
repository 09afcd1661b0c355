//! Signing in, refreshing, signing out, invitations, throttling; secrets never leak.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, captured_logs, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn login_returns_a_bearer_pair_and_me_says_who_i_am() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "Admin@Riverside.example")
        .await;
    // Email is case-insensitive.
    let res = app.login("admin@riverside.example", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert!(pair["refresh_token"].as_str().unwrap().starts_with("rbr_"));
    let me: Value = app
        .get("/v1/me", pair["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user_id"], admin.user_id.to_string());
    assert_eq!(me["role"], "admin");
    assert_eq!(me["organization"]["name"], "Riverside Physio");
    assert_eq!(me["organization"]["id"], admin.organization_id.to_string());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let wrong = assert_problem(
        app.login("admin@riverside.example", "not the password")
            .await,
        401,
    )
    .await;
    let unknown = assert_problem(app.login("nobody@riverside.example", PASSWORD).await, 401).await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn logins_are_throttled_with_retry_after() {
    let app = spawn_app_with(|s| s.login_attempts_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("ana@example.org", "wrong password")
                .await
                .status(),
            401
        );
    }
    let res = app.login("ana@example.org", "wrong password").await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_problem(res, 429).await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = spawn_app().await;
    app.new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let first: Value = app
        .login("admin@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh = |token: &Value| json!({"refresh_token": token["refresh_token"]});
    let res = app.post("/v1/auth/refresh", None, &refresh(&first)).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        app.get("/v1/me", second["access_token"].as_str())
            .await
            .status(),
        200
    );

    // The first token again: a replay. Both it and its successor stop working.
    assert_problem(
        app.post("/v1/auth/refresh", None, &refresh(&first)).await,
        401,
    )
    .await;
    assert_problem(
        app.post("/v1/auth/refresh", None, &refresh(&second)).await,
        401,
    )
    .await;

    // Another sign-in is not affected.
    let other: Value = app
        .login("admin@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.post("/v1/auth/refresh", None, &refresh(&other))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    app.new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let pair: Value = app
        .login("admin@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let body = json!({"refresh_token": pair["refresh_token"]});
    assert_eq!(app.post("/v1/auth/logout", None, &body).await.status(), 204);
    assert_problem(app.post("/v1/auth/refresh", None, &body).await, 401).await;
    // Logging out twice, or with an unknown token, is harmless.
    assert_eq!(app.post("/v1/auth/logout", None, &body).await.status(), 204);
    assert_eq!(
        app.post(
            "/v1/auth/logout",
            None,
            &json!({"refresh_token": "rbr_unknown"})
        )
        .await
        .status(),
        204
    );
}

#[tokio::test]
async fn an_invitation_sets_a_password_once() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let created: Value = app
        .post(
            "/v1/coaches",
            Some(&admin.token),
            &json!({"name": "Maya Okafor", "email": "maya@riverside.example"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["invitation"]["token"].clone();
    assert_eq!(created["coach"]["status"], "invited");
    assert_eq!(
        created["invitation"]["accept_path"],
        "/v1/auth/invitations/accept"
    );
    // An invited coach cannot sign in yet.
    assert_problem(app.login("maya@riverside.example", PASSWORD).await, 401).await;
    // Too short a password is refused, naming the field, and the invitation stays usable.
    let problem = assert_problem(
        app.post(
            "/v1/auth/invitations/accept",
            None,
            &json!({"token": token, "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let res = app
        .post(
            "/v1/auth/invitations/accept",
            None,
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let me: Value = app
        .get("/v1/me", pair["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "coach");
    let problem = assert_problem(
        app.post(
            "/v1/auth/invitations/accept",
            None,
            &json!({"token": token, "password": PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "token");
    assert_eq!(
        app.login("maya@riverside.example", PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let created: Value = app
        .post(
            "/v1/coaches",
            Some(&admin.token),
            &json!({"name": "Maya Okafor", "email": "maya@riverside.example"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut conn = app.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE invitations SET expires_at = now() - interval '1 minute'"),
        &mut conn,
    )
    .await
    .unwrap();
    let problem = assert_problem(
        app.post(
            "/v1/auth/invitations/accept",
            None,
            &json!({"token": created["invitation"]["token"], "password": PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "token");
}

#[tokio::test]
async fn password_hashes_and_secrets_never_appear_in_responses_or_logs() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (_, service_token) = app.new_service_token(&admin, &["coaches:read"]).await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let pair: Value = app
        .login("maya@riverside.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap().to_string();
    app.post("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
        .await;
    let mut bodies = String::new();
    for (path, token) in [
        ("/v1/me", &admin.token),
        ("/v1/coaches", &admin.token),
        (
            &format!("/v1/coaches/{}", coach.user_id) as &str,
            &admin.token,
        ),
        ("/v1/service-tokens", &admin.token),
        ("/v1/me", &service_token),
        ("/v1/organization", &admin.token),
    ] {
        bodies.push_str(&app.get(path, Some(token)).await.text().await.unwrap());
    }
    let logs = captured_logs();
    let secrets = [
        PASSWORD,
        "$argon2id$",
        &service_token,
        &refresh,
        &admin.token,
    ];
    for secret in secrets {
        assert!(!bodies.contains(secret), "a response contains {secret}");
        assert!(!logs.contains(secret), "the log contains {secret}");
    }
    assert!(!bodies.contains("password_hash"));
}
