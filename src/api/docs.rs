//! Reusable error responses for the OpenAPI document: every handler lists the groups it can
//! answer with, so a frontend sees each status it must handle, as problem+json.

#![allow(dead_code)] // These types exist for the document; they are never built at run time.

use utoipa::IntoResponses;

use crate::error::Problem;

/// Errors of any authenticated read.
#[derive(IntoResponses)]
pub enum ReadErrors {
    /// No bearer token, or one that is expired, revoked or not valid.
    #[response(status = 401, content_type = "application/problem+json", example = json!({
        "type": "/problems/unauthorized", "title": "Authentication is required", "status": 401,
        "detail": "The access token has expired; refresh it."}))]
    Unauthorized(Problem),
    /// The caller's role, or the service token's scopes, do not allow this operation.
    #[response(status = 403, content_type = "application/problem+json", example = json!({
        "type": "/problems/forbidden", "title": "This role may not do this", "status": 403,
        "detail": "Your role or token scope does not allow this operation."}))]
    Forbidden(Problem),
    /// Query parameters are not valid.
    #[response(status = 422, content_type = "application/problem+json", example = json!({
        "type": "/problems/validation", "title": "Some values are not valid", "status": 422,
        "detail": "limit: must be between 1 and 200",
        "errors": [{"field": "limit", "message": "must be between 1 and 200"}]}))]
    Validation(Problem),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait")), example = json!({
        "type": "/problems/service-unavailable", "title": "The service is temporarily unavailable",
        "status": 503, "detail": "The database is unavailable; try again shortly."}))]
    Unavailable(Problem),
}

/// Errors of any request with a JSON body.
#[derive(IntoResponses)]
pub enum BodyErrors {
    /// The body is not valid JSON.
    #[response(status = 400, content_type = "application/problem+json", example = json!({
        "type": "/problems/malformed-request", "title": "The request could not be read",
        "status": 400, "detail": "The body is not valid JSON: EOF while parsing an object."}))]
    BadRequest(Problem),
    /// The body is larger than the limit (64 KiB by default).
    #[response(status = 413, content_type = "application/problem+json", example = json!({
        "type": "/problems/payload-too-large", "title": "The request body is too large",
        "status": 413, "detail": "JSON bodies are limited to 65536 bytes."}))]
    PayloadTooLarge(Problem),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json", example = json!({
        "type": "/problems/unsupported-media-type", "title": "Unsupported media type",
        "status": 415, "detail": "Send the body as `Content-Type: application/json`."}))]
    UnsupportedMediaType(Problem),
    /// A value is invalid, a field is unknown or missing; `errors` names each field.
    #[response(status = 422, content_type = "application/problem+json", example = json!({
        "type": "/problems/validation", "title": "Some values are not valid", "status": 422,
        "detail": "email: must be a valid email address",
        "errors": [{"field": "email", "message": "must be a valid email address"}]}))]
    Validation(Problem),
    /// The database is unavailable; retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait")), example = json!({
        "type": "/problems/service-unavailable", "title": "The service is temporarily unavailable",
        "status": 503, "detail": "The database is unavailable; try again shortly."}))]
    Unavailable(Problem),
}

/// Errors of an authenticated request with a JSON body.
#[derive(IntoResponses)]
pub enum AuthenticatedBodyErrors {
    #[response(status = 401, content_type = "application/problem+json", example = json!({
        "type": "/problems/unauthorized", "title": "Authentication is required", "status": 401,
        "detail": "A bearer token is required."}))]
    /// No bearer token, or one that is expired, revoked or not valid.
    Unauthorized(Problem),
    /// The caller's role, or the service token's scopes, do not allow this operation.
    #[response(status = 403, content_type = "application/problem+json", example = json!({
        "type": "/problems/forbidden", "title": "This role may not do this", "status": 403,
        "detail": "Your role or token scope does not allow this operation."}))]
    Forbidden(Problem),
}

/// The object does not exist or is outside the caller's reach (existence is never revealed).
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json", example = json!({
    "type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "No such resource."}))]
pub struct NotFound(Problem);

/// The request conflicts with the current state (for example, the email is taken).
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json", example = json!({
    "type": "/problems/conflict", "title": "Conflict", "status": 409,
    "detail": "Someone in this organization already uses this email."}))]
pub struct Conflict(Problem);

/// The cursor is older than the deletions the feed keeps (30 days): sync again from the start.
#[derive(IntoResponses)]
#[response(status = 410, content_type = "application/problem+json", example = json!({
    "type": "/problems/cursor-expired", "title": "The sync cursor has expired", "status": 410,
    "detail": "This cursor is older than the feed's 30 days of deletions; sync again from the start (no cursor) and replace what the app holds."}))]
pub struct CursorExpired(Problem);

/// Too many attempts; retry after `Retry-After` seconds.
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait")), example = json!({
    "type": "/problems/too-many-requests", "title": "Too many requests", "status": 429,
    "detail": "Slow down; try again in 6 s."}))]
pub struct TooManyRequests(Problem);

/// The credentials are not valid.
#[derive(IntoResponses)]
#[response(status = 401, content_type = "application/problem+json", example = json!({
    "type": "/problems/unauthorized", "title": "Authentication is required", "status": 401,
    "detail": "The email or password is not correct."}))]
pub struct BadCredentials(Problem);
