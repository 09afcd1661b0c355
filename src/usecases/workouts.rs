//! What she did: logging a session (a workout) and recording a readiness-test result.

use crate::domain::trace::RunCauseKind;
use chrono::{NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{changed, check_day, ChosenId, FirstWrite};
use crate::db::audit::Entry;
use crate::db::clients;
use crate::db::engine_runs::Cause;
use crate::db::plans::{self, Plan};
use crate::db::programs;
use crate::db::workouts::{self, NewSessionLog, ReadinessResult, SessionLog};
use crate::domain::identity::{Principal, Role};
use crate::domain::ids::ClientId;
use crate::domain::program::{ReadinessTestKey, StageKey};
use crate::domain::readiness::TestSide;
use crate::error::{ApiError, ApiResult};

/// A session as she logs it.
pub struct Session {
    pub id: ChosenId,
    pub performed_on: NaiveDate,
    /// Her plan's stage when not given; required without a live plan.
    pub stage: Option<StageKey>,
    pub level: Option<u32>,
    pub completed: bool,
    pub duration_minutes: Option<u32>,
    pub rpe: Option<u8>,
    pub notes: Option<String>,
}

/// The stage and level a session was at: as given, or her plan's.
fn step_of(plan: Option<&Plan>, session: &Session) -> ApiResult<(StageKey, Option<u32>)> {
    let (stage, level) = match (plan, session.stage) {
        (_, Some(stage)) => (stage, session.level),
        (Some(p), None) => {
            let s = p.state().step;
            (s.stage, session.level.or(s.level))
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "stage",
                "is required when she has no active plan",
            ))
        }
    };
    if stage != StageKey::Jogging && level.is_some() {
        return Err(ApiError::invalid(
            "level",
            "only jogging sessions have a level",
        ));
    }
    if level.is_some_and(|l| l == 0 || l > 100) {
        return Err(ApiError::invalid("level", "must be a level of the ladder"));
    }
    Ok((stage, level))
}

/// Logs a session for her; `false` with the first record when this is a retry of it. A
/// session at her plan's stage and level reruns the engine.
pub async fn log_session(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    session: Session,
) -> ApiResult<(SessionLog, bool)> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        if let Some(existing) = session.id.id {
            if let Some((first, owner)) =
                workouts::find_session(conn, principal.organization_id, existing).await?
            {
                let written = FirstWrite {
                    entity: "session",
                    id: first.id,
                    client_id: owner,
                    fingerprint: &first.request_digest,
                    recorded_by: first.recorded_by,
                };
                session
                    .id
                    .replay(conn, principal, written, client.id)
                    .await?;
                return Ok((first, false));
            }
        }
        check_day(&client, session.performed_on, "performed_on")?;
        let plan = plans::current_for_client(conn, client.id, false)
            .await?
            .filter(|p| p.is_live());
        let (stage, level) = step_of(plan.as_ref(), &session)?;
        let new = NewSessionLog {
            id: session.id.new_id(),
            organization_id: principal.organization_id,
            client_id: client.id,
            plan_id: plan.as_ref().map(|p| p.id),
            performed_on: session.performed_on,
            stage,
            level: level.map(|l| l as i32),
            completed: session.completed,
            duration_minutes: session.duration_minutes.map(|m| m as i32),
            rpe: session.rpe.map(i16::from),
            notes: session.notes.filter(|n| !n.trim().is_empty()),
            request_digest: session.id.fingerprint.clone(),
            recorded_by: Some(principal.user_id),
        };
        let Some(log) = workouts::insert_session(conn, &new).await? else {
            // The id is taken: by a retry running at the same time (retry to get its answer),
            // or by a record elsewhere.
            return Err(
                match workouts::find_session(conn, principal.organization_id, new.id).await? {
                    Some(_) => ApiError::Conflict(
                        "This session is being logged by another request; retry.".into(),
                    ),
                    None => ApiError::IdInUse,
                },
            );
        };
        let at_step = plan.is_some_and(|p| p.stage == log.stage && p.level == log.level);
        let event = Entry::new(
            principal.actor(),
            "session.log",
            "session",
            log.id,
            // How hard it felt and how long it took stay on the session, not in the trail.
            serde_json::json!({"client_id": client.id, "performed_on": log.performed_on,
                "stage": log.stage, "level": log.level, "completed": log.completed,
                "duration_minutes": null, "rpe": null}),
        );
        let cause = at_step.then(|| Cause::new(RunCauseKind::Session, log.id));
        changed(conn, &client, event, cause).await?;
        Ok((log, true))
    })
    .await
}

/// A readiness-test result as she (or her coach) records it.
pub struct Readiness {
    pub test: ReadinessTestKey,
    pub reached: u32,
    /// `left`, `right` or `both`.
    pub side: TestSide,
    pub symptom_free: bool,
    pub performed_on: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Records a readiness-test result against her live plan's program; the engine reruns.
pub async fn record_readiness(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    result: Readiness,
) -> ApiResult<ReadinessResult> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        let plan = plans::current_for_client(conn, client.id, false)
            .await?
            .filter(|p| p.is_live())
            .ok_or_else(|| ApiError::invalid("test", "she has no active plan to test against"))?;
        let stages = programs::stages_of(conn, &plan).await?;
        let (stage, spec) = stages
            .iter()
            .find_map(|s| {
                s.readiness_tests
                    .iter()
                    .find(|t| t.key == result.test)
                    .map(|t| (s.key, t.clone()))
            })
            .ok_or_else(|| ApiError::invalid("test", "is not a readiness test of her program"))?;
        if spec.per_side && result.side == TestSide::Both {
            return Err(ApiError::invalid(
                "side",
                "this test is recorded for the left and the right side",
            ));
        }
        let performed_on = result.performed_on.unwrap_or(client.today());
        check_day(&client, performed_on, "performed_on")?;
        let stored = workouts::insert_readiness(
            conn,
            &ReadinessResult {
                id: Uuid::now_v7(),
                organization_id: principal.organization_id,
                client_id: client.id,
                plan_id: Some(plan.id),
                stage,
                test: result.test,
                reached: result.reached as i32,
                side: result.side,
                symptom_free: result.symptom_free,
                passed: result.symptom_free && result.reached >= spec.target(),
                performed_on,
                notes: result.notes.filter(|n| !n.trim().is_empty()),
                recorded_by: Some(principal.user_id),
                created_at: Utc::now(),
                // Staff's own results are confirmed as they are recorded; hers wait.
                confirmed_by: (principal.role != Role::Client).then_some(principal.user_id),
                confirmed_at: (principal.role != Role::Client).then(Utc::now),
            },
        )
        .await?;
        let event = Entry::new(
            principal.actor(),
            "readiness.record",
            "readiness_result",
            stored.id,
            // The result's values stay on it, not in the trail.
            serde_json::json!({"client_id": client.id, "test": stored.test,
                "reached": null, "side": stored.side, "symptom_free": null, "passed": null,
                "confirmed": stored.confirmed_at.is_some()}),
        );
        let cause = Cause::new(RunCauseKind::ReadinessResult, stored.id);
        changed(conn, &client, event, Some(cause)).await?;
        Ok(stored)
    })
    .await
}

/// A coach or admin confirms a result she recorded herself: from then on it counts toward the
/// gate into jogging (SPEC §1.8); the engine reruns. Confirming a confirmed result changes
/// nothing and answers it as it is.
pub async fn confirm_readiness(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    id: Uuid,
) -> ApiResult<ReadinessResult> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        let result = workouts::find_readiness(conn, client.id, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        if result.confirmed_at.is_some() {
            return Ok(result);
        }
        let confirmed = workouts::confirm_readiness(conn, result.id, principal.user_id).await?;
        let event = Entry::new(
            principal.actor(),
            "readiness.confirm",
            "readiness_result",
            confirmed.id,
            serde_json::json!({"client_id": client.id, "test": confirmed.test}),
        );
        let cause = Cause::new(RunCauseKind::ReadinessResult, confirmed.id);
        changed(conn, &client, event, Some(cause)).await?;
        Ok(confirmed)
    })
    .await
}
