//! Heavy reads on a streaming replica (`DATABASE_READ_URL`): the dashboard list, timelines,
//! exports (JSON and FHIR) and the audit trail. Everything else, and any heavy read by a caller
//! who wrote within the last [`READ_YOUR_WRITES`] (her report, then her timeline), goes to the
//! primary, so nobody reads a past older than her own last write. A replica that does not give
//! a working connection is left alone for [`REST`] and its reads go to the primary; `/readyz`
//! does not depend on it.
//!
//! Writes are remembered per instance: a caller whose write and read land on two instances
//! within the window relies on the replica's lag being shorter than the window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::db::{DbConn, DbPool};
use crate::error::ApiError;

/// How long after her own write a caller's heavy reads stay on the primary.
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(5);
/// How long a replica that failed is left alone.
pub const REST: Duration = Duration::from_secs(5);

pub struct Replica {
    pool: DbPool,
    resting_until: Mutex<Option<Instant>>,
}

impl Replica {
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            resting_until: Mutex::new(None),
        }
    }

    fn resting(&self) -> bool {
        let until = self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    fn rest(&self) {
        *self.resting_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + REST);
    }
}

/// The callers who wrote lately (on this instance), for read-your-writes.
#[derive(Default)]
pub struct RecentWrites {
    at: Mutex<HashMap<Uuid, Instant>>,
}

impl RecentWrites {
    pub fn record(&self, caller: Uuid) {
        self.at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(caller, Instant::now());
    }

    pub fn wrote_lately(&self, caller: Uuid) -> bool {
        self.at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&caller)
            .is_some_and(|t| t.elapsed() < READ_YOUR_WRITES)
    }

    /// Forgets writes older than the window, so memory stays bounded.
    pub fn forget_old(&self) {
        self.at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, t| t.elapsed() < READ_YOUR_WRITES);
    }
}

/// A connection for a heavy read by `caller`: the replica's when there is one, it is well, and
/// she has not written lately; the primary's otherwise.
pub async fn heavy_read(
    primary: &DbPool,
    replica: Option<&Replica>,
    recent: &RecentWrites,
    caller: Uuid,
) -> Result<DbConn, ApiError> {
    if let Some(replica) = replica {
        if !replica.resting() && !recent.wrote_lately(caller) {
            match replica.pool.get().await {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "the read replica gives no connection; reading from the primary");
                    replica.rest();
                }
            }
        }
    }
    Ok(primary.get().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_who_just_wrote_reads_from_the_primary() {
        let recent = RecentWrites::default();
        let (ana, bea) = (Uuid::now_v7(), Uuid::now_v7());
        recent.record(ana);
        assert!(recent.wrote_lately(ana));
        assert!(!recent.wrote_lately(bea));
        recent.forget_old();
        assert!(recent.wrote_lately(ana), "within the window it is kept");
    }
}
