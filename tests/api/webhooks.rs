//! Webhooks end to end, with a real receiver on a loopback port: Standard Webhooks signatures,
//! each client's events in order, retries after 500s, no loss across a service restart, and
//! endpoints disabled after failing for the whole retry window.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use diesel_async::RunQueryDsl;

use crate::contract::breaks_schema;
use crate::helpers::{assert_problem, fresh_database, spawn_app, start_app, Caller, TestApp};

#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    /// What the receiver answered.
    status: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver that answers 500 to its first `fail_first` requests (or to all while
/// `failing` is set), then 204.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    fn start(fail_first: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let fails = Arc::new(AtomicUsize::new(fail_first));
        let (g, f) = (got.clone(), fails.clone());
        let server = HttpServer::new(move || {
            let (g, f) = (g.clone(), f.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (g, f) = (g.clone(), f.clone());
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default()
                    };
                    let fail = f
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if fail { 500 } else { 204 };
                    g.lock().unwrap().push(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: body.to_vec(),
                        status,
                    });
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .finish()
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            got,
            fail_first: fails,
            handle,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` messages were answered 2xx; returns everything received.
    async fn wait_for_delivered(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received();
            if got.iter().filter(|r| r.status < 300).count() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {:#?}", self.received());
    }
}

/// Verifies a message as the Standard Webhooks specification says a receiver must.
fn verify(secret: &str, message: &Received) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", message.id, message.timestamp).as_bytes());
    mac.update(&message.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(message.signature, expected, "signature of {}", message.id);
    let sent: i64 = message.timestamp.parse().unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - sent).abs() < 300,
        "fresh timestamp"
    );
    assert!(message.id.starts_with("msg_"));
}

async fn register(app: &TestApp, admin: &Caller, url: &str, events: Value) -> (String, String) {
    let res = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": url, "events": events, "description": "Coaching dashboard"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_string(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

const ALL: [&str; 6] = [
    "flag.opened",
    "flag.resolved",
    "plan.transitioned",
    "symptom_report.created",
    "client.imported",
    "check_in.created",
];

/// What a practice's day sends: a coach moves Ana's plan, Ana reports a leak (a report and an
/// amber flag), the coach resolves the flag, and the admin imports a client from CSV.
pub async fn a_day_of_events(app: &TestApp, admin: &Caller, coach: &Caller, ana: &Caller) {
    let client = ana.client_id.unwrap();
    let ok = |res: reqwest::Response| assert!(res.status().is_success(), "{}", res.status());
    ok(app
        .post(
            &format!("/v1/clients/{client}/plan/transitions"),
            Some(&coach.token),
            &json!({"action": "advance", "reason": "Crawling is easy.", "override_gate": true}),
        )
        .await);
    // An amber report: the report, then its flag.
    ok(app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "immediately_after", "urine_leak": "drops"}),
        )
        .await);
    let inbox: Value = app
        .get("/v1/flags", Some(&coach.token))
        .await
        .json()
        .await
        .unwrap();
    let flag = inbox["items"][0]["id"].as_str().unwrap().to_string();
    ok(app
        .post(
            &format!("/v1/flags/{flag}/resolve"),
            Some(&coach.token),
            &json!({"note": "Pelvic floor exercises reviewed."}),
        )
        .await);
    ok(app
        .client
        .post(format!("{}/v1/imports/clients", app.address))
        .bearer_auth(&admin.token)
        .header("content-type", "text/csv")
        .body("external_id,name,delivery_date,delivery_type\nRP-9,Bea Santos,2026-08-20,vaginal\n")
        .send()
        .await
        .unwrap());
}

#[tokio::test]
async fn events_are_signed_kept_in_order_per_client_and_retried_after_500s() {
    let app = spawn_app().await;
    let receiver = Receiver::start(2);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, secret) = register(&app, &admin, &receiver.url, json!(ALL)).await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client = ana.client_id.unwrap();
    app.start_default_plan(&coach, &client.to_string()).await;
    a_day_of_events(&app, &admin, &coach, &ana).await;

    let got = receiver.wait_for_delivered(5).await;
    let delivered: Vec<&Received> = got.iter().filter(|r| r.status < 300).collect();
    for message in &got {
        verify(&secret, message);
    }
    // Two attempts failed; each of those messages was sent again, same id and body.
    let failed: Vec<&Received> = got.iter().filter(|r| r.status == 500).collect();
    assert_eq!(failed.len(), 2);
    for f in &failed {
        assert!(
            delivered.iter().any(|d| d.id == f.id && d.body == f.body),
            "{} was retried",
            f.id
        );
    }
    let ids: std::collections::HashSet<&str> = delivered.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), delivered.len(), "each event delivered once");
    // Her events arrive in the order they happened, even with the first one retried.
    let hers: Vec<String> = delivered
        .iter()
        .map(|r| r.json())
        .filter(|m| m["data"]["client_id"] == client.to_string())
        .map(|m| m["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        hers,
        [
            "plan.transitioned",
            "symptom_report.created",
            "flag.opened",
            "flag.resolved"
        ]
    );
    let imported = delivered
        .iter()
        .map(|r| r.json())
        .find(|m| m["type"] == "client.imported")
        .expect("the import's event");
    assert_eq!(imported["data"]["created"], 1);
    let report = delivered
        .iter()
        .map(|r| r.json())
        .find(|m| m["type"] == "symptom_report.created")
        .unwrap();
    assert_eq!(report["data"]["triage_level"], "amber");
    assert!(
        report["data"].get("notes").is_none(),
        "events carry no free text"
    );

    // The delivery log tells the story.
    let log: Value = app
        .get(
            &format!("/v1/webhooks/{endpoint}/deliveries"),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|d| d["status"] == "delivered"));
    let attempts: i64 = items.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 7, "five deliveries and two retries");
    assert_eq!(items.last().unwrap()["event_type"], "plan.transitioned");
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn no_event_is_lost_across_a_service_restart() {
    let (db_url, db_name, maintenance) = fresh_database().await;
    let receiver = Receiver::start(usize::MAX);
    let first = start_app(db_url.clone(), String::new(), maintenance.clone(), |_| {}).await;
    let admin = first
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, secret) = register(&first, &admin, &receiver.url, json!(ALL)).await;
    let coach = first
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = first
        .create_client(
            &coach,
            &json!({"name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal", "cleared_for_exercise": true}),
        )
        .await;
    let id = client["id"].as_str().unwrap();
    for i in 0..3 {
        let res = first
            .post(
                &format!("/v1/clients/{id}/symptom-reports"),
                Some(&coach.token),
                &json!({"timing": "daily_life", "notes": format!("report {i}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    // The receiver is down; the service tries, fails, and is stopped.
    for _ in 0..100 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!receiver.received().is_empty(), "a first attempt was made");
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    receiver.fail_first.store(0, Ordering::SeqCst);

    // A new process on the same database delivers everything.
    let second = start_app(db_url, db_name, maintenance, |_| {}).await;
    let got = receiver.wait_for_delivered(3).await;
    let delivered: Vec<&Received> = got.iter().filter(|r| r.status < 300).collect();
    assert_eq!(delivered.len(), 3, "{delivered:#?}");
    for message in &got {
        verify(&secret, message);
    }
    let mut failed_ids: Vec<&str> = got
        .iter()
        .filter(|r| r.status >= 300)
        .map(|r| r.id.as_str())
        .collect();
    failed_ids.dedup();
    assert!(
        delivered
            .iter()
            .any(|r| failed_ids.contains(&r.id.as_str())),
        "a retried message kept its id"
    );
    let log: Value = second
        .get(
            &format!("/v1/webhooks/{endpoint}/deliveries"),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "delivered"));
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_window_is_disabled_and_can_be_resumed() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.webhook_retry_window = Duration::from_millis(700);
    })
    .await;
    let receiver = Receiver::start(usize::MAX);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, _) = register(&app, &admin, &receiver.url, json!(["flag.opened"])).await;
    let res = app
        .post(
            &format!("/v1/webhooks/{endpoint}/test"),
            Some(&admin.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let mut view = Value::Null;
    for _ in 0..100 {
        view = app
            .get(&format!("/v1/webhooks/{endpoint}"), Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        if view["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(view["enabled"], false, "{view}");
    assert!(view["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("retry window"));
    assert!(
        view.get("secret").is_none(),
        "the secret is never shown again"
    );
    let log: Value = app
        .get(
            &format!("/v1/webhooks/{endpoint}/deliveries"),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let delivery = &log["items"][0];
    assert_eq!(delivery["status"], "failed");
    assert_eq!(delivery["event_type"], "webhook.test");
    assert_eq!(delivery["last_status"], 500);
    assert!(delivery["attempts"].as_i64().unwrap() >= 2);

    // Fixed: resume it, and the test message gets through.
    receiver.fail_first.store(0, Ordering::SeqCst);
    let res = app
        .patch(
            &format!("/v1/webhooks/{endpoint}"),
            Some(&admin.token),
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let resumed: Value = res.json().await.unwrap();
    assert_eq!(resumed["enabled"], true);
    assert_eq!(resumed["disabled_reason"], Value::Null);
    app.post(
        &format!("/v1/webhooks/{endpoint}/test"),
        Some(&admin.token),
        &json!({}),
    )
    .await;
    let got = receiver.wait_for_delivered(1).await;
    let test = got.iter().find(|r| r.status < 300).unwrap().json();
    assert_eq!(test["type"], "webhook.test");
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_only_their_own() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let (endpoint, _) = register(
        &app,
        &admin,
        "https://hooks.riverside.example/in",
        json!(ALL),
    )
    .await;
    assert_problem(app.get("/v1/webhooks", Some(&coach.token)).await, 403).await;
    let other = app
        .new_admin("Hillside Physio", "admin@hillside.example")
        .await;
    assert_problem(
        app.get(&format!("/v1/webhooks/{endpoint}"), Some(&other.token))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.delete(&format!("/v1/webhooks/{endpoint}"), Some(&other.token))
            .await,
        404,
    )
    .await;
    let (_, token) = app.new_service_token(&admin, &["clients:read"]).await;
    assert_problem(app.get("/v1/webhooks", Some(&token)).await, 403).await;
    for (body, field) in [
        (
            json!({"url": "ftp://x.example/", "events": ["flag.opened"]}),
            "url",
        ),
        (
            json!({"url": "https://u:p@x.example/", "events": ["flag.opened"]}),
            "url",
        ),
        (json!({"url": "https://x.example/", "events": []}), "events"),
        (
            json!({"url": "https://x.example/", "events": ["flag.exploded"]}),
            "events[0]",
        ),
    ] {
        let problem = assert_problem(
            app.post("/v1/webhooks", Some(&admin.token), &body).await,
            422,
        )
        .await;
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with(field.trim_end_matches("[0]")),
            "{problem}"
        );
    }
    let list: Value = app
        .get("/v1/webhooks", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());
    assert_eq!(
        app.delete(&format!("/v1/webhooks/{endpoint}"), Some(&admin.token))
            .await
            .status(),
        204
    );
}

/// A receiver that accepts connections and never answers (the sockets stay open).
async fn hanging_receiver() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://127.0.0.1:{port}/slow"), task)
}

async fn send_test(app: &TestApp, admin: &Caller, endpoint: &str) -> reqwest::Response {
    app.request(
        reqwest::Method::POST,
        &format!("/v1/webhooks/{endpoint}/test"),
        Some(&admin.token),
        None,
    )
    .await
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hold_up_another_practice() {
    let app = crate::helpers::spawn_app_with(|s| s.expensive_requests_per_minute = 1000).await;
    let (slow_url, _slow) = hanging_receiver().await;
    let fast = Receiver::start(0);
    let slow_admin = app.new_admin("Slow Practice", "admin@slow.example").await;
    let fast_admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (slow_endpoint, _) = register(&app, &slow_admin, &slow_url, json!(ALL)).await;
    let (fast_endpoint, _) = register(&app, &fast_admin, &fast.url, json!(ALL)).await;
    // A backlog at the endpoint that never answers (each send waits 10 s for its timeout)…
    for _ in 0..25 {
        assert_eq!(
            send_test(&app, &slow_admin, &slow_endpoint).await.status(),
            202
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …and then one message for the practice whose endpoint answers at once.
    let sent = std::time::Instant::now();
    assert_eq!(
        send_test(&app, &fast_admin, &fast_endpoint).await.status(),
        202
    );
    let mut arrived = None;
    for _ in 0..60 {
        if !fast.received().is_empty() {
            arrived = Some(sent.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let arrived = arrived.expect("the fast endpoint's message never arrived within 1.5 s");
    assert!(
        arrived < Duration::from_secs(1),
        "the fast endpoint waited {arrived:?} behind the slow one"
    );
}

#[tokio::test]
async fn webhook_urls_inside_the_network_are_refused() {
    let app = crate::helpers::spawn_app_with(|s| s.webhook_allow_private = false).await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    for url in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://2130706433/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://redis:6379/",
        "https://hooks.example.org:22/",
    ] {
        let problem = assert_problem(
            app.post(
                "/v1/webhooks",
                Some(&admin.token),
                &json!({"url": url, "events": ["flag.opened"]}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
}

#[tokio::test]
async fn a_name_that_resolves_inside_the_network_is_refused_when_connecting() {
    let app = crate::helpers::spawn_app_with(|s| s.webhook_allow_private = false).await;
    let receiver = Receiver::start(0);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, _) = register(
        &app,
        &admin,
        "https://hooks.riverside.example/in",
        json!(["flag.opened"]),
    )
    .await;
    // Its DNS now answers with a loopback address (rebinding): `localhost` does that here.
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let mut conn = app.conn().await;
    diesel::sql_query("UPDATE webhook_endpoints SET url = $1")
        .bind::<diesel::sql_types::Text, _>(format!("http://localhost:{port}/hooks"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(send_test(&app, &admin, &endpoint).await.status(), 202);
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app
            .get(
                &format!("/v1/webhooks/{endpoint}/deliveries"),
                Some(&admin.token),
            )
            .await
            .json()
            .await
            .unwrap();
        if log["items"][0]["attempts"].as_i64().unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        log["items"][0]["last_error"], "refused: the address is not public",
        "{log}"
    );
    assert!(log["items"][0]["last_status"].is_null());
    assert!(receiver.received().is_empty(), "nothing reached inside");
}

#[tokio::test]
async fn endpoints_are_limited_tests_throttled_and_lists_paged() {
    let app = crate::helpers::spawn_app_with(|s| s.expensive_requests_per_minute = 2).await;
    let receiver = Receiver::start(0);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            register(&app, &admin, &receiver.url, json!(["flag.opened"]))
                .await
                .0,
        );
    }
    assert_problem(
        app.post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": receiver.url, "events": ["flag.opened"]}),
        )
        .await,
        409,
    )
    .await;
    // Pages of 4: 4, 4, 2, each but the last with a cursor, nobody twice.
    let mut seen = Vec::new();
    let mut path = "/v1/webhooks?limit=4".to_string();
    loop {
        let page: Value = app
            .get(&path, Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 4, "{page}");
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/webhooks?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(send_test(&app, &admin, &ids[0]).await.status(), 202);
    assert_eq!(send_test(&app, &admin, &ids[0]).await.status(), 202);
    assert_problem(send_test(&app, &admin, &ids[0]).await, 429).await;
}

/// An endpoint's stored signing secret: `(secret, secret_sealed)`.
async fn stored_secret(app: &TestApp, endpoint: &str) -> (Option<String>, Option<Vec<u8>>) {
    use diesel::{QueryDsl, Queryable};
    use runback::db::schema::webhook_endpoints as w;
    #[derive(Queryable)]
    struct Row(Option<String>, Option<Vec<u8>>);
    let id: uuid::Uuid = endpoint.parse().unwrap();
    let Row(plain, sealed) = w::table
        .find(id)
        .select((w::secret, w::secret_sealed))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    (plain, sealed)
}

/// Sends a test event to `endpoint` and checks it arrives signed with `secret`.
async fn a_test_event_is_signed_with(
    app: &TestApp,
    admin: &Caller,
    endpoint: &str,
    receiver: &Receiver,
    secret: &str,
) {
    let before = receiver.received().len();
    assert_eq!(send_test(app, admin, endpoint).await.status(), 202);
    let got = receiver.wait_for_delivered(before + 1).await;
    verify(secret, got.last().unwrap());
}

/// Security review finding 11: signing secrets were stored in plain text. They are sealed
/// (AES-256-GCM under `WEBHOOK_SECRET_KEY`, bound to the endpoint), shown once at creation as
/// before, and still sign every delivery; one stored before sealing is sealed at start, and a
/// key rotation reseals under the new key.
#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_resealed_when_the_key_rotates() {
    use runback::auth::sealing::Sealer;
    let (db_url, db_name, maintenance) = fresh_database().await;
    let receiver = Receiver::start(0);
    let first = start_app(db_url.clone(), String::new(), maintenance.clone(), |_| {}).await;
    let admin = first
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, secret) = register(&first, &admin, &receiver.url, json!(ALL)).await;
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let (plain, sealed) = stored_secret(&first, &endpoint).await;
    assert_eq!(plain, None, "no secret in the clear");
    let sealed = sealed.expect("sealed");
    for needle in [secret.as_bytes(), &key_bytes[..]] {
        assert!(
            !sealed.windows(8).any(|w| needle.windows(8).any(|n| n == w)),
            "nothing of the secret shows in what is stored"
        );
    }
    a_test_event_is_signed_with(&first, &admin, &endpoint, &receiver, &secret).await;

    // An endpoint stored before sealing: delivered as it is, sealed at the next start.
    diesel::sql_query(
        "UPDATE webhook_endpoints SET secret = $1, secret_sealed = NULL WHERE id = $2::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(&secret)
    .bind::<diesel::sql_types::Text, _>(&endpoint)
    .execute(&mut first.conn().await)
    .await
    .unwrap();
    a_test_event_is_signed_with(&first, &admin, &endpoint, &receiver, &secret).await;
    let current = crate::helpers::webhook_secret_key();
    let settings = runback::config::Settings::for_database(db_url.clone(), String::new());
    let pool = runback::db::build_pool(&db_url, &settings).unwrap();
    let sealer = Sealer::new(current, None).unwrap();
    assert_eq!(
        runback::webhooks::seal_stored(&pool, &sealer)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        runback::webhooks::seal_stored(&pool, &sealer)
            .await
            .unwrap(),
        0
    );
    let (plain, sealed) = stored_secret(&first, &endpoint).await;
    assert_eq!(plain, None);
    let id: uuid::Uuid = endpoint.parse().unwrap();
    assert_eq!(sealer.open(id, &sealed.unwrap()).unwrap(), secret);
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A rotation: the start reseals under the new key; the previous one can then go.
    let next = Sealer::generate_key();
    let rotated = Sealer::new(&next, Some(current)).unwrap();
    assert_eq!(
        runback::webhooks::seal_stored(&pool, &rotated)
            .await
            .unwrap(),
        1
    );
    let after = Sealer::new(&next, None).unwrap();
    let (_, sealed) = {
        let second = start_app(db_url.clone(), String::new(), maintenance.clone(), |s| {
            s.webhook_secret_key = Some(next.clone())
        })
        .await;
        a_test_event_is_signed_with(&second, &admin, &endpoint, &receiver, &secret).await;
        stored_secret(&second, &endpoint).await
    };
    assert_eq!(after.open(id, &sealed.unwrap()).unwrap(), secret);
    // A start with a key that sealed nothing here leaves the secret as it is (its deliveries
    // fail, the log names it) and does not stop.
    let stranger = Sealer::new(&Sealer::generate_key(), None).unwrap();
    assert_eq!(
        runback::webhooks::seal_stored(&pool, &stranger)
            .await
            .unwrap(),
        0
    );
    pool.close();
    // The database goes with the last app.
    drop(start_app(db_url, db_name, maintenance, |_| {}).await);
    receiver.handle.stop(false).await;
}

/// Tuples of `webhook_deliveries` read so far in this transaction.
async fn deliveries_read(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Read {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::int8 AS n
           FROM pg_stat_xact_user_tables WHERE relname = 'webhook_deliveries'",
    )
    .get_result::<Read>(conn)
    .await
    .unwrap()
    .n
}

async fn claim(conn: &mut diesel_async::AsyncPgConnection) -> Vec<runback::db::webhooks::Due> {
    runback::db::webhooks::claim_due(
        conn,
        runback::db::webhooks::Claim {
            limit: 32,
            lease_secs: 60,
            per_endpoint: 8,
            busy_endpoints: &[],
            busy_counts: &[],
        },
    )
    .await
    .unwrap()
}

/// A receiver that is down (or slow) leaves a backlog behind each client's first delivery; the
/// claim reads each client's first pending delivery by index and never the backlog behind it,
/// so a backlog of thousands costs each claim what a backlog of one does, and each client's
/// events still go one at a time, in order.
#[tokio::test]
async fn a_claim_reads_each_clients_first_delivery_and_not_the_backlog_behind_it() {
    // The service's own dispatcher stays out of the way: this test claims by hand.
    let app = crate::helpers::spawn_app_with(|s| s.webhook_poll = Duration::from_secs(3600)).await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let (endpoint, _) = register(&app, &admin, "http://127.0.0.1:9/hooks", json!(ALL)).await;
    let mut conn = app.conn().await;
    // Four mothers with 600 events each, interleaved, and six about no client.
    diesel::sql_query(
        "WITH ev AS (
             INSERT INTO webhook_events (id, organization_id, event_type, client_id, payload)
             SELECT gen_random_uuid(), e.organization_id, 'check_in.created',
                    CASE WHEN i % 400 = 0 THEN NULL
                         ELSE ('00000000-0000-4000-8000-00000000000' || (i % 4))::uuid END,
                    jsonb_build_object('n', i)
               FROM webhook_endpoints e, generate_series(1, 2400) i
              WHERE e.id = $1
             RETURNING id, seq, organization_id, client_id)
         INSERT INTO webhook_deliveries
             (id, organization_id, event_id, endpoint_id, queue_key, seq)
         SELECT gen_random_uuid(), ev.organization_id, ev.id, $1,
                coalesce(ev.client_id, '00000000-0000-0000-0000-000000000000'), ev.seq
           FROM ev",
    )
    .bind::<diesel::sql_types::Uuid, _>(endpoint.parse::<uuid::Uuid>().unwrap())
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE webhook_deliveries")
        .execute(&mut conn)
        .await
        .unwrap();

    diesel::sql_query("BEGIN").execute(&mut conn).await.unwrap();
    let before = deliveries_read(&mut conn).await;
    let first = claim(&mut conn).await;
    let read = deliveries_read(&mut conn).await - before;
    diesel::sql_query("COMMIT")
        .execute(&mut conn)
        .await
        .unwrap();
    // One delivery per queue: the four mothers' and the one of events about no client.
    let numbers: Vec<i64> = first
        .iter()
        .map(|d| d.payload["n"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 400], "each queue's first event");
    assert!(
        read < 100,
        "the claim read {read} deliveries of a backlog of 2,400 in 5 queues"
    );

    // While those are in flight, nothing behind them is due, and finding that out reads as
    // little.
    diesel::sql_query("BEGIN").execute(&mut conn).await.unwrap();
    let before = deliveries_read(&mut conn).await;
    assert!(
        claim(&mut conn).await.is_empty(),
        "a queue waits for its first"
    );
    let read = deliveries_read(&mut conn).await - before;
    diesel::sql_query("COMMIT")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(read < 100, "a claim with every queue busy read {read}");

    // Delivered, each queue's next one is due: still in order.
    for due in &first {
        runback::db::webhooks::delivered(&mut conn, due, 200)
            .await
            .unwrap();
    }
    let second: Vec<i64> = claim(&mut conn)
        .await
        .iter()
        .map(|d| d.payload["n"].as_i64().unwrap())
        .collect();
    assert_eq!(second, vec![5, 6, 7, 8, 800]);
}

/// Every event type the service sends, the test message included, arrives as the document's
/// `webhooks` entry for it says: the signature headers, the envelope and its `data`, field by
/// field (nothing missing, nothing undocumented, every enum value and format as declared).
#[tokio::test]
async fn every_event_sent_is_what_the_documents_webhooks_say() {
    let doc: Value = serde_json::from_str(&runback::openapi::document_json()).unwrap();
    let documented: std::collections::BTreeSet<String> = doc["webhooks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let app = spawn_app().await;
    let receiver = Receiver::start(0);
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let mut events: Vec<&str> = ALL.to_vec();
    events.push("flag.emergency");
    let (endpoint, secret) = register(&app, &admin, &receiver.url, json!(events)).await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client = ana.client_id.unwrap();
    app.start_default_plan(&coach, &client.to_string()).await;
    a_day_of_events(&app, &admin, &coach, &ana).await;
    let ok = |res: reqwest::Response| assert!(res.status().is_success(), "{}", res.status());
    ok(app
        .post(
            "/v1/clients/me/check-ins",
            Some(&ana.token),
            &json!({"sleep_hours": 6.5, "fatigue": 3}),
        )
        .await);
    ok(app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life", "chest_pain": true}),
        )
        .await);
    ok(send_test(&app, &admin, &endpoint).await);

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        seen = receiver
            .received()
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap().to_string())
            .collect();
        if seen == documented {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen, documented,
        "every documented event was sent, and no other"
    );
    let mut broken = Vec::new();
    for message in receiver.received() {
        verify(&secret, &message);
        let body = message.json();
        let kind = body["type"].as_str().unwrap();
        let hook = &doc["webhooks"][kind]["post"];
        for header in hook["parameters"].as_array().unwrap() {
            assert_eq!(header["in"], "header");
        }
        let schema = &hook["requestBody"]["content"]["application/json"]["schema"];
        broken.extend(breaks_schema(&doc, schema, &body, kind));
    }
    assert!(
        broken.is_empty(),
        "sent but not as documented:\n{}",
        broken.join("\n")
    );
    receiver.handle.stop(false).await;
}
