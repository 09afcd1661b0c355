//! Recovery check-ins.

use super::columns::Stored;
use crate::domain::triage::Finding;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::check_ins;
use crate::domain::client::Breastfeeding;
use crate::domain::ids::{ClientId, OrganizationId, UserId};
use crate::domain::recovery::{CheckInFact, MoodScreen};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = check_ins)]
pub struct CheckIn {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub checked_on: NaiveDate,
    pub sleep_hours: f32,
    pub fatigue: i16,
    pub breastfeeding: Option<Breastfeeding>,
    pub periods_returned: Option<bool>,
    pub running_worry: Option<i16>,
    pub mood_little_interest: Option<i16>,
    pub mood_feeling_down: Option<i16>,
    pub advisories: Stored<Vec<Finding>>,
    pub request_digest: Vec<u8>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CheckIn {
    /// Her mood screen, when she answered it. The database's checks keep each answer in 0–3.
    pub fn mood_screen(&self) -> Option<MoodScreen> {
        let (a, b) = self.mood_little_interest.zip(self.mood_feeling_down)?;
        Some(MoodScreen {
            little_interest: a.clamp(0, 3) as u8,
            feeling_down: b.clamp(0, 3) as u8,
        })
    }

    /// As the rules see it. The database's checks keep every value in its range.
    pub fn fact(&self) -> CheckInFact {
        CheckInFact {
            id: self.id,
            date: self.checked_on,
            sleep_hours: self.sleep_hours,
            fatigue: self.fatigue.clamp(0, 10) as u8,
            breastfeeding: self.breastfeeding,
            periods_returned: self.periods_returned,
            running_worry: self.running_worry.map(|w| w.clamp(0, 10) as u8),
        }
    }
}

/// Stores a check-in; `None` when its id is taken (by any record of this kind).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    check_in: &CheckIn,
) -> QueryResult<Option<CheckIn>> {
    diesel::insert_into(check_ins::table)
        .values(check_in)
        .on_conflict_do_nothing()
        .returning(CheckIn::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
) -> QueryResult<Option<CheckIn>> {
    check_ins::table
        .find(id)
        .filter(check_ins::organization_id.eq(organization_id))
        .select(CheckIn::as_select())
        .first(conn)
        .await
        .optional()
}

/// Her check-ins about `since` or later, oldest first (by the day, then arrival).
pub async fn since(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    since: NaiveDate,
) -> QueryResult<Vec<CheckIn>> {
    check_ins::table
        .filter(check_ins::client_id.eq(client_id))
        .filter(check_ins::checked_on.ge(since))
        .order((
            check_ins::checked_on.asc(),
            check_ins::created_at.asc(),
            check_ins::id.asc(),
        ))
        .select(CheckIn::as_select())
        .load(conn)
        .await
}

/// Whether any check-in of hers says she was breastfeeding.
pub async fn ever_breastfed(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        check_ins::table
            .filter(check_ins::client_id.eq(client_id))
            .filter(check_ins::breastfeeding.eq_any(["exclusive", "partial"])),
    ))
    .get_result(conn)
    .await
}

/// A page of her check-ins, in the order they arrived.
pub async fn list(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CheckIn>> {
    let mut query = check_ins::table
        .filter(check_ins::client_id.eq(client_id))
        .select(CheckIn::as_select())
        .order((check_ins::created_at.asc(), check_ins::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(d) = since {
        query = query.filter(check_ins::checked_on.ge(d));
    }
    if let Some(d) = until {
        query = query.filter(check_ins::checked_on.le(d));
    }
    if let Some(after) = after {
        query = query.filter(arrived_after!(check_ins, after));
    }
    query.load(conn).await
}

/// Erasure: every check-in of hers.
pub async fn forget_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<usize> {
    diesel::delete(check_ins::table.filter(check_ins::client_id.eq(client_id)))
        .execute(conn)
        .await
}
