//! Configuration: environment variables only (12-factor). Every variable, its default and its
//! meaning is listed in the README; `Settings::from_env` is the one place that reads them.

use std::path::PathBuf;
use std::time::Duration;

mod backup_key;
pub use backup_key::BackupKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`; `None` means "run our own PostgreSQL under `data_dir`".
    pub database_url: Option<String>,
    /// `DATABASE_READ_URL`: a streaming replica for heavy reads (`replica`); default none.
    pub database_read_url: Option<String>,
    /// `REPLICA_MAX_LAG_MS` (default 1000): a heavy read goes to the replica only while its
    /// replay is at most this far behind; else to the primary. A replica further behind would
    /// still show a coach a client moved away from her, or an erased one.
    pub replica_max_lag: Duration,
    /// `BIND_ADDR`, default `127.0.0.1:8080`.
    pub bind_addr: String,
    /// `JWT_SECRET`: required when `DATABASE_URL` is set; the embedded mode keeps one under `data_dir`.
    pub jwt_secret: Option<String>,
    /// `JWT_PREVIOUS_SECRET`: still accepted for verification during a key rotation.
    pub jwt_previous_secret: Option<String>,
    /// `JWT_PREVIOUS_SECRET_UNTIL`: the instant (RFC 3339) the previous secret was retired;
    /// required with it. Tokens it signed at or after that instant are refused.
    pub jwt_previous_secret_until: Option<chrono::DateTime<chrono::Utc>>,
    /// `ACCESS_TOKEN_TTL_SECONDS`, default 900 (15 min, also the maximum).
    pub access_token_ttl: Duration,
    /// `DATABASE_POOL_SIZE`, default four per CPU core (at least 4, at most 32): PostgreSQL
    /// backends beyond a few per core only queue for the CPU, and lengthen the slowest answers.
    pub pool_size: usize,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`, default 2000: how long a request waits for a connection before a 503.
    pub acquire_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`, default 5000: the longest one SQL statement may run
    /// (a transaction left idle is ended after twice that).
    pub statement_timeout: Duration,
    /// `EXPENSIVE_REQUESTS_PER_MINUTE`, default 30: imports and exports, per caller and per IP.
    pub expensive_requests_per_minute: u32,
    /// `CLIENT_REQUEST_TIMEOUT_MS`, default 10000: a client must send a request's head within
    /// this time (slow senders are cut off).
    pub client_request_timeout: Duration,
    /// `SHUTDOWN_DRAIN_MS`, default 2000: after SIGTERM, how long the service keeps serving
    /// while `/readyz` says 503, before it closes its listener.
    pub shutdown_drain: Duration,
    /// `WEBHOOK_ALLOW_HTTP`, default false: accept `http://` webhook URLs (local development).
    pub webhook_allow_http: bool,
    /// `WEBHOOK_POLL_MS`, default 1000: how often due webhook deliveries are looked for.
    pub webhook_poll: Duration,
    /// `WEBHOOK_RETRY_BASE_MS`, default 5000: the first retry's delay; later ones grow to 10 h.
    pub webhook_retry_base: Duration,
    /// `WEBHOOK_RETRY_WINDOW_SECS`, default 86400: how long a delivery is retried before it
    /// fails and its endpoint is disabled.
    pub webhook_retry_window: Duration,
    /// `DATA_DIR`, default `./data`: the embedded PostgreSQL and its generated secret live here.
    pub data_dir: PathBuf,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `LOGIN_ATTEMPTS_PER_MINUTE`, default 10: per IP address and per account.
    pub login_attempts_per_minute: u32,
    /// `JSON_BODY_LIMIT_BYTES`, default 65536.
    pub json_body_limit: usize,
    /// `HTTP_WORKERS`, default: one per CPU core.
    pub http_workers: usize,
    /// `POSTGRES_BIN_DIR`: where the PostgreSQL server binaries are, for the embedded mode;
    /// default: found through `pg_config`, `PATH` or `/usr/lib/postgresql/*/bin`.
    pub postgres_bin_dir: Option<PathBuf>,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins (`https://app.example.org`) whose browser
    /// pages may call the API; default none.
    pub cors_allowed_origins: Vec<String>,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of the load balancers whose
    /// `Forwarded`/`X-Forwarded-*` headers are believed; default none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `FORWARDED_HEADER`: the one header the trusted proxies write, `x-forwarded-for` (default;
    /// with `X-Forwarded-Proto`/`-Host`) or `forwarded` (RFC 7239). The other is ignored, so a
    /// caller cannot add the one the proxy does not overwrite.
    pub forwarded_header: ForwardedHeader,
    /// `METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// `WEBHOOK_ALLOW_PRIVATE`, default false: deliver webhooks to loopback and private
    /// addresses (local development only).
    pub webhook_allow_private: bool,
    /// `WEBHOOK_SECRET_KEY`: 64 hex digits (32 bytes) sealing webhook signing secrets
    /// (`auth::sealing`); required when `DATABASE_URL` is set, the embedded mode keeps one
    /// under `data_dir`.
    pub webhook_secret_key: Option<String>,
    /// `WEBHOOK_SECRET_PREVIOUS_KEY`: during a rotation, the key secrets were sealed under
    /// until now; they are resealed under the new one at start.
    pub webhook_secret_previous_key: Option<String>,
    /// `BACKUP_DIR`: where the daily backup is written (`runback backup`'s files); default
    /// `<DATA_DIR>/backups` in the embedded mode and none with `DATABASE_URL`; `off`: none.
    pub backup_dir: Option<PathBuf>,
    /// `BACKUP_KEEP`, default 14: days a daily backup is kept (the newest always is).
    pub backup_keep_days: u32,
    /// `BACKUP_AT`, default `02:30`: the local time of day of the daily backup.
    pub backup_at: chrono::NaiveTime,
    /// `BACKUP_KEY`: the age key backups are encrypted to (`AGE-SECRET-KEY-1…`, or only its
    /// public half, `age1…`, to write backups this service cannot read); none: unencrypted.
    pub backup_key: Option<BackupKey>,
}

impl std::fmt::Debug for Settings {
    // Secrets stay out of logs and debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "database_read_url",
                &self.database_read_url.as_deref().map(redact_url),
            )
            .field("bind_addr", &self.bind_addr)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "webhook_secret_key",
                &self.webhook_secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("pool_size", &self.pool_size)
            .field("data_dir", &self.data_dir)
            .field("log_format", &self.log_format)
            .field("backup_key", &self.backup_key)
            .finish_non_exhaustive()
    }
}

/// A database URL without its password, fit for a log line.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable url>".into(),
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// This machine's CPU cores (2 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Four connections per core, 4 to 32: on two cores, 16 PostgreSQL backends busy at once put the
/// 99th percentile of a one-statement read at 50 ms, 8 kept it near 10 ms for the same
/// throughput (BENCHMARKS.md).
fn default_pool_size(cores: usize) -> usize {
    (4 * cores).clamp(4, 32)
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
    }
}

/// The backups' settings: where (`BACKUP_DIR`), how long, when, with which key.
type BackupSettings = (Option<PathBuf>, u32, chrono::NaiveTime, Option<BackupKey>);

/// `BACKUP_DIR` (default `DATA_DIR/backups` in the embedded mode, none with `DATABASE_URL`;
/// `off`: none), `BACKUP_KEEP` (days, at least 1), `BACKUP_AT` (local `HH:MM`) and `BACKUP_KEY`.
fn backup_settings() -> anyhow::Result<BackupSettings> {
    let dir = match var("BACKUP_DIR").as_deref() {
        Some("off") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None if var("DATABASE_URL").is_none() => {
            Some(PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into())).join("backups"))
        }
        None => None,
    };
    let keep = match parsed("BACKUP_KEEP", 14)? {
        0 => anyhow::bail!("BACKUP_KEEP must be at least 1 (days)"),
        days => days,
    };
    let at =
        chrono::NaiveTime::parse_from_str(var("BACKUP_AT").as_deref().unwrap_or("02:30"), "%H:%M")
            .map_err(|_| anyhow::anyhow!("BACKUP_AT: use a local time of day, HH:MM"))?;
    let key = var("BACKUP_KEY").map(|k| k.parse()).transpose()?;
    Ok((dir, keep, at, key))
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let ttl: u64 = parsed("ACCESS_TOKEN_TTL_SECONDS", 900)?;
        if ttl == 0 || ttl > 900 {
            anyhow::bail!("ACCESS_TOKEN_TTL_SECONDS must be between 1 and 900 (15 minutes)");
        }
        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => anyhow::bail!("LOG_FORMAT={other:?}: use `text` or `json`"),
        };
        let (backup_dir, backup_keep_days, backup_at, backup_key) = backup_settings()?;
        Ok(Self {
            database_url: var("DATABASE_URL"),
            database_read_url: var("DATABASE_READ_URL"),
            bind_addr: var("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt_secret: var("JWT_SECRET"),
            replica_max_lag: Duration::from_millis(parsed("REPLICA_MAX_LAG_MS", 1000)?),
            jwt_previous_secret: var("JWT_PREVIOUS_SECRET"),
            jwt_previous_secret_until: var("JWT_PREVIOUS_SECRET_UNTIL")
                .map(|v| {
                    chrono::DateTime::parse_from_rfc3339(&v)
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "JWT_PREVIOUS_SECRET_UNTIL: {v:?} is not an RFC 3339 instant"
                            )
                        })
                })
                .transpose()?,
            access_token_ttl: Duration::from_secs(ttl),
            pool_size: parsed("DATABASE_POOL_SIZE", default_pool_size(cores()))?,
            acquire_timeout: Duration::from_millis(parsed("DATABASE_ACQUIRE_TIMEOUT_MS", 2000)?),
            statement_timeout: Duration::from_millis(parsed(
                "DATABASE_STATEMENT_TIMEOUT_MS",
                5000,
            )?),
            expensive_requests_per_minute: parsed("EXPENSIVE_REQUESTS_PER_MINUTE", 30)?,
            client_request_timeout: Duration::from_millis(parsed(
                "CLIENT_REQUEST_TIMEOUT_MS",
                10_000,
            )?),
            shutdown_drain: Duration::from_millis(parsed("SHUTDOWN_DRAIN_MS", 2000)?),
            webhook_allow_http: parsed("WEBHOOK_ALLOW_HTTP", false)?,
            webhook_poll: Duration::from_millis(parsed("WEBHOOK_POLL_MS", 1000)?),
            webhook_retry_base: Duration::from_millis(parsed("WEBHOOK_RETRY_BASE_MS", 5000)?),
            webhook_retry_window: Duration::from_secs(parsed("WEBHOOK_RETRY_WINDOW_SECS", 86_400)?),
            data_dir: PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into())),
            log_format,
            login_attempts_per_minute: parsed("LOGIN_ATTEMPTS_PER_MINUTE", 10)?,
            json_body_limit: parsed("JSON_BODY_LIMIT_BYTES", 64 * 1024)?,
            http_workers: parsed("HTTP_WORKERS", cores())?,
            postgres_bin_dir: var("POSTGRES_BIN_DIR").map(PathBuf::from),
            cors_allowed_origins: origins(var("CORS_ALLOWED_ORIGINS").as_deref().unwrap_or(""))?,
            trusted_proxies: networks(var("TRUSTED_PROXIES").as_deref().unwrap_or(""))?,
            forwarded_header: ForwardedHeader::parse(
                var("FORWARDED_HEADER")
                    .as_deref()
                    .unwrap_or("x-forwarded-for"),
            )?,
            metrics_token: var("METRICS_TOKEN"),
            webhook_allow_private: parsed("WEBHOOK_ALLOW_PRIVATE", false)?,
            webhook_secret_key: var("WEBHOOK_SECRET_KEY"),
            webhook_secret_previous_key: var("WEBHOOK_SECRET_PREVIOUS_KEY"),
            backup_dir,
            backup_keep_days,
            backup_at,
            backup_key,
        })
    }

    /// Settings for tests and tools: defaults, with the given database.
    pub fn for_database(database_url: String, jwt_secret: String) -> Self {
        Self {
            database_url: Some(database_url),
            database_read_url: None,
            bind_addr: "127.0.0.1:0".into(),
            jwt_secret: Some(jwt_secret),
            replica_max_lag: Duration::from_millis(1000),
            jwt_previous_secret: None,
            jwt_previous_secret_until: None,
            access_token_ttl: Duration::from_secs(900),
            pool_size: 8,
            acquire_timeout: Duration::from_millis(2000),
            statement_timeout: Duration::from_millis(5000),
            expensive_requests_per_minute: 30,
            client_request_timeout: Duration::from_millis(10_000),
            shutdown_drain: Duration::from_millis(2000),
            webhook_allow_http: false,
            webhook_poll: Duration::from_millis(1000),
            webhook_retry_base: Duration::from_millis(5000),
            webhook_retry_window: Duration::from_secs(86_400),
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            login_attempts_per_minute: 10,
            json_body_limit: 64 * 1024,
            http_workers: 2,
            postgres_bin_dir: None,
            cors_allowed_origins: vec![],
            trusted_proxies: vec![],
            forwarded_header: ForwardedHeader::XForwardedFor,
            metrics_token: None,
            webhook_allow_private: false,
            // A random key of its own (`auth::sealing` reads it; 32 bytes as hex).
            webhook_secret_key: Some(hex::encode(rand::random::<[u8; 32]>())),
            webhook_secret_previous_key: None,
            backup_dir: None,
            backup_keep_days: 14,
            backup_at: chrono::NaiveTime::from_hms_opt(2, 30, 0).expect("a time of day"),
            backup_key: None,
        }
    }
}

/// Which header a trusted proxy writes the client's address (and scheme and host) into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For`, with `X-Forwarded-Proto` and `X-Forwarded-Host`.
    XForwardedFor,
    /// `Forwarded` (RFC 7239): `for=`, `proto=`, `host=`.
    Forwarded,
}

impl ForwardedHeader {
    fn parse(value: &str) -> anyhow::Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(anyhow::anyhow!(
                "FORWARDED_HEADER: {other:?} is not x-forwarded-for or forwarded"
            )),
        }
    }
}

/// The networks of a comma-separated list of CIDR ranges or single addresses.
fn networks(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse::<ipnet::IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("TRUSTED_PROXIES: {n:?} is not an address or CIDR range")
                })
        })
        .collect()
}

/// The origins of a comma-separated list, each `scheme://host[:port]` with nothing after.
fn origins(list: &str) -> anyhow::Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let url = url::Url::parse(o).map_err(|e| {
                anyhow::anyhow!("CORS_ALLOWED_ORIGINS: {o:?} is not an origin: {e}")
            })?;
            let origin = url.origin().ascii_serialization();
            anyhow::ensure!(
                matches!(url.scheme(), "http" | "https") && origin == o.trim_end_matches('/'),
                "CORS_ALLOWED_ORIGINS: {o:?} is not an origin (scheme://host[:port], no path)"
            );
            Ok(origin)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_has_four_connections_a_core_within_bounds() {
        assert_eq!(default_pool_size(1), 4);
        assert_eq!(default_pool_size(2), 8);
        assert_eq!(default_pool_size(6), 24);
        assert_eq!(default_pool_size(64), 32);
    }

    #[test]
    fn cors_origins_are_checked() {
        assert_eq!(origins("").unwrap(), Vec::<String>::new());
        assert_eq!(
            origins("https://app.example.org, http://localhost:5173").unwrap(),
            vec!["https://app.example.org", "http://localhost:5173"]
        );
        assert!(origins("https://app.example.org/path").is_err());
        assert!(origins("app.example.org").is_err());
        assert!(origins("*").is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let nets = networks("10.0.0.0/8, 127.0.0.1 ,::1").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(networks("").unwrap().is_empty());
        assert!(networks("10.0.0.0/33").is_err());
        assert!(networks("load-balancer").is_err());
    }

    #[test]
    fn redacts_password() {
        let r = redact_url("postgres://app:s3cret@db:5432/runback");
        assert!(!r.contains("s3cret"));
        assert!(r.contains("app"));
    }
}
