//! What each webhook event carries in its `data`: one type per event, so that the sender, the
//! OpenAPI document's `webhooks` and a receiver's generated types are one declaration. Minimal on
//! purpose: ids, levels, stages and times, never names or free text; the rest is read through
//! the API with the ids.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::plan::{PlanStatus, TransitionAction};
use crate::domain::program::StageKey;
use crate::domain::triage::{FlagLevel, Timing, TriageLevel, Urgency};

/// `flag.opened` (a report opened a flag) and `flag.emergency` (a report with an emergency
/// sign opened or joined one).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookFlagOpened {
    pub flag_id: Uuid,
    pub client_id: Uuid,
    pub level: FlagLevel,
    pub urgency: Urgency,
    /// The report that opened or joined the flag.
    pub report_id: Uuid,
    pub opened_at: DateTime<Utc>,
}

/// `flag.resolved`: a coach resolved a flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookFlagResolved {
    pub flag_id: Uuid,
    pub client_id: Uuid,
    pub level: FlagLevel,
    /// The coach (user id) who resolved it.
    pub resolved_by: Uuid,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Where a plan was or is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookPlanPosition {
    pub stage: StageKey,
    pub level: Option<i32>,
    pub status: PlanStatus,
}

/// Who moved a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookActor {
    /// `user`, `service_token` or `engine`.
    #[serde(rename = "type")]
    pub actor_type: crate::domain::identity::ActorType,
    /// The user's or service token's id; none for the engine.
    pub id: Option<Uuid>,
}

/// `plan.transitioned`: a plan moved, by a coach's transition or the engine's own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookPlanTransitioned {
    pub transition_id: Uuid,
    pub plan_id: Uuid,
    pub client_id: Uuid,
    pub action: TransitionAction,
    pub from: WebhookPlanPosition,
    pub to: WebhookPlanPosition,
    pub actor: WebhookActor,
    pub created_at: DateTime<Utc>,
}

/// `symptom_report.created`: a client (or her coach) sent a symptom report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSymptomReportCreated {
    pub report_id: Uuid,
    pub client_id: Uuid,
    pub triage_level: TriageLevel,
    pub timing: Timing,
    pub reported_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// `client.imported`: an import committed; its counts (list clients with `updated_since` for
/// the rows).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookClientImported {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub plans_started: u64,
}

/// `check_in.created`: a recovery check-in was sent (its id and day; never her answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookCheckInCreated {
    pub check_in_id: Uuid,
    pub client_id: Uuid,
    pub checked_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// `webhook.test`: the message `POST /v1/webhooks/{id}/test` sends.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookTest {
    pub endpoint_id: Uuid,
    pub message: String,
}

/// An event's `data` as JSON, for the outbox.
pub fn data(event: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(event).expect("webhook data serializes")
}
