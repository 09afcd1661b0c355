//! Wiring: the application state, the middleware stack, the routes, and the HTTP server.
//! `Application::build` binds first (port 0 in tests) and reports the real port.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;

use crate::auth::jwt::JwtKeys;
use crate::config::Settings;
use crate::db::audit::READ_LOG_FLUSH;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::state::AppState;

/// Unknown paths are 404; known paths with another method are 405 with `Allow`.
async fn no_route(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Err(match state.allowed_methods(req.path()) {
        Some(methods) => ApiError::MethodNotAllowed(methods),
        None => ApiError::NotFound,
    })
}

/// All header fields of a request together may take this many bytes (names and values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Echoes the request id of the log lines in `x-request-id`, so a caller can quote it; refuses
/// oversized header sections; adds `Strict-Transport-Security` to answers served over https.
async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| crate::api::forwarded::is_https(req.request(), &state.settings));
    let mut res = if header_bytes > MAX_HEADER_BYTES {
        let refused = ApiError::HeadersTooLarge(format!(
            "The request's header fields take {header_bytes} bytes; the limit is {MAX_HEADER_BYTES}."
        ));
        req.error_response(refused).map_into_right_body()
    } else {
        next.call(req).await?.map_into_left_body()
    };
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    if https {
        // Served over https (a trusted proxy says so): browsers keep to https from now on.
        res.headers_mut().insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    Ok(res)
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Builds the server on an already migrated database and binds its listener.
    pub fn build(settings: Settings, pool: DbPool, jwt: JwtKeys) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind_addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let document = crate::openapi::document();
        let state = web::Data::new(AppState::new(settings, pool, jwt, &document)?);
        let prometheus = PrometheusMetricsBuilder::new("runback")
            .registry(state.metrics.registry())
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
        let cors_origins = state.settings.cors_allowed_origins.clone();
        let workers = state.settings.http_workers.max(1);
        let client_request_timeout = state.settings.client_request_timeout;
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(app_state.clone())
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()),
                )
                .configure(crate::api::configure)
                .split_for_parts();
            app.configure(crate::api::viewer::configure)
                .default_service(web::to(no_route))
                .wrap(from_fn(crate::api::idempotency::idempotency))
                .wrap(from_fn(crate::api::authorize::authorize))
                .wrap(prometheus.clone())
                .wrap(from_fn(request_id_header))
                .wrap(TracingLogger::<crate::api::request_span::RequestSpan>::new())
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Cache-Control", "no-store")),
                )
                .wrap(actix_web::middleware::Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
        })
        .workers(workers)
        .listen(listener)?
        .client_request_timeout(client_request_timeout)
        .client_disconnect_timeout(Duration::from_secs(2))
        .shutdown_timeout(15)
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Stops the server gracefully on SIGTERM or SIGINT: `/readyz` answers 503 at once (so a
    /// load balancer stops sending new work), requests keep being served for the drain period
    /// (`SHUTDOWN_DRAIN_MS`), then the listener closes and in-flight requests finish (up to 15 s)
    /// before the pool closes. A second signal skips the rest of the drain.
    pub fn stop_on_signals(&self) {
        use tokio::signal::unix::{signal, SignalKind};
        let handle = self.server.handle();
        let state = self.state.clone();
        tokio::spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot listen for SIGTERM/SIGINT");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            state.begin_shutdown();
            let drain = state.settings.shutdown_drain;
            tracing::info!(
                drain_ms = drain.as_millis() as u64,
                "shutting down: not ready any more; draining"
            );
            tokio::select! {
                _ = tokio::time::sleep(drain) => {}
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("closing the listener; finishing in-flight requests");
            handle.stop(true).await;
        });
    }

    /// Serves until the server is stopped (see [`Application::stop_on_signals`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let forget = Arc::new(tokio::sync::Notify::new());
        let stop_forgetting = forget.clone();
        // Keep the throttles' memory bounded; drop idempotency keys and webhook events past their time.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            let mut minutes = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        minutes += 1;
                        upkeep(&state, minutes).await;
                    }
                    _ = stop_forgetting.notified() => break,
                }
            }
        });
        // Staff reads noted by requests, written once a second.
        let reads = self.state.clone();
        let stop_reads = Arc::new(tokio::sync::Notify::new());
        let reads_stopped = stop_reads.clone();
        let read_writer = tokio::spawn(async move {
            let mut tick = tokio::time::interval(READ_LOG_FLUSH);
            loop {
                let stopping = tokio::select! {
                    _ = tick.tick() => false,
                    _ = reads_stopped.notified() => true,
                };
                match reads.pool.get().await {
                    Ok(mut conn) => {
                        if let Err(e) = reads.read_log.flush(&mut conn).await {
                            tracing::warn!(error = %e, "writing the audit trail's reads");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "writing the audit trail's reads"),
                }
                if stopping {
                    break;
                }
            }
        });
        // Changes to users' tokens made by any instance, as they commit.
        let tokens = self.state.clone();
        let stop_tokens = Arc::new(tokio::sync::Notify::new());
        let tokens_stopped = stop_tokens.clone();
        let token_follower = tokio::spawn(async move {
            if let Some(url) = tokens.settings.database_url.clone() {
                crate::auth::validity::follow(&tokens.token_validity, &url, &tokens_stopped).await;
            }
        });
        // Webhook deliveries from the outbox, until the server stops.
        let stop_webhooks = Arc::new(tokio::sync::Notify::new());
        let dispatcher = tokio::spawn(crate::webhooks::run(
            self.state.pool.clone(),
            Arc::new(self.state.settings.clone()),
            self.state.sealer.clone(),
            stop_webhooks.clone(),
        ));
        // The daily backup, where one is configured.
        let stop_backups = Arc::new(tokio::sync::Notify::new());
        let backups = daily_backups(&self.state, stop_backups.clone());
        let result = self.server.await;
        self.state.begin_shutdown();
        stop_backups.notify_one();
        forget.notify_one();
        stop_webhooks.notify_one();
        stop_reads.notify_one();
        stop_tokens.notify_one();
        // A round in progress finishes (its sends are bounded by their timeout).
        let _ = tokio::time::timeout(Duration::from_secs(15), dispatcher).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), read_writer).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), token_follower).await;
        if let Some(backups) = backups {
            // A backup still running finishes alone: its file appears whole or not at all.
            let _ = tokio::time::timeout(Duration::from_secs(5), backups).await;
        }
        self.state.pool.close();
        result
    }
}

/// The daily backup's task, when `BACKUP_DIR` names a folder.
fn daily_backups(
    state: &AppState,
    stop: Arc<tokio::sync::Notify>,
) -> Option<tokio::task::JoinHandle<()>> {
    let settings = &state.settings;
    let (Some(dir), Some(url)) = (&settings.backup_dir, &settings.database_url) else {
        return None;
    };
    if settings.backup_key.is_none() {
        tracing::info!(dir = %dir.display(), "daily backups are not encrypted: set BACKUP_KEY to encrypt them (`runback backup-key` makes one)");
    }
    Some(tokio::spawn(crate::backup::run_daily(
        crate::backup::Daily {
            url: url.clone(),
            dir: dir.clone(),
            keep_days: settings.backup_keep_days,
            at: settings.backup_at,
            bin_dir: settings.postgres_bin_dir.clone(),
            key: settings.backup_key.clone(),
            last_success: state.metrics.backup_last_success.clone(),
        },
        stop,
    )))
}

/// Once a minute: the throttles' and caches' memory bounded, expired idempotency keys, old
/// webhook events and recovered throttles dropped; hourly (and at start), the change feed's
/// upkeep.
async fn upkeep(state: &AppState, minutes: u64) {
    state.token_validity.forget_stale();
    state.recent_writes.forget_old();
    let Ok(mut conn) = state.pool.get().await else {
        return;
    };
    if let Err(e) = crate::db::idempotency::purge_expired(&mut conn).await {
        tracing::warn!(error = %e, "purging expired idempotency keys");
    }
    if let Err(e) = crate::db::webhooks::purge_old(&mut conn).await {
        tracing::warn!(error = %e, "purging old webhook events");
    }
    if let Err(e) = crate::db::throttles::purge_recovered(&mut conn).await {
        tracing::warn!(error = %e, "purging recovered throttles");
    }
    if minutes % 60 == 1 {
        let keep = chrono::Duration::days(crate::api::sync::TOMBSTONE_DAYS);
        match crate::db::sync::maintain(&mut conn, chrono::Utc::now() - keep).await {
            Ok((superseded, pruned)) => tracing::info!(superseded, pruned, "change feed upkeep"),
            Err(e) => tracing::warn!(error = %e, "change feed upkeep"),
        }
    }
}

/// Browser pages from the configured origins may call the API (credentials travel in the
/// `Authorization` header, never cookies); other origins get no CORS headers, so browsers keep
/// their pages from reading the answers.
fn cors(origins: &[String]) -> actix_cors::Cors {
    origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| {
            cors.allowed_origin(origin)
        })
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::IF_MATCH,
            actix_web::http::header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            actix_web::http::header::ETAG,
            actix_web::http::header::LOCATION,
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderName::from_static("x-request-id"),
        ])
        .block_on_origin_mismatch(false)
        .max_age(3600)
}
