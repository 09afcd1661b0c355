//! Users: admins, coaches and clients of one organization.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::users;
use crate::domain::identity::Role;
use crate::domain::ids::{ClientId, OrganizationId, UserId};

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub organization_id: OrganizationId,
    pub role: Role,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For a client's login: her client record.
    pub client_id: Option<ClientId>,
    /// Access tokens issued before this instant are refused.
    pub tokens_valid_after: Option<DateTime<Utc>>,
}

impl User {
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the person has set a password (accepted her invitation).
    pub fn is_activated(&self) -> bool {
        self.password_hash.is_some()
    }
}

pub struct NewUser<'a> {
    pub organization_id: OrganizationId,
    pub role: Role,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub client_id: Option<ClientId>,
}

/// Whether an error is the per-organization email uniqueness violation.
pub fn is_duplicate_email(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("users_organization_email_key")
    )
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::now_v7()),
            users::organization_id.eq(new.organization_id),
            users::role.eq(new.role.as_str()),
            users::name.eq(new.name),
            users::email.eq(new.email),
            users::password_hash.eq(new.password_hash),
            users::client_id.eq(new.client_id),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Active users of any organization with this email, oldest first: the candidates a login
/// with this email may mean.
pub async fn find_login_candidates(
    conn: &mut AsyncPgConnection,
    email: &str,
    organization_id: Option<OrganizationId>,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(lower(users::email).eq(email.trim().to_lowercase()))
        .filter(users::deactivated_at.is_null())
        .filter(users::password_hash.is_not_null())
        .select(User::as_select())
        .order(users::created_at.asc())
        .limit(10)
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(users::organization_id.eq(org));
    }
    query.load(conn).await
}

pub async fn find_active(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .filter(users::deactivated_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// One active user of the organization with the given role.
pub async fn find_in_organization(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    role: Role,
    id: Uuid,
) -> QueryResult<User> {
    users::table
        .find(id)
        .filter(users::organization_id.eq(organization_id))
        .filter(users::role.eq(role.as_str()))
        .filter(users::deactivated_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
}

/// A page of the organization's active users with a role, in creation order, after a cursor.
pub async fn list_in_organization(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    role: Role,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(users::organization_id.eq(organization_id))
        .filter(users::role.eq(role.as_str()))
        .filter(users::deactivated_at.is_null())
        .select(User::as_select())
        // UUIDv7 ids grow with time: ordering by id is creation order, stable under inserts.
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn).await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub email: Option<String>,
}

pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: &ProfileChanges,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set((changes, users::updated_at.eq(diesel::dsl::now)))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: UserId,
    password_hash: &str,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// The channel on which a change to a user's tokens is announced (payload: her id), so every
/// instance of the service forgets what it cached about her (`auth::validity`).
pub const TOKENS_CHANNEL: &str = "runback_tokens";

/// Announces, when the transaction commits, that these users' tokens changed.
pub async fn announce_token_change(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify($1, id::text) FROM unnest($2::uuid[]) AS id")
        .bind::<diesel::sql_types::Text, _>(TOKENS_CHANNEL)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Refuses from now on every access token issued to the user before now (sign-out
/// everywhere, a password reset).
pub async fn end_access_tokens(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    // The service's clock, the one its tokens' issue times come from.
    diesel::update(users::table.find(id))
        .set(users::tokens_valid_after.eq(Utc::now()))
        .execute(conn)
        .await?;
    announce_token_change(conn, &[id.into()]).await
}

/// What an access token of this user is checked against: `None` when the user is gone or
/// deactivated, else the instant before which her tokens are refused (if any).
pub async fn token_validity(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> QueryResult<Option<Option<DateTime<Utc>>>> {
    users::table
        .find(id)
        .filter(users::deactivated_at.is_null())
        .select(users::tokens_valid_after)
        .first(conn)
        .await
        .optional()
}

pub async fn deactivate(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::deactivated_at.eq(diesel::dsl::now),
            users::tokens_valid_after.eq(Utc::now()),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    announce_token_change(conn, &[id.into()]).await
}

/// Whether any active account, in any organization, uses this email.
pub async fn email_in_use(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(lower(users::email).eq(email.trim().to_lowercase()))
            .filter(users::deactivated_at.is_null()),
    ))
    .get_result(conn)
    .await
}

/// The login of a client record, if she has one.
pub async fn find_by_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::client_id.eq(client_id))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}
