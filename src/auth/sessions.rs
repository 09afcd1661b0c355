//! Sign-in sessions: a short-lived access token plus a refresh token that rotates on every
//! use. Reusing a rotated refresh token means it was stolen (or replayed): the whole family,
//! every token descended from that sign-in, is revoked.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::jwt::JwtKeys;
use super::secrets;
use super::AuthError;
use crate::db::{tokens, users};

/// Refresh tokens live for 30 days unless rotated or revoked first.
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// What login, refresh and invitation acceptance answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6IjNmYTQ1ZjBhOWMxZTJiN2QifQ.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "rbr_Xq3v0d8i8oQ2h3k9m1n5p7r2t4v6x8z0A2C4E6G8I0K"
}))]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires (at most 900).
    pub expires_in: u64,
    /// One-time token for `POST /v1/auth/refresh`; each use returns a new one.
    pub refresh_token: String,
}

fn unauthorized(detail: &'static str) -> AuthError {
    AuthError::Refused(detail)
}

/// Starts a new session family for `user`.
pub async fn start(
    conn: &mut AsyncPgConnection,
    keys: &JwtKeys,
    user: &users::User,
) -> Result<TokenPair, AuthError> {
    issue(conn, keys, user, Uuid::now_v7()).await
}

async fn issue(
    conn: &mut AsyncPgConnection,
    keys: &JwtKeys,
    user: &users::User,
    family_id: Uuid,
) -> Result<TokenPair, AuthError> {
    let refresh = secrets::generate(secrets::REFRESH_PREFIX);
    let expires_at = Utc::now() + Duration::days(REFRESH_TOKEN_DAYS);
    tokens::insert_refresh(
        conn,
        family_id,
        user,
        &secrets::digest(&refresh),
        expires_at,
    )
    .await?;
    Ok(TokenPair {
        access_token: keys.issue(user.id, user.organization_id, user.role(), user.client_id)?,
        token_type: "Bearer",
        expires_in: keys.ttl().as_secs(),
        refresh_token: refresh,
    })
}

/// Exchanges a live refresh token for a new pair in the same family.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    keys: &JwtKeys,
    refresh_token: &str,
) -> Result<TokenPair, AuthError> {
    let digest = secrets::digest(refresh_token);
    let Some(token) = tokens::find_refresh(conn, &digest).await? else {
        return Err(unauthorized("The refresh token is not valid."));
    };
    if token.revoked_at.is_some() {
        return Err(unauthorized(
            "The refresh token was revoked; sign in again.",
        ));
    }
    if token.expires_at <= Utc::now() {
        return Err(unauthorized(
            "The refresh token has expired; sign in again.",
        ));
    }
    let outcome = conn
        .transaction::<_, AuthError, _>(async |conn| {
            if !tokens::claim_refresh_for_rotation(conn, token.id).await? {
                return Ok(None);
            }
            let Some(user) = users::find_active(conn, token.user_id).await? else {
                return Err(unauthorized("The account is no longer active."));
            };
            issue(conn, keys, &user, token.family_id).await.map(Some)
        })
        .await?;
    match outcome {
        Some(pair) => Ok(pair),
        None => {
            // Already rotated: a replay. Sign out every token of this sign-in.
            let revoked = tokens::revoke_family(conn, token.family_id).await?;
            tracing::warn!(family = %token.family_id, revoked, "refresh token reused; family revoked");
            Err(unauthorized(
                "The refresh token was already used; every session of this sign-in has been signed out.",
            ))
        }
    }
}

/// Revokes the session family of a refresh token; unknown tokens are ignored.
pub async fn end(conn: &mut AsyncPgConnection, refresh_token: &str) -> Result<(), AuthError> {
    if let Some(token) = tokens::find_refresh(conn, &secrets::digest(refresh_token)).await? {
        tokens::revoke_family(conn, token.family_id).await?;
    }
    Ok(())
}
