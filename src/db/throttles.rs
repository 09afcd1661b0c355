//! Rate limits shared by every instance of the service, in PostgreSQL: the generic cell rate
//! algorithm (GCRA), one row per key. A key allows `per_minute` requests at once, then one every
//! `60 / per_minute` seconds; a refused request does not count. One statement when let through,
//! two when refused (the second says how long to wait).

use diesel::sql_types::{Bytea, Double, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::CachedExt;

#[derive(diesel::QueryableByName)]
struct Wait {
    #[diesel(sql_type = Nullable<Double>)]
    seconds: Option<f64>,
}

/// Counts one request for `key`; `Err(seconds)` says how long to wait before the next one.
pub async fn take(
    conn: &mut AsyncPgConnection,
    key: &[u8],
    per_minute: u32,
) -> diesel::QueryResult<Result<(), u64>> {
    let per_minute = f64::from(per_minute.max(1));
    let interval = 60.0 / per_minute;
    let burst = 60.0;
    let taken = diesel::sql_query(
        "INSERT INTO throttles AS t (key, tat)
              VALUES ($1, now() + make_interval(secs => $2))
         ON CONFLICT (key) DO UPDATE
                 SET tat = GREATEST(t.tat, now()) + make_interval(secs => $2)
               WHERE GREATEST(t.tat, now()) + make_interval(secs => $2)
                     <= now() + make_interval(secs => $3)
           RETURNING NULL::float8 AS seconds",
    )
    .bind::<Bytea, _>(key)
    .bind::<Double, _>(interval)
    .bind::<Double, _>(burst)
    .cached()
    .load::<Wait>(conn)
    .await?;
    if !taken.is_empty() {
        return Ok(Ok(()));
    }
    let wait: Wait = diesel::sql_query(
        "SELECT EXTRACT(EPOCH FROM GREATEST(tat, now()) + make_interval(secs => $2)
                                  - make_interval(secs => $3) - now())::float8 AS seconds
           FROM throttles WHERE key = $1",
    )
    .bind::<Bytea, _>(key)
    .bind::<Double, _>(interval)
    .bind::<Double, _>(burst)
    .get_result(conn)
    .await?;
    Ok(Err(wait.seconds.unwrap_or(1.0).ceil().max(1.0) as u64))
}

/// Drops keys back to a full allowance, so the table holds only the keys in use.
pub async fn purge_recovered(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query("DELETE FROM throttles WHERE tat < now()")
        .execute(conn)
        .await
}
