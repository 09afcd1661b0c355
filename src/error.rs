//! The one error type of the service, and how it is shown to callers.
//!
//! Policy:
//! - Every failure a caller can see is an RFC 9457 `application/problem+json` body with
//!   `type`, `title`, `status` and `detail`; validation failures add `errors: [{field, message}]`.
//! - An object outside the caller's reach is a 404, exactly like one that does not exist:
//!   existence is never revealed. A role that may not call a route at all is a 403.
//! - The database being unreachable is a 503 with `Retry-After`, so clients retry instead of
//!   giving up.
//! - Anything unexpected is logged with its whole cause chain and answered as an opaque 500:
//!   no SQL, no stack, no internals ever reach a response.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::FieldError;

/// An RFC 9457 problem document: every error response of this API has this shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Some values are not valid",
    "status": 422,
    "detail": "1 field is not valid",
    "errors": [{"field": "email", "message": "must be a valid email address"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, so clients can branch on it.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// For validation failures: every field that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
}

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("not authenticated: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(Vec<Method>),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A caller-chosen id (of a report, a session) is already the id of another record,
    /// wherever that record is.
    #[error("id already in use")]
    IdInUse,
    /// A sync cursor older than the deletions the feed keeps.
    #[error("gone: {0}")]
    Gone(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("request headers too large: {0}")]
    HeadersTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// This instance is draining before it stops; the balancer should send callers elsewhere.
    #[error("shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A single-field validation failure.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// What a caller should make of a problem of this type, for its page (`/problems/{type}`).
    fn advice(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "The body or the query could not be read: malformed JSON, a wrong type, an unknown field, or text holding U+0000. The detail says where; fix the request and send it again.",
            ApiError::Unauthorized(_) => "No valid bearer token came with the request, or it expired. Refresh the access token (POST /v1/auth/refresh) or sign in again (POST /v1/auth/login).",
            ApiError::Forbidden(_) => "The caller is signed in, but its role or the service token's scopes do not allow this operation. Ask the practice's admin for the role or scope it needs.",
            ApiError::NotFound => "Nothing at this path is within the caller's reach: it does not exist, or it belongs to another practice or another coach's client. The answer is the same either way.",
            ApiError::MethodNotAllowed(_) => "The path exists but does not take this method; the Allow header lists those it takes.",
            ApiError::Conflict(_) | ApiError::IdInUse => "The request clashes with what is stored: a duplicate (an email, an external id, an id already used by another record) or a state that does not allow it. Read the current state; a retry must send the same body again.",
            ApiError::Gone(_) => "The change feed's cursor is older than what the feed keeps, or from after a restore: drop local state and sync again from the start (GET /v1/sync without a cursor).",
            ApiError::PreconditionFailed(_) => "The record changed since it was read (If-Match did not match its ETag). Read it again, apply the change to the new version, and send it with the new ETag.",
            ApiError::PayloadTooLarge(_) => "The request body is over the limit for this operation (the detail says which). Send less, or split an import into several.",
            ApiError::HeadersTooLarge(_) => "The request's header fields take more than 16 KiB in all. Send fewer or shorter headers (a cookie jar is a usual cause).",
            ApiError::UnsupportedMediaType(_) => "The body's Content-Type is not one this operation reads (application/json for most; CSV and NDJSON for imports).",
            ApiError::Validation(_) => "Some values are not valid: errors lists each field with what is wrong. Nothing was written; correct the fields and send the request again.",
            ApiError::TooManyRequests { .. } => "The caller made too many requests of this kind (sign-in, exports, imports, the audit trail, webhook tests). Wait the seconds Retry-After gives, then try again.",
            ApiError::Unavailable(_) | ApiError::ShuttingDown => "The service cannot answer now (the database is away, or this instance is stopping). Nothing was written; wait the seconds Retry-After gives and send the same request again.",
            ApiError::Internal(_) => "Something failed on the service's side and was logged. Send the same request again later; if it persists, quote x-request-id to the practice's support.",
        }
    }

    /// One error of each problem type (details do not matter), for their pages.
    fn one_of_each() -> Vec<ApiError> {
        let d = String::new;
        vec![
            ApiError::BadRequest(d()),
            ApiError::Unauthorized(d()),
            ApiError::Forbidden(d()),
            ApiError::NotFound,
            ApiError::MethodNotAllowed(vec![]),
            ApiError::Conflict(d()),
            ApiError::Gone(d()),
            ApiError::PreconditionFailed(d()),
            ApiError::PayloadTooLarge(d()),
            ApiError::HeadersTooLarge(d()),
            ApiError::UnsupportedMediaType(d()),
            ApiError::Validation(vec![]),
            ApiError::TooManyRequests {
                retry_after_secs: 1,
            },
            ApiError::Unavailable(d()),
            ApiError::Internal(anyhow::anyhow!("")),
        ]
    }

    /// The problem type `slug` names (`/problems/{slug}`): its title, status and advice.
    pub fn problem_type(slug: &str) -> Option<ProblemType> {
        Self::one_of_each()
            .into_iter()
            .find(|e| e.slug_and_title().0 == slug)
            .map(|e| ProblemType {
                slug: e.slug_and_title().0,
                title: e.slug_and_title().1,
                status: e.status_code().as_u16(),
                advice: e.advice(),
            })
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("malformed-request", "The request could not be read"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication is required"),
            ApiError::Forbidden(_) => ("forbidden", "This role may not do this"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) | ApiError::IdInUse => ("conflict", "Conflict"),
            ApiError::Gone(_) => ("cursor-expired", "The sync cursor has expired"),
            ApiError::PreconditionFailed(_) => (
                "precondition-failed",
                "The resource changed since it was read",
            ),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "The request body is too large"),
            ApiError::HeadersTooLarge(_) => (
                "headers-too-large",
                "The request's header fields are too large",
            ),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Validation(_) => ("validation", "Some values are not valid"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) | ApiError::ShuttingDown => (
                "service-unavailable",
                "The service is temporarily unavailable",
            ),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::Conflict(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::Gone(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::HeadersTooLarge(d)
            | ApiError::UnsupportedMediaType(d) => d.clone(),
            ApiError::NotFound => "No such resource.".into(),
            ApiError::IdInUse => "This id belongs to another record: a retry must send the same body again; a new record needs a new id.".into(),
            ApiError::MethodNotAllowed(methods) => format!(
                "This path accepts only {}.",
                methods
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ApiError::Validation(errors) => match errors.len() {
                1 => format!("{}: {}", errors[0].field, errors[0].message),
                n => format!("{n} fields are not valid"),
            },
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("Slow down; try again in {retry_after_secs} s.")
            }
            // The cause stays in the log; the caller learns only that it is temporary.
            ApiError::ShuttingDown => {
                "This instance is shutting down; send new requests elsewhere.".into()
            }
            ApiError::Unavailable(_) => "The database is unavailable; try again shortly.".into(),
            ApiError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                ApiError::IdInUse => Some(vec![FieldError::new("id", "is already in use")]),
                _ => None,
            },
        }
    }
}

/// Seconds a client should wait before retrying while the database is away.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// A problem type, as its page tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub advice: &'static str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::IdInUse => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            ApiError::ShuttingDown => tracing::debug!("not ready: shutting down"),
            _ => {}
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::MethodNotAllowed(methods) => {
                let allow = methods
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                builder.insert_header((header::ALLOW, allow));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable(_) | ApiError::ShuttingDown => {
                builder.insert_header((
                    header::RETRY_AFTER,
                    UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
                ));
            }
            ApiError::Unauthorized(_) => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        builder.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                ApiError::Unavailable(info.message().to_string())
            }
            // Server-made ids are v7 UUIDs and never collide: a primary key taken means an id
            // the caller chose, held by another record (in this practice or another).
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
                if info.constraint_name().is_some_and(|c| c.ends_with("_pkey")) =>
            {
                ApiError::IdInUse
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => ApiError::Conflict(
                "Another change to the same record happened at the same time; retry.".into(),
            ),
            // A query that never reached the server, or whose answer never came back: the
            // driver has no SQLSTATE for it (a closed socket, a reset, a protocol break).
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, info) => {
                ApiError::Unavailable(info.message().to_string())
            }
            Error::BrokenTransactionManager => {
                ApiError::Unavailable("connection broken in a transaction".into())
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if server_is_unavailable(info.message()) =>
            {
                ApiError::Unavailable(info.message().to_string())
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Whether the server's own message is one of "the server cannot serve you now": it is
/// shutting down or starting up, an administrator ended the connection (SQLSTATE class 57), the
/// statement ran past `statement_timeout` (the database is too busy to answer in time), or its
/// disk is full (class 53: the write rolled back, and succeeds once space returns).
/// The driver reports these as diesel's `Unknown` kind without their SQLSTATE, so the
/// server's message (its primary text, never the whole error) is what tells them apart.
fn server_is_unavailable(message: &str) -> bool {
    const MESSAGES: [&str; 4] = [
        "terminating connection",
        "the database system is",
        "canceling statement due to statement timeout",
        "canceling statement due to conflict with recovery",
    ];
    MESSAGES.iter().any(|m| message.starts_with(m)) || message.ends_with("No space left on device")
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match e {
            AuthError::Refused(why) => ApiError::Unauthorized(why.into()),
            AuthError::Database(e) => e.into(),
            AuthError::Pool(e) => e.into(),
            AuthError::Other(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(e: crate::db::PoolError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_names_the_field() {
        let p = ApiError::invalid("email", "must be a valid email address").problem();
        assert_eq!(p.status, 422);
        assert_eq!(p.problem_type, "/problems/validation");
        assert_eq!(p.errors.unwrap()[0].field, "email");
    }

    #[test]
    fn internal_problem_hides_the_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("relation \"users\" does not exist"));
        let p = err.problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("relation"));
    }

    fn database_error(
        kind: diesel::result::DatabaseErrorKind,
        message: &str,
    ) -> diesel::result::Error {
        diesel::result::Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn a_lost_connection_is_unavailable_by_its_kind() {
        use diesel::result::DatabaseErrorKind::*;
        for (kind, message) in [
            (UnableToSendCommand, "connection closed"),
            (
                UnableToSendCommand,
                "error communicating with the server: Connection reset by peer (os error 104)",
            ),
            (
                ClosedConnection,
                "server closed the connection unexpectedly",
            ),
            (
                Unknown,
                "terminating connection due to administrator command",
            ),
            (Unknown, "the database system is shutting down"),
            (Unknown, "canceling statement due to statement timeout"),
            (
                Unknown,
                "could not extend file \"base/16384/16500\": No space left on device",
            ),
        ] {
            let e = ApiError::from(database_error(kind, message));
            assert!(matches!(e, ApiError::Unavailable(_)), "{message}: {e:?}");
        }
        assert!(matches!(
            ApiError::from(diesel::result::Error::BrokenTransactionManager),
            ApiError::Unavailable(_)
        ));
    }

    #[test]
    fn other_database_errors_stay_internal_whatever_they_say() {
        use diesel::result::DatabaseErrorKind::*;
        for (kind, message) in [
            (Unknown, "relation \"users\" does not exist"),
            // A message that merely mentions a lost connection is not one.
            (
                Unknown,
                "value for domain note violates check: connection closed",
            ),
            (CheckViolation, "the database system is fine"),
        ] {
            let e = ApiError::from(database_error(kind, message));
            assert!(matches!(e, ApiError::Internal(_)), "{message}: {e:?}");
        }
    }
}
