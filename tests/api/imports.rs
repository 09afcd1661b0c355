//! Bulk import as a practice's script runs it.

use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

async fn post(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/v1/imports/clients{query}", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.unwrap()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn().await;
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result(&mut conn)
        .await
        .unwrap();
    n.n
}

async fn setup(app: &TestApp) -> (Caller, Caller) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    (admin, coach)
}

const CSV: &str = "\u{feff}external_id,name,email,delivery_date,delivery_type,coach_email,program,notes\r\n\
RP-1,Ana Lima,ana@example.org,2026-08-20,caesarean,maya@riverside.example,return_to_running_postpartum,\"Prefers mornings, after 9\"\r\n\
RP-2,Zoë Þórsdóttir,zoe@example.org,2026-07-01,vaginal,,,\r\n\
RP-3,Bea Souza,,2026-06-15,assisted_vaginal,maya@riverside.example,,\r\n";

#[tokio::test]
async fn a_csv_with_bom_quotes_crlf_and_utf8_imports_and_reimports_unchanged() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let res = post(&app, &admin.token, "", "text/csv", CSV, None).await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["created"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(report["plans_started"], 1);
    let list: Value = app
        .get("/v1/clients?q=RP-2", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["name"], "Zoë Þórsdóttir");
    let ana: Value = app
        .get("/v1/clients?q=RP-1", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ana["items"][0]["plan"]["stage"], "crawling");
    let id = ana["items"][0]["id"].as_str().unwrap();
    let full: Value = app
        .get(&format!("/v1/clients/{id}"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(full["notes"], "Prefers mornings, after 9");
    assert_eq!(
        count(&app, "audit_events WHERE action = 'client.import.create'").await,
        3
    );
    // Each created client's event holds who created her and the fields given (nulls left
    // out), with the values of how she is managed only: never her name, birth or health.
    #[derive(diesel::QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        changes: Value,
    }
    let event: Event = diesel::sql_query(format!(
        "SELECT e.changes FROM audit_events e JOIN clients c ON c.id = e.entity_id
          WHERE e.action = 'client.import.create' AND c.external_id = 'RP-3'
            AND e.actor_type = 'user' AND e.actor_id = '{}'",
        admin.user_id
    ))
    .get_result(&mut app.conn().await)
    .await
    .unwrap();
    for field in ["name", "delivery_date", "delivery_type", "breastfeeding"] {
        assert!(
            event.changes.get(field).is_some_and(Value::is_null),
            "{field}: {}",
            event.changes
        );
    }
    assert_eq!(event.changes["status"], "active", "{}", event.changes);
    assert!(event.changes.get("email").is_none(), "{}", event.changes);
    assert!(event.changes.get("revision").is_none(), "{}", event.changes);

    let again: Value = post(&app, &admin.token, "", "text/csv", CSV, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            again["created"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3))
    );
    assert_eq!(
        again["plans_started"], 0,
        "a live plan is not started twice"
    );

    let changed = CSV.replace("Bea Souza", "Beatriz Souza");
    let res: Value = post(&app, &admin.token, "", "text/csv", changed, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (res["updated"].as_u64(), res["unchanged"].as_u64()),
        (Some(1), Some(2))
    );
    #[derive(diesel::QueryableByName)]
    struct Changes {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        changes: Value,
    }
    let mut conn = app.conn().await;
    let audit: Changes =
        diesel::sql_query("SELECT changes FROM audit_events WHERE action = 'client.import.update'")
            .get_result(&mut conn)
            .await
            .unwrap();
    // What changed, by name: her name itself stays on her record, not in the trail.
    assert_eq!(audit.changes, json!({"name": {"from": null, "to": null}}));
}

#[tokio::test]
async fn json_and_ndjson_bodies_import_too() {
    let app = spawn_app().await;
    let (admin, coach) = setup(&app).await;
    let rows = json!([
        {"external_id": "J-1", "name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal", "cleared_for_exercise": true},
        {"external_id": "J-2", "name": "Bea Souza", "delivery_date": "2026-08-21", "delivery_type": "caesarean", "coach_email": "MAYA@riverside.example"},
    ]);
    let report: Value = post(
        &app,
        &admin.token,
        "",
        "application/json",
        rows.to_string(),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(report["created"], 2);
    let ndjson = "{\"external_id\":\"N-1\",\"name\":\"Cara Dias\",\"delivery_date\":\"2026-09-01\",\"delivery_type\":\"vaginal\"}\n\n{\"external_id\":\"J-1\",\"name\":\"Ana Lima\",\"delivery_date\":\"2026-08-20\",\"delivery_type\":\"vaginal\",\"cleared_for_exercise\":true}\n";
    let report: Value = post(&app, &admin.token, "", "application/x-ndjson", ndjson, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["unchanged"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    let bea: Value = app
        .get("/v1/clients?q=J-2", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        bea["items"].as_array().unwrap().len(),
        1,
        "assigned to Maya by coach_email"
    );
}

#[tokio::test]
async fn a_bad_row_fails_the_batch_and_writes_nothing_unless_skipped() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let csv = "external_id,name,delivery_date,delivery_type,perineal_tear_grade\n\
        G-1,Good One,2026-08-20,vaginal,1\n\
        B-1,Bad Date,2031-01-01,vaginal,\n\
        G-2,Good Two,2026-08-22,vaginal,\n\
        B-2,Bad Grade,2026-08-20,vaginal,7\n\
        G-1,Twice,2026-08-20,vaginal,\n";
    let before = count(&app, "clients").await;
    let problem = assert_problem(
        post(&app, &admin.token, "", "text/csv", csv, None).await,
        422,
    )
    .await;
    let errors: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (3, "delivery_date".to_string()),
            (5, "perineal_tear_grade".to_string()),
            (6, "external_id".to_string())
        ]
    );
    assert_eq!(count(&app, "clients").await, before, "all or nothing");

    let dry: Value = post(
        &app,
        &admin.token,
        "?dry_run=true&on_error=skip",
        "text/csv",
        csv,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            dry["created"].as_u64(),
            dry["failed"].as_u64(),
            dry["dry_run"].as_bool()
        ),
        (Some(2), Some(3), Some(true))
    );
    assert_eq!(
        count(&app, "clients").await,
        before,
        "a dry run writes nothing"
    );
    assert_eq!(
        count(&app, "audit_events WHERE action LIKE 'client.import%'").await,
        0
    );

    let skipped: Value = post(&app, &admin.token, "?on_error=skip", "text/csv", csv, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (skipped["created"].as_u64(), skipped["failed"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(skipped["errors"].as_array().unwrap().len(), 3);
    assert_eq!(
        count(&app, "clients").await,
        before + 2,
        "exactly the good rows"
    );
}

#[tokio::test]
async fn columns_media_types_sizes_and_roles_are_checked() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "text/csv",
            "external_id,name,delivery_type\nX,Y,vaginal\n",
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "delivery_date");
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "text/csv",
            "external_id,name,delivery_date,delivery_type,shoe_size\n",
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "shoe_size");
    assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "application/xml",
            "<clients/>",
            None,
        )
        .await,
        415,
    )
    .await;
    assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "application/json",
            "{\"not\": \"an array\"}",
            None,
        )
        .await,
        422,
    )
    .await;

    let mut big = String::from("external_id,name,delivery_date,delivery_type\n");
    for i in 0..100_001 {
        big.push_str(&format!("R-{i},N,2026-08-20,vaginal\n"));
    }
    let problem = assert_problem(
        post(&app, &admin.token, "", "text/csv", big, None).await,
        413,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("100000"));
    let huge = vec![b'x'; 33 * 1024 * 1024];
    let problem = assert_problem(
        post(&app, &admin.token, "", "text/csv", huge, None).await,
        413,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("32 MiB"));

    let ana = app
        .new_client(
            &app.new_coach(&admin, "Zoe Park", "zoe@riverside.example")
                .await,
            "Ana Lima",
            "ana.app@example.org",
        )
        .await;
    assert_problem(post(&app, &ana.token, "", "text/csv", CSV, None).await, 403).await;
    let (_, read_only) = app.new_service_token(&admin, &["clients:read"]).await;
    assert_problem(post(&app, &read_only, "", "text/csv", CSV, None).await, 403).await;
    let (_, importer) = app.new_service_token(&admin, &["clients:import"]).await;
    assert_eq!(
        post(&app, &importer, "", "text/csv", CSV, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let first: Value = post(
        &app,
        &admin.token,
        "",
        "text/csv",
        CSV,
        Some("nightly-2026-11-25"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["created"], 3);
    let replay = post(
        &app,
        &admin.token,
        "",
        "text/csv",
        CSV,
        Some("nightly-2026-11-25"),
    )
    .await;
    assert_eq!(replay.status(), 200);
    // Replayed as every kept answer is, by the same rules as the other writes.
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["content-type"], "application/json");
    assert_eq!(
        replay.json::<Value>().await.unwrap(),
        first,
        "the first answer, not 'unchanged'"
    );
    // A dry run with the same key is another request.
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "?dry_run=true",
            "text/csv",
            CSV,
            Some("nightly-2026-11-25"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    // A key of blanks is no key; the message is the one every write gives.
    let problem = assert_problem(
        post(&app, &admin.token, "", "text/csv", CSV, Some("   ")).await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(
        problem["errors"][0]["message"],
        "must be 1 to 255 visible ASCII characters"
    );
    assert_eq!(count(&app, "clients").await, 3);
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "text/csv",
            CSV.replace("Ana", "Anna"),
            Some("nightly-2026-11-25"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    // Another organization may use the same key.
    let other = app
        .new_admin("Hillside Clinic", "admin@hillside.example")
        .await;
    let csv =
        "external_id,name,delivery_date,delivery_type\nRP-1,Someone Else,2026-08-01,vaginal\n";
    let theirs: Value = post(
        &app,
        &other.token,
        "",
        "text/csv",
        csv,
        Some("nightly-2026-11-25"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(theirs["created"], 1, "external ids are per organization");
    let ours: Value = app
        .get("/v1/clients?q=RP-1", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        ours["items"][0]["name"], "Ana Lima",
        "another organization's row never touches ours"
    );
}

#[tokio::test]
async fn a_coach_imports_only_for_herself() {
    let app = spawn_app().await;
    let (admin, coach) = setup(&app).await;
    app.new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    let csv = "external_id,name,delivery_date,delivery_type,coach_email\nC-1,Ana Lima,2026-08-20,vaginal,zoe@riverside.example\n";
    let problem = assert_problem(
        post(&app, &coach.token, "", "text/csv", csv, None).await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "coach_email");
    let csv = "external_id,name,delivery_date,delivery_type\nC-1,Ana Lima,2026-08-20,vaginal\n";
    let report: Value = post(&app, &coach.token, "", "text/csv", csv, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["created"], 1);
    let mine: Value = app
        .get("/v1/clients", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_python_script_and_example_csv_work() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let (_, token) = app.new_service_token(&admin, &["clients:import"]).await;
    let root = env!("CARGO_MANIFEST_DIR");
    // The script runs on the client generated from the document, as the README has it.
    let generated = tokio::task::block_in_place(|| {
        std::process::Command::new("bash")
            .arg(format!("{root}/examples/python/generate"))
            .output()
            .unwrap()
    });
    assert!(generated.status.success(), "{generated:?}");
    let run = |dry: bool| {
        let mut cmd =
            std::process::Command::new(format!("{root}/examples/python/.venv/bin/python"));
        cmd.arg(format!("{root}/examples/python/import_clients.py"))
            .arg(format!("{root}/examples/clients.csv"))
            .env("RUNBACK_URL", &app.address)
            .env("RUNBACK_TOKEN", &token);
        if dry {
            cmd.env("DRY_RUN", "1");
        }
        cmd.output().unwrap()
    };
    let out = tokio::task::block_in_place(|| run(true));
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("would import 2 rows: 2 created"),
        "{out:?}"
    );
    let out = tokio::task::block_in_place(|| run(false));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "imported 2 rows: 2 created, 0 updated, 0 unchanged, 0 failed, 1 plans started"
        ),
        "{out:?}"
    );
    // Run again: the same body, the same Idempotency-Key, the first answer.
    let out = tokio::task::block_in_place(|| run(false));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 created"),
        "{out:?}"
    );
}

/// 12,000 rows: three chunks, each validated while the one before is written.
fn many_rows(bad_row: Option<usize>, email_again_at: Option<usize>) -> String {
    let mut csv =
        String::from("external_id,name,email,delivery_date,delivery_type,coach_email,program\n");
    for i in 0..12_000 {
        let date = if Some(i) == bad_row {
            "not-a-date"
        } else {
            "2026-08-20"
        };
        let email = if Some(i) == email_again_at { 0 } else { i };
        let program = if i % 2 == 0 {
            "return_to_running_postpartum"
        } else {
            ""
        };
        csv.push_str(&format!(
            "M-{i},Client {i},c{email}@example.org,{date},vaginal,maya@riverside.example,{program}\n"
        ));
    }
    csv
}

#[tokio::test]
async fn a_many_chunk_import_is_still_all_or_nothing_and_checks_across_chunks() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    let (clients, plans, audit) = (
        count(&app, "clients").await,
        count(&app, "plans").await,
        count(&app, "audit_events").await,
    );

    // A bad row in the last chunk: chunks written before it roll back; header = row 1.
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "text/csv",
            many_rows(Some(11_500), None),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    assert_eq!(problem["errors"][0]["row"], 11_502);
    assert_eq!(problem["errors"][0]["field"], "delivery_date");
    assert_eq!(count(&app, "clients").await, clients);
    assert_eq!(count(&app, "plans").await, plans);
    assert_eq!(count(&app, "audit_events").await, audit);

    // An email seen in the first chunk, again in the third: the later row is the bad one.
    let problem = assert_problem(
        post(
            &app,
            &admin.token,
            "",
            "text/csv",
            many_rows(None, Some(10_000)),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["row"], 10_002);
    assert_eq!(problem["errors"][0]["field"], "email");
    assert_eq!(count(&app, "clients").await, clients);

    // Skipping: every good row of every chunk, with its plan and audit event.
    let res = post(
        &app,
        &admin.token,
        "?on_error=skip",
        "text/csv",
        many_rows(Some(7), None),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["created"], 11_999, "{report}");
    assert_eq!(report["failed"], 1);
    assert_eq!(report["plans_started"], 6_000);
    assert_eq!(count(&app, "clients").await, clients + 11_999);
    assert_eq!(count(&app, "plans").await, plans + 6_000);
    assert_eq!(count(&app, "audit_events").await, audit + 11_999 + 6_000);

    // The same file again: nothing changes; the fixed row is created, with its plan.
    let res = post(
        &app,
        &admin.token,
        "",
        "text/csv",
        many_rows(None, None),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (
            &report["created"],
            &report["unchanged"],
            &report["plans_started"]
        ),
        (&json!(1), &json!(11_999), &json!(0)),
        "{report}"
    );
    assert_eq!(count(&app, "plans").await, plans + 6_000);
}

/// `rows` valid rows whose external ids start with `prefix`.
fn rows_for(prefix: &str, rows: usize) -> String {
    let mut csv = String::from("external_id,name,delivery_date,delivery_type\n");
    for i in 0..rows {
        csv.push_str(&format!("{prefix}-{i},Client {i},2026-08-20,vaginal\n"));
    }
    csv
}

#[tokio::test]
async fn four_concurrent_imports_leave_ordinary_reads_answering() {
    let app = spawn_app().await;
    let (admin, coach) = setup(&app).await;
    let mut tokens = vec![admin.token.clone()];
    for _ in 0..3 {
        tokens.push(app.new_service_token(&admin, &["clients:import"]).await.1);
    }
    // Reads go on while the imports run (and at least 25 are made): every one is answered.
    // Counted by outcome, not by how many fit in a time window.
    let done = std::sync::atomic::AtomicBool::new(false);
    let finished = |d: &std::sync::atomic::AtomicBool| {
        std::sync::atomic::AtomicBool::load(d, std::sync::atomic::Ordering::SeqCst)
    };
    let imports = async {
        let statuses =
            futures_util::future::join_all(tokens.iter().enumerate().map(|(n, token)| {
                let body = rows_for(&format!("C{n}"), 20_000);
                let app = &app;
                async move {
                    post(app, token, "", "text/csv", body, None)
                        .await
                        .status()
                        .as_u16()
                }
            }))
            .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        statuses
    };
    let reads = async {
        let (mut statuses, mut during) = (Vec::new(), 0);
        while statuses.len() < 25 || !finished(&done) {
            let running = !finished(&done);
            statuses.push(
                app.get("/v1/clients?limit=5", Some(&coach.token))
                    .await
                    .status()
                    .as_u16(),
            );
            during += usize::from(running);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        (statuses, during)
    };
    let (imported, (read, during)) = tokio::join!(imports, reads);
    assert!(during >= 1, "a read was made while the imports ran");
    assert!(
        read.iter().all(|s| (200..300).contains(s)),
        "every read answered: {read:?}"
    );
    // Each import either ran or was told to come back; at least one ran.
    assert!(
        imported.iter().all(|s| *s == 200 || *s == 429),
        "{imported:?}"
    );
    assert!(imported.contains(&200), "{imported:?}");
}

#[tokio::test]
async fn a_body_of_countless_tiny_rows_is_refused_while_it_is_parsed() {
    let app = spawn_app().await;
    let (admin, _) = setup(&app).await;
    // Three million rows in 6 MB: refused at row 100,001, never held as three million values.
    let mut body = String::with_capacity(6_000_002);
    body.push('[');
    body.push_str(&"0,".repeat(2_999_999));
    body.push_str("0]");
    let problem = assert_problem(
        post(&app, &admin.token, "", "application/json", body, None).await,
        413,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("100000 rows"),
        "{problem}"
    );
}
