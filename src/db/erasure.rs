//! Erasure of a client: every row about her, in every table, goes, except the audit trail.
//! Its events about her stay, so "who saw or changed her data" survives her erasure, but with
//! her values removed: ids and field names only ([`super::audit::scrub`]). The audit table
//! refuses any other change or deletion (a trigger, see migration `000010_security`); this
//! routine alone opens it, for its own transaction. One more event records the erasure, with
//! counts and nothing personal.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{
    check_ins, clients, flags, plan_transitions, plans, readiness_results, session_logs,
    symptom_reports, users,
};
use crate::domain::ids::{ClientId, OrganizationId};

/// Deletes the client and everything of hers; returns how many rows each table lost.
pub async fn erase_client(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    client_id: ClientId,
) -> QueryResult<serde_json::Map<String, serde_json::Value>> {
    let (about_her, user_ids) = ids_about_her(conn, client_id).await?;
    let mut counts = serde_json::Map::new();
    let mut count = |table: &str, n: usize| {
        counts.insert(table.into(), n.into());
    };
    count(
        "audit_events_scrubbed",
        super::audit::scrub_events(conn, &about_her, &user_ids).await?,
    );
    // Answers kept for idempotent retries hold her records as they were sent.
    count(
        "idempotency_keys",
        super::idempotency::forget_mentioning(conn, organization_id, &about_her).await?,
    );
    count(
        "webhook_events",
        super::webhooks::forget_client(conn, client_id).await?,
    );
    delete_records(conn, client_id, &mut count).await?;
    // The change feed keeps only her deletion (added as her row goes) and earlier losses of
    // reach, which each coach who had her needs.
    count(
        "sync_changes",
        super::sync::forget_client(conn, client_id).await?,
    );
    // Her login, with its refresh tokens and invitations (cascading); every instance of the
    // service refuses its access tokens once this commits.
    super::users::announce_token_change(conn, &user_ids).await?;
    count(
        "users",
        diesel::delete(users::table.filter(users::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "clients",
        diesel::delete(clients::table.find(client_id))
            .execute(conn)
            .await?,
    );
    Ok(counts)
}

/// Her id and the ids of every record about her (plans, sessions, readiness results, her
/// login, reports, flags, check-ins, assessments), and her login's ids apart.
async fn ids_about_her(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
) -> QueryResult<(Vec<Uuid>, Vec<Uuid>)> {
    let plan_ids: Vec<Uuid> = plans::table
        .filter(plans::client_id.eq(client_id))
        .select(plans::id)
        .load(conn)
        .await?;
    let session_ids: Vec<Uuid> = session_logs::table
        .filter(session_logs::client_id.eq(client_id))
        .select(session_logs::id)
        .load(conn)
        .await?;
    let result_ids: Vec<Uuid> = readiness_results::table
        .filter(readiness_results::client_id.eq(client_id))
        .select(readiness_results::id)
        .load(conn)
        .await?;
    let report_ids: Vec<Uuid> = symptom_reports::table
        .filter(symptom_reports::client_id.eq(client_id))
        .select(symptom_reports::id)
        .load(conn)
        .await?;
    let check_in_ids: Vec<Uuid> = check_ins::table
        .filter(check_ins::client_id.eq(client_id))
        .select(check_ins::id)
        .load(conn)
        .await?;
    let flag_ids: Vec<Uuid> = flags::table
        .filter(flags::client_id.eq(client_id))
        .select(flags::id)
        .load(conn)
        .await?;
    let user_ids: Vec<Uuid> = users::table
        .filter(users::client_id.eq(client_id))
        .select(users::id)
        .load(conn)
        .await?;
    let assessment_ids = super::assessments::ids_of(conn, client_id).await?;
    let mut about_her: Vec<Uuid> = vec![client_id.0];
    about_her.extend(&assessment_ids);
    about_her.extend(&plan_ids);
    about_her.extend(&session_ids);
    about_her.extend(&result_ids);
    about_her.extend(&user_ids);
    about_her.extend(&report_ids);
    about_her.extend(&flag_ids);
    about_her.extend(&check_in_ids);
    Ok((about_her, user_ids))
}

/// Deletes her records, reports first (flags point at their first report, checked at commit),
/// counting what each table lost.
async fn delete_records(
    conn: &mut AsyncPgConnection,
    client_id: ClientId,
    count: &mut impl FnMut(&str, usize),
) -> QueryResult<()> {
    count(
        "symptom_reports",
        diesel::delete(symptom_reports::table.filter(symptom_reports::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "flags",
        diesel::delete(flags::table.filter(flags::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "readiness_results",
        diesel::delete(readiness_results::table.filter(readiness_results::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "session_logs",
        diesel::delete(session_logs::table.filter(session_logs::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "check_ins",
        super::check_ins::forget_client(conn, client_id).await?,
    );
    count(
        "engine_runs",
        super::engine_runs::forget_client(conn, client_id).await?,
    );
    count(
        "plan_transitions",
        diesel::delete(plan_transitions::table.filter(plan_transitions::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    count(
        "plans",
        diesel::delete(plans::table.filter(plans::client_id.eq(client_id)))
            .execute(conn)
            .await?,
    );
    // After her plans: an individual jogging date may cite one.
    count(
        "assessments",
        super::assessments::forget_client(conn, client_id).await?,
    );
    Ok(())
}
