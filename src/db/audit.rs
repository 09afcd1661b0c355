//! The audit trail: one appended row per write, in the same transaction as the write.

use super::CachedExt;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::schema::audit_events;
use crate::domain::identity::ActorType;
use crate::domain::ids::{OrganizationId, UserId};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ServiceToken(Uuid),
    Engine,
    System,
}

impl crate::domain::identity::Principal {
    /// The actor recorded in the audit trail for this principal's writes.
    pub fn actor(&self) -> Actor {
        match &self.service_token {
            Some(t) => Actor::ServiceToken(t.id),
            None => Actor::User(self.user_id),
        }
    }
}

impl Actor {
    /// The audit trail's `actor_type` and `actor_id` for this actor.
    pub fn parts(self) -> (&'static str, Option<Uuid>) {
        let (kind, id) = match self {
            Actor::User(id) => (ActorType::User, Some(id.0)),
            Actor::ServiceToken(id) => (ActorType::ServiceToken, Some(id)),
            Actor::Engine => (ActorType::Engine, None),
            Actor::System => (ActorType::System, None),
        };
        (kind.as_str(), id)
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    id: Uuid,
    organization_id: OrganizationId,
    actor_type: &'a str,
    actor_id: Option<Uuid>,
    action: &'a str,
    entity: &'a str,
    entity_id: Uuid,
    changes: Value,
}

/// Appends one event: `actor` did `action` to `entity` `entity_id`, changing `changes`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    actor: Actor,
    action: &str,
    entity: &str,
    entity_id: impl Into<Uuid>,
    changes: Value,
) -> diesel::QueryResult<()> {
    Entry::new(actor, action, entity, entity_id, changes)
        .record(conn, organization_id)
        .await
}

/// An event to append, made when the change is made (its time-ordered id keeps the trail in
/// the order of the changes): with [`Entry::record`] on its own, or with other writes in one
/// statement through [`Columns`].
pub struct Entry<'a> {
    id: Uuid,
    actor: Actor,
    action: &'a str,
    entity: &'a str,
    entity_id: Uuid,
    changes: Value,
}

impl<'a> Entry<'a> {
    pub fn new(
        actor: Actor,
        action: &'a str,
        entity: &'a str,
        entity_id: impl Into<Uuid>,
        changes: Value,
    ) -> Self {
        Entry {
            id: Uuid::now_v7(),
            actor,
            action,
            entity,
            entity_id: entity_id.into(),
            changes,
        }
    }

    pub async fn record(
        self,
        conn: &mut AsyncPgConnection,
        organization_id: OrganizationId,
    ) -> diesel::QueryResult<()> {
        let (actor_type, actor_id) = self.actor.parts();
        diesel::insert_into(audit_events::table)
            .values(NewAuditEvent {
                id: self.id,
                organization_id,
                actor_type,
                actor_id,
                action: self.action,
                entity: self.entity,
                entity_id: self.entity_id,
                changes: self.changes,
            })
            .cached()
            .execute(conn)
            .await
            .map(|_| ())
    }
}

/// Events as column arrays, for a statement that appends them with
/// `INSERT INTO audit_events … SELECT … FROM unnest(…)` beside other writes.
#[derive(Default)]
pub struct Columns<'a> {
    pub ids: Vec<Uuid>,
    pub actor_types: Vec<&'static str>,
    pub actor_ids: Vec<Option<Uuid>>,
    pub actions: Vec<&'a str>,
    pub entities: Vec<&'a str>,
    pub entity_ids: Vec<Uuid>,
    pub changes: Vec<Value>,
}

impl<'a> FromIterator<Entry<'a>> for Columns<'a> {
    fn from_iter<I: IntoIterator<Item = Entry<'a>>>(entries: I) -> Self {
        let mut columns = Columns::default();
        for e in entries {
            let (actor_type, actor_id) = e.actor.parts();
            columns.ids.push(e.id);
            columns.actor_types.push(actor_type);
            columns.actor_ids.push(actor_id);
            columns.actions.push(e.action);
            columns.entities.push(e.entity);
            columns.entity_ids.push(e.entity_id);
            columns.changes.push(e.changes);
        }
        columns
    }
}

/// Staff reads of client data, recorded in batches. A read is cheap and frequent (a dashboard
/// polls), so it is not written by the request: the request notes it here and a background
/// task appends what was noted once a second, in one statement. The same caller reading the
/// same thing again within that second adds to the count of one event (`reads`), so a polling
/// dashboard costs one row a second, not one a request. What is noted but not yet written when
/// the process dies abruptly (at most a second's worth) is lost; a graceful stop writes it.
#[derive(Default)]
pub struct ReadLog {
    pending: std::sync::Mutex<std::collections::HashMap<ReadKey, PendingRead>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ReadKey {
    organization_id: OrganizationId,
    actor: (&'static str, Option<Uuid>),
    action: &'static str,
    entity: &'static str,
    entity_id: Uuid,
}

struct PendingRead {
    id: Uuid,
    first_at: DateTime<Utc>,
    reads: u64,
    what: Value,
}

/// How often noted reads are written.
pub const READ_LOG_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);

impl ReadLog {
    /// Notes that `actor` read `entity` `entity_id` (`what`: ids and names, never values).
    pub fn note(
        &self,
        organization_id: OrganizationId,
        actor: Actor,
        action: &'static str,
        entity: &'static str,
        entity_id: Uuid,
        what: Value,
    ) {
        let key = ReadKey {
            organization_id,
            actor: actor.parts(),
            action,
            entity,
            entity_id,
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .entry(key)
            .and_modify(|p| p.reads += 1)
            .or_insert_with(|| PendingRead {
                id: Uuid::now_v7(),
                first_at: Utc::now(),
                reads: 1,
                what,
            });
    }

    /// Writes what was noted; returns how many events.
    pub async fn flush(&self, conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        let noted = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if noted.is_empty() {
            return Ok(0);
        }
        let mut rows: Vec<(ReadKey, PendingRead)> = noted.into_iter().collect();
        rows.sort_by_key(|(_, p)| p.id);
        let n = rows.len();
        let mut ids = Vec::with_capacity(n);
        let mut organizations = Vec::with_capacity(n);
        let mut actor_types = Vec::with_capacity(n);
        let mut actor_ids = Vec::with_capacity(n);
        let mut actions = Vec::with_capacity(n);
        let mut entities = Vec::with_capacity(n);
        let mut entity_ids = Vec::with_capacity(n);
        let mut changes = Vec::with_capacity(n);
        let mut times = Vec::with_capacity(n);
        for (key, read) in rows {
            let mut what = read.what;
            if let Value::Object(map) = &mut what {
                map.insert("reads".into(), read.reads.into());
            }
            ids.push(read.id);
            organizations.push(key.organization_id);
            actor_types.push(key.actor.0);
            actor_ids.push(key.actor.1);
            actions.push(key.action);
            entities.push(key.entity);
            entity_ids.push(key.entity_id);
            changes.push(what);
            times.push(read.first_at);
        }
        use diesel::sql_types::{Array, Jsonb, Nullable, Text, Timestamptz};
        type SqlUuid = diesel::sql_types::Uuid;
        diesel::sql_query(
            "INSERT INTO audit_events (id, organization_id, actor_type, actor_id, action, entity,
                                       entity_id, changes, occurred_at)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[],
                                  $6::text[], $7::uuid[], $8::jsonb[], $9::timestamptz[])",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&organizations)
        .bind::<Array<Text>, _>(&actor_types)
        .bind::<Array<Nullable<SqlUuid>>, _>(&actor_ids)
        .bind::<Array<Text>, _>(&actions)
        .bind::<Array<Text>, _>(&entities)
        .bind::<Array<SqlUuid>, _>(&entity_ids)
        .bind::<Array<Jsonb>, _>(&changes)
        .bind::<Array<Timestamptz>, _>(&times)
        .execute(conn)
        .await?;
        Ok(n)
    }
}

/// One event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: ActorType,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    pub changes: Value,
}

/// The entity of a mood flag's events (`mood_flag.open`, `.add_check_in`, `.resolve`): kept in
/// the trail, served by [`list`] to nobody, since only she and her coach may know of her mood
/// and the trail's readers are the practice's admins and tokens.
pub const MOOD_FLAG: &str = "mood_flag";

/// Which events to list; every field narrows.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// The organization's events, newest first, continuing before `before`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .filter(audit_events::organization_id.eq(organization_id))
        .filter(audit_events::entity.ne(MOOD_FLAG))
        // Mood-flag events written before they had their own entity.
        .filter(diesel::dsl::not(audit_events::entity.eq("flag").and(
            diesel::dsl::sql::<diesel::sql_types::Bool>("COALESCE(changes->>'level', '') = 'mood'"),
        )))
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_events::entity.eq(entity.clone()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(id));
    }
    if let Some(id) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    query.load(conn).await
}

/// The events about these entities or by these actors, with their `changes` reduced to ids
/// and field names ([`scrub`]); returns how many events there were. Only for erasure: the
/// audit table refuses updates unless the transaction says it is erasing.
pub async fn scrub_events(
    conn: &mut AsyncPgConnection,
    entity_ids: &[Uuid],
    actor_ids: &[Uuid],
) -> QueryResult<usize> {
    let events: Vec<(Uuid, Value)> = audit_events::table
        .filter(
            audit_events::entity_id
                .eq_any(entity_ids)
                .or(audit_events::actor_id.eq_any(actor_ids)),
        )
        .select((audit_events::id, audit_events::changes))
        .load(conn)
        .await?;
    let (ids, changes): (Vec<Uuid>, Vec<Value>) = events
        .into_iter()
        .map(|(id, changes)| (id, scrub(&changes)))
        .unzip();
    diesel::sql_query("SELECT set_config('runback.erasure', 'on', true)")
        .execute(conn)
        .await?;
    diesel::sql_query(
        "UPDATE audit_events e SET changes = s.changes \
         FROM unnest($1::uuid[], $2::jsonb[]) AS s (id, changes) WHERE e.id = s.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Jsonb>, _>(&changes)
    .execute(conn)
    .await?;
    diesel::sql_query("SELECT set_config('runback.erasure', 'off', true)")
        .execute(conn)
        .await?;
    Ok(ids.len())
}

/// What an event may keep about a person once her data is erased: its field names and the
/// ids it mentions. Every other value (a name, a note, a pain score, a tear grade) becomes
/// `null`; arrays keep their ids and nested objects only.
pub fn scrub(changes: &Value) -> Value {
    scrub_except(changes, &[])
}

/// The values of a client's record an audit event keeps as they are: how she is managed, not
/// who she is or how her body is. Her name, contacts, birth, tear grade and notes are recorded
/// by field name only ([`scrub_except`]); the record itself holds the values.
pub const CLIENT_VALUES_KEPT: &[&str] = &[
    "status",
    "coach_id",
    "timezone",
    "cleared_for_exercise",
    "cleared_on",
];

/// [`scrub`], except that the values of the fields named in `keep` stay (at any depth).
pub fn scrub_except(changes: &Value, keep: &[&str]) -> Value {
    match changes {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = if keep.contains(&key.as_str()) {
                        value.clone()
                    } else {
                        scrub_except(value, keep)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| v.is_object() || is_id(v))
                .map(|v| scrub_except(v, keep))
                .collect(),
        ),
        v if is_id(v) => v.clone(),
        _ => Value::Null,
    }
}

fn is_id(value: &Value) -> bool {
    value.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok())
}

/// What changed between two states: `{field: {from, to}}` for every field that differs.
pub fn diff(before: &impl serde::Serialize, after: &impl serde::Serialize) -> Value {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Value::Object(Default::default());
    };
    let changed = after
        .into_iter()
        .filter(|(key, value)| before.get(key) != Some(value))
        .map(|(key, value)| {
            let from = before.get(&key).cloned().unwrap_or(Value::Null);
            (key, serde_json::json!({"from": from, "to": value}))
        })
        .collect();
    Value::Object(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_keeps_field_names_and_ids_only() {
        let plan = "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f";
        let changes = serde_json::json!({
            "name": {"from": "Ana Silva", "to": "Ana Lopes"},
            "perineal_tear_grade": 3,
            "notes": "leaks when she coughs",
            "plan_id": plan,
            "pain": [{"location": "pubic", "nrs": 4}],
            "report_ids": [plan, "not an id", 7],
        });
        assert_eq!(
            scrub(&changes),
            serde_json::json!({
                "name": {"from": null, "to": null},
                "perineal_tear_grade": null,
                "notes": null,
                "plan_id": plan,
                "pain": [{"location": null, "nrs": null}],
                "report_ids": [plan],
            })
        );
        assert_eq!(scrub(&scrub(&changes)), scrub(&changes), "idempotent");
    }

    #[test]
    fn the_named_fields_keep_their_values() {
        let changes = serde_json::json!({
            "status": {"from": "active", "to": "paused"},
            "notes": {"from": null, "to": "pelvic pain at night"},
            "perineal_tear_grade": 3,
        });
        assert_eq!(
            scrub_except(&changes, CLIENT_VALUES_KEPT),
            serde_json::json!({
                "status": {"from": "active", "to": "paused"},
                "notes": {"from": null, "to": null},
                "perineal_tear_grade": null,
            })
        );
    }

    #[test]
    fn diff_lists_only_changed_fields() {
        let before = serde_json::json!({"name": "Ana", "status": "active", "notes": null});
        let after = serde_json::json!({"name": "Ana", "status": "paused", "notes": "moved"});
        assert_eq!(
            diff(&before, &after),
            serde_json::json!({
                "status": {"from": "active", "to": "paused"},
                "notes": {"from": null, "to": "moved"}
            })
        );
    }
}
