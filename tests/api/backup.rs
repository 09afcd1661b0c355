//! Backups through the real command line (`runback backup`, `runback restore`) against the
//! test server: a practice built through the API, backed up while it serves, written to some
//! more, restored into a new database, and served again from it.

use std::path::{Path, PathBuf};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    database_url, jwt_secret, spawn_app, start_app, webhook_secret_key, TestApp, PASSWORD,
};

/// A folder of its own for one test's backups.
fn backup_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("runback-{name}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `runback <args>` against `database_url`; its exit status and output.
fn runback(database_url: &str, args: &[&str]) -> (bool, String) {
    runback_keyed(database_url, args, None)
}

/// Runs `runback <args>` against `database_url` with `BACKUP_KEY` set to `key`, if any.
fn runback_keyed(database_url: &str, args: &[&str], key: Option<&str>) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_runback"));
    if let Some(key) = key {
        command.env("BACKUP_KEY", key);
    }
    let out = command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", jwt_secret())
        .env("WEBHOOK_SECRET_KEY", webhook_secret_key())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Backs up the app's database into `dir`; the backup file.
fn back_up(app: &TestApp, dir: &Path) -> PathBuf {
    let (ok, out) = runback(&app.db_url, &["backup", "--to", dir.to_str().unwrap()]);
    assert!(ok, "backup failed: {out}");
    let dumps: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dump"))
        .collect();
    assert_eq!(dumps.len(), 1, "one backup in {}", dir.display());
    let sums = std::fs::read_to_string(format!("{}.sha256", dumps[0].display())).unwrap();
    let name = dumps[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        sums.ends_with(&format!("  {name}\n")),
        "sha256sum's format: {sums}"
    );
    assert!(
        name.starts_with("runback-") && name.ends_with(".dump"),
        "{name}"
    );
    dumps[0].clone()
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn report(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .post("/v1/clients/me/symptom-reports", Some(token), &body)
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Every change of a feed from `cursor` to its end; the last cursor.
async fn sync_to_end(app: &TestApp, token: &str, mut cursor: Option<String>) -> (usize, String) {
    let mut changes = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/sync?limit=50&cursor={c}"),
            None => "/v1/sync?limit=50".into(),
        };
        let page = get_json(app, &path, token).await;
        changes += page["changes"].as_array().unwrap().len();
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        if !page["has_more"].as_bool().unwrap() {
            return (changes, cursor.unwrap());
        }
    }
}

/// A fresh, empty database's URL and name, and the server's maintenance URL.
async fn empty_database() -> (String, String, String) {
    let name = format!("runback_restored_{}", Uuid::new_v4().simple());
    let (url, maintenance) = database_url(&name).await;
    (url, name, maintenance)
}

#[tokio::test]
async fn a_backup_restored_into_a_new_database_serves_the_practice_as_it_was() {
    let app = spawn_app().await;
    let (admin, coach, ana) = app.riverside().await;
    let ana_id = ana.client_id.unwrap();
    let (hook, _) = {
        let res = app
            .post(
                "/v1/webhooks",
                Some(&admin.token),
                &json!({"url": "http://127.0.0.1:9/hooks", "events": ["flag.opened"]}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        (body["id"].as_str().unwrap().to_string(), body)
    };
    // Before the backup: an ordinary report, then a red one (a flag for Maya).
    report(&app, &ana.token, json!({"timing": "daily_life"})).await;
    report(
        &app,
        &ana.token,
        json!({"timing": "daily_life", "urine_leak": "large", "leak_trigger": "impact"}),
    )
    .await;
    let before_login: Value = app
        .login("ana@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (_, cursor_before) = sync_to_end(&app, &coach.token, None).await;
    let plan_path = format!("/v1/clients/{ana_id}/plan");
    let timeline_path = format!("/v1/clients/{ana_id}/timeline");
    let plan = get_json(&app, &plan_path, &coach.token).await;
    let timeline = get_json(&app, &timeline_path, &coach.token).await;
    let today = get_json(&app, "/v1/clients/me/plan/today", &ana.token).await;
    let flags = get_json(&app, "/v1/flags", &coach.token).await;
    let webhooks = get_json(&app, "/v1/webhooks", &admin.token).await;
    let audit_before: Vec<String> = app
        .audit_events(&admin.token, "?limit=200")
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!audit_before.is_empty());

    let dir = backup_dir("backup");
    let file = back_up(&app, &dir);

    // After the backup: a sign-in, a report, and a cursor past them; the restore takes them away.
    let after_login: Value = app
        .login("ana@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    report(&app, &ana.token, json!({"timing": "daily_life"})).await;
    let (_, cursor_after) = sync_to_end(&app, &coach.token, Some(cursor_before.clone())).await;
    assert_ne!(cursor_after, cursor_before);

    let (url, name, maintenance) = empty_database().await;
    let (ok, out) = runback(
        &app.db_url,
        &["restore", file.to_str().unwrap(), "--into", &url],
    );
    assert!(ok, "restore failed: {out}");
    assert!(
        out.contains("symptom_reports") && out.contains("audit_events"),
        "{out}"
    );
    let restored = start_app(url.clone(), name, maintenance, |_| {}).await;

    // Every record from before the backup, equal; the engine answers as it did.
    assert_eq!(get_json(&restored, &plan_path, &coach.token).await, plan);
    assert_eq!(
        get_json(&restored, &timeline_path, &coach.token).await,
        timeline
    );
    assert_eq!(
        get_json(&restored, "/v1/clients/me/plan/today", &ana.token).await,
        today
    );
    assert_eq!(get_json(&restored, "/v1/flags", &coach.token).await, flags);
    // (An endpoint's `updated_at` moves with each failed send: the dispatchers keep trying.)
    let endpoints = |mut v: Value| {
        for e in v["items"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("updated_at");
        }
        v
    };
    assert_eq!(
        endpoints(get_json(&restored, "/v1/webhooks", &admin.token).await),
        endpoints(webhooks)
    );
    assert_eq!(
        get_json(
            &restored,
            &format!("/v1/webhooks/{hook}/deliveries"),
            &admin.token
        )
        .await["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the flag's delivery is in the outbox"
    );
    let audit_after: Vec<String> = restored
        .audit_events(&admin.token, "?limit=200")
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    for id in &audit_before {
        assert!(audit_after.contains(id), "audit event {id} restored");
    }
    // The trail is still append-only.
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let changed = diesel::sql_query("UPDATE audit_events SET action = 'x'")
        .execute(&mut conn)
        .await;
    assert!(
        changed.unwrap_err().to_string().contains("append-only"),
        "the immutability trigger holds"
    );

    // A cursor from before the backup goes on; one issued after it is refused, and a fresh
    // sync starts over.
    let res = restored
        .get(
            &format!("/v1/sync?cursor={cursor_before}"),
            Some(&coach.token),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = restored
        .get(
            &format!("/v1/sync?cursor={cursor_after}"),
            Some(&coach.token),
        )
        .await;
    let problem = crate::helpers::assert_problem(res, 410).await;
    assert!(problem["type"]
        .as_str()
        .unwrap()
        .ends_with("cursor-expired"));
    assert!(problem["detail"].as_str().unwrap().contains("restored"));
    // A change made after the restore reaches the cursor from before the backup.
    report(&restored, &ana.token, json!({"timing": "daily_life"})).await;
    let (seen, _) = sync_to_end(&restored, &coach.token, Some(cursor_before)).await;
    assert!(seen >= 1, "the new report is in the feed");

    // A refresh token from after the backup is refused; one from before still works.
    let refresh = |t: &Value| json!({"refresh_token": t["refresh_token"]});
    let res = restored
        .post("/v1/auth/refresh", None, &refresh(&after_login))
        .await;
    assert_eq!(res.status(), 401);
    let res = restored
        .post("/v1/auth/refresh", None, &refresh(&before_login))
        .await;
    assert_eq!(res.status(), 200);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_damaged_or_truncated_backup_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    app.riverside().await;
    let dir = backup_dir("damaged");
    let file = back_up(&app, &dir);
    let bytes = std::fs::read(&file).unwrap();

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    std::fs::write(&file, &flipped).unwrap();
    let (url, name_db, maintenance) = empty_database().await;
    let (ok, out) = runback(
        &app.db_url,
        &["restore", file.to_str().unwrap(), "--into", &url],
    );
    assert!(!ok);
    assert!(out.contains("does not match its checksum"), "{out}");

    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    let (ok, out) = runback(
        &app.db_url,
        &["restore", file.to_str().unwrap(), "--into", &url],
    );
    assert!(!ok);
    assert!(out.contains("nothing was restored"), "{out}");

    // Truncated with a checksum to match (made by hand): pg_restore cannot read it.
    write_with_checksum(&file, &bytes[..bytes.len() / 3]);
    let (ok, out) = runback(
        &app.db_url,
        &["restore", file.to_str().unwrap(), "--into", &url],
    );
    assert!(!ok);
    assert!(
        out.contains("cannot be read; nothing was restored"),
        "{out}"
    );

    // Nothing was written: the target holds no table (it may not even exist).
    assert_eq!(tables_in(&url).await, 0);

    // Intact again, it restores; a second restore into the same database is refused.
    write_with_checksum(&file, &bytes);
    let args = ["restore", file.to_str().unwrap(), "--into", &url];
    let (ok, out) = runback(&app.db_url, &args);
    assert!(ok, "{out}");
    let (ok, out) = runback(&app.db_url, &args);
    assert!(!ok);
    assert!(out.contains("already holds"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
    let mut conn = AsyncPgConnection::establish(&maintenance).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name_db}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// With `BACKUP_DIR` set (the embedded mode's default), a service whose newest backup is over
/// a day old writes one as it starts, says so in its metrics, and removes the backups past
/// `BACKUP_KEEP` days. Here `BACKUP_KEY` holds only a public key: the service writes a backup
/// that only the secret key opens.
#[tokio::test]
async fn the_daily_backup_catches_up_at_start_keeps_its_days_and_is_a_metric() {
    let dir = backup_dir("daily");
    let old = dir.join("runback-20261101T023000Z-20261125000001.dump");
    std::fs::write(&old, b"an old backup").unwrap();
    std::fs::write(format!("{}.sha256", old.display()), b"x  old\n").unwrap();
    let twenty_days = std::time::Duration::from_secs(20 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - twenty_days)
        .unwrap();
    let generated = runback::backup::BackupKey::generate();
    let secret: runback::backup::BackupKey = generated.parse().unwrap();
    let public: runback::backup::BackupKey = secret.recipient().to_string().parse().unwrap();
    let app = crate::helpers::spawn_app_with(|s| {
        s.backup_dir = Some(dir.clone());
        s.backup_keep_days = 14;
        s.backup_key = Some(public);
    })
    .await;
    app.riverside().await;

    // Written at start (not at 02:30): wait for the file to appear.
    let mut written = None;
    for _ in 0..600 {
        written = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".dump.age"));
        if written.is_some() && !old.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let written = written.expect("a backup was written at start");
    runback::backup::verify(&written, Some(&secret), None).expect("the backup checks");
    assert!(
        runback::backup::verify(&written, None, None).is_err(),
        "not without the key"
    );
    assert!(!old.exists(), "the 20-day-old backup is removed");
    assert!(!std::path::Path::new(&format!("{}.sha256", old.display())).exists());

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let stamp: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("runback_backup_last_success_timestamp_seconds "))
        .expect("the metric is there")
        .trim()
        .parse()
        .unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - stamp).abs() < 3600,
        "the last success is now: {stamp}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A daily backup that cannot be written (here its folder is a file) is logged, and so is the
/// age of the last success; the service goes on serving.
#[tokio::test]
async fn a_daily_backup_that_fails_is_logged_with_the_age_of_the_last_one() {
    let dir = backup_dir("daily-fails");
    let not_a_folder = dir.join("a-file");
    std::fs::write(&not_a_folder, b"in the way").unwrap();
    let app = crate::helpers::spawn_app_with(|s| s.backup_dir = Some(not_a_folder.clone())).await;
    let logs = || crate::helpers::captured_logs();
    let mut seen = false;
    for _ in 0..300 {
        let text = logs();
        if text.contains("the daily backup failed")
            && text.contains("the last backup is over 26 hours old")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the failure and the backup's age are in the log");
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `bytes` as the backup `file` with a checksum file to match (made by hand, as a
/// damaged copy with a recomputed checksum would be).
fn write_with_checksum(file: &Path, bytes: &[u8]) {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    std::fs::write(file, bytes).unwrap();
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    std::fs::write(
        format!("{}.sha256", file.display()),
        format!("{sum}  {name}\n"),
    )
    .unwrap();
}

/// The tables of the public schema in the database at `url` (none when it does not exist).
async fn tables_in(url: &str) -> i64 {
    let Ok(mut conn) = AsyncPgConnection::establish(url).await else {
        return 0;
    };
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let tables: N =
        diesel::sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
            .get_result(&mut conn)
            .await
            .unwrap();
    tables.n
}

/// With `BACKUP_KEY` set, a backup is written encrypted (age's format: no table name, no
/// record readable in it), its checksum still checks without the key, and it restores only
/// with the secret key it was written for: without a key, with another one, with only the
/// public half, or damaged part-way, it is refused and nothing is written. With the key, the
/// restored service answers as the original did.
#[tokio::test]
async fn an_encrypted_backup_restores_only_with_its_key() {
    let app = spawn_app().await;
    let (_, coach, ana) = app.riverside().await;
    let ana_id = ana.client_id.unwrap();
    report(&app, &ana.token, json!({"timing": "daily_life"})).await;
    let timeline_path = format!("/v1/clients/{ana_id}/timeline");
    let timeline = get_json(&app, &timeline_path, &coach.token).await;

    let (ok, key) = runback(&app.db_url, &["backup-key"]);
    assert!(ok, "{key}");
    let public = key
        .lines()
        .next()
        .unwrap()
        .strip_prefix("# public key: ")
        .unwrap();
    assert!(public.starts_with("age1"), "{key}");
    let secret = key.lines().nth(1).unwrap();
    assert!(secret.starts_with("AGE-SECRET-KEY-1"), "{key}");

    let plain_dir = backup_dir("plain");
    let plain = std::fs::read(back_up(&app, &plain_dir)).unwrap();
    let dir = backup_dir("encrypted");
    let (ok, out) = runback_keyed(
        &app.db_url,
        &["backup", "--to", dir.to_str().unwrap()],
        Some(&key),
    );
    assert!(ok, "{out}");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".dump.age"))
        .expect("a .dump.age backup");
    let sealed = std::fs::read(&file).unwrap();
    assert!(
        sealed.starts_with(b"age-encryption.org/v1\n"),
        "age's format"
    );
    let readable =
        |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        readable(&plain, "symptom_reports"),
        "an unencrypted backup names its tables"
    );
    assert!(
        !readable(&sealed, "symptom_reports"),
        "an encrypted one does not"
    );
    let sums = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg(format!(
            "{}.sha256",
            file.file_name().unwrap().to_string_lossy()
        ))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "sha256sum -c checks it without the key"
    );

    let (url, name, maintenance) = empty_database().await;
    let restore = ["restore", file.to_str().unwrap(), "--into", &url];
    let (_, other_key) = runback(&app.db_url, &["backup-key"]);
    for (key, refusal) in [
        (None, "is encrypted: set BACKUP_KEY"),
        (Some(other_key.as_str()), "BACKUP_KEY does not open"),
        (Some(public), "holds only the public key"),
    ] {
        let (ok, out) = runback_keyed(&app.db_url, &restore, key);
        assert!(!ok && out.contains(refusal), "{refusal}: {out}");
        assert!(!out.contains(secret), "the key is never shown");
        assert_eq!(tables_in(&url).await, 0, "nothing written");
    }

    // Cut short, with a checksum to match: decryption fails part-way and pg_restore is
    // stopped before it sees an end.
    let cut = &sealed[..sealed.len() * 2 / 3];
    write_with_checksum(&file, cut);
    let (ok, out) = runback_keyed(&app.db_url, &restore, Some(&key));
    assert!(!ok && out.contains("damaged or incomplete"), "{out}");
    assert_eq!(tables_in(&url).await, 0, "nothing written");

    write_with_checksum(&file, &sealed);
    let (ok, out) = runback_keyed(&app.db_url, &restore, Some(secret));
    assert!(ok, "the secret key alone opens it: {out}");
    assert!(out.contains("symptom_reports"), "{out}");
    let restored = start_app(url, name, maintenance, |_| {}).await;
    assert_eq!(
        get_json(&restored, &timeline_path, &coach.token).await,
        timeline
    );

    // A service holding only the public half writes backups the secret key opens.
    let (ok, out) = runback_keyed(
        &app.db_url,
        &["backup", "--to", dir.to_str().unwrap()],
        Some(public),
    );
    assert!(ok, "{out}");
    let newest = out.split_whitespace().nth(1).unwrap();
    let secret_key: runback::backup::BackupKey = secret.parse().unwrap();
    runback::backup::verify(std::path::Path::new(newest), Some(&secret_key), None)
        .expect("the secret key opens what the public half wrote");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&plain_dir).unwrap();
}
