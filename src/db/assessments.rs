//! Assessments: a clinician's postnatal check or pelvic-health assessment of a client, and the
//! day impact was last cleared, kept on her record for the gate.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{assessments, clients};
use crate::domain::assessment::AssessmentKind;
use crate::domain::ids::{ClientId, OrganizationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assessments)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub kind: AssessmentKind,
    pub assessed_on: NaiveDate,
    pub clinician: String,
    pub modified_oxford: Option<i16>,
    pub inter_recti_distance_mm: Option<i16>,
    pub prolapse_symptoms: Option<bool>,
    pub scar_healed: Option<bool>,
    pub perineum_healed: Option<bool>,
    pub impact_cleared: bool,
    pub notes: Option<String>,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &AssessmentRow,
) -> QueryResult<AssessmentRow> {
    diesel::insert_into(assessments::table)
        .values(row)
        .returning(AssessmentRow::as_returning())
        .get_result(conn)
        .await
}

/// Her assessments in id order, a page after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AssessmentRow>> {
    let mut query = assessments::table
        .filter(assessments::client_id.eq(client_id))
        .select(AssessmentRow::as_select())
        .order(assessments::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(assessments::id.gt(after));
    }
    query.load(conn).await
}

/// All of her assessments (export, FHIR).
pub async fn all_for_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<Vec<AssessmentRow>> {
    list(conn, client_id, None, i64::MAX).await
}

/// One of her assessments.
pub async fn find(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    id: Uuid,
) -> QueryResult<Option<AssessmentRow>> {
    assessments::table
        .filter(assessments::id.eq(id))
        .filter(assessments::client_id.eq(client_id))
        .select(AssessmentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Keeps on her record the latest day a pelvic-health assessment cleared her for impact.
pub async fn note_impact_cleared(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    on: NaiveDate,
) -> QueryResult<()> {
    diesel::update(clients::table.find(client_id))
        .filter(
            clients::impact_cleared_on
                .is_null()
                .or(clients::impact_cleared_on.lt(on)),
        )
        .set(clients::impact_cleared_on.eq(on))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes her assessments (erasure); how many.
pub async fn forget_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<usize> {
    diesel::delete(assessments::table.filter(assessments::client_id.eq(client_id)))
        .execute(conn)
        .await
}

/// The ids of her assessments (erasure scrubs the audit trail of them).
pub async fn ids_of(conn: &mut AsyncPgConnection, client_id: ClientId) -> QueryResult<Vec<Uuid>> {
    assessments::table
        .filter(assessments::client_id.eq(client_id))
        .select(assessments::id)
        .load(conn)
        .await
}

/// Organization-scoped lookup for the sync feed.
pub async fn by_ids(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    ids: &[Uuid],
) -> QueryResult<Vec<AssessmentRow>> {
    assessments::table
        .filter(assessments::organization_id.eq(organization_id))
        .filter(assessments::id.eq_any(ids))
        .select(AssessmentRow::as_select())
        .load(conn)
        .await
}
