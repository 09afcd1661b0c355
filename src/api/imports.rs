//! Bulk client import for scripts: JSON arrays, NDJSON or CSV; upsert by `external_id`;
//! atomic by default, or skipping bad rows; a dry run writes nothing; an `Idempotency-Key`
//! makes retries safe. Written in whole chunks per statement.

use super::idempotency::IdempotencyKey;
use std::collections::{HashMap, HashSet};

use actix_web::{post, web, HttpMessage, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::clients::{merge_patch, ClientInput};
use super::docs::{AuthenticatedBodyErrors, BodyErrors, TooManyRequests};
use super::extract::{nul_path, read_limited, QueryParams, NUL_MESSAGE};
use crate::db::clients::{Client, ClientFields};
use crate::db::{audit, idempotency, imports, programs, users, webhooks};
use crate::domain::client::{ClientStatus, DeliveryType};
use crate::domain::identity::Principal;
use crate::domain::identity::Role;
use crate::domain::plan::Step;
use crate::domain::webhook::EventType;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

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

#[derive(Clone, Copy)]
enum Format {
    Json,
    Ndjson,
    Csv,
}

fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
    let unsupported = || {
        ApiError::UnsupportedMediaType(
            "Send application/json (an array), application/x-ndjson or text/csv.".into(),
        )
    };
    let mime = req.mime_type().ok().flatten().ok_or_else(unsupported)?;
    match (mime.type_().as_str(), mime.subtype().as_str()) {
        ("application", "json") => Ok(Format::Json),
        ("application", "x-ndjson") | ("application", "ndjson") => Ok(Format::Ndjson),
        ("text", "csv") => Ok(Format::Csv),
        _ => Err(unsupported()),
    }
}

/// A row as read: a JSON object, or a CSV record kept compact until its turn comes.
enum RowData {
    Object(Map<String, Value>),
    Csv(csv::StringRecord),
}

impl RowData {
    fn external_id(&self, headers: &[String]) -> Option<String> {
        match self {
            RowData::Object(map) => map
                .get("external_id")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string()),
            RowData::Csv(record) => headers
                .iter()
                .position(|h| h == "external_id")
                .and_then(|i| record.get(i))
                .map(|s| s.trim().to_string()),
        }
    }

    fn into_map(self, headers: &[String]) -> Map<String, Value> {
        match self {
            RowData::Object(map) => map,
            RowData::Csv(record) => headers
                .iter()
                .zip(record.iter())
                .filter(|(_, cell)| !cell.trim().is_empty())
                .map(|(h, cell)| (h.clone(), csv_value(h, cell.trim())))
                .collect(),
        }
    }
}

type Row = (u64, Result<RowData, FieldError>);

const TOO_MANY_ROWS: &str = "more rows than an import may hold";

/// A JSON array's elements, left unparsed, refused as soon as there are more than the limit:
/// a body of a million tiny rows never becomes a million of anything in memory.
struct AtMostRows(usize);

impl<'de> serde::de::DeserializeSeed<'de> for AtMostRows {
    type Value = Vec<&'de serde_json::value::RawValue>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AtMostRows {
    type Value = Vec<&'de serde_json::value::RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of client objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.0));
        while let Some(row) = seq.next_element()? {
            if rows.len() == self.0 {
                return Err(serde::de::Error::custom(TOO_MANY_ROWS));
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

fn too_many_rows() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "An import is limited to {MAX_ROWS} rows and {MAX_BYTES} bytes (32 MiB)."
    ))
}

fn csv_value(column: &str, cell: &str) -> Value {
    match column {
        "breastfeeding" | "cleared_for_exercise" => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => Value::String(cell.into()),
        },
        "perineal_tear_grade" => cell
            .parse::<u8>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(cell.into())),
        _ => Value::String(cell.into()),
    }
}

/// An NDJSON body's lines, numbered from 0.
type Lines<'a> = std::iter::Enumerate<std::slice::Split<'a, u8, fn(&u8) -> bool>>;

/// The rows of a body, read one at a time as the import goes (numbered as in the file), so
/// that memory holds the body and one chunk of rows, not every row at once.
enum Rows<'a> {
    /// The array's elements, still unparsed (a borrowed slice of the body each).
    Json(std::iter::Enumerate<std::vec::IntoIter<&'a serde_json::value::RawValue>>),
    Ndjson(Lines<'a>),
    Csv {
        records: csv::StringRecordsIntoIter<&'a [u8]>,
        width: usize,
        next: u64,
    },
}

fn newline(b: &u8) -> bool {
    *b == b'\n'
}

impl<'a> Rows<'a> {
    /// Checks what can be checked before the first row (the JSON array's shape, the CSV
    /// header) and returns the source with the CSV header's columns.
    fn open(format: Format, body: &'a [u8]) -> Result<(Vec<String>, Rows<'a>), ApiError> {
        match format {
            Format::Json => {
                use serde::de::DeserializeSeed;
                let mut parser = serde_json::Deserializer::from_slice(body);
                let values = AtMostRows(MAX_ROWS)
                    .deserialize(&mut parser)
                    .and_then(|values| parser.end().map(|()| values))
                    .map_err(|e| match e.classify() {
                        _ if e.to_string().starts_with(TOO_MANY_ROWS) => too_many_rows(),
                        serde_json::error::Category::Data => {
                            ApiError::invalid("body", "must be a JSON array of client objects")
                        }
                        _ => ApiError::BadRequest(format!("The body is not valid JSON: {e}.")),
                    })?;
                Ok((vec![], Rows::Json(values.into_iter().enumerate())))
            }
            Format::Ndjson => Ok((
                vec![],
                Rows::Ndjson(body.split(newline as fn(&u8) -> bool).enumerate()),
            )),
            Format::Csv => {
                let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(body);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(|e| {
                        ApiError::BadRequest(format!("The CSV header cannot be read: {e}."))
                    })?
                    .iter()
                    .map(|h| h.trim().to_string())
                    .collect();
                let mut errors: Vec<FieldError> = headers
                    .iter()
                    .filter(|h| !COLUMNS.contains(&h.as_str()))
                    .map(|h| {
                        FieldError::new(h.clone(), "is not a column of a client import").at_row(1)
                    })
                    .collect();
                errors.extend(
                    REQUIRED
                        .iter()
                        .filter(|r| !headers.iter().any(|h| h == *r))
                        .map(|r| FieldError::new(*r, "this column is required").at_row(1)),
                );
                if !errors.is_empty() {
                    return Err(ApiError::Validation(errors));
                }
                let width = headers.len();
                Ok((
                    headers,
                    Rows::Csv {
                        records: reader.into_records(),
                        width,
                        next: 2,
                    },
                ))
            }
        }
    }
}

fn object(row: u64, value: Value) -> Row {
    match value {
        Value::Object(map) => (row, Ok(RowData::Object(map))),
        _ => (
            row,
            Err(FieldError::new("row", "must be a JSON object").at_row(row)),
        ),
    }
}

impl Iterator for Rows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        match self {
            Rows::Json(values) => {
                let (i, raw) = values.next()?;
                let row = i as u64 + 1;
                Some(match serde_json::from_str::<Value>(raw.get()) {
                    Ok(v) => object(row, v),
                    Err(e) => (
                        row,
                        Err(FieldError::new("row", format!("cannot be read: {e}")).at_row(row)),
                    ),
                })
            }
            Rows::Ndjson(lines) => loop {
                let (i, line) = lines.next()?;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let row = i as u64 + 1;
                return Some(match serde_json::from_slice::<Value>(line) {
                    Ok(v) => object(row, v),
                    Err(e) => (
                        row,
                        Err(FieldError::new("row", format!("not valid JSON: {e}")).at_row(row)),
                    ),
                });
            },
            Rows::Csv {
                records,
                width,
                next,
            } => {
                let record = records.next()?;
                let row = *next;
                *next += 1;
                Some(match record {
                    Ok(record) if record.len() != *width => (
                        row,
                        Err(FieldError::new(
                            "row",
                            format!("has {} cells; the header has {}", record.len(), width),
                        )
                        .at_row(row)),
                    ),
                    Ok(record) => (row, Ok(RowData::Csv(record))),
                    Err(e) => (
                        row,
                        Err(FieldError::new("row", format!("cannot be read: {e}")).at_row(row)),
                    ),
                })
            }
        }
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    key: &str,
    row: u64,
) -> Result<Option<String>, FieldError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(FieldError::new(key, "must be a string").at_row(row)),
    }
}

/// A new client's values for the audit trail, leaving out what was not given.
fn without_nulls(fields: &ClientFields) -> Value {
    match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        _ => Value::Null,
    }
}

/// Bad rows: the first 1,000 problems, how many in all, and which rows.
#[derive(Default)]
struct Problems {
    shown: Vec<FieldError>,
    count: usize,
    failed_rows: HashSet<u64>,
}

impl Problems {
    fn add(&mut self, e: FieldError) {
        self.count += 1;
        if let Some(row) = e.row {
            self.failed_rows.insert(row);
        }
        if self.shown.len() < MAX_ERRORS_SHOWN {
            self.shown.push(e);
        }
    }
}

/// A row ready to write.
struct Prepared {
    row: u64,
    fields: ClientFields,
    existing: Option<Client>,
    program: Option<String>,
}

/// One chunk's rows, validated and ready to write, with their audit entries.
struct Batch {
    created: Vec<(Uuid, ClientFields)>,
    created_events: Vec<(Uuid, Value)>,
    updated: Vec<(Uuid, ClientFields)>,
    updated_events: Vec<(Uuid, Value)>,
    /// (client, program, version, stage, level) for each plan to start.
    plans: Vec<(Uuid, Uuid, i32, String, Option<i32>)>,
    /// New clients with a program (what a dry run reports as plans started).
    new_with_program: u64,
}

/// The state of validating an import a chunk at a time: what earlier chunks held (external
/// ids, emails), the coaches and programs rows may name, the bad rows and the counts.
struct Validation<'a> {
    principal: &'a Principal,
    headers: &'a [String],
    today: chrono::NaiveDate,
    coaches: HashMap<String, Uuid>,
    coach_ids: HashSet<Uuid>,
    seen: HashSet<String>,
    batch_emails: HashSet<String>,
    program_steps: HashMap<String, Option<(Uuid, i32, Step)>>,
    problems: Problems,
    total: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
}

impl Validation<'_> {
    /// Reads and validates the next chunk of rows; `None` once the body is done. Lookups go
    /// through `conn`, which sees what is committed: rows of this import that come later
    /// cannot depend on what earlier rows wrote, since an external id and an email may each
    /// appear once in an import (checked here, across chunks).
    async fn next_batch(
        &mut self,
        conn: &mut AsyncPgConnection,
        rows: &mut std::iter::Peekable<Rows<'_>>,
    ) -> Result<Option<Batch>, ApiError> {
        if rows.peek().is_none() {
            return Ok(None);
        }
        let principal = self.principal;
        let headers = self.headers;
        let today = self.today;
        let mut chunk = Vec::with_capacity(imports::CHUNK);
        for (row, parsed) in rows.by_ref().take(imports::CHUNK) {
            self.total += 1;
            if self.total > MAX_ROWS as u64 {
                return Err(too_many_rows());
            }
            match parsed {
                Ok(data) => chunk.push((row, data)),
                Err(e) => self.problems.add(e),
            }
        }
        // Rows holding U+0000 are refused below; PostgreSQL could not even look them up.
        let external_ids: Vec<String> = chunk
            .iter()
            .filter_map(|(_, data)| data.external_id(headers))
            .filter(|x| !x.contains('\0'))
            .collect();
        let existing: HashMap<String, Client> =
            imports::existing_by_external_id(conn, principal.organization_id, &external_ids)
                .await?
                .into_iter()
                .filter_map(|c| c.external_id.clone().map(|x| (x, c)))
                .collect();
        let (coaches, coach_ids, seen) = (&self.coaches, &self.coach_ids, &mut self.seen);
        let mut prepared: Vec<Prepared> = Vec::with_capacity(chunk.len());
        for (row, data) in chunk {
            let mut map = data.into_map(headers);
            let outcome = (|| -> Result<Prepared, Vec<FieldError>> {
                let at = |e: FieldError| vec![e.at_row(row)];
                if let Some(field) = map.iter().find_map(|(k, v)| {
                    if k.contains('\0') {
                        Some(k.clone())
                    } else {
                        nul_path(v, k.clone())
                    }
                }) {
                    return Err(at(FieldError::new(field, NUL_MESSAGE)));
                }
                let coach_email = take_string(&mut map, "coach_email", row).map_err(|e| vec![e])?;
                let program = take_string(&mut map, "program", row).map_err(|e| vec![e])?;
                let external_id = match map.get("external_id") {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                    _ => return Err(at(FieldError::new("external_id", "is required to import"))),
                };
                if !seen.insert(external_id.clone()) {
                    return Err(at(FieldError::new(
                        "external_id",
                        "appears twice in this import",
                    )));
                }
                let before = existing.get(&external_id);
                let mut merged = match before {
                    Some(c) => {
                        serde_json::to_value(ClientInput::from_client(c)).unwrap_or_default()
                    }
                    None => Value::Object(Map::new()),
                };
                merge_patch(&mut merged, Value::Object(map));
                super::extract::integral_floats_as_integers(&mut merged);
                let input: ClientInput = serde_path_to_error::deserialize(merged).map_err(|e| {
                    let path = e.path().to_string();
                    let message = e.into_inner().to_string();
                    let field = message
                        .split('`')
                        .nth(1)
                        .filter(|_| {
                            message.starts_with("unknown field")
                                || message.starts_with("missing field")
                        })
                        .map(str::to_string)
                        .unwrap_or(path);
                    at(FieldError::new(field, message))
                })?;
                let mut fields = input
                    .validate(today, principal.user_id, before)
                    .map_err(|errs| errs.into_iter().map(|e| e.at_row(row)).collect::<Vec<_>>())?;
                fields.coach_id = match (coach_email, fields.coach_id) {
                    (Some(email), _) => {
                        Some(*coaches.get(&email.to_lowercase()).ok_or_else(|| {
                            at(FieldError::new(
                                "coach_email",
                                "is not an active coach of this organization",
                            ))
                        })?)
                    }
                    (None, Some(id)) if coach_ids.contains(&id) => Some(id),
                    (None, Some(_)) => {
                        return Err(at(FieldError::new(
                            "coach_id",
                            "is not an active coach of this organization",
                        )))
                    }
                    (None, None) => None,
                };
                if principal.role == Role::Coach {
                    match fields.coach_id {
                        None => fields.coach_id = Some(principal.user_id),
                        Some(id) if id == principal.user_id => {}
                        Some(_) => {
                            return Err(at(FieldError::new(
                                "coach_email",
                                "a coach imports clients for herself only",
                            )))
                        }
                    }
                    if before.is_some_and(|c| c.coach_id != Some(principal.user_id)) {
                        return Err(at(FieldError::new(
                            "external_id",
                            "belongs to a client of another coach",
                        )));
                    }
                }
                Ok(Prepared {
                    row,
                    fields,
                    existing: before.cloned(),
                    program,
                })
            })();
            match outcome {
                Ok(p) => prepared.push(p),
                Err(es) => es.into_iter().for_each(|e| self.problems.add(e)),
            }
        }
        // Emails must stay unique in the organization (and in this import).
        let emails: Vec<String> = prepared
            .iter()
            .filter_map(|p| p.fields.email.as_ref().map(|e| e.to_lowercase()))
            .collect();
        let owners: HashMap<String, Option<String>> =
            imports::emails_in_use(conn, principal.organization_id, &emails)
                .await?
                .into_iter()
                .collect();
        let mut kept = Vec::with_capacity(prepared.len());
        for p in prepared {
            if let Some(email) = p.fields.email.as_ref().map(|e| e.to_lowercase()) {
                let taken = owners
                    .get(&email)
                    .is_some_and(|owner| owner.as_ref() != p.fields.external_id.as_ref());
                if taken || !self.batch_emails.insert(email) {
                    self.problems.add(
                        FieldError::new(
                            "email",
                            "another client of this organization has this email",
                        )
                        .at_row(p.row),
                    );
                    continue;
                }
            }
            if let Some(key) = &p.program {
                if !self.program_steps.contains_key(key) {
                    let step = match programs::find_by_key(conn, principal.organization_id, key)
                        .await?
                    {
                        Some(program) => {
                            let version =
                                programs::find(conn, principal.organization_id, program.id, None)
                                    .await?;
                            version
                                .stages
                                .first()
                                .map(|first| (program.id, version.version, Step::start_of(first)))
                        }
                        None => None,
                    };
                    self.program_steps.insert(key.clone(), step);
                }
                if self.program_steps[key].is_none() {
                    self.problems.add(
                        FieldError::new("program", "is not a program key of this organization")
                            .at_row(p.row),
                    );
                    continue;
                }
            }
            kept.push(p);
        }
        let mut batch = Batch {
            created: Vec::new(),
            created_events: Vec::new(),
            updated: Vec::new(),
            updated_events: Vec::new(),
            plans: Vec::new(),
            new_with_program: 0,
        };
        for p in kept {
            let client_id = match &p.existing {
                None => {
                    let id = Uuid::now_v7();
                    batch.new_with_program += u64::from(p.program.is_some());
                    batch.created_events.push((
                        id,
                        audit::scrub_except(&without_nulls(&p.fields), audit::CLIENT_VALUES_KEPT),
                    ));
                    id
                }
                Some(before) => before.id,
            };
            if let Some((program_id, version, step)) = p
                .program
                .as_ref()
                .and_then(|key| self.program_steps.get(key)?.as_ref())
            {
                batch.plans.push((
                    client_id,
                    *program_id,
                    *version,
                    step.stage.as_str().to_string(),
                    step.level.map(|l| l as i32),
                ));
            }
            match &p.existing {
                None => batch.created.push((client_id, p.fields)),
                Some(before) => {
                    let changes = audit::diff(&ClientFields::from(before), &p.fields);
                    if changes.as_object().is_some_and(|c| c.is_empty()) {
                        self.unchanged += 1;
                    } else {
                        batch.updated.push((client_id, p.fields));
                        batch.updated_events.push((
                            client_id,
                            audit::scrub_except(&changes, audit::CLIENT_VALUES_KEPT),
                        ));
                    }
                }
            }
        }
        self.created += batch.created.len() as u64;
        self.updated += batch.updated.len() as u64;
        Ok(Some(batch))
    }
}

/// Writes a validated chunk in set-based statements; returns how many plans it started.
async fn write_batch(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    today: chrono::NaiveDate,
    batch: Batch,
) -> Result<u64, ApiError> {
    let organization_id = principal.organization_id;
    let created: Vec<(Uuid, &ClientFields)> =
        batch.created.iter().map(|(id, f)| (*id, f)).collect();
    imports::insert_clients(conn, organization_id, &created)
        .await
        .map_err(|e| {
            if crate::db::clients::duplicate_of(&e).is_some() {
                ApiError::Conflict(
                    "Another import added some of these clients at the same time; retry.".into(),
                )
            } else {
                e.into()
            }
        })?;
    let updated: Vec<(Uuid, &ClientFields)> =
        batch.updated.iter().map(|(id, f)| (*id, f)).collect();
    imports::update_clients(conn, organization_id, &updated).await?;
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "client.import.create",
        "client",
        &batch.created_events,
    )
    .await?;
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "client.import.update",
        "client",
        &batch.updated_events,
    )
    .await?;
    let made = imports::start_plans(conn, organization_id, &batch.plans, today).await?;
    let plan_events: Vec<(Uuid, Value)> = made
        .iter()
        .map(|(plan, client)| {
            (
                *plan,
                serde_json::json!({"client_id": client, "source": "import"}),
            )
        })
        .collect();
    imports::record_audit_events(
        conn,
        organization_id,
        principal.actor(),
        "plan.assign",
        "plan",
        &plan_events,
    )
    .await?;
    Ok(made.len() as u64)
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
        (Vec<ImportRow> = "application/json"),
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
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string))
        .transpose()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable text"))?;
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 255) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
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
    // The caller is part of what is compared: a key's answer is replayed to her alone.
    let digest = crate::fingerprint::of(&format!(
        "{}|{}|{}|{}|{}",
        principal.caller_id(),
        query.dry_run,
        skip,
        req.content_type(),
        crate::fingerprint::hex(&body)
    ));
    let (headers, rows) = Rows::open(format, &body)?;

    let mut conn = state.pool.get().await?;
    let mut reader = state.pool.get().await?;
    let today = Utc::now().date_naive();
    let (status, report) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, principal.organization_id, key, &digest).await? {
                    idempotency::KeyState::New => {}
                    idempotency::KeyState::Replay(first) => {
                        let report: ImportReport =
                            serde_json::from_slice(&first.body).map_err(anyhow::Error::from)?;
                        return Ok((first.status, report));
                    }
                    idempotency::KeyState::Mismatch => {
                        return Err(ApiError::invalid(
                            "Idempotency-Key",
                            "was already used with another request",
                        ))
                    }
                }
            }
            let coaches: HashMap<String, Uuid> = users::list_in_organization(
                conn,
                principal.organization_id,
                Role::Coach,
                None,
                i64::MAX,
            )
            .await?
            .into_iter()
            .map(|u| (u.email.to_lowercase(), u.id))
            .collect();
            let mut validation = Validation {
                principal: &principal,
                headers: &headers,
                today,
                coach_ids: coaches.values().copied().collect(),
                coaches,
                seen: HashSet::new(),
                batch_emails: HashSet::new(),
                program_steps: HashMap::new(),
                problems: Problems::default(),
                total: 0,
                created: 0,
                updated: 0,
                unchanged: 0,
            };
            let mut plans_started = 0u64;
            let mut rows = rows.peekable();
            // A chunk at a time, so memory holds the body and two chunks; the one transaction
            // still makes the whole batch all or nothing. While one chunk is written, the next
            // is read and validated on a second connection, so the service's work and the
            // database's overlap.
            let mut next = validation.next_batch(&mut reader, &mut rows).await?;
            while let Some(batch) = next {
                // Once a row has failed an all-or-nothing import, nothing more is written: the
                // rest is only validated, to list every bad row.
                let write = !query.dry_run && (skip || validation.problems.count == 0);
                let would_start = batch.new_with_program;
                let writing = async {
                    if write {
                        write_batch(conn, &principal, today, batch).await
                    } else {
                        Ok(would_start)
                    }
                };
                let (started, following) =
                    tokio::try_join!(writing, validation.next_batch(&mut reader, &mut rows))?;
                plans_started += started;
                next = following;
            }
            let Validation {
                problems,
                total,
                created: created_count,
                updated: updated_count,
                unchanged,
                ..
            } = validation;
            let Problems {
                mut shown,
                count,
                failed_rows,
            } = problems;
            shown.sort_by_key(|e| e.row);
            let failed = failed_rows.len() as u64;
            if count > 0 && !skip {
                return Err(ApiError::Validation(shown));
            }
            let errors_not_shown = (count - shown.len()) as u64;
            let report = ImportReport {
                dry_run: query.dry_run,
                rows: total,
                created: created_count,
                updated: updated_count,
                unchanged,
                failed,
                plans_started,
                errors: shown,
                errors_not_shown,
            };
            if !query.dry_run && created_count + updated_count + plans_started > 0 {
                webhooks::enqueue(
                    conn,
                    principal.organization_id,
                    EventType::ClientImported.as_str(),
                    None,
                    serde_json::json!({
                        "rows": total, "created": created_count, "updated": updated_count,
                        "unchanged": unchanged, "failed": failed, "plans_started": plans_started,
                    }),
                )
                .await?;
            }
            if let Some(key) = &key {
                let body = serde_json::to_vec(&report).map_err(anyhow::Error::from)?;
                let headers = vec![("content-type".to_string(), "application/json".to_string())];
                let answer = idempotency::StoredResponse {
                    status: 200,
                    headers,
                    body,
                };
                idempotency::store(conn, principal.organization_id, key, &answer).await?;
            }
            Ok((200, report))
        })
        .await?;
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    )
    .json(report))
}
