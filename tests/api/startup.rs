//! The binary as a newcomer runs it: with DATABASE_URL, with its own PostgreSQL, with neither.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::helpers::database_url;

fn runback() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runback"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env_remove("WEBHOOK_SECRET_KEY")
        .env_remove("WEBHOOK_SECRET_PREVIOUS_KEY")
        .env("RUST_LOG", "info")
        .env("HTTP_WORKERS", "1")
        .stdin(Stdio::null());
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder the `postgres` system user can enter too (the embedded server runs as that user
/// when the tests run as root).
fn scratch_dir(name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir =
        std::env::temp_dir().join(format!("runback-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

async fn wait_ready(port: u16, child: &mut Child) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(res) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if res.status() == 200 {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("runback exited early with {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "runback never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: Child) -> std::process::Output {
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn with_neither_database_it_names_the_three_ways_out() {
    let data = scratch_dir("none");
    let out = runback()
        .env("POSTGRES_BIN_DIR", "/nonexistent/postgresql/bin")
        .env("DATA_DIR", &data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for way in ["install PostgreSQL", "DATABASE_URL", "docker compose up"] {
        assert!(stderr.contains(way), "{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn a_published_or_guessable_secret_is_refused_at_start() {
    for (secret, says) in [
        ("change-me-to-a-secret-of-at-least-32-bytes", "published"),
        ("runbackrunbackrunbackrunbackrunback", "guessable"),
        ("too-short", "at least 32 bytes"),
    ] {
        let out = runback()
            .env(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/never_reached",
            )
            .env("JWT_SECRET", secret)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{secret}: {stderr}");
        assert!(
            stderr.contains("JWT_SECRET") && stderr.contains(says),
            "{secret}: {stderr}"
        );
    }
}

/// Security review finding 11: webhook signing secrets are sealed under `WEBHOOK_SECRET_KEY`.
/// With `DATABASE_URL` the key is required, and a key that is not 32 bytes of hex is refused,
/// before any connection.
#[tokio::test]
async fn a_missing_or_malformed_webhook_secret_key_is_refused_at_start() {
    for (key, previous, says) in [
        (None, None, "WEBHOOK_SECRET_KEY is required"),
        (
            Some("not-hex"),
            None,
            "WEBHOOK_SECRET_KEY must be 64 hex digits",
        ),
        (
            Some(&"ab".repeat(16)[..]),
            None,
            "WEBHOOK_SECRET_KEY must be 64 hex digits",
        ),
        (
            Some(crate::helpers::webhook_secret_key()),
            Some("short"),
            "WEBHOOK_SECRET_PREVIOUS_KEY must be 64 hex digits",
        ),
    ] {
        let mut cmd = runback();
        cmd.env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/never_reached",
        )
        .env("JWT_SECRET", crate::helpers::jwt_secret());
        if let Some(key) = key {
            cmd.env("WEBHOOK_SECRET_KEY", key);
        }
        if let Some(previous) = previous {
            cmd.env("WEBHOOK_SECRET_PREVIOUS_KEY", previous);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{key:?}: {stderr}");
        assert!(stderr.contains(says), "{key:?}: {stderr}");
        assert!(
            !stderr.contains(crate::helpers::webhook_secret_key()),
            "a key never reaches a log: {stderr}"
        );
    }
}

#[tokio::test]
async fn with_database_url_it_creates_the_database_and_migrates_before_listening() {
    let name = format!("runback_test_{}_bin", chrono::Utc::now().timestamp());
    let (url, maintenance) = database_url(&name).await;
    let port = free_port();
    let mut child = runback()
        .env("DATABASE_URL", &url)
        .env("JWT_SECRET", crate::helpers::jwt_secret())
        .env("WEBHOOK_SECRET_KEY", crate::helpers::webhook_secret_key())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port, &mut child).await;
    let out = terminate(child);
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("using DATABASE_URL"), "{log}");
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let migrated = diesel::sql_query("SELECT 1 FROM users")
        .execute(&mut conn)
        .await;
    assert!(migrated.is_ok());
    drop(conn);
    let mut conn = AsyncPgConnection::establish(&maintenance).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn without_database_url_it_runs_its_own_postgresql_and_stops_it() {
    let data = scratch_dir("embedded");
    let port = free_port();
    let mut child = runback()
        .env("DATA_DIR", &data)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port, &mut child).await;
    // It listens on a Unix socket inside its folder, and on no TCP port.
    assert!(data.join("postgres/.s.PGSQL.5432").exists());
    let out = terminate(child);
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("embedded PostgreSQL"), "{log}");
    assert!(log.contains("embedded PostgreSQL stopped"), "{log}");
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "PostgreSQL still running"
    );
    assert!(data.join("jwt_secret").exists());
    assert!(data.join("webhook_secret_key").exists());

    // An admin made from the command line can sign in; a second one with the same email is refused.
    let admin = |email: &str| {
        let mut child = runback()
            .env("DATA_DIR", &data)
            .args([
                "admin",
                "create",
                "--organization",
                "Riverside Physio",
                "--email",
                email,
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery staple\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = admin("admin@riverside.example");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("organization_id="));
    let out = admin("ADMIN@riverside.example");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn as_root_in_a_folder_postgres_cannot_enter_the_cluster_lives_in_its_home() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // Only root hands the server to the `postgres` user.
    }
    use std::os::unix::fs::PermissionsExt;
    let data = scratch_dir("private");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let port = free_port();
    let mut child = runback()
        .env("DATA_DIR", &data)
        .env("LOG_FORMAT", "json")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port, &mut child).await;
    let out = terminate(child);
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("keeping the PostgreSQL cluster in its home"),
        "{log}"
    );
    let cluster = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            v["cluster"]
                .as_str()
                .filter(|c| c.contains("runback-clusters"))
                .map(str::to_string)
        })
        .expect("the log names where the cluster lives");
    assert!(
        !std::path::Path::new(&cluster)
            .join("postmaster.pid")
            .exists(),
        "stopped"
    );
    let _ = std::fs::remove_dir_all(&cluster);
    let _ = std::fs::remove_dir_all(&data);
}
