//! The change feed: `GET /v1/sync` hands an app every change to the records in its caller's
//! reach, in an order that never skips one, deletions and losses of reach included, so that a
//! phone can work offline and a dashboard can follow a caseload without reading it again.

use std::collections::HashMap;

use actix_web::{get, web};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::assessments::AssessmentView;
use super::check_ins::CheckInView;
use super::clients::ClientView;
use super::docs::{CursorExpired, ReadErrors};
use super::extract::QueryParams;
use super::plans::{PlanView, TransitionView};
use super::reports::{FlagView, SymptomReportView};
use super::workouts::{ReadinessResultView, SessionLogView};
use crate::db::sync::{self, Change, Position, Reach, Records};
use crate::domain::identity::Principal;
use crate::domain::identity::Role;
use crate::domain::ids::{ClientId, UserId};
use crate::domain::plan::PlanStatus;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_changes);
}

/// How long deletions stay in the feed: a cursor older than that gets 410 and starts again.
pub const TOMBSTONE_DAYS: i64 = 30;
pub const DEFAULT_SYNC_PAGE: u32 = 100;
pub const MAX_SYNC_PAGE: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Changes per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500, example = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; omit for a first sync.
    #[param(
        pattern = r"^[A-Za-z0-9_-]{32}$",
        example = "AAAAAAAAA-gAAAAAAAAAKgAAAAAAAAAA"
    )]
    pub cursor: Option<String>,
}

/// The kind of record a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncEntity {
    Client,
    Plan,
    PlanTransition,
    Session,
    ReadinessResult,
    SymptomReport,
    Flag,
    CheckIn,
    Assessment,
}

impl SyncEntity {
    pub const ALL: [SyncEntity; 9] = {
        use SyncEntity::*;
        [
            Client,
            Plan,
            PlanTransition,
            Session,
            ReadinessResult,
            SymptomReport,
            Flag,
            CheckIn,
            Assessment,
        ]
    };

    /// The schema of the record a change of this entity carries in `data`: the document's
    /// `SyncChange` has one variant per entity, told apart by `entity`.
    pub fn record_schema(self) -> &'static str {
        use SyncEntity::*;
        match self {
            Client => "ClientView",
            Plan => "PlanView",
            PlanTransition => "TransitionView",
            Session => "SessionLogView",
            ReadinessResult => "ReadinessResultView",
            SymptomReport => "SymptomReportView",
            Flag => "FlagView",
            CheckIn => "CheckInView",
            Assessment => "AssessmentView",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        use SyncEntity::*;
        Some(match s {
            "client" => Client,
            "plan" => Plan,
            "plan_transition" => PlanTransition,
            "session" => Session,
            "readiness_result" => ReadinessResult,
            "symptom_report" => SymptomReport,
            "flag" => Flag,
            "check_in" => CheckIn,
            "assessment" => Assessment,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncOp {
    /// Store `data` under `id`, replacing what the app holds.
    Upsert,
    /// Forget the record; for a `client`, forget her and every record of hers.
    Delete,
}

/// A record as its own GET returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SyncRecord {
    Client(ClientView),
    Plan(Box<PlanView>),
    PlanTransition(TransitionView),
    Session(SessionLogView),
    ReadinessResult(ReadinessResultView),
    SymptomReport(SymptomReportView),
    Flag(FlagView),
    CheckIn(CheckInView),
    Assessment(AssessmentView),
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncChange {
    pub entity: SyncEntity,
    pub id: Uuid,
    pub op: SyncOp,
    /// Grows with every change of the record: a copy with a higher version is newer.
    pub version: i64,
    /// The record now, as its own GET returns it (upserts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub data: Option<SyncRecord>,
}

/// One page of the feed. Apply `changes` in order, store `next_cursor`, and ask again while
/// `has_more`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "changes": [
        {"entity": "session", "id": "01937d00-aaaa-7bbb-8ccc-dddddddddddd", "op": "upsert", "version": 4182,
         "data": {"id": "01937d00-aaaa-7bbb-8ccc-dddddddddddd", "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
                  "plan_id": "01937c00-1111-7222-8333-444455556666", "performed_on": "2026-11-24", "stage": "jogging",
                  "level": 3, "completed": true, "duration_minutes": 32, "rpe": 5, "notes": null,
                  "created_at": "2026-11-24T08:10:00Z", "updated_at": "2026-11-24T08:10:00Z"}},
        {"entity": "client", "id": "01937b10-0000-7000-8000-00000000c0de", "op": "delete", "version": 4190}
    ],
    "next_cursor": "AAAAAAAAA_IAAAAAAAAQXgAAAAAAAAAA",
    "has_more": false
}))]
pub struct SyncPage {
    pub changes: Vec<SyncChange>,
    /// Where the next sync starts: always present; keep it even when `changes` is empty.
    #[schema(pattern = r"^[A-Za-z0-9_-]{32}$")]
    pub next_cursor: String,
    /// More changes are waiting: ask again at once with `next_cursor`.
    pub has_more: bool,
}

/// Where an app is in the feed, and how far the pruning of deletions had gone when it was
/// there: a cursor is expired only when deletions after it were pruned since it was issued (a
/// first sync that starts after a pruning walks through old positions safely).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    at: Position,
    /// `seq` of the newest pruned deletion when the cursor was issued.
    pruned: i64,
}

fn encode_cursor(c: Cursor) -> String {
    let mut bytes = [0u8; 24];
    bytes[..8].copy_from_slice(&c.at.commit.to_be_bytes());
    bytes[8..16].copy_from_slice(&c.at.seq.to_be_bytes());
    bytes[16..].copy_from_slice(&c.pruned.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(cursor: &str) -> Option<Cursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let bytes: [u8; 24] = bytes.try_into().ok()?;
    // Any 24 bytes are a place in the feed (one far past its end reads nothing): the documented
    // pattern is exactly what decodes.
    let word = |i: usize| {
        let n = u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    let c = Cursor {
        at: Position {
            commit: word(0),
            seq: word(8),
        },
        pruned: word(16),
    };
    Some(c)
}

impl SyncQuery {
    fn parse(&self) -> Result<(usize, Option<Cursor>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_SYNC_PAGE);
        if !(1..=MAX_SYNC_PAGE).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 500"));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                decode_cursor(c)
                    .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API gave out"))
            })
            .transpose()?;
        Ok((limit as usize, after))
    }
}

/// Whose records the caller's feed carries.
fn reach_of(principal: &Principal) -> Result<Reach, ApiError> {
    let organization_id = principal.organization_id;
    Ok(match principal.role {
        Role::Admin => Reach::Organization(organization_id),
        Role::Coach => Reach::Coach {
            organization_id,
            coach_id: principal.user_id,
        },
        Role::Client => Reach::Client {
            organization_id,
            client_id: principal.client_id.ok_or(ApiError::NotFound)?,
        },
    })
}

/// The change feed: every change in the caller's reach since `cursor`.
///
/// Oldest first: a client gets her own profile, plans, transitions, sessions, readiness
/// results and reports (her live plan with today's session); a coach, those of her clients and
/// their flags; an admin or a service token with `clients:read`, the whole practice's. A record deleted or moved out of
/// reach comes as a `delete`; a `client` delete means her and everything of hers. A change
/// committed late, even by a transaction that began early, still comes after the cursor.
/// Deletions are kept 30 days: an older cursor gets 410, and the app syncs again from scratch.
#[utoipa::path(tag = "sync", operation_id = "getChanges", security(("bearer" = [])),
    params(SyncQuery),
    responses((status = 200, description = "A page of changes", body = SyncPage), CursorExpired, ReadErrors))]
#[get("/v1/sync")]
pub async fn get_changes(
    state: web::Data<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<SyncQuery>,
) -> ApiResult<web::Json<SyncPage>> {
    let (limit, after) = query.parse()?;
    let reach = reach_of(&principal)?;
    let mut conn = state.pool.get().await?;
    let horizon = sync::horizon(&mut conn, after.map(|c| c.at.commit)).await?;
    let pruned = horizon.pruned;
    if horizon.restored_over {
        return Err(ApiError::Gone(
            "This cursor was issued after the backup the service's data was restored from; \
             sync again from the start (no cursor) and replace what the app holds."
                .into(),
        ));
    }
    if let Some(c) = after {
        if c.at < pruned && c.pruned != pruned.seq {
            return Err(ApiError::Gone(format!(
                "This cursor is older than the feed's {TOMBSTONE_DAYS} days of deletions; \
                 sync again from the start (no cursor) and replace what the app holds."
            )));
        }
    }
    let from = after.map(|c| c.at).unwrap_or_default();
    // Its own statement, before the page's: the page reads in a later snapshot.
    let settled = sync::settled_position(&mut conn, principal.organization_id).await?;
    let mut rows = sync::page(&mut conn, reach, from, settled, limit as i64 + 1).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = Cursor {
        at: rows.last().map(Change::position).unwrap_or(from),
        pruned: pruned.seq,
    };
    let changes = changes(&mut conn, &principal, reach, rows).await?;
    let mut read = std::collections::HashSet::new();
    for change in &changes {
        if let Some(client_id) = client_of(change).filter(|id| read.insert(*id)) {
            super::note_staff_read(&state, &principal, "sync.read", client_id);
        }
    }
    Ok(web::Json(SyncPage {
        changes,
        next_cursor: encode_cursor(next),
        has_more,
    }))
}

/// The client a served record belongs to.
fn client_of(change: &SyncChange) -> Option<ClientId> {
    Some(ClientId(match change.data.as_ref()? {
        SyncRecord::Client(c) => c.id,
        SyncRecord::Plan(p) => p.client_id,
        SyncRecord::PlanTransition(t) => t.client_id,
        SyncRecord::Session(s) => s.client_id,
        SyncRecord::ReadinessResult(r) => r.client_id,
        SyncRecord::SymptomReport(r) => r.client_id,
        SyncRecord::Flag(f) => f.client_id,
        SyncRecord::CheckIn(c) => c.client_id,
        SyncRecord::Assessment(a) => a.client_id,
    }))
}

/// The page's changes as served: each record once (its newest change), loaded as it is now;
/// upserts of records gone or out of reach since are left out (their delete follows), and a
/// coach's loss of a client she has since regained is left out too.
async fn changes(
    conn: &mut diesel_async::AsyncPgConnection,
    principal: &Principal,
    reach: Reach,
    rows: Vec<Change>,
) -> ApiResult<Vec<SyncChange>> {
    let mut newest: HashMap<(&str, Uuid), usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        newest.insert((row.entity.as_str(), row.entity_id), i);
    }
    let rows: Vec<&Change> = rows
        .iter()
        .enumerate()
        .filter(|(i, row)| newest[&(row.entity.as_str(), row.entity_id)] == *i)
        .map(|(_, row)| row)
        .collect();
    let coach_now: HashMap<ClientId, Option<UserId>> = match reach {
        Reach::Coach { .. } => {
            let mut ids: Vec<ClientId> = rows.iter().map(|r| r.client_id).collect();
            ids.sort_unstable();
            ids.dedup();
            sync::coaches(conn, &ids).await?.into_iter().collect()
        }
        _ => HashMap::new(),
    };
    let in_reach = |client_id: ClientId| match reach {
        Reach::Coach { coach_id, .. } => coach_now.get(&client_id) == Some(&Some(coach_id)),
        _ => true,
    };
    let upserts: Vec<&Change> = rows
        .iter()
        .copied()
        .filter(|r| r.op == "upsert" && in_reach(r.client_id))
        .collect();
    let loaded = sync::records(conn, &upserts).await?;
    let mut records = views(conn, principal, loaded).await?;
    let mut served = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(entity) = SyncEntity::parse(&row.entity) else {
            continue;
        };
        let op = if row.op == "delete" {
            // A coach who has her again keeps her.
            if row.coach_only && in_reach(row.client_id) {
                continue;
            }
            SyncOp::Delete
        } else {
            SyncOp::Upsert
        };
        let data = match op {
            SyncOp::Delete => None,
            SyncOp::Upsert => match records.remove(&(entity, row.entity_id)) {
                Some(record) => Some(record),
                None => continue,
            },
        };
        served.push(SyncChange {
            entity,
            id: row.entity_id,
            op,
            version: row.seq,
            data,
        });
    }
    Ok(served)
}

/// The loaded records as their GETs show them, by kind and id. A client's live plan carries
/// today's session, as her app needs it offline; staff feeds show plans as exports do.
async fn views(
    conn: &mut diesel_async::AsyncPgConnection,
    principal: &Principal,
    records: Records,
) -> ApiResult<HashMap<(SyncEntity, Uuid), SyncRecord>> {
    let mut views: HashMap<(SyncEntity, Uuid), SyncRecord> = HashMap::new();
    for c in records.clients {
        views.insert(
            (SyncEntity::Client, c.id.into()),
            SyncRecord::Client(c.into()),
        );
    }
    for plan in records.plans {
        let id = plan.id;
        let view = match principal.role {
            Role::Client
                if matches!(plan.state().status, PlanStatus::Active | PlanStatus::Paused) =>
            {
                super::plans::with_today(conn, principal, plan).await?
            }
            _ => PlanView::without_prescription(plan),
        };
        views.insert(
            (SyncEntity::Plan, id.into()),
            SyncRecord::Plan(Box::new(view)),
        );
    }
    for t in records.transitions {
        views.insert(
            (SyncEntity::PlanTransition, t.id),
            SyncRecord::PlanTransition(t.into()),
        );
    }
    for s in records.sessions {
        views.insert((SyncEntity::Session, s.id), SyncRecord::Session(s.into()));
    }
    for r in records.readiness {
        views.insert(
            (SyncEntity::ReadinessResult, r.id),
            SyncRecord::ReadinessResult(r.into()),
        );
    }
    for r in records.reports {
        views.insert(
            (SyncEntity::SymptomReport, r.id.into()),
            SyncRecord::SymptomReport(r.into()),
        );
    }
    // Her mood screen and `mood` flags reach her and her coach only: a coach's feed holds her
    // own clients; the practice's (an admin's, a token's) leaves them out.
    let mood =
        principal.service_token.is_none() && matches!(principal.role, Role::Client | Role::Coach);
    for f in records.flags {
        if mood || f.level != crate::domain::triage::FlagLevel::Mood {
            views.insert((SyncEntity::Flag, f.id), SyncRecord::Flag(f.into()));
        }
    }
    for c in records.check_ins {
        views.insert(
            (SyncEntity::CheckIn, c.id),
            SyncRecord::CheckIn(CheckInView::new(c, mood)),
        );
    }
    for a in records.assessments {
        views.insert(
            (SyncEntity::Assessment, a.id),
            SyncRecord::Assessment(a.into()),
        );
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let p = Cursor {
            at: Position {
                commit: 1_234_567,
                seq: 89,
            },
            pruned: 12,
        };
        let cursor = encode_cursor(p);
        assert_eq!(cursor.len(), 32);
        assert_eq!(decode_cursor(&cursor), Some(p));
        assert_eq!(decode_cursor("not a cursor"), None);
        // Past the end of the feed: the furthest place, never an error.
        let far = decode_cursor("__________________________________"[..32].as_ref()).unwrap();
        assert_eq!(far.at.commit, i64::MAX);
        assert_eq!(far.pruned, i64::MAX);
        let query = |limit, cursor: Option<&str>| SyncQuery {
            limit,
            cursor: cursor.map(String::from),
        };
        assert!(query(Some(0), None).parse().is_err());
        assert!(query(Some(501), None).parse().is_err());
        assert_eq!(query(None, None).parse().unwrap(), (100, None));
        assert_eq!(
            query(Some(500), Some(&cursor)).parse().unwrap(),
            (500, Some(p))
        );
        assert!(query(None, Some("AAAAAAAAAAAAAAAAAAAAAB")).parse().is_err());
    }
}
