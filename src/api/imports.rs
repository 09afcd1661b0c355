//! Bulk client import for scripts: JSON arrays, NDJSON or CSV; upsert by `external_id`;
//! atomic by default, or skipping bad rows; a dry run writes nothing; an `Idempotency-Key`
//! makes retries safe. Written in whole chunks per statement.

use super::idempotency::IdempotencyKey;
use std::collections::HashMap;

use actix_web::{post, web, HttpRequest, HttpResponse};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, TooManyRequests};
use super::extract::{read_limited, QueryParams};
use crate::db::{idempotency, users, webhooks};
use crate::domain::client::{ClientStatus, DeliveryType};
use crate::domain::identity::Principal;
use crate::domain::identity::Role;
use crate::domain::ids::UserId;
use crate::domain::webhook::{events, EventType};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

mod batches;
mod rows;

use batches::*;
use rows::*;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(import_clients);
}

pub const MAX_BYTES: usize = 32 * 1024 * 1024;
pub const MAX_ROWS: usize = 100_000;
pub const MAX_ERRORS_SHOWN: usize = 1_000;

const COLUMNS: [&str; 16] = [
    "external_id",
    "name",
    "email",
    "phone",
    "coach_id",
    "coach_email",
    "delivery_date",
    "delivery_type",
    "perineal_tear_grade",
    "breastfeeding",
    "cleared_for_exercise",
    "cleared_on",
    "status",
    "notes",
    "timezone",
    "program",
];
const REQUIRED: [&str; 4] = ["external_id", "name", "delivery_date", "delivery_type"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Any bad row fails the whole batch (the default).
    Fail,
    /// Import the good rows and list the bad ones.
    Skip,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Validate everything and answer what would happen, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// `fail` (default): all or nothing. `skip`: import the good rows.
    #[param(inline)]
    pub on_error: Option<OnError>,
}

/// One client of a JSON or NDJSON import: the client's fields with `external_id` required, plus
/// her coach's email and a program to start. Blank strings and `null` mean "not given": an
/// update keeps the stored value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "external_id": "RP-1042",
    "name": "Ana Lima",
    "email": "ana.lima@example.org",
    "delivery_date": "2026-08-20",
    "delivery_type": "caesarean",
    "coach_email": "maya@riverside.example",
    "program": "return_to_running_postpartum"
}))]
#[allow(dead_code)] // Describes the body for the OpenAPI document; rows are read as JSON maps.
pub struct ImportRow {
    /// The practice's own id for her: rows upsert by it. Up to 100 characters.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    external_id: String,
    /// Required for a new client. Not blank, up to 200 characters, no control characters.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    #[schema(
        max_length = 254,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[!-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    email: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[0-9+().-][0-9 +().-]{1,38}[0-9+().-])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    phone: Option<String>,
    coach_id: Option<Uuid>,
    /// Her coach, by email (instead of `coach_id`).
    #[schema(max_length = 254)]
    coach_email: Option<String>,
    /// Required for a new client: not in the future, not before 1990.
    delivery_date: Option<chrono::NaiveDate>,
    /// Required for a new client.
    delivery_type: Option<DeliveryType>,
    #[schema(minimum = 0, maximum = 4)]
    perineal_tear_grade: Option<u8>,
    breastfeeding: Option<bool>,
    cleared_for_exercise: Option<bool>,
    cleared_on: Option<chrono::NaiveDate>,
    status: Option<ClientStatus>,
    #[schema(max_length = 10000)]
    notes: Option<String>,
    /// IANA time zone, default `UTC`.
    timezone: Option<String>,
    /// A program's key: her plan starts at its first stage.
    #[schema(example = "return_to_running_postpartum")]
    program: Option<String>,
}

/// The rows of a JSON import: at most 100,000 (more is a 413 and nothing is written).
#[derive(ToSchema)]
#[schema(max_items = 100_000)]
#[allow(dead_code)] // Describes the body for the OpenAPI document, as `ImportRow` does.
pub struct ImportRows(Vec<ImportRow>);

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "dry_run": false, "rows": 3, "created": 2, "updated": 1, "unchanged": 0, "failed": 0,
    "plans_started": 2, "errors": [], "errors_not_shown": 0
}))]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows read.
    pub rows: u64,
    pub created: u64,
    /// Existing clients (same `external_id`) with at least one field changed.
    pub updated: u64,
    pub unchanged: u64,
    /// Bad rows (skipped with `on_error=skip`).
    pub failed: u64,
    /// Plans started for rows naming a `program`.
    pub plans_started: u64,
    /// The first 1,000 problems, each with its row as numbered in the file (a CSV header is row 1).
    pub errors: Vec<FieldError>,
    pub errors_not_shown: u64,
}

/// Import clients in bulk.
///
/// Upserts by `external_id` within your organization. Bodies: a JSON array of client objects,
/// NDJSON (one object per line), or CSV with a header row whose columns are the client fields
/// (plus optional `coach_email` and `program`, a program key to start her plan at its first
/// stage). In an update, fields the row leaves out keep their values. Up to 100,000 rows and
/// 32 MiB. With `Idempotency-Key`, a repeat with the same body returns the first answer.
#[utoipa::path(tag = "imports", operation_id = "importClients", security(("bearer" = [])),
    params(ImportQuery, IdempotencyKey),
    request_body(description = "The clients", content(
        (ImportRows = "application/json"),
        (String = "application/x-ndjson", example = json!("{\"external_id\":\"RP-1\",\"name\":\"Ana Lima\",\"delivery_date\":\"2026-08-20\",\"delivery_type\":\"vaginal\"}\n")),
        (String = "text/csv", example = json!("external_id,name,email,delivery_date,delivery_type,coach_email,program\nRP-1,Ana Lima,ana@example.org,2026-08-20,vaginal,maya@riverside.example,return_to_running_postpartum\n"))
    )),
    responses((status = 200, description = "Imported (or, with dry_run, what would happen)", body = ImportReport),
        (status = 422, description = "Bad rows (each with its row number), an unknown or missing column, or an Idempotency-Key reused with another body", body = crate::error::Problem, content_type = "application/problem+json"),
        AuthenticatedBodyErrors, BodyErrors, TooManyRequests))]
#[post("/v1/imports/clients")]
pub async fn import_clients(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let format = format_of(&req)?;
    let key = req
        .headers()
        .contains_key(super::idempotency::HEADER)
        .then(|| super::idempotency::key_of(&req))
        .transpose()?;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BYTES) {
        return Err(too_many_rows());
    }
    // Taken before the body is read: a refused import costs neither memory nor connections.
    let _slot = state
        .import_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyRequests {
            retry_after_secs: crate::auth::throttle::BUSY_RETRY_AFTER_SECS,
        })?;
    let body = read_limited(&mut payload.into_inner(), MAX_BYTES, too_many_rows).await?;
    let skip = query.on_error == Some(OnError::Skip);
    // A dry run and a run that skips bad rows are other requests than a plain import.
    let route = format!(
        "{}?dry_run={}&on_error={}",
        req.match_info().as_str(),
        query.dry_run,
        if skip { "skip" } else { "fail" }
    );
    let digest = super::idempotency::fingerprint(&req, &route, &principal, &body);
    let (headers, rows) = Rows::open(format, &body)?;

    let mut conn = state.pool.get().await?;
    let mut reader = state.pool.get().await?;
    let import = Import {
        principal: &principal,
        key: key.as_deref(),
        digest: &digest,
        dry_run: query.dry_run,
        skip,
    };
    let imported = conn
        .transaction::<_, ApiError, _>(async |conn| {
            import.run(conn, &mut reader, &headers, rows).await
        })
        .await?;
    Ok(match imported {
        Imported::Fresh(report) => HttpResponse::Ok().json(report),
        Imported::Replayed(first) => super::idempotency::replay(first)?,
    })
}

/// One import as asked: by whom, under which key, and how.
struct Import<'a> {
    principal: &'a Principal,
    key: Option<&'a str>,
    digest: &'a [u8],
    dry_run: bool,
    skip: bool,
}

impl Import<'_> {
    /// The whole import in `conn`'s transaction, reading and validating on `reader`: the key
    /// claimed, the rows checked and written chunk by chunk, the report, its webhook event, and
    /// the answer kept under the key.
    async fn run(
        &self,
        conn: &mut AsyncPgConnection,
        reader: &mut AsyncPgConnection,
        headers: &[String],
        rows: Rows<'_>,
    ) -> Result<Imported, ApiError> {
        let organization_id = self.principal.organization_id;
        if let Some(key) = self.key {
            match idempotency::claim(conn, organization_id, key, self.digest).await? {
                idempotency::KeyState::New => {}
                idempotency::KeyState::Replay(first) => return Ok(Imported::Replayed(first)),
                idempotency::KeyState::Mismatch => {
                    return Err(ApiError::invalid(
                        "Idempotency-Key",
                        "was already used with another request",
                    ))
                }
            }
        }
        let coaches: HashMap<String, UserId> =
            users::list_in_organization(conn, organization_id, Role::Coach, None, i64::MAX)
                .await?
                .into_iter()
                .map(|u| (u.email.to_lowercase(), u.id))
                .collect();
        let mut validation = Validation::new(self.principal, headers, coaches);
        let plans_started = self
            .write_chunks(conn, reader, &mut validation, rows)
            .await?;
        let report = self.report(validation, plans_started)?;
        if !self.dry_run && report.created + report.updated + plans_started > 0 {
            webhooks::enqueue(
                conn,
                organization_id,
                EventType::ClientImported.as_str(),
                None,
                events::data(&events::WebhookClientImported {
                    rows: report.rows,
                    created: report.created,
                    updated: report.updated,
                    unchanged: report.unchanged,
                    failed: report.failed,
                    plans_started,
                }),
            )
            .await?;
        }
        if let Some(key) = self.key {
            let answer = idempotency::StoredResponse {
                status: 200,
                headers: vec![("content-type".to_string(), "application/json".to_string())],
                body: serde_json::to_vec(&report).map_err(anyhow::Error::from)?,
            };
            idempotency::store(conn, organization_id, key, &answer).await?;
        }
        Ok(Imported::Fresh(report))
    }

    /// A chunk at a time, so memory holds the body and two chunks; the one transaction still
    /// makes the whole batch all or nothing. While one chunk is written, the next is read and
    /// validated on a second connection, so the service's work and the database's overlap.
    /// How many plans were (or, in a dry run, would be) started.
    async fn write_chunks(
        &self,
        conn: &mut AsyncPgConnection,
        reader: &mut AsyncPgConnection,
        validation: &mut Validation<'_>,
        rows: Rows<'_>,
    ) -> Result<u64, ApiError> {
        let mut plans_started = 0u64;
        let mut rows = rows.peekable();
        let mut next = validation.next_batch(reader, &mut rows).await?;
        while let Some(batch) = next {
            // Once a row has failed an all-or-nothing import, nothing more is written: the
            // rest is only validated, to list every bad row.
            let write = !self.dry_run && (self.skip || validation.problems.count == 0);
            let would_start = batch.new_with_program;
            let today = validation.today;
            let writing = async {
                if write {
                    write_batch(conn, self.principal, today, batch).await
                } else {
                    Ok(would_start)
                }
            };
            let (started, following) =
                tokio::try_join!(writing, validation.next_batch(reader, &mut rows))?;
            plans_started += started;
            next = following;
        }
        Ok(plans_started)
    }

    /// What the import did, or (all or nothing, and a row failed) the rows that failed.
    fn report(
        &self,
        validation: Validation<'_>,
        plans_started: u64,
    ) -> Result<ImportReport, ApiError> {
        let Validation {
            problems,
            total,
            created,
            updated,
            unchanged,
            ..
        } = validation;
        let Problems {
            mut shown,
            count,
            failed_rows,
        } = problems;
        shown.sort_by_key(|e| e.row);
        if count > 0 && !self.skip {
            return Err(ApiError::Validation(shown));
        }
        Ok(ImportReport {
            dry_run: self.dry_run,
            rows: total,
            created,
            updated,
            unchanged,
            failed: failed_rows.len() as u64,
            plans_started,
            errors_not_shown: (count - shown.len()) as u64,
            errors: shown,
        })
    }
}

/// An import's answer: its report, or the kept answer to the same key and body.
enum Imported {
    Fresh(ImportReport),
    Replayed(idempotency::StoredResponse),
}
