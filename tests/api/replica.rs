//! Heavy reads on a streaming replica (`DATABASE_READ_URL`), against a private primary and its
//! replica made with `pg_basebackup -R`: the dashboard list and timelines are served by the
//! replica (seen in its own `pg_stat_activity`, and from its stale data while its replay is
//! paused); a mother who just wrote reads her own timeline from the primary; with the replica
//! gone, heavy reads fall back to the primary and `/readyz` stays ready.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use runback::db::embedded::EmbeddedPostgres;
use serde_json::{json, Value};

use crate::helpers::start_app;

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs one of PostgreSQL's programs (as `postgres` when the tests run as root).
fn pg(program: &str, args: &[&str]) -> std::process::Output {
    let bin = EmbeddedPostgres::find_bin_dir(None).expect("PostgreSQL binaries");
    let mut cmd = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    };
    cmd.args(args).output().unwrap()
}

/// Stops both clusters and removes their folder however the test ends.
struct Clusters {
    dir: PathBuf,
    data: Vec<PathBuf>,
}

impl Drop for Clusters {
    fn drop(&mut self) {
        for data in &self.data {
            pg(
                "pg_ctl",
                &["stop", "-m", "immediate", "-D", &data.to_string_lossy()],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn socket_url(dir: &Path, database: &str, extra: &str) -> String {
    let host = percent_encoding::utf8_percent_encode(
        &dir.to_string_lossy(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    format!("postgres:///{database}?host={host}&port=5432&user=postgres{extra}")
}

async fn scalar(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn timeline_reports(app: &crate::helpers::TestApp, token: &str, client: &str) -> Vec<String> {
    let timeline: Value = app
        .get(&format!("/v1/clients/{client}/timeline"), Some(token))
        .await
        .json()
        .await
        .unwrap();
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "report")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn heavy_reads_go_to_the_replica_except_right_after_her_own_write() {
    let dir = std::env::temp_dir().join(format!(
        "rb-replica-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let primary = {
        let dir = dir.join("primary");
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, None))
            .await
            .unwrap()
            .expect("a private PostgreSQL cluster")
    };
    let primary_data = primary.cluster_dir().to_path_buf();
    let replica_data = dir.join("replica");
    let mut clusters = Clusters {
        dir: dir.clone(),
        data: vec![primary_data.clone()],
    };
    {
        let mut conn = AsyncPgConnection::establish(&primary.url("postgres"))
            .await
            .unwrap();
        diesel::sql_query("CREATE DATABASE runback")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let primary_url = primary.url("runback");
    runback::db::run_migrations(&primary_url).await.unwrap();

    // The replica: a base backup of the primary that follows its WAL, on a socket of its own.
    let out = pg(
        "pg_basebackup",
        &[
            "-D",
            &replica_data.to_string_lossy(),
            "-R",
            "-X",
            "stream",
            // A fast checkpoint, not a spread one (which takes minutes on an idle server).
            "-c",
            "fast",
            "-h",
            &primary_data.to_string_lossy(),
            "-p",
            "5432",
            "-U",
            "postgres",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    clusters.data.push(replica_data.clone());
    let auto = replica_data.join("postgresql.auto.conf");
    let mut conf = std::fs::read_to_string(&auto).unwrap();
    conf.push_str(&format!(
        "unix_socket_directories = '{}'\nlisten_addresses = ''\nhot_standby = on\n",
        replica_data.to_string_lossy()
    ));
    std::fs::write(&auto, conf).unwrap();
    // The primary keeps its socket in its data folder: the backup brought its lock file along.
    let _ = std::fs::remove_file(replica_data.join(".s.PGSQL.5432.lock"));
    let log = replica_data
        .join("server.log")
        .to_string_lossy()
        .to_string();
    let out = pg(
        "pg_ctl",
        &[
            "start",
            "-w",
            "-t",
            "60",
            "-l",
            &log,
            "-D",
            &replica_data.to_string_lossy(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replica_url = socket_url(
        &replica_data,
        "runback",
        "&application_name=runback-heavy-reads",
    );
    let replica_admin = socket_url(&replica_data, "postgres", "");

    let app = start_app(
        primary_url.clone(),
        "runback".into(),
        primary.url("postgres"),
        |s| {
            s.database_read_url = Some(replica_url.clone());
            // This part shows the replica's stale reads: no lag bound.
            s.replica_max_lag = Duration::from_secs(24 * 3600);
        },
    )
    .await;
    let admin = app
        .new_admin("Riverside Physio", "admin@riverside.example")
        .await;
    let coach = app
        .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
        .await;
    let ana = app.new_client(&coach, "Ana Lima", "ana@example.org").await;
    let client = ana.client_id.unwrap().to_string();
    app.start_default_plan(&coach, &client).await;
    // The replica catches up.
    for _ in 0..100 {
        let on_replica = scalar(
            &socket_url(&replica_data, "runback", ""),
            "SELECT count(*) AS n FROM plans",
        )
        .await;
        if on_replica == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The dashboard list is served by the replica (its connections carry their name there),
    // for a reader who wrote nothing lately: a script's read-only token.
    let (_, reader) = app.new_service_token(&admin, &["clients:read"]).await;
    assert_eq!(app.get("/v1/clients", Some(&reader)).await.status(), 200);
    let replica_connections = scalar(
        &replica_admin,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'runback-heavy-reads'",
    )
    .await;
    assert!(replica_connections >= 1, "no connection to the replica");

    // The lag seen: from the primary's answer to a write to the row on the replica.
    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "next_day"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let answered = std::time::Instant::now();
    let first: Value = res.json().await.unwrap();
    let on_replica = format!(
        "SELECT count(*) AS n FROM symptom_reports WHERE id = '{}'",
        first["id"].as_str().unwrap()
    );
    let replica_db = socket_url(&replica_data, "runback", "");
    while scalar(&replica_db, &on_replica).await == 0 {
        assert!(
            answered.elapsed() < Duration::from_secs(10),
            "the replica never caught up"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!(
        "replica lag seen: {:?} from the primary's answer",
        answered.elapsed()
    );

    // With the replica's replay paused it falls behind: a mother who reports and at once reads
    // her timeline sees her report (the primary); the script, which wrote nothing, reads the
    // replica's past, without it.
    let mut conn = AsyncPgConnection::establish(&replica_admin).await.unwrap();
    diesel::sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut conn)
        .await
        .unwrap();
    let res = app
        .post(
            "/v1/clients/me/symptom-reports",
            Some(&ana.token),
            &json!({"timing": "daily_life"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let report: Value = res.json().await.unwrap();
    let report = report["id"].as_str().unwrap().to_string();
    assert!(
        timeline_reports(&app, &ana.token, "me")
            .await
            .contains(&report),
        "read-your-writes: her own report, at once"
    );
    assert!(
        !timeline_reports(&app, &reader, &client)
            .await
            .contains(&report),
        "the script's read of her timeline came from the (paused) replica"
    );
    diesel::sql_query("SELECT pg_wal_replay_resume()")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let mut caught_up = false;
    for _ in 0..100 {
        if timeline_reports(&app, &reader, &client)
            .await
            .contains(&report)
        {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "the replica caught up");

    // Security review finding 8: reach checked on a lagging replica kept a coach reading a
    // client moved away from her. With a lag bound, a replica further behind is not used.
    let bounded = start_app(
        primary_url.clone(),
        "runback".into(),
        primary.url("postgres"),
        |s| {
            s.database_read_url = Some(replica_url.clone());
            s.replica_max_lag = Duration::from_millis(100);
        },
    )
    .await;
    let zoe = bounded
        .new_coach(&admin, "Zoe Park", "zoe@riverside.example")
        .await;
    let mut conn = AsyncPgConnection::establish(&replica_admin).await.unwrap();
    diesel::sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut conn)
        .await
        .unwrap();
    let res = bounded
        .patch(
            &format!("/v1/clients/{client}"),
            Some(&admin.token),
            &json!({"coach_id": zoe.user_id}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Replay is paused: the replica's lag only grows past the bound.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let timeline = bounded
        .get(
            &format!("/v1/clients/{client}/timeline"),
            Some(&coach.token),
        )
        .await;
    assert_eq!(
        timeline.status(),
        404,
        "Maya no longer reaches Ana anywhere"
    );
    let export = bounded
        .get(&format!("/v1/clients/{client}/export"), Some(&coach.token))
        .await;
    assert_eq!(export.status(), 404);
    diesel::sql_query("SELECT pg_wal_replay_resume()")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    // The replica goes away: heavy reads fall back to the primary; the service stays ready.
    let out = pg(
        "pg_ctl",
        &[
            "stop",
            "-m",
            "immediate",
            "-D",
            &replica_data.to_string_lossy(),
        ],
    );
    assert!(out.status.success());
    let res = app.get("/v1/clients", Some(&reader)).await;
    let status = res.status();
    assert_eq!(status, 200, "{}", res.text().await.unwrap());
    assert!(timeline_reports(&app, &reader, &client)
        .await
        .contains(&report));
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    drop(app);
    // Its database is the first app's: it goes with the clusters, last.
    drop(bounded);
    drop(clusters);
}
