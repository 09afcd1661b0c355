//! A symptom report: triaged at once, the engine run on her plan with the report weighed, red
//! findings acting at once.

use chrono::{Duration, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{check_day, ChosenId, FirstWrite};
use crate::db::reports::{self, SymptomReport};
use crate::db::{clients, progress, workouts};
use crate::domain::engine::{self, Recommendation};
use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::domain::triage::{Symptoms, Timing};
use crate::error::{ApiError, ApiResult};

/// A report as she sends it.
pub struct Report {
    pub id: ChosenId,
    pub timing: Timing,
    pub symptoms: Symptoms,
    /// What she sent, as stored and shown back.
    pub symptoms_json: serde_json::Value,
    pub reported_on: Option<NaiveDate>,
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
}

/// Records her report (`progress::record_report` triages it, runs the engine and audits it);
/// `false` with the first report and its recommendation when this is a retry of it.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    report: Report,
) -> ApiResult<(SymptomReport, Option<Recommendation>, bool)> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Her row locked, then her live plan and what the engine weighs, in one round trip:
        // PostgreSQL runs the second statement once the first holds the lock. Her today is
        // within a day of today in UTC, so the engine's fortnight starts no earlier than the
        // fortnight of the day before today in UTC.
        let shared: &AsyncPgConnection = conn;
        let (mut first, mut second) = (shared, shared);
        let since = engine::fortnight_start(Utc::now().date_naive() - Duration::days(1));
        let mut third = shared;
        let (client, context, facts) = tokio::try_join!(
            clients::find_accessible(&mut first, principal, client_id, true),
            progress::context(&mut second, principal.organization_id, client_id, since),
            reports::triage_facts(&mut third, principal.organization_id, client_id),
        )?;
        if let Some(existing) = report.id.id {
            if let Some(first) = reports::find(conn, principal.organization_id, existing).await? {
                let written = FirstWrite {
                    entity: "symptom_report",
                    id: first.id.into(),
                    client_id: first.client_id,
                    fingerprint: &first.request_digest,
                    recorded_by: first.recorded_by,
                };
                report
                    .id
                    .replay(conn, principal, written, client.id)
                    .await?;
                let recommendation = first
                    .recommendation
                    .clone()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(anyhow::Error::from)?;
                return Ok((first, recommendation, false));
            }
        }
        if let Some(session_id) = report.session_id {
            match workouts::find_session(conn, principal.organization_id, session_id).await? {
                Some((_, owner)) if owner == client.id => {}
                _ => {
                    return Err(ApiError::invalid(
                        "session_id",
                        "is not one of her sessions",
                    ))
                }
            }
        }
        let today = client.today();
        let reported_on = report.reported_on.unwrap_or(today);
        check_day(&client, reported_on, "reported_on")?;
        let (stored, recommendation) = progress::record_report(
            conn,
            &client,
            principal.actor(),
            progress::NewReport {
                id: report.id.new_id(),
                timing: report.timing,
                symptoms: &report.symptoms,
                symptoms_json: report.symptoms_json,
                reported_on,
                session_id: report.session_id,
                notes: report.notes.filter(|n| !n.trim().is_empty()),
                request_digest: report.id.fingerprint.clone(),
                recorded_by: Some(principal.user_id),
                facts: facts.ok_or(ApiError::NotFound)?,
            },
            context,
            today,
        )
        .await?;
        Ok((stored, recommendation, true))
    })
    .await
}
