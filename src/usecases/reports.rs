//! A symptom report: triaged at once, the engine run on her plan with the report weighed, red
//! findings acting at once.

use crate::domain::trace::RunCauseKind;
use chrono::{Duration, NaiveDate, SubsecRound, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::engine::{apply, json, load, recommend_event, EngineContext};
use super::{check_day, ChosenId, FirstWrite};
use crate::db::audit::{self, Actor};
use crate::db::clients::{self, Client};
use crate::db::columns::Stored;
use crate::db::engine_runs::Cause;
use crate::db::plans::Plan;
use crate::db::reports::{self, SymptomReport};
use crate::db::webhooks::Event;
use crate::db::workouts;
use crate::domain::engine::{self, Recommendation};
use crate::domain::identity::Principal;
use crate::domain::ids::{ClientId, ReportId, UserId};
use crate::domain::triage::{self, advisories, EarlierReport, Symptoms, Timing, TriageLevel};
use crate::domain::webhook::{events, EventType};
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

/// Records her report ([`record`] triages it, runs the engine and audits it);
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
            load(&mut second, principal.organization_id, client_id, since),
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
        let (stored, recommendation) = record(
            conn,
            &client,
            principal.actor(),
            NewReport {
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
    pub recorded_by: Option<UserId>,
    /// The practice's emergency number and her hormones (R12).
    pub facts: reports::TriageFacts,
}

/// Records a symptom report: triage against her earlier reports at the step, the flag it
/// opens or joins, the engine on her live plan, and the audit trail. `context` is her live
/// plan's [`engine::load`], read with her row locked and before the report is written; the engine
/// weighs the new report with the rest, so its answer is known before anything is written.
/// The report, her plan's new recommendation, her `updated_at`, the audit events and the
/// outbox event go in one statement ([`reports::write`]); a flag and a move the engine makes
/// itself follow it.
pub async fn record(
    conn: &mut AsyncPgConnection,
    client: &Client,
    actor: Actor,
    new: NewReport<'_>,
    context: Option<EngineContext>,
    today: NaiveDate,
) -> QueryResult<(SymptomReport, Option<Recommendation>)> {
    let triage = triage_of(&new, context.as_ref());
    let mut report = new_report(client, new, &triage, context.as_ref().map(|c| &c.plan));
    let flagged = triage.level != TriageLevel::Green;
    let (mut decision, mut run) = (None, None);
    if let Some(mut context) = context {
        context.with_report(&report);
        let evaluation = context.evaluate(client, today);
        report.recommendation = Some(json(&evaluation.recommendation));
        run = Some(evaluation.run(
            &context.plan,
            Cause::new(RunCauseKind::SymptomReport, report.id),
        ));
        decision = Some((context.plan, evaluation.recommendation, evaluation.applied));
    }
    // The audit trail and the outbox keep the order things happen in: the report, the flag it
    // raises, the engine's move, its recommendation. When the report raises no flag and moves
    // nothing, one statement writes it all.
    let moves = flagged
        || decision
            .as_ref()
            .is_some_and(|(_, _, applied)| applied.is_some());
    let mut events = vec![audit::Entry::new(
        actor,
        "symptom_report.create",
        "symptom_report",
        report.id,
        // Her symptoms and their triage stay on the report, not in the trail.
        serde_json::json!({"client_id": client.id, "timing": null, "triage": null, "urgency": null}),
    )];
    if !moves {
        events.extend(
            decision
                .as_ref()
                .map(|(plan, r, _)| recommend_event(plan, r)),
        );
    }
    let event = Event::new(
        EventType::SymptomReportCreated.as_str(),
        Some(client.id),
        events::data(&events::WebhookSymptomReportCreated {
            report_id: report.id.0,
            client_id: client.id.0,
            triage_level: report.triage_level,
            timing: report.timing,
            reported_on: report.reported_on,
            created_at: report.created_at,
        }),
    );
    let mut report = reports::write(
        conn,
        &report,
        run.as_ref(),
        events.into_iter().collect(),
        event,
    )
    .await?;
    if flagged {
        report = raise_flag(conn, client, actor, triage.level, triage.urgency, report).await?;
    }
    let Some((plan, recommendation, applied)) = decision else {
        return Ok((report, None));
    };
    if moves {
        let plan = apply(conn, plan, &recommendation, applied).await?;
        recommend_event(&plan, &recommendation)
            .record(conn, client.organization_id)
            .await?;
    }
    Ok((report, Some(recommendation)))
}

/// The report's triage: against her earlier reports at the step (the context's), the practice's
/// emergency number, and her hormones for R12.
fn triage_of(new: &NewReport<'_>, context: Option<&EngineContext>) -> triage::Triage {
    let earlier: Vec<EarlierReport> = context
        .into_iter()
        .flat_map(|c| &c.earlier_pelvic)
        .filter(|(day, ..)| *day <= new.reported_on)
        .take(2)
        .map(|&(_, had_pelvic_symptom, bone)| EarlierReport {
            had_pelvic_symptom,
            bone_site_pain: bone.clamp(0, 10) as u8,
        })
        .collect();
    let facts = &new.facts;
    let emergency_number =
        triage::emergency_number(facts.country.as_deref(), facts.emergency_number.as_deref());
    triage::triage(
        new.timing,
        new.symptoms,
        &triage::TriageContext {
            earlier: &earlier,
            bone_stress_risk: triage::bone_stress_risk(
                facts.breastfeeding,
                facts.latest_feeding,
                facts.periods_returned,
                facts.period_reported || new.symptoms.bleeding == Some(triage::Bleeding::Period),
            ),
            emergency_number: &emergency_number,
        },
    )
}

/// The report as it will be stored, at her plan's step when she has a live plan.
fn new_report(
    client: &Client,
    new: NewReport<'_>,
    triage: &triage::Triage,
    plan: Option<&Plan>,
) -> SymptomReport {
    // As stored: PostgreSQL keeps microseconds.
    let now = Utc::now().trunc_subsecs(6);
    SymptomReport {
        id: ReportId(new.id),
        organization_id: client.organization_id,
        client_id: client.id,
        plan_id: plan.map(|p| p.id),
        session_id: new.session_id,
        stage: plan.map(|p| p.stage),
        level: plan.and_then(|p| p.level),
        timing: new.timing,
        reported_on: new.reported_on,
        symptoms: new.symptoms_json,
        triage_level: triage.level,
        findings: Stored(triage.findings.clone()),
        advisories: Stored(advisories(new.symptoms)),
        max_pain: i16::from(new.symptoms.max_pain()),
        pelvic_symptom: new.symptoms.has_pelvic_symptom(),
        urine_leak: new.symptoms.urine_leak,
        notes: new.notes,
        recommendation: None,
        flag_id: None,
        request_digest: new.request_digest,
        recorded_by: new.recorded_by,
        created_at: now,
        updated_at: now,
        urgency: triage.urgency,
    }
}

/// A red or amber report opens a flag in her coach's inbox, or joins the open one of its
/// level; audited. The report, pointing at its flag.
async fn raise_flag(
    conn: &mut AsyncPgConnection,
    client: &Client,
    actor: Actor,
    level: TriageLevel,
    urgency: triage::Urgency,
    report: SymptomReport,
) -> QueryResult<SymptomReport> {
    let (flag, opened) = reports::raise_flag(
        conn,
        client.organization_id,
        client.id,
        level,
        urgency,
        report.id,
    )
    .await?;
    let action = if opened {
        "flag.open"
    } else {
        "flag.add_report"
    };
    audit::record(
        conn,
        client.organization_id,
        actor,
        action,
        "flag",
        flag.id,
        serde_json::json!({"client_id": client.id, "level": null, "urgency": null,
            "report_id": report.id, "report_count": flag.report_count}),
    )
    .await?;
    reports::set_flag(conn, report.id, flag.id).await
}
