//! Invitations: how a coach or a client gets her first password. A one-time secret, valid for
//! 7 days, stored hashed, accepted at `POST /v1/auth/invitations/accept`.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::secrets;
use crate::db::tokens;

pub const INVITATION_DAYS: i64 = 7;

/// A new invitation: pass the token to the invitee (it is shown only this once).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "rbi_4mJ0vYw8kLq2N5s7U9x1Z3b5D7f9H1j3L5n7P9r1T3v",
    "expires_at": "2026-12-02T09:30:00Z",
    "accept_path": "/v1/auth/invitations/accept"
}))]
pub struct NewInvitation {
    /// The one-time secret; send it with a password to `accept_path`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Where the invitee's app posts `{token, password}`.
    pub accept_path: &'static str,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
    created_by: Uuid,
) -> diesel::QueryResult<NewInvitation> {
    let token = secrets::generate(secrets::INVITATION_PREFIX);
    let expires_at = Utc::now() + Duration::days(INVITATION_DAYS);
    let stored = tokens::insert_invitation(
        conn,
        organization_id,
        user_id,
        created_by,
        &secrets::digest(&token),
        expires_at,
    )
    .await?;
    Ok(NewInvitation {
        token,
        expires_at: stored.expires_at,
        accept_path: "/v1/auth/invitations/accept",
    })
}
