//! Workouts: the training sessions she logs and readiness-test results. The API and the rows
//! call a workout a `session` (`session_logs`, `SessionLog`); the module is named apart from
//! sign-in sessions (`auth::sessions`).

use super::CachedExt;
use crate::domain::program::{ReadinessTestKey, StageKey};
use crate::domain::readiness::TestSide;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{readiness_results, session_logs};
use crate::domain::ids::{ClientId, OrganizationId, PlanId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = session_logs)]
pub struct SessionLog {
    pub id: Uuid,
    pub client_id: ClientId,
    pub plan_id: Option<PlanId>,
    pub performed_on: NaiveDate,
    pub stage: StageKey,
    pub level: Option<i32>,
    pub completed: bool,
    pub duration_minutes: Option<i32>,
    pub rpe: Option<i16>,
    pub notes: Option<String>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = session_logs)]
pub struct NewSessionLog {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub plan_id: Option<PlanId>,
    pub performed_on: NaiveDate,
    pub stage: StageKey,
    pub level: Option<i32>,
    pub completed: bool,
    pub duration_minutes: Option<i32>,
    pub rpe: Option<i16>,
    pub notes: Option<String>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<UserId>,
}

/// Inserts the session unless one with its id exists; `None` then (the caller replays).
pub async fn insert_session(
    conn: &mut AsyncPgConnection,
    new: &NewSessionLog,
) -> QueryResult<Option<SessionLog>> {
    diesel::insert_into(session_logs::table)
        .values(new)
        .on_conflict(session_logs::id)
        .do_nothing()
        .returning(SessionLog::as_returning())
        .cached()
        .get_result(conn)
        .await
        .optional()
}

/// A session by id within the organization (for idempotent replays).
pub async fn find_session(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<Option<(SessionLog, ClientId)>> {
    session_logs::table
        .find(id)
        .filter(session_logs::organization_id.eq(organization_id))
        .select((SessionLog::as_select(), session_logs::client_id))
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, Default, Clone)]
pub struct Range {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub async fn list_sessions(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    range: &Range,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<SessionLog>> {
    let mut query = session_logs::table
        .filter(session_logs::client_id.eq(client_id))
        .select(SessionLog::as_select())
        .order((session_logs::created_at.asc(), session_logs::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(d) = range.since {
        query = query.filter(session_logs::performed_on.ge(d));
    }
    if let Some(d) = range.until {
        query = query.filter(session_logs::performed_on.le(d));
    }
    if let Some(t) = range.updated_since {
        query = query.filter(session_logs::updated_at.ge(t));
    }
    if let Some(after) = after {
        query = query.filter(arrived_after!(session_logs, after));
    }
    query.load(conn).await
}

pub async fn all_sessions(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Vec<SessionLog>> {
    list_sessions(conn, client_id, &Range::default(), None, i64::MAX).await
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = readiness_results)]
pub struct ReadinessResult {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub plan_id: Option<PlanId>,
    pub stage: StageKey,
    pub test: ReadinessTestKey,
    pub reached: i32,
    pub side: TestSide,
    pub symptom_free: bool,
    pub passed: bool,
    pub performed_on: NaiveDate,
    pub notes: Option<String>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The coach or admin who recorded or confirmed it: a test that opens jogging counts only
    /// then (SPEC §1.8).
    pub confirmed_by: Option<UserId>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// One of her readiness results, her row locked by the caller.
pub async fn find_readiness(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    id: Uuid,
) -> QueryResult<Option<ReadinessResult>> {
    readiness_results::table
        .filter(readiness_results::id.eq(id))
        .filter(readiness_results::client_id.eq(client_id))
        .select(ReadinessResult::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks a result confirmed by a coach or admin.
pub async fn confirm_readiness(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    by: UserId,
) -> QueryResult<ReadinessResult> {
    diesel::update(readiness_results::table.find(id))
        .set((
            readiness_results::confirmed_by.eq(by),
            readiness_results::confirmed_at.eq(diesel::dsl::now),
        ))
        .returning(ReadinessResult::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert_readiness(
    conn: &mut AsyncPgConnection,
    result: &ReadinessResult,
) -> QueryResult<ReadinessResult> {
    diesel::insert_into(readiness_results::table)
        .values(result)
        .returning(ReadinessResult::as_returning())
        .cached()
        .get_result(conn)
        .await
}

pub async fn list_readiness(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ReadinessResult>> {
    let mut query = readiness_results::table
        .filter(readiness_results::client_id.eq(client_id))
        .select(ReadinessResult::as_select())
        .order(readiness_results::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(readiness_results::id.gt(after));
    }
    query.load(conn).await
}

/// (date, level) of the client's completed jogging sessions on or after `since`.
pub async fn runs_since(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, Option<i32>)>> {
    session_logs::table
        .filter(session_logs::client_id.eq(client_id))
        .filter(session_logs::stage.eq("jogging"))
        .filter(session_logs::completed.eq(true))
        .filter(session_logs::performed_on.ge(since))
        .select((session_logs::performed_on, session_logs::level))
        .load(conn)
        .await
}
