//! Organizations (tenants): the practice and its settings.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::organizations;
use crate::domain::ids::OrganizationId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub auto_progress: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub country: Option<String>,
    pub emergency_number: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(Uuid::now_v7()),
            organizations::name.eq(name),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: OrganizationId) -> QueryResult<Organization> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub auto_progress: Option<bool>,
    /// `Some(None)` clears the setting.
    pub country: Option<Option<String>>,
    pub emergency_number: Option<Option<String>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: OrganizationId,
    changes: &OrganizationChanges,
) -> QueryResult<Organization> {
    diesel::update(organizations::table.find(id))
        .set((changes, organizations::updated_at.eq(diesel::dsl::now)))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}
