//! Which access tokens are still good. An access token is checked by its signature alone, yet
//! a person who signs out everywhere, whose password is reset, or who is removed or erased must
//! lose every token issued before that at once, not when it expires.
//!
//! Each user has a "tokens valid after" instant (`users.tokens_valid_after`), and a removed or
//! erased user has none at all. This cache keeps that per user, so a request reads memory, not
//! the database: one query the first time a user is seen and after [`MAX_AGE`]. A change made
//! through this process forgets the user's entry once it is committed (a load that raced with
//! the change is not stored). Every change is also announced with PostgreSQL's `NOTIFY` when it
//! commits, and [`follow`] forgets the user on every instance of the service that listens;
//! while that listener is reconnecting, `MAX_AGE` still bounds how long an instance may use
//! what it had (and it forgets everything when it is back).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::jwt::Claims;
use super::AuthError;
use crate::db::{users, DbPool};
use crate::domain::ids::UserId;

/// How long an entry is trusted before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// What the database says about a user's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTokens {
    /// Removed, deactivated or erased: no token of hers is good.
    Gone,
    /// Tokens issued before this instant (milliseconds since the epoch) are refused.
    ValidAfter(Option<i64>),
}

impl UserTokens {
    fn from_row(row: Option<Option<DateTime<Utc>>>) -> Self {
        match row {
            None => Self::Gone,
            Some(after) => Self::ValidAfter(after.map(|t| t.timestamp_millis())),
        }
    }

    /// Whether a token issued at `issued_at_ms` is still good; the refusal says why.
    pub fn accepts(self, issued_at_ms: i64) -> Result<(), &'static str> {
        match self {
            Self::Gone => Err("The account is no longer active."),
            Self::ValidAfter(Some(after)) if issued_at_ms < after => {
                Err("This sign-in has ended (signed out everywhere, or the password was reset); sign in again.")
            }
            Self::ValidAfter(_) => Ok(()),
        }
    }
}

/// When a token was issued, to the millisecond: its `jti` is a time-ordered UUID made at
/// issue; `iat` (whole seconds) when the `jti` carries no time.
pub fn issued_at_ms(claims: &Claims) -> i64 {
    claims
        .jti
        .get_timestamp()
        .map(|ts| {
            let (secs, nanos) = ts.to_unix();
            secs as i64 * 1000 + i64::from(nanos / 1_000_000)
        })
        .unwrap_or(claims.iat * 1000)
}

struct Entry {
    state: UserTokens,
    loaded: Instant,
}

#[derive(Default)]
struct Entries {
    by_user: HashMap<UserId, Entry>,
    /// Bumped by every [`TokenValidity::forget`]: a load that began before is not stored.
    generation: u64,
}

#[derive(Default)]
pub struct TokenValidity {
    entries: RwLock<Entries>,
}

impl TokenValidity {
    /// Refuses a token issued before the user's "valid after" instant, or of a user who is gone.
    pub async fn check(&self, pool: &DbPool, claims: &Claims) -> Result<(), AuthError> {
        let state = match self.cached(claims.sub) {
            Some(state) => state,
            None => self.load(pool, claims.sub).await?,
        };
        state
            .accepts(issued_at_ms(claims))
            .map_err(AuthError::Refused)
    }

    fn cached(&self, user: UserId) -> Option<UserTokens> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .by_user
            .get(&user)
            .filter(|e| e.loaded.elapsed() < MAX_AGE)
            .map(|e| e.state)
    }

    async fn load(&self, pool: &DbPool, user: UserId) -> Result<UserTokens, AuthError> {
        let generation = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation;
        let mut conn = pool.get().await?;
        let state = UserTokens::from_row(users::token_validity(&mut conn, user).await?);
        drop(conn);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.generation == generation {
            entries.by_user.insert(
                user,
                Entry {
                    state,
                    loaded: Instant::now(),
                },
            );
        }
        Ok(state)
    }

    /// Forgets what is known of a user, after a change to her tokens was committed.
    pub fn forget(&self, user: UserId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation += 1;
        entries.by_user.remove(&user);
    }

    /// Forgets everything (the announcements of changes may have been missed).
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation += 1;
        entries.by_user.clear();
    }

    /// Drops entries past their age, so memory stays bounded by the users seen lately.
    pub fn forget_stale(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.by_user.retain(|_, e| e.loaded.elapsed() < MAX_AGE);
    }
}

/// Listens for changes to users' tokens announced by any instance (`users::TOKENS_CHANNEL`)
/// and forgets those users here, until `stop`; reconnects after a lost connection.
pub async fn follow(validity: &TokenValidity, database_url: &str, stop: &tokio::sync::Notify) {
    use diesel_async::RunQueryDsl;
    use futures_util::StreamExt;
    loop {
        let listening = async {
            let mut conn = crate::db::tls::connect(database_url).await?;
            diesel::sql_query(format!("LISTEN {}", users::TOKENS_CHANNEL))
                .execute(&mut conn)
                .await?;
            // Whatever changed while nobody listened is unknown: start afresh.
            validity.forget_all();
            // A lost connection ends the stream (with its error first): then reconnect.
            let mut changes = std::pin::pin!(conn.notifications_stream());
            while let Some(change) = changes.next().await {
                if let Ok(user) = change?.payload.parse::<Uuid>() {
                    validity.forget(UserId(user));
                }
            }
            Err::<(), _>(anyhow::anyhow!("the listening connection closed"))
        };
        tokio::select! {
            outcome = listening => {
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "listening for token changes; reconnecting");
                }
            }
            _ = stop.notified() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.notified() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_issued_before_the_instant_are_refused() {
        assert!(UserTokens::ValidAfter(None).accepts(0).is_ok());
        assert!(UserTokens::ValidAfter(Some(1_000)).accepts(999).is_err());
        assert!(UserTokens::ValidAfter(Some(1_000)).accepts(1_000).is_ok());
        assert!(UserTokens::ValidAfter(Some(1_000)).accepts(1_001).is_ok());
        assert!(UserTokens::Gone.accepts(i64::MAX).is_err());
    }

    #[test]
    fn a_missing_or_deactivated_user_is_gone() {
        assert_eq!(UserTokens::from_row(None), UserTokens::Gone);
        assert_eq!(
            UserTokens::from_row(Some(None)),
            UserTokens::ValidAfter(None)
        );
    }

    #[test]
    fn the_issue_time_comes_from_the_time_ordered_jti() {
        let keys = super::super::jwt::JwtKeys::new(
            "an-access-token-secret-of-32-bytes!!",
            None,
            Duration::from_secs(900),
        )
        .unwrap();
        let before = Utc::now().timestamp_millis();
        let token = keys
            .issue(
                UserId::generate(),
                crate::domain::ids::OrganizationId::generate(),
                crate::domain::identity::Role::Coach,
                None,
            )
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        let after = Utc::now().timestamp_millis();
        let issued = issued_at_ms(&claims);
        assert!(
            (before..=after).contains(&issued),
            "{before} <= {issued} <= {after}"
        );
    }
}
