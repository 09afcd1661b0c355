//! Test harness: every test gets its own freshly migrated database (cloned from a migrated
//! template) and the real application on a random port, and talks HTTP to it.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::{Method, Response};
use runback::auth::jwt::JwtKeys;
use runback::config::Settings;
use runback::db;
use runback::startup::Application;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// This test run's access-token secret: random, like a real one (a fixed one would be a
/// published secret, which the service refuses at start).
pub fn jwt_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| runback::auth::secrets::generate(""))
}
/// This test run's key sealing webhook signing secrets: every app of the run shares it, as the
/// instances of a fleet do.
pub fn webhook_secret_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(runback::auth::sealing::Sealer::generate_key)
}
pub const PASSWORD: &str = "correct horse battery staple";

struct DbServer {
    /// Any database URL on the server; the name is swapped per test.
    base_url: String,
    template: String,
}

static DB_SERVER: OnceCell<DbServer> = OnceCell::const_new();

/// Every log line of the process, so tests can check that no secret is ever logged.
static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

struct LogSink;

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.get_or_init(Default::default)
            .lock()
            .unwrap()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber_init();
    });
}

fn tracing_subscriber_init() -> Result<(), Box<dyn std::error::Error>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info,runback=debug"))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(|| LogSink),
        )
        .try_init()?;
    Ok(())
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get_or_init(Default::default).lock().unwrap()).into_owned()
}

fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("database url");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

async fn db_server() -> &'static DbServer {
    DB_SERVER
        .get_or_init(|| async {
            let base_url = match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => url,
                _ => {
                    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
                    let pg = tokio::task::spawn_blocking(move || {
                        runback::db::embedded::EmbeddedPostgres::start(&data, None)
                    })
                    .await
                    .unwrap()
                    .expect("embedded PostgreSQL (or set DATABASE_URL)");
                    let url = pg.url("postgres");
                    // The server stays up for later test runs; `pg_ctl stop` ends it.
                    std::mem::forget(pg);
                    url
                }
            };
            let template = prepare_template(&base_url).await;
            DbServer { base_url, template }
        })
        .await
}

/// Creates (once per migration set) a migrated template database, and drops test databases
/// left behind by earlier runs.
async fn prepare_template(base_url: &str) -> String {
    let migrations: String = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten())
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("");
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut files: Vec<_> = migrations.lines().collect();
        files.sort();
        files.hash(&mut h);
        h.finish()
    };
    let template = format!("runback_template_{digest:016x}");
    let maintenance = with_database(base_url, "postgres");
    let mut conn = AsyncPgConnection::establish(&maintenance)
        .await
        .expect("connect to PostgreSQL");
    diesel::sql_query("SELECT pg_advisory_lock(727274)")
        .execute(&mut conn)
        .await
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'runback\\_t%'")
            .load(&mut conn)
            .await
            .unwrap();
    let now = chrono::Utc::now().timestamp();
    for name in &names {
        // runback_test_<unix seconds>_<random>: drop those over an hour old.
        let stale = name
            .datname
            .strip_prefix("runback_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|ts| ts.parse::<i64>().ok())
            .is_some_and(|ts| now - ts > 3600);
        if stale {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                name.datname
            ))
            .execute(&mut conn)
            .await;
        }
    }
    if !names.iter().any(|n| n.datname == template) {
        let building = format!("{template}_building");
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{building}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        db::run_migrations(&with_database(base_url, &building))
            .await
            .expect("migrations apply");
        diesel::sql_query(format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut conn)
        .await
        .unwrap();
    template
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_url: String,
    db_name: String,
    maintenance_url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future only waits for it.
        drop(self.handle.stop(false));
        let (url, name) = (self.maintenance_url.clone(), self.db_name.clone());
        // Drop the database from a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&url).await {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// The URL of database `name` on the test server (which may not exist yet), and the
/// server's maintenance database.
pub async fn database_url(name: &str) -> (String, String) {
    let server = db_server().await;
    (
        with_database(&server.base_url, name),
        with_database(&server.base_url, "postgres"),
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application on its own fresh database, with settings adjusted by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (db_url, db_name, maintenance_url) = fresh_database().await;
    start_app(db_url, db_name, maintenance_url, tweak).await
}

/// A new migrated database: its URL, its name, and the server's maintenance database URL.
pub async fn fresh_database() -> (String, String, String) {
    init_logs();
    let server = db_server().await;
    let db_name = format!(
        "runback_test_{}_{}",
        chrono::Utc::now().timestamp(),
        Uuid::new_v4().simple()
    );
    let maintenance_url = with_database(&server.base_url, "postgres");
    let mut conn = AsyncPgConnection::establish(&maintenance_url)
        .await
        .unwrap();
    let mut attempts = 0;
    loop {
        let created = diesel::sql_query(format!(
            "CREATE DATABASE \"{db_name}\" TEMPLATE \"{}\"",
            server.template
        ))
        .execute(&mut conn)
        .await;
        match created {
            Ok(_) => break,
            // Two clones of one template at the same instant can collide; try again.
            Err(e) if attempts < 50 && e.to_string().contains("being accessed") => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating the test database: {e}"),
        }
    }
    drop(conn);
    let db_url = with_database(&server.base_url, &db_name);
    (db_url, db_name, maintenance_url)
}

/// Starts the real application on an existing, migrated database; `db_name` is dropped
/// through `maintenance_url` when the app is dropped.
pub async fn start_app(
    db_url: String,
    db_name: String,
    maintenance_url: String,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    init_logs();
    let mut settings = Settings::for_database(db_url.clone(), jwt_secret().into());
    settings.webhook_secret_key = Some(webhook_secret_key().into());
    settings.login_attempts_per_minute = 1000;
    // Webhook receivers in tests listen on plain-HTTP loopback ports, and retries are quick.
    settings.webhook_allow_http = true;
    settings.webhook_allow_private = true;
    settings.webhook_poll = std::time::Duration::from_millis(50);
    settings.webhook_retry_base = std::time::Duration::from_millis(100);
    tweak(&mut settings);
    let pool_url = settings.database_url.clone().unwrap();
    let pool = db::build_pool(&pool_url, &settings).unwrap();
    let jwt = JwtKeys::new(
        settings.jwt_secret.as_deref().unwrap(),
        settings
            .jwt_previous_secret
            .as_deref()
            .zip(settings.jwt_previous_secret_until),
        settings.access_token_ttl,
    )
    .unwrap();
    let app = Application::build(settings, pool, jwt).expect("application builds");
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db_url,
        db_name,
        maintenance_url,
        handle,
    }
}

/// A signed-in person or token: what a test acts as.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// For a client: her record.
    pub client_id: Option<Uuid>,
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url).await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A new organization with its admin, signed in.
    pub async fn new_admin(&self, organization: &str, email: &str) -> Caller {
        let (organization_id, user_id) =
            runback::cli::create_admin(&self.db_url, organization, email, None, PASSWORD)
                .await
                .expect("admin created");
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 200, "admin login");
        let body: Value = res.json().await.unwrap();
        Caller {
            token: body["access_token"].as_str().unwrap().to_string(),
            user_id,
            organization_id,
            client_id: None,
        }
    }

    /// A coach added by `admin`, who accepted her invitation and is signed in.
    pub async fn new_coach(&self, admin: &Caller, name: &str, email: &str) -> Caller {
        let res = self
            .post(
                "/v1/coaches",
                Some(&admin.token),
                &json!({"name": name, "email": email}),
            )
            .await;
        assert_eq!(res.status(), 201, "coach created");
        let body: Value = res.json().await.unwrap();
        let res = self
            .post(
                "/v1/auth/invitations/accept",
                None,
                &json!({"token": body["invitation"]["token"], "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200, "invitation accepted");
        let pair: Value = res.json().await.unwrap();
        Caller {
            token: pair["access_token"].as_str().unwrap().to_string(),
            user_id: body["coach"]["id"].as_str().unwrap().parse().unwrap(),
            organization_id: admin.organization_id,
            client_id: None,
        }
    }

    /// A client added by `coach`, 100 days postpartum and cleared, who accepted her invitation
    /// and is signed in.
    pub async fn new_client(&self, coach: &Caller, name: &str, email: &str) -> Caller {
        let delivery = (chrono::Utc::now().date_naive() - chrono::Duration::days(100)).to_string();
        let client = self
            .create_client(
                coach,
                &json!({"name": name, "email": email, "delivery_date": delivery,
                "delivery_type": "vaginal", "cleared_for_exercise": true}),
            )
            .await;
        let id = client["id"].as_str().unwrap();
        let res = self
            .request(
                Method::POST,
                &format!("/v1/clients/{id}/invitation"),
                Some(&coach.token),
                None,
            )
            .await;
        assert_eq!(res.status(), 201, "client invited");
        let invitation: Value = res.json().await.unwrap();
        let res = self
            .post(
                "/v1/auth/invitations/accept",
                None,
                &json!({"token": invitation["token"], "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200, "client accepted");
        let pair: Value = res.json().await.unwrap();
        let me: Value = self
            .get("/v1/me", pair["access_token"].as_str())
            .await
            .json()
            .await
            .unwrap();
        Caller {
            token: pair["access_token"].as_str().unwrap().to_string(),
            user_id: me["user_id"].as_str().unwrap().parse().unwrap(),
            organization_id: coach.organization_id,
            client_id: Some(id.parse().unwrap()),
        }
    }

    /// The practice most tests start from: Riverside Physio's admin, her coach Maya Okafor,
    /// and Ana Lima, signed in, on the default program. (admin, coach, Ana.)
    pub async fn riverside(&self) -> (Caller, Caller, Caller) {
        let admin = self
            .new_admin("Riverside Physio", "admin@riverside.example")
            .await;
        let coach = self
            .new_coach(&admin, "Maya Okafor", "maya@riverside.example")
            .await;
        let ana = self.new_client(&coach, "Ana Lima", "ana@example.org").await;
        self.start_default_plan(&coach, &ana.client_id.unwrap().to_string())
            .await;
        (admin, coach, ana)
    }

    /// Creates a client record; returns it.
    pub async fn create_client(&self, caller: &Caller, body: &Value) -> Value {
        let res = self.post("/v1/clients", Some(&caller.token), body).await;
        assert_eq!(res.status(), 201, "client created");
        res.json().await.unwrap()
    }

    /// Starts the organization's first program for a client (as `coach`); returns the
    /// program's id.
    pub async fn start_default_plan(&self, coach: &Caller, client_id: &str) -> String {
        let programs: Value = self
            .get("/v1/programs", Some(&coach.token))
            .await
            .json()
            .await
            .unwrap();
        let program_id = programs["items"][0]["id"].as_str().unwrap().to_string();
        let res = self
            .post(
                &format!("/v1/clients/{client_id}/plan"),
                Some(&coach.token),
                &json!({"program_id": program_id}),
            )
            .await;
        assert_eq!(res.status(), 201, "plan started");
        program_id
    }

    /// The audit trail's events for `query` (`?entity_id=…`, `?action=…`), as `token` reads it.
    pub async fn audit_events(&self, token: &str, query: &str) -> Vec<Value> {
        let res = self
            .get(&format!("/v1/audit-events{query}"), Some(token))
            .await;
        assert_eq!(res.status(), 200, "{query}");
        let page: Value = res.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }

    /// A service token made by `admin` with these scopes.
    pub async fn new_service_token(&self, admin: &Caller, scopes: &[&str]) -> (Uuid, String) {
        let res = self
            .post(
                "/v1/service-tokens",
                Some(&admin.token),
                &json!({"name": "import script", "scopes": scopes}),
            )
            .await;
        assert_eq!(res.status(), 201, "service token created");
        let body: Value = res.json().await.unwrap();
        (
            body["id"].as_str().unwrap().parse().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }
}

/// Asserts a problem+json answer with this status; returns the problem.
pub async fn assert_problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = res.json().await.expect("problem body");
    assert_eq!(problem["status"], status);
    for key in ["type", "title", "detail"] {
        assert!(problem[key].is_string(), "problem has {key}: {problem}");
    }
    problem
}
