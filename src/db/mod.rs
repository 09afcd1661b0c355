//! The database floor: the connection pool, migrations, and one module of queries per
//! aggregate. Nothing above this floor writes SQL.

/// The filter "arrived after row `$after`" on a table of her records, for a page in server
/// arrival order, `(created_at, id)`: what a caller names her records never orders them. The
/// cursor names the page's last row and its arrival is read in the same statement; an id not
/// in the table matches nothing.
macro_rules! arrived_after {
    ($table:ident, $after:expr) => {{
        let after: uuid::Uuid = $after;
        let last = diesel::alias!($table as page_last);
        let at = last
            .filter(last.field($table::id).eq(after))
            .select(last.field($table::created_at))
            .single_value();
        $table::created_at
            .nullable()
            .gt(at.clone())
            .or($table::created_at
                .nullable()
                .eq(at)
                .and($table::id.gt(after)))
    }};
}

pub mod assessments;
pub mod audit;
pub mod check_ins;
pub mod clients;
pub mod columns;
pub mod embedded;
pub mod engine_runs;
pub mod erasure;
pub mod idempotency;
pub mod imports;
pub mod organizations;
pub mod plans;
pub mod programs;
pub mod progress;
pub mod reports;
pub mod schema;
pub mod sync;
pub mod throttles;
pub mod tls;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workouts;

use std::time::Duration;

use anyhow::Context;
use diesel::sql_query;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// A statement kept prepared on its connection and found again by its SQL text.
///
/// Diesel prepares and caches statements whose shape it knows from their types, but treats
/// `sql_query`, every `UPDATE`, and inserts with optional values as one-offs: PostgreSQL would
/// parse and plan them anew on every call (under load, its parser and planner topped the
/// profile). Wrap such a statement when its SQL text comes from a small,
/// fixed set (no lists whose length varies with the data); its cache entry is keyed by that
/// text and the bind types, so two different statements can never share one. Leave out
/// queries with optional filters (`$n IS NULL OR …`): once PostgreSQL keeps a prepared
/// statement it may settle on one generic plan for every combination of filters, and the
/// dashboard list ran four times slower that way.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

/// `.cached()` on any statement; see [`Cached`].
pub trait CachedExt: Sized {
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>> CachedExt for Q {}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Cached<Q>
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> diesel::query_builder::QueryId for Cached<Q> {
    // No static id: the cache key is the statement's SQL text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// A pool whose waits are bounded so requests fail fast with a 503. Connections are reused
/// without a test query (`RecyclingMethod::Fast`: a `SELECT 1` per checkout cost a round trip
/// on every request); one whose server went away is known as broken when it is handed back
/// (its socket closed) and is dropped, so a restarted PostgreSQL leaves no dead connections.
/// Every connection carries a statement timeout, and a transaction left idle is ended by the
/// server, so no request holds a connection or a lock for long.
pub fn build_pool(url: &str, settings: &crate::config::Settings) -> anyhow::Result<DbPool> {
    build_pool_with(url, settings, RecyclingMethod::Fast)
}

fn build_pool_with(
    url: &str,
    settings: &crate::config::Settings,
    recycling: RecyclingMethod<AsyncPgConnection>,
) -> anyhow::Result<DbPool> {
    // Contradictory TLS settings are refused here, at start, before any connection.
    let target = tls::Target::parse(url).map_err(|e| anyhow::anyhow!("the database URL: {e}"))?;
    if target.required_by_default {
        tracing::info!(
            "the database URL names a remote host and no sslmode: connecting with sslmode=require"
        );
    }
    let mut config = ManagerConfig::default();
    config.recycling_method = recycling;
    let statement_ms = settings.statement_timeout.as_millis();
    // Each connection's I/O runs as a task on the runtime that opens it. Open them on the
    // runtime that builds the pool (it lives as long as the service), not on whichever HTTP
    // worker asked first: a worker's runtime ends with the worker at shutdown, and would take
    // with it the connections other workers are still finishing requests on.
    let home = tokio::runtime::Handle::try_current().ok();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let home = home.clone();
        Box::pin(async move {
            let open = async move {
                let mut conn = tls::connect(&url).await?;
                conn.batch_execute(&format!(
                    "SET statement_timeout = {statement_ms}; SET idle_in_transaction_session_timeout = {}",
                    statement_ms * 2
                ))
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(conn)
            };
            match home {
                Some(runtime) => runtime.spawn(open).await.map_err(|e| {
                    diesel::ConnectionError::BadConnection(format!("opening a connection: {e}"))
                })?,
                None => open.await,
            }
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let acquire = settings.acquire_timeout;
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(Some(acquire))
        .create_timeout(Some(acquire))
        .recycle_timeout(Some(acquire))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// The read replica's pool: like the primary's, but a connection is checked before it is handed
/// out (a replica may go away on its own) and a wait is short, so a missing replica costs a
/// heavy read little before it goes to the primary.
pub fn build_replica_pool(url: &str, settings: &crate::config::Settings) -> anyhow::Result<DbPool> {
    let mut settings = settings.clone();
    settings.acquire_timeout = settings.acquire_timeout.min(Duration::from_millis(500));
    build_pool_with(url, &settings, RecyclingMethod::Verified)
}

/// Applies every pending embedded migration. Runs on a blocking thread: diesel's migration
/// harness is synchronous.
pub async fn run_migrations(url: &str) -> anyhow::Result<usize> {
    let conn = tls::connect(url)
        .await
        .context("connecting to run migrations")?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
        Ok(applied.len())
    })
    .await
    .context("migration task")?
}

/// The same server's maintenance database URL and the name of the database in `url`.
pub fn split_database_url(url: &str) -> anyhow::Result<(String, String)> {
    let mut parsed = url::Url::parse(url).context("DATABASE_URL is not a valid URL")?;
    let name = parsed.path().trim_start_matches('/').to_string();
    if name.is_empty() {
        anyhow::bail!("DATABASE_URL names no database (expected …/DBNAME)");
    }
    let name = percent_decode(&name);
    parsed.set_path("/postgres");
    Ok((parsed.to_string(), name))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Creates the database named in `url` when it does not exist yet.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let (maintenance, name) = split_database_url(url)?;
    if tls::connect(url).await.is_ok() {
        return Ok(());
    }
    let mut conn = tls::connect(&maintenance).await.with_context(|| {
        format!(
            "cannot reach PostgreSQL at {}",
            crate::config::redact_url(&maintenance)
        )
    })?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match sql_query(format!("CREATE DATABASE {quoted}"))
        .execute(&mut conn)
        .await
    {
        Ok(_) => {
            tracing::info!(database = %name, "created the database");
            Ok(())
        }
        // Another process created it in the meantime.
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(e).context(format!("creating database {name}")),
    }
}

/// Answers whether the database responds within `timeout`.
pub async fn ping(pool: &DbPool, timeout: Duration) -> Result<(), String> {
    let check = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_url_into_maintenance_and_name() {
        let (m, n) =
            split_database_url("postgres://u:p@localhost:5432/runback?sslmode=disable").unwrap();
        assert_eq!(n, "runback");
        assert_eq!(m, "postgres://u:p@localhost:5432/postgres?sslmode=disable");
    }

    #[test]
    fn socket_urls_keep_their_host() {
        let (m, n) = split_database_url("postgres:///app?host=%2Ftmp%2Fpg&user=postgres").unwrap();
        assert_eq!(n, "app");
        assert_eq!(m, "postgres:///postgres?host=%2Ftmp%2Fpg&user=postgres");
    }

    #[tokio::test]
    async fn contradictory_tls_settings_are_refused_before_any_connection() {
        let settings = crate::config::Settings::for_database(String::new(), "s".into());
        let Err(err) = build_pool(
            "postgres://db.example.org/runback?host=/run/postgresql&sslmode=verify-full&sslrootcert=system",
            &settings,
        ) else {
            panic!("a Unix socket with sslmode=verify-full must be refused");
        };
        assert!(err.to_string().contains("Unix socket"), "{err}");
        assert!(build_pool("postgres://127.0.0.1/runback", &settings).is_ok());
    }
}
