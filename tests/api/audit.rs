//! The audit trail as admins read it, including staff reads of a client's health data.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

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

    let reads = app
        .audit_events(
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
        let found = app
            .audit_events(&admin.token, &format!("?action={action}"))
            .await;
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        assert_eq!(found[0]["actor_id"], coach.user_id.to_string());
    }
    // The client's own actions are there too (her report), and filters narrow.
    let hers = app
        .audit_events(&admin.token, &format!("?actor_id={}", client.user_id))
        .await;
    assert!(
        hers.iter().any(|e| e["action"] == "symptom_report.create"),
        "{hers:?}"
    );
    assert!(hers
        .iter()
        .all(|e| e["actor_id"] == client.user_id.to_string()));
    let none = app
        .audit_events(&admin.token, "?since=2200-01-01T00:00:00Z")
        .await;
    assert!(none.is_empty());

    // Paging walks the whole trail without repeats.
    let all = app.audit_events(&admin.token, "?limit=200").await;
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
    let theirs = app.audit_events(&other.token, "?limit=200").await;
    assert!(theirs.iter().all(|e| e["entity_id"] != id.to_string()));
}

#[tokio::test]
async fn every_staff_read_of_her_record_is_in_the_trail_within_seconds() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = ana.client_id.unwrap();
    app.start_default_plan(&coach, &id.to_string()).await;
    // A red report opens a flag, so the inbox shows her.
    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life", "bulge_seen_or_felt": true}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let reads = [
        ("/v1/clients?limit=10".to_string(), "client.list"),
        (format!("/v1/clients/{id}"), "client.read"),
        (format!("/v1/clients/{id}/plan"), "plan.read"),
        (format!("/v1/clients/{id}/plan/today"), "plan.today.read"),
        (
            format!("/v1/clients/{id}/plan/recommendation"),
            "recommendation.read",
        ),
        (
            format!("/v1/clients/{id}/plan/transitions"),
            "plan.transitions.read",
        ),
        (format!("/v1/clients/{id}/sessions"), "session.list"),
        (
            format!("/v1/clients/{id}/readiness-tests"),
            "readiness.list",
        ),
        ("/v1/flags".to_string(), "flag.list"),
    ];
    for (path, _) in &reads {
        // Her own reads are not recorded; her coach's are, five times over for the plan.
        assert_eq!(
            app.get(&path.replace(&id.to_string(), "me"), Some(&ana.token))
                .await
                .status()
                .as_u16()
                / 100,
            if path.contains(&id.to_string()) { 2 } else { 4 }
        );
        assert_eq!(
            app.get(path, Some(&coach.token)).await.status(),
            200,
            "{path}"
        );
    }
    for _ in 0..4 {
        app.get(&format!("/v1/clients/{id}/plan"), Some(&coach.token))
            .await;
    }
    // The change feed: a page of her records read by her coach is a read of her data; her own
    // sync is not recorded.
    assert_eq!(app.get("/v1/sync", Some(&ana.token)).await.status(), 200);
    assert_eq!(app.get("/v1/sync", Some(&coach.token)).await.status(), 200);
    let mut trail = Vec::new();
    for _ in 0..40 {
        trail = app
            .audit_events(&admin.token, &format!("?entity_id={id}&limit=200"))
            .await;
        let found = reads
            .iter()
            .map(|(_, action)| *action)
            .chain(["sync.read"])
            .all(|action| trail.iter().any(|e| e["action"] == action));
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for (path, action) in &reads {
        let by_coach: Vec<&Value> = trail.iter().filter(|e| e["action"] == *action).collect();
        assert!(!by_coach.is_empty(), "{path}: no {action} in the trail");
        for e in &by_coach {
            assert_eq!(
                e["actor_id"],
                coach.user_id.to_string(),
                "{action}: only the coach's"
            );
        }
    }
    let synced: Vec<&Value> = trail
        .iter()
        .filter(|e| e["action"] == "sync.read")
        .collect();
    assert_eq!(synced.len(), 1, "{synced:?}");
    assert_eq!(synced[0]["actor_id"], coach.user_id.to_string());
    let plan_reads: u64 = trail
        .iter()
        .filter(|e| e["action"] == "plan.read")
        .map(|e| e["changes"]["reads"].as_u64().unwrap())
        .sum();
    assert_eq!(plan_reads, 5, "each read counted, repeats batched");
}

/// A staff read that is audited takes its audit connection only after handing back the one it
/// read on: a burst of them larger than the pool is served, not left waiting on one another.
#[tokio::test]
async fn a_burst_of_audited_reads_larger_than_the_pool_is_served() {
    let app = crate::helpers::spawn_app_with(|s| s.pool_size = 3).await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let id = client.client_id.unwrap();
    let path = format!("/v1/clients/{id}/timeline");
    let statuses = futures_util::future::join_all(
        (0..12).map(|_| async { app.get(&path, Some(&coach.token)).await.status().as_u16() }),
    )
    .await;
    assert_eq!(statuses, vec![200; 12]);
    let reads = app
        .audit_events(&admin.token, "?action=client.timeline.read")
        .await;
    assert_eq!(reads.len(), 12, "{reads:?}");
}
