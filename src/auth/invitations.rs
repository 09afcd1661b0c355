//! Invitations: how a coach or a client gets her first password, or a new one. A one-time
//! secret, valid for 7 days, stored hashed, accepted at `POST /v1/auth/invitations/accept`.
//! Only the newest invitation of a person can be accepted: issuing one voids the earlier ones,
//! and accepting one voids the rest and signs her out everywhere else.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

use crate::domain::ids::UserId;
use serde::Serialize;
use utoipa::ToSchema;

use super::secrets;
use crate::db::{tokens, users};

pub const INVITATION_DAYS: i64 = 7;
pub const ACCEPT_PATH: &str = "/v1/auth/invitations/accept";

/// What accepting the token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// She has no password yet: accepting sets her first one.
    Invitation,
    /// She already has a password: accepting replaces it and signs out her other sessions.
    PasswordReset,
}

impl InvitationKind {
    /// The kind for this account: a reset when she already has a password.
    pub fn for_user(user: &users::User) -> Self {
        if user.is_activated() {
            Self::PasswordReset
        } else {
            Self::Invitation
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
        }
    }

    /// The kind stored with an invitation; an unknown value is an error, never a guess.
    pub fn parse(stored: &str) -> anyhow::Result<Self> {
        match stored {
            "invitation" => Ok(Self::Invitation),
            "password_reset" => Ok(Self::PasswordReset),
            other => anyhow::bail!("unknown invitation kind {other:?} in the database"),
        }
    }

    /// The audit trail's action for accepting one.
    pub fn accept_action(self) -> &'static str {
        match self {
            Self::Invitation => "invitation.accept",
            Self::PasswordReset => "password_reset.accept",
        }
    }
}

/// A new invitation: pass the token to the invitee (it is shown only this once).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "rbi_4mJ0vYw8kLq2N5s7U9x1Z3b5D7f9H1j3L5n7P9r1T3v",
    "expires_at": "2026-12-02T09:30:00Z",
    "accept_path": "/v1/auth/invitations/accept",
    "kind": "invitation"
}))]
pub struct NewInvitation {
    /// The one-time secret; send it with a password to `accept_path`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Where the invitee's app posts `{token, password}`.
    pub accept_path: &'static str,
    /// `invitation` for a first password, `password_reset` when she already has one. Any
    /// earlier token of hers stops working.
    pub kind: InvitationKind,
}

/// Issues a new invitation (or password reset) for `user`, voiding her earlier ones.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user: &users::User,
    created_by: UserId,
) -> diesel::QueryResult<NewInvitation> {
    let token = secrets::generate(secrets::INVITATION_PREFIX);
    let kind = InvitationKind::for_user(user);
    let stored = tokens::insert_invitation(
        conn,
        tokens::NewInvitation {
            organization_id: user.organization_id,
            user_id: user.id,
            created_by,
            digest: &secrets::digest(&token),
            expires_at: Utc::now() + Duration::days(INVITATION_DAYS),
            kind: kind.as_str(),
        },
    )
    .await?;
    Ok(NewInvitation {
        token,
        expires_at: stored.expires_at,
        accept_path: ACCEPT_PATH,
        kind,
    })
}
