//! Staff: an admin adds coaches (each gets an invitation), edits and removes them.

use super::idempotency::Db;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{present, required, JsonBody, QueryParams};
use super::{Page, PageQuery};
use crate::auth::invitations::{self, InvitationKind, NewInvitation};
use crate::db::audit;
use crate::db::tokens;
use crate::db::users::{self, ProfileChanges, User};
use crate::domain::identity::Principal;
use crate::domain::identity::{EmailAddress, PersonName, Role};
use crate::domain::ids::UserId;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_coaches)
        .service(create_coach)
        .service(get_coach)
        .service(update_coach)
        .service(delete_coach)
        .service(invite_coach);
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Invited; no password set yet.
    Invited,
    /// Has signed in at least once.
    Active,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "name": "Maya Okafor",
    "email": "maya@riverside-physio.example",
    "status": "active",
    "created_at": "2026-11-02T08:05:00Z",
    "updated_at": "2026-11-02T08:05:00Z"
}))]
#[schema(example = json!({
    "id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "name": "Maya Okafor",
    "email": "maya@riverside.example",
    "status": "active",
    "created_at": "2026-12-08T01:20:56Z",
    "updated_at": "2026-12-08T01:20:56Z"
}))]
pub struct Coach {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for Coach {
    fn from(u: User) -> Self {
        Self {
            status: if u.is_activated() {
                AccountStatus::Active
            } else {
                AccountStatus::Invited
            },
            id: u.id.into(),
            name: u.name,
            email: u.email,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Maya Okafor", "email": "maya@riverside-physio.example"}))]
pub struct NewCoach {
    /// Not blank, up to 200 characters, no control characters.
    #[schema(
        min_length = 1,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// An email address (ASCII, up to 254 characters); her login.
    #[schema(
        max_length = 254,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[!-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~][\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCoach {
    pub coach: Coach,
    /// Pass the token to the coach: she sets her password with it.
    pub invitation: NewInvitation,
}

/// A JSON Merge Patch of a coach: send only what changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Maya Okafor-Reid"}))]
pub struct CoachPatch {
    /// May be changed, not removed. Not blank, up to 200 characters, no control characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub name: Option<Option<String>>,
    /// May be changed, not removed.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, max_length = 254, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[!-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~][\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub email: Option<Option<String>>,
}

fn duplicate_email(e: diesel::result::Error) -> ApiError {
    if users::is_duplicate_email(&e) {
        ApiError::Conflict("Someone in this organization already uses this email.".into())
    } else {
        e.into()
    }
}

fn parse_name(raw: &str) -> Result<String, ApiError> {
    PersonName::parse(raw)
        .map(|n| n.as_str().to_string())
        .map_err(|m| ApiError::invalid("name", m))
}

fn parse_email(raw: &str) -> Result<String, ApiError> {
    EmailAddress::parse(raw)
        .map(|e| e.as_str().to_string())
        .map_err(|m| ApiError::invalid("email", m))
}

/// The organization's coaches.
#[utoipa::path(tag = "coaches", operation_id = "listCoaches", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of coaches", body = Page<Coach>), ReadErrors))]
#[get("/v1/coaches")]
pub async fn list_coaches(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<Coach>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = users::list_in_organization(
        &mut conn,
        principal.organization_id,
        Role::Coach,
        after,
        limit,
    )
    .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |u| u.id.into(),
        Coach::from,
    )))
}

/// Add a coach and invite her.
///
/// The answer carries a one-time invitation token (valid 7 days) for the coach to set her
/// password at `POST /v1/auth/invitations/accept`.
#[utoipa::path(tag = "coaches", operation_id = "createCoach", security(("bearer" = [])),
    request_body = NewCoach,
    responses((status = 201, description = "Coach created and invited", body = CreatedCoach),
        Conflict, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/coaches")]
pub async fn create_coach(
    db: Db,
    principal: Principal,
    JsonBody(body): JsonBody<NewCoach>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&body.name)?;
    let email = parse_email(&body.email)?;
    let mut conn = db.get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let coach = users::insert(
                conn,
                users::NewUser {
                    organization_id: principal.organization_id,
                    role: Role::Coach,
                    name: &name,
                    email: &email,
                    password_hash: None,
                    client_id: None,
                },
            )
            .await
            .map_err(duplicate_email)?;
            let invitation = invitations::create(conn, &coach, principal.user_id).await?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "coach.create",
                "user",
                coach.id,
                serde_json::json!({"name": coach.name, "email": coach.email, "role": "coach"}),
            )
            .await?;
            Ok(CreatedCoach {
                coach: coach.into(),
                invitation,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Invite a coach again, or reset her password.
///
/// A new one-time token (valid 7 days) for `POST /v1/auth/invitations/accept`; her earlier
/// tokens stop working. When she already has a password the answer's `kind` is
/// `password_reset`: accepting it replaces her password and signs her out everywhere else.
/// Only a signed-in admin may do this (never a service token).
#[utoipa::path(tag = "coaches", operation_id = "inviteCoach", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The coach's id")),
    responses((status = 201, description = "A new invitation or password reset", body = NewInvitation),
        NotFound, ReadErrors))]
#[post("/v1/coaches/{id}/invitation")]
pub async fn invite_coach(
    db: Db,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = db.get().await?;
    let invitation = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let coach =
                users::find_in_organization(conn, principal.organization_id, Role::Coach, *id)
                    .await?;
            let invitation = invitations::create(conn, &coach, principal.user_id).await?;
            let action = match invitation.kind {
                InvitationKind::Invitation => "coach.invite",
                InvitationKind::PasswordReset => "coach.password_reset",
            };
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                action,
                "user",
                coach.id,
                serde_json::json!({"kind": invitation.kind.as_str(),
                    "expires_at": invitation.expires_at}),
            )
            .await?;
            Ok(invitation)
        })
        .await?;
    Ok(HttpResponse::Created().json(invitation))
}

/// One coach.
#[utoipa::path(tag = "coaches", operation_id = "getCoach", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The coach's id")),
    responses((status = 200, description = "The coach", body = Coach), NotFound, ReadErrors))]
#[get("/v1/coaches/{id}")]
pub async fn get_coach(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Coach>> {
    let mut conn = state.pool.get().await?;
    let coach =
        users::find_in_organization(&mut conn, principal.organization_id, Role::Coach, *id).await?;
    Ok(web::Json(coach.into()))
}

/// Change a coach's name or email (JSON Merge Patch).
#[utoipa::path(tag = "coaches", operation_id = "updateCoach", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The coach's id")),
    request_body(content = CoachPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The updated coach", body = Coach),
        NotFound, Conflict, AuthenticatedBodyErrors, BodyErrors))]
#[patch("/v1/coaches/{id}")]
pub async fn update_coach(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<CoachPatch>,
) -> ApiResult<web::Json<Coach>> {
    let changes = ProfileChanges {
        name: required("name", patch.name)?
            .map(|n| parse_name(&n))
            .transpose()?,
        email: required("email", patch.email)?
            .map(|e| parse_email(&e))
            .transpose()?,
    };
    let mut conn = state.pool.get().await?;
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before =
                users::find_in_organization(conn, principal.organization_id, Role::Coach, *id)
                    .await?;
            let after = users::update_profile(conn, before.id, &changes)
                .await
                .map_err(duplicate_email)?;
            audit::record(
                conn,
                principal.organization_id,
                principal.actor(),
                "coach.update",
                "user",
                after.id,
                serde_json::json!({
                    "name": {"from": before.name, "to": after.name},
                    "email": {"from": before.email, "to": after.email},
                }),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(updated.into()))
}

/// Remove a coach.
///
/// She can no longer sign in, her refresh tokens are revoked and her access tokens are refused
/// at once; her name stays on the history she wrote.
#[utoipa::path(tag = "coaches", operation_id = "deleteCoach", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The coach's id")),
    responses((status = 204, description = "Removed"), NotFound, ReadErrors))]
#[delete("/v1/coaches/{id}")]
pub async fn delete_coach(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let coach =
            users::find_in_organization(conn, principal.organization_id, Role::Coach, *id).await?;
        users::deactivate(conn, coach.id).await?;
        tokens::revoke_all_for_user(conn, coach.id).await?;
        audit::record(
            conn,
            principal.organization_id,
            principal.actor(),
            "coach.remove",
            "user",
            coach.id,
            serde_json::json!({}),
        )
        .await?;
        Ok(())
    })
    .await?;
    // Her access tokens stop working now, not when they expire.
    state.token_validity.forget(UserId(*id));
    Ok(HttpResponse::NoContent().finish())
}
