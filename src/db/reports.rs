//! Symptom reports and the flags they raise.

use super::CachedExt;
use crate::domain::webhook::EventType;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{flags, symptom_reports};
use crate::auth::policy;
use crate::auth::Principal;
use crate::domain::triage::TriageLevel;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = symptom_reports)]
pub struct SymptomReport {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub stage: Option<String>,
    pub level: Option<i32>,
    pub timing: String,
    pub reported_on: NaiveDate,
    pub symptoms: serde_json::Value,
    pub triage_level: String,
    pub findings: serde_json::Value,
    pub advisories: serde_json::Value,
    pub max_pain: i16,
    pub pelvic_symptom: bool,
    pub urine_leak: Option<String>,
    pub notes: Option<String>,
    pub recommendation: Option<serde_json::Value>,
    pub flag_id: Option<Uuid>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SymptomReport {
    pub fn triage_level(&self) -> TriageLevel {
        TriageLevel::parse(&self.triage_level).unwrap_or(TriageLevel::Amber)
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    report: &SymptomReport,
) -> QueryResult<SymptomReport> {
    let report = diesel::insert_into(symptom_reports::table)
        .values(report)
        .returning(SymptomReport::as_returning())
        .cached()
        .get_result(conn)
        .await?;
    super::webhooks::enqueue(
        conn,
        report.organization_id,
        EventType::SymptomReportCreated.as_str(),
        Some(report.client_id),
        serde_json::json!({
            "report_id": report.id, "client_id": report.client_id,
            "triage_level": report.triage_level, "timing": report.timing,
            "reported_on": report.reported_on, "created_at": report.created_at,
        }),
    )
    .await?;
    Ok(report)
}

pub async fn set_outcome(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    flag_id: Option<Uuid>,
    recommendation: Option<&serde_json::Value>,
) -> QueryResult<SymptomReport> {
    diesel::update(symptom_reports::table.find(id))
        .set((
            symptom_reports::flag_id.eq(flag_id),
            symptom_reports::recommendation.eq(recommendation),
        ))
        .returning(SymptomReport::as_returning())
        .cached()
        .get_result(conn)
        .await
}

/// A report by id within the organization (for idempotent replays and reads).
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
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

/// Whether the client's previous reports at this step had pelvic symptoms, newest first.
pub async fn earlier_pelvic_at_step(
    conn: &mut AsyncPgConnection,
    plan_id: Uuid,
    stage: &str,
    level: Option<i32>,
) -> QueryResult<Vec<bool>> {
    let mut query = symptom_reports::table
        .filter(symptom_reports::plan_id.eq(plan_id))
        .filter(symptom_reports::stage.eq(stage))
        .select(symptom_reports::pelvic_symptom)
        .order(symptom_reports::id.desc())
        .limit(2)
        .into_boxed();
    query = match level {
        Some(l) => query.filter(symptom_reports::level.eq(l)),
        None => query.filter(symptom_reports::level.is_null()),
    };
    query.load(conn).await
}

/// The reports of a plan since a moment, oldest first.
pub async fn for_plan_since<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    plan_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<SymptomReport>> {
    symptom_reports::table
        .filter(symptom_reports::plan_id.eq(plan_id))
        .filter(symptom_reports::created_at.ge(since))
        .select(SymptomReport::as_select())
        .order(symptom_reports::id.asc())
        .load(conn)
        .await
}

/// (date, max pain) of the client's reports on or after `since`.
pub async fn pain_since<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    client_id: Uuid,
    since: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, i16)>> {
    symptom_reports::table
        .filter(symptom_reports::client_id.eq(client_id))
        .filter(symptom_reports::reported_on.ge(since))
        .select((symptom_reports::reported_on, symptom_reports::max_pain))
        .load(conn)
        .await
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
    client_id: Uuid,
    filter: &ReportFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<SymptomReport>> {
    let mut query = symptom_reports::table
        .filter(symptom_reports::client_id.eq(client_id))
        .select(SymptomReport::as_select())
        .order(symptom_reports::id.asc())
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
        query = query.filter(symptom_reports::id.gt(after));
    }
    query.load(conn).await
}

// ---- flags ----

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = flags)]
pub struct Flag {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub level: String,
    pub severity: i16,
    pub status: String,
    pub report_id: Uuid,
    pub report_count: i32,
    pub last_report_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub resolution_note: Option<String>,
    pub updated_at: DateTime<Utc>,
}

fn severity(level: TriageLevel) -> i16 {
    match level {
        TriageLevel::Green => 0,
        TriageLevel::Amber => 1,
        TriageLevel::RedPelvic => 2,
        TriageLevel::RedMedical => 3,
    }
}

/// Opens a flag for a report, or adds the report to the open flag of the same level.
/// Returns the flag and whether it is new.
pub async fn raise_flag(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    client_id: Uuid,
    level: TriageLevel,
    report_id: Uuid,
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
    if let Some(flag) = existing {
        return Ok((flag, false));
    }
    let flag = diesel::insert_into(flags::table)
        .values((
            flags::id.eq(Uuid::now_v7()),
            flags::organization_id.eq(organization_id),
            flags::client_id.eq(client_id),
            flags::level.eq(level.as_str()),
            flags::severity.eq(severity(level)),
            flags::report_id.eq(report_id),
        ))
        .returning(Flag::as_returning())
        .cached()
        .get_result(conn)
        .await?;
    super::webhooks::enqueue(
        conn,
        organization_id,
        EventType::FlagOpened.as_str(),
        Some(client_id),
        serde_json::json!({
            "flag_id": flag.id, "client_id": client_id, "level": flag.level,
            "report_id": report_id, "opened_at": flag.opened_at,
        }),
    )
    .await?;
    Ok((flag, true))
}

pub async fn all_flags_for_client(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
) -> QueryResult<Vec<Flag>> {
    flags::table
        .filter(flags::client_id.eq(client_id))
        .select(Flag::as_select())
        .order(flags::id.asc())
        .load(conn)
        .await
}

/// Levels of the client's open flags.
pub async fn open_levels<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    client_id: Uuid,
) -> QueryResult<Vec<TriageLevel>> {
    let levels: Vec<String> = flags::table
        .filter(flags::client_id.eq(client_id))
        .filter(flags::status.eq("open"))
        .select(flags::level)
        .load(conn)
        .await?;
    Ok(levels
        .iter()
        .filter_map(|l| TriageLevel::parse(l))
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
    Ok((flag, client))
}

/// When a coach last resolved one of the client's flags.
pub async fn last_resolution<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    client_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    flags::table
        .filter(flags::client_id.eq(client_id))
        .select(diesel::dsl::max(flags::resolved_at))
        .first(conn)
        .await
}

/// Resolves an open flag; `None` when it was not open (any more).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    by: Uuid,
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
    if let Some(flag) = &resolved {
        super::webhooks::enqueue(
            conn,
            flag.organization_id,
            EventType::FlagResolved.as_str(),
            Some(flag.client_id),
            serde_json::json!({
                "flag_id": flag.id, "client_id": flag.client_id, "level": flag.level,
                "resolved_by": by, "resolved_at": flag.resolved_at,
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
    pub plan_stage: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int4>)]
    pub plan_level: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_status: Option<String>,
    #[diesel(sql_type = Text)]
    pub report_timing: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub report_findings: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub report_reported_on: NaiveDate,
}

/// The inbox: flags of the clients the principal may see, most urgent first, in one statement.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    status: &str,
    level: Option<&str>,
    client_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<InboxRow>> {
    diesel::sql_query(
        "SELECT f.*, c.name AS client_name, p.stage AS plan_stage, p.level AS plan_level,
                p.status AS plan_status, r.timing AS report_timing, r.findings AS report_findings,
                r.reported_on AS report_reported_on
           FROM flags f
           JOIN clients c ON c.id = f.client_id
           JOIN symptom_reports r ON r.id = f.report_id
           LEFT JOIN plans p ON p.client_id = c.id AND p.status IN ('active', 'paused')
          WHERE f.organization_id = $1
            AND ($2::uuid IS NULL OR c.coach_id = $2)
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
    .load(conn)
    .await
}
