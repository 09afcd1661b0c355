//! Who am I?

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::ReadErrors;
use crate::db::{organizations, users};
use crate::domain::identity::Principal;
use crate::domain::identity::{Role, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceTokenRef {
    pub id: Uuid,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user_id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "name": "Maya Okafor",
    "email": "maya@riverside-physio.example",
    "role": "coach",
    "organization": {"id": "01937a4e-7a00-7c3d-8e1f-2a3b4c5d6e7f", "name": "Riverside Physio"},
    "service_token": null
}))]
pub struct Me {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub organization: OrganizationRef,
    /// Set when the caller is a service token (which acts as the admin who made it).
    pub service_token: Option<ServiceTokenRef>,
}

/// Who am I?
///
/// The signed-in user (or the admin a service token acts as), her role and organization.
#[utoipa::path(tag = "me", operation_id = "getMe", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me), ReadErrors))]
#[get("/v1/me")]
pub async fn me(state: web::Data<AppState>, principal: Principal) -> ApiResult<web::Json<Me>> {
    let mut conn = state.pool.get().await?;
    let user = users::find_active(&mut conn, principal.user_id)
        .await?
        .filter(|u| u.organization_id == principal.organization_id)
        .ok_or_else(|| ApiError::Unauthorized("The account is no longer active.".into()))?;
    let organization = organizations::find(&mut conn, principal.organization_id).await?;
    Ok(web::Json(Me {
        user_id: user.id.into(),
        name: user.name,
        email: user.email,
        role: principal.role,
        organization: OrganizationRef {
            id: organization.id.into(),
            name: organization.name,
        },
        service_token: principal.service_token.map(|t| ServiceTokenRef {
            id: t.id,
            scopes: t.scopes,
        }),
    }))
}
