//! The HTTP floor: one module of thin handlers per resource, with their request and response
//! types. A handler extracts, lets the policy decide, calls the query layer and answers.

pub mod assessments;
pub mod audit;
pub mod auth;
pub mod authorize;
pub mod check_ins;
pub mod clients;
pub mod coaches;
pub mod docs;
pub mod extract;
pub mod fhir;
pub mod forwarded;
pub mod idempotency;
pub mod imports;
pub mod me;
pub mod ops;
pub mod organization;
pub mod plans;
pub mod programs;
pub mod recommendations;
pub mod reports;
pub mod request_span;
pub mod service_tokens;
pub mod sync;
pub mod timelines;
pub mod viewer;
pub mod webhooks;
pub mod workouts;

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::domain::identity::Principal;
use crate::domain::identity::Role;
use crate::domain::ids::ClientId;
use crate::error::ApiError;

/// Registers every documented route; the OpenAPI document is collected from these.
pub fn configure(cfg: &mut ServiceConfig) {
    ops::configure(cfg);
    auth::configure(cfg);
    me::configure(cfg);
    organization::configure(cfg);
    coaches::configure(cfg);
    service_tokens::configure(cfg);
    programs::configure(cfg);
    clients::configure(cfg);
    plans::configure(cfg);
    recommendations::configure(cfg);
    timelines::configure(cfg);
    workouts::configure(cfg);
    reports::configure(cfg);
    check_ins::configure(cfg);
    assessments::configure(cfg);
    imports::configure(cfg);
    audit::configure(cfg);
    fhir::configure(cfg);
    webhooks::configure(cfg);
    sync::configure(cfg);
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

/// `?limit=` and `?cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; omit for the first page.
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size, and the id to continue after.
    pub fn parse(&self) -> Result<(i64, Option<Uuid>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 200"));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                decode_cursor(c)
                    .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API gave out"))
            })
            .transpose()?;
        Ok((i64::from(limit), after))
    }
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// One page of a list, in a stable order; follow `next_cursor` until it is null.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    #[schema(example = "AZNrEC08fk-KW2x9jp8KGw")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows fetched in the list's order with `limit` as the page size; the cursor
    /// names the last row.
    pub fn from_rows<R>(
        rows: Vec<R>,
        limit: i64,
        id: impl Fn(&R) -> Uuid,
        view: impl Fn(R) -> T,
    ) -> Self {
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| encode_cursor(id(r))))
            .flatten();
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

/// The `If-Match` header of a request, if any.
pub fn if_match(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or_default().to_string())
}

/// Notes a staff read of a client's data for the audit trail, written within a second in a
/// batch (`db::audit::ReadLog`); her own reads are not recorded.
pub fn note_staff_read(
    state: &crate::state::AppState,
    principal: &Principal,
    action: &'static str,
    client_id: ClientId,
) {
    if principal.role != Role::Client {
        state.read_log.note(
            principal.organization_id,
            principal.actor(),
            action,
            "client",
            client_id.into(),
            serde_json::json!({}),
        );
    }
}

/// Staff reads of a client's health data are audited (who looked at what, when); her own reads
/// are not.
pub async fn audit_staff_read(
    conn: &mut diesel_async::AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    action: &str,
    what: serde_json::Value,
) -> Result<(), ApiError> {
    if principal.role == Role::Client {
        return Ok(());
    }
    crate::db::audit::record(
        conn,
        principal.organization_id,
        principal.actor(),
        action,
        "client",
        client_id,
        what,
    )
    .await?;
    Ok(())
}

/// [`audit_staff_read`] for a handler whose reads ran on a heavy-read connection (the
/// replica's, when that is safe): called once that connection is handed back, it takes one of
/// the primary's for a staff caller only. A request never holds two of the pool's connections
/// at once: a burst of such requests, each holding one and waiting for a second, would wait on
/// one another until the acquire timeout.
pub async fn audit_staff_read_after(
    conn: crate::db::DbConn,
    state: &crate::state::AppState,
    principal: &Principal,
    client_id: ClientId,
    action: &str,
    what: serde_json::Value,
) -> Result<(), ApiError> {
    drop(conn);
    if principal.role == Role::Client {
        return Ok(());
    }
    let mut primary = state.pool.get().await?;
    audit_staff_read(&mut primary, principal, client_id, action, what).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not a cursor"), None);
        // The documented pattern, `^[A-Za-z0-9_-]{21}[AQgw]$`, is what decodes.
        let cursor = encode_cursor(id);
        assert_eq!(cursor.len(), 22);
        assert!("AQgw".contains(cursor.chars().last().unwrap()));
        assert!(decode_cursor("AZO0uEt3cIKaxs-ZWOn3Ow").is_some());
        assert_eq!(decode_cursor("AZO0uEt3cIKaxs-ZWOn3Ox"), None);
        let q = PageQuery {
            limit: Some(0),
            cursor: None,
        };
        assert!(q.parse().is_err());
        let q = PageQuery {
            limit: Some(201),
            cursor: None,
        };
        assert!(q.parse().is_err());
        let q = PageQuery {
            limit: None,
            cursor: Some(encode_cursor(id)),
        };
        assert_eq!(q.parse().unwrap(), (50, Some(id)));
    }
}
