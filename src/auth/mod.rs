//! Who is calling: passwords, access tokens, opaque secrets, sign-in sessions, throttles and
//! whether a token is still valid. What a principal may do is `domain::policy`; the middleware
//! that asks it for every request is `api::authorize`.

pub mod invitations;
pub mod jwt;
pub mod password;
pub mod sealing;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod validity;

/// Why signing in, refreshing or checking a token did not succeed. The HTTP edge turns it into
/// a problem document (`error::ApiError`): a refusal is a 401 with its text.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials do not (or no longer) prove who the caller says she is.
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] crate::db::PoolError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}
