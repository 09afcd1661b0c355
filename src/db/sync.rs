//! The change feed's log (`sync_changes`, written by triggers: see migrations
//! `000014_sync_feed` and `000025_feed_commit_order`). A position is (commit position,
//! sequence): each transaction that logs changes for a practice gets its commit position when
//! it commits, under the practice's feed lock. A page first reads the newest settled position
//! ([`settled_position`]), waiting only for its own practice's commits in their last moment,
//! so a change that commits later always sorts after any position already handed out, and no
//! transaction of another practice, however long, holds a page back.
//! Rows name records, never hold them: the records are loaded as they are when the page is read.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::assessments::AssessmentRow;
use super::check_ins::CheckIn;
use super::clients::Client;
use super::plans::{Plan, Transition};
use super::reports::{Flag, SymptomReport};
use super::schema::{
    assessments, check_ins, clients, flags, plan_transitions, plans, readiness_results,
    session_logs, symptom_reports,
};
use super::workouts::{ReadinessResult, SessionLog};
use super::CachedExt;
use crate::domain::ids::{ClientId, OrganizationId, UserId};

type SqlUuid = diesel::sql_types::Uuid;

/// A place in the feed: after the change `seq` of the transaction that committed at `commit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub commit: i64,
    pub seq: i64,
}

/// Whose records a feed carries.
#[derive(Debug, Clone, Copy)]
pub enum Reach {
    /// The whole practice (an admin, or a service token that may read clients).
    Organization(OrganizationId),
    /// A coach's own clients.
    Coach {
        organization_id: OrganizationId,
        coach_id: UserId,
    },
    /// A client herself: her records, but not the flags about her (they are for her coach).
    Client {
        organization_id: OrganizationId,
        client_id: ClientId,
    },
}

/// One change, as logged.
#[derive(Debug, Clone, QueryableByName)]
pub struct Change {
    #[diesel(sql_type = BigInt)]
    pub commit: i64,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = SqlUuid)]
    pub client_id: ClientId,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = SqlUuid)]
    pub entity_id: Uuid,
    #[diesel(sql_type = Text)]
    pub op: String,
    /// A change of reach, for the coach alone.
    #[diesel(sql_type = Bool)]
    pub coach_only: bool,
}

impl Change {
    pub fn position(&self) -> Position {
        Position {
            commit: self.commit,
            seq: self.seq,
        }
    }
}

/// Whose changes a statement reads: its filter, and what `$1` and `$2` are.
fn filter(reach: Reach) -> (&'static str, OrganizationId, Uuid) {
    match reach {
        // `$2` is the organization again: every statement binds the same parameters (`$1` is
        // the organization in every page's own condition).
        Reach::Organization(organization_id) => (
            "AND s.organization_id = $2 AND NOT s.coach_only",
            organization_id,
            organization_id.0,
        ),
        Reach::Coach {
            organization_id,
            coach_id,
        } => ("AND s.coach_id = $2", organization_id, coach_id.0),
        Reach::Client {
            organization_id,
            client_id,
        } => (
            "AND s.client_id = $2 AND NOT s.coach_only AND s.entity <> 'flag'",
            organization_id,
            client_id.0,
        ),
    }
}

#[derive(QueryableByName)]
struct Settled {
    #[diesel(sql_type = BigInt)]
    settled: i64,
}

/// The newest commit position a page of this practice may read: every transaction with a
/// position up to it has ended, and any that commits later gets a higher one. Waits only for
/// the practice's own commits in their last moment (they hold its feed lock from taking their
/// position until they are visible). Call it on its own, outside a transaction, before
/// [`page`]: the page's snapshot must be taken after it.
pub async fn settled_position(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
) -> QueryResult<i64> {
    let row: Settled = diesel::sql_query("SELECT sync_settled_position($1) AS settled")
        .bind::<SqlUuid, _>(organization_id)
        .cached()
        .get_result(conn)
        .await?;
    Ok(row.settled)
}

/// Up to `limit` changes in `reach` after `after` and at most at the commit position
/// `settled`, in feed order.
pub async fn page(
    conn: &mut AsyncPgConnection,
    reach: Reach,
    after: Position,
    settled: i64,
    limit: i64,
) -> QueryResult<Vec<Change>> {
    let (filter, organization_id, who) = filter(reach);
    diesel::sql_query(format!(
        "SELECT k.commit_seq AS commit, s.seq, s.client_id, s.entity, s.entity_id, s.op,
                s.coach_only
           FROM sync_commits k
           JOIN sync_changes s ON s.organization_id = k.organization_id AND s.txid = k.txid
          WHERE k.organization_id = $1 AND k.commit_seq >= $3 AND k.commit_seq <= $6
            AND (k.commit_seq, s.seq) > ($3, $4) {filter}
          ORDER BY k.commit_seq, s.seq LIMIT $5"
    ))
    .bind::<SqlUuid, _>(organization_id)
    .bind::<SqlUuid, _>(who)
    .bind::<BigInt, _>(after.commit)
    .bind::<BigInt, _>(after.seq)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(settled)
    .cached()
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct HorizonRow {
    #[diesel(sql_type = BigInt)]
    commit_seq: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    restored_over: bool,
}

/// Where the feed's history ends for a cursor at commit position `at`.
pub struct Horizon {
    /// The newest position whose deletions were pruned: a cursor before it may have missed one.
    pub pruned: Position,
    /// `at` lies in a gap a restore left (`runback restore`): the cursor was issued after the
    /// backup, from data the restore took away.
    pub restored_over: bool,
}

/// The feed's horizon for a cursor at commit position `at` (`None`: no cursor).
pub async fn horizon(conn: &mut AsyncPgConnection, at: Option<i64>) -> QueryResult<Horizon> {
    let row: HorizonRow = diesel::sql_query(
        "SELECT h.commit_seq, h.seq,
                EXISTS (SELECT 1 FROM sync_restores r
                         WHERE $1 >= r.gap_from AND $1 < r.gap_to) AS restored_over
           FROM sync_horizon h",
    )
    .bind::<diesel::sql_types::Nullable<BigInt>, _>(at)
    .cached()
    .get_result(conn)
    .await?;
    Ok(Horizon {
        pruned: Position {
            commit: row.commit_seq,
            seq: row.seq,
        },
        restored_over: row.restored_over,
    })
}

/// The log's upkeep, safe to run on every instance at once: keeps only the newest change of
/// each record (per coach, and per change of reach), and forgets deletions recorded before
/// `older_than`, moving the horizon past them, then the commit positions no change refers to
/// any more. Returns (superseded, pruned) row counts.
pub async fn maintain(
    conn: &mut AsyncPgConnection,
    older_than: DateTime<Utc>,
) -> QueryResult<(usize, usize)> {
    let superseded = diesel::sql_query(
        "DELETE FROM sync_changes s USING (
             SELECT entity, entity_id, coach_id, coach_only, max(seq) AS newest
               FROM sync_changes GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) n
          WHERE s.entity = n.entity AND s.entity_id = n.entity_id
            AND s.coach_id IS NOT DISTINCT FROM n.coach_id AND s.coach_only = n.coach_only
            AND s.seq < n.newest",
    )
    .execute(conn)
    .await?;
    let pruned: Count = diesel::sql_query(
        "WITH gone AS (
             DELETE FROM sync_changes WHERE op = 'delete' AND recorded_at < $1
             RETURNING txid, organization_id, seq),
         newest AS (SELECT k.commit_seq, gone.seq FROM gone
                      JOIN sync_commits k ON k.txid = gone.txid
                                         AND k.organization_id = gone.organization_id
                     ORDER BY k.commit_seq DESC, gone.seq DESC LIMIT 1),
         moved AS (
             UPDATE sync_horizon h SET commit_seq = newest.commit_seq, seq = newest.seq
               FROM newest
              WHERE (newest.commit_seq, newest.seq) > (h.commit_seq, h.seq) RETURNING 1)
         SELECT count(*) AS n FROM gone",
    )
    .bind::<Timestamptz, _>(older_than)
    .get_result(conn)
    .await?;
    let pruned = usize::try_from(pruned.n).unwrap_or(usize::MAX);
    diesel::sql_query(
        "DELETE FROM sync_commits k
          WHERE k.commit_seq IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM sync_changes s
                             WHERE s.organization_id = k.organization_id AND s.txid = k.txid)",
    )
    .execute(conn)
    .await?;
    Ok((superseded, pruned))
}

/// Forgets every change about an erased client but her deletions, which each coach who had
/// her still needs.
pub async fn forget_client(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM sync_changes WHERE client_id = $1 AND NOT (entity = 'client' AND op = 'delete')",
    )
    .bind::<SqlUuid, _>(client_id)
    .execute(conn)
    .await
}

/// Her coach now, for each of these clients that still exists.
pub async fn coaches(
    conn: &mut AsyncPgConnection,
    client_ids: &[ClientId],
) -> QueryResult<Vec<(ClientId, Option<UserId>)>> {
    clients::table
        .filter(clients::id.eq_any(client_ids))
        .select((clients::id, clients::coach_id))
        .load(conn)
        .await
}

/// The records named by a page, as they are now (those deleted since are missing).
#[derive(Default)]
pub struct Records {
    pub clients: Vec<Client>,
    pub plans: Vec<Plan>,
    pub transitions: Vec<Transition>,
    pub sessions: Vec<SessionLog>,
    pub readiness: Vec<ReadinessResult>,
    pub reports: Vec<SymptomReport>,
    pub flags: Vec<Flag>,
    pub check_ins: Vec<CheckIn>,
    pub assessments: Vec<AssessmentRow>,
}

/// The ids of the records of one kind that `changes` name.
fn ids(changes: &[&Change], entity: &str) -> Vec<Uuid> {
    changes
        .iter()
        .filter(|c| c.entity == entity)
        .map(|c| c.entity_id)
        .collect()
}

/// Loads the records of one kind by id, with no statement when there are none.
macro_rules! by_ids {
    ($conn:expr, $changes:expr, $entity:literal, $table:ident, $model:ty) => {{
        let wanted = ids($changes, $entity);
        if wanted.is_empty() {
            Vec::new()
        } else {
            $table::table
                .filter($table::id.eq_any(&wanted))
                .select(<$model>::as_select())
                .load($conn)
                .await?
        }
    }};
}

/// Loads the records that `changes` upsert, one statement per kind present.
pub async fn records(conn: &mut AsyncPgConnection, changes: &[&Change]) -> QueryResult<Records> {
    Ok(Records {
        clients: by_ids!(conn, changes, "client", clients, Client),
        plans: by_ids!(conn, changes, "plan", plans, Plan),
        transitions: by_ids!(
            conn,
            changes,
            "plan_transition",
            plan_transitions,
            Transition
        ),
        sessions: by_ids!(conn, changes, "session", session_logs, SessionLog),
        readiness: by_ids!(
            conn,
            changes,
            "readiness_result",
            readiness_results,
            ReadinessResult
        ),
        reports: by_ids!(
            conn,
            changes,
            "symptom_report",
            symptom_reports,
            SymptomReport
        ),
        flags: by_ids!(conn, changes, "flag", flags, Flag),
        check_ins: by_ids!(conn, changes, "check_in", check_ins, CheckIn),
        assessments: by_ids!(conn, changes, "assessment", assessments, AssessmentRow),
    })
}
