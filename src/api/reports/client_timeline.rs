//! A client's timeline for dashboards: sessions, reports, transitions, flags and check-ins by day.

use super::super::docs::{NotFound, ReadErrors};
use super::super::extract::{ClientRef, QueryParams};
use super::super::plans::TransitionView;
use crate::db::reports::{self, ReportFilter, SymptomReport};
use crate::db::{clients, plans, workouts};
use crate::domain::identity::Principal;
use crate::domain::program::StageKey;
use crate::domain::triage::{Timing, TriageLevel};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{get, web};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::workouts::{ReadinessResult, SessionLog};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// First day (default: 90 days ago). Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub since: Option<NaiveDate>,
    /// Last day (default: today). At most 366 days after `since`. Between 1900-01-01 and 2200-12-31.
    #[serde(default, deserialize_with = "crate::api::extract::bounded_date")]
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEntry {
    Session {
        date: NaiveDate,
        id: Uuid,
        stage: StageKey,
        level: Option<i32>,
        completed: bool,
        duration_minutes: Option<i32>,
        rpe: Option<i16>,
    },
    Report {
        date: NaiveDate,
        id: Uuid,
        timing: Timing,
        triage: TriageLevel,
        max_pain: i16,
        urine_leak: Option<crate::domain::triage::UrineLeak>,
        /// Pain by location, as she reported it.
        pain: Vec<crate::domain::triage::Pain>,
        /// Pelvic heaviness 0–10, when she rated it.
        pelvic_heaviness: Option<u8>,
    },
    Readiness {
        date: NaiveDate,
        id: Uuid,
        test: crate::domain::program::ReadinessTestKey,
        side: crate::domain::readiness::TestSide,
        reached: i32,
        passed: bool,
    },
    Transition {
        date: NaiveDate,
        transition: TransitionView,
    },
    /// A recovery check-in (her mood screen is not part of the timeline).
    CheckIn {
        date: NaiveDate,
        id: Uuid,
        sleep_hours: f32,
        fatigue: i16,
        running_worry: Option<i16>,
    },
}

impl TimelineEntry {
    fn session(s: SessionLog) -> Self {
        TimelineEntry::Session {
            date: s.performed_on,
            id: s.id,
            stage: s.stage,
            level: s.level,
            completed: s.completed,
            duration_minutes: s.duration_minutes,
            rpe: s.rpe,
        }
    }

    fn report(r: SymptomReport) -> ApiResult<Self> {
        // The report's own answers, as validated and stored when it was sent (no `pain`: none).
        let pain = r.symptoms.get("pain").cloned().map(serde_json::from_value);
        let pain = pain
            .transpose()
            .map_err(anyhow::Error::from)?
            .unwrap_or_default();
        Ok(TimelineEntry::Report {
            date: r.reported_on,
            id: r.id.into(),
            timing: r.timing,
            triage: r.triage_level,
            max_pain: r.max_pain,
            pain,
            pelvic_heaviness: r.symptoms["pelvic_heaviness"]
                .as_u64()
                .and_then(|h| u8::try_from(h).ok()),
            urine_leak: r.urine_leak,
        })
    }

    fn readiness(r: ReadinessResult) -> Self {
        TimelineEntry::Readiness {
            date: r.performed_on,
            id: r.id,
            test: r.test,
            side: r.side,
            reached: r.reached,
            passed: r.passed,
        }
    }

    fn check_in(c: crate::db::check_ins::CheckIn) -> Self {
        TimelineEntry::CheckIn {
            date: c.checked_on,
            id: c.id,
            sleep_hours: c.sleep_hours,
            fatigue: c.fatigue,
            running_worry: c.running_worry,
        }
    }

    fn date(&self) -> NaiveDate {
        match self {
            TimelineEntry::Session { date, .. }
            | TimelineEntry::Report { date, .. }
            | TimelineEntry::Readiness { date, .. }
            | TimelineEntry::Transition { date, .. }
            | TimelineEntry::CheckIn { date, .. } => *date,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "since": "2026-09-09",
    "until": "2026-12-08",
    "items": [
        {
            "kind": "report",
            "date": "2026-12-08",
            "id": "01937e10-0000-7000-8000-000000000006",
            "timing": "next_day",
            "triage": "green",
            "max_pain": 0,
            "urine_leak": "none",
            "pain": [],
            "pelvic_heaviness": null
        },
        {
            "kind": "readiness",
            "date": "2026-12-08",
            "id": "01937e10-0000-7000-8000-000000000008",
            "test": "single_leg_balance",
            "side": "left",
            "reached": 10,
            "passed": true
        },
        {
            "kind": "transition",
            "date": "2026-12-08",
            "transition": {
                "id": "01937e10-0000-7000-8000-000000000003",
                "plan_id": "01937c00-1111-7222-8333-444455556666",
                "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
                "action": "advance",
                "from": {
                    "stage": "walking_hills",
                    "level": null,
                    "status": "active"
                },
                "to": {
                    "stage": "lunges",
                    "level": null,
                    "status": "active"
                },
                "actor": {
                    "type": "user",
                    "id": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f"
                },
                "reason": "Hills are easy for her; her pelvic-health assessment is done.",
                "rule_ids": [
                    "R1"
                ],
                "override_gate": true,
                "created_at": "2026-12-08T01:37:54Z"
            }
        },
        {
            "kind": "check_in",
            "date": "2026-12-08",
            "id": "01937e10-0000-7000-8000-00000000000a",
            "sleep_hours": 6.5,
            "fatigue": 4,
            "running_worry": 3
        }
    ]
}))]
pub struct Timeline {
    pub since: NaiveDate,
    pub until: NaiveDate,
    /// Sessions, reports, readiness results and plan changes, by date.
    pub items: Vec<TimelineEntry>,
}

/// A client's history merged by date, ready to plot: sessions, reports (triage, pain by
/// location and the highest, leak, heaviness), readiness results and plan changes.
#[utoipa::path(tag = "symptom-reports", operation_id = "getTimeline", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), TimelineQuery),
    responses((status = 200, description = "The timeline", body = Timeline), NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/timeline")]
pub async fn timeline(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<TimelineQuery>,
) -> ApiResult<web::Json<Timeline>> {
    let mut conn = state.heavy_read(&principal).await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let until = query.until.unwrap_or_else(|| client.today());
    let since = query.since.unwrap_or(until - Duration::days(90));
    if since > until || until - since > Duration::days(366) {
        return Err(ApiError::invalid(
            "since",
            "the range must run forwards and span at most 366 days",
        ));
    }
    let range = workouts::Range {
        since: Some(since),
        until: Some(until),
        updated_since: None,
    };
    let mut items: Vec<TimelineEntry> =
        workouts::list_sessions(&mut conn, client.id, &range, None, 10_000)
            .await?
            .into_iter()
            .map(TimelineEntry::session)
            .collect();
    let filter = ReportFilter {
        since: Some(since),
        until: Some(until),
        ..Default::default()
    };
    items.extend(
        reports::list(&mut conn, client.id, &filter, None, 10_000)
            .await?
            .into_iter()
            .map(TimelineEntry::report)
            .collect::<ApiResult<Vec<_>>>()?,
    );
    items.extend(
        workouts::list_readiness(&mut conn, client.id, None, 10_000)
            .await?
            .into_iter()
            .filter(|r| r.performed_on >= since && r.performed_on <= until)
            .map(TimelineEntry::readiness),
    );
    items.extend(
        plans::transitions_for_client(&mut conn, client.id, None, 10_000)
            .await?
            .into_iter()
            .map(|t| (t.created_at.date_naive(), t))
            .filter(|(d, _)| *d >= since && *d <= until)
            .map(|(date, t)| TimelineEntry::Transition {
                date,
                transition: t.into(),
            }),
    );
    items.extend(
        crate::db::check_ins::list(&mut conn, client.id, Some(since), Some(until), None, 10_000)
            .await?
            .into_iter()
            .map(TimelineEntry::check_in),
    );
    crate::api::audit_staff_read_after(
        conn,
        &state,
        &principal,
        client.id,
        "client.timeline.read",
        serde_json::json!({"since": since, "until": until}),
    )
    .await?;
    items.sort_by_key(TimelineEntry::date);
    Ok(web::Json(Timeline {
        since,
        until,
        items,
    }))
}
