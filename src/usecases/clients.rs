//! Her record: added, changed, erased, and her invitation to the app. Each is one
//! transaction that ends with its audit entry.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::check_if_match;
use crate::auth::invitations::{self, InvitationKind, NewInvitation};
use crate::db::clients::{self, Client, ClientFields};
use crate::db::{audit, erasure, users};
use crate::domain::identity::{Principal, Role};
use crate::domain::ids::{ClientId, UserId};
use crate::domain::policy;
use crate::error::{ApiError, ApiResult};

/// Adds a client with `fields` (already validated); a coach's new client is her own.
pub async fn create(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    mut fields: ClientFields,
) -> ApiResult<Client> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        check_coach(conn, principal, &mut fields, None).await?;
        let client = clients::insert(conn, principal.organization_id, &fields)
            .await
            .map_err(duplicate)?;
        let values = serde_json::to_value(&fields).map_err(anyhow::Error::from)?;
        let changes = audit::scrub_except(&values, audit::CLIENT_VALUES_KEPT);
        let event = audit::Entry::new(
            principal.actor(),
            "client.create",
            "client",
            client.id,
            changes,
        );
        event.record(conn, principal.organization_id).await?;
        Ok(client)
    })
    .await
}

/// Changes her record to what `fields_of` makes of it as it is now (a merge patch, read and
/// validated against her current values). A change that is not valid is a 422 whatever its
/// `If-Match`; a valid one on a stale revision is a 412.
pub async fn update(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: ClientId,
    if_match: Option<&str>,
    fields_of: impl FnOnce(&Client) -> ApiResult<ClientFields> + Send,
) -> ApiResult<Client> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = clients::find_accessible(conn, principal, id, true).await?;
        let mut fields = fields_of(&before)?;
        check_coach(conn, principal, &mut fields, before.coach_id).await?;
        check_if_match(if_match, before.revision)?;
        let after = clients::update(conn, before.id, before.revision, &fields)
            .await
            .map_err(duplicate)?
            .ok_or_else(|| {
                ApiError::PreconditionFailed("The client changed meanwhile; read it again.".into())
            })?;
        let changes = audit::scrub_except(
            &audit::diff(&ClientFields::from(&before), &fields),
            audit::CLIENT_VALUES_KEPT,
        );
        let event = audit::Entry::new(
            principal.actor(),
            "client.update",
            "client",
            after.id,
            changes,
        );
        event.record(conn, principal.organization_id).await?;
        Ok(after)
    })
    .await
}

/// Erases her: her record, plans, sessions, results and login. The audit trail keeps its
/// events about her, reduced to ids and field names, and one more records the erasure. Her
/// login, whose tokens the caller ends now.
pub async fn erase(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: ClientId,
) -> ApiResult<Option<UserId>> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, id, true).await?;
        let login = users::find_by_client(conn, client.id).await?.map(|u| u.id);
        let counts = erasure::erase_client(conn, client.organization_id, client.id).await?;
        let changes = serde_json::json!({"rows_deleted": counts});
        let event = audit::Entry::new(
            principal.actor(),
            "client.erase",
            "client",
            client.id,
            changes,
        );
        event.record(conn, principal.organization_id).await?;
        Ok(login)
    })
    .await
}

/// Invites her to the app (making her login on the first invitation), or resets her password
/// when she has one (signed-in staff only). She needs an email on record (409 otherwise).
pub async fn invite(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: ClientId,
) -> ApiResult<NewInvitation> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, id, true).await?;
        let user = login_of(conn, &client).await?;
        if user.is_activated() && !policy::may_reset_passwords(principal) {
            return Err(ApiError::Forbidden(
                "She already has a password; only a signed-in coach or admin can reset it.".into(),
            ));
        }
        let invitation = invitations::create(conn, &user, principal.user_id).await?;
        let action = match invitation.kind {
            InvitationKind::Invitation => "client.invite",
            InvitationKind::PasswordReset => "client.password_reset",
        };
        let changes = serde_json::json!({"user_id": user.id, "kind": invitation.kind.as_str(),
            "expires_at": invitation.expires_at});
        let event = audit::Entry::new(principal.actor(), action, "client", client.id, changes);
        event.record(conn, principal.organization_id).await?;
        Ok(invitation)
    })
    .await
}

/// Her login, made (without a password) if she has none yet.
async fn login_of(conn: &mut AsyncPgConnection, client: &Client) -> ApiResult<users::User> {
    let email = client.email.clone().ok_or_else(|| {
        ApiError::Conflict(
            "She has no email on record: add one to her record, then invite her.".into(),
        )
    })?;
    if let Some(user) = users::find_by_client(conn, client.id).await? {
        return Ok(user);
    }
    let new = users::NewUser {
        organization_id: client.organization_id,
        role: Role::Client,
        name: &client.name,
        email: &email,
        password_hash: None,
        client_id: Some(client.id),
    };
    users::insert(conn, new).await.map_err(|e| {
        if users::is_duplicate_email(&e) {
            ApiError::Conflict("A staff account of this organization uses this email.".into())
        } else {
            e.into()
        }
    })
}

/// Checks who may set `coach_id`: a coach keeps her clients to herself; an admin assigns any
/// active coach of the organization.
async fn check_coach(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    fields: &mut ClientFields,
    previous: Option<UserId>,
) -> Result<(), ApiError> {
    match principal.role {
        Role::Coach => match fields.coach_id {
            None if previous.is_none() => fields.coach_id = Some(principal.user_id),
            Some(id) if id == principal.user_id => {}
            other if other == previous => {}
            _ => {
                return Err(ApiError::invalid(
                    "coach_id",
                    "only an admin assigns a client to another coach",
                ))
            }
        },
        _ => {
            if let Some(id) = fields.coach_id.filter(|id| Some(*id) != previous) {
                if !clients::is_coach_of(conn, principal.organization_id, id).await? {
                    return Err(ApiError::invalid(
                        "coach_id",
                        "is not an active coach of this organization",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn duplicate(e: diesel::result::Error) -> ApiError {
    match clients::duplicate_of(&e) {
        Some(field) => ApiError::Conflict(format!(
            "Another client of this organization has this {field}."
        )),
        None => e.into(),
    }
}
