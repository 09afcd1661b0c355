//! The middleware that authenticates every request and authorizes it against the access policy
//! (`domain::policy`) before any handler runs, and the extractor that hands a handler the
//! request's principal.

use std::future::{ready, Ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::auth::jwt::TokenError;
use crate::auth::secrets;
use crate::db::tokens;
use crate::domain::identity::{Principal, Role, Scope, ServiceTokenGrant};
use crate::domain::policy::{self, Verdict};
use crate::error::ApiError;
use crate::state::AppState;

impl Principal {
    /// The principal of a request that passed the policy (for middleware after `authorize`).
    pub fn of(req: &HttpRequest) -> Option<Principal> {
        req.extensions().get::<Authorized>().map(|a| a.0.clone())
    }
}

/// Marks a request that passed the policy; only then can a handler get its principal.
#[derive(Clone)]
struct Authorized(Principal);

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Authorized>() {
            Some(Authorized(p)) => Ok(p.clone()),
            None => {
                // Deny by default: the route is missing from the policy table.
                Err(ApiError::Internal(anyhow::anyhow!(
                    "no access rule for {} {}",
                    req.method(),
                    req.match_pattern().unwrap_or_default()
                )))
            }
        })
    }
}

fn bearer_token(req: &ServiceRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("The Authorization header is not readable.".into()))?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(ApiError::Unauthorized(
            "Use `Authorization: Bearer <token>`.".into(),
        ));
    };
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "Use `Authorization: Bearer <token>`.".into(),
        ));
    }
    Ok(Some(token.trim().to_string()))
}

async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if token.starts_with(secrets::SERVICE_TOKEN_PREFIX) {
        let mut conn = state.pool.get().await?;
        let found = tokens::authenticate_service_token(&mut conn, &secrets::digest(token))
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("The service token is not valid or was revoked.".into())
            })?;
        return Ok(Principal {
            user_id: found.created_by,
            organization_id: found.organization_id,
            role: Role::Admin,
            client_id: None,
            service_token: Some(ServiceTokenGrant {
                id: found.id,
                scopes: Scope::parse_list(&found.scopes),
            }),
        });
    }
    let claims = state.jwt.verify(token).map_err(|e| match e {
        TokenError::Expired => {
            ApiError::Unauthorized("The access token has expired; refresh it.".into())
        }
        TokenError::Invalid => ApiError::Unauthorized("The access token is not valid.".into()),
    })?;
    state.token_validity.check(&state.pool, &claims).await?;
    Ok(Principal {
        user_id: claims.sub,
        organization_id: claims.org,
        role: claims.role,
        client_id: claims.cid,
        service_token: None,
    })
}

/// Authenticates the caller and checks the route's rule before the handler runs. A refusal is
/// answered here, as a response, so the outer middleware still adds its headers.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match check(&req).await {
        Ok(()) => {
            // A caller's successful write keeps her next heavy reads on the primary.
            let writer = (!matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS"))
                .then(|| Principal::of(req.request()))
                .flatten()
                .map(|p| p.caller_id());
            let state = req.app_data::<web::Data<AppState>>().cloned();
            let res = next.call(req).await?;
            if let (Some(caller), Some(state)) = (writer, state) {
                if res.status().is_success() {
                    state.recent_writes.record(caller);
                }
            }
            Ok(res.map_into_left_body())
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

async fn check(req: &ServiceRequest) -> Result<(), ApiError> {
    // The path as the router sees it (percent-encoded characters other than `/` decoded).
    let rule = policy::rule_for(req.method().as_str(), req.match_info().as_str());
    // Unknown paths and methods fall through to the 404/405 answers.
    let Some(rule) = rule else {
        return Ok(());
    };
    if rule.access == policy::Access::Public {
        return Ok(());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let principal = match bearer_token(req)? {
        Some(token) => Some(authenticate(&state, &token).await?),
        None => None,
    };
    match policy::verdict(rule.access, principal.as_ref()) {
        Verdict::Allow => {}
        Verdict::Unauthenticated => {
            return Err(ApiError::Unauthorized("A bearer token is required.".into()))
        }
        Verdict::Forbidden => {
            return Err(ApiError::Forbidden(
                "Your role or token scope does not allow this operation.".into(),
            ))
        }
    }
    if let Some(p) = principal {
        if policy::is_expensive(rule.method, rule.path) {
            let ip = crate::api::forwarded::client_ip(req.request(), &state.settings);
            let caller = p.caller_id();
            let mut conn = state.pool.get().await?;
            crate::auth::throttle::expensive(
                &mut conn,
                state.settings.expensive_requests_per_minute,
                caller,
                &ip,
            )
            .await?
            .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
            drop(conn);
            // Held in the request until it is answered.
            let running =
                state
                    .expensive_in_progress
                    .start(caller)
                    .ok_or(ApiError::TooManyRequests {
                        retry_after_secs: crate::auth::throttle::BUSY_RETRY_AFTER_SECS,
                    })?;
            req.extensions_mut().insert(running);
        }
        req.extensions_mut().insert(Authorized(p));
    }
    Ok(())
}
