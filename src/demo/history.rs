//! Her weeks so far: plan moves, sessions, reports, readiness results and check-ins, as the
//! service would have recorded them.

use super::{DemoClient, Practice};
use crate::db::audit::{self, Actor};
use crate::db::check_ins::{self, CheckIn};
use crate::db::clients::Client;
use crate::db::plans::{self, NewPlan, NewTransition, Plan};
use crate::db::workouts::{self, NewSessionLog, ReadinessResult};
use crate::domain::assessment::AssessmentKind;
use crate::domain::ids::UserId;
use crate::domain::plan::{next_step, PlanState, PlanStatus, Step, TransitionAction};
use crate::domain::program::StageKey;
use crate::domain::triage::{LeakTrigger, Pain, PainLocation, Symptoms, Timing, UrineLeak};
use chrono::{Duration, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::assessments::{self, AssessmentRow};

/// Her plan from crawling up to her step, one recorded advance at a time (and completed, for a
/// mother who finished).
pub(super) async fn walk_plan(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    spec: &DemoClient,
    coach_id: UserId,
    started_on: NaiveDate,
) -> anyhow::Result<Plan> {
    let program = practice.program;
    let mut plan = plans::insert(
        conn,
        NewPlan {
            organization_id: practice.org_id,
            client_id: client.id,
            program_id: program.program.id,
            program_version: program.version,
            step: Step {
                stage: StageKey::Crawling,
                level: None,
            },
            started_on,
        },
    )
    .await?;
    // Walk the plan up to where she is, one recorded step at a time.
    let target = Step {
        stage: spec.stage,
        level: spec.level,
    };
    while plan.state().step != target {
        let Some(step) = next_step(&program.stages, plan.state().step) else {
            break;
        };
        let to = PlanState {
            step,
            status: PlanStatus::Active,
        };
        plans::record_transition(
            conn,
            NewTransition {
                plan: &plan,
                action: TransitionAction::Advance,
                to,
                actor: Actor::User(coach_id),
                reason: "Exit criteria met.",
                rule_ids: &[],
                override_gate: false,
            },
        )
        .await?;
        plan = plans::save_state(conn, &plan, to).await?;
    }
    if spec.status != PlanStatus::Active {
        let to = PlanState {
            step: target,
            status: spec.status,
        };
        plans::record_transition(
            conn,
            NewTransition {
                plan: &plan,
                action: TransitionAction::Complete,
                to,
                actor: Actor::User(coach_id),
                reason: "30 minutes continuous, twice, symptom-free.",
                rule_ids: &[],
                override_gate: false,
            },
        )
        .await?;
        plan = plans::save_state(conn, &plan, to).await?;
    }
    Ok(plan)
}

/// Three sessions a week for four weeks (never before the plan started), when she is cleared.
pub(super) async fn log_sessions(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    plan: &Plan,
    spec: &DemoClient,
    coach_id: UserId,
    started_on: NaiveDate,
) -> anyhow::Result<()> {
    let today = practice.today;
    for week in 0..4 {
        for day in [1, 3, 5] {
            let performed_on = today - Duration::days(27 - week * 7 - day);
            if performed_on < started_on || performed_on > today || !spec.cleared {
                continue;
            }
            let log = NewSessionLog {
                id: Uuid::now_v7(),
                organization_id: practice.org_id,
                client_id: client.id,
                plan_id: Some(plan.id),
                performed_on,
                stage: spec.stage,
                level: spec.level.map(|l| l as i32),
                completed: (week + day) % 7 != 0,
                duration_minutes: Some(20 + (day as i32) * 3),
                rpe: Some((3 + day % 4) as i16),
                notes: None,
                request_digest: crate::fingerprint::of(&format!(
                    "demo {} {performed_on}",
                    client.id
                )),
                recorded_by: Some(coach_id),
            };
            workouts::insert_session(conn, &log).await?;
        }
    }
    Ok(())
}

/// After each run of the last week, the next morning's report; a few tell a story.
pub(super) async fn next_morning_reports(
    conn: &mut AsyncPgConnection,
    client: &Client,
    spec: &DemoClient,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let runs = workouts::runs_since(conn, client.id, today - Duration::days(8)).await?;
    for (i, (ran_on, _)) in runs.iter().enumerate() {
        let next_morning = *ran_on + Duration::days(1);
        if next_morning > today {
            continue;
        }
        let last = i + 1 == runs.len();
        let symptoms = match spec.name {
            "Kavya Rao" if last => Symptoms {
                urine_leak: Some(UrineLeak::Small),
                leak_trigger: Some(LeakTrigger::CoughSneeze),
                ..Default::default()
            },
            "Imani Cole" if last => Symptoms {
                pain: vec![Pain {
                    location: PainLocation::Knee,
                    nrs: 3,
                }],
                pain_settled_by_next_morning: Some(true),
                ..Default::default()
            },
            _ => Symptoms {
                sleep_hours: Some(6.5),
                fatigue: Some(4),
                ..Default::default()
            },
        };
        let morning = DemoReport {
            timing: Timing::NextDay,
            symptoms: &symptoms,
            reported_on: next_morning,
            notes: None,
            tag: "report",
        };
        report(conn, client, today, morning).await?;
    }
    Ok(())
}

/// A report of hers to record; `tag` tells its fingerprint from her other reports'.
pub(super) struct DemoReport<'a> {
    pub(super) timing: Timing,
    pub(super) symptoms: &'a Symptoms,
    pub(super) reported_on: NaiveDate,
    pub(super) notes: Option<&'a str>,
    pub(super) tag: &'a str,
}

/// A report of hers, recorded as the service records one (triage, the engine, the audit).
pub(super) async fn report(
    conn: &mut AsyncPgConnection,
    client: &Client,
    today: NaiveDate,
    demo: DemoReport<'_>,
) -> anyhow::Result<()> {
    let DemoReport {
        timing,
        symptoms,
        reported_on,
        notes,
        tag,
    } = demo;
    let context = crate::usecases::engine::load(
        conn,
        client.organization_id,
        client.id,
        crate::domain::engine::fortnight_start(today),
    )
    .await?;
    let facts = crate::db::reports::triage_facts(conn, client.organization_id, client.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo client {} is gone", client.id))?;
    crate::usecases::reports::record(
        conn,
        client,
        Actor::System,
        crate::usecases::reports::NewReport {
            id: Uuid::now_v7(),
            timing,
            symptoms,
            symptoms_json: serde_json::to_value(symptoms)?,
            reported_on,
            session_id: None,
            notes: notes.map(String::from),
            request_digest: crate::fingerprint::of(&format!(
                "demo {tag} {} {reported_on}",
                client.id
            )),
            recorded_by: None,
            facts,
        },
        context,
        today,
    )
    .await?;
    Ok(())
}

/// Readiness results of the tests of the stage she is at (walking hills and lunges).
pub(super) async fn record_readiness(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    plan: &Plan,
    spec: &DemoClient,
    coach_id: UserId,
) -> anyhow::Result<()> {
    let (program, today) = (practice.program, practice.today);
    use crate::domain::program::ReadinessTestKey::{
        ForwardBounds, HopInPlace, JogOnTheSpot, SingleLegBalance, Walk30Min,
    };
    use crate::domain::readiness::TestSide::{Both, Left, Right};
    let tests: &[(_, i32, _)] = match spec.stage {
        StageKey::WalkingHills => &[
            (Walk30Min, 1800, Both),
            (SingleLegBalance, 10, Left),
            (SingleLegBalance, 8, Right),
        ],
        StageKey::Lunges => &[
            (JogOnTheSpot, 60, Both),
            (ForwardBounds, 10, Both),
            (HopInPlace, 10, Left),
            (HopInPlace, 10, Right),
        ],
        _ => &[],
    };
    for (test, reached, side) in tests {
        let stage = if spec.stage == StageKey::WalkingHills {
            StageKey::WalkingHills
        } else {
            StageKey::Lunges
        };
        let target = program
            .stages
            .iter()
            .flat_map(|s| &s.readiness_tests)
            .find(|t| t.key == *test)
            .map(|t| t.target())
            .unwrap_or(0);
        workouts::insert_readiness(
            conn,
            &ReadinessResult {
                id: Uuid::now_v7(),
                organization_id: practice.org_id,
                client_id: client.id,
                plan_id: Some(plan.id),
                stage,
                test: *test,
                reached: *reached,
                side: *side,
                symptom_free: true,
                passed: *reached as u32 >= target,
                performed_on: today - Duration::days(2),
                notes: None,
                recorded_by: Some(coach_id),
                created_at: Utc::now(),
                confirmed_by: Some(coach_id),
                confirmed_at: Some(Utc::now()),
            },
        )
        .await?;
    }
    Ok(())
}

/// Grace's last four nights: short sleep and tired days, which R11 holds her for.
pub(super) async fn short_nights(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
) -> anyhow::Result<()> {
    let today = practice.today;
    for (back, sleep_hours, fatigue) in [(3, 5.0, 7), (2, 4.5, 8), (1, 5.5, 8), (0, 6.0, 6)] {
        let now = Utc::now();
        check_ins::insert(
            conn,
            &CheckIn {
                id: Uuid::now_v7(),
                organization_id: practice.org_id,
                client_id: client.id,
                checked_on: today - Duration::days(back),
                sleep_hours,
                fatigue,
                breastfeeding: Some(crate::domain::client::Breastfeeding::Exclusive),
                periods_returned: Some(false),
                running_worry: Some(3),
                mood_little_interest: Some(0),
                mood_feeling_down: Some(1),
                advisories: crate::db::columns::Stored(Vec::new()),
                request_digest: crate::fingerprint::of(&format!(
                    "demo check-in {} {back}",
                    client.id
                )),
                recorded_by: None,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
    }
    Ok(())
}

/// An assessment of hers by a clinician, recorded by her coach a week ago: a pelvic-health
/// assessment that clears impact lifts a tear's hold on lunges and jogging.
pub(super) async fn assessment(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    kind: AssessmentKind,
    impact_cleared: bool,
    coach_id: UserId,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let assessed_on = practice.today - Duration::days(7);
    let (clinician, oxford) = match kind {
        AssessmentKind::PostnatalCheck => ("Dr Aisha Bello, GP", None),
        AssessmentKind::PelvicHealth => ("Sam Reid, pelvic-health physiotherapist", Some(4)),
    };
    let stored = assessments::insert(
        conn,
        &AssessmentRow {
            id: Uuid::now_v7(),
            organization_id: practice.org_id,
            client_id: client.id,
            kind,
            assessed_on,
            clinician: clinician.into(),
            modified_oxford: oxford,
            inter_recti_distance_mm: Some(22),
            prolapse_symptoms: Some(false),
            scar_healed: None,
            perineum_healed: Some(impact_cleared),
            impact_cleared,
            notes: None,
            recorded_by: Some(coach_id),
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    if crate::domain::assessment::clears_impact(kind, impact_cleared) {
        assessments::note_impact_cleared(conn, client.id, assessed_on).await?;
    }
    audit::record(
        conn,
        practice.org_id,
        Actor::System,
        "assessment.record",
        "assessment",
        stored.id,
        serde_json::json!({"client_id": client.id, "kind": kind.as_str(),
            "impact_cleared": impact_cleared}),
    )
    .await?;
    Ok(())
}
