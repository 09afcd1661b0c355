//! Idempotency keys: per organization, each holds a digest of the request that took it and,
//! once that request is answered, the answer as sent. Keys are kept 48 hours (24 promised).

use super::columns::Stored;
use super::CachedExt;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::idempotency_keys;
use crate::domain::ids::OrganizationId;

/// An answer kept for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    /// Lower-case names with their values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A key's row: the request's fingerprint, and the kept answer's status, headers and body.
type KeyRow = (
    Vec<u8>,
    Option<i16>,
    Stored<Vec<(String, String)>>,
    Option<Vec<u8>>,
);

/// What an idempotency key already holds.
#[derive(Debug)]
pub enum KeyState {
    /// First use: the key is now taken by this request (until its transaction ends).
    New,
    /// Used before with the same request: its answer.
    Replay(StoredResponse),
    /// Used before with another request.
    Mismatch,
}

/// Takes an idempotency key for this request within the caller's transaction. A concurrent
/// request with the same key waits (on the primary key) until this transaction ends, then
/// sees its answer; if this transaction rolls back, the key is free again.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    key: &str,
    digest: &[u8],
) -> QueryResult<KeyState> {
    diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE organization_id = $1 AND key = $2
            AND created_at < now() - interval '48 hours'",
    )
    .bind::<diesel::sql_types::Uuid, _>(organization_id)
    .bind::<diesel::sql_types::Text, _>(key)
    .cached()
    .execute(conn)
    .await?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::organization_id.eq(organization_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_digest.eq(digest),
        ))
        .on_conflict_do_nothing()
        .cached()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(KeyState::New);
    }
    let (stored_digest, status, headers, body): KeyRow = idempotency_keys::table
        .find((organization_id, key))
        .select((
            idempotency_keys::request_digest,
            idempotency_keys::response_status,
            idempotency_keys::response_headers,
            idempotency_keys::response_bytes,
        ))
        .first(conn)
        .await?;
    Ok(match (stored_digest == digest, status, body) {
        (false, _, _) => KeyState::Mismatch,
        (true, Some(status), Some(body)) => KeyState::Replay(StoredResponse {
            status: status as u16,
            headers: headers.0,
            body,
        }),
        // Taken by a request that was never answered (it rolled back its writes): run again.
        (true, _, _) => KeyState::New,
    })
}

/// Keeps the answer to the request that took `key`, in the same transaction as its writes.
pub async fn store(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    key: &str,
    response: &StoredResponse,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((organization_id, key)))
        .set((
            idempotency_keys::response_status.eq(response.status as i16),
            idempotency_keys::response_headers.eq(Stored(response.headers.clone())),
            idempotency_keys::response_bytes.eq(&response.body),
        ))
        .cached()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Forgets every kept answer that mentions one of `ids` (erasure: kept answers hold her
/// records as they were sent).
pub async fn forget_mentioning(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    ids: &[Uuid],
) -> QueryResult<usize> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    diesel::sql_query(
        "DELETE FROM idempotency_keys k WHERE k.organization_id = $1
            AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS id
                         WHERE position(convert_to(id, 'UTF8') IN k.response_bytes) > 0)",
    )
    .bind::<diesel::sql_types::Uuid, _>(organization_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
    .cached()
    .execute(conn)
    .await
}

/// Drops keys past their 48 hours.
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '48 hours'")
        .execute(conn)
        .await
}
