//! Operations: liveness, readiness, metrics and the OpenAPI document.

use std::time::Duration;

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::docs::NotFound;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz)
        .service(readyz)
        .service(metrics)
        .service(openapi_json)
        .service(problem_page);
}

/// What a problem type means.
///
/// The page a problem's `type` (`/problems/{problem}`) points to: its title, status and what a
/// caller should do about it, for the person reading a log or an error report.
#[utoipa::path(tag = "operations", operation_id = "getProblemType",
    params(("problem" = String, Path, description = "The problem type: the last part of a problem's `type`", example = "validation")),
    responses(
        (status = 200, description = "A short page about the problem type", content_type = "text/html", body = String,
         example = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Some values are not valid</title></head><body><h1>Some values are not valid</h1>…</body></html>"),
        NotFound
    ))]
#[get("/problems/{problem}")]
pub async fn problem_page(problem: web::Path<String>) -> ApiResult<HttpResponse> {
    let kind = ApiError::problem_type(&problem).ok_or(ApiError::NotFound)?;
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>HTTP {status}, problem type <code>/problems/{slug}</code>.</p>\
         <p>{advice}</p><p>Every error of this API is an RFC 9457 <code>application/problem+json</code> \
         document: <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code>, and \
         <code>errors</code> naming each field for validation. Its <code>x-request-id</code> header \
         finds the request in the service's log.</p></body></html>",
        title = kind.title,
        status = kind.status,
        slug = kind.slug,
        advice = kind.advice,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "status": "ok"
}))]
pub struct Health {
    pub status: HealthStatus,
}

/// `ok` from `/healthz` (the process is alive), `ready` from `/readyz` (and its database answers).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Ready,
}

/// Is the process alive?
///
/// Answers without touching the database: for liveness probes.
#[utoipa::path(tag = "operations", operation_id = "getHealth",
    responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: HealthStatus::Ok,
    })
}

/// Is the service ready to take traffic?
///
/// Ready when the database answers within one second; for readiness probes and load balancers.
#[utoipa::path(tag = "operations", operation_id = "getReadiness",
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer, or the service is shutting down",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Seconds to wait")))
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<web::Json<Health>> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    crate::db::ping(&state.pool, Duration::from_secs(1))
        .await
        .map_err(ApiError::Unavailable)?;
    Ok(web::Json(Health {
        status: HealthStatus::Ready,
    }))
}

/// Whether the request carries `Authorization: Bearer <expected>`. Digests are compared, so
/// the time taken says nothing about the token.
fn bearer_is(req: &HttpRequest, expected: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| {
            crate::auth::secrets::digest(token.trim()) == crate::auth::secrets::digest(expected)
        })
}

/// Prometheus metrics.
///
/// Request counts and latency histograms by route and status, and database pool usage, in the
/// Prometheus text format. Where the service sets `METRICS_TOKEN`, only
/// `Authorization: Bearer <METRICS_TOKEN>` gets them (else 401); without it, only a scraper on
/// the same machine talking to the service directly does (not through a proxy), and anyone
/// else gets a 401.
#[utoipa::path(tag = "operations", operation_id = "getMetrics",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain; version=0.0.4",
        example = "# HELP runback_db_pool_connections Connections open in the pool\n\
# TYPE runback_db_pool_connections gauge\n\
runback_db_pool_connections 3\n\
# HELP runback_http_requests_total Total number of HTTP requests\n\
# TYPE runback_http_requests_total counter\n\
runback_http_requests_total{endpoint=\"/healthz\",method=\"GET\",status=\"200\"} 1\n"),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it, or it is not set and the request comes from another machine or through a proxy",
         body = Problem, content_type = "application/problem+json", example = json!({
            "type": "/problems/unauthorized", "title": "Authentication is required", "status": 401,
            "detail": "The metrics need `Authorization: Bearer <METRICS_TOKEN>`."}))))]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let refusal = match &state.settings.metrics_token {
        Some(expected) => (!bearer_is(&req, expected))
            .then_some("The metrics need `Authorization: Bearer <METRICS_TOKEN>`."),
        None => (!super::forwarded::is_direct_local(&req, &state.settings))
            .then_some("Metrics are served only to this machine unless METRICS_TOKEN is set."),
    };
    if let Some(why) = refusal {
        return Err(ApiError::Unauthorized(why.into()));
    }
    let body = state.metrics.render().map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(tag = "operations", operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI document", body = Object,
        example = json!({"openapi": "3.1.0", "info": {"title": "runback", "version": "1.0.0"},
                         "paths": {"/healthz": {"get": {"operationId": "getHealth"}}}}))))]
#[get("/openapi.json")]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}
