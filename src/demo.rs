//! `runback demo`: a realistic practice for frontend teams to build against. An admin, two
//! coaches and a dozen clients spread over every stage, with four weeks of sessions, readiness
//! results and plan history, all dated relative to today. Among them: a caesarean mother waiting
//! for her scar check before lunges (Dara O'Neill), one whose short sleep this week holds her
//! (R11, Grace Kim), one whose fourth-degree tear holds lunges until a pelvic-health assessment
//! clears impact (Mia Torres, with her postnatal check), and one who reported calf pain and
//! swelling yesterday: an emergency flag first in the inbox (Jo Park).

use chrono::{Duration, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, Actor};
use crate::db::clients::{self, Client, ClientFields};
use crate::db::programs::{self, ProgramVersion};
use crate::db::{organizations, users};
use crate::domain::client::ClientStatus;
use crate::domain::client::DeliveryType::{self, AssistedVaginal, Caesarean, Vaginal};
use crate::domain::identity::Role;
use crate::domain::ids::{OrganizationId, UserId};
use crate::domain::plan::PlanStatus;
use crate::domain::program::StageKey;
use crate::domain::triage::{Symptoms, Timing};

mod history;

use crate::domain::assessment::AssessmentKind;
use history::{
    assessment, log_sessions, next_morning_reports, record_readiness, report, short_nights,
    walk_plan, DemoReport,
};

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
    delivery_type: DeliveryType,
    cleared: bool,
    stage: StageKey,
    level: Option<u32>,
    status: PlanStatus,
}

const fn c(
    name: &'static str,
    days_postpartum: i64,
    delivery_type: DeliveryType,
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
            ..c("Hana Suzuki", 18, Vaginal, Crawling, None)
        },
        c("Ana Lima", 28, Caesarean, Crawling, None),
        c("Bea Souza", 36, Vaginal, Crawling, None),
        c("Chloe Martin", 47, AssistedVaginal, WalkingHills, None),
        // Waiting for her caesarean scar check before lunges.
        c("Dara O'Neill", 61, Caesarean, WalkingHills, None),
        c("Esi Mensah", 72, Caesarean, Lunges, None),
        c("Freya Lund", 83, Vaginal, Lunges, None),
        // Sleeping badly this week: R11 holds her at level 1.
        c("Grace Kim", 96, Vaginal, Jogging, Some(1)),
        c("Imani Cole", 110, Caesarean, Jogging, Some(3)),
        c("Jo Park", 132, Vaginal, Jogging, Some(5)),
        c("Kavya Rao", 168, AssistedVaginal, Jogging, Some(9)),
        DemoClient {
            status: PlanStatus::Completed,
            ..c("Lena Vogel", 240, Vaginal, Jogging, Some(18))
        },
        // A fourth-degree tear: lunges wait for a pelvic-health assessment (R1).
        c("Mia Torres", 90, Vaginal, WalkingHills, None),
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
    org_id: OrganizationId,
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
) -> anyhow::Result<Vec<UserId>> {
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
    coach_id: UserId,
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
    if spec.delivery_type == Caesarean && matches!(spec.stage, StageKey::Lunges | StageKey::Jogging)
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
    record_readiness(conn, practice, &client, &plan, spec, coach_id).await?;
    her_own_story(conn, practice, &client, spec.name, coach_id).await?;
    // Every live plan gets the engine's view of what she has done.
    let cause = crate::db::engine_runs::Cause {
        kind: crate::domain::trace::RunCauseKind::Demo,
        id: None,
    };
    crate::usecases::engine::run(conn, &client, today, cause).await?;
    Ok(())
}

/// What sets some mothers apart: Bea's doming, Grace's short nights, Mia's postnatal check
/// (her tear's hold stays), Kavya's pelvic-health assessment, Jo's emergency.
async fn her_own_story(
    conn: &mut AsyncPgConnection,
    practice: &Practice<'_>,
    client: &Client,
    name: &str,
    coach_id: UserId,
) -> anyhow::Result<()> {
    let today = practice.today;
    if name == "Bea Souza" {
        let symptoms = Symptoms {
            abdominal_doming: true,
            ..Default::default()
        };
        let notes = "Saw a ridge along my tummy during the bear-crawl hold.";
        let day = today - Duration::days(1);
        let doming = DemoReport {
            timing: Timing::During,
            symptoms: &symptoms,
            reported_on: day,
            notes: Some(notes),
            tag: "doming",
        };
        report(conn, client, today, doming).await?;
    }
    match name {
        "Grace Kim" => short_nights(conn, practice, client).await?,
        "Mia Torres" => {
            let kind = AssessmentKind::PostnatalCheck;
            assessment(conn, practice, client, kind, false, coach_id).await?
        }
        "Kavya Rao" => {
            let kind = AssessmentKind::PelvicHealth;
            assessment(conn, practice, client, kind, true, coach_id).await?
        }
        "Jo Park" => {
            let symptoms = Symptoms {
                calf_pain_or_swelling: true,
                ..Default::default()
            };
            let calf = DemoReport {
                timing: Timing::DailyLife,
                symptoms: &symptoms,
                reported_on: today - Duration::days(1),
                notes: Some("My left calf is sore and looks swollen."),
                tag: "calf",
            };
            report(conn, client, today, calf).await?
        }
        _ => {}
    }
    Ok(())
}

fn client_fields(
    i: usize,
    spec: &DemoClient,
    coach_id: UserId,
    delivery: NaiveDate,
) -> ClientFields {
    ClientFields {
        external_id: Some(format!("RP-{:04}", 1001 + i)),
        name: spec.name.into(),
        email: Some(email_of(spec.name)),
        phone: Some(format!("+44 7700 900{:03}", 100 + i)),
        coach_id: Some(coach_id),
        delivery_date: delivery,
        delivery_type: spec.delivery_type,
        perineal_tear_grade: match spec.name {
            "Mia Torres" => Some(4),
            _ => (spec.delivery_type != Caesarean).then_some((i % 3) as i16),
        },
        breastfeeding: !i.is_multiple_of(3),
        cleared_for_exercise: spec.cleared,
        cleared_on: spec
            .cleared
            .then(|| delivery + Duration::days(42.min(spec.days_postpartum))),
        cleared_by: spec.cleared.then_some(coach_id),
        status: if spec.status == PlanStatus::Completed {
            ClientStatus::Discharged
        } else {
            ClientStatus::Active
        },
        notes: None,
        timezone: "Europe/London".into(),
    }
}
