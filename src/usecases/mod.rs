//! One function per use case that changes a client's record: the whole unit of work, in one
//! transaction, from locking her row to the audit trail. A handler parses the request, calls
//! one of these, and answers; these load and store through `db` and ask `domain` to decide.
//!
//! Every change to her record ends the same way ([`changed`]): the audit trail records who
//! changed what, her `updated_at` moves (the dashboards' `updated_since` and the change feed see
//! her), and the engine reruns on her live plan. A write whose body names its own `id` is
//! retried safely through [`ChosenId`].

pub mod assessments;
pub mod check_ins;
pub mod clients;
pub mod engine;
pub mod plans;
pub mod reports;
pub mod workouts;

use chrono::{Duration, NaiveDate};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::db::audit;
use crate::db::clients::Client;
use crate::db::engine_runs::Cause;
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::ids::{ClientId, UserId};
use crate::error::{ApiError, ApiResult};

/// What ends every change to her record, in this order: the change's audit entry, her
/// `updated_at`, then the engine on her live plan when the change is one it weighs (its own
/// moves are audited after the change that caused them). Her plan's new recommendation, when
/// the engine ran and she has a live plan.
pub async fn changed(
    conn: &mut AsyncPgConnection,
    client: &Client,
    event: audit::Entry<'_>,
    cause: Option<Cause>,
) -> QueryResult<Option<Recommendation>> {
    event.record(conn, client.organization_id).await?;
    crate::db::clients::touch(conn, client.id).await?;
    match cause {
        Some(cause) => engine::run(conn, client, client.today(), cause).await,
        None => Ok(None),
    }
}

/// A day she may record something about: from her birth to tomorrow where she lives (an app
/// a time zone ahead may already be on it).
pub fn check_day(client: &Client, day: NaiveDate, field: &'static str) -> ApiResult<()> {
    let today = client.today();
    if day > today + Duration::days(1) || day < client.delivery_date {
        return Err(ApiError::invalid(
            field,
            "must be between the delivery date and today",
        ));
    }
    Ok(())
}

/// A write whose body names its own `id`: reports, sessions and check-ins, which an app makes
/// offline and sends until it gets an answer. The body's fingerprint is kept with the record,
/// and so is who wrote it. A retry with the same id, by the same principal, about the same
/// client and with the same body, gets the first record back, writes nothing but an audit
/// entry (`<entity>.replay`), and is answered as the first time; the same id on anything else,
/// whoever sends it, is the same 409 as any taken id (`ApiError::IdInUse`). So a retry reveals
/// nothing that its sender did not write: nobody but the writer can test a guess of what a
/// stored record holds (a mood answer hidden from her admin, say) by replaying its id. The other
/// way to retry, `Idempotency-Key`, is `api::idempotency`; both compare what was sent by its
/// fingerprint.
#[derive(Debug, Clone)]
pub struct ChosenId {
    /// The id the body names, if any.
    pub id: Option<Uuid>,
    /// The fingerprint of the whole body as sent.
    pub fingerprint: Vec<u8>,
}

/// A stored record a body's `id` names, as a retry is matched against it.
#[derive(Debug, Clone, Copy)]
pub struct FirstWrite<'a> {
    /// The record's kind in the audit trail (`symptom_report`, `session`, `check_in`).
    pub entity: &'static str,
    pub id: Uuid,
    pub client_id: ClientId,
    pub fingerprint: &'a [u8],
    /// Who wrote it (a service token writes as the admin who made it).
    pub recorded_by: Option<UserId>,
}

impl ChosenId {
    pub fn of(id: Option<Uuid>, body: &impl Serialize) -> ApiResult<Self> {
        let text = serde_json::to_string(body).map_err(anyhow::Error::from)?;
        Ok(Self {
            id,
            fingerprint: crate::fingerprint::of(&text),
        })
    }

    /// The id of the new record: the one the body names, or a new one.
    pub fn new_id(&self) -> Uuid {
        self.id.unwrap_or_else(Uuid::now_v7)
    }

    /// Whether `first` is the record this request retries: written by `writer`, about
    /// `client`, with the same body. 409 otherwise, whatever differs.
    pub fn check_retry(
        &self,
        first: &FirstWrite<'_>,
        writer: UserId,
        client: ClientId,
    ) -> ApiResult<()> {
        if first.recorded_by == Some(writer)
            && first.client_id == client
            && first.fingerprint == self.fingerprint.as_slice()
        {
            Ok(())
        } else {
            Err(ApiError::IdInUse)
        }
    }

    /// [`check_retry`](Self::check_retry) for `principal`, and the replay's audit entry when it
    /// is one.
    pub async fn replay(
        &self,
        conn: &mut AsyncPgConnection,
        principal: &Principal,
        first: FirstWrite<'_>,
        client: ClientId,
    ) -> ApiResult<()> {
        self.check_retry(&first, principal.user_id, client)?;
        audit::record(
            conn,
            principal.organization_id,
            principal.actor(),
            &format!("{}.replay", first.entity),
            first.entity,
            first.id,
            serde_json::json!({"client_id": client}),
        )
        .await?;
        Ok(())
    }
}

/// The ETag of a record at a revision.
pub fn etag(revision: i32) -> String {
    format!("\"{revision}\"")
}

/// Honors `If-Match`: when present it must name the current revision (or be `*`), else 412.
pub fn check_if_match(if_match: Option<&str>, revision: i32) -> Result<(), ApiError> {
    let Some(value) = if_match else {
        return Ok(());
    };
    let current = etag(revision);
    let matches = value.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag == current || tag.strip_prefix("W/") == Some(current.as_str())
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "The record changed since you read it (now {current}); read it again and retry."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_is_the_same_writer_the_same_client_and_the_same_body() {
        let (her, writer) = (ClientId::generate(), UserId::generate());
        let chosen = ChosenId::of(Some(Uuid::now_v7()), &serde_json::json!({"a": 1})).unwrap();
        let first = FirstWrite {
            entity: "check_in",
            id: chosen.id.unwrap(),
            client_id: her,
            fingerprint: &chosen.fingerprint,
            recorded_by: Some(writer),
        };
        let same = ChosenId::of(chosen.id, &serde_json::json!({"a": 1})).unwrap();
        assert!(same.check_retry(&first, writer, her).is_ok());
        let other = ChosenId::of(chosen.id, &serde_json::json!({"a": 2})).unwrap();
        let refused = |r: ApiResult<()>| matches!(r, Err(ApiError::IdInUse));
        assert!(refused(other.check_retry(&first, writer, her)));
        assert!(refused(same.check_retry(
            &first,
            writer,
            ClientId::generate()
        )));
        // Anyone else sending the very same body gets the same 409 as a wrong guess.
        assert!(refused(same.check_retry(&first, UserId::generate(), her)));
        let unknown_writer = FirstWrite {
            recorded_by: None,
            ..first
        };
        assert!(refused(same.check_retry(&unknown_writer, writer, her)));
        assert_eq!(chosen.new_id(), chosen.id.unwrap());
        assert_ne!(ChosenId::of(None, &1).unwrap().new_id(), Uuid::nil());
    }
}
