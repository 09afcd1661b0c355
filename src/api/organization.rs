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
use crate::domain::triage::emergency_number;
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
    "country": "GB",
    "emergency_number": null,
    "emergency_number_in_use": "999",
    "created_at": "2026-11-02T08:00:00Z",
    "updated_at": "2026-11-20T16:45:10Z"
}))]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: String,
    /// false (default): the engine recommends and a coach applies. true: green and amber
    /// decisions apply themselves. Red decisions always apply at once.
    pub auto_progress: bool,
    /// Where the practice is (ISO 3166-1 alpha-2), for the emergency number.
    #[schema(example = "GB", pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    /// The practice's own emergency number, if set; null means the country's.
    pub emergency_number: Option<String>,
    /// What an emergency finding tells her to call: the practice's own number, else 999 in GB,
    /// 911 in the US and Canada, 112 elsewhere.
    pub emergency_number_in_use: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.into(),
            name: o.name,
            auto_progress: o.auto_progress,
            emergency_number_in_use: emergency_number(
                o.country.as_deref(),
                o.emergency_number.as_deref(),
            ),
            country: o.country,
            emergency_number: o.emergency_number,
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
    /// ISO 3166-1 alpha-2 (`GB`, `US`, `ES`…); null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = false, pattern = "^[A-Za-z]{2}$")]
    pub country: Option<Option<String>>,
    /// The number to call in an emergency, 2 to 6 digits; null uses the country's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = false, pattern = "^[0-9]{2,6}$")]
    pub emergency_number: Option<Option<String>>,
}

/// A country code as stored: two ASCII letters, upper case.
fn country_code(code: Option<String>) -> ApiResult<Option<String>> {
    match code {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Ok(Some(c.to_ascii_uppercase()))
        }
        Some(_) => Err(ApiError::invalid(
            "country",
            "must be a two-letter ISO 3166-1 country code",
        )),
        None => Ok(None),
    }
}

/// An emergency number: 2 to 6 digits.
fn phone_digits(number: Option<String>) -> ApiResult<Option<String>> {
    match number {
        Some(n) if (2..=6).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()) => {
            Ok(Some(n))
        }
        Some(_) => Err(ApiError::invalid(
            "emergency_number",
            "must be 2 to 6 digits",
        )),
        None => Ok(None),
    }
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
        country: patch.country.map(country_code).transpose()?,
        emergency_number: patch.emergency_number.map(phone_digits).transpose()?,
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
                    "country": {"from": before.country, "to": after.country},
                    "emergency_number": {"from": before.emergency_number, "to": after.emergency_number},
                }),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(updated.into()))
}
