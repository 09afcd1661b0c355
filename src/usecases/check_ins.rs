//! Her daily check-in: sleep, fatigue and how she feels, which R11 weighs, with a mood screen
//! that asks her coach to look after her when it needs to.

use crate::domain::trace::RunCauseKind;
use chrono::{Duration, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{changed, check_day, ChosenId, FirstWrite};
use crate::db::audit::{self, Entry};
use crate::db::check_ins::{self, CheckIn};
use crate::db::clients::{self, Client};
use crate::db::columns::Stored;
use crate::db::engine_runs::{self, Cause};
use crate::db::{reports, webhooks};
use crate::domain::client::Breastfeeding;
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::domain::recovery::{self, MoodScreen};
use crate::domain::webhook::{events, EventType};
use crate::error::{ApiError, ApiResult};

/// A check-in as she sends it.
pub struct Answers {
    pub id: ChosenId,
    pub checked_on: Option<NaiveDate>,
    pub sleep_hours: f32,
    pub fatigue: u8,
    pub breastfeeding: Option<Breastfeeding>,
    pub periods_returned: Option<bool>,
    pub running_worry: Option<u8>,
    pub mood_screen: Option<MoodScreen>,
}

/// What a check-in leaves: the record, her, her plan's new recommendation, and whether it is
/// new (`false` for a retry, which gets the first answer).
pub struct Recorded {
    pub check_in: CheckIn,
    pub client: Client,
    pub recommendation: Option<Recommendation>,
    pub created: bool,
}

/// Records her check-in with its advisories; a mood screen that needs support opens (or joins)
/// a mood flag for her coach; the engine reruns.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    answers: Answers,
) -> ApiResult<Recorded> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        if let Some(existing) = answers.id.id {
            if let Some(first) = check_ins::find(conn, principal.organization_id, existing).await? {
                let written = FirstWrite {
                    entity: "check_in",
                    id: first.id,
                    client_id: first.client_id,
                    fingerprint: &first.request_digest,
                    recorded_by: first.recorded_by,
                };
                answers
                    .id
                    .replay(conn, principal, written, client.id)
                    .await?;
                let check_in = first;
                let run = engine_runs::for_cause(conn, client.id, check_in.id).await?;
                let recommendation = run
                    .map(|r| serde_json::from_value(r.recommendation))
                    .transpose()
                    .map_err(anyhow::Error::from)?;
                return Ok(Recorded {
                    check_in,
                    client,
                    recommendation,
                    created: false,
                });
            }
        }
        let today = client.today();
        let checked_on = answers.checked_on.unwrap_or(today);
        check_day(&client, checked_on, "checked_on")?;
        let row = new_row(conn, principal, &client, &answers, checked_on).await?;
        let Some(check_in) = check_ins::insert(conn, &row).await? else {
            return Err(ApiError::IdInUse);
        };
        let event = Entry::new(
            principal.actor(),
            "check_in.create",
            "check_in",
            check_in.id,
            serde_json::json!({"client_id": client.id, "checked_on": check_in.checked_on,
                "mood_screen": answers.mood_screen.is_some()}),
        );
        let cause = Cause::new(RunCauseKind::CheckIn, check_in.id);
        let recommendation = changed(conn, &client, event, Some(cause)).await?;
        if answers.mood_screen.is_some_and(MoodScreen::needs_support) {
            ask_her_coach(conn, principal, &client, &check_in).await?;
        }
        webhooks::enqueue(
            conn,
            client.organization_id,
            EventType::CheckInCreated.as_str(),
            Some(client.id),
            events::data(&events::WebhookCheckInCreated {
                check_in_id: check_in.id,
                client_id: client.id.0,
                checked_on: check_in.checked_on,
                created_at: check_in.created_at,
            }),
        )
        .await?;
        Ok(Recorded {
            check_in,
            client,
            recommendation,
            created: true,
        })
    })
    .await
}

/// The check-in to store, with the advisories of her last four weeks of check-ins.
async fn new_row(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client: &Client,
    answers: &Answers,
    checked_on: NaiveDate,
) -> ApiResult<CheckIn> {
    let today = client.today();
    let now = Utc::now();
    let mut row = CheckIn {
        id: answers.id.new_id(),
        organization_id: client.organization_id,
        client_id: client.id,
        checked_on,
        sleep_hours: answers.sleep_hours,
        fatigue: i16::from(answers.fatigue),
        breastfeeding: answers.breastfeeding,
        periods_returned: answers.periods_returned,
        running_worry: answers.running_worry.map(i16::from),
        mood_little_interest: answers.mood_screen.map(|m| i16::from(m.little_interest)),
        mood_feeling_down: answers.mood_screen.map(|m| i16::from(m.feeling_down)),
        advisories: Stored(Vec::new()),
        request_digest: answers.id.fingerprint.clone(),
        recorded_by: Some(principal.user_id),
        created_at: now,
        updated_at: now,
    };
    let window = today - Duration::days(recovery::ADVISORY_DAYS - 1);
    let mut recent: Vec<_> = check_ins::since(conn, client.id, window)
        .await?
        .iter()
        .map(CheckIn::fact)
        .collect();
    recent.push(row.fact());
    let breastfed = client.breastfeeding || check_ins::ever_breastfed(conn, client.id).await?;
    row.advisories = Stored(recovery::advisories(today, &recent, breastfed));
    Ok(row)
}

/// A mood screen that needs support opens a mood flag for her coach, or joins the open one.
async fn ask_her_coach(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client: &Client,
    check_in: &CheckIn,
) -> ApiResult<()> {
    let (flag, opened) =
        reports::raise_mood_flag(conn, client.organization_id, client.id, check_in.id).await?;
    let action = if opened {
        "mood_flag.open"
    } else {
        "mood_flag.add_check_in"
    };
    // Its own entity, which the audit trail serves to nobody who may not see her mood.
    audit::record(
        conn,
        client.organization_id,
        principal.actor(),
        action,
        audit::MOOD_FLAG,
        flag.id,
        serde_json::json!({"client_id": client.id, "check_in_id": check_in.id,
            "report_count": flag.report_count}),
    )
    .await?;
    Ok(())
}
