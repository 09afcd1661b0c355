//! Programs and their published versions. A version never changes once published.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{program_versions, programs};
use crate::domain::ids::OrganizationId;
use crate::domain::program::{self, Stage};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = programs)]
pub struct Program {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub key: String,
    pub name: String,
    pub current_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = program_versions)]
pub struct ProgramVersionRow {
    pub program_id: Uuid,
    pub version: i32,
    pub name: String,
    pub stages: serde_json::Value,
    pub published_by: Option<Uuid>,
    pub published_at: DateTime<Utc>,
}

/// A program at one version, with its stages.
#[derive(Debug, Clone)]
pub struct ProgramVersion {
    pub program: Program,
    pub version: i32,
    pub name: String,
    pub stages: Vec<Stage>,
    pub published_at: DateTime<Utc>,
}

impl ProgramVersion {
    fn from_rows(program: Program, row: ProgramVersionRow) -> QueryResult<Self> {
        let stages: Vec<Stage> = serde_json::from_value(row.stages)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        Ok(Self {
            program,
            version: row.version,
            name: row.name,
            stages,
            published_at: row.published_at,
        })
    }
}

fn stages_json(stages: &[Stage]) -> serde_json::Value {
    serde_json::to_value(stages).expect("stages serialize")
}

pub fn is_duplicate_key(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("programs_organization_id_key_key")
    )
}

/// Creates a program at version 1.
pub async fn create(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    key: &str,
    name: &str,
    stages: &[Stage],
    published_by: Option<Uuid>,
) -> QueryResult<ProgramVersion> {
    let program: Program = diesel::insert_into(programs::table)
        .values((
            programs::id.eq(Uuid::now_v7()),
            programs::organization_id.eq(organization_id),
            programs::key.eq(key),
            programs::name.eq(name),
        ))
        .returning(Program::as_returning())
        .get_result(conn)
        .await?;
    let row = diesel::insert_into(program_versions::table)
        .values((
            program_versions::program_id.eq(program.id),
            program_versions::organization_id.eq(organization_id),
            program_versions::version.eq(1),
            program_versions::name.eq(name),
            program_versions::stages.eq(stages_json(stages)),
            program_versions::published_by.eq(published_by),
        ))
        .returning(ProgramVersionRow::as_returning())
        .get_result(conn)
        .await?;
    ProgramVersion::from_rows(program, row)
}

/// Every new organization starts with Return to Running Postpartum.
pub async fn create_default(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
) -> QueryResult<ProgramVersion> {
    create(
        conn,
        organization_id,
        program::DEFAULT_PROGRAM_KEY,
        program::DEFAULT_PROGRAM_NAME,
        &program::default_stages(),
        None,
    )
    .await
}

/// Publishes a new version of a program; locks the program row so versions never collide.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    id: Uuid,
    name: &str,
    stages: &[Stage],
    published_by: Uuid,
) -> QueryResult<ProgramVersion> {
    let current: Program = programs::table
        .find(id)
        .filter(programs::organization_id.eq(organization_id))
        .select(Program::as_select())
        .for_update()
        .first(conn)
        .await?;
    let version = current.current_version + 1;
    let row = diesel::insert_into(program_versions::table)
        .values((
            program_versions::program_id.eq(id),
            program_versions::organization_id.eq(organization_id),
            program_versions::version.eq(version),
            program_versions::name.eq(name),
            program_versions::stages.eq(stages_json(stages)),
            program_versions::published_by.eq(published_by),
        ))
        .returning(ProgramVersionRow::as_returning())
        .get_result(conn)
        .await?;
    let program = diesel::update(programs::table.find(id))
        .set((
            programs::current_version.eq(version),
            programs::name.eq(name),
            programs::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Program::as_returning())
        .get_result(conn)
        .await?;
    ProgramVersion::from_rows(program, row)
}

/// A program of the organization at `version` (default: its current one).
pub async fn find<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    id: Uuid,
    version: Option<i32>,
) -> QueryResult<ProgramVersion> {
    let program: Program = programs::table
        .find(id)
        .filter(programs::organization_id.eq(organization_id))
        .select(Program::as_select())
        .first(conn)
        .await?;
    let row = program_versions::table
        .find((id, version.unwrap_or(program.current_version)))
        .select(ProgramVersionRow::as_select())
        .first(conn)
        .await?;
    ProgramVersion::from_rows(program, row)
}

pub async fn find_by_key(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    key: &str,
) -> QueryResult<Option<Program>> {
    programs::table
        .filter(programs::organization_id.eq(organization_id))
        .filter(programs::key.eq(key))
        .select(Program::as_select())
        .first(conn)
        .await
        .optional()
}

/// A page of the organization's programs at their current versions.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ProgramVersion>> {
    let mut query = programs::table
        .inner_join(
            program_versions::table.on(program_versions::program_id
                .eq(programs::id)
                .and(program_versions::version.eq(programs::current_version))),
        )
        .filter(programs::organization_id.eq(organization_id))
        .select((Program::as_select(), ProgramVersionRow::as_select()))
        .order(programs::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(programs::id.gt(after));
    }
    query
        .load::<(Program, ProgramVersionRow)>(conn)
        .await?
        .into_iter()
        .map(|(p, v)| ProgramVersion::from_rows(p, v))
        .collect()
}

/// Published versions never change, so their stages are read once per process and kept.
type StageCache = std::sync::RwLock<
    std::collections::HashMap<(Uuid, i32), (OrganizationId, std::sync::Arc<Vec<Stage>>)>,
>;

fn stage_cache() -> &'static StageCache {
    static CACHE: std::sync::OnceLock<StageCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The stages of the program version `plan` pinned.
pub async fn stages_of<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    plan: &super::plans::Plan,
) -> QueryResult<std::sync::Arc<Vec<Stage>>> {
    pinned_stages(
        conn,
        plan.organization_id,
        plan.program_id,
        plan.program_version,
    )
    .await
}

/// The stages of a published version (the one a plan pinned), from memory after the first read.
pub async fn pinned_stages<C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>>(
    conn: &mut C,
    organization_id: OrganizationId,
    id: Uuid,
    version: i32,
) -> QueryResult<std::sync::Arc<Vec<Stage>>> {
    if let Some((owner, stages)) = stage_cache()
        .read()
        .expect("cache lock")
        .get(&(id, version))
    {
        return if *owner == organization_id {
            Ok(stages.clone())
        } else {
            Err(diesel::result::Error::NotFound)
        };
    }
    let program = find(conn, organization_id, id, Some(version)).await?;
    let stages = std::sync::Arc::new(program.stages);
    stage_cache()
        .write()
        .expect("cache lock")
        .insert((id, version), (organization_id, stages.clone()));
    Ok(stages)
}
