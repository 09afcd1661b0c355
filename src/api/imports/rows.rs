//! Reading an import's body row by row: a JSON array, NDJSON or CSV, never more rows than an import may hold.

use super::{COLUMNS, MAX_BYTES, MAX_ROWS, REQUIRED};
use crate::error::{ApiError, FieldError};
use actix_web::{HttpMessage, HttpRequest};
use serde_json::{Map, Value};

#[derive(Clone, Copy)]
pub(super) enum Format {
    Json,
    Ndjson,
    Csv,
}

pub(super) fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
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
pub(super) enum RowData {
    Object(Map<String, Value>),
    Csv(csv::StringRecord),
}

impl RowData {
    pub(super) fn external_id(&self, headers: &[String]) -> Option<String> {
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

    pub(super) fn into_map(self, headers: &[String]) -> Map<String, Value> {
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

pub(super) type Row = (u64, Result<RowData, FieldError>);

pub(super) const TOO_MANY_ROWS: &str = "more rows than an import may hold";

/// A JSON array's elements, left unparsed, refused as soon as there are more than the limit:
/// a body of a million tiny rows never becomes a million of anything in memory.
pub(super) struct AtMostRows(usize);

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

pub(super) fn too_many_rows() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "An import is limited to {MAX_ROWS} rows and {MAX_BYTES} bytes (32 MiB)."
    ))
}

pub(super) fn csv_value(column: &str, cell: &str) -> Value {
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
pub(super) type Lines<'a> = std::iter::Enumerate<std::slice::Split<'a, u8, fn(&u8) -> bool>>;

/// The rows of a body, read one at a time as the import goes (numbered as in the file), so
/// that memory holds the body and one chunk of rows, not every row at once.
pub(super) enum Rows<'a> {
    /// The array's elements, still unparsed (a borrowed slice of the body each).
    Json(std::iter::Enumerate<std::vec::IntoIter<&'a serde_json::value::RawValue>>),
    Ndjson(Lines<'a>),
    Csv {
        records: csv::StringRecordsIntoIter<&'a [u8]>,
        width: usize,
        next: u64,
    },
}

pub(super) fn newline(b: &u8) -> bool {
    *b == b'\n'
}

impl<'a> Rows<'a> {
    /// Checks what can be checked before the first row (the JSON array's shape, the CSV
    /// header) and returns the source with the CSV header's columns.
    pub(super) fn open(
        format: Format,
        body: &'a [u8],
    ) -> Result<(Vec<String>, Rows<'a>), ApiError> {
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

pub(super) fn object(row: u64, value: Value) -> Row {
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

pub(super) fn take_string(
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
