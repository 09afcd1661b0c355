//! Clients: the new mothers of an organization. Every client-scoped query starts from
//! `find_accessible`, which applies the access policy: anything out of reach is `NotFound`.

use super::CachedExt;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::clients;
use crate::domain::assessment::is_oasi;
use crate::domain::client::{days_postpartum, ClientFacts, ClientStatus, DeliveryType};
use crate::domain::identity::Principal;
use crate::domain::ids::{ClientId, OrganizationId, PlanId, UserId};
use crate::domain::plan::PlanStatus;
use crate::domain::policy::{self, ClientOwnership};
use crate::domain::program::StageKey;
use crate::domain::triage::TriageLevel;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize)]
#[diesel(table_name = clients)]
pub struct Client {
    pub id: ClientId,
    pub organization_id: OrganizationId,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub coach_id: Option<UserId>,
    pub delivery_date: NaiveDate,
    pub delivery_type: DeliveryType,
    pub perineal_tear_grade: Option<i16>,
    pub breastfeeding: bool,
    pub cleared_for_exercise: bool,
    pub cleared_on: Option<NaiveDate>,
    pub cleared_by: Option<UserId>,
    pub status: ClientStatus,
    pub notes: Option<String>,
    pub timezone: String,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After a caesarean birth: the day her scar was cleared, by which clinician, recorded by
    /// whom.
    pub caesarean_scar_cleared_on: Option<NaiveDate>,
    pub caesarean_scar_clinician: Option<String>,
    pub caesarean_scar_recorded_by: Option<UserId>,
    /// The day of her latest pelvic-health assessment that cleared her for impact (it lifts
    /// the hold a third- or fourth-degree tear puts on lunges and jogging).
    pub impact_cleared_on: Option<NaiveDate>,
}

impl Client {
    /// Today where she lives.
    pub fn today(&self) -> NaiveDate {
        crate::domain::client::day_in(&self.timezone, Utc::now())
    }

    /// What the rules need to know about her on `today`, with her live plan's individual
    /// jogging gate (`plans.jogging_gate_on`, if any).
    pub fn facts(&self, jogging_gate_on: Option<NaiveDate>, today: NaiveDate) -> ClientFacts {
        ClientFacts {
            days_postpartum: days_postpartum(self.delivery_date, today),
            cleared_for_exercise: self.cleared_for_exercise,
            delivery_type: self.delivery_type,
            caesarean_scar_cleared: self.caesarean_scar_cleared_on.is_some(),
            jogging_gate_day: jogging_gate_on.map(|on| days_postpartum(self.delivery_date, on)),
            oasi_hold: is_oasi(self.perineal_tear_grade) && self.impact_cleared_on.is_none(),
        }
    }

    pub fn ownership(&self) -> ClientOwnership {
        ClientOwnership {
            id: self.id,
            organization_id: self.organization_id,
            coach_id: self.coach_id,
        }
    }
}

/// The values of a new client, already validated.
#[derive(Debug, Clone, Insertable, AsChangeset, serde::Serialize)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientFields {
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub coach_id: Option<UserId>,
    pub delivery_date: NaiveDate,
    pub delivery_type: DeliveryType,
    pub perineal_tear_grade: Option<i16>,
    pub breastfeeding: bool,
    pub cleared_for_exercise: bool,
    pub cleared_on: Option<NaiveDate>,
    pub cleared_by: Option<UserId>,
    pub status: ClientStatus,
    pub notes: Option<String>,
    pub timezone: String,
}

impl From<&Client> for ClientFields {
    fn from(c: &Client) -> Self {
        Self {
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            coach_id: c.coach_id,
            delivery_date: c.delivery_date,
            delivery_type: c.delivery_type,
            perineal_tear_grade: c.perineal_tear_grade,
            breastfeeding: c.breastfeeding,
            cleared_for_exercise: c.cleared_for_exercise,
            cleared_on: c.cleared_on,
            cleared_by: c.cleared_by,
            status: c.status,
            notes: c.notes.clone(),
            timezone: c.timezone.clone(),
        }
    }
}

/// Which uniqueness rule a write broke, if any.
pub fn duplicate_of(e: &diesel::result::Error) -> Option<&'static str> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => match info.constraint_name() {
            Some("clients_organization_external_id_key") => Some("external_id"),
            Some("clients_organization_email_key") => Some("email"),
            _ => None,
        },
        _ => None,
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    fields: &ClientFields,
) -> QueryResult<Client> {
    diesel::insert_into(clients::table)
        .values((
            clients::id.eq(Uuid::now_v7()),
            clients::organization_id.eq(organization_id),
            fields,
        ))
        .returning(Client::as_returning())
        .cached()
        .get_result(conn)
        .await
}

/// The client, if the principal may touch her; `NotFound` otherwise (existence is never
/// revealed). `lock` takes a row lock for a write.
pub async fn find_accessible<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    principal: &Principal,
    id: ClientId,
    lock: bool,
) -> QueryResult<Client> {
    let query = clients::table
        .find(id)
        .filter(clients::organization_id.eq(principal.organization_id))
        .select(Client::as_select());
    let client = if lock {
        query.for_update().first(conn).await?
    } else {
        query.first(conn).await?
    };
    accessible(principal, client)
}

/// The client if the principal may reach her; `NotFound` otherwise (out of reach looks the
/// same as nonexistent).
pub fn accessible(principal: &Principal, client: Client) -> QueryResult<Client> {
    if policy::may_access_client(principal, &client.ownership()) {
        Ok(client)
    } else {
        Err(diesel::result::Error::NotFound)
    }
}

/// Saves new values and bumps the revision; `NotFound` when `expected_revision` is stale.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: ClientId,
    expected_revision: i32,
    fields: &ClientFields,
) -> QueryResult<Option<Client>> {
    diesel::update(
        clients::table
            .find(id)
            .filter(clients::revision.eq(expected_revision)),
    )
    .set((
        fields,
        clients::revision.eq(clients::revision + 1),
        clients::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Client::as_returning())
    .cached()
    .get_result(conn)
    .await
    .optional()
}

/// Marks the client changed (a plan, session or result of hers), for `updated_since` syncs.
pub async fn touch(conn: &mut AsyncPgConnection, id: ClientId) -> QueryResult<()> {
    diesel::update(clients::table.find(id))
        .set(clients::updated_at.eq(diesel::dsl::now))
        .cached()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether `coach_id` is an active coach of the organization.
pub async fn is_coach_of(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    coach_id: UserId,
) -> QueryResult<bool> {
    use super::schema::users;
    diesel::select(diesel::dsl::exists(
        users::table
            .find(coach_id)
            .filter(users::organization_id.eq(organization_id))
            .filter(users::role.eq("coach"))
            .filter(users::deactivated_at.is_null()),
    ))
    .get_result(conn)
    .await
}

/// One row of the dashboard list: the client and what a coach needs at a glance.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClientSummaryRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub coach_id: Option<UserId>,
    #[diesel(sql_type = Text)]
    pub status: ClientStatus,
    #[diesel(sql_type = Date)]
    pub delivery_date: NaiveDate,
    #[diesel(sql_type = Bool)]
    pub cleared_for_exercise: bool,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub plan_id: Option<PlanId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub stage: Option<StageKey>,
    #[diesel(sql_type = Nullable<Int4>)]
    pub level: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_status: Option<PlanStatus>,
    #[diesel(sql_type = BigInt)]
    pub sessions_last_14_days: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_report_triage: Option<TriageLevel>,
    #[diesel(sql_type = Nullable<Date>)]
    pub last_report_on: Option<NaiveDate>,
    #[diesel(sql_type = BigInt)]
    pub open_red_medical: i64,
    #[diesel(sql_type = BigInt)]
    pub open_red_pelvic: i64,
    #[diesel(sql_type = BigInt)]
    pub open_amber: i64,
}

#[derive(Debug, Default, Clone)]
pub struct ClientFilter {
    pub status: Option<String>,
    pub stage: Option<String>,
    pub coach_id: Option<UserId>,
    /// Matched against name, email and external id, case-insensitively.
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Only clients with an open flag of this level.
    pub flag: Option<String>,
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A page of the clients the principal may see, with their summaries, in one statement.
///
/// Each part of a row is found by index from her id, so a page costs the same whatever the
/// practice holds. Her live plan (at most one, by `plans_one_live_per_client`) is a lateral
/// probe: as a plain join, PostgreSQL merged the page with that index in id order, walking the
/// live plans of every organization whose ids fall between the page's first and last.
pub async fn list_summaries(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    filter: &ClientFilter,
    today: NaiveDate,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ClientSummaryRow>> {
    let only_coach = policy::client_list_restriction(principal);
    diesel::sql_query(
        "SELECT c.id, c.external_id, c.name, c.email, c.coach_id, c.status, c.delivery_date,
                c.cleared_for_exercise, c.updated_at,
                p.id AS plan_id, p.stage, p.level, p.status AS plan_status,
                (SELECT count(*) FROM session_logs s
                  WHERE s.client_id = c.id AND s.performed_on > $9 - 14) AS sessions_last_14_days,
                lr.triage_level AS last_report_triage, lr.reported_on AS last_report_on,
                fl.red_medical AS open_red_medical, fl.red_pelvic AS open_red_pelvic, fl.amber AS open_amber
           FROM clients c
           LEFT JOIN LATERAL (SELECT p.id, p.stage, p.level, p.status FROM plans p
                               WHERE p.client_id = c.id AND p.status IN ('active', 'paused')
                               LIMIT 1) p ON true
           LEFT JOIN LATERAL (SELECT r.triage_level, r.reported_on FROM symptom_reports r
                               WHERE r.client_id = c.id
                               ORDER BY r.created_at DESC, r.id DESC LIMIT 1) lr ON true
           CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE f.level = 'red_medical') AS red_medical,
                                      count(*) FILTER (WHERE f.level = 'red_pelvic') AS red_pelvic,
                                      count(*) FILTER (WHERE f.level = 'amber') AS amber
                                 FROM flags f WHERE f.client_id = c.id AND f.status = 'open') fl
          WHERE c.organization_id = $1
            AND ($2::uuid IS NULL OR c.coach_id = $2)
            AND ($3::uuid IS NULL OR c.coach_id = $3)
            AND ($4::text IS NULL OR c.status = $4)
            AND ($5::text IS NULL OR p.stage = $5)
            AND ($6::text IS NULL OR c.name ILIKE $6 OR c.email ILIKE $6 OR c.external_id ILIKE $6)
            AND ($7::timestamptz IS NULL OR c.updated_at >= $7)
            AND ($8::uuid IS NULL OR c.id > $8)
            AND ($11::text IS NULL OR EXISTS (SELECT 1 FROM flags f2
                  WHERE f2.client_id = c.id AND f2.status = 'open' AND f2.level = $11))
          ORDER BY c.id
          LIMIT $10",
    )
    .bind::<diesel::sql_types::Uuid, _>(principal.organization_id)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(only_coach)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(filter.coach_id)
    .bind::<Nullable<Text>, _>(filter.status.as_deref())
    .bind::<Nullable<Text>, _>(filter.stage.as_deref())
    .bind::<Nullable<Text>, _>(filter.q.as_deref().map(like_pattern))
    .bind::<Nullable<Timestamptz>, _>(filter.updated_since)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<Date, _>(today)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<Text>, _>(filter.flag.as_deref())
    .load(conn)
    .await
}

/// Records (or, with `None`, withdraws) her caesarean scar clearance: the day, the clinician,
/// who recorded it.
pub async fn set_scar_clearance(
    conn: &mut AsyncPgConnection,
    id: ClientId,
    clearance: Option<(NaiveDate, &str, UserId)>,
) -> QueryResult<Client> {
    diesel::update(clients::table.find(id))
        .set((
            clients::caesarean_scar_cleared_on.eq(clearance.map(|c| c.0)),
            clients::caesarean_scar_clinician.eq(clearance.map(|c| c.1)),
            clients::caesarean_scar_recorded_by.eq(clearance.map(|c| c.2)),
            clients::revision.eq(clients::revision + 1),
            clients::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Client::as_returning())
        .get_result(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
