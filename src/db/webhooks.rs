//! Webhook endpoints, the event outbox and the deliveries. Events are written by the same
//! transaction as the change they describe (so none is lost or sent for a change that rolled
//! back); the dispatcher then claims due deliveries, keeping each client's events in order per
//! endpoint.

use super::CachedExt;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Int8, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::webhook_endpoints;
use crate::domain::ids::{ClientId, OrganizationId};
use crate::domain::webhook::DeliveryStatus;

type SqlUuid = diesel::sql_types::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [String],
    /// The signing secret sealed under `WEBHOOK_SECRET_KEY` (`auth::sealing`).
    pub secret_sealed: &'a [u8],
    pub created_by: Uuid,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewEndpoint<'_>) -> QueryResult<Endpoint> {
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(new.id),
            webhook_endpoints::organization_id.eq(new.organization_id),
            webhook_endpoints::url.eq(new.url),
            webhook_endpoints::description.eq(new.description),
            webhook_endpoints::events.eq(new.events),
            webhook_endpoints::secret_sealed.eq(new.secret_sealed),
            webhook_endpoints::created_by.eq(new.created_by),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)
        .await
}

/// How many endpoints the organization has.
pub async fn count(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
) -> QueryResult<i64> {
    webhook_endpoints::table
        .filter(webhook_endpoints::organization_id.eq(organization_id))
        .count()
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<Endpoint> {
    webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::organization_id.eq(organization_id))
        .select(Endpoint::as_select())
        .first(conn)
        .await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Endpoint>> {
    let mut query = webhook_endpoints::table
        .filter(webhook_endpoints::organization_id.eq(organization_id))
        .select(Endpoint::as_select())
        .order(webhook_endpoints::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    query.load(conn).await
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub consecutive_failures: Option<i32>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
    changes: &EndpointChanges,
) -> QueryResult<Endpoint> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::organization_id.eq(organization_id)),
    )
    .set((changes, webhook_endpoints::updated_at.eq(diesel::dsl::now)))
    .returning(Endpoint::as_returning())
    .get_result(conn)
    .await
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::organization_id.eq(organization_id)),
    )
    .execute(conn)
    .await
}

/// A stored signing secret: sealed, or (stored before sealing) as it is.
pub type StoredSecret = (Uuid, Option<Vec<u8>>, Option<String>);

/// Every endpoint's stored secret, for sealing at start (a practice has a handful of endpoints).
pub async fn stored_secrets(conn: &mut AsyncPgConnection) -> QueryResult<Vec<StoredSecret>> {
    webhook_endpoints::table
        .select((
            webhook_endpoints::id,
            webhook_endpoints::secret_sealed,
            webhook_endpoints::secret,
        ))
        .order(webhook_endpoints::id)
        .load(conn)
        .await
}

/// Stores `sealed` as the endpoint's secret in place of `was` (what was read), unless another
/// instance sealed it first; 1 if stored.
pub async fn store_sealed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    was: Option<&[u8]>,
    sealed: &[u8],
) -> QueryResult<usize> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::secret_sealed.is_not_distinct_from(was)),
    )
    .set((
        webhook_endpoints::secret_sealed.eq(sealed),
        webhook_endpoints::secret.eq(None::<String>),
    ))
    .execute(conn)
    .await
}

/// An event for the outbox, with its id and payload made when the change is made (ids are
/// time-ordered, so events keep the order of the changes).
pub struct Event {
    pub id: Uuid,
    pub event_type: &'static str,
    pub client_id: Option<ClientId>,
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(
        event_type: &'static str,
        client_id: Option<ClientId>,
        data: serde_json::Value,
    ) -> Self {
        Event {
            id: Uuid::now_v7(),
            event_type,
            client_id,
            payload: serde_json::json!({
                "type": event_type,
                "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "data": data,
            }),
        }
    }
}

/// The outbox write as common table expressions, for statements that write an event with the
/// change it describes: `$1` the event id, `$2` the organization, `$3` the event type, `$4` the
/// client (or NULL), `$5` the payload. Nothing is written when no enabled endpoint of the
/// organization subscribes to the type.
macro_rules! outbox_ctes {
    () => {
        "subscribed AS (
             SELECT id FROM webhook_endpoints
              WHERE organization_id = $2 AND enabled AND $3 = ANY(events)),
         event AS (
             INSERT INTO webhook_events (id, organization_id, event_type, client_id, payload)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM subscribed)
             RETURNING id, seq),
         delivery AS (
             INSERT INTO webhook_deliveries
                 (id, organization_id, event_id, endpoint_id, queue_key, seq)
             SELECT gen_random_uuid(), $2, event.id, subscribed.id,
                    coalesce($4, '00000000-0000-0000-0000-000000000000'::uuid), event.seq
               FROM event, subscribed)"
    };
}
pub(crate) use outbox_ctes;

/// Writes an event to the outbox, with one pending delivery per enabled endpoint of the
/// organization that subscribes to its type.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    event_type: &'static str,
    client_id: Option<ClientId>,
    data: serde_json::Value,
) -> QueryResult<()> {
    let event = Event::new(event_type, client_id, data);
    diesel::sql_query(concat!("WITH ", outbox_ctes!(), " SELECT 1"))
        .bind::<SqlUuid, _>(event.id)
        .bind::<SqlUuid, _>(organization_id)
        .bind::<Text, _>(event.event_type)
        .bind::<Nullable<SqlUuid>, _>(event.client_id)
        .bind::<Jsonb, _>(event.payload)
        .cached()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Writes an event for one endpoint only (the test event).
pub async fn enqueue_for(
    conn: &mut AsyncPgConnection,
    endpoint: &Endpoint,
    event_type: &'static str,
    data: serde_json::Value,
) -> QueryResult<Uuid> {
    let Event { id, payload, .. } = Event::new(event_type, None, data);
    diesel::sql_query(
        "WITH event AS (
             INSERT INTO webhook_events (id, organization_id, event_type, payload)
             VALUES ($1, $2, $3, $4) RETURNING id, seq)
         INSERT INTO webhook_deliveries (id, organization_id, event_id, endpoint_id, queue_key, seq)
         SELECT gen_random_uuid(), $2, event.id, $5, '00000000-0000-0000-0000-000000000000', event.seq
           FROM event",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(endpoint.organization_id)
    .bind::<Text, _>(event_type)
    .bind::<Jsonb, _>(payload)
    .bind::<SqlUuid, _>(endpoint.id)
    .cached()
    .execute(conn)
    .await?;
    Ok(id)
}

/// A delivery claimed for sending, with what sending needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Due {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub event_created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub url: String,
    /// Sealed (`auth::sealing`); or, for an endpoint stored before sealing and not yet sealed,
    /// the secret itself.
    #[diesel(sql_type = Nullable<diesel::sql_types::Bytea>)]
    pub secret_sealed: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub secret: Option<String>,
}

/// What a claim may take.
pub struct Claim<'a> {
    /// At most this many deliveries.
    pub limit: i64,
    /// Each held for this long before another claim may take it again.
    pub lease_secs: i64,
    /// At most this many in flight per endpoint, counting those already in flight here.
    pub per_endpoint: i32,
    /// Endpoints with sends in flight, and how many each.
    pub busy_endpoints: &'a [Uuid],
    pub busy_counts: &'a [i32],
}

/// Claims due deliveries: organizations take turns (the first of each, then the second of
/// each, …), no endpoint gets more than `per_endpoint` in flight, and a client's event waits
/// while an earlier one of hers (or, for events about no client, an earlier such event) is
/// pending for the same endpoint, retries included. Rows another instance holds are skipped.
///
/// Only each queue's first pending delivery can be due, so the claim reads those and nothing
/// behind them: a skip scan of `webhook_deliveries_queue_idx`, one index descent per queue with
/// something pending, however long the backlog.
pub async fn claim_due(conn: &mut AsyncPgConnection, claim: Claim<'_>) -> QueryResult<Vec<Due>> {
    diesel::sql_query(
        "WITH RECURSIVE heads AS (
             (SELECT id, endpoint_id, queue_key, organization_id, seq, next_attempt_at
                FROM webhook_deliveries WHERE status = 'pending'
               ORDER BY endpoint_id, queue_key, seq LIMIT 1)
             UNION ALL
             SELECT n.* FROM heads h, LATERAL (
                 SELECT id, endpoint_id, queue_key, organization_id, seq, next_attempt_at
                   FROM webhook_deliveries
                  WHERE status = 'pending'
                    AND (endpoint_id, queue_key) > (h.endpoint_id, h.queue_key)
                  ORDER BY endpoint_id, queue_key, seq LIMIT 1) n),
         busy AS (SELECT * FROM unnest($4::uuid[], $5::int[]) AS b (endpoint_id, n)),
         ranked AS (
             SELECT h.id, h.seq,
                    row_number() OVER (PARTITION BY h.endpoint_id ORDER BY h.seq)
                        + coalesce(b.n, 0) AS on_endpoint,
                    row_number() OVER (PARTITION BY h.organization_id ORDER BY h.seq) AS turn
               FROM heads h
               JOIN webhook_endpoints e ON e.id = h.endpoint_id
               LEFT JOIN busy b ON b.endpoint_id = h.endpoint_id
              WHERE h.next_attempt_at <= now() AND e.enabled),
         due AS (
             SELECT d.id FROM webhook_deliveries d
              WHERE d.id = ANY(ARRAY(SELECT id FROM ranked WHERE on_endpoint <= $3
                                      ORDER BY turn, seq LIMIT $1))
                AND d.status = 'pending' AND d.next_attempt_at <= now()
                FOR UPDATE OF d SKIP LOCKED),
         claimed AS (
             UPDATE webhook_deliveries d
                SET next_attempt_at = now() + make_interval(secs => $2)
              WHERE d.id = ANY(ARRAY(SELECT id FROM due))
             RETURNING d.id, d.event_id, d.endpoint_id, d.attempts, d.seq)
         SELECT c.id, c.event_id, c.endpoint_id, c.attempts, ev.payload,
                ev.created_at AS event_created_at, e.url, e.secret_sealed, e.secret
           FROM claimed c
           JOIN webhook_events ev ON ev.id = c.event_id
           JOIN webhook_endpoints e ON e.id = c.endpoint_id
          ORDER BY c.seq",
    )
    .bind::<Int8, _>(claim.limit)
    .bind::<Int8, _>(claim.lease_secs)
    .bind::<Int4, _>(claim.per_endpoint)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(claim.busy_endpoints)
    .bind::<diesel::sql_types::Array<Int4>, _>(claim.busy_counts)
    .load(conn)
    .await
}

/// Records a delivered message.
pub async fn delivered(conn: &mut AsyncPgConnection, due: &Due, status: i32) -> QueryResult<()> {
    diesel::sql_query(
        "WITH d AS (
             UPDATE webhook_deliveries
                SET status = 'delivered', attempts = attempts + 1, last_status = $2,
                    last_error = NULL, delivered_at = now()
              WHERE id = $1 RETURNING endpoint_id)
         UPDATE webhook_endpoints SET consecutive_failures = 0
          WHERE id IN (SELECT endpoint_id FROM d) AND consecutive_failures <> 0",
    )
    .bind::<SqlUuid, _>(due.id)
    .bind::<Int4, _>(status)
    .cached()
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a failed attempt: retried at `retry_at`, or, when that is past the retry window
/// (`None`), failed for good and its endpoint disabled.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    due: &Due,
    status: Option<i32>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::sql_query(
        "WITH d AS (
             UPDATE webhook_deliveries
                SET attempts = attempts + 1, last_status = $2, last_error = $3,
                    status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                    next_attempt_at = coalesce($4, next_attempt_at)
              WHERE id = $1 RETURNING endpoint_id)
         UPDATE webhook_endpoints
            SET consecutive_failures = consecutive_failures + 1,
                enabled = enabled AND $4::timestamptz IS NOT NULL,
                disabled_reason = CASE WHEN $4::timestamptz IS NULL
                    THEN 'A delivery failed for the whole retry window; fix the endpoint and enable it again.'
                    ELSE disabled_reason END,
                updated_at = now()
          WHERE id IN (SELECT endpoint_id FROM d)",
    )
    .bind::<SqlUuid, _>(due.id)
    .bind::<Nullable<Int4>, _>(status)
    .bind::<Text, _>(error)
    .bind::<Nullable<Timestamptz>, _>(retry_at)
    .cached()
    .execute(conn)
    .await
    .map(|_| ())
}

/// One row of an endpoint's delivery log.
#[derive(Debug, Clone, QueryableByName)]
pub struct LogRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub status: DeliveryStatus,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    pub last_status: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// An endpoint's deliveries, newest event first; `before` is the last delivery of the
/// previous page.
pub async fn log(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<LogRow>> {
    diesel::sql_query(
        "SELECT d.id, d.event_id, ev.event_type, d.status, d.attempts, d.last_status,
                d.last_error, d.next_attempt_at, d.delivered_at, d.created_at
           FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
          WHERE d.endpoint_id = $1
            AND ($2::uuid IS NULL OR ev.seq < (SELECT ev2.seq FROM webhook_deliveries d2
                                                 JOIN webhook_events ev2 ON ev2.id = d2.event_id
                                                WHERE d2.id = $2))
          ORDER BY ev.seq DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(endpoint_id)
    .bind::<Nullable<SqlUuid>, _>(before)
    .bind::<Int8, _>(limit)
    .load(conn)
    .await
}

/// Erasure: events about the client, with their deliveries.
pub async fn forget_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM webhook_events WHERE client_id = $1")
        .bind::<SqlUuid, _>(client_id)
        .execute(conn)
        .await
}

/// Drops events (with their deliveries) older than 30 days that have nothing left to send: the
/// delivery log keeps a month.
pub async fn purge_old(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM webhook_events e
          WHERE e.created_at < now() - interval '30 days'
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                             WHERE d.event_id = e.id AND d.status = 'pending')",
    )
    .execute(conn)
    .await
}
