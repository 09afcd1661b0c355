use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_service_token_is_shown_once_acts_within_its_scopes_and_dies_when_revoked() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let res = app
        .post(
            "/v1/service-tokens",
            Some(&admin.token),
            &json!({"name": "Nightly import", "scopes": ["coaches:read", "clients:import", "coaches:read"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("rbs_"));
    assert_eq!(created["scopes"], json!(["clients:import", "coaches:read"]));
    assert_eq!(created["token_prefix"].as_str().unwrap(), &secret[..8]);

    let list: Value = app
        .get("/v1/service-tokens", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));

    let me: Value = app.get("/v1/me", Some(&secret)).await.json().await.unwrap();
    assert_eq!(me["user_id"], admin.user_id.to_string());
    assert_eq!(me["service_token"]["id"], created["id"]);
    assert_eq!(app.get("/v1/coaches", Some(&secret)).await.status(), 200);
    assert_problem(app.get("/v1/organization", Some(&secret)).await, 403).await;
    // A token never makes tokens.
    assert_problem(
        app.post(
            "/v1/service-tokens",
            Some(&secret),
            &json!({"name": "x", "scopes": ["coaches:read"]}),
        )
        .await,
        403,
    )
    .await;

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/service-tokens/{id}"), Some(&admin.token))
            .await
            .status(),
        204
    );
    assert_problem(app.get("/v1/coaches", Some(&secret)).await, 401).await;
    assert_problem(
        app.delete(&format!("/v1/service-tokens/{id}"), Some(&admin.token))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn token_requests_are_validated() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["everything"]}), "scopes[0]"),
        (json!({"name": "  ", "scopes": ["coaches:read"]}), "name"),
        (json!({"scopes": ["coaches:read"]}), "name"),
    ] {
        let problem = assert_problem(
            app.post("/v1/service-tokens", Some(&admin.token), &body)
                .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn another_organizations_token_cannot_be_revoked() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let other = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    let (id, secret) = app.new_service_token(&admin, &["coaches:read"]).await;
    assert_problem(
        app.delete(&format!("/v1/service-tokens/{id}"), Some(&other.token))
            .await,
        404,
    )
    .await;
    assert_eq!(app.get("/v1/coaches", Some(&secret)).await.status(), 200);
}
