//! Changing a client with a JSON Merge Patch (RFC 7396), guarded by her revision.

use super::super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound};
use super::super::extract::{ClientRef, JsonBody};
use super::super::if_match;
use super::{ClientInput, ClientView};
use crate::db::clients::{Client, ClientFields};
use crate::domain::client::{ClientStatus, DeliveryType};
use crate::domain::identity::Principal;
use crate::domain::ids::UserId;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::usecases::{self, etag};
use actix_web::{patch, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A JSON Merge Patch (RFC 7396) of a client: send only what changes; `null` clears an
/// optional field.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"cleared_for_exercise": true, "notes": "Cleared by Dr Shah at the 8-week check."}))]
pub struct ClientPatch {
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// Up to 100 characters without control characters; blank or `null` removes it.
    #[schema(value_type = Option<String>, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub external_id: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// May be changed, not removed. Not blank, up to 200 characters, no control characters.
    #[schema(value_type = String, required = false, min_length = 1, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// An email address (ASCII, up to 254 characters); blank or `null` removes it.
    #[schema(value_type = Option<String>, max_length = 254, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[!-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub email: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// Digits, spaces and `+ - ( ) .`, 3 to 40 characters; blank or `null` removes it.
    #[schema(value_type = Option<String>, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[0-9+().-][0-9 +().-]{1,38}[0-9+().-])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub phone: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Uuid>)]
    pub coach_id: Option<Option<Uuid>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// May be changed, not removed.
    #[schema(value_type = NaiveDate, required = false)]
    pub delivery_date: Option<Option<NaiveDate>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    /// May be changed, not removed.
    #[schema(value_type = DeliveryType, required = false)]
    pub delivery_type: Option<Option<DeliveryType>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 4)]
    pub perineal_tear_grade: Option<Option<u8>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<bool>)]
    pub breastfeeding: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<bool>)]
    pub cleared_for_exercise: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<NaiveDate>)]
    pub cleared_on: Option<Option<NaiveDate>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<ClientStatus>)]
    pub status: Option<Option<ClientStatus>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::api::extract::present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
}

/// RFC 7396: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (key, value) in p {
                if value.is_null() {
                    t.remove(&key);
                } else {
                    merge_patch(t.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// Change a client (JSON Merge Patch).
///
/// Send `If-Match` with the ETag you read: a change made meanwhile by someone else is then a
/// 412 instead of being overwritten.
#[utoipa::path(tag = "clients", operation_id = "updateClient", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you read")),
    request_body(content = ClientPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The updated client", body = ClientView,
            headers(("ETag" = String, description = "The new revision"))),
        (status = 412, description = "The client changed since you read it", body = crate::error::Problem, content_type = "application/problem+json"),
        NotFound, Conflict, AuthenticatedBodyErrors, BodyErrors))]
#[patch("/v1/clients/{client_id}")]
pub async fn update_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(patch): JsonBody<ClientPatch>,
) -> ApiResult<HttpResponse> {
    let if_match = if_match(&req);
    let patch = serde_json::to_value(&patch).map_err(anyhow::Error::from)?;
    let mut conn = state.pool.get().await?;
    let updated =
        usecases::clients::update(&mut conn, &principal, id, if_match.as_deref(), |before| {
            patched(before, patch, principal.user_id)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag(updated.revision)))
        .json(ClientView::from(updated)))
}

/// Her record with `patch` merged into it, read and validated as a whole.
fn patched(before: &Client, patch: serde_json::Value, by: UserId) -> ApiResult<ClientFields> {
    let mut merged =
        serde_json::to_value(ClientInput::from_client(before)).map_err(anyhow::Error::from)?;
    merge_patch(&mut merged, patch);
    let input: ClientInput = serde_json::from_value(merged).map_err(|e| {
        let message = e.to_string();
        let field = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .unwrap_or("body");
        ApiError::invalid(
            field,
            if message.starts_with("missing field") {
                "may not be null".to_string()
            } else {
                message.clone()
            },
        )
    })?;
    input
        .validate(before.today(), by, Some(before))
        .map_err(ApiError::Validation)
}
