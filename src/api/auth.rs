//! Signing in and out: login, refresh, logout, and accepting an invitation.

use actix_web::{post, web, HttpRequest, HttpResponse};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{BadCredentials, BodyErrors, ReadErrors, TooManyRequests};
use super::extract::JsonBody;
use super::forwarded::client_ip;
use crate::auth::invitations::InvitationKind;
use crate::auth::password;
use crate::auth::secrets;
use crate::auth::sessions::{self, TokenPair};
use crate::auth::throttle;
use crate::db::audit::{self, Actor};
use crate::db::{tokens, users};
use crate::domain::identity::NewPassword;
use crate::domain::identity::Principal;
use crate::domain::ids::OrganizationId;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(accept_invitation)
        .service(logout_all);
}

/// Passwords longer than this are refused before hashing, so nobody can make us hash megabytes.
const MAX_PASSWORD_CHARS: usize = 1024;

/// Refresh tokens longer than this are not ours; refused as the schema says.
const MAX_REFRESH_TOKEN_CHARS: usize = 256;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "coach@riverside-physio.example", "password": "correct horse battery"}))]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    /// Only needed when the same email belongs to accounts in several organizations.
    pub organization_id: Option<Uuid>,
}

/// Sign in with email and password.
///
/// Returns an access token (valid 15 minutes) and a refresh token. A wrong email and a wrong
/// password get the same answer, in the same time. Attempts are limited per IP address and per
/// account.
#[utoipa::path(tag = "auth", operation_id = "login", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = TokenPair),
        BadCredentials, TooManyRequests, BodyErrors))]
#[post("/v1/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    // Exactly the bounds of the schema; a blank email is simply not an account (401).
    if body.email.is_empty() || body.email.chars().count() > 254 {
        return Err(ApiError::invalid(
            "email",
            "must be between 1 and 254 characters",
        ));
    }
    if body.password.is_empty() || body.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            "must be between 1 and 1024 characters",
        ));
    }
    let mut conn = state.pool.get().await?;
    throttle::login(
        &mut conn,
        state.settings.login_attempts_per_minute,
        &client_ip(&req, &state.settings),
        &body.email,
    )
    .await?
    .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let candidates = users::find_login_candidates(
        &mut conn,
        &body.email,
        body.organization_id.map(OrganizationId),
    )
    .await?;
    let mut signed_in = None;
    if candidates.is_empty() {
        // Spend the same time as a real check, then fail.
        password::verify(body.password.clone(), None).await?;
    }
    for user in candidates {
        if password::verify(body.password.clone(), user.password_hash.clone()).await? {
            signed_in = Some(user);
            break;
        }
    }
    let Some(user) = signed_in else {
        return Err(ApiError::Unauthorized(
            "The email or password is not correct.".into(),
        ));
    };
    Ok(web::Json(
        sessions::start(&mut conn, &state.jwt, &user).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "rbr_Xq3v0d8i8oQ2h3k9m1n5p7r2t4v6x8z0A2C4E6G8I0K"}))]
pub struct RefreshRequest {
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

impl RefreshRequest {
    fn check(&self) -> ApiResult<()> {
        if self.refresh_token.chars().count() > MAX_REFRESH_TOKEN_CHARS {
            return Err(ApiError::invalid(
                "refresh_token",
                "must be at most 256 characters",
            ));
        }
        Ok(())
    }
}

/// Exchange a refresh token for a new token pair.
///
/// The refresh token is single-use: the answer carries its successor. Presenting a refresh
/// token that was already used signs out every session descended from the same sign-in.
#[utoipa::path(tag = "auth", operation_id = "refreshTokens", request_body = RefreshRequest,
    responses((status = 200, description = "A new token pair", body = TokenPair),
        BadCredentials, BodyErrors))]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    body.check()?;
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        sessions::rotate(&mut conn, &state.jwt, &body.refresh_token).await?,
    ))
}

/// Sign out: revoke a refresh token and every token rotated from the same sign-in.
///
/// Always answers 204, whether or not the token was known.
#[utoipa::path(tag = "auth", operation_id = "logout", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"), BodyErrors))]
#[post("/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    body.check()?;
    let mut conn = state.pool.get().await?;
    sessions::end(&mut conn, &body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "rbi_4mJ0vYw8kLq2N5s7U9x1Z3b5D7f9H1j3L5n7P9r1T3v", "password": "a long and private passphrase"}))]
pub struct AcceptInvitationRequest {
    /// The invitation token a coach or admin passed on.
    #[schema(max_length = 256)]
    pub token: String,
    /// The new password: 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

/// Accept an invitation or a password reset: choose a password and sign in.
///
/// Tokens are single-use and expire after 7 days; only a person's newest token works. Accepting
/// voids her other tokens and signs her out of every other session (refresh and access tokens
/// alike). Attempts are limited per IP address.
#[utoipa::path(tag = "auth", operation_id = "acceptInvitation", request_body = AcceptInvitationRequest,
    responses((status = 200, description = "Password set; signed in", body = TokenPair),
        TooManyRequests, BodyErrors))]
#[post("/v1/auth/invitations/accept")]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<AcceptInvitationRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let new_password =
        NewPassword::parse(&body.password).map_err(|m| ApiError::invalid("password", m))?;
    let mut conn = state.pool.get().await?;
    throttle::invitation(
        &mut conn,
        state.settings.login_attempts_per_minute,
        &client_ip(&req, &state.settings),
    )
    .await?
    .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let not_valid = || ApiError::invalid("token", "is not valid, was already used, or has expired");
    if body.token.len() > MAX_REFRESH_TOKEN_CHARS {
        return Err(not_valid());
    }
    // Look the token up first (one indexed read of its digest): a wrong token costs no hash.
    let digest = secrets::digest(&body.token);
    let pending = tokens::find_pending_invitation(&mut conn, &digest)
        .await?
        .ok_or_else(not_valid)?;
    let hash = password::hash(new_password.expose().to_string()).await?;
    let keys = &state.jwt;
    let (user_id, pair) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let invitation = tokens::accept_invitation(conn, pending.id)
                .await?
                .ok_or_else(not_valid)?;
            let kind = InvitationKind::parse(&invitation.kind)?;
            let user = users::set_password(conn, invitation.user_id, &hash).await?;
            if user.deactivated_at.is_some() {
                return Err(ApiError::invalid(
                    "token",
                    "belongs to an account that was removed",
                ));
            }
            let voided = tokens::void_pending_invitations(conn, user.id).await?;
            let signed_out = tokens::revoke_all_for_user(conn, user.id).await?;
            users::end_access_tokens(conn, user.id).await?;
            audit::record(
                conn,
                user.organization_id,
                Actor::User(user.id),
                kind.accept_action(),
                "user",
                user.id,
                serde_json::json!({"password": "set", "invitation_id": invitation.id,
                    "other_invitations_voided": voided, "refresh_tokens_revoked": signed_out}),
            )
            .await?;
            Ok((user.id, sessions::start(conn, keys, &user).await?))
        })
        .await?;
    state.token_validity.forget(user_id);
    Ok(web::Json(pair))
}

/// Sign out everywhere.
///
/// Revokes every refresh token of the signed-in person and refuses every access token issued
/// to her until now, this one included, on all her devices.
#[utoipa::path(tag = "auth", operation_id = "logoutAll", security(("bearer" = [])),
    responses((status = 204, description = "Signed out everywhere"), ReadErrors))]
#[post("/v1/auth/logout-all")]
pub async fn logout_all(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let revoked = tokens::revoke_all_for_user(conn, principal.user_id).await?;
        users::end_access_tokens(conn, principal.user_id).await?;
        audit::record(
            conn,
            principal.organization_id,
            principal.actor(),
            "user.logout_all",
            "user",
            principal.user_id,
            serde_json::json!({"refresh_tokens_revoked": revoked}),
        )
        .await?;
        Ok(())
    })
    .await?;
    state.token_validity.forget(principal.user_id);
    Ok(HttpResponse::NoContent().finish())
}
