//! The engine at work: after every new session, symptom report or readiness result, in the
//! same transaction, load what the engine needs, ask it, store its recommendation on the plan
//! and apply what applies itself. Red decisions always apply at once (the plan pauses, or a
//! jogging plan goes back to lunges); green and amber ones only where the organization has
//! `auto_progress` on.

use chrono::{Duration, NaiveDate};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::audit::{self, Actor};
use super::clients::Client;
use super::plans::{self, NewTransition, Plan};
use super::reports::SymptomReport;
use super::{organizations, programs, reports, sessions};
use crate::domain::client::{days_postpartum, ClientFacts};
use crate::domain::engine::{
    self, Decision, EngineInput, ReadinessFact, Recommendation, ReportFact, SessionFact, TestSide,
};
use crate::domain::plan::{previous_step, PlanState, PlanStatus, Step, TransitionAction};
use crate::domain::program::{ReadinessTestKey, Stage, StageKey};
use crate::domain::triage::{self, advisories, EarlierReport, Symptoms, Timing, TriageLevel};
use uuid::Uuid;

fn running_minutes(stages: &[Stage], level: Option<i32>) -> f32 {
    stages
        .iter()
        .find(|s| s.key == StageKey::Jogging)
        .and_then(|s| s.levels.get(level.unwrap_or(1).max(1) as usize - 1))
        .map(|l| l.running_seconds() as f32 / 60.0)
        .unwrap_or(0.0)
}

fn test_key(s: &str) -> Option<ReadinessTestKey> {
    serde_json::from_value(serde_json::Value::String(s.into())).ok()
}

/// Runs the engine on the client's live plan, applies what applies itself, and returns its
/// recommendation (also stored on the plan).
pub async fn run_engine(
    conn: &mut AsyncPgConnection,
    client: &Client,
    plan: Plan,
    today: NaiveDate,
) -> QueryResult<Recommendation> {
    let stages = programs::pinned_stages(
        conn,
        client.organization_id,
        plan.program_id,
        plan.program_version,
    )
    .await?;
    let state = plan.state();
    let week_start = today - Duration::days(6);
    let fortnight_start = today - Duration::days(13);
    // The engine's eight reads are independent: they travel together, in one round trip
    // (diesel-async pipelines futures polled together on a shared connection).
    let shared: &AsyncPgConnection = conn;
    let mut c = [shared; 8];
    let [c0, c1, c2, c3, c4, c5, c6, c7] = &mut c;
    let (organization, sessions, last_resolution, reports, readiness, open_flags, runs, pains) = tokio::try_join!(
        organizations::find(c0, client.organization_id),
        sessions::for_plan_step(c1, plan.id, plan.step_started_at, &plan.stage, plan.level),
        reports::last_resolution(c2, client.id),
        reports::for_plan_since(c3, plan.id, plan.step_started_at),
        sessions::readiness_for_plan(c4, plan.id),
        reports::open_levels(c5, client.id),
        sessions::runs_since(c6, client.id, fortnight_start),
        reports::pain_since(c7, client.id, fortnight_start),
    )?;
    let sessions_at_step: Vec<SessionFact> = sessions
        .into_iter()
        .map(|s| SessionFact {
            performed_on: s.performed_on,
            completed: s.completed,
            running_minutes: if s.stage == "jogging" {
                running_minutes(&stages, s.level)
            } else {
                0.0
            },
        })
        .collect();
    // Reports count from the step's start, or from the coach's last resolution of a flag,
    // whichever is later: what she reviewed no longer holds the plan.
    let since = last_resolution.map_or(plan.step_started_at, |resolved| {
        resolved.max(plan.step_started_at)
    });
    let reports_at_step: Vec<ReportFact> = reports
        .into_iter()
        .filter(|r| r.created_at >= since)
        .filter(|r| r.stage.as_deref() == Some(plan.stage.as_str()) && r.level == plan.level)
        .map(|r| ReportFact {
            date: r.reported_on,
            timing: Timing::parse(&r.timing).unwrap_or(Timing::DailyLife),
            level: r.triage_level(),
            max_pain: r.max_pain.clamp(0, 10) as u8,
            pelvic_symptom: r.pelvic_symptom,
        })
        .collect();
    let readiness: Vec<ReadinessFact> = readiness
        .into_iter()
        .filter_map(|r| {
            Some(ReadinessFact {
                test: test_key(&r.test)?,
                side: match r.side.as_str() {
                    "left" => TestSide::Left,
                    "right" => TestSide::Right,
                    _ => TestSide::Both,
                },
                passed: r.passed,
            })
        })
        .collect();
    let (mut this_week, mut last_week) = (0.0, 0.0);
    for (day, level) in runs {
        let minutes = running_minutes(&stages, level);
        if day >= week_start {
            this_week += minutes
        } else {
            last_week += minutes
        }
    }
    let (mut pain_this, mut pain_last) = (0u8, 0u8);
    for (day, pain) in pains {
        let pain = pain.clamp(0, 10) as u8;
        if day >= week_start {
            pain_this = pain_this.max(pain)
        } else {
            pain_last = pain_last.max(pain)
        }
    }
    let recommendation = engine::recommend(&EngineInput {
        today,
        client: ClientFacts {
            days_postpartum: days_postpartum(client.delivery_date, today),
            cleared_for_exercise: client.cleared_for_exercise,
        },
        plan: state,
        stages: &stages,
        sessions: &sessions_at_step,
        reports: &reports_at_step,
        readiness: &readiness,
        open_flags: &open_flags,
        running_minutes_this_week: this_week,
        running_minutes_last_week: last_week,
        max_pain_this_week: pain_this,
        max_pain_last_week: pain_last,
    });

    let target = Step {
        stage: recommendation.target_stage,
        level: recommendation.target_level,
    };
    let applied: Option<(TransitionAction, PlanState)> = match recommendation.decision {
        // Red decisions apply themselves at once.
        Decision::Stop if state.status == PlanStatus::Active => Some((
            TransitionAction::Pause,
            PlanState {
                status: PlanStatus::Paused,
                ..state
            },
        )),
        Decision::Refer if target != state.step => Some((
            TransitionAction::Set,
            PlanState {
                step: target,
                ..state
            },
        )),
        // Green and amber ones only where the organization lets the engine move plans.
        Decision::Advance if organization.auto_progress && recommendation.completes_plan => Some((
            TransitionAction::Complete,
            PlanState {
                status: PlanStatus::Completed,
                ..state
            },
        )),
        Decision::Advance if organization.auto_progress => Some((
            TransitionAction::Advance,
            PlanState {
                step: target,
                ..state
            },
        )),
        Decision::Regress
            if organization.auto_progress && previous_step(&stages, state.step) == Some(target) =>
        {
            Some((
                TransitionAction::Regress,
                PlanState {
                    step: target,
                    ..state
                },
            ))
        }
        _ => None,
    };
    let recommendation_json =
        serde_json::to_value(&recommendation).expect("recommendation serializes");
    let mut plan = plan;
    if let Some((action, to)) = applied.filter(|(_, to)| *to != state) {
        let rule_ids: Vec<String> = recommendation
            .reasons
            .iter()
            .map(|r| r.rule.clone())
            .filter(|r| r.starts_with('R'))
            .collect();
        let reason = recommendation
            .reasons
            .first()
            .map(|r| r.message.clone())
            .unwrap_or_default();
        plans::record_transition(
            conn,
            NewTransition {
                plan: &plan,
                action,
                to,
                actor: Actor::Engine,
                reason: &reason,
                rule_ids: &rule_ids,
                override_gate: false,
            },
        )
        .await?;
        audit::record(conn, client.organization_id, Actor::Engine, "plan.transition", "plan", plan.id, serde_json::json!({
            "action": action.as_str(),
            "from": {"stage": plan.stage, "level": plan.level, "status": plan.status},
            "to": {"stage": to.step.stage.as_str(), "level": to.step.level, "status": to.status.as_str()},
            "rule_ids": rule_ids,
        }))
        .await?;
        plan = plans::save_state(conn, &plan, to).await?;
    }
    plans::set_recommendation(conn, plan.id, &recommendation_json).await?;
    audit::record(conn, client.organization_id, Actor::Engine, "plan.recommend", "plan", plan.id,
        serde_json::json!({"decision": recommendation.decision.as_str(), "target_stage": recommendation.target_stage.as_str(), "target_level": recommendation.target_level}))
        .await?;
    Ok(recommendation)
}

/// A report to record, already validated.
pub struct NewReport<'a> {
    pub id: Uuid,
    pub timing: Timing,
    pub symptoms: &'a Symptoms,
    /// What she sent, as stored and shown back.
    pub symptoms_json: serde_json::Value,
    pub reported_on: NaiveDate,
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<Uuid>,
}

/// Records a symptom report in one go: triage against her earlier reports at the same step,
/// the flag it opens or joins, the engine on her live plan, and the audit trail.
pub async fn record_report(
    conn: &mut AsyncPgConnection,
    client: &Client,
    actor: Actor,
    new: NewReport<'_>,
    today: NaiveDate,
) -> QueryResult<(SymptomReport, Option<Recommendation>)> {
    let plan = plans::current_for_client(conn, client.id, true)
        .await?
        .filter(|p| p.is_live());
    let earlier: Vec<EarlierReport> = match &plan {
        Some(p) => reports::earlier_pelvic_at_step(conn, p.id, &p.stage, p.level)
            .await?
            .into_iter()
            .map(|had_pelvic_symptom| EarlierReport { had_pelvic_symptom })
            .collect(),
        None => vec![],
    };
    let triage = triage::triage(new.timing, new.symptoms, &earlier);
    let report = reports::insert(
        conn,
        &SymptomReport {
            id: new.id,
            organization_id: client.organization_id,
            client_id: client.id,
            plan_id: plan.as_ref().map(|p| p.id),
            session_id: new.session_id,
            stage: plan.as_ref().map(|p| p.stage.clone()),
            level: plan.as_ref().and_then(|p| p.level),
            timing: new.timing.as_str().into(),
            reported_on: new.reported_on,
            symptoms: new.symptoms_json,
            triage_level: triage.level.as_str().into(),
            findings: json(&triage.findings),
            advisories: json(&advisories(new.symptoms)),
            max_pain: i16::from(new.symptoms.max_pain()),
            pelvic_symptom: new.symptoms.has_pelvic_symptom(),
            urine_leak: new
                .symptoms
                .urine_leak
                .and_then(|l| json(&l).as_str().map(String::from)),
            notes: new.notes,
            recommendation: None,
            flag_id: None,
            request_digest: new.request_digest,
            recorded_by: new.recorded_by,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        },
    )
    .await?;
    audit::record(conn, client.organization_id, actor, "symptom_report.create", "symptom_report", report.id,
        serde_json::json!({"client_id": client.id, "timing": report.timing, "triage": report.triage_level})).await?;
    let flag_id = if triage.level == TriageLevel::Green {
        None
    } else {
        let (flag, opened) = reports::raise_flag(
            conn,
            client.organization_id,
            client.id,
            triage.level,
            report.id,
        )
        .await?;
        audit::record(conn, client.organization_id, actor, if opened { "flag.open" } else { "flag.add_report" }, "flag", flag.id,
            serde_json::json!({"client_id": client.id, "level": flag.level, "report_id": report.id, "report_count": flag.report_count})).await?;
        Some(flag.id)
    };
    let recommendation = match plan {
        Some(plan) => Some(run_engine(conn, client, plan, today).await?),
        None => None,
    };
    let recommendation_json = recommendation.as_ref().map(json);
    let report =
        reports::set_outcome(conn, report.id, flag_id, recommendation_json.as_ref()).await?;
    super::clients::touch(conn, client.id).await?;
    Ok((report, recommendation))
}

/// The domain's plain values as JSON (they always serialize).
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("domain values serialize")
}
