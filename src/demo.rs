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
use crate::db::clients::{self, ClientFields};
use crate::db::plans::{self, NewPlan, NewTransition};
use crate::db::workouts::{self, NewSessionLog, ReadinessResult};
use crate::db::{organizations, programs, progress, users};
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
        users::insert(
            conn,
            users::NewUser {
                organization_id: org.id,
                role: Role::Admin,
                name: "Riverside Admin",
                email: ADMIN_EMAIL,
                password_hash: Some(&hash),
                client_id: None,
            },
        )
        .await?;
        let mut coach_ids = vec![];
        for (name, email) in coaches {
            let coach = users::insert(
                conn,
                users::NewUser {
                    organization_id: org.id,
                    role: Role::Coach,
                    name,
                    email,
                    password_hash: Some(&hash),
                    client_id: None,
                },
            )
            .await?;
            coach_ids.push(coach.id);
        }
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
            let coach_id = coach_ids[i % 2];
            let delivery = today - Duration::days(spec.days_postpartum);
            let fields = ClientFields {
                external_id: Some(format!("RP-{:04}", 1001 + i)),
                name: spec.name.into(),
                email: Some(email_of(spec.name)),
                phone: Some(format!("+44 7700 900{:03}", 100 + i)),
                coach_id: Some(coach_id),
                delivery_date: delivery,
                delivery_type: spec.delivery_type.into(),
                perineal_tear_grade: (spec.delivery_type != "caesarean").then_some((i % 3) as i16),
                breastfeeding: i % 3 != 0,
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
            };
            let mut client = clients::insert(conn, org.id, &fields).await?;
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
                        organization_id: org.id,
                        role: Role::Client,
                        name: spec.name,
                        email: &email_of(spec.name),
                        password_hash: Some(&hash),
                        client_id: Some(client.id),
                    },
                )
                .await?;
            }
            let started_on = (today - Duration::days(28)).max(delivery + Duration::days(14));
            let mut plan = plans::insert(
                conn,
                NewPlan {
                    organization_id: org.id,
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
            // Three sessions a week for four weeks (never before the plan started).
            for week in 0..4 {
                for day in [1, 3, 5] {
                    let performed_on = today - Duration::days(27 - week * 7 - day);
                    if performed_on < started_on || performed_on > today || !spec.cleared {
                        continue;
                    }
                    let log = NewSessionLog {
                        id: Uuid::now_v7(),
                        organization_id: org.id,
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
            // After each run, the next morning's report; a few tell a story.
            if spec.stage == StageKey::Jogging && spec.status == PlanStatus::Active {
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
                    let symptoms_json = serde_json::to_value(&symptoms)?;
                    let context = progress::context(
                        conn,
                        client.organization_id,
                        client.id,
                        crate::domain::engine::fortnight_start(today),
                    )
                    .await?;
                    progress::record_report(
                        conn,
                        &client,
                        Actor::System,
                        progress::NewReport {
                            id: Uuid::now_v7(),
                            timing: Timing::NextDay,
                            symptoms: &symptoms,
                            symptoms_json,
                            reported_on: next_morning,
                            session_id: None,
                            notes: None,
                            request_digest: crate::fingerprint::of(&format!(
                                "demo report {} {next_morning}",
                                client.id
                            )),
                            recorded_by: None,
                        },
                        context,
                        today,
                    )
                    .await?;
                }
            }
            if spec.name == "Bea Souza" {
                let symptoms = Symptoms {
                    abdominal_doming: true,
                    ..Default::default()
                };
                let context = progress::context(
                    conn,
                    client.organization_id,
                    client.id,
                    crate::domain::engine::fortnight_start(today),
                )
                .await?;
                progress::record_report(
                    conn,
                    &client,
                    Actor::System,
                    progress::NewReport {
                        id: Uuid::now_v7(),
                        timing: Timing::During,
                        symptoms: &symptoms,
                        symptoms_json: serde_json::to_value(&symptoms)?,
                        reported_on: today - Duration::days(1),
                        session_id: None,
                        notes: Some(
                            "Saw a ridge along my tummy during the bear-crawl hold.".into(),
                        ),
                        request_digest: crate::fingerprint::of(&format!(
                            "demo doming {}",
                            client.id
                        )),
                        recorded_by: None,
                    },
                    context,
                    today,
                )
                .await?;
            }
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
                        organization_id: org.id,
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
            if spec.name == "Grace Kim" {
                for (back, sleep_hours, fatigue) in
                    [(3, 5.0, 7), (2, 4.5, 8), (1, 5.5, 8), (0, 6.0, 6)]
                {
                    let now = Utc::now();
                    check_ins::insert(
                        conn,
                        &CheckIn {
                            id: Uuid::now_v7(),
                            organization_id: org.id,
                            client_id: client.id,
                            checked_on: today - Duration::days(back),
                            sleep_hours,
                            fatigue,
                            breastfeeding: Some("exclusive".into()),
                            periods_returned: Some(false),
                            running_worry: Some(3),
                            mood_little_interest: Some(0),
                            mood_feeling_down: Some(1),
                            advisories: serde_json::json!([]),
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
            }
            // Every live plan gets the engine's view of what she has done.
            let cause = crate::db::engine_runs::Cause {
                kind: "demo",
                id: None,
            };
            progress::run_engine(conn, &client, today, cause).await?;
        }
        Ok(())
    })
    .await?;
    Ok(DemoLogins {
        created: true,
        logins,
    })
}
