//! Throttles. Login attempts are limited per client IP address (`LOGIN_ATTEMPTS_PER_MINUTE`),
//! so one address guessing gets nowhere fast; and per account at ten times that from all
//! addresses together, a ceiling on guessing one password from many addresses that no single
//! address can reach: an attacker slows herself down, never locks the account's owner out.
//! Invitation acceptance is limited per address the same way, and expensive requests (imports,
//! exports, the audit trail, webhook tests) per caller and per address.
//!
//! The allowances live in PostgreSQL (`db::throttles`), so every instance of the service
//! counts against the same ones: one statement per key checked (two for a login, two for an
//! expensive request, one for an invitation). Keys are SHA-256 digests: no address or email is
//! stored. The client's address is the one [`crate::api::forwarded`] believes (behind a trusted
//! proxy, the forwarded one). How many expensive requests a caller runs *at once* is bounded
//! per instance ([`InProgress`]): that protects the instance's own connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel_async::AsyncPgConnection;

use crate::db::throttles;

fn key(kind: &str, value: &str) -> Vec<u8> {
    crate::fingerprint::of(&format!("{kind}\u{1f}{value}"))
}

/// How many times one address's allowance an account's is.
pub const ACCOUNT_FACTOR: u32 = 10;

/// Counts one login attempt from `ip` for `email`; `Err(seconds)` says how long to wait. An
/// address over its allowance is refused before the attempt counts against the account.
pub async fn login(
    conn: &mut AsyncPgConnection,
    per_minute: u32,
    ip: &str,
    email: &str,
) -> diesel::QueryResult<Result<(), u64>> {
    if let Err(wait) = throttles::take(conn, &key("login-ip", ip), per_minute).await? {
        return Ok(Err(wait));
    }
    let account = email.trim().to_lowercase();
    throttles::take(
        conn,
        &key("login-account", &account),
        per_minute.saturating_mul(ACCOUNT_FACTOR),
    )
    .await
}

/// Counts one invitation acceptance from `ip`.
pub async fn invitation(
    conn: &mut AsyncPgConnection,
    per_minute: u32,
    ip: &str,
) -> diesel::QueryResult<Result<(), u64>> {
    throttles::take(conn, &key("invitation-ip", ip), per_minute).await
}

/// Counts one expensive request by `caller` from `ip`.
pub async fn expensive(
    conn: &mut AsyncPgConnection,
    per_minute: u32,
    caller: uuid::Uuid,
    ip: &str,
) -> diesel::QueryResult<Result<(), u64>> {
    if let Err(wait) = throttles::take(
        conn,
        &key("expensive-caller", &caller.to_string()),
        per_minute,
    )
    .await?
    {
        return Ok(Err(wait));
    }
    throttles::take(conn, &key("expensive-ip", ip), per_minute).await
}

/// Expensive requests one caller may have running at once.
pub const EXPENSIVE_AT_ONCE_PER_CALLER: usize = 2;
/// What a caller over a concurrency limit is told to wait.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// Expensive requests in progress, per caller: rate limits bound how many start a minute, this
/// bounds how many run at once (each may hold connections and megabytes for seconds).
pub struct InProgress {
    per_caller: usize,
    running: Arc<Mutex<HashMap<uuid::Uuid, usize>>>,
}

/// One expensive request running; the caller's count goes down when it is dropped.
pub struct Running {
    caller: uuid::Uuid,
    running: Arc<Mutex<HashMap<uuid::Uuid, usize>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = running.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.caller);
            }
        }
    }
}

impl InProgress {
    pub fn new(per_caller: usize) -> Self {
        Self {
            per_caller: per_caller.max(1),
            running: Arc::default(),
        }
    }

    /// Starts one for `caller`, unless she already has her share running.
    pub fn start(&self, caller: uuid::Uuid) -> Option<Running> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let n = running.entry(caller).or_default();
        if *n >= self.per_caller {
            return None;
        }
        *n += 1;
        Some(Running {
            caller,
            running: self.running.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expensive_requests_run_a_few_at_a_time_per_caller() {
        let running = InProgress::new(2);
        let (ana, bea) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let first = running.start(ana).unwrap();
        let _second = running.start(ana).unwrap();
        assert!(running.start(ana).is_none(), "a third at once");
        assert!(
            running.start(bea).is_some(),
            "another caller is not held up"
        );
        drop(first);
        assert!(
            running.start(ana).is_some(),
            "one ended, one more may start"
        );
    }

    #[test]
    fn keys_are_digests_of_their_kind_and_value() {
        assert_ne!(
            key("login-ip", "10.0.0.1"),
            key("invitation-ip", "10.0.0.1")
        );
        assert_eq!(key("login-ip", "10.0.0.1").len(), 32);
        assert!(!String::from_utf8_lossy(&key("login-account", "ana@example.org")).contains("ana"));
    }
}
