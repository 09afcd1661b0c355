//! Graceful shutdown of the real binary: SIGTERM under load. `/readyz` turns 503 at once, the
//! service keeps answering through the drain, in-flight requests finish, and nothing is
//! answered with a 5xx or cut off; it then exits cleanly.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{jwt_secret, spawn_app};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Debug)]
enum Outcome {
    Answered(u16),
    /// The listener was closed when the request was sent.
    Refused,
    /// Anything else (a reset or cut-off answer) is a failure.
    Broken(String),
}

#[tokio::test]
async fn sigterm_under_load_drains_without_errors_and_exits_cleanly() {
    let app = spawn_app().await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    app.start_default_plan(&coach, &ana.client_id.unwrap().to_string())
        .await;

    let port = free_port();
    // The logs go to a file: a pipe nobody reads while the test runs would fill and block.
    let log_path = std::env::temp_dir().join(format!("runback-shutdown-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_runback"))
        .env("DATABASE_URL", &app.db_url)
        .env("JWT_SECRET", jwt_secret())
        .env("WEBHOOK_SECRET_KEY", crate::helpers::webhook_secret_key())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        // The production default: time for a balancer polling every 50 ms to see the 503 even
        // when both cores are busy with the rest of the suite.
        .env("SHUTDOWN_DRAIN_MS", "2000")
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    // A new connection per request: what a load balancer's fresh clients look like, and no
    // idle keep-alive connection to race with the listener closing.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the binary started");

    // The load comes through a "load balancer" that polls /readyz every 50 ms and sends no
    // new request once it says 503 (requests already sent carry on): the drain period exists
    // for exactly this.
    let stop = Arc::new(AtomicBool::new(false));
    let balancer = {
        let (http, base, stop) = (http.clone(), base.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match http.get(format!("{base}/readyz")).send().await {
                    Ok(res) if res.status() == 200 => {}
                    _ => stop.store(true, Ordering::Relaxed),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut workers = Vec::new();
    for w in 0..6 {
        let (http, base, token, stop) =
            (http.clone(), base.clone(), ana.token.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let sent = if i % 2 == 0 {
                    http.get(format!("{base}/v1/clients/me/plan/today"))
                        .bearer_auth(&token)
                        .send()
                        .await
                } else {
                    http.post(format!("{base}/v1/clients/me/sessions"))
                        .bearer_auth(&token)
                        .json(
                            &json!({"performed_on": chrono::Utc::now().date_naive().to_string(),
                                      "completed": true, "notes": format!("w{w}-{i}")}),
                        )
                        .send()
                        .await
                };
                let outcome = match sent {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        match res.bytes().await {
                            Ok(_) => Outcome::Answered(status),
                            Err(e) => Outcome::Broken(format!("body cut off: {e}")),
                        }
                    }
                    Err(e) if e.is_connect() => Outcome::Refused,
                    Err(e) => Outcome::Broken(format!("{e:?}")),
                };
                let refused = matches!(outcome, Outcome::Refused);
                outcomes.push((i, outcome));
                if refused {
                    break;
                }
            }
            outcomes
        }));
    }
    // A long request still in flight when the listener closes: 60,000 rows to import.
    let rows: String =
        std::iter::once("external_id,name,delivery_date,delivery_type\n".to_string())
            .chain((0..60_000).map(|i| format!("S-{i},Client {i},2026-08-20,vaginal\n")))
            .collect();
    let import = {
        let (http, base, token) = (http.clone(), base.clone(), admin.token.clone());
        tokio::spawn(async move {
            let res = http
                .post(format!("{base}/v1/imports/clients"))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(rows)
                .send()
                .await
                .expect("the import is answered");
            let status = res.status().as_u16();
            let body = res.text().await.expect("the whole answer");
            (status, body, std::time::Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = child.id().unwrap() as i32;
    let signalled = std::time::Instant::now();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready while draining");
    assert!(ready.headers().contains_key("retry-after"));
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "still serving while draining");

    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the binary exits")
        .unwrap();
    assert!(
        stop.load(Ordering::Relaxed),
        "the balancer saw the service go unready"
    );
    balancer.await.unwrap();
    assert!(exit.success(), "exit status {exit}");

    let (status, body, import_done) = import.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"created\":60000"), "{body}");
    let (mut answered, mut refused) = (0, 0);
    for (w, worker) in workers.into_iter().enumerate() {
        let outcomes = worker.await.unwrap();
        // Every worker was served while the import ran: the service kept answering.
        assert!(
            outcomes
                .iter()
                .any(|(_, o)| matches!(o, Outcome::Answered(_))),
            "worker {w} was never answered"
        );
        for (i, outcome) in outcomes {
            match outcome {
                Outcome::Answered(status) => {
                    assert!(
                        (200..300).contains(&status),
                        "request {i} answered {status}"
                    );
                    answered += 1;
                }
                Outcome::Refused => refused += 1,
                Outcome::Broken(e) => panic!("request {i} broken: {e}"),
            }
        }
    }
    eprintln!(
        "shutdown under load: {answered} answered, {refused} refused; \
         the import finished {:?} after SIGTERM (drain 2 s)",
        import_done - signalled
    );
    assert!(answered >= 6, "{answered} answered");
    assert_eq!(refused, 0, "no request was sent to a closed listener");
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(logs.contains("draining"), "{logs}");
    assert!(logs.contains("\"stopped\""), "{logs}");
}
