//! `Idempotency-Key` on the POSTs that write. The first request with a key is answered as
//! usual and its answer kept (48 hours, per organization); a repeat by the same caller with the
//! same key and body gets that answer back (with `Idempotent-Replayed: true`) and writes
//! nothing; the same key with another body, or from another caller, is a 422.
//!
//! The key is claimed in a transaction that the handler's own writes join (its connection comes
//! from [`Db`]), and the answer is stored in that transaction before it commits. So the writes
//! and the kept answer commit together or not at all: a concurrent repeat waits on the key until
//! the first request finishes and then gets its answer; a failed or interrupted first request
//! leaves the key free for the retry. Only successful answers are kept: a refused request
//! wrote nothing, and its retry (after a fresh `If-Match`, say) runs again.
//!
//! Not covered: login and token refresh (each answer is a new secret; they create nothing a
//! retry would duplicate); `POST /v1/coaches`, `POST /v1/service-tokens` and client invitations
//! (their answers carry a one-time secret, which is never stored; a repeated coach is refused
//! by her email, and a repeated token or invitation is a new one, the old one revocable); and
//! imports, which read bodies of up to 32 MiB and hold their own batch transaction: they claim
//! and keep their key inside it through the same functions ([`key_of`], [`fingerprint`],
//! [`replay`]), so the rules, the messages and the replayed answer are the same.
//!
//! A write whose body names its own `id` (reports, sessions, check-ins) is also safe to retry
//! without a key: `usecases::ChosenId`.

use std::cell::RefCell;
use std::future::{ready, Ready};
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::read_limited;
use crate::db::idempotency::{self, KeyState, StoredResponse};
use crate::db::{DbConn, DbPool};
use crate::domain::identity::Principal;
use crate::domain::ids::OrganizationId;
use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The routes (all `POST`) that honour `Idempotency-Key` through this middleware.
pub const ROUTES: &[&str] = &[
    "/v1/programs",
    "/v1/clients",
    "/v1/clients/{client_id}/plan",
    "/v1/clients/{client_id}/plan/transitions",
    "/v1/clients/{client_id}/sessions",
    "/v1/clients/{client_id}/readiness-tests",
    "/v1/clients/{client_id}/symptom-reports",
    "/v1/clients/{client_id}/check-ins",
    "/v1/clients/{client_id}/assessments",
    "/v1/flags/{id}/resolve",
];

/// The `Idempotency-Key` request header, as documented on each route that honours it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Any string unique to this write (a UUID is ideal), 1 to 255 characters. A retry with the
    /// same key and body returns the first answer, with `Idempotent-Replayed: true`, and writes
    /// nothing; the same key with another body is a 422. Keys are kept for 48 hours.
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 255,
        example = "0b9c2f0e-6a51-4d0e-9a7e-3f1d2c4b5a69"
    )]
    pub key: Option<String>,
}

/// Response headers kept with an answer.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

type Slot = Rc<RefCell<Option<DbConn>>>;

/// The connection holding a request's key transaction, lent to its handler.
#[derive(Clone)]
struct Held(Slot);

/// Where a handler gets its database connection: the request's key transaction when it has
/// one (so its writes commit with the kept answer), the pool otherwise.
pub struct Db {
    pool: DbPool,
    held: Option<Slot>,
}

impl FromRequest for Db {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(Db {
                pool: state.pool.clone(),
                held: req.extensions().get::<Held>().map(|h| h.0.clone()),
            }),
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "application state missing"
            ))),
        })
    }
}

impl Db {
    /// A connection; the lent one goes back to the request when the returned value drops.
    pub async fn get(&self) -> Result<Conn, ApiError> {
        if let Some(slot) = &self.held {
            if let Some(conn) = slot.borrow_mut().take() {
                return Ok(Conn {
                    conn: Some(conn),
                    home: Some(slot.clone()),
                });
            }
        }
        Ok(Conn {
            conn: Some(self.pool.get().await?),
            home: None,
        })
    }
}

/// A connection from [`Db::get`].
pub struct Conn {
    conn: Option<DbConn>,
    home: Option<Slot>,
}

impl Deref for Conn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let (Some(home), Some(conn)) = (&self.home, self.conn.take()) {
            *home.borrow_mut() = Some(conn);
        }
    }
}

/// The middleware (it runs after `authorize`, which names the principal).
pub async fn idempotency(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The route found from the path as the router reads it (percent-decoded), as
    // authorization finds it: `/v1/%63lients` is `/v1/clients` here too.
    let applies = req.method() == Method::POST
        && req.headers().contains_key(HEADER)
        && crate::domain::policy::rule_for("POST", req.match_info().as_str())
            .is_some_and(|rule| ROUTES.contains(&rule.path));
    match applies.then(|| Principal::of(req.request())).flatten() {
        Some(principal) => keyed(req, next, principal).await,
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}

/// The request's `Idempotency-Key`, trimmed; 422 unless it is 1 to 255 visible characters.
pub fn key_of(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(key.to_string())
}

/// What happens before the handler: the key claimed, or the request answered already.
enum Claimed {
    Run(Box<DbConn>, String, web::Bytes),
    Answered(HttpResponse),
}

async fn claim(
    http: &HttpRequest,
    payload: &mut Payload,
    principal: &Principal,
    state: &AppState,
) -> Result<Claimed, ApiError> {
    let key = key_of(http)?;
    let limit = state.settings.json_body_limit;
    let too_large =
        || ApiError::PayloadTooLarge(format!("JSON bodies are limited to {limit} bytes."));
    let body = read_limited(payload, limit, too_large).await?.freeze();
    let digest = fingerprint(http, http.match_info().as_str(), principal, &body);
    let mut conn = state.pool.get().await?;
    AnsiTransactionManager::begin_transaction(&mut *conn).await?;
    let claimed = idempotency::claim(&mut conn, principal.organization_id, &key, &digest).await;
    match claimed {
        Ok(KeyState::New) => Ok(Claimed::Run(Box::new(conn), key, body)),
        Ok(KeyState::Replay(first)) => {
            rollback(&mut conn).await;
            Ok(Claimed::Answered(replay(first)?))
        }
        Ok(KeyState::Mismatch) => {
            rollback(&mut conn).await;
            Err(ApiError::invalid(
                "Idempotency-Key",
                "was already used with another request",
            ))
        }
        Err(e) => {
            rollback(&mut conn).await;
            Err(e.into())
        }
    }
}

async fn keyed(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    principal: Principal,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    // The request is not cloned: routing, after this middleware, needs it unshared.
    let (http, mut payload) = req.into_parts();
    let (conn, key, body) = match claim(&http, &mut payload, &principal, &state).await {
        Ok(Claimed::Run(conn, key, body)) => (conn, key, body),
        Ok(Claimed::Answered(response)) => return Ok(ServiceResponse::new(http, response)),
        Err(e) => return Ok(ServiceResponse::new(http, e.error_response())),
    };
    let slot: Slot = Rc::new(RefCell::new(Some(*conn)));
    http.extensions_mut().insert(Held(slot.clone()));
    let outcome = next
        .call(ServiceRequest::from_parts(http, Payload::from(body)))
        .await;
    let conn = slot.borrow_mut().take();
    let Some(mut conn) = conn else {
        return Err(
            ApiError::Internal(anyhow::anyhow!("the key's connection was not returned")).into(),
        );
    };
    let response = match outcome {
        Ok(response) => response,
        Err(e) => {
            rollback(&mut conn).await;
            return Err(e);
        }
    };
    response.request().extensions_mut().remove::<Held>();
    let status = response.status();
    if !status.is_success() {
        rollback(&mut conn).await;
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let kept = match to_bytes(body).await {
        Ok(bytes) => {
            keep(
                &mut conn,
                principal.organization_id,
                &key,
                status,
                &head,
                bytes,
            )
            .await
        }
        Err(e) => Err(ApiError::Internal(anyhow::anyhow!(
            "reading the answer to keep: {}",
            e.into()
        ))),
    };
    match kept {
        Ok(body) => Ok(ServiceResponse::new(
            request,
            head.set_body(body).map_into_boxed_body(),
        )),
        Err(e) => {
            rollback(&mut conn).await;
            Ok(ServiceResponse::new(request, e.error_response()))
        }
    }
}

/// Stores the answer and commits. Only a committed answer is sent: if the commit fails, the
/// writes are gone too, and the caller gets an error to retry.
async fn keep(
    conn: &mut DbConn,
    organization_id: OrganizationId,
    key: &str,
    status: StatusCode,
    head: &HttpResponse<()>,
    body: web::Bytes,
) -> Result<web::Bytes, ApiError> {
    let answer = StoredResponse {
        status: status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = head.headers().get(name)?.to_str().ok()?;
                Some((name.as_str().to_string(), value.to_string()))
            })
            .collect(),
        body: body.to_vec(),
    };
    idempotency::store(conn, organization_id, key, &answer).await?;
    AnsiTransactionManager::commit_transaction(&mut **conn).await?;
    Ok(body)
}

async fn rollback(conn: &mut DbConn) {
    // A failed rollback leaves the connection marked broken; the pool then drops it.
    let _ = AnsiTransactionManager::rollback_transaction(&mut **conn).await;
}

/// What a key's request is compared by: the method, the route (with whatever else of the request
/// changes its meaning), the caller (a key's answer is replayed to its caller alone), the
/// content type and the body.
pub fn fingerprint(http: &HttpRequest, route: &str, principal: &Principal, body: &[u8]) -> Vec<u8> {
    crate::fingerprint::of(&format!(
        "{}|{}|{}|{}|{}",
        http.method(),
        route,
        principal.caller_id(),
        http.content_type(),
        crate::fingerprint::hex(body)
    ))
}

/// The kept answer to a key, sent again with `Idempotent-Replayed: true`. A kept status that
/// is not an HTTP status fails (a 500 with the cause in the log) instead of becoming a 200.
pub fn replay(first: StoredResponse) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(first.status).map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "kept answer with status {} is not an HTTP status",
            first.status
        ))
    })?;
    let mut builder = HttpResponse::build(status);
    for (name, value) in &first.headers {
        builder.insert_header((name.as_str(), value.as_str()));
    }
    builder.insert_header((REPLAYED_HEADER, "true"));
    Ok(builder.body(first.body))
}
