//! Client records: validation, concurrency, dashboards, erasure.

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

fn ana() -> Value {
    json!({"name": "Ana Lima", "email": "ana@example.org", "external_id": "RP-1",
        "delivery_date": days_ago(60), "delivery_type": "vaginal"})
}

async fn staff(app: &TestApp) -> (Caller, Caller) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    (admin, coach)
}

#[tokio::test]
async fn every_client_field_is_validated_and_named() {
    let app = spawn_app().await;
    let (_, coach) = staff(&app).await;
    let tomorrow = (Utc::now().date_naive() + Duration::days(1)).to_string();
    let cases = [
        (json!({"delivery_date": tomorrow}), "delivery_date"),
        (json!({"delivery_date": "1989-12-31"}), "delivery_date"),
        (json!({"delivery_date": "2026-02-30"}), "delivery_date"),
        (json!({"delivery_type": "c-section"}), "delivery_type"),
        (json!({"perineal_tear_grade": 5}), "perineal_tear_grade"),
        (json!({"email": "not an email"}), "email"),
        (json!({"name": "  "}), "name"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"phone": "call me maybe"}), "phone"),
        (json!({"role": "admin"}), "role"),
        (
            json!({"organization_id": uuid::Uuid::now_v7()}),
            "organization_id",
        ),
        (json!({"breastfeeding": "yes"}), "breastfeeding"),
        (json!({"coach_id": uuid::Uuid::now_v7()}), "coach_id"),
    ];
    for (change, field) in cases {
        let mut body = ana();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let problem = assert_problem(
            app.post("/v1/clients", Some(&coach.token), &body).await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{change}");
    }
}

#[tokio::test]
async fn external_ids_and_emails_are_unique_per_organization() {
    let app = spawn_app().await;
    let (_, coach) = staff(&app).await;
    app.create_client(&coach, &ana()).await;
    let mut same_external = ana();
    same_external["email"] = json!("other@example.org");
    assert_problem(
        app.post("/v1/clients", Some(&coach.token), &same_external)
            .await,
        409,
    )
    .await;
    let mut same_email = ana();
    same_email["external_id"] = json!("RP-2");
    same_email["email"] = json!("ANA@example.org");
    assert_problem(
        app.post("/v1/clients", Some(&coach.token), &same_email)
            .await,
        409,
    )
    .await;
    let other = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    assert_eq!(
        app.post("/v1/clients", Some(&other.token), &ana())
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn patch_merges_honours_if_match_records_clearance_and_audits_what_changed() {
    let app = spawn_app().await;
    let (admin, coach) = staff(&app).await;
    let client = app.create_client(&coach, &ana()).await;
    let path = format!("/v1/clients/{}", client["id"].as_str().unwrap());
    let res = app.get(&path, Some(&coach.token)).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let patch = |body: Value, etag: Option<String>| {
        let mut req = app
            .client
            .patch(format!("{}{path}", app.address))
            .bearer_auth(&coach.token)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        req.send()
    };
    let res = patch(
        json!({"cleared_for_exercise": true, "notes": "Cleared at the 6-week check."}),
        Some(etag.clone()),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let new_etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["cleared_for_exercise"]["cleared"], true);
    assert_eq!(
        updated["cleared_for_exercise"]["by"],
        coach.user_id.to_string()
    );
    assert_eq!(
        updated["cleared_for_exercise"]["on"],
        Utc::now().date_naive().to_string()
    );
    assert_eq!(updated["name"], "Ana Lima", "untouched fields stay");
    // The old ETag is stale now.
    assert_problem(patch(json!({"notes": "x"}), Some(etag)).await.unwrap(), 412).await;
    // null clears an optional field, and is refused for a required one.
    let res = patch(json!({"notes": null}), Some(new_etag)).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["notes"], Value::Null);
    let problem = assert_problem(
        patch(json!({"delivery_date": null}), None).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "delivery_date");
    // A coach cannot hand a client to someone else; an admin can.
    let zoe = app
        .new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    let problem = assert_problem(
        patch(json!({"coach_id": zoe.user_id}), None).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "coach_id");
    let res = app
        .patch(&path, Some(&admin.token), &json!({"coach_id": zoe.user_id}))
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(app.get(&path, Some(&coach.token)).await, 404).await;

    let mut conn = app.conn().await;
    #[derive(diesel::QueryableByName)]
    struct Change {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        changes: Value,
    }
    let changes: Vec<Change> = diesel::sql_query(
        "SELECT changes FROM audit_events WHERE action = 'client.update' ORDER BY occurred_at, id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        changes[0].changes["cleared_for_exercise"],
        json!({"from": false, "to": true})
    );
    assert!(
        changes[0].changes.get("name").is_none(),
        "only what changed"
    );
    // Personal and health values are named, never kept, in the trail.
    let all = changes
        .iter()
        .map(|c| c.changes.to_string())
        .collect::<String>();
    assert!(!all.contains("6-week check"), "{all}");
    assert_eq!(
        changes[0].changes["notes"],
        json!({"from": null, "to": null})
    );
    assert_eq!(
        changes.last().unwrap().changes["coach_id"]["to"],
        zoe.user_id.to_string()
    );
}

#[tokio::test]
async fn the_dashboard_list_filters_and_pages_without_losing_or_repeating_anyone() {
    let app = spawn_app().await;
    let (admin, coach) = staff(&app).await;
    let zoe = app
        .new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    app.create_client(
        &zoe,
        &json!({"name": "Not Maya's", "delivery_date": days_ago(30), "delivery_type": "vaginal"}),
    )
    .await;
    for i in 0..7 {
        app.create_client(
            &coach,
            &json!({"name": format!("Client {i}"), "external_id": format!("RP-{i}"),
            "delivery_date": days_ago(30 + i), "delivery_type": "vaginal"}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/clients?limit=3".to_string();
    loop {
        let page: Value = app
            .get(&path, Some(&coach.token))
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_string());
            assert!(item["days_postpartum"].as_i64().unwrap() >= 30);
            assert_eq!(item["sessions_last_14_days"], 0);
        }
        if seen.len() == 3 {
            app.create_client(&coach, &json!({"name": "Client late", "delivery_date": days_ago(40), "delivery_type": "vaginal"})).await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/clients?limit=3&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7)
        .map(|i| format!("Client {i}"))
        .chain(["Client late".to_string()])
        .collect();
    assert_eq!(seen, expected, "a coach sees only her clients, each once");

    let all: Value = app
        .get("/v1/clients?limit=200", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 9);
    let found: Value = app
        .get("/v1/clients?q=rp-4", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["name"], "Client 4");
    let literal: Value = app
        .get("/v1/clients?q=%25", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        literal["items"].as_array().unwrap().len(),
        0,
        "% is matched literally"
    );
    let zoes: Value = app
        .get(
            &format!("/v1/clients?coach_id={}", zoe.user_id),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(zoes["items"].as_array().unwrap().len(), 1);
    let none: Value = app
        .get("/v1/clients?stage=jogging", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let problem = assert_problem(
        app.get("/v1/clients?status=sleeping", Some(&admin.token))
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "status");
    let since = Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B");
    let recent: Value = app
        .get(
            &format!("/v1/clients?updated_since={since}"),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(recent["items"].as_array().unwrap().len() <= 9);
    let future = (Utc::now() + Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B");
    let none_since: Value = app
        .get(
            &format!("/v1/clients?updated_since={future}"),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        none_since["items"].as_array().unwrap().len(),
        0,
        "nothing changed after tomorrow"
    );
}

#[tokio::test]
async fn erasure_leaves_nothing_personal_in_any_table() {
    let app = spawn_app().await;
    let (admin, coach) = staff(&app).await;
    // A webhook subscription, so her events are in the outbox too.
    let res = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": "https://hooks.riverside.example/in",
                    "events": ["plan.transitioned", "symptom_report.created", "flag.opened"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let ana = app
        .new_client(
            &coach,
            "Ana Distinctive-Surname",
            "ana.distinctive@example.org",
        )
        .await;
    let client = ana.client_id.unwrap();
    let programs: Value = app
        .get("/v1/programs", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert!(app
        .post(
            &format!("/v1/clients/{client}/plan"),
            Some(&coach.token),
            &json!({"program_id": programs["items"][0]["id"]}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .post(
            "/v1/clients/me/sessions",
            Some(&ana.token),
            &json!({"performed_on": days_ago(0), "completed": true, "notes": "Distinctive note"}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .post(
            &format!("/v1/clients/{client}/readiness-tests"),
            Some(&coach.token),
            &json!({"test": "walk_30_min", "reached": 1800, "side": "both", "symptom_free": true}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .post(
            &format!("/v1/clients/{client}/check-ins"),
            Some(&coach.token),
            &json!({"sleep_hours": 5.0, "fatigue": 9, "mood_screen": {"little_interest": 2, "feeling_down": 2}}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .post(
            &format!("/v1/clients/{client}/plan/transitions"),
            Some(&coach.token),
            &json!({"action": "advance", "reason": "Distinctive reason"}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .patch(
            &format!("/v1/clients/{client}"),
            Some(&coach.token),
            &json!({"phone": "+44 7700 900123"}),
        )
        .await
        .status()
        .is_success());
    assert!(app
        .post(
            &format!("/v1/clients/{client}/assessments"),
            Some(&coach.token),
            &json!({"clinician": "Distinctive Physio", "modified_oxford": 3}),
        )
        .await
        .status()
        .is_success());
    // A red report (it opens a flag), sent with an Idempotency-Key (its answer is kept).
    let res = app
        .client
        .post(format!("{}/v1/clients/me/symptom-reports", app.address))
        .bearer_auth(&ana.token)
        .header("idempotency-key", "distinctive-report-1")
        .json(&json!({"timing": "daily_life", "chest_pain": true, "notes": "Distinctive symptom"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let mut conn = app.conn().await;
    let tables = schema_tables(&mut conn).await;
    let needles = [
        "Distinctive".to_string(),
        "ana.distinctive".to_string(),
        "900123".to_string(),
        ana.user_id.to_string(),
        client.to_string(),
    ];
    let mut holding = Vec::new();
    for table in &tables {
        if rows_holding(&mut conn, table, &needles).await > 0 {
            holding.push(table.as_str());
        }
    }
    // Every table that can hold something of hers does, so the check below means something;
    // a new table must be added to one of these two lists.
    let about_clients = [
        "assessments",
        "audit_events",
        "check_ins",
        "clients",
        "engine_runs",
        "flags",
        "idempotency_keys",
        "invitations",
        "plan_transitions",
        "plans",
        "readiness_results",
        "refresh_tokens",
        "session_logs",
        "symptom_reports",
        "sync_changes",
        "users",
        // A delivery's queue is the client its event is about; it goes with the event.
        "webhook_deliveries",
        "webhook_events",
    ];
    let never_about_clients = [
        "__diesel_schema_migrations",
        "organizations",
        "program_versions",
        "programs",
        "service_tokens",
        // The change feed's commit positions (a transaction id and a practice's id) and the
        // one row of where its pruning has reached.
        "sync_commits",
        "sync_horizon",
        // The gaps restores left in the feed's positions (two numbers and a time).
        "sync_restores",
        // Rate limits are keyed by digests (never an address or an email) and purged within a
        // minute of their last use.
        "throttles",
        "webhook_endpoints",
    ];
    assert_eq!(
        holding, about_clients,
        "tables holding her data before erasure"
    );
    let mut all: Vec<&str> = about_clients
        .iter()
        .chain(&never_about_clients)
        .copied()
        .collect();
    all.sort();
    assert_eq!(tables, all, "every table is classified");

    // Her coach reads her report: an access event that must outlive her record.
    let reports: Value = app
        .get(
            &format!("/v1/clients/{client}/symptom-reports"),
            Some(&coach.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let report_id = reports["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(
            &format!("/v1/clients/{client}/symptom-reports/{report_id}"),
            Some(&coach.token)
        )
        .await
        .status(),
        200
    );

    // Erasure is the admin's alone: not her coach's, not a token's with `clients:write`.
    assert_problem(
        app.delete(&format!("/v1/clients/{client}"), Some(&coach.token))
            .await,
        403,
    )
    .await;
    let (_, token) = app.new_service_token(&admin, &["clients:write"]).await;
    assert_problem(
        app.delete(&format!("/v1/clients/{client}"), Some(&token))
            .await,
        403,
    )
    .await;
    assert_eq!(
        app.delete(&format!("/v1/clients/{client}"), Some(&admin.token))
            .await
            .status(),
        204
    );
    assert_problem(
        app.get(&format!("/v1/clients/{client}"), Some(&coach.token))
            .await,
        404,
    )
    .await;
    assert_problem(app.get("/v1/me", Some(&ana.token)).await, 401).await;

    // Nothing personal anywhere; her ids only in the audit trail, which keeps every event.
    let personal = &needles[..3];
    for table in &tables {
        assert_eq!(
            rows_holding(&mut conn, table, personal).await,
            0,
            "{table} still holds something of hers"
        );
        if table == "sync_changes" {
            // The change feed keeps her deletion (an id) for her coaches' apps, nothing else.
            let kept: Vec<(String, String)> = {
                #[derive(diesel::QueryableByName)]
                struct Kept {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    entity: String,
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    op: String,
                }
                diesel::sql_query("SELECT entity, op FROM sync_changes WHERE client_id = $1")
                    .bind::<diesel::sql_types::Uuid, _>(client)
                    .load::<Kept>(&mut conn)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|k| (k.entity, k.op))
                    .collect()
            };
            assert_eq!(kept, [("client".to_string(), "delete".to_string())]);
        } else if table != "audit_events" {
            assert_eq!(
                rows_holding(&mut conn, table, &needles).await,
                0,
                "{table} still holds her ids"
            );
        }
    }
    let trail = app
        .audit_events(&admin.token, &format!("?entity_id={client}&limit=200"))
        .await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for kept in [
        "client.create",
        "client.update",
        "symptom_report.read",
        "client.erase",
    ] {
        assert!(actions.contains(&kept), "{kept} kept: {actions:?}");
    }
    let read = trail
        .iter()
        .find(|e| e["action"] == "symptom_report.read")
        .unwrap();
    assert_eq!(
        read["actor_id"],
        coach.user_id.to_string(),
        "who read her data"
    );
    let update = trail
        .iter()
        .find(|e| e["action"] == "client.update")
        .unwrap();
    assert_eq!(
        update["changes"]["phone"],
        json!({"from": null, "to": null}),
        "field names stay, values go"
    );
}

#[tokio::test]
async fn only_the_erasure_routine_may_change_the_audit_trail() {
    let app = spawn_app().await;
    let (admin, _) = staff(&app).await;
    let mut conn = app.conn().await;
    let before = audit_count(&mut conn).await;
    assert!(before > 0, "the coach's creation is audited");
    for statement in [
        "DELETE FROM audit_events",
        "UPDATE audit_events SET changes = '{}'",
        "TRUNCATE audit_events",
        // Saying it is an erasure opens only `changes`, never who, what or when.
        "BEGIN; SET LOCAL runback.erasure = 'on'; UPDATE audit_events SET actor_id = NULL; COMMIT",
        "BEGIN; SET LOCAL runback.erasure = 'on'; DELETE FROM audit_events; COMMIT",
    ] {
        let err = diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, statement)
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
        let _ = diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, "ROLLBACK").await;
    }
    assert_eq!(audit_count(&mut conn).await, before);
    let _ = admin;
}

async fn audit_count(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM audit_events")
        .get_result::<N>(conn)
        .await
        .unwrap()
        .n
}

/// The public schema's tables, sorted.
async fn schema_tables(conn: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .load(conn)
    .await
    .unwrap();
    tables.into_iter().map(|t| t.table_name).collect()
}

/// Rows of `table` whose text (bytea columns decoded as text too) contains any needle.
async fn rows_holding(
    conn: &mut diesel_async::AsyncPgConnection,
    table: &str,
    needles: &[String],
) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM \"{table}\" t
          WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS needle
                         WHERE (t::text || ' ' || coalesce((
                                 SELECT string_agg(encode(v.b, 'escape'), ' ')
                                   FROM (SELECT (to_jsonb(t) ->> c.column_name) AS x, c.column_name
                                           FROM information_schema.columns c
                                          WHERE c.table_name = '{table}' AND c.data_type = 'bytea') AS cols,
                                        LATERAL (SELECT decode(substr(cols.x, 3), 'hex') AS b) AS v), ''))
                               ILIKE '%' || needle || '%')"
    ))
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(needles)
    .get_result(conn)
    .await
    .unwrap();
    found.n
}
