//! Throttles. Login attempts are limited per client IP address (`LOGIN_ATTEMPTS_PER_MINUTE`),
//! so one address guessing gets nowhere fast; and per account at ten times that from all
//! addresses together, a ceiling on guessing one password from many addresses that no single
//! address can reach: an attacker slows herself down, never locks the account's owner out.
//! The client's address is the one [`crate::api::forwarded`] believes (behind a trusted proxy,
//! the forwarded one).
//! Expensive requests (imports, exports, the audit trail) are limited per caller and per IP
//! address, so one script or one address cannot starve the rest. Limits are per process; with
//! several copies behind a load balancer each keeps its own.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginThrottle {
    by_ip: DefaultKeyedRateLimiter<String>,
    by_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginThrottle {
    /// How many times one address's allowance the account's is.
    pub const ACCOUNT_FACTOR: u32 = 10;

    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
        let quota = Quota::per_minute(n).allow_burst(n);
        let account = n.saturating_mul(NonZeroU32::new(Self::ACCOUNT_FACTOR).expect("non-zero"));
        Self {
            by_ip: RateLimiter::keyed(quota),
            by_account: RateLimiter::keyed(Quota::per_minute(account).allow_burst(account)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err(seconds)` says how long to wait before the next one. An
    /// address over its allowance is refused before the attempt counts against the account.
    pub fn check(&self, ip: &str, email: &str) -> Result<(), u64> {
        let wait = |outcome: governor::NotUntil<_>| {
            outcome.wait_time_from(self.clock.now()).as_secs().max(1)
        };
        self.by_ip.check_key(&ip.to_string()).map_err(wait)?;
        self.by_account
            .check_key(&email.trim().to_lowercase())
            .map_err(wait)?;
        Ok(())
    }

    /// Forgets keys that are back to a full allowance, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
    }
}

/// One limit per client IP address (invitation acceptance: a flood of guessed tokens).
pub struct IpThrottle {
    by_ip: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl IpThrottle {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
        Self {
            by_ip: RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err(seconds)` says how long to wait before the next one.
    pub fn check(&self, ip: &str) -> Result<(), u64> {
        self.by_ip
            .check_key(&ip.to_string())
            .map_err(|outcome| outcome.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    pub fn forget_idle(&self) {
        self.by_ip.retain_recent();
    }
}

/// Expensive requests, per principal (user or service token) and per IP address.
pub struct ExpensiveThrottle {
    by_caller: DefaultKeyedRateLimiter<uuid::Uuid>,
    by_ip: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl ExpensiveThrottle {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
        let quota = Quota::per_minute(n).allow_burst(n);
        Self {
            by_caller: RateLimiter::keyed(quota),
            by_ip: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request; `Err(seconds)` says how long to wait before the next one.
    pub fn check(&self, caller: uuid::Uuid, ip: &str) -> Result<(), u64> {
        let wait = |outcome: governor::NotUntil<_>| {
            outcome.wait_time_from(self.clock.now()).as_secs().max(1)
        };
        self.by_caller.check_key(&caller).map_err(wait)?;
        self.by_ip.check_key(&ip.to_string()).map_err(wait)?;
        Ok(())
    }

    pub fn forget_idle(&self) {
        self.by_caller.retain_recent();
        self.by_ip.retain_recent();
    }
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
    fn expensive_requests_are_limited_per_caller_and_per_ip() {
        let t = ExpensiveThrottle::new(2);
        let (ana, bea) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(t.check(ana, "10.0.0.1").is_ok());
        assert!(t.check(ana, "10.0.0.2").is_ok());
        assert!(
            t.check(ana, "10.0.0.3").unwrap_err() >= 1,
            "the caller from anywhere"
        );
        assert!(t.check(bea, "10.0.0.1").is_ok());
        assert!(t.check(bea, "10.0.0.2").is_ok());
        let t2 = ExpensiveThrottle::new(1);
        assert!(t2.check(ana, "10.0.0.9").is_ok());
        assert!(t2.check(bea, "10.0.0.9").is_err(), "the address for anyone");
    }

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
    fn limits_per_ip_and_per_account() {
        let t = LoginThrottle::new(3);
        for _ in 0..3 {
            assert!(t.check("10.0.0.1", "ana@example.org").is_ok());
        }
        let wait = t.check("10.0.0.1", "bea@example.org").unwrap_err();
        assert!(wait >= 1);
        // One address cannot lock the account: its owner still gets in from hers.
        for _ in 0..5 {
            let _ = t.check("10.0.0.1", "ana@example.org");
        }
        assert!(t.check("10.0.0.2", "ana@example.org").is_ok());
        // Many addresses together hit the account's ceiling, case-insensitively.
        let t = LoginThrottle::new(1);
        for i in 0..LoginThrottle::ACCOUNT_FACTOR {
            assert!(t.check(&format!("10.0.1.{i}"), "ANA@example.org").is_ok());
        }
        assert!(t.check("10.0.2.1", "ana@example.org").is_err());
    }
}
