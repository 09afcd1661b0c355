//! What the engine weighs for a client's live plan, read in one statement ([`context`]): the
//! rows as they are. Which of them count, and what the engine makes of them, is
//! `usecases::engine`'s to ask `domain`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Date, Json};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::AsyncConnectionCore;
use serde::Deserialize;

use super::plans::Plan;
use super::{programs, CachedExt};
use crate::domain::engine::TestSide;
use crate::domain::ids::{ClientId, OrganizationId};
use crate::domain::program::{ReadinessTestKey, Stage};
use crate::domain::triage::{FlagLevel, Timing, TriageLevel};
use uuid::Uuid;

type SqlUuid = diesel::sql_types::Uuid;

/// Her live plan, her organization's `auto_progress`, the program's stages, and the rows the
/// engine weighs ([`Inputs`]).
pub struct Loaded {
    pub plan: Plan,
    pub auto_progress: bool,
    pub stages: Arc<Vec<Stage>>,
    pub inputs: Inputs,
}

#[derive(QueryableByName)]
struct ContextRow {
    #[diesel(embed)]
    plan: Plan,
    #[diesel(sql_type = Bool)]
    auto_progress: bool,
    #[diesel(sql_type = Json)]
    inputs: serde_json::Value,
}

/// A report as the context reads it: id, day, timing, triage level, highest pain, pelvic
/// symptom, when it was written, and the session it names.
pub type ReportInput = (
    Uuid,
    NaiveDate,
    Timing,
    TriageLevel,
    i16,
    bool,
    DateTime<Utc>,
    Option<Uuid>,
);

/// The inputs as the statement returns them, typed: a value the code does not know (a timing,
/// a level, a test) fails the read instead of turning into some other value.
#[derive(Deserialize)]
pub struct Inputs {
    pub earlier_pelvic: Vec<(NaiveDate, bool, i16)>,
    /// Her sessions of this plan at its stage and level, with when each was logged.
    pub sessions: Vec<(Uuid, NaiveDate, bool, DateTime<Utc>)>,
    /// Her reports of this plan at its stage and level, with when each was written.
    pub reports: Vec<ReportInput>,
    /// Her results of this plan: test, side, passed, confirmed by staff, when recorded.
    pub readiness: Vec<(ReadinessTestKey, TestSide, bool, bool, DateTime<Utc>)>,
    /// The last red_pelvic referral, or move out of jogging: results before it stop counting.
    pub readiness_reset: Option<DateTime<Utc>>,
    pub open_flags: Vec<FlagLevel>,
    /// When a flag of each level was last resolved.
    pub resolved: Vec<(FlagLevel, DateTime<Utc>)>,
    pub runs: Vec<(NaiveDate, Option<i32>)>,
    pub pains: Vec<(NaiveDate, i16)>,
    pub check_ins: Vec<(Uuid, NaiveDate, f32, i16)>,
}

/// The statement behind [`context`]: $1 her id, $2 her organization's, $3 the first day of the
/// engine's windows.
const CONTEXT: &str = "SELECT p.*, o.auto_progress, json_build_object(
           'earlier_pelvic', (
               SELECT COALESCE(json_agg(json_build_array(e.reported_on, e.pelvic_symptom, e.bone_pain)
                                        ORDER BY e.reported_on DESC, e.created_at DESC, e.id DESC), '[]')
                 FROM (SELECT r.reported_on, r.pelvic_symptom, r.created_at, r.id,
                              (SELECT COALESCE(max((x->>'nrs')::int), 0)
                                 FROM jsonb_array_elements(CASE jsonb_typeof(r.symptoms->'pain')
                                                           WHEN 'array' THEN r.symptoms->'pain' ELSE '[]' END) x
                                WHERE x->>'location' IN ('pubic', 'hip', 'shin_foot')) AS bone_pain
                         FROM symptom_reports r
                        WHERE r.plan_id = p.id AND r.stage = p.stage
                          AND COALESCE(r.level, 0) = COALESCE(p.level, 0)
                        ORDER BY r.reported_on DESC, r.created_at DESC, r.id DESC LIMIT 30) e),
           'sessions', (
               SELECT COALESCE(json_agg(json_build_array(s.id, s.performed_on, s.completed, s.created_at)
                                        ORDER BY s.performed_on, s.created_at, s.id), '[]')
                 FROM session_logs s
                WHERE s.plan_id = p.id
                  AND s.stage = p.stage AND s.level IS NOT DISTINCT FROM p.level),
           'reports', (
               SELECT COALESCE(json_agg(json_build_array(r.id, r.reported_on, r.timing, r.triage_level,
                                                         r.max_pain, r.pelvic_symptom, r.created_at,
                                                         r.session_id)
                                         ORDER BY r.reported_on, r.created_at, r.id), '[]')
                 FROM symptom_reports r
                WHERE r.plan_id = p.id
                  AND r.stage = p.stage AND COALESCE(r.level, 0) = COALESCE(p.level, 0)),
           'readiness', (
               SELECT COALESCE(json_agg(json_build_array(t.test, t.side, t.passed,
                                                         t.confirmed_at IS NOT NULL, t.created_at)
                                        ORDER BY t.id), '[]')
                 FROM readiness_results t WHERE t.plan_id = p.id),
           'readiness_reset', GREATEST(
               (SELECT max(f.opened_at) FROM flags f
                 WHERE f.client_id = p.client_id AND f.level = 'red_pelvic'),
               (SELECT max(x.created_at) FROM plan_transitions x
                 WHERE x.plan_id = p.id AND x.from_stage = 'jogging' AND x.to_stage <> 'jogging')),
           'open_flags', ARRAY(
               SELECT f.level FROM flags f WHERE f.client_id = p.client_id AND f.status = 'open'),
           'resolved', (
               SELECT COALESCE(json_agg(json_build_array(g.level, g.at)), '[]')
                 FROM (SELECT f.level, max(f.resolved_at) AS at FROM flags f
                        WHERE f.client_id = p.client_id AND f.resolved_at IS NOT NULL
                        GROUP BY f.level) g),
           'runs', (
               SELECT COALESCE(json_agg(json_build_array(s.performed_on, s.level)), '[]')
                 FROM session_logs s
                WHERE s.client_id = p.client_id AND s.performed_on >= $3
                  AND s.stage = 'jogging' AND s.completed),
           'pains', (
               SELECT COALESCE(json_agg(json_build_array(r.reported_on, r.max_pain)), '[]')
                 FROM symptom_reports r WHERE r.client_id = p.client_id AND r.reported_on >= $3),
           'check_ins', (
               SELECT COALESCE(json_agg(json_build_array(c.id, c.checked_on, c.sleep_hours, c.fatigue)
                                        ORDER BY c.checked_on, c.created_at, c.id), '[]')
                 FROM check_ins c WHERE c.client_id = p.client_id AND c.checked_on >= $3)
         ) AS inputs
           FROM plans p JOIN organizations o ON o.id = p.organization_id
          WHERE p.client_id = $1 AND p.organization_id = $2 AND p.status IN ('active', 'paused')";

/// The client's live plan and everything the engine and triage read about it, in one
/// statement: her sessions, reports and readiness results at the step (which of her rows at the
/// plan's stage and level count is `domain::step::StepWindow`'s to say), her open flags, and her
/// jogs, pain and check-ins since `since` (two weeks before her today, or earlier: the engine
/// keeps what falls in its windows). `None` when she has no live plan. Call it with her row locked
/// (every writer of her plan, reports and flags locks her first), so what it reads stays true
/// until the transaction ends.
pub async fn context<C: AsyncConnectionCore<Backend = Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Option<Loaded>> {
    use diesel_async::RunQueryDsl;
    let row: Option<ContextRow> = diesel::sql_query(CONTEXT)
        .bind::<SqlUuid, _>(client_id)
        .bind::<SqlUuid, _>(organization_id)
        .bind::<Date, _>(since)
        .cached()
        .get_result(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let inputs: Inputs = serde_json::from_value(row.inputs)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let stages = programs::stages_of(conn, &row.plan).await?;
    Ok(Some(Loaded {
        plan: row.plan,
        auto_progress: row.auto_progress,
        stages,
        inputs,
    }))
}
