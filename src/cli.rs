//! The command line: run the service (the default), print the OpenAPI document, apply
//! migrations, or create an organization with its first admin.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use diesel_async::AsyncConnection;

use crate::auth::jwt::{JwtKeys, MIN_SECRET_BYTES};
use crate::auth::sealing::Sealer;
use crate::config::{redact_url, Settings};
use crate::db::embedded::{EmbeddedPostgres, NO_DATABASE_HELP};
use crate::db::{self, audit, organizations, users};
use crate::domain::identity::{EmailAddress, NewPassword, PersonName, Role};
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "runback",
    version,
    about = "Return-to-running after childbirth: the API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Print the OpenAPI document (`runback openapi > openapi/openapi.json`).
    Openapi,
    /// Back up the service's database (it may be serving): a compressed `pg_dump`, named with
    /// the time and the schema's version, and its SHA-256 beside it; encrypted (`.dump.age`)
    /// when `BACKUP_KEY` is set.
    Backup {
        /// The folder to write into.
        #[arg(long, default_value = "backups")]
        to: std::path::PathBuf,
    },
    /// Restore a backup into an empty database (checked first: checksum, readability, schema
    /// version), apply newer migrations, and print the rows restored per table.
    Restore {
        /// The backup file (`runback-<time>-<version>.dump`, or `.dump.age` opened with
        /// `BACKUP_KEY`; its `.sha256` beside it).
        from: std::path::PathBuf,
        /// The database to restore into (default: `DATABASE_URL`, else the private PostgreSQL).
        #[arg(long)]
        into: Option<String>,
        /// Drop what the database holds first (in the restore's own transaction).
        #[arg(long)]
        replace: bool,
    },
    /// Print a new key for encrypted backups (as `age-keygen` does): its public half in a
    /// comment, then the secret key to set as `BACKUP_KEY`. Keep a copy away from the backups.
    BackupKey,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a demo practice (admin, two coaches, a dozen clients at every stage) and print
    /// the logins.
    Demo,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organization (practice) and its first admin.
    Create {
        /// The organization's name.
        #[arg(long)]
        organization: String,
        /// The admin's email; her login.
        #[arg(long)]
        email: String,
        /// The admin's name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required, so it stays out of shell history).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// A database to work on, and the private server behind it, if we started one.
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// `DATABASE_URL` when set (creating the database if needed), otherwise our own server.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let (url, embedded) = match &settings.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let data_dir = settings.data_dir.clone();
                let bin_dir = settings.postgres_bin_dir.clone();
                let pg = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&data_dir, bin_dir.as_deref())
                })
                .await??;
                (pg.url("runback"), Some(pg))
            }
        };
        if let Err(e) = db::ensure_database(&url).await {
            if let Some(pg) = &embedded {
                pg.stop();
            }
            bail!("{e:#}\n\n{NO_DATABASE_HELP}");
        }
        match &embedded {
            Some(pg) => {
                tracing::info!(cluster = %pg.cluster_dir().display(), "using the embedded PostgreSQL (Unix socket only)")
            }
            None => tracing::info!(database = %redact_url(&url), "using DATABASE_URL"),
        }
        Ok(Self { url, embedded })
    }

    pub fn close(self) {
        if let Some(pg) = self.embedded {
            pg.stop();
        }
    }
}

/// The access-token secret: `JWT_SECRET`, or in the embedded mode one generated once and kept
/// under the data folder.
fn jwt_secret(settings: &Settings) -> anyhow::Result<String> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    if settings.database_url.is_some() {
        bail!("JWT_SECRET is required when DATABASE_URL is set (at least {MIN_SECRET_BYTES} bytes; e.g. `openssl rand -hex 32`)");
    }
    let path = settings.data_dir.join("jwt_secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().to_string());
    }
    let secret = crate::auth::secrets::generate("");
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated an access-token secret for the embedded mode");
    Ok(secret)
}

/// The key that seals webhook signing secrets: `WEBHOOK_SECRET_KEY`, or in the embedded mode
/// one generated once and kept under the data folder (like the access-token secret).
fn webhook_secret_key(settings: &Settings) -> anyhow::Result<String> {
    if let Some(key) = &settings.webhook_secret_key {
        return Ok(key.clone());
    }
    // The embedded mode only: with `DATABASE_URL`, `check_secrets` requires the key.
    let path = settings.data_dir.join("webhook_secret_key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    let key = crate::auth::sealing::Sealer::generate_key();
    write_private(&path, &key)?;
    tracing::info!(path = %path.display(), "generated a webhook secret key for the embedded mode");
    Ok(key)
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    crate::telemetry::init(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Openapi => {
            print!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::Migrate => {
            let database = Database::open(&settings).await?;
            let applied = db::run_migrations(&database.url).await;
            database.close();
            println!("applied {} migration(s)", applied?);
            Ok(())
        }
        Command::Demo => demo(settings).await,
        Command::Backup { to } => backup(settings, &to).await,
        Command::BackupKey => {
            print!("{}", crate::backup::BackupKey::generate());
            Ok(())
        }
        Command::Restore {
            from,
            into,
            replace,
        } => restore(settings, &from, into, replace).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    organization,
                    email,
                    name,
                    password_stdin: _,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let database = Database::open(&settings).await?;
            let result = async {
                db::run_migrations(&database.url).await?;
                create_admin(
                    &database.url,
                    &organization,
                    &email,
                    name.as_deref(),
                    &password,
                )
                .await
            }
            .await;
            database.close();
            let (organization_id, admin_id) = result?;
            println!("organization_id={organization_id}");
            println!("admin_user_id={admin_id}");
            println!(
                "Sign in: POST /v1/auth/login with {{\"email\": \"{}\", \"password\": \"…\"}}",
                email.trim()
            );
            Ok(())
        }
    }
}

/// `runback backup`: the service's database into `to`.
async fn backup(settings: Settings, to: &Path) -> anyhow::Result<()> {
    let database = Database::open(&settings).await?;
    let written = crate::backup::backup(
        &database.url,
        to,
        settings.backup_key.as_ref(),
        settings.postgres_bin_dir.as_deref(),
    )
    .await;
    database.close();
    let written = written?;
    println!(
        "backup {} ({} bytes, schema {}); checksum in {}.sha256",
        written.file.display(),
        written.bytes,
        written.version,
        written.file.display()
    );
    Ok(())
}

/// `runback restore`: into `--into`, else the service's own database.
async fn restore(
    mut settings: Settings,
    from: &Path,
    into: Option<String>,
    replace: bool,
) -> anyhow::Result<()> {
    if into.is_some() {
        settings.database_url = into;
    }
    let database = Database::open(&settings).await?;
    let restored = crate::backup::restore(
        from,
        &database.url,
        replace,
        settings.backup_key.as_ref(),
        settings.postgres_bin_dir.as_deref(),
    )
    .await;
    database.close();
    let restored = restored?;
    println!(
        "restored {} (schema {}, {} newer migration(s) applied) into {}",
        from.display(),
        restored.version,
        restored.migrated,
        redact_url(&database_url_shown(&settings))
    );
    for (table, rows) in &restored.counts {
        println!("  {table:<28} {rows:>10}");
    }
    Ok(())
}

fn database_url_shown(settings: &Settings) -> String {
    settings
        .database_url
        .clone()
        .unwrap_or_else(|| "the private PostgreSQL (database runback)".into())
}

/// `runback demo`: the demo practice on a migrated database, and its sign-ins.
async fn demo(settings: Settings) -> anyhow::Result<()> {
    let database = Database::open(&settings).await?;
    let result = async {
        db::run_migrations(&database.url).await?;
        let mut conn = crate::db::tls::connect(&database.url).await?;
        crate::demo::create(&mut conn, chrono::Utc::now().date_naive()).await
    }
    .await;
    database.close();
    let demo = result?;
    println!(
        "{} Sign in with any of these, password \"{}\":",
        if demo.created {
            "Demo practice created."
        } else {
            "The demo practice exists already."
        },
        crate::demo::DEMO_PASSWORD
    );
    for (email, role) in demo.logins {
        println!("  {role:<7} {email}");
    }
    Ok(())
}

/// Refuses, before anything starts, access-token secrets that anyone could know and webhook
/// secret keys that are not keys.
fn check_secrets(settings: &Settings) -> anyhow::Result<()> {
    for (name, secret) in [
        ("JWT_SECRET", &settings.jwt_secret),
        ("JWT_PREVIOUS_SECRET", &settings.jwt_previous_secret),
    ] {
        if let Some(secret) = secret {
            crate::auth::jwt::check_secret(name, secret)?;
        }
    }
    if let Some(key) = &settings.webhook_secret_key {
        Sealer::new(key, settings.webhook_secret_previous_key.as_deref())?;
    } else if settings.database_url.is_some() {
        bail!("WEBHOOK_SECRET_KEY is required when DATABASE_URL is set (64 hex digits; e.g. `openssl rand -hex 32`): it seals webhook signing secrets");
    } else if settings.webhook_secret_previous_key.is_some() {
        bail!("WEBHOOK_SECRET_PREVIOUS_KEY needs WEBHOOK_SECRET_KEY, the key it is replaced by");
    }
    Ok(())
}

/// The retired access-token secret and the instant it was retired, which must come together.
fn previous_key(
    settings: &Settings,
) -> anyhow::Result<Option<(&str, chrono::DateTime<chrono::Utc>)>> {
    match (
        settings.jwt_previous_secret.as_deref(),
        settings.jwt_previous_secret_until,
    ) {
        (Some(secret), Some(until)) => Ok(Some((secret, until))),
        (Some(_), None) => anyhow::bail!(
            "JWT_PREVIOUS_SECRET needs JWT_PREVIOUS_SECRET_UNTIL: the instant (RFC 3339) it was retired; tokens it signed after that are refused"
        ),
        (None, _) => Ok(None),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    check_secrets(&settings)?;
    let database = Database::open(&settings).await?;
    let result = async {
        let secret = jwt_secret(&settings)?;
        let jwt = JwtKeys::new(&secret, previous_key(&settings)?, settings.access_token_ttl)?;
        let applied = db::run_migrations(&database.url).await?;
        tracing::info!(applied, "migrations up to date");
        let pool = db::build_pool(&database.url, &settings)?;
        let key = webhook_secret_key(&settings)?;
        let sealer = Sealer::new(&key, settings.webhook_secret_previous_key.as_deref())?;
        let sealed = crate::webhooks::seal_stored(&pool, &sealer).await?;
        if sealed > 0 {
            tracing::info!(
                sealed,
                "webhook signing secrets sealed under WEBHOOK_SECRET_KEY"
            );
        }
        crate::auth::password::warm_up();
        let bind = settings.bind_addr.clone();
        // From here on the URL is the one in use, the private server's included (the token
        // cache listens for changes on it).
        let mut settings = settings;
        settings.database_url = Some(database.url.clone());
        settings.webhook_secret_key = Some(key);
        let app = Application::build(settings, pool, jwt)?;
        let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        tracing::info!(
            "listening on http://{host}:{port} (interactive docs: http://{host}:{port}/docs)",
            port = app.port()
        );
        app.stop_on_signals();
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    }
    .await;
    database.close();
    result
}

/// Creates an organization and its first admin; returns their ids.
pub async fn create_admin(
    url: &str,
    organization: &str,
    email: &str,
    name: Option<&str>,
    password: &str,
) -> anyhow::Result<(uuid::Uuid, uuid::Uuid)> {
    let organization =
        PersonName::parse(organization).map_err(|m| anyhow::anyhow!("--organization {m}"))?;
    let email = EmailAddress::parse(email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
    let default_name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("admin")
        .to_string();
    let name = PersonName::parse(name.unwrap_or(&default_name))
        .map_err(|m| anyhow::anyhow!("--name {m}"))?;
    let password = NewPassword::parse(password).map_err(|m| anyhow::anyhow!("the password {m}"))?;
    let hash = crate::auth::password::hash(password.expose().to_string()).await?;
    let mut conn = crate::db::tls::connect(url).await?;
    let (org, admin) = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            if users::email_in_use(conn, email.as_str()).await? {
                bail!(
                    "an account with the email {} already exists; choose another email",
                    email.as_str()
                );
            }
            let org = organizations::insert(conn, organization.as_str()).await?;
            crate::db::programs::create_default(conn, org.id).await?;
            let admin = users::insert(
                conn,
                users::NewUser {
                    organization_id: org.id,
                    role: Role::Admin,
                    name: name.as_str(),
                    email: email.as_str(),
                    password_hash: Some(&hash),
                    client_id: None,
                },
            )
            .await?;
            audit::record(
                conn,
                org.id,
                audit::Actor::System,
                "admin.create",
                "user",
                admin.id,
                serde_json::json!({"organization": org.name, "email": admin.email, "role": "admin"}),
            )
            .await?;
            Ok((org, admin))
        })
        .await?;
    Ok((org.id.into(), admin.id.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_previous_secret_needs_the_instant_it_was_retired() {
        let mut settings = Settings::for_database(String::new(), "s".into());
        assert!(previous_key(&settings).unwrap().is_none());
        settings.jwt_previous_secret = Some("the-retired-access-token-secret-32b".into());
        let err = previous_key(&settings).unwrap_err().to_string();
        assert!(err.contains("JWT_PREVIOUS_SECRET_UNTIL"), "{err}");
        let until = chrono::Utc::now();
        settings.jwt_previous_secret_until = Some(until);
        assert_eq!(
            previous_key(&settings).unwrap(),
            Some(("the-retired-access-token-secret-32b", until))
        );
    }
}
