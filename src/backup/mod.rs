//! Backups a practice can restore: `runback backup` writes a consistent, compressed copy of the
//! service's database (`pg_dump`'s custom format, one snapshot, taken while the service serves)
//! named with the time and the schema's migration version, with a SHA-256 checksum file beside
//! it, encrypted when `BACKUP_KEY` is set (`key.rs`); `runback restore` checks the checksum and
//! the version, restores into an empty database in one transaction (nothing is written when
//! anything fails), applies newer migrations, marks the restore in the change feed (a cursor
//! issued after the backup is refused, 410, instead of skipping what the restore took away),
//! and says what it restored, table by table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context};
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::db::{self, embedded::EmbeddedPostgres};

mod daily;
mod key;
pub use crate::config::BackupKey;
pub use daily::{expired, next_run, run_daily, Daily};
pub use key::is_encrypted;

/// A backup written: its file, the migration version of its schema and its size.
#[derive(Debug)]
pub struct Written {
    pub file: PathBuf,
    pub version: String,
    pub bytes: u64,
}

/// What a restore brought back.
#[derive(Debug)]
pub struct Restored {
    pub version: String,
    /// Migrations applied after the restore (the backup was made by an older runback).
    pub migrated: usize,
    /// Rows per table, by table name.
    pub counts: Vec<(String, i64)>,
}

/// The PostgreSQL client program `name` (`pg_dump`, `pg_restore`): beside the machine's server
/// binaries (`POSTGRES_BIN_DIR`, `pg_config --bindir`, …) when there are some, else on `PATH`.
fn program(bin_dir: Option<&Path>, name: &str) -> PathBuf {
    EmbeddedPostgres::find_bin_dir(bin_dir)
        .map(|dir| dir.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Points a PostgreSQL client at `url` with the password, if the URL holds one, in the
/// child's environment (`PGPASSWORD`) rather than on its command line, where any user of the
/// machine could read it.
fn connect_to(command: &mut Command, url: &str) {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let password = percent_encoding::percent_decode_str(parsed.password().unwrap_or(""))
                .decode_utf8_lossy()
                .to_string();
            let _ = parsed.set_password(None);
            command
                .env("PGPASSWORD", password)
                .arg("--dbname")
                .arg(parsed.as_str());
        }
        _ => {
            command.arg("--dbname").arg(url);
        }
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<Output> {
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {what} (is PostgreSQL's client installed?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The newest migration applied to the database at `url`.
async fn schema_version(conn: &mut AsyncPgConnection) -> anyhow::Result<String> {
    let v: Version =
        diesel::sql_query("SELECT max(version) AS version FROM __diesel_schema_migrations")
            .get_result(conn)
            .await
            .context("reading the schema's migration version (is this runback's database?)")?;
    Ok(v.version)
}

/// The newest migration this build knows.
pub fn known_version() -> String {
    use diesel::migration::MigrationSource;
    let migrations: Vec<_> =
        MigrationSource::<diesel::pg::Pg>::migrations(&db::MIGRATIONS).unwrap_or_default();
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .unwrap_or_default()
}

/// The SHA-256 of a file, as hex.
fn sha256_of(file: &Path) -> anyhow::Result<String> {
    let mut reader =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher)
        .with_context(|| format!("reading {}", file.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The checksum file beside a backup: `sha256sum`'s format, so `sha256sum -c` checks it too.
fn checksum_file(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes a backup of the database at `url` into `dir`:
/// `runback-<UTC time>-<migration version>.dump` and its `.sha256`, or `.dump.age` encrypted to
/// `key`. The file appears only when complete (written under a `.partial` name, then renamed);
/// the checksum is of the file as written, so `sha256sum -c` checks it without the key.
pub async fn backup(
    url: &str,
    dir: &Path,
    key: Option<&BackupKey>,
    bin_dir: Option<&Path>,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut conn = db::tls::connect(url)
        .await
        .context("connecting to the database to back up")?;
    let version = schema_version(&mut conn).await?;
    drop(conn);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let suffix = if key.is_some() { ".dump.age" } else { ".dump" };
    let file = dir.join(format!("runback-{stamp}-{version}{suffix}"));
    let partial = dir.join(format!("runback-{stamp}-{version}{suffix}.partial"));
    let mut dump = Command::new(program(bin_dir, "pg_dump"));
    dump.args([
        "--format=custom",
        "--compress=6",
        "--no-owner",
        "--no-privileges",
    ]);
    connect_to(&mut dump, url);
    let (key, into) = (key.cloned(), partial.clone());
    let dumped = tokio::task::spawn_blocking(move || match key {
        Some(key) => key::dump_encrypted(dump, &into, &key, "pg_dump"),
        None => run(dump.arg("--file").arg(&into), "pg_dump").map(|_| ()),
    })
    .await?;
    if let Err(e) = dumped {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let sum = sha256_of(&partial)?;
    let name = file.file_name().expect("a file name").to_string_lossy();
    std::fs::write(checksum_file(&file), format!("{sum}  {name}\n"))
        .context("writing the checksum file")?;
    std::fs::rename(&partial, &file).context("naming the finished backup")?;
    let bytes = std::fs::metadata(&file)?.len();
    Ok(Written {
        file,
        version,
        bytes,
    })
}

/// The migration version a backup's name carries (`runback-<time>-<version>.dump[.age]`).
fn version_in_name(file: &Path) -> anyhow::Result<String> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    name.strip_suffix(".dump")
        .or_else(|| name.strip_suffix(".dump.age"))
        .and_then(|n| n.rsplit('-').next())
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        .map(String::from)
        .with_context(|| {
            format!("{name} is not named as runback names backups (runback-<time>-<version>.dump)")
        })
}

/// Checks a backup before anything is written: its checksum file matches, `key` opens it (when
/// it is encrypted), `pg_restore` can read it to its end, and its schema is not newer than this
/// build's. Returns its migration version.
pub fn verify(
    file: &Path,
    key: Option<&BackupKey>,
    bin_dir: Option<&Path>,
) -> anyhow::Result<String> {
    let version = version_in_name(file)?;
    let sums = checksum_file(file);
    let expected = std::fs::read_to_string(&sums).with_context(|| {
        format!(
            "reading {} (a backup comes with its checksum)",
            sums.display()
        )
    })?;
    let expected = expected.split_whitespace().next().unwrap_or_default();
    if sha256_of(file)? != expected {
        bail!(
            "{} does not match its checksum: the backup is damaged or incomplete; nothing was restored",
            file.display()
        );
    }
    if is_encrypted(file) {
        key::decrypting(file, key)?;
    }
    let mut list = Command::new(program(bin_dir, "pg_restore"));
    list.arg("--list");
    pg_restore(list, file, key, "pg_restore --list")
        .context("the backup cannot be read; nothing was restored")?;
    let known = known_version();
    if version > known {
        bail!(
            "the backup's schema ({version}) is newer than this runback's ({known}): restore it with a newer runback"
        );
    }
    Ok(version)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The tables of the public schema and their rows.
async fn table_counts(conn: &mut AsyncPgConnection) -> anyhow::Result<Vec<(String, i64)>> {
    let names: Vec<Version> = diesel::sql_query(
        "SELECT tablename AS version FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .load(conn)
    .await?;
    let mut counts = Vec::new();
    for t in names {
        let c: Count = diesel::sql_query(format!(
            "SELECT '{0}'::text AS name, count(*) AS n FROM \"{0}\"",
            t.version.replace('"', "\"\"").replace('\'', "''")
        ))
        .get_result(conn)
        .await?;
        counts.push((c.name, c.n));
    }
    Ok(counts)
}

/// Restores `file` into the database at `url` (created if missing). Refuses a database that
/// holds tables unless `replace`, in which case what it holds is dropped first, in the same
/// transaction as the restore.
pub async fn restore(
    file: &Path,
    url: &str,
    replace: bool,
    key: Option<&BackupKey>,
    bin_dir: Option<&Path>,
) -> anyhow::Result<Restored> {
    let version = verify(file, key, bin_dir)?;
    db::ensure_database(url).await?;
    let mut conn = db::tls::connect(url).await?;
    let existing = table_counts(&mut conn).await?;
    if !existing.is_empty() && !replace {
        bail!(
            "the database already holds {} tables; restore into an empty database, or pass --replace to drop what it holds",
            existing.len()
        );
    }
    drop(conn);
    let mut command = Command::new(program(bin_dir, "pg_restore"));
    command.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]);
    if replace {
        command.args(["--clean", "--if-exists"]);
    }
    connect_to(&mut command, url);
    let (file, key) = (file.to_path_buf(), key.cloned());
    tokio::task::spawn_blocking(move || pg_restore(command, &file, key.as_ref(), "pg_restore"))
        .await?
        .context("restoring; the transaction rolled back and nothing was written")?;
    let migrated = db::run_migrations(url).await?;
    let mut conn = db::tls::connect(url).await?;
    mark_restore(&mut conn).await?;
    let counts = table_counts(&mut conn).await?;
    Ok(Restored {
        version,
        migrated,
        counts,
    })
}

/// Runs `pg_restore` on `file`: named on its command line, or decrypted into its standard input.
fn pg_restore(
    mut command: Command,
    file: &Path,
    key: Option<&BackupKey>,
    what: &str,
) -> anyhow::Result<()> {
    if is_encrypted(file) {
        key::feed_decrypted(command, file, key, what)
    } else {
        run(command.arg(file), what).map(|_| ())
    }
}

/// Leaves a gap in the change feed's commit positions: every position a cursor issued after
/// the backup may hold is never issued again, and a cursor inside the gap gets 410.
async fn mark_restore(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        diesel::sql_query(
            "WITH last AS (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
                                   AS next FROM sync_commit_seq),
                  jumped AS (SELECT setval('sync_commit_seq', next + 1099511627776, false) AS gap_to
                               FROM last)
             INSERT INTO sync_restores (gap_from, gap_to)
             SELECT last.next, jumped.gap_to FROM last, jumped",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_goes_to_the_environment_not_the_command_line() {
        let mut command = Command::new("pg_dump");
        connect_to(
            &mut command,
            "postgres://app:s%40cret@db.example.com:5432/runback?sslmode=require",
        );
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert_eq!(
            args,
            [
                "--dbname",
                "postgres://app@db.example.com:5432/runback?sslmode=require"
            ]
        );
        let env: Vec<_> = command.get_envs().collect();
        assert_eq!(
            env,
            [(
                std::ffi::OsStr::new("PGPASSWORD"),
                Some(std::ffi::OsStr::new("s@cret"))
            )]
        );
        let mut plain = Command::new("pg_dump");
        connect_to(&mut plain, "postgres://postgres@127.0.0.1/runback");
        assert_eq!(plain.get_envs().count(), 0);
    }

    #[test]
    fn a_backups_version_is_read_from_its_name() {
        let v = version_in_name(Path::new("/b/runback-20261207T101500Z-20261207000027.dump"));
        assert_eq!(v.unwrap(), "20261207000027");
        assert!(version_in_name(Path::new("/b/dump.sql")).is_err());
        assert!(version_in_name(Path::new("/b/runback-x-.dump")).is_err());
    }

    #[test]
    fn this_build_knows_its_newest_migration() {
        let v = known_version();
        assert_eq!(v.len(), 14, "{v}");
        assert!(v.starts_with("2026"));
    }
}
