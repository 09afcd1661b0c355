//! Stored secrets: refresh tokens (rotated, in families), invitations (one-time) and service
//! tokens (for scripts). Only SHA-256 digests are stored; the secrets themselves are shown once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{invitations, refresh_tokens, service_tokens, users};
use crate::domain::ids::{OrganizationId, UserId};

// ---- refresh tokens ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert_refresh(
    conn: &mut AsyncPgConnection,
    family_id: Uuid,
    user: &super::users::User,
    digest: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    let user_id = user.id;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::organization_id.eq(user.organization_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::token_hash.eq(digest),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn find_refresh(
    conn: &mut AsyncPgConnection,
    digest: &[u8],
) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest))
        .select(RefreshToken::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks a live token as rotated; `false` when another request rotated or revoked it first.
pub async fn claim_refresh_for_rotation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

pub async fn revoke_family(conn: &mut AsyncPgConnection, family_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

pub async fn revoke_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

// ---- invitations ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// `invitation` (a first password) or `password_reset`.
    pub kind: String,
}

pub struct NewInvitation<'a> {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub created_by: UserId,
    pub digest: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub kind: &'a str,
}

/// Stores a new invitation and voids every earlier pending one of the same user, so only the
/// newest token can ever be accepted.
pub async fn insert_invitation(
    conn: &mut AsyncPgConnection,
    new: NewInvitation<'_>,
) -> QueryResult<Invitation> {
    void_pending_invitations(conn, new.user_id).await?;
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(Uuid::now_v7()),
            invitations::organization_id.eq(new.organization_id),
            invitations::user_id.eq(new.user_id),
            invitations::created_by.eq(new.created_by),
            invitations::token_hash.eq(new.digest),
            invitations::expires_at.eq(new.expires_at),
            invitations::kind.eq(new.kind),
        ))
        .returning(Invitation::as_returning())
        .get_result(conn)
        .await
}

/// Voids the user's pending invitations; returns how many there were.
pub async fn void_pending_invitations(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::user_id.eq(user_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::voided_at.is_null()),
    )
    .set(invitations::voided_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// The pending (not accepted, not voided), unexpired invitation with this digest.
pub async fn find_pending_invitation(
    conn: &mut AsyncPgConnection,
    digest: &[u8],
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::token_hash.eq(digest))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::voided_at.is_null())
        .filter(invitations::expires_at.gt(diesel::dsl::now))
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()
}

/// Takes a pending, unexpired invitation for acceptance, at most once.
pub async fn accept_invitation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<Invitation>> {
    diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::voided_at.is_null())
            .filter(invitations::expires_at.gt(diesel::dsl::now)),
    )
    .set(invitations::accepted_at.eq(diesel::dsl::now))
    .returning(Invitation::as_returning())
    .get_result(conn)
    .await
    .optional()
}

// ---- service tokens ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_tokens)]
pub struct ServiceToken {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub created_by: UserId,
    pub name: String,
    pub scopes: String,
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewServiceToken<'a> {
    pub organization_id: OrganizationId,
    pub created_by: UserId,
    pub name: &'a str,
    pub scopes: &'a str,
    pub digest: &'a [u8],
    pub token_prefix: &'a str,
}

pub async fn insert_service_token(
    conn: &mut AsyncPgConnection,
    new: NewServiceToken<'_>,
) -> QueryResult<ServiceToken> {
    diesel::insert_into(service_tokens::table)
        .values((
            service_tokens::id.eq(Uuid::now_v7()),
            service_tokens::organization_id.eq(new.organization_id),
            service_tokens::created_by.eq(new.created_by),
            service_tokens::name.eq(new.name),
            service_tokens::scopes.eq(new.scopes),
            service_tokens::token_hash.eq(new.digest),
            service_tokens::token_prefix.eq(new.token_prefix),
        ))
        .returning(ServiceToken::as_returning())
        .get_result(conn)
        .await
}

/// The live token with this digest, if the admin who made it is still active; marks it used
/// (at most once a minute, to keep reads cheap).
pub async fn authenticate_service_token(
    conn: &mut AsyncPgConnection,
    digest: &[u8],
) -> QueryResult<Option<ServiceToken>> {
    let token = service_tokens::table
        .inner_join(users::table)
        .filter(service_tokens::token_hash.eq(digest))
        .filter(service_tokens::revoked_at.is_null())
        .filter(users::deactivated_at.is_null())
        .filter(users::role.eq("admin"))
        .select(ServiceToken::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(t) = &token {
        let stale = t
            .last_used_at
            .is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(1));
        if stale {
            diesel::update(service_tokens::table.find(t.id))
                .set(service_tokens::last_used_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
        }
    }
    Ok(token)
}

pub async fn list_service_tokens(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ServiceToken>> {
    let mut query = service_tokens::table
        .filter(service_tokens::organization_id.eq(organization_id))
        .filter(service_tokens::revoked_at.is_null())
        .select(ServiceToken::as_select())
        .order(service_tokens::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service_tokens::id.gt(after));
    }
    query.load(conn).await
}

/// Revokes a live token of the organization; `false` when there is none with that id.
pub async fn revoke_service_token(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::update(
        service_tokens::table
            .find(id)
            .filter(service_tokens::organization_id.eq(organization_id))
            .filter(service_tokens::revoked_at.is_null()),
    )
    .set(service_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(|n| n == 1)
}
