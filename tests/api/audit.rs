//! The audit trail as admins read it, including staff reads of a client's health data.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

async fn events(app: &crate::helpers::TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/v1/audit-events{query}"), Some(token))
        .await;
    assert_eq!(res.status(), 200, "{query}");
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn staff_reads_are_audited_and_admins_filter_the_trail() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = client.client_id.unwrap();
    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&client.token),
            &json!({"timing": "daily_life"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let report: Value = res.json().await.unwrap();

    // Her own reads leave no trace; the coach's and the admin's do.
    for token in [&client.token, &coach.token] {
        let who = if token == &client.token {
            "me".to_string()
        } else {
            id.to_string()
        };
        for path in ["symptom-reports", "timeline", "export"] {
            let res = app
                .get(&format!("/v1/clients/{who}/{path}"), Some(token))
                .await;
            assert_eq!(res.status(), 200, "{path}");
        }
    }
    let res = app
        .get(
            &format!(
                "/v1/clients/{id}/symptom-reports/{}",
                report["id"].as_str().unwrap()
            ),
            Some(&admin.token),
        )
        .await;
    assert_eq!(res.status(), 200);

    let reads = events(
        &app,
        &admin.token,
        &format!("?entity_id={id}&action=symptom_report.read"),
    )
    .await;
    assert_eq!(reads.len(), 2, "{reads:?}");
    // Newest first: the admin's read of the one report, then the coach's list.
    assert_eq!(reads[0]["actor_id"], admin.user_id.to_string());
    assert_eq!(reads[0]["changes"]["report_ids"], json!([report["id"]]));
    assert_eq!(reads[1]["actor_id"], coach.user_id.to_string());
    assert_eq!(reads[1]["actor_type"], "user");
    assert_eq!(reads[1]["entity"], "client");
    for action in ["client.timeline.read", "client.export"] {
        let found = events(&app, &admin.token, &format!("?action={action}")).await;
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        assert_eq!(found[0]["actor_id"], coach.user_id.to_string());
    }
    // The client's own actions are there too (her report), and filters narrow.
    let hers = events(&app, &admin.token, &format!("?actor_id={}", client.user_id)).await;
    assert!(
        hers.iter().any(|e| e["action"] == "symptom_report.create"),
        "{hers:?}"
    );
    assert!(hers
        .iter()
        .all(|e| e["actor_id"] == client.user_id.to_string()));
    let none = events(&app, &admin.token, "?since=2999-01-01T00:00:00Z").await;
    assert!(none.is_empty());

    // Paging walks the whole trail without repeats.
    let all = events(&app, &admin.token, "?limit=200").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/audit-events?limit=3&cursor={c}"),
            None => "/v1/audit-events?limit=3".to_string(),
        };
        let page: Value = app
            .get(&query, Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);

    // Admins only; bad filters are named.
    assert_problem(app.get("/v1/audit-events", Some(&coach.token)).await, 403).await;
    assert_problem(app.get("/v1/audit-events", Some(&client.token)).await, 403).await;
    let problem = assert_problem(
        app.get("/v1/audit-events?entity_id=nope", Some(&admin.token))
            .await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("entity_id"), "{problem}");
    let problem = assert_problem(
        app.get("/v1/audit-events?colour=red", Some(&admin.token))
            .await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("colour"), "{problem}");

    // Another organization's trail is not visible.
    let other = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    let theirs = events(&app, &other.token, "?limit=200").await;
    assert!(theirs.iter().all(|e| e["entity_id"] != id.to_string()));
}
