//! The application state every worker shares: the pools, the keys, the settings, the limits
//! in progress, the metrics, and the route table for telling 405 from 404.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::http::Method;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::{InProgress, EXPENSIVE_AT_ONCE_PER_CALLER};
use crate::auth::validity::TokenValidity;
use crate::config::Settings;
use crate::db::audit::ReadLog;
use crate::db::DbPool;
use crate::domain::identity::Principal;
use crate::error::ApiError;
use crate::replica::{RecentWrites, Replica};
use crate::telemetry::Metrics;

pub struct AppState {
    pub pool: DbPool,
    pub jwt: JwtKeys,
    pub settings: Settings,
    pub expensive_in_progress: InProgress,
    /// Imports running at once over the whole service: each holds two pooled connections,
    /// so together they never take more than half the pool.
    pub import_slots: Arc<tokio::sync::Semaphore>,
    pub token_validity: TokenValidity,
    /// The read replica for heavy reads, if any, and who wrote lately (`replica`).
    pub replica: Option<Replica>,
    pub recent_writes: RecentWrites,
    /// Staff reads of client data, written in batches (`db::audit::ReadLog`).
    pub read_log: Arc<ReadLog>,
    pub metrics: Metrics,
    /// Seals and opens webhook signing secrets (`WEBHOOK_SECRET_KEY`).
    pub sealer: Arc<crate::auth::sealing::Sealer>,
    pub openapi_json: String,
    /// Path templates and their methods, for telling 405 from 404.
    routes: Vec<(Vec<String>, Vec<Method>)>,
    shutting_down: AtomicBool,
}

impl AppState {
    /// The state of a service about to serve `document`'s routes.
    pub fn new(
        settings: Settings,
        pool: DbPool,
        jwt: JwtKeys,
        document: &utoipa::openapi::OpenApi,
    ) -> anyhow::Result<Self> {
        let sealer = crate::auth::sealing::Sealer::new(
            settings
                .webhook_secret_key
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("WEBHOOK_SECRET_KEY is not set"))?,
            settings.webhook_secret_previous_key.as_deref(),
        )?;
        Ok(AppState {
            metrics: Metrics::new(pool.clone())?,
            sealer: Arc::new(sealer),
            pool,
            jwt,
            expensive_in_progress: InProgress::new(EXPENSIVE_AT_ONCE_PER_CALLER),
            import_slots: Arc::new(tokio::sync::Semaphore::new((settings.pool_size / 4).max(1))),
            token_validity: TokenValidity::default(),
            read_log: Arc::default(),
            replica: match &settings.database_read_url {
                Some(url) => Some(Replica::new(crate::db::build_replica_pool(url, &settings)?)),
                None => None,
            },
            recent_writes: Default::default(),
            settings,
            openapi_json: document.to_json()?,
            routes: route_table(document),
            shutting_down: AtomicBool::new(false),
        })
    }

    /// A connection for a heavy read by this caller (the replica's when that is safe).
    pub async fn heavy_read(&self, principal: &Principal) -> Result<crate::db::DbConn, ApiError> {
        crate::replica::heavy_read(
            &self.pool,
            self.replica.as_ref(),
            &self.recent_writes,
            principal.caller_id(),
            self.settings.replica_max_lag,
        )
        .await
    }

    /// From now on the service says it is not ready, and writes are refused.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// The methods of the route that `path` matches, if any route does.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == segments.len()
                    && template
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .map(|(_, methods)| methods.clone())
    }
}

fn route_table(document: &utoipa::openapi::OpenApi) -> Vec<(Vec<String>, Vec<Method>)> {
    let json = serde_json::to_value(&document.paths).unwrap_or_default();
    json.as_object()
        .map(|paths| {
            paths
                .iter()
                .map(|(path, item)| {
                    let methods = item
                        .as_object()
                        .map(|ops| {
                            ops.keys()
                                .filter_map(|m| {
                                    Method::from_bytes(m.to_uppercase().as_bytes()).ok()
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (path.split('/').map(str::to_string).collect(), methods)
                })
                .collect()
        })
        .unwrap_or_default()
}
