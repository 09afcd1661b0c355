//! `runback demo`: a realistic practice for frontend teams to build against. An admin, two
//! coaches and a dozen clients spread over every stage, with four weeks of sessions, readiness
//! results and plan history, all dated relative to today. Among them: a caesarean mother waiting
//! for her scar check before lunges (Dara O'Neill), and one whose short sleep this week holds
//! her (R11, Grace Kim).

use chrono::{Duration, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::audit::{self, Actor};
use crate::db::check_ins::{self, CheckIn};
use crate::db::clients::{self, Client, ClientFields};
use crate::db::plans::{self, NewPlan, NewTransition, Plan};
use crate::db::programs::{self, ProgramVersion};
use crate::db::workouts::{self, NewSessionLog, ReadinessResult};
use crate::db::{organizations, progress, users};
use crate::domain::identity::Role;
use crate::domain::plan::{next_step, PlanState, PlanStatus, Step, TransitionAction};
use crate::domain::program::StageKey;
use crate::domain::triage::{LeakTrigger, Pain, PainLocation, Symptoms, Timing, UrineLeak};

pub const DEMO_PASSWORD: &str = "runback demo password";
pub const ADMIN_EMAIL: &str = "admin@riverside-demo.example";

/// Who the demo made, to print.
pub struct DemoLogins {
    pub created: bool,
    pub logins: Vec<(String, &'static str)>,
}

struct DemoClient {
    name: &'static str,
    days_postpartum: i64,
    delivery_type: &'static str,
    cleared: bool,
    stage: StageKey,
    level: Option<u32>,
    status: PlanStatus,
}

const fn c(
    name: &'static str,
    days_postpartum: i64,
    delivery_type: &'static str,
    stage: StageKey,
    level: Option<u32>,
) -> DemoClient {
    DemoClient {
        name,
        days_postpartum,
        delivery_type,
        cleared: true,
        stage,
        level,
        status: PlanStatus::Active,
    }
}

fn roster() -> Vec<DemoClient> {
    use StageKey::*;
    vec![
        DemoClient {
            cleared: false,
            ..c("Hana Suzuki", 18, "vaginal", Crawling, None)
        },
        c("Ana Lima", 28, "caesarean", Crawling, None),
        c("Bea Souza", 36, "vaginal", Crawling, None),
        c("Chloe Martin", 47, "assisted_vaginal", WalkingHills, None),
        // Waiting for her caesarean scar check before lunges.
        c("Dara O'Neill", 61, "caesarean", WalkingHills, None),
        c("Esi Mensah", 72, "caesarean", Lunges, None),
        c("Freya Lund", 83, "vaginal", Lunges, None),
        // Sleeping badly this week: R11 holds her at level 1.
        c("Grace Kim", 96, "vaginal", Jogging, Some(1)),
        c("Imani Cole", 110, "caesarean", Jogging, Some(3)),
        c("Jo Park", 132, "vaginal", Jogging, Some(5)),
        c("Kavya Rao", 168, "assisted_vaginal", Jogging, Some(9)),
        DemoClient {
            status: PlanStatus::Completed,
            ..c("Lena Vogel", 240, "vaginal", Jogging, Some(18))
        },
    ]
}

fn email_of(name: &str) -> String {
    let local: String = name
        .to_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '.' })
        .collect();
    format!("{}@example.org", local.replace("..", "."))
}

/// The demo practice as it is being made: its organization, program, shared password hash,
/// and the day it is made on.
struct Practice<'a> {
    org_id: Uuid,
    program: &'a ProgramVersion,
    hash: &'a str,
    today: NaiveDate,
}

/// Creates the demo practice, or reports the logins of the one that exists.
pub async fn create(conn: &mut AsyncPgConnection, today: NaiveDate) -> anyhow::Result<DemoLogins> {
    let coaches = [
        ("Maya Okafor", "maya@riverside-demo.example"),
        ("Zoe Park", "zoe@riverside-demo.example"),
    ];
    let mut logins = vec![(ADMIN_EMAIL.to_string(), "admin")];
    logins.extend(coaches.iter().map(|(_, e)| (e.to_string(), "coach")));
    logins.push((email_of("Ana Lima"), "client"));
    logins.push((email_of("Grace Kim"), "client"));
    if users::email_in_use(conn, ADMIN_EMAIL).await? {
        return Ok(DemoLogins {
            created: false,
            logins,
        });
    }
    let hash = crate::auth::password::hash(DEMO_PASSWORD.into()).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let org = organizations::insert(conn, "Riverside Physio (demo)").await?;
        let program = programs::create_default(conn, org.id).await?;
        let practice = Practice {
            org_id: org.id,
            program: &program,
            hash: &hash,
            today,
        };
        let coach_ids = add_staff(conn, &practice, &coaches).await?;
        audit::record(
            conn,
            org.id,
            Actor::System,
            "demo.create",
            "organization",
            org.id,
            serde_json::json!({}),
        )
        .await?;
        for (i, spec) in roster().into_iter().enumerate() {
            add_client(conn, &practice, i, &spec, coach_ids[i % 2]).await?;
        }
        Ok(())
    })
    .await?;
    Ok(DemoLogins {
        created: true,
        logins,
    })
}

/// The practice's admin and coaches; the coaches' ids.
async fn add_staff(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    coaches: &[(&str, &str)],
) -> anyhow::Result<Vec<Uuid>> {
    let staff = |role, name, email| users::NewUser {
        organization_id: practice.org_id,
        role,
        name,
        email,
        password_hash: Some(practice.hash),
        client_id: None,
    };
    users::insert(conn, staff(Role::Admin, "Riverside Admin", ADMIN_EMAIL)).await?;
    let mut coach_ids = vec![];
    for (name, email) in coaches {
        coach_ids.push(
            users::insert(conn, staff(Role::Coach, name, email))
                .await?
                .id,
        );
    }
    Ok(coach_ids)
}

/// One mother of the roster: her record (a login for Ana and Grace), her plan walked up to her
/// step, four weeks of sessions, her reports, readiness results and check-ins, and the engine's
/// view of it all.
async fn add_client(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    i: usize,
    spec: &DemoClient,
    coach_id: Uuid,
) -> anyhow::Result<()> {
    let today = practice.today;
    let delivery = today - Duration::days(spec.days_postpartum);
    let mut client = clients::insert(
        conn,
        practice.org_id,
        &client_fields(i, spec, coach_id, delivery),
    )
    .await?;
    // A caesarean mother past walking hills had her scar reviewed at six weeks.
    if spec.delivery_type == "caesarean"
        && matches!(spec.stage, StageKey::Lunges | StageKey::Jogging)
    {
        let on = delivery + Duration::days(42);
        client = clients::set_scar_clearance(
            conn,
            client.id,
            Some((on, "Dr Aisha Bello, GP", coach_id)),
        )
        .await?;
    }
    if ["Ana Lima", "Grace Kim"].contains(&spec.name) {
        users::insert(
            conn,
            users::NewUser {
                organization_id: practice.org_id,
                role: Role::Client,
                name: spec.name,
                email: &email_of(spec.name),
                password_hash: Some(practice.hash),
                client_id: Some(client.id),
            },
        )
        .await?;
    }
    let started_on = (today - Duration::days(28)).max(delivery + Duration::days(14));
    let plan = walk_plan(conn, practice, &client, spec, coach_id, started_on).await?;
    log_sessions(conn, practice, &client, &plan, spec, coach_id, started_on).await?;
    if spec.stage == StageKey::Jogging && spec.status == PlanStatus::Active {
        next_morning_reports(conn, &client, spec, today).await?;
    }
    if spec.name == "Bea Souza" {
        let symptoms = Symptoms {
            abdominal_doming: true,
            ..Default::default()
        };
        let notes = "Saw a ridge along my tummy during the bear-crawl hold.";
        let day = today - Duration::days(1);
        report(
            conn,
            &client,
            today,
            Timing::During,
            &symptoms,
            day,
            Some(notes),
            "doming",
        )
        .await?;
    }
    record_readiness(conn, practice, &client, &plan, spec, coach_id).await?;
    if spec.name == "Grace Kim" {
        short_nights(conn, practice, &client).await?;
    }
    // Every live plan gets the engine's view of what she has done.
    let cause = crate::db::engine_runs::Cause {
        kind: "demo",
        id: None,
    };
    progress::run_engine(conn, &client, today, cause).await?;
    Ok(())
}

fn client_fields(i: usize, spec: &DemoClient, coach_id: Uuid, delivery: NaiveDate) -> ClientFields {
    ClientFields {
        external_id: Some(format!("RP-{:04}", 1001 + i)),
        name: spec.name.into(),
        email: Some(email_of(spec.name)),
        phone: Some(format!("+44 7700 900{:03}", 100 + i)),
        coach_id: Some(coach_id),
        delivery_date: delivery,
        delivery_type: spec.delivery_type.into(),
        perineal_tear_grade: (spec.delivery_type != "caesarean").then_some((i % 3) as i16),
        breastfeeding: !i.is_multiple_of(3),
        cleared_for_exercise: spec.cleared,
        cleared_on: spec
            .cleared
            .then(|| delivery + Duration::days(42.min(spec.days_postpartum))),
        cleared_by: spec.cleared.then_some(coach_id),
        status: if spec.status == PlanStatus::Completed {
            "discharged".into()
        } else {
            "active".into()
        },
        notes: None,
        timezone: "Europe/London".into(),
    }
}

/// Her plan from crawling up to her step, one recorded advance at a time (and completed, for a
/// mother who finished).
async fn walk_plan(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    spec: &DemoClient,
    coach_id: Uuid,
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
async fn log_sessions(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    plan: &Plan,
    spec: &DemoClient,
    coach_id: Uuid,
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
                stage: spec.stage.as_str().into(),
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
async fn next_morning_reports(
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
        report(
            conn,
            client,
            today,
            Timing::NextDay,
            &symptoms,
            next_morning,
            None,
            "report",
        )
        .await?;
    }
    Ok(())
}

/// A report of hers, recorded as the service records one (triage, the engine, the audit).
#[allow(clippy::too_many_arguments)]
async fn report(
    conn: &mut AsyncPgConnection,
    client: &Client,
    today: NaiveDate,
    timing: Timing,
    symptoms: &Symptoms,
    reported_on: NaiveDate,
    notes: Option<&str>,
    tag: &str,
) -> anyhow::Result<()> {
    let context = progress::context(
        conn,
        client.organization_id,
        client.id,
        crate::domain::engine::fortnight_start(today),
    )
    .await?;
    progress::record_report(
        conn,
        client,
        Actor::System,
        progress::NewReport {
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
        },
        context,
        today,
    )
    .await?;
    Ok(())
}

/// Readiness results of the tests of the stage she is at (walking hills and lunges).
async fn record_readiness(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    plan: &Plan,
    spec: &DemoClient,
    coach_id: Uuid,
) -> anyhow::Result<()> {
    let (program, today) = (practice.program, practice.today);
    let tests: &[(&str, i32, &str)] = match spec.stage {
        StageKey::WalkingHills => &[
            ("walk_30_min", 1800, "both"),
            ("single_leg_balance", 10, "left"),
            ("single_leg_balance", 8, "right"),
        ],
        StageKey::Lunges => &[
            ("jog_on_the_spot", 60, "both"),
            ("forward_bounds", 10, "both"),
            ("hop_in_place", 10, "left"),
            ("hop_in_place", 10, "right"),
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
            .find(|t| t.key.as_str() == *test)
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
                test: (*test).into(),
                reached: *reached,
                side: (*side).into(),
                symptom_free: true,
                passed: *reached as u32 >= target,
                performed_on: today - Duration::days(2),
                notes: None,
                recorded_by: Some(coach_id),
                created_at: Utc::now(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Grace's last four nights: short sleep and tired days, which R11 holds her for.
async fn short_nights(
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
                breastfeeding: Some("exclusive".into()),
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
