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
use crate::db::progress;
use crate::domain::engine::Recommendation;
use crate::domain::ids::ClientId;
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
        Some(cause) => progress::run_engine(conn, client, client.today(), cause).await,
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
/// offline and sends until it gets an answer. The body's fingerprint is kept with the record.
/// A retry with the same id, about the same client and with the same body, gets the first
/// record back and writes nothing; the same id on anything else is a 409 (`ApiError::IdInUse`).
/// The other way to retry, `Idempotency-Key`, is `api::idempotency`; both compare what was sent
/// by its fingerprint.
#[derive(Debug, Clone)]
pub struct ChosenId {
    /// The id the body names, if any.
    pub id: Option<Uuid>,
    /// The fingerprint of the whole body as sent.
    pub fingerprint: Vec<u8>,
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

    /// Whether a record already stored under this id (about `first_client`, with
    /// `first_fingerprint`) is the one this request retries: about `client`, with the same
    /// body. 409 otherwise.
    pub fn check_retry(
        &self,
        first_client: ClientId,
        first_fingerprint: &[u8],
        client: ClientId,
    ) -> ApiResult<()> {
        if first_client == client && first_fingerprint == self.fingerprint {
            Ok(())
        } else {
            Err(ApiError::IdInUse)
        }
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
    fn a_retry_is_the_same_client_and_the_same_body() {
        let her = ClientId::generate();
        let chosen = ChosenId::of(Some(Uuid::now_v7()), &serde_json::json!({"a": 1})).unwrap();
        let same = ChosenId::of(chosen.id, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(chosen.fingerprint, same.fingerprint);
        assert!(chosen.check_retry(her, &same.fingerprint, her).is_ok());
        let other = ChosenId::of(chosen.id, &serde_json::json!({"a": 2})).unwrap();
        assert!(matches!(
            chosen.check_retry(her, &other.fingerprint, her),
            Err(ApiError::IdInUse)
        ));
        assert!(matches!(
            chosen.check_retry(ClientId::generate(), &chosen.fingerprint, her),
            Err(ApiError::IdInUse)
        ));
        assert_eq!(chosen.new_id(), chosen.id.unwrap());
        assert_ne!(ChosenId::of(None, &1).unwrap().new_id(), Uuid::nil());
    }
}
