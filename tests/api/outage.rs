//! A database outage under steady write load, on a private PostgreSQL cluster this test owns:
//! requests fail fast with 503 problems and `Retry-After`, `/readyz` says not ready, the
//! service recovers by itself when the database returns, and every write acknowledged with a
//! 2xx is in the database exactly once (writers retry with the same `Idempotency-Key`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use runback::db::embedded::EmbeddedPostgres;
use serde_json::json;

use crate::helpers::{start_app, TestApp};

#[derive(Default)]
struct Ledger {
    tried: u64,
    acknowledged: Vec<String>,
    /// Answers while the database was down: (status, had Retry-After, problem+json, latency).
    during_outage: Vec<(u16, bool, bool, Duration)>,
    other_failures: Vec<String>,
}

/// Stops the test's cluster and removes its folder however the test ends (a failed assertion
/// included), so no private server is left running.
pub(crate) struct ClusterGuard(pub(crate) std::path::PathBuf);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let data = self.0.join("postgres");
        if data.join("postmaster.pid").exists() {
            if let Some(bin) = EmbeddedPostgres::find_bin_dir(None) {
                let pg_ctl = bin.join("pg_ctl");
                // As root the cluster runs as `postgres` (see `EmbeddedPostgres`).
                // SAFETY: geteuid has no preconditions and cannot fail.
                let mut stop = if unsafe { libc::geteuid() } == 0 {
                    let mut c = std::process::Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(pg_ctl);
                    c
                } else {
                    std::process::Command::new(pg_ctl)
                };
                let _ = stop
                    .args(["stop", "-m", "immediate", "-D"])
                    .arg(&data)
                    .output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) async fn start_cluster(dir: std::path::PathBuf) -> EmbeddedPostgres {
    tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, None))
        .await
        .unwrap()
        .expect("a private PostgreSQL cluster")
}

#[tokio::test]
async fn an_outage_fails_fast_recovers_without_a_restart_and_loses_no_acknowledged_write() {
    let dir = std::env::temp_dir().join(format!(
        "rb-outage-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    let _guard = ClusterGuard(dir.clone());
    let pg = start_cluster(dir.clone()).await;
    let url = pg.url("runback");
    {
        use diesel_async::RunQueryDsl;
        let mut conn = AsyncPgConnection::establish(&pg.url("postgres"))
            .await
            .unwrap();
        diesel::sql_query("CREATE DATABASE runback")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    runback::db::run_migrations(&url).await.unwrap();
    let app = start_app(url.clone(), String::new(), pg.url("postgres"), |s| {
        s.acquire_timeout = Duration::from_millis(1000);
    })
    .await;
    let (coach, client) = practice(&app).await;

    let down = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, base, token) = (app.client.clone(), app.address.clone(), coach.clone());
        let (down, stop, ledger, client) =
            (down.clone(), stop.clone(), ledger.clone(), client.clone());
        writers.push(tokio::spawn(async move {
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let key = format!("w{w}-{k}");
                // One logical write: retried with the same key until it is acknowledged.
                loop {
                    let started = Instant::now();
                    let sent = http
                        .post(format!("{base}/v1/clients/{client}/sessions"))
                        .bearer_auth(&token)
                        .header("idempotency-key", &key)
                        .timeout(Duration::from_secs(10))
                        .json(
                            &json!({"performed_on": chrono::Utc::now().date_naive().to_string(),
                                      "completed": true, "notes": key}),
                        )
                        .send()
                        .await;
                    let acknowledged = {
                        let mut l = ledger.lock().unwrap();
                        l.tried += 1;
                        match sent {
                            Ok(res) if res.status().is_success() => {
                                l.acknowledged.push(key.clone());
                                true
                            }
                            Ok(res) if down.load(Ordering::Relaxed) => {
                                let problem = res
                                    .headers()
                                    .get("content-type")
                                    .is_some_and(|v| v == "application/problem+json");
                                let retry_after = res.headers().contains_key("retry-after");
                                if res.status() != 503 {
                                    l.other_failures
                                        .push(format!("{key}: {} during the outage", res.status()));
                                }
                                l.during_outage.push((
                                    res.status().as_u16(),
                                    retry_after,
                                    problem,
                                    started.elapsed(),
                                ));
                                false
                            }
                            Ok(res) => {
                                l.other_failures.push(format!("{key}: {}", res.status()));
                                false
                            }
                            Err(e) => {
                                l.other_failures.push(format!("{key}: {e}"));
                                false
                            }
                        }
                    };
                    if acknowledged {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    down.store(true, Ordering::Relaxed);
    tokio::task::spawn_blocking({
        let pg_stop = std::mem::ManuallyDrop::new(pg);
        move || pg_stop.stop()
    })
    .await
    .unwrap();
    let mut readyz_down = Vec::new();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        readyz_down.push(app.get("/readyz", None).await.status().as_u16());
    }
    let pg = start_cluster(dir.clone()).await;
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(15) {
        if app.get("/readyz", None).await.status() == 200 {
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    down.store(false, Ordering::Relaxed);
    let acknowledged_at_recovery = ledger.lock().unwrap().acknowledged.len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(20), w)
            .await
            .expect("writers finish")
            .unwrap();
    }

    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        notes: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT notes, count(*) AS n FROM session_logs WHERE notes IS NOT NULL GROUP BY notes",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    drop(conn);
    let found: HashMap<String, i64> = rows.into_iter().map(|r| (r.notes, r.n)).collect();
    let l = std::mem::take(&mut *ledger.lock().unwrap());
    let recovered = recovered.expect("the service recovered");
    let slowest = l
        .during_outage
        .iter()
        .map(|o| o.3)
        .max()
        .unwrap_or_default();
    eprintln!(
        "outage: {} requests tried, {} writes acknowledged, {} found in the table, {} answers during the outage (slowest {:?}), readyz while down {:?}, recovered {:?} after the database returned",
        l.tried,
        l.acknowledged.len(),
        l.acknowledged.iter().filter(|k| found.get(*k) == Some(&1)).count(),
        l.during_outage.len(),
        slowest,
        readyz_down,
        recovered,
    );
    assert!(
        l.acknowledged.len() > acknowledged_at_recovery,
        "writes resumed after recovery"
    );
    for key in &l.acknowledged {
        assert_eq!(
            found.get(key),
            Some(&1),
            "acknowledged write {key} is in the table once"
        );
    }
    assert!(
        found.values().all(|n| *n == 1),
        "no write is in the table twice"
    );
    assert!(
        !l.during_outage.is_empty(),
        "requests were tried during the outage"
    );
    if l.during_outage.iter().any(|o| o.0 != 503) {
        for line in crate::helpers::captured_logs()
            .lines()
            .filter(|l| l.contains("ERROR"))
        {
            eprintln!("{}", &line[..line.len().min(700)]);
        }
    }
    for (status, retry_after, problem, latency) in &l.during_outage {
        assert_eq!(*status, 503);
        assert!(*retry_after && *problem);
        // Bounded by the pool's acquire timeout (1 s here), never a hang.
        assert!(
            *latency < Duration::from_secs(3),
            "an answer took {latency:?}"
        );
    }
    assert!(readyz_down.iter().all(|s| *s == 503), "{readyz_down:?}");
    assert!(
        recovered < Duration::from_secs(5),
        "recovered in {recovered:?}"
    );
    assert!(l.other_failures.is_empty(), "{:?}", l.other_failures);
    drop(app);
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn practice(app: &TestApp) -> (String, String) {
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let client = app
        .create_client(
            &coach,
            &json!({"name": "Ana Lima", "delivery_date": "2026-08-20", "delivery_type": "vaginal",
                    "cleared_for_exercise": true}),
        )
        .await;
    let id = client["id"].as_str().unwrap().to_string();
    app.start_default_plan(&coach, &id).await;
    (coach.token, id)
}
