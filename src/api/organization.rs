//! The caller's organization (practice) and its settings.

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, ReadErrors};
use super::extract::{present, required, JsonBody};
use crate::db::audit;
use crate::db::organizations::{self, Organization, OrganizationChanges};
use crate::domain::identity::PersonName;
use crate::domain::identity::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_organization).service(update_organization);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937a4e-7a00-7c3d-8e1f-2a3b4c5d6e7f",
    "name": "Riverside Physio",
    "auto_progress": false,
    "created_at": "2026-11-02T08:00:00Z",
    "updated_at": "2026-11-20T16:45:10Z"
}))]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    /// false (default): the engine recommends and a coach applies. true: green and amber
    /// decisions apply themselves. Red decisions always apply at once.
    pub auto_progress: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.into(),
            name: o.name,
            auto_progress: o.auto_progress,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A JSON Merge Patch (RFC 7396) of the organization's settings: send only what changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"auto_progress": true}))]
pub struct OrganizationPatch {
    /// May be changed, not removed. Not blank, up to 200 characters, no control characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub name: Option<Option<String>>,
    /// May be changed, not removed.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub auto_progress: Option<Option<bool>>,
}

/// The organization's settings.
#[utoipa::path(tag = "organization", operation_id = "getOrganization", security(("bearer" = [])),
    responses((status = 200, description = "The organization", body = OrganizationView), ReadErrors))]
#[get("/v1/organization")]
pub async fn get_organization(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<web::Json<OrganizationView>> {
    let mut conn = state.pool.get().await?;
    let organization = organizations::find(&mut conn, principal.organization_id).await?;
    Ok(web::Json(organization.into()))
}

/// Change the organization's settings (JSON Merge Patch).
#[utoipa::path(tag = "organization", operation_id = "updateOrganization", security(("bearer" = [])),
    request_body(content = OrganizationPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The updated organization", body = OrganizationView),
        AuthenticatedBodyErrors, BodyErrors))]
#[patch("/v1/organization")]
pub async fn update_organization(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(patch): JsonBody<OrganizationPatch>,
) -> ApiResult<web::Json<OrganizationView>> {
    let changes = OrganizationChanges {
        name: required("name", patch.name)?
            .map(|n| PersonName::parse(&n).map(|n| n.as_str().to_string()))
            .transpose()
            .map_err(|m| ApiError::invalid("name", m))?,
        auto_progress: required("auto_progress", patch.auto_progress)?,
    };
    let mut conn = state.pool.get().await?;
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = organizations::find(conn, principal.organization_id).await?;
            let after = organizations::update(conn, principal.organization_id, &changes).await?;
            audit::record(
                conn,
                after.id,
                principal.actor(),
                "organization.update",
                "organization",
                after.id,
                serde_json::json!({
                    "name": {"from": before.name, "to": after.name},
                    "auto_progress": {"from": before.auto_progress, "to": after.auto_progress},
                }),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(updated.into()))
}
