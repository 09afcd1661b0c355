//! The engine's runs: each recommendation it made on a plan, with its rule-by-rule trace
//! (`domain::trace`) and what caused it, kept so a past decision can be explained with what
//! was known then.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{engine_runs, plan_transitions};
use crate::domain::ids::{ClientId, OrganizationId, PlanId};
use crate::domain::trace::RunCauseKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = engine_runs)]
pub struct EngineRun {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub plan_id: PlanId,
    /// Her today when the engine ran.
    pub evaluated_on: NaiveDate,
    pub cause: RunCauseKind,
    pub cause_id: Option<Uuid>,
    pub recommendation: serde_json::Value,
    pub rules: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A run to store. Its time is its transaction's (PostgreSQL's `now()`), which is also the
/// time of the transition it makes: [`at`] finds the run behind a transition by it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = engine_runs)]
pub struct NewRun {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub plan_id: PlanId,
    pub evaluated_on: NaiveDate,
    pub cause: &'static str,
    pub cause_id: Option<Uuid>,
    pub recommendation: serde_json::Value,
    pub rules: serde_json::Value,
}

/// What made the engine run: a new record of hers (with its id), or a coach's act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub kind: RunCauseKind,
    pub id: Option<Uuid>,
}

impl Cause {
    pub fn new(kind: RunCauseKind, id: impl Into<Uuid>) -> Self {
        Self {
            kind,
            id: Some(id.into()),
        }
    }
}

pub async fn record(conn: &mut AsyncPgConnection, run: &NewRun) -> QueryResult<()> {
    diesel::insert_into(engine_runs::table)
        .values(run)
        .execute(conn)
        .await
        .map(drop)
}

/// Her latest run, on any of her plans.
pub async fn latest(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Option<EngineRun>> {
    engine_runs::table
        .filter(engine_runs::client_id.eq(client_id))
        .order((engine_runs::created_at.desc(), engine_runs::id.desc()))
        .select(EngineRun::as_select())
        .first(conn)
        .await
        .optional()
}

/// One of her runs by its id; or, for the id of a transition of one of her plans, the run that
/// made it (or, for a coach's transition, what the engine said last before it).
pub async fn at(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    id: Uuid,
) -> QueryResult<Option<EngineRun>> {
    let run = engine_runs::table
        .filter(engine_runs::id.eq(id))
        .filter(engine_runs::client_id.eq(client_id))
        .select(EngineRun::as_select())
        .first(conn)
        .await
        .optional()?;
    if run.is_some() {
        return Ok(run);
    }
    let transition: Option<(Uuid, DateTime<Utc>)> = plan_transitions::table
        .filter(plan_transitions::id.eq(id))
        .filter(plan_transitions::client_id.eq(client_id))
        .select((plan_transitions::plan_id, plan_transitions::created_at))
        .first(conn)
        .await
        .optional()?;
    let Some((plan_id, at)) = transition else {
        return Ok(None);
    };
    engine_runs::table
        .filter(engine_runs::plan_id.eq(plan_id))
        .filter(engine_runs::created_at.le(at))
        .order((engine_runs::created_at.desc(), engine_runs::id.desc()))
        .select(EngineRun::as_select())
        .first(conn)
        .await
        .optional()
}

/// The run a record of hers caused (the first, if several).
pub async fn for_cause(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    cause_id: Uuid,
) -> QueryResult<Option<EngineRun>> {
    engine_runs::table
        .filter(engine_runs::client_id.eq(client_id))
        .filter(engine_runs::cause_id.eq(cause_id))
        .order((engine_runs::created_at.asc(), engine_runs::id.asc()))
        .select(EngineRun::as_select())
        .first(conn)
        .await
        .optional()
}

/// Erasure: every run about her.
pub async fn forget_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<usize> {
    diesel::delete(engine_runs::table.filter(engine_runs::client_id.eq(client_id)))
        .execute(conn)
        .await
}
