//! Webhook endpoints, managed by admins: where to send which events, the signing secret
//! (shown once), the delivery log, and a test message. Delivery itself is `crate::webhooks`.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, NotFound, ReadErrors, TooManyRequests};
use super::extract::{present, JsonBody, QueryParams};
use super::{Page, PageQuery};
use crate::config::Settings;
use crate::db::audit;
use crate::db::webhooks::{self, Endpoint, EndpointChanges, LogRow, NewEndpoint};
use crate::domain::identity::Principal;
use crate::domain::webhook::{events, internal_target, new_secret, EventType, TEST_EVENT};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(send_test);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e00-0000-7000-8000-00000000e001",
    "url": "https://dashboard.riverside.example/hooks/runback",
    "description": "Coaching dashboard",
    "events": ["flag.opened", "flag.resolved", "symptom_report.created"],
    "enabled": true, "disabled_reason": null,
    "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z"
}))]
pub struct WebhookEndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
    /// Disabled endpoints get nothing; an endpoint is disabled when one delivery failed for
    /// the whole retry window (24 h), with the reason here. PATCH `enabled: true` to resume.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookEndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            events: e
                .events
                .iter()
                .filter_map(|name| EventType::ALL.into_iter().find(|t| t.as_str() == name))
                .collect(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// The signing secret, shown only this once. Verify each message's `webhook-signature`
    /// (`v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the
    /// base64-decoded part after `whsec_`), as any Standard Webhooks library does.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwaZ7f1nCbz0s=")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://dashboard.riverside.example/hooks/runback",
    "description": "Coaching dashboard", "events": ["flag.opened", "flag.resolved"]}))]
pub struct NewWebhookEndpoint {
    /// Where to POST the events: `https://` (plain `http://` only where the service allows it
    /// for development), no user name or password in it.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$",
        example = "https://dashboard.riverside.example/hooks/runback"
    )]
    pub url: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The events to receive, at least one.
    #[schema(min_items = 1)]
    pub events: Vec<EventType>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct WebhookEndpointPatch {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$",
        example = "https://dashboard.riverside.example/hooks/runback"
    )]
    pub url: Option<String>,
    #[schema(max_length = 500)]
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[schema(min_items = 1)]
    pub events: Option<Vec<EventType>>,
    /// `true` re-enables an endpoint that was disabled after failing.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "5b0c3c2e-8f1a-4a37-9a52-0d7f3b2e9c11", "event_id": "01937e00-0000-7000-8000-0000000000e7",
    "event_type": "flag.opened", "status": "pending", "attempts": 2, "last_status": 503,
    "last_error": "the endpoint answered 503", "next_attempt_at": "2026-11-26T09:05:30Z",
    "delivered_at": null, "created_at": "2026-11-26T09:05:00Z"
}))]
pub struct DeliveryView {
    pub id: Uuid,
    /// Also the message's `webhook-id` (`msg_` and this id without dashes).
    pub event_id: Uuid,
    /// The event's type: one of `EventType`, or `webhook.test` for a test message.
    #[schema(example = "flag.opened")]
    pub event_type: String,
    /// `pending` (to be sent or retried), `delivered` (a 2xx answer), `failed` (gave up).
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last attempt, if the endpoint answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// When a pending delivery is next tried.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub use crate::domain::webhook::DeliveryStatus;

impl From<LogRow> for DeliveryView {
    fn from(r: LogRow) -> Self {
        let status = r.status;
        Self {
            id: r.id,
            event_id: r.event_id,
            event_type: r.event_type,
            next_attempt_at: matches!(status, DeliveryStatus::Pending).then_some(r.next_attempt_at),
            status,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"event_id": "01937e00-0000-7000-8000-0000000000e9"}))]
pub struct TestEventQueued {
    pub event_id: Uuid,
}

/// The documented shape: `http(s)://host[:port][/path]`, the host letters, digits, dots and
/// dashes, the path without white space.
fn has_url_shape(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
        && !path.chars().any(char::is_whitespace)
}

fn check_url(url: &str, settings: &Settings) -> Result<String, ApiError> {
    let allow_http = settings.webhook_allow_http;
    if !has_url_shape(url) {
        return Err(ApiError::invalid(
            "url",
            "must be an http(s)://host[:port]/path URL",
        ));
    }
    let parsed =
        url::Url::parse(url).map_err(|_| ApiError::invalid("url", "must be an absolute URL"))?;
    let scheme_ok = parsed.scheme() == "https" || (allow_http && parsed.scheme() == "http");
    if !scheme_ok {
        return Err(ApiError::invalid("url", "must be an https:// URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid("url", "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::invalid(
            "url",
            "must not carry a user name or password",
        ));
    }
    if url.len() > 2000 {
        return Err(ApiError::invalid("url", "must be at most 2000 characters"));
    }
    if !settings.webhook_allow_private {
        if let Some(why) = internal_target(&parsed) {
            return Err(ApiError::invalid("url", why));
        }
    }
    Ok(url.to_string())
}

/// Endpoints one organization may register: each costs every event a delivery.
pub const MAX_ENDPOINTS: i64 = 10;

fn check_events(events: &[EventType]) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = events.iter().map(|e| e.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(ApiError::invalid("events", "must name at least one event"));
    }
    Ok(names)
}

fn check_description(description: Option<&str>) -> Result<String, ApiError> {
    let description = description.unwrap_or_default().trim();
    if description.chars().count() > 500 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(description.to_string())
}

/// The organization's webhook endpoints (never their secrets).
#[utoipa::path(tag = "webhooks", operation_id = "listWebhookEndpoints", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of endpoints", body = Page<WebhookEndpointView>), ReadErrors))]
#[get("/v1/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<WebhookEndpointView>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = webhooks::list(&mut conn, principal.organization_id, after, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |e| e.id,
        WebhookEndpointView::from,
    )))
}

/// Register a webhook endpoint.
///
/// Each event is POSTed as JSON `{type, timestamp, data}` with the Standard Webhooks headers
/// `webhook-id`, `webhook-timestamp` and `webhook-signature`. A 2xx answer within 10 s counts
/// as delivered; anything else is retried after 5 s, 30 s, 5 min, 30 min, 2 h, 5 h, then every
/// 10 h, for 24 h. A client's events reach each endpoint in the order they happened. Data is
/// minimal (ids, levels, stages): fetch details through the API.
#[utoipa::path(tag = "webhooks", operation_id = "createWebhookEndpoint", security(("bearer" = [])),
    request_body = NewWebhookEndpoint,
    responses((status = 201, description = "Registered; the secret is shown once", body = CreatedWebhookEndpoint),
        (status = 409, description = "The organization already has its 10 endpoints", body = crate::error::Problem,
         content_type = "application/problem+json", example = json!({
            "type": "/problems/conflict", "title": "Conflict", "status": 409,
            "detail": "An organization has at most 10 webhook endpoints; delete one first."})),
        AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewWebhookEndpoint>,
) -> ApiResult<HttpResponse> {
    let url = check_url(&body.url, &state.settings)?;
    let events = check_events(&body.events)?;
    let description = check_description(body.description.as_deref())?;
    let secret = new_secret();
    let id = Uuid::now_v7();
    let sealed = state.sealer.seal(id, &secret);
    let mut conn = state.pool.get().await?;
    let endpoint = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if webhooks::count(conn, principal.organization_id).await? >= MAX_ENDPOINTS {
                return Err(ApiError::Conflict(format!(
                    "An organization has at most {MAX_ENDPOINTS} webhook endpoints; delete one first."
                )));
            }
            let endpoint = webhooks::insert(
                conn,
                NewEndpoint {
                    id,
                    organization_id: principal.organization_id,
                    url: &url,
                    description: &description,
                    events: &events,
                    secret_sealed: &sealed,
                    created_by: principal.user_id.into(),
                },
            )
            .await?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "webhook.create",
                "webhook",
                endpoint.id,
                serde_json::json!({"url": endpoint.url, "events": endpoint.events}),
            )
            .await?;
            Ok(endpoint)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedWebhookEndpoint {
        endpoint: endpoint.into(),
        secret,
    }))
}

/// One webhook endpoint.
#[utoipa::path(tag = "webhooks", operation_id = "getWebhookEndpoint", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = WebhookEndpointView), NotFound, ReadErrors))]
#[get("/v1/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<WebhookEndpointView>> {
    let mut conn = state.pool.get().await?;
    let endpoint = webhooks::find(&mut conn, principal.organization_id, *id).await?;
    Ok(web::Json(endpoint.into()))
}

/// Change an endpoint (JSON Merge Patch); `enabled: true` resumes a disabled one.
#[utoipa::path(tag = "webhooks", operation_id = "updateWebhookEndpoint", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    request_body = WebhookEndpointPatch,
    responses((status = 200, description = "The endpoint", body = WebhookEndpointView),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[patch("/v1/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    JsonBody(body): JsonBody<WebhookEndpointPatch>,
) -> ApiResult<web::Json<WebhookEndpointView>> {
    let mut changes = EndpointChanges {
        url: body
            .url
            .as_deref()
            .map(|u| check_url(u, &state.settings))
            .transpose()?,
        description: body
            .description
            .as_ref()
            .map(|d| check_description(d.as_deref()))
            .transpose()?,
        events: body.events.as_deref().map(check_events).transpose()?,
        enabled: body.enabled,
        ..Default::default()
    };
    if body.enabled == Some(true) {
        changes.disabled_reason = Some(None);
        changes.consecutive_failures = Some(0);
    }
    let mut conn = state.pool.get().await?;
    let endpoint = conn
        .transaction::<_, ApiError, _>(async |conn| {
            webhooks::find(conn, principal.organization_id, *id).await?;
            let endpoint = webhooks::update(conn, principal.organization_id, *id, &changes).await?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "webhook.update",
                "webhook",
                endpoint.id,
                serde_json::json!({"url": changes.url, "events": changes.events, "enabled": changes.enabled}),
            )
            .await?;
            Ok(endpoint)
        })
        .await?;
    Ok(web::Json(endpoint.into()))
}

/// Remove an endpoint and its delivery log.
#[utoipa::path(tag = "webhooks", operation_id = "deleteWebhookEndpoint", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Removed"), NotFound, ReadErrors))]
#[delete("/v1/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if webhooks::delete(conn, principal.organization_id, *id).await? == 0 {
            return Err(ApiError::NotFound);
        }
        audit::record(
            conn,
            principal.organization_id,
            principal.actor(),
            "webhook.delete",
            "webhook",
            *id,
            serde_json::json!({}),
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An endpoint's deliveries, newest first: status, attempts, the last answer or error.
#[utoipa::path(tag = "webhooks", operation_id = "listWebhookDeliveries", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id"), PageQuery),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryView>), NotFound, ReadErrors))]
#[get("/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<DeliveryView>>> {
    let (limit, before) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let endpoint = webhooks::find(&mut conn, principal.organization_id, *id).await?;
    let rows = webhooks::log(&mut conn, endpoint.id, before, limit).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        DeliveryView::from,
    )))
}

/// Send a `webhook.test` message to this endpoint (even if it is not subscribed to anything
/// else); its delivery shows in the log. Limited like other expensive requests, per caller and
/// per IP address.
#[utoipa::path(tag = "webhooks", operation_id = "sendWebhookTest", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 202, description = "Queued for delivery", body = TestEventQueued), NotFound,
        TooManyRequests, ReadErrors))]
#[post("/v1/webhooks/{id}/test")]
pub async fn send_test(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let endpoint = webhooks::find(&mut conn, principal.organization_id, *id).await?;
    let event_id = webhooks::enqueue_for(
        &mut conn,
        &endpoint,
        TEST_EVENT,
        events::data(&events::WebhookTest {
            endpoint_id: endpoint.id,
            message: "A test message from runback.".into(),
        }),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(TestEventQueued { event_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(allow_http: bool, allow_private: bool) -> Settings {
        let mut s = Settings::for_database("postgres://localhost/x".into(), String::new());
        s.webhook_allow_http = allow_http;
        s.webhook_allow_private = allow_private;
        s
    }

    #[test]
    fn urls_must_be_https_without_credentials() {
        let strict = settings(false, false);
        let dev = settings(true, true);
        assert!(check_url("https://hooks.example.org/in?x=1", &strict).is_ok());
        assert!(check_url("http://127.0.0.1:9000/in", &strict).is_err());
        assert!(check_url("http://127.0.0.1:9000/in", &dev).is_ok());
        assert!(check_url("https://user:pw@hooks.example.org/", &strict).is_err());
        assert!(check_url("ftp://hooks.example.org/", &dev).is_err());
        assert!(check_url("hooks.example.org/in", &strict).is_err());
        assert!(check_url(" https://hooks.example.org/in", &strict).is_err());
        assert!(check_url("https://hooks.example.org/a b", &strict).is_err());
        assert!(check_url("https://hooks.example.org:8443/in", &strict).is_ok());
    }

    #[test]
    fn urls_inside_the_network_are_refused_unless_allowed() {
        let strict = settings(true, false);
        for inside in [
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://2130706433/",
            "https://localhost/",
            "https://redis:6379/",
            "https://hooks.example.org:6379/",
        ] {
            assert!(check_url(inside, &strict).is_err(), "{inside}");
        }
        assert!(check_url("https://127.0.0.1:9000/", &settings(true, true)).is_ok());
    }

    #[test]
    fn events_are_deduplicated_and_required() {
        assert_eq!(
            check_events(&[EventType::FlagOpened, EventType::FlagOpened]).unwrap(),
            vec!["flag.opened".to_string()]
        );
        assert!(check_events(&[]).is_err());
    }
}
