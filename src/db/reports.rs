//! Symptom reports and the flags they raise.

use super::engine_runs::NewRun;
use super::webhooks::{outbox_ctes, Event};
use super::{audit, CachedExt};
use crate::domain::webhook::{events, EventType};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Date, Int2, Int4, Jsonb, Nullable, Text, Timestamptz,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{flags, symptom_reports};

type SqlUuid = diesel::sql_types::Uuid;
use super::columns::Stored;
use crate::domain::identity::Principal;
use crate::domain::ids::{ClientId, OrganizationId, PlanId, ReportId, UserId};
use crate::domain::plan::PlanStatus;
use crate::domain::policy;
use crate::domain::program::StageKey;
use crate::domain::triage::{
    Finding, FlagLevel, FlagStatus, Timing, TriageLevel, Urgency, UrineLeak,
};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = symptom_reports)]
pub struct SymptomReport {
    pub id: ReportId,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub plan_id: Option<PlanId>,
    pub session_id: Option<Uuid>,
    pub stage: Option<StageKey>,
    pub level: Option<i32>,
    pub timing: Timing,
    pub reported_on: NaiveDate,
    pub symptoms: serde_json::Value,
    pub triage_level: TriageLevel,
    pub findings: Stored<Vec<Finding>>,
    pub advisories: Stored<Vec<Finding>>,
    pub max_pain: i16,
    pub pelvic_symptom: bool,
    pub urine_leak: Option<UrineLeak>,
    pub notes: Option<String>,
    pub recommendation: Option<serde_json::Value>,
    pub flag_id: Option<Uuid>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How soon she needs care (SPEC §1.8).
    pub urgency: Urgency,
}

/// Writes a report with what goes with it, in one statement: the report (with the engine's
/// recommendation, already known), the recommendation on her plan, the engine's run with its
/// trace (`run`, made for this report), her `updated_at` (dashboards sync on it), the audit
/// events, and the outbox event.
pub async fn write(
    conn: &mut AsyncPgConnection,
    report: &SymptomReport,
    run: Option<&NewRun>,
    audit: audit::Columns<'_>,
    event: Event,
) -> QueryResult<SymptomReport> {
    diesel::sql_query(concat!(
        "WITH ",
        outbox_ctes!(),
        ",
         report AS (
             INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, session_id, stage,
                 level, timing, reported_on, symptoms, triage_level, findings, advisories, max_pain,
                 pelvic_symptom, urine_leak, notes, recommendation, flag_id, request_digest,
                 recorded_by, created_at, updated_at, urgency)
             VALUES ($6, $2, $4, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                     $21, $22, $23, $24, $25, $25, $36)
             RETURNING *),
         plan AS (
             UPDATE plans SET recommendation = $21, revision = revision + 1, updated_at = now()
              WHERE id = $7),
         touched AS (
             UPDATE clients SET updated_at = now() WHERE id = $4),
         audited AS (
             INSERT INTO audit_events (id, organization_id, actor_type, actor_id, action, entity,
                                       entity_id, changes)
             SELECT e.id, $2, e.actor_type, e.actor_id, e.action, e.entity, e.entity_id, e.changes
               FROM unnest($26::uuid[], $27::text[], $28::uuid[], $29::text[], $30::text[],
                           $31::uuid[], $32::jsonb[])
                    AS e (id, actor_type, actor_id, action, entity, entity_id, changes)),
         run AS (
             INSERT INTO engine_runs (id, organization_id, client_id, plan_id, evaluated_on, cause,
                                      cause_id, recommendation, rules)
             SELECT $33, $2, $4, $7, $34, 'symptom_report', $6, $21, $35 WHERE $33 IS NOT NULL)
         SELECT * FROM report"
    ))
    .bind::<SqlUuid, _>(event.id)
    .bind::<SqlUuid, _>(report.organization_id)
    .bind::<Text, _>(event.event_type)
    .bind::<Nullable<SqlUuid>, _>(Some(report.client_id))
    .bind::<Jsonb, _>(event.payload)
    .bind::<SqlUuid, _>(report.id)
    .bind::<Nullable<SqlUuid>, _>(report.plan_id)
    .bind::<Nullable<SqlUuid>, _>(report.session_id)
    .bind::<Nullable<Text>, _>(report.stage.map(StageKey::as_str))
    .bind::<Nullable<Int4>, _>(report.level)
    .bind::<Text, _>(report.timing.as_str())
    .bind::<Date, _>(report.reported_on)
    .bind::<Jsonb, _>(&report.symptoms)
    .bind::<Text, _>(report.triage_level.as_str())
    .bind::<Jsonb, _>(&report.findings)
    .bind::<Jsonb, _>(&report.advisories)
    .bind::<Int2, _>(report.max_pain)
    .bind::<Bool, _>(report.pelvic_symptom)
    .bind::<Nullable<Text>, _>(report.urine_leak.map(UrineLeak::as_str))
    .bind::<Nullable<Text>, _>(&report.notes)
    .bind::<Nullable<Jsonb>, _>(&report.recommendation)
    .bind::<Nullable<SqlUuid>, _>(report.flag_id)
    .bind::<Bytea, _>(&report.request_digest)
    .bind::<Nullable<SqlUuid>, _>(report.recorded_by)
    .bind::<Timestamptz, _>(report.created_at)
    .bind::<Array<SqlUuid>, _>(audit.ids)
    .bind::<Array<Text>, _>(audit.actor_types)
    .bind::<Array<Nullable<SqlUuid>>, _>(audit.actor_ids)
    .bind::<Array<Text>, _>(audit.actions)
    .bind::<Array<Text>, _>(audit.entities)
    .bind::<Array<SqlUuid>, _>(audit.entity_ids)
    .bind::<Array<Jsonb>, _>(audit.changes)
    .bind::<Nullable<SqlUuid>, _>(run.map(|r| r.id))
    .bind::<Nullable<Date>, _>(run.map(|r| r.evaluated_on))
    .bind::<Nullable<Jsonb>, _>(run.map(|r| &r.rules))
    .bind::<Text, _>(report.urgency.as_str())
    .cached()
    .get_result(conn)
    .await
}

/// Links a report to the flag it raised.
pub async fn set_flag(
    conn: &mut AsyncPgConnection,
    id: ReportId,
    flag_id: Uuid,
) -> QueryResult<SymptomReport> {
    diesel::update(symptom_reports::table.find(id))
        .set(symptom_reports::flag_id.eq(flag_id))
        .returning(SymptomReport::as_returning())
        .cached()
        .get_result(conn)
        .await
}

/// A report by id within the organization (for idempotent replays and reads).
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<Option<SymptomReport>> {
    symptom_reports::table
        .find(id)
        .filter(symptom_reports::organization_id.eq(organization_id))
        .select(SymptomReport::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, Default, Clone)]
pub struct ReportFilter {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub triage: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    filter: &ReportFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<SymptomReport>> {
    let mut query = symptom_reports::table
        .filter(symptom_reports::client_id.eq(client_id))
        .select(SymptomReport::as_select())
        .order((symptom_reports::created_at.asc(), symptom_reports::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(d) = filter.since {
        query = query.filter(symptom_reports::reported_on.ge(d));
    }
    if let Some(d) = filter.until {
        query = query.filter(symptom_reports::reported_on.le(d));
    }
    if let Some(t) = &filter.triage {
        query = query.filter(symptom_reports::triage_level.eq(t.clone()));
    }
    if let Some(t) = filter.updated_since {
        query = query.filter(symptom_reports::updated_at.ge(t));
    }
    if let Some(after) = after {
        query = query.filter(arrived_after!(symptom_reports, after));
    }
    query.load(conn).await
}

// ---- flags ----

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = flags)]
pub struct Flag {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub level: FlagLevel,
    pub severity: i16,
    pub status: FlagStatus,
    /// The report that opened it; for a `mood` flag, the check-in (`check_in_id`).
    pub report_id: Option<ReportId>,
    pub report_count: i32,
    pub last_report_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub resolution_note: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub check_in_id: Option<Uuid>,
    /// As urgent as the most urgent report it holds: an emergency first in the inbox.
    pub urgency: Urgency,
}

/// What triage weighs about her besides the report: the practice's emergency number, and her
/// hormones for R12.
#[derive(Debug, Clone, QueryableByName)]
pub struct TriageFacts {
    #[diesel(sql_type = Nullable<Text>)]
    pub country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub emergency_number: Option<String>,
    #[diesel(sql_type = Bool)]
    pub breastfeeding: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub latest_feeding: Option<crate::domain::client::Breastfeeding>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub periods_returned: Option<bool>,
    #[diesel(sql_type = Bool)]
    pub period_reported: bool,
}

/// [`TriageFacts`] for one of the organization's clients, in one statement.
pub async fn triage_facts<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    client_id: ClientId,
) -> QueryResult<Option<TriageFacts>> {
    diesel::sql_query(
        "SELECT o.country, o.emergency_number, c.breastfeeding,
                l.breastfeeding AS latest_feeding, l.periods_returned,
                EXISTS (SELECT 1 FROM symptom_reports r
                         WHERE r.client_id = c.id AND r.symptoms->>'bleeding' = 'period') AS period_reported
           FROM clients c JOIN organizations o ON o.id = c.organization_id
           LEFT JOIN LATERAL (SELECT k.breastfeeding, k.periods_returned FROM check_ins k
                               WHERE k.client_id = c.id
                               ORDER BY k.checked_on DESC, k.created_at DESC, k.id DESC LIMIT 1) l ON true
          WHERE c.id = $1 AND c.organization_id = $2",
    )
    .bind::<SqlUuid, _>(client_id)
    .bind::<SqlUuid, _>(organization_id)
    .cached()
    .get_result(conn)
    .await
    .optional()
}

/// The inbox's order: 4 an emergency, 3 red_medical, 2 red_pelvic, 1 amber (0 mood).
fn severity(level: TriageLevel, urgency: Urgency) -> i16 {
    match (level, urgency) {
        (_, Urgency::Emergency) => 4,
        (TriageLevel::Green, _) => 0,
        (TriageLevel::Amber, _) => 1,
        (TriageLevel::RedPelvic, _) => 2,
        (TriageLevel::RedMedical, _) => 3,
    }
}

/// Opens a `mood` flag for a check-in whose mood screen was 3 or more, or adds it to her open
/// one. No webhook: it is for her and her coach alone. Returns the flag and whether it is new.
pub async fn raise_mood_flag(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    client_id: ClientId,
    check_in_id: Uuid,
) -> QueryResult<(Flag, bool)> {
    let level = FlagLevel::Mood.as_str();
    let existing = diesel::update(
        flags::table
            .filter(flags::client_id.eq(client_id))
            .filter(flags::level.eq(level))
            .filter(flags::status.eq("open")),
    )
    .set((
        flags::report_count.eq(flags::report_count + 1),
        flags::last_report_at.eq(diesel::dsl::now),
        flags::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Flag::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    if let Some(flag) = existing {
        return Ok((flag, false));
    }
    let flag = diesel::insert_into(flags::table)
        .values((
            flags::id.eq(Uuid::now_v7()),
            flags::organization_id.eq(organization_id),
            flags::client_id.eq(client_id),
            flags::level.eq(level),
            flags::severity.eq(FlagLevel::Mood.severity()),
            flags::check_in_id.eq(check_in_id),
        ))
        .returning(Flag::as_returning())
        .get_result(conn)
        .await?;
    Ok((flag, true))
}

/// Opens a flag for a report, or adds the report to the open flag of the same level.
/// Returns the flag and whether it is new.
pub async fn raise_flag(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    client_id: ClientId,
    level: TriageLevel,
    urgency: Urgency,
    report_id: ReportId,
) -> QueryResult<(Flag, bool)> {
    let existing = diesel::update(
        flags::table
            .filter(flags::client_id.eq(client_id))
            .filter(flags::level.eq(level.as_str()))
            .filter(flags::status.eq("open")),
    )
    .set((
        flags::report_count.eq(flags::report_count + 1),
        flags::last_report_at.eq(diesel::dsl::now),
        flags::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Flag::as_returning())
    .cached()
    .get_result(conn)
    .await
    .optional()?;
    let (flag, opened) = match existing {
        // An open flag grows as urgent as its most urgent report.
        Some(flag) if urgency > flag.urgency => {
            let flag = diesel::update(flags::table.find(flag.id))
                .set((
                    flags::urgency.eq(urgency),
                    flags::severity.eq(severity(level, urgency)),
                ))
                .returning(Flag::as_returning())
                .cached()
                .get_result(conn)
                .await?;
            (flag, false)
        }
        Some(flag) => (flag, false),
        None => {
            let flag = diesel::insert_into(flags::table)
                .values((
                    flags::id.eq(Uuid::now_v7()),
                    flags::organization_id.eq(organization_id),
                    flags::client_id.eq(client_id),
                    flags::level.eq(level.as_str()),
                    flags::severity.eq(severity(level, urgency)),
                    flags::urgency.eq(urgency),
                    flags::report_id.eq(report_id),
                ))
                .returning(Flag::as_returning())
                .cached()
                .get_result(conn)
                .await?;
            (flag, true)
        }
    };
    announce(conn, &flag, opened, urgency, report_id).await?;
    Ok((flag, opened))
}

/// The webhook events of a flag raised by a report: `flag.opened` for a new one, and
/// `flag.emergency` at once for an emergency report, whether it opened the flag or joined it.
async fn announce(
    conn: &mut AsyncPgConnection,
    flag: &Flag,
    opened: bool,
    urgency: Urgency,
    report_id: ReportId,
) -> QueryResult<()> {
    let (organization_id, client_id) = (flag.organization_id, flag.client_id);
    let payload = events::data(&events::WebhookFlagOpened {
        flag_id: flag.id,
        client_id: client_id.0,
        level: flag.level,
        urgency: flag.urgency,
        report_id: report_id.0,
        opened_at: flag.opened_at,
    });
    if opened {
        super::webhooks::enqueue(
            conn,
            organization_id,
            EventType::FlagOpened.as_str(),
            Some(client_id),
            payload.clone(),
        )
        .await?;
    }
    if urgency == Urgency::Emergency {
        super::webhooks::enqueue(
            conn,
            organization_id,
            EventType::FlagEmergency.as_str(),
            Some(client_id),
            payload,
        )
        .await?;
    }
    Ok(())
}

pub async fn all_flags_for_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Vec<Flag>> {
    flags::table
        .filter(flags::client_id.eq(client_id))
        .select(Flag::as_select())
        .order(flags::id.asc())
        .load(conn)
        .await
}

/// The triage levels of the client's open flags (a mood flag holds none), read as the typed
/// column: a level the code does not know fails the read instead of vanishing.
pub async fn open_levels<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    client_id: ClientId,
) -> QueryResult<Vec<TriageLevel>> {
    let levels: Vec<FlagLevel> = flags::table
        .filter(flags::client_id.eq(client_id))
        .filter(flags::status.eq("open"))
        .select(flags::level)
        .load(conn)
        .await?;
    Ok(levels
        .into_iter()
        .filter_map(FlagLevel::triage_level)
        .collect())
}

/// A flag the principal may see (its client within reach), with its client locked for the
/// write to come (clients are always locked before their flags).
pub async fn find_accessible(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
) -> QueryResult<(Flag, super::clients::Client)> {
    let flag: Flag = flags::table
        .find(id)
        .filter(flags::organization_id.eq(principal.organization_id))
        .select(Flag::as_select())
        .first(conn)
        .await?;
    let client = super::clients::find_accessible(conn, principal, flag.client_id, true).await?;
    if flag.level == FlagLevel::Mood
        && client
            .coach_id
            .is_none_or(|c| Some(c) != mood_reader(principal))
    {
        return Err(diesel::result::Error::NotFound);
    }
    Ok((flag, client))
}

/// Resolves an open flag; `None` when it was not open (any more).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    by: UserId,
    note: &str,
) -> QueryResult<Option<Flag>> {
    let resolved = diesel::update(flags::table.find(id).filter(flags::status.eq("open")))
        .set((
            flags::status.eq("resolved"),
            flags::resolved_at.eq(diesel::dsl::now),
            flags::resolved_by.eq(by),
            flags::resolution_note.eq(note),
            flags::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Flag::as_returning())
        .cached()
        .get_result(conn)
        .await
        .optional()?;
    // A mood flag is for her and her coach alone: never sent to the practice's systems.
    if let Some(flag) = resolved.as_ref().filter(|f| f.level != FlagLevel::Mood) {
        super::webhooks::enqueue(
            conn,
            flag.organization_id,
            EventType::FlagResolved.as_str(),
            Some(flag.client_id),
            events::data(&events::WebhookFlagResolved {
                flag_id: flag.id,
                client_id: flag.client_id.0,
                level: flag.level,
                resolved_by: by.0,
                resolved_at: flag.resolved_at,
            }),
        )
        .await?;
    }
    Ok(resolved)
}

/// One inbox row: the flag, its client, and the report that raised it.
#[derive(Debug, Clone, QueryableByName)]
pub struct InboxRow {
    #[diesel(embed)]
    pub flag: Flag,
    #[diesel(sql_type = Text)]
    pub client_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_stage: Option<StageKey>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int4>)]
    pub plan_level: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_status: Option<PlanStatus>,
    #[diesel(sql_type = Nullable<Text>)]
    pub report_timing: Option<Timing>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Jsonb>)]
    pub report_findings: Option<Stored<Vec<Finding>>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub report_reported_on: Option<NaiveDate>,
}

/// The inbox: flags of the clients the principal may see, most urgent first, in one statement.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    status: &str,
    level: Option<&str>,
    client_id: Option<ClientId>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<InboxRow>> {
    diesel::sql_query(
        "SELECT f.*, c.name AS client_name, p.stage AS plan_stage, p.level AS plan_level,
                p.status AS plan_status, r.timing AS report_timing, r.findings AS report_findings,
                r.reported_on AS report_reported_on
           FROM flags f
           JOIN clients c ON c.id = f.client_id
           LEFT JOIN symptom_reports r ON r.id = f.report_id
           LEFT JOIN plans p ON p.client_id = c.id AND p.status IN ('active', 'paused')
          WHERE f.organization_id = $1
            AND ($2::uuid IS NULL OR c.coach_id = $2)
            AND (f.level <> 'mood' OR c.coach_id = $8)
            AND f.status = $3
            AND ($4::text IS NULL OR f.level = $4)
            AND ($5::uuid IS NULL OR f.client_id = $5)
            AND ($6::uuid IS NULL
                 OR f.severity < (SELECT severity FROM flags WHERE id = $6)
                 OR (f.severity = (SELECT severity FROM flags WHERE id = $6) AND f.id > $6))
          ORDER BY f.severity DESC, f.id
          LIMIT $7",
    )
    .bind::<diesel::sql_types::Uuid, _>(principal.organization_id)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(policy::client_list_restriction(principal))
    .bind::<Text, _>(status)
    .bind::<Nullable<Text>, _>(level)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(client_id)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(mood_reader(principal))
    .load(conn)
    .await
}

/// The one person besides the client who may see her `mood` flags and mood screens: her
/// coach. A signed-in person (never a service token) whose id this is sees them where she
/// is that client's coach.
pub fn mood_reader(principal: &Principal) -> Option<UserId> {
    principal
        .service_token
        .is_none()
        .then_some(principal.user_id)
}
