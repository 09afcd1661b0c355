//! Heavy reads on a streaming replica (`DATABASE_READ_URL`): the dashboard list, timelines,
//! exports (JSON and FHIR) and the audit trail. Everything else, and any heavy read by a caller
//! who wrote within the last [`READ_YOUR_WRITES`] (her report, then her timeline), goes to the
//! primary, so nobody reads a past older than her own last write. A replica that does not give
//! a working connection is left alone for [`REST`] and its reads go to the primary; `/readyz`
//! does not depend on it.
//!
//! Writes are remembered per instance: a caller whose write and read land on two instances
//! within the window relies on the replica's lag being shorter than the window.
//!
//! Reach is part of what a heavy read checks (her coach, her erasure), so a replica further
//! behind than `REPLICA_MAX_LAG_MS` is not used at all: its lag is read on the connection
//! before the read, and beyond the bound the read goes to the primary. A coach whose client
//! was moved away, or an erased client, is out of reach within that bound everywhere.

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

/// How far behind the replica's replay is, in milliseconds: 0 when it has replayed all it
/// received (an idle primary sends nothing, so an old replay time alone means nothing).
const LAG_MS: &str = "SELECT (CASE WHEN pg_last_wal_receive_lsn() IS NULL
                        OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000, 0)
              END)::float8 AS lag_ms";

#[derive(diesel::QueryableByName)]
struct Lag {
    #[diesel(sql_type = diesel::sql_types::Double)]
    lag_ms: f64,
}

/// A connection for a heavy read by `caller`: the replica's when there is one, it is well, no
/// further behind than `max_lag`, and she has not written lately; the primary's otherwise.
pub async fn heavy_read(
    primary: &DbPool,
    replica: Option<&Replica>,
    recent: &RecentWrites,
    caller: Uuid,
    max_lag: Duration,
) -> Result<DbConn, ApiError> {
    if let Some(replica) = replica {
        if !replica.resting() && !recent.wrote_lately(caller) {
            match replica.pool.get().await {
                Ok(mut conn) => {
                    use diesel_async::RunQueryDsl;
                    let lag: Result<Lag, _> = diesel::sql_query(LAG_MS).get_result(&mut conn).await;
                    match lag {
                        Ok(lag) if lag.lag_ms <= max_lag.as_millis() as f64 => return Ok(conn),
                        Ok(lag) => tracing::info!(
                            lag_ms = lag.lag_ms,
                            "the read replica is too far behind; reading from the primary"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "the read replica's lag is unknown; reading from the primary");
                            replica.rest();
                        }
                    }
                }
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
