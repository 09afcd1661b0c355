//! Set-based writes for bulk imports: whole chunks of rows per statement through `UNNEST`,
//! never row by row.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Date, Int2, Int4, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::audit::Actor;
use super::clients::{Client, ClientFields};
use crate::domain::ids::{ClientId, OrganizationId, UserId};

type SqlUuid = diesel::sql_types::Uuid;

/// Rows per statement: large enough to amortise round trips, small enough to keep each
/// statement's memory modest.
pub const CHUNK: usize = 5_000;

/// The organization's clients with these external ids. (A join with the array rather than
/// `= ANY(array)`: a cached generic plan for the latter scans the whole table for each id.)
pub async fn existing_by_external_id(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    external_ids: &[String],
) -> QueryResult<Vec<Client>> {
    diesel::sql_query(
        "SELECT c.* FROM clients c JOIN UNNEST($2::text[]) AS u(external_id) ON c.external_id = u.external_id
          WHERE c.organization_id = $1",
    )
    .bind::<SqlUuid, _>(organization_id)
    .bind::<Array<Text>, _>(external_ids)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct EmailOwner {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
}

/// Lower-cased emails in use in the organization, with the external id that holds each.
pub async fn emails_in_use(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    emails: &[String],
) -> QueryResult<Vec<(String, Option<String>)>> {
    let rows: Vec<EmailOwner> = diesel::sql_query(
        "SELECT lower(c.email) AS email, c.external_id FROM clients c
           JOIN UNNEST($2::text[]) AS u(email) ON lower(c.email) = u.email
          WHERE c.organization_id = $1",
    )
    .bind::<SqlUuid, _>(organization_id)
    .bind::<Array<Text>, _>(emails)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.email, r.external_id)).collect())
}

/// Columns of `ClientFields`, one array each, for `UNNEST`.
#[derive(Default)]
struct Columns {
    id: Vec<ClientId>,
    external_id: Vec<Option<String>>,
    name: Vec<String>,
    email: Vec<Option<String>>,
    phone: Vec<Option<String>>,
    coach_id: Vec<Option<UserId>>,
    delivery_date: Vec<NaiveDate>,
    delivery_type: Vec<String>,
    perineal_tear_grade: Vec<Option<i16>>,
    breastfeeding: Vec<bool>,
    cleared_for_exercise: Vec<bool>,
    cleared_on: Vec<Option<NaiveDate>>,
    cleared_by: Vec<Option<UserId>>,
    status: Vec<String>,
    notes: Vec<Option<String>>,
    timezone: Vec<String>,
}

impl Columns {
    fn from_rows(rows: &[(ClientId, &ClientFields)]) -> Self {
        let mut c = Columns::default();
        for (id, f) in rows {
            c.id.push(*id);
            c.external_id.push(f.external_id.clone());
            c.name.push(f.name.clone());
            c.email.push(f.email.clone());
            c.phone.push(f.phone.clone());
            c.coach_id.push(f.coach_id);
            c.delivery_date.push(f.delivery_date);
            c.delivery_type.push(f.delivery_type.as_str().to_string());
            c.perineal_tear_grade.push(f.perineal_tear_grade);
            c.breastfeeding.push(f.breastfeeding);
            c.cleared_for_exercise.push(f.cleared_for_exercise);
            c.cleared_on.push(f.cleared_on);
            c.cleared_by.push(f.cleared_by);
            c.status.push(f.status.as_str().to_string());
            c.notes.push(f.notes.clone());
            c.timezone.push(f.timezone.clone());
        }
        c
    }
}

const UNNEST_CLIENT_COLUMNS: &str = "UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[],
        $8::date[], $9::text[], $10::int2[], $11::bool[], $12::bool[], $13::date[], $14::uuid[], $15::text[],
        $16::text[], $17::text[])
     AS u(id, external_id, name, email, phone, coach_id, delivery_date, delivery_type, perineal_tear_grade,
          breastfeeding, cleared_for_exercise, cleared_on, cleared_by, status, notes, timezone)";

macro_rules! bind_columns {
    ($query:expr, $c:expr) => {
        $query
            .bind::<Array<SqlUuid>, _>(&$c.id)
            .bind::<Array<Nullable<Text>>, _>(&$c.external_id)
            .bind::<Array<Text>, _>(&$c.name)
            .bind::<Array<Nullable<Text>>, _>(&$c.email)
            .bind::<Array<Nullable<Text>>, _>(&$c.phone)
            .bind::<Array<Nullable<SqlUuid>>, _>(&$c.coach_id)
            .bind::<Array<Date>, _>(&$c.delivery_date)
            .bind::<Array<Text>, _>(&$c.delivery_type)
            .bind::<Array<Nullable<Int2>>, _>(&$c.perineal_tear_grade)
            .bind::<Array<Bool>, _>(&$c.breastfeeding)
            .bind::<Array<Bool>, _>(&$c.cleared_for_exercise)
            .bind::<Array<Nullable<Date>>, _>(&$c.cleared_on)
            .bind::<Array<Nullable<SqlUuid>>, _>(&$c.cleared_by)
            .bind::<Array<Text>, _>(&$c.status)
            .bind::<Array<Nullable<Text>>, _>(&$c.notes)
            .bind::<Array<Text>, _>(&$c.timezone)
    };
}

/// Inserts new clients (with the ids given), a chunk per statement.
pub async fn insert_clients(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    rows: &[(ClientId, &ClientFields)],
) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let c = Columns::from_rows(chunk);
        let query = diesel::sql_query(format!(
            "INSERT INTO clients (organization_id, id, external_id, name, email, phone, coach_id, delivery_date,
                delivery_type, perineal_tear_grade, breastfeeding, cleared_for_exercise, cleared_on, cleared_by,
                status, notes, timezone)
             SELECT $1, u.* FROM {UNNEST_CLIENT_COLUMNS}"
        ))
        .bind::<SqlUuid, _>(organization_id);
        written += bind_columns!(query, c).execute(conn).await?;
    }
    Ok(written)
}

/// Overwrites existing clients (by id) with new values, bumping their revisions.
pub async fn update_clients(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    rows: &[(ClientId, &ClientFields)],
) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let c = Columns::from_rows(chunk);
        let query = diesel::sql_query(format!(
            "UPDATE clients c SET external_id = u.external_id, name = u.name, email = u.email, phone = u.phone,
                coach_id = u.coach_id, delivery_date = u.delivery_date, delivery_type = u.delivery_type,
                perineal_tear_grade = u.perineal_tear_grade, breastfeeding = u.breastfeeding,
                cleared_for_exercise = u.cleared_for_exercise, cleared_on = u.cleared_on, cleared_by = u.cleared_by,
                status = u.status, notes = u.notes, timezone = u.timezone,
                revision = c.revision + 1, updated_at = now()
             FROM {UNNEST_CLIENT_COLUMNS}
             WHERE c.id = u.id AND c.organization_id = $1"
        ))
        .bind::<SqlUuid, _>(organization_id);
        written += bind_columns!(query, c).execute(conn).await?;
    }
    Ok(written)
}

/// Appends one audit event per entity, a chunk per statement.
pub async fn record_audit_events(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    actor: Actor,
    action: &str,
    entity: &str,
    events: &[(Uuid, serde_json::Value)],
) -> QueryResult<()> {
    let (actor_type, actor_id) = actor.parts();
    for chunk in events.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let entity_ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
        let changes: Vec<&serde_json::Value> = chunk.iter().map(|(_, c)| c).collect();
        diesel::sql_query(
            "INSERT INTO audit_events (id, organization_id, actor_type, actor_id, action, entity, entity_id, changes)
             SELECT u.id, $1, $2, $3, $4, $5, u.entity_id, u.changes
               FROM UNNEST($6::uuid[], $7::uuid[], $8::jsonb[]) AS u(id, entity_id, changes)",
        )
        .bind::<SqlUuid, _>(organization_id)
        .bind::<Text, _>(actor_type)
        .bind::<Nullable<SqlUuid>, _>(actor_id)
        .bind::<Text, _>(action)
        .bind::<Text, _>(entity)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&entity_ids)
        .bind::<Array<Jsonb>, _>(&changes)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Starts plans at a program's first step for clients that have no live plan; returns the
/// (plan id, client id) pairs made.
pub async fn start_plans(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    rows: &[(ClientId, Uuid, i32, String, Option<i32>)],
    started_on: NaiveDate,
) -> QueryResult<Vec<(Uuid, ClientId)>> {
    #[derive(QueryableByName)]
    struct Made {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        client_id: ClientId,
    }
    let mut made = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let client_ids: Vec<ClientId> = chunk.iter().map(|r| r.0).collect();
        let program_ids: Vec<Uuid> = chunk.iter().map(|r| r.1).collect();
        let versions: Vec<i32> = chunk.iter().map(|r| r.2).collect();
        let stages: Vec<&str> = chunk.iter().map(|r| r.3.as_str()).collect();
        let levels: Vec<Option<i32>> = chunk.iter().map(|r| r.4).collect();
        let rows: Vec<Made> = diesel::sql_query(
            "INSERT INTO plans (id, organization_id, client_id, program_id, program_version, stage, level, status, started_on)
             SELECT u.id, $1, u.client_id, u.program_id, u.version, u.stage, u.level, 'active', $8
               FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::int4[], $6::text[], $7::int4[])
                    AS u(id, client_id, program_id, version, stage, level)
              WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.client_id = u.client_id AND p.status IN ('active', 'paused'))
             RETURNING id, client_id",
        )
        .bind::<SqlUuid, _>(organization_id)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&client_ids)
        .bind::<Array<SqlUuid>, _>(&program_ids)
        .bind::<Array<Int4>, _>(&versions)
        .bind::<Array<Text>, _>(&stages)
        .bind::<Array<Nullable<Int4>>, _>(&levels)
        .bind::<Date, _>(started_on)
        .load(conn)
        .await?;
        made.extend(rows.into_iter().map(|m| (m.id, m.client_id)));
    }
    Ok(made)
}
