//! Recovery check-ins: how she slept, how tired she is, feeding, periods, worry about running,
//! and a two-question mood screen (PHQ-2). They feed R11 (no advance while she is not
//! recovering), advisories worth a clinician's look, and a kind word when her mood screen is 3
//! or more. The mood screen's answers are shown to her and her coach only.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, Conflict, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody, QueryParams};
use super::idempotency::{Db, IdempotencyKey};
use super::{Page, PageQuery};
use crate::db::check_ins::{self, CheckIn};
use crate::db::clients::Client;
use crate::db::{clients, reports};
use crate::domain::client::Breastfeeding;
use crate::domain::engine::Recommendation;
use crate::domain::identity::Principal;
use crate::domain::recovery::{self, MoodScreen};
use crate::domain::triage::Finding;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;
use crate::usecases::{self, ChosenId};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(submit_check_in).service(list_check_ins);
}

/// A check-in as her app sends it: how she slept last night and how tired she is today are
/// needed; the rest is optional.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "sleep_hours": 5.5, "fatigue": 7, "breastfeeding": "partial", "periods_returned": false,
    "running_worry": 4, "mood_screen": {"little_interest": 1, "feeling_down": 1}
}))]
pub struct CheckInInput {
    /// Optional id made by the app, so a retry after a lost answer does not check in twice.
    pub id: Option<Uuid>,
    /// The day it is about (default: today in her time zone).
    pub checked_on: Option<NaiveDate>,
    /// Hours of sleep last night, 0–24.
    #[schema(minimum = 0, maximum = 24)]
    pub sleep_hours: f32,
    /// How tired she feels, 0 (not at all) to 10 (exhausted).
    #[schema(minimum = 0, maximum = 10)]
    pub fatigue: u8,
    pub breastfeeding: Option<Breastfeeding>,
    /// Whether her periods have come back since the birth.
    pub periods_returned: Option<bool>,
    /// How much running worries her, 0 (not at all) to 10.
    #[schema(minimum = 0, maximum = 10)]
    pub running_worry: Option<u8>,
    /// The PHQ-2 mood screen, both questions answered (0–3 each), or left out.
    pub mood_screen: Option<MoodScreen>,
}

impl CheckInInput {
    fn check(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if !(0.0..=24.0).contains(&self.sleep_hours) || self.sleep_hours.is_nan() {
            errors.push(FieldError::new("sleep_hours", "must be between 0 and 24"));
        }
        if self.fatigue > 10 {
            errors.push(FieldError::new("fatigue", "must be between 0 and 10"));
        }
        if self.running_worry.is_some_and(|w| w > 10) {
            errors.push(FieldError::new("running_worry", "must be between 0 and 10"));
        }
        if let Some(screen) = self.mood_screen {
            if screen.little_interest > 3 {
                errors.push(FieldError::new(
                    "mood_screen.little_interest",
                    "must be between 0 and 3",
                ));
            }
            if screen.feeling_down > 3 {
                errors.push(FieldError::new(
                    "mood_screen.feeling_down",
                    "must be between 0 and 3",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// The mood screen as stored: her two answers and their total.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoodScreenView {
    pub little_interest: u8,
    pub feeling_down: u8,
    /// The PHQ-2 total, 0–6; 3 or more asks for support.
    pub score: u8,
}

/// A stored check-in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000002",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "checked_on": "2026-12-08",
    "sleep_hours": 6.5,
    "fatigue": 4,
    "breastfeeding": "partial",
    "periods_returned": false,
    "running_worry": 3,
    "mood_screen": {
        "little_interest": 0,
        "feeling_down": 1,
        "score": 1
    },
    "advisories": [],
    "created_at": "2026-12-08T01:37:53Z",
    "updated_at": "2026-12-08T01:37:53Z"
}))]
pub struct CheckInView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub checked_on: NaiveDate,
    pub sleep_hours: f32,
    pub fatigue: i16,
    pub breastfeeding: Option<Breastfeeding>,
    pub periods_returned: Option<bool>,
    pub running_worry: Option<i16>,
    /// Her mood screen: shown to her and her coach only (null for anyone else, and when she
    /// left it out).
    pub mood_screen: Option<MoodScreenView>,
    /// Answers worth a clinician's look (`advisory.periods_not_returned`,
    /// `advisory.running_worry`); they change nothing in her plan.
    pub advisories: Vec<Finding>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CheckInView {
    /// The check-in as `may_see_mood` allows.
    pub fn new(c: CheckIn, may_see_mood: bool) -> Self {
        let mood_screen = c
            .mood_screen()
            .filter(|_| may_see_mood)
            .map(|m| MoodScreenView {
                little_interest: m.little_interest,
                feeling_down: m.feeling_down,
                score: m.score(),
            });
        Self {
            id: c.id,
            client_id: c.client_id.into(),
            checked_on: c.checked_on,
            sleep_hours: c.sleep_hours,
            fatigue: c.fatigue,
            breastfeeding: c.breastfeeding,
            periods_returned: c.periods_returned,
            running_worry: c.running_worry,
            mood_screen,
            advisories: c.advisories.0,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Whether `principal` may see her mood screen: she herself, or her coach.
pub fn may_see_mood(principal: &Principal, client: &Client) -> bool {
    principal.client_id == Some(client.id)
        || client
            .coach_id
            .is_some_and(|c| Some(c) == reports::mood_reader(principal))
}

/// The answer to a check-in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000001",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "checked_on": "2026-11-25", "sleep_hours": 5.5, "fatigue": 7, "breastfeeding": "partial",
    "periods_returned": false, "running_worry": 4,
    "mood_screen": {"little_interest": 2, "feeling_down": 1, "score": 3},
    "advisories": [],
    "created_at": "2026-11-25T07:40:00Z", "updated_at": "2026-11-25T07:40:00Z",
    "support": "Thank you for telling us how you have been feeling. Many new mothers feel low at times, and support helps: please talk to your GP, midwife or health visitor about your mood. If you ever feel unsafe, call your local emergency number now.",
    "recommendation": {"decision": "hold", "target_stage": "jogging", "target_level": 3, "completes_plan": false,
        "reasons": [{"rule": "R11", "message": "You have slept 5.5 hours a night on average this week: stay at this step until you are sleeping a little more."}]}
}))]
pub struct SubmittedCheckIn {
    #[serde(flatten)]
    pub check_in: CheckInView,
    /// Where to get support, when her mood screen is 3 or more (for her and her coach only).
    pub support: Option<String>,
    /// Her plan's new recommendation (null without a live plan).
    pub recommendation: Option<Recommendation>,
}

/// Check in: sleep, fatigue, feeding, periods, worry, mood.
///
/// The engine reruns on her plan: R11 holds an advance while, over the last 7 days, she slept
/// under 6 hours a night on average or felt very tired (8 or more) on 3 days or more; it never
/// moves the plan back. Periods not back after she stopped breastfeeding, and a worry about
/// running of 8 or more on two check-ins within 28 days, are advisories for a clinician's look.
/// A mood screen of 3 or more answers with where to get support, and opens a `mood` flag in her
/// coach's inbox (hers alone; it changes nothing in her plan). Retrying with the same `id` and
/// body returns the first answer (200). Webhooks get `check_in.created` (its id and day only).
#[utoipa::path(tag = "check-ins", operation_id = "submitCheckIn", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id, or `me`")),
    request_body = CheckInInput,
    responses((status = 201, description = "Recorded", body = SubmittedCheckIn),
        (status = 200, description = "A retry of a check-in already received", body = SubmittedCheckIn),
        Conflict, NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/check-ins")]
pub async fn submit_check_in(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<CheckInInput>,
) -> ApiResult<HttpResponse> {
    body.check()?;
    let answers = usecases::check_ins::Answers {
        id: ChosenId::of(body.id, &body)?,
        checked_on: body.checked_on,
        sleep_hours: body.sleep_hours,
        fatigue: body.fatigue,
        breastfeeding: body.breastfeeding,
        periods_returned: body.periods_returned,
        running_worry: body.running_worry,
        mood_screen: body.mood_screen,
    };
    let mut conn = db.get().await?;
    let usecases::check_ins::Recorded {
        check_in,
        client,
        recommendation,
        created,
    } = usecases::check_ins::submit(&mut conn, &principal, id, answers).await?;
    let support = check_in
        .mood_screen()
        .filter(|m| m.needs_support() && may_see_mood(&principal, &client))
        .map(|_| recovery::MOOD_SUPPORT.to_string());
    let answer = SubmittedCheckIn {
        check_in: CheckInView::new(check_in, may_see_mood(&principal, &client)),
        support,
        recommendation,
    };
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckInListQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        example = "AZO0uEt3cIKaxs-ZWOn3Ow"
    )]
    pub cursor: Option<String>,
    /// Check-ins about this day or later. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub since: Option<NaiveDate>,
    /// Check-ins about this day or earlier. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub until: Option<NaiveDate>,
}

/// A client's check-ins, in the order they arrived.
#[utoipa::path(tag = "check-ins", operation_id = "listCheckIns", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), CheckInListQuery),
    responses((status = 200, description = "A page of check-ins", body = Page<CheckInView>), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/check-ins")]
pub async fn list_check_ins(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<CheckInListQuery>,
) -> ApiResult<web::Json<Page<CheckInView>>> {
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let rows =
        check_ins::list(&mut conn, client.id, query.since, query.until, after, limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    super::audit_staff_read(
        &mut conn,
        &principal,
        client.id,
        "check_in.read",
        serde_json::json!({"check_in_ids": ids}),
    )
    .await?;
    let mood = may_see_mood(&principal, &client);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| CheckInView::new(r, mood),
    )))
}
