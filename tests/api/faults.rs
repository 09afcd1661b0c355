//! Fault injection, each with nothing lost: PostgreSQL crashing in the middle of reports, the
//! database connections cut while an app follows the change feed, and a full disk under the
//! database.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use runback::db::embedded::EmbeddedPostgres;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, start_app, TestApp};
use crate::outage::{start_cluster, ClusterGuard};

/// A private cluster in `dir` with a migrated `runback` database, and the app on it.
async fn app_on_private_cluster(dir: &std::path::Path) -> (EmbeddedPostgres, TestApp) {
    let pg = start_cluster(dir.to_path_buf()).await;
    let url = pg.url("runback");
    let mut conn = AsyncPgConnection::establish(&pg.url("postgres"))
        .await
        .unwrap();
    diesel::sql_query("CREATE DATABASE runback")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    runback::db::run_migrations(&url).await.unwrap();
    let app = start_app(url, String::new(), pg.url("postgres"), |s| {
        s.acquire_timeout = Duration::from_millis(1000);
    })
    .await;
    (pg, app)
}

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "rb-{name}-{}",
        &Uuid::new_v4().simple().to_string()[..12]
    ))
}

/// Posts `body` with its own `id` until the service acknowledges it (2xx); the statuses seen.
async fn until_acknowledged(app: &TestApp, token: &str, path: &str, body: &Value) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..300 {
        let status = match app
            .client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await
        {
            Ok(res) => res.status().as_u16(),
            Err(_) => 0,
        };
        seen.push(status);
        if (200..300).contains(&status) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never acknowledged: {seen:?}");
}

/// How many rows of `table` hold each id.
async fn counts(url: &str, table: &str) -> HashMap<Uuid, i64> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // The server may still be in crash recovery: ask until it lets us in.
    let mut conn = None;
    for _ in 0..600 {
        match AsyncPgConnection::establish(url).await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mut conn = conn.expect("the server accepts connections again");
    let rows: Vec<Row> =
        diesel::sql_query(format!("SELECT id, count(*) AS n FROM {table} GROUP BY id"))
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter().map(|r| (r.id, r.n)).collect()
}

/// PostgreSQL's backends are killed with SIGKILL while mothers send reports: the server
/// restarts itself through crash recovery, the service answers 503 meanwhile, and each report,
/// retried with its own id until acknowledged, is stored exactly once.
#[tokio::test]
async fn postgres_killed_mid_report_a_retry_with_the_same_id_lands_once() {
    let dir = scratch("kill");
    let _guard = ClusterGuard(dir.clone());
    let (pg, app) = app_on_private_cluster(&dir).await;
    let (_, _, ana) = app.riverside().await;
    let ids: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let writers = ids.chunks(10).map(|chunk| {
        let (app, token, statuses) = (&app, ana.token.clone(), statuses.clone());
        async move {
            for id in chunk {
                let body = json!({"id": id, "timing": "daily_life", "notes": "after the run"});
                let seen =
                    until_acknowledged(app, &token, "/v1/clients/me/symptom-reports", &body).await;
                statuses.lock().unwrap().extend(seen);
            }
        }
    });
    let killer = async {
        // Once three reports are in (the rest are being sent), not after some time: on a
        // fast machine the writers could be done before any clock-chosen moment.
        while statuses
            .lock()
            .unwrap()
            .iter()
            .filter(|s| (200..300).contains(*s))
            .count()
            < 3
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        #[derive(diesel::QueryableByName)]
        struct Backend {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            pid: i32,
        }
        let mut conn = AsyncPgConnection::establish(&pg.url("postgres"))
            .await
            .unwrap();
        let backends: Vec<Backend> = diesel::sql_query(
            "SELECT pid FROM pg_stat_activity WHERE datname = 'runback' AND backend_type = 'client backend'",
        )
        .load(&mut conn)
        .await
        .unwrap();
        let mut killed = 0;
        for b in backends {
            // SAFETY: kill has no memory preconditions; a pid that is gone is an error we count.
            if unsafe { libc::kill(b.pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        killed
    };
    let (_, killed) = tokio::join!(futures_util::future::join_all(writers), killer);
    assert!(killed > 0, "backends were killed");
    let found = counts(&pg.url("runback"), "symptom_reports").await;
    for id in &ids {
        assert_eq!(found.get(id), Some(&1), "report {id} is stored once");
    }
    let statuses = statuses.lock().unwrap().clone();
    eprintln!(
        "killed {killed} backends; answers: {} acknowledged of {} tries, the rest {:?}",
        statuses.iter().filter(|s| (200..300).contains(*s)).count(),
        statuses.len(),
        statuses
            .iter()
            .filter(|s| !(200..300).contains(*s))
            .collect::<Vec<_>>()
    );
    assert!(
        statuses.iter().all(|s| (200..300).contains(s) || *s == 503),
        "while the database recovers the answer is 503: {statuses:?}"
    );
    drop(app);
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
}

/// A coach's app following the feed two changes a page: the sessions it holds, its cursor,
/// and how many pages were refused (each asked again with the same cursor).
#[derive(Default)]
struct Follower {
    cursor: Option<String>,
    sessions: HashSet<String>,
    refused: usize,
}

impl Follower {
    /// One page: whether more is waiting, or `None` when the page was refused.
    async fn page(&mut self, app: &TestApp, token: &str) -> Option<bool> {
        let path = match &self.cursor {
            Some(c) => format!("/v1/sync?limit=2&cursor={c}"),
            None => "/v1/sync?limit=2".to_string(),
        };
        let res = app.get(&path, Some(token)).await;
        if res.status() != 200 {
            self.refused += 1;
            return None;
        }
        let page: Value = res.json().await.unwrap();
        for c in page["changes"].as_array().unwrap() {
            if c["entity"] == "session" {
                self.sessions.insert(c["id"].as_str().unwrap().to_string());
            }
        }
        self.cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        Some(page["has_more"] == true)
    }
}

/// The service's database connections are cut again and again while a mother logs sessions
/// and her coach follows the change feed two changes a page: a page that fails is asked again
/// with the same cursor, and at the end the coach holds every acknowledged session.
#[tokio::test]
async fn connections_cut_mid_feed_the_next_page_resumes_without_gaps() {
    let app = spawn_app().await;
    let (_, coach, ana) = app.riverside().await;
    let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let writer = async {
        for (i, id) in ids.iter().enumerate() {
            let day = chrono::Utc::now().date_naive() - chrono::Duration::days((i % 5) as i64);
            let body = json!({"id": id, "performed_on": day, "completed": true});
            until_acknowledged(&app, &ana.token, "/v1/clients/me/sessions", &body).await;
        }
    };
    let cutter = async {
        let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
        for _ in 0..15 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            conn.batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND backend_type = 'client backend'",
            )
            .await
            .unwrap();
        }
    };
    let following = async {
        let mut follower = Follower::default();
        for _ in 0..200 {
            match follower.page(&app, &coach.token).await {
                None => tokio::time::sleep(Duration::from_millis(50)).await,
                Some(false) => tokio::time::sleep(Duration::from_millis(20)).await,
                Some(true) => {}
            }
        }
        follower
    };
    let (_, _, mut follower) = tokio::join!(writer, cutter, following);
    // The cuts are over: the same follower, from where it is, to the end.
    while follower.page(&app, &coach.token).await != Some(false) {}
    eprintln!("feed pages refused during the cuts: {}", follower.refused);
    for id in &ids {
        assert!(
            follower.sessions.contains(&id.to_string()),
            "session {id} was skipped"
        );
    }
    let found = counts(&app.db_url, "session_logs").await;
    assert!(ids.iter().all(|id| found.get(id) == Some(&1)));
}

/// Unmounts the test's small filesystem however the test ends.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fills the filesystem at `dir` with a file until it refuses more; returns the file.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 1 << 20];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.flush();
    path
}

/// The database's disk fills up under an import: the answer is a 503 problem with
/// `Retry-After` (never a 500, never a crash of the service), nothing half-written is kept, and
/// when space returns the same import, retried with its key, lands once. Needs a small
/// filesystem (`mount -t tmpfs`, root): where the machine cannot mount one, the test says so
/// and checks nothing.
#[tokio::test]
async fn a_full_disk_is_503_and_the_service_recovers_when_space_returns() {
    let dir = scratch("disk");
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=200m,mode=0755", "tmpfs"])
        .arg(&dir)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!(
            "SKIPPED: this machine cannot mount a small filesystem (mount -t tmpfs needs root)"
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let _unmount = Unmount(dir.clone());
    let _guard = ClusterGuard(dir.clone());
    let (pg, app) = app_on_private_cluster(&dir).await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let csv: String =
        std::iter::once("external_id,name,email,delivery_date,delivery_type".to_string())
            .chain(
                (0..20_000).map(|i| {
                    format!("D-{i:06},Client {i},client{i}@disk.example,2026-09-01,vaginal")
                }),
            )
            .collect::<Vec<_>>()
            .join("\n");
    let import = |key: &'static str| {
        let (app, token, csv) = (&app, admin.token.clone(), csv.clone());
        async move {
            app.client
                .post(format!("{}/v1/imports/clients", app.address))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .header("idempotency-key", key)
                .timeout(Duration::from_secs(60))
                .body(csv)
                .send()
                .await
                .unwrap()
        }
    };
    let filler = fill(&dir);
    let res = import("nightly-1").await;
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(retry_after, "{body}");
    assert_eq!(body["status"], 503);
    // The service is up and says the database is there (it answers; it is only full).
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    let imported = counts(&pg.url("runback"), "clients").await.len();
    assert_eq!(imported, 0, "nothing half-written");

    std::fs::remove_file(&filler).unwrap();
    let mut landed = None;
    for _ in 0..50 {
        let res = import("nightly-1").await;
        if res.status().is_success() {
            landed = Some(res.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let landed = landed.expect("the import lands once space returns");
    assert_eq!(landed["created"], 20_000, "{landed}");
    assert_eq!(counts(&pg.url("runback"), "clients").await.len(), 20_000);
    drop(app);
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
}

/// A receiver that, at its first message, waits for the test's word before answering 204 (the
/// test stops PostgreSQL meanwhile); it counts every message it acknowledges.
async fn pausing_receiver(
    arrived: tokio::sync::mpsc::Sender<()>,
    go: Arc<tokio::sync::Notify>,
    acknowledged: Arc<Mutex<Vec<String>>>,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (arrived, go, acknowledged) = (arrived.clone(), go.clone(), acknowledged.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                // Headers and a small body: read until the body's length is in.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&request).to_string();
                let id = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("webhook-id:")
                            .map(|v| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let first = acknowledged.lock().unwrap().is_empty();
                if first {
                    arrived.send(()).await.unwrap();
                    go.notified().await;
                }
                acknowledged.lock().unwrap().push(id);
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    port
}

/// PostgreSQL stops while a webhook is being delivered: the receiver has acknowledged it, and
/// the dispatcher cannot record that until the database is back. It records it then, so the
/// delivery is not sent a second time when its lease ends.
#[tokio::test]
async fn postgres_away_when_a_send_ends_the_delivery_is_recorded_once_it_is_back_and_not_sent_again(
) {
    let dir = scratch("hookdown");
    let _guard = ClusterGuard(dir.clone());
    let (pg, app) = app_on_private_cluster(&dir).await;
    let (admin, _, _) = app.riverside().await;
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::channel(1);
    let go = Arc::new(tokio::sync::Notify::new());
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let port = pausing_receiver(arrived_tx, go.clone(), acknowledged.clone()).await;
    let res = app
        .post(
            "/v1/webhooks",
            Some(&admin.token),
            &json!({"url": format!("http://127.0.0.1:{port}/hooks"), "events": ["flag.opened"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let endpoint: Value = res.json().await.unwrap();
    let res = app
        .post(
            &format!("/v1/webhooks/{}/test", endpoint["id"].as_str().unwrap()),
            Some(&admin.token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    // The message is at the receiver: stop PostgreSQL, then let the receiver acknowledge it.
    arrived.recv().await.unwrap();
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
    go.notify_one();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pg = start_cluster(dir.clone()).await;

    // Recorded as delivered once the database is back, well before the lease (60 s) would let
    // any dispatcher send it again.
    let mut status = String::new();
    for _ in 0..150 {
        #[derive(diesel::QueryableByName)]
        struct Status {
            #[diesel(sql_type = diesel::sql_types::Text)]
            status: String,
        }
        if let Ok(mut conn) = AsyncPgConnection::establish(&pg.url("runback")).await {
            if let Ok(s) = diesel::sql_query("SELECT status FROM webhook_deliveries")
                .get_result::<Status>(&mut conn)
                .await
            {
                status = s.status;
                if status == "delivered" {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, "delivered", "recorded once the database was back");
    assert_eq!(acknowledged.lock().unwrap().len(), 1, "sent once");
    drop(app);
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
}
