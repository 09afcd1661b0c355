use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, PASSWORD};

#[tokio::test]
async fn an_admin_manages_coaches_end_to_end_and_every_write_is_audited() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let maya = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let path = format!("/v1/coaches/{}", maya.user_id);

    let coach: Value = app
        .get(&path, Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coach["name"], "Maya Okafor");
    assert_eq!(coach["status"], "active");

    let res = app
        .patch(
            &path,
            Some(&admin.token),
            &json!({"name": "Maya Okafor-Reid"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["name"],
        "Maya Okafor-Reid"
    );
    let problem = assert_problem(
        app.patch(&path, Some(&admin.token), &json!({"name": null}))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "name");
    let problem = assert_problem(
        app.patch(&path, Some(&admin.token), &json!({"email": "not-an-email"}))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "email");

    assert_eq!(app.delete(&path, Some(&admin.token)).await.status(), 204);
    assert_problem(app.get(&path, Some(&admin.token)).await, 404).await;
    assert_problem(app.delete(&path, Some(&admin.token)).await, 404).await;
    // A removed coach can no longer sign in.
    assert_problem(app.login("maya@riverside.example", PASSWORD).await, 401).await;

    let mut conn = app.conn().await;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
    }
    let actions: Vec<String> = diesel_async::RunQueryDsl::load::<Row>(
        diesel::sql_query(
            "SELECT action FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
        )
        .bind::<diesel::sql_types::Uuid, _>(maya.user_id),
        &mut conn,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.action)
    .collect();
    assert_eq!(
        actions,
        [
            "coach.create",
            "invitation.accept",
            "coach.update",
            "coach.remove"
        ]
    );
    // Audit events are append-only.
    let update = diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE audit_events SET action = 'edited'"),
        &mut conn,
    )
    .await;
    assert!(update.is_err());
}

#[tokio::test]
async fn emails_are_unique_per_organization_case_insensitively() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let other = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    app.new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let body = json!({"name": "Maya Again", "email": "MAYA@riverside.example"});
    assert_problem(
        app.post("/v1/coaches", Some(&admin.token), &body).await,
        409,
    )
    .await;
    // Another organization may have its own Maya.
    assert_eq!(
        app.post("/v1/coaches", Some(&other.token), &body)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn coach_lists_page_without_losing_or_repeating_anyone() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let other = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    app.post(
        "/v1/coaches",
        Some(&other.token),
        &json!({"name": "Not Mine", "email": "x@hillside.example"}),
    )
    .await;
    for i in 0..5 {
        let res = app
            .post(
                "/v1/coaches",
                Some(&admin.token),
                &json!({"name": format!("Coach {i}"), "email": format!("coach{i}@riverside.example")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/coaches?limit=2&cursor={c}"),
            None => "/v1/coaches?limit=2".to_string(),
        };
        let page: Value = app
            .get(&path, Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_string());
        }
        // A coach added while paging appears once, at the end.
        if seen.len() == 2 {
            app.post(
                "/v1/coaches",
                Some(&admin.token),
                &json!({"name": "Coach late", "email": "late@riverside.example"}),
            )
            .await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Coach 0",
            "Coach 1",
            "Coach 2",
            "Coach 3",
            "Coach 4",
            "Coach late"
        ]
    );
}
