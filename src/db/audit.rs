//! The audit trail: one appended row per write, in the same transaction as the write.

use diesel::prelude::Insertable;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::schema::audit_events;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    ServiceToken(Uuid),
    Engine,
    System,
}

impl Actor {
    fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            Actor::User(id) => ("user", Some(id)),
            Actor::ServiceToken(id) => ("service_token", Some(id)),
            Actor::Engine => ("engine", None),
            Actor::System => ("system", None),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    id: Uuid,
    organization_id: Uuid,
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
    organization_id: Uuid,
    actor: Actor,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    changes: Value,
) -> diesel::QueryResult<()> {
    let (actor_type, actor_id) = actor.parts();
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: Uuid::now_v7(),
            organization_id,
            actor_type,
            actor_id,
            action,
            entity,
            entity_id,
            changes,
        })
        .execute(conn)
        .await
        .map(|_| ())
}
