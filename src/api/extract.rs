//! Request extractors that fail the way the rest of the API does: problem+json, the field
//! named. A JSON body must say it is JSON (415), stay under the size limit (413), parse (400),
//! and match its type exactly, with no unknown fields (422 naming the field).

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A JSON request body of type `T`.
pub struct JsonBody<T>(pub T);

/// The client a route's `{client_id}` names, resolved for the caller: `me` is her own record
/// (for anyone else, or a malformed id, 404). Whether the caller may see that client is asked
/// when it is loaded (`db::clients::find_accessible`), so a client out of reach is a 404 too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRef(pub ClientId);

impl ClientRef {
    /// `raw` as the principal means it.
    pub fn resolve(principal: &Principal, raw: &str) -> Result<Self, ApiError> {
        if raw == "me" {
            return principal.client_id.map(ClientRef).ok_or(ApiError::NotFound);
        }
        raw.parse()
            .map(|id| ClientRef(ClientId(id)))
            .map_err(|_| ApiError::NotFound)
    }
}

impl FromRequest for ClientRef {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            match (Principal::of(req), req.match_info().get("client_id")) {
                (Some(principal), Some(raw)) => ClientRef::resolve(&principal, raw),
                // A route without `{client_id}`, or one missing from the policy.
                _ => Err(ApiError::Internal(anyhow::anyhow!(
                    "no client for {}",
                    req.match_pattern().unwrap_or_default()
                ))),
            },
        )
    }
}

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Drops serde_json's " at line 1 column 7" from a message meant for people.
fn without_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// For "unknown field `x`" and "missing field `x`", the path of `x` itself.
fn field_path(path: &str, message: &str) -> String {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        // Unknown fields are already at the end of the path.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_string()
        }
        (".", Some(name)) | ("", Some(name)) => name.to_string(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (".", None) | ("", None) => "body".to_string(),
        (path, None) => path.to_string(),
    }
}

/// Parses `bytes` as the JSON object `T`, naming the field of any mismatch.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would read a struct from an array too; bodies here are objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(_) => Err(ApiError::invalid("body", "must be a JSON object")),
            Err(e) => Err(ApiError::BadRequest(format!(
                "The body is not valid JSON: {}.",
                without_position(&e.to_string())
            ))),
        };
    }
    // A JSON string can hold U+0000 only as the escape `\u0000`; PostgreSQL text cannot.
    if bytes.windows(6).any(|w| w == br"\u0000") {
        if let Ok(tree) = serde_json::from_slice::<Value>(bytes) {
            if let Some(field) = nul_path(&tree, String::new()) {
                return Err(ApiError::invalid(field, NUL_MESSAGE));
            }
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => {
            de.end().map_err(|_| {
                ApiError::BadRequest("The body has data after the JSON value.".into())
            })?;
            Ok(value)
        }
        Err(e) if e.inner().classify() == serde_json::error::Category::Data => {
            // JSON counts `3.0` as the integer 3 (and so does the OpenAPI document's
            // `"type": "integer"`); serde does not. Read such numbers as integers and try again.
            if let Ok(mut tree) = serde_json::from_slice::<Value>(bytes) {
                if integral_floats_as_integers(&mut tree) {
                    if let Ok(value) = serde_path_to_error::deserialize(tree) {
                        return Ok(value);
                    }
                }
            }
            Err(json_error(e))
        }
        Err(e) => Err(json_error(e)),
    }
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = without_position(&inner.to_string());
    match inner.classify() {
        serde_json::error::Category::Data => {
            ApiError::Validation(vec![FieldError::new(field_path(&path, &message), message)])
        }
        _ => ApiError::BadRequest(format!("The body is not valid JSON: {message}.")),
    }
}

/// What a field or parameter holding U+0000 is told.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path (`pain[0].notes`, as in other validation errors) of the first string or key in
/// `value` that holds U+0000.
pub fn nul_path(value: &Value, path: String) -> Option<String> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path })
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(at(k))
            } else {
                nul_path(v, at(k))
            }
        }),
        _ => None,
    }
}

/// Rewrites numbers such as `3.0` (no fraction, within range) as integers; true if any was.
pub fn integral_floats_as_integers(value: &mut Value) -> bool {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let integer = if f.fract() != 0.0 || !f.is_finite() {
                None
            } else if (i64::MIN as f64..=i64::MAX as f64).contains(&f) {
                Some(serde_json::Number::from(f as i64))
            } else if (0.0..=u64::MAX as f64).contains(&f) {
                Some(serde_json::Number::from(f as u64))
            } else {
                None
            };
            match integer {
                Some(i) => {
                    *n = i;
                    true
                }
                None => false,
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| integral_floats_as_integers(v) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, v| integral_floats_as_integers(v) | any),
        _ => false,
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.json_body_limit)
            .unwrap_or(64 * 1024);
        let json = is_json(req);
        let declared_length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "Send the body as `Content-Type: application/json`.".into(),
                ));
            }
            let too_large =
                || ApiError::PayloadTooLarge(format!("JSON bodies are limited to {limit} bytes."));
            if declared_length.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let body = read_limited(&mut payload, limit, too_large).await?;
            parse_json(&body).map(JsonBody)
        })
    }
}

/// Reads a request body, refusing it as soon as it passes `limit` bytes.
pub async fn read_limited(
    payload: &mut Payload,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("The body could not be read: {e}.")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Query parameters of type `T`; a bad value is a 422 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = url::form_urlencoded::parse(req.query_string().as_bytes());
        if let Some((key, _)) = pairs
            .clone()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return std::future::ready(Err(ApiError::invalid(key, NUL_MESSAGE)));
        }
        let parsed = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(
            url::form_urlencoded::parse(req.query_string().as_bytes()),
        ))
        .map(QueryParams)
        .map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            ApiError::Validation(vec![FieldError::new(field_path(&path, &message), message)])
        });
        std::future::ready(parsed)
    }
}

/// The years a date parameter may name: far enough for any birth, plan or report, near enough
/// that no date arithmetic on it can overflow.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A date query parameter (`YYYY-MM-DD`), between 1900 and 2200: use with
/// `#[serde(default, deserialize_with = "bounded_date")]`. A date outside is a 422 naming the
/// parameter, never arithmetic that overflows.
pub fn bounded_date<'de, D>(deserializer: D) -> Result<Option<chrono::NaiveDate>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use chrono::Datelike;
    let date = Option::<chrono::NaiveDate>::deserialize(deserializer)?;
    match date {
        Some(d) if !DATE_YEARS.contains(&d.year()) => Err(serde::de::Error::custom(
            "must be a date between 1900-01-01 and 2200-12-31",
        )),
        other => Ok(other),
    }
}

/// An instant query parameter (RFC 3339) in the years 1900 to 2200, as [`bounded_date`].
pub fn bounded_instant<'de, D>(
    deserializer: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use chrono::Datelike;
    let at = Option::<chrono::DateTime<chrono::Utc>>::deserialize(deserializer)?;
    match at {
        Some(t) if !DATE_YEARS.contains(&t.year()) => Err(serde::de::Error::custom(
            "must be an instant between 1900 and 2200",
        )),
        other => Ok(other),
    }
}

/// For JSON Merge Patch fields: absent stays `None`, `null` becomes `Some(None)`, a value
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A merge-patch field that may be changed but not removed.
pub fn required<T>(field: &str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(ApiError::invalid(field, "may not be null")),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pain {
        location: String,
        nrs: u8,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Report {
        pain: Vec<Pain>,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Report>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_of_a_wrong_type_an_unknown_and_a_missing_field() {
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip","nrs":"x"}]}"#),
            "pain[0].nrs"
        );
        assert_eq!(field_of(r#"{"pain":[],"role":"admin"}"#), "role");
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip","nrs":1,"x":1}]}"#),
            "pain[0].x"
        );
        assert_eq!(field_of(r#"{}"#), "pain");
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip","nrs":300}]}"#),
            "pain[0].nrs"
        );
    }

    #[test]
    fn integral_floats_are_integers_as_in_json_schema() {
        let report: Report =
            parse_json(br#"{"pain":[{"location":"hip","nrs":3.0}]}"#).expect("3.0 is 3");
        assert_eq!(report.pain[0].nrs, 3);
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip","nrs":3.5}]}"#),
            "pain[0].nrs"
        );
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip","nrs":300.0}]}"#),
            "pain[0].nrs"
        );
    }

    #[test]
    fn the_nul_character_is_refused_naming_the_field() {
        assert_eq!(
            field_of(r#"{"pain":[{"location":"hip\u0000","nrs":1}]}"#),
            "pain[0].location"
        );
        assert_eq!(field_of(r#"{"pain":[],"a\u0000":1}"#), "a\u{0}");
        // An escaped backslash followed by `u0000` is plain text, not U+0000.
        let report: Report =
            parse_json(br#"{"pain":[{"location":"\\u0000","nrs":1}]}"#).expect("plain text");
        assert_eq!(report.pain[0].location, "\\u0000");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in ["{", "", "{\"pain\":[]} trailing", "nul"] {
            assert!(matches!(
                parse_json::<Report>(body.as_bytes()),
                Err(ApiError::BadRequest(_))
            ));
        }
    }

    #[test]
    fn me_is_her_own_record_and_anything_unreadable_is_not_found() {
        use crate::domain::identity::Role;
        use crate::domain::ids::{OrganizationId, UserId};
        let her = uuid::Uuid::now_v7();
        let client = Principal {
            user_id: UserId::generate(),
            organization_id: OrganizationId::generate(),
            role: Role::Client,
            client_id: Some(ClientId(her)),
            service_token: None,
        };
        assert_eq!(
            ClientRef::resolve(&client, "me").unwrap(),
            ClientRef(ClientId(her))
        );
        let other = uuid::Uuid::now_v7();
        assert_eq!(
            ClientRef::resolve(&client, &other.to_string()).unwrap(),
            ClientRef(ClientId(other))
        );
        let coach = Principal {
            role: Role::Coach,
            client_id: None,
            ..client
        };
        assert!(matches!(
            ClientRef::resolve(&coach, "me"),
            Err(ApiError::NotFound)
        ));
        assert!(matches!(
            ClientRef::resolve(&coach, "not-an-id"),
            Err(ApiError::NotFound)
        ));
    }
}
