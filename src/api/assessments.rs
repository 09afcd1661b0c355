//! Assessments: a postnatal check or a pelvic-health assessment by a clinician, recorded by her
//! coach or an admin, read by staff and by her. A pelvic-health assessment that clears impact
//! lifts the hold a third- or fourth-degree tear puts on lunges and jogging (R1).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::docs::{AuthenticatedBodyErrors, BodyErrors, NotFound, ReadErrors};
use super::extract::{ClientRef, JsonBody, QueryParams};
use super::idempotency::{Db, IdempotencyKey};
use super::{Page, PageQuery};
use crate::db::assessments::{self, AssessmentRow};
use crate::db::clients;
use crate::domain::assessment::{AssessmentInput, AssessmentKind};
use crate::domain::identity::Principal;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::usecases;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_assessments).service(record_assessment);
}

/// An assessment as staff record it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "pelvic_health", "assessed_on": "2026-11-20",
    "clinician": "Sam Reid, pelvic-health physiotherapist", "modified_oxford": 4,
    "inter_recti_distance_mm": 18, "prolapse_symptoms": false, "perineum_healed": true,
    "impact_cleared": true}))]
pub struct NewAssessment {
    /// `pelvic_health` (default) or `postnatal_check`.
    pub kind: Option<AssessmentKind>,
    /// Default: today in her time zone; between the birth and today.
    pub assessed_on: Option<NaiveDate>,
    /// The clinician who assessed her, 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub clinician: String,
    /// Pelvic-floor strength on the Modified Oxford scale, 0–5.
    #[schema(minimum = 0, maximum = 5)]
    pub modified_oxford: Option<u8>,
    /// The gap between the two halves of the rectus abdominis, 0–150 mm.
    #[schema(minimum = 0, maximum = 150)]
    pub inter_recti_distance_mm: Option<u16>,
    pub prolapse_symptoms: Option<bool>,
    /// A caesarean scar healed.
    pub scar_healed: Option<bool>,
    /// The perineum healed.
    pub perineum_healed: Option<bool>,
    /// The clinician cleared her for impact (running, hopping). Only a `pelvic_health`
    /// assessment that clears impact lifts a tear's hold.
    #[serde(default)]
    pub impact_cleared: bool,
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

/// A recorded assessment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937e10-0000-7000-8000-000000000001",
    "client_id": "01937b10-2c3d-7e4f-8a5b-6c7d8e9f0a1b",
    "kind": "pelvic_health",
    "assessed_on": "2026-11-20",
    "clinician": "Dr Priya Nair",
    "modified_oxford": 3,
    "inter_recti_distance_mm": 18,
    "prolapse_symptoms": false,
    "scar_healed": null,
    "perineum_healed": null,
    "impact_cleared": true,
    "clears_impact": true,
    "notes": null,
    "recorded_by": "01937a4e-8c1d-7b3a-9f2e-5d6c7b8a9e0f",
    "created_at": "2026-12-08T01:37:54Z"
}))]
pub struct AssessmentView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub kind: AssessmentKind,
    pub assessed_on: NaiveDate,
    pub clinician: String,
    pub modified_oxford: Option<i16>,
    pub inter_recti_distance_mm: Option<i16>,
    pub prolapse_symptoms: Option<bool>,
    pub scar_healed: Option<bool>,
    pub perineum_healed: Option<bool>,
    pub impact_cleared: bool,
    /// It lifts the hold a third- or fourth-degree tear puts on lunges and jogging.
    pub clears_impact: bool,
    pub notes: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<AssessmentRow> for AssessmentView {
    fn from(a: AssessmentRow) -> Self {
        Self {
            id: a.id,
            client_id: a.client_id.into(),
            kind: a.kind,
            assessed_on: a.assessed_on,
            clears_impact: crate::domain::assessment::clears_impact(a.kind, a.impact_cleared),
            clinician: a.clinician,
            modified_oxford: a.modified_oxford,
            inter_recti_distance_mm: a.inter_recti_distance_mm,
            prolapse_symptoms: a.prolapse_symptoms,
            scar_healed: a.scar_healed,
            perineum_healed: a.perineum_healed,
            impact_cleared: a.impact_cleared,
            notes: a.notes,
            recorded_by: a.recorded_by.map(Uuid::from),
            created_at: a.created_at,
        }
    }
}

/// Her assessments, oldest first.
#[utoipa::path(tag = "assessments", operation_id = "listAssessments", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client's id, or `me`"), PageQuery),
    responses((status = 200, description = "A page of assessments", body = Page<AssessmentView>),
        NotFound, ReadErrors))]
#[get("/v1/clients/{client_id}/assessments")]
pub async fn list_assessments(
    state: web::Data<AppState>,
    principal: Principal,
    ClientRef(id): ClientRef,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<web::Json<Page<AssessmentView>>> {
    let (limit, after) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let client = clients::find_accessible(&mut conn, &principal, id, false).await?;
    let rows = assessments::list(&mut conn, client.id, after, limit).await?;
    super::note_staff_read(&state, &principal, "assessment.list", client.id);
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |a| a.id,
        AssessmentView::from,
    )))
}

/// Record an assessment (coach or admin).
///
/// A postnatal check or a pelvic-health assessment, with the Modified Oxford grade, the
/// inter-recti distance, prolapse symptoms, healing and whether impact is cleared. A
/// `pelvic_health` assessment with `impact_cleared` lifts the hold a third- or fourth-degree
/// tear puts on lunges and jogging, and may back an individual jogging date before day 84.
/// Audited (kind and clearance only); the engine reruns.
#[utoipa::path(tag = "assessments", operation_id = "recordAssessment", security(("bearer" = [])),
    params(IdempotencyKey, ("client_id" = String, Path, description = "The client's id")),
    request_body = NewAssessment,
    responses((status = 201, description = "Recorded", body = AssessmentView),
        NotFound, AuthenticatedBodyErrors, BodyErrors))]
#[post("/v1/clients/{client_id}/assessments")]
pub async fn record_assessment(
    db: Db,
    principal: Principal,
    ClientRef(id): ClientRef,
    JsonBody(body): JsonBody<NewAssessment>,
) -> ApiResult<HttpResponse> {
    let input = AssessmentInput {
        kind: body.kind,
        assessed_on: body.assessed_on,
        clinician: body.clinician,
        modified_oxford: body.modified_oxford,
        inter_recti_distance_mm: body.inter_recti_distance_mm,
        prolapse_symptoms: body.prolapse_symptoms,
        scar_healed: body.scar_healed,
        perineum_healed: body.perineum_healed,
        impact_cleared: body.impact_cleared,
        notes: body.notes,
    };
    let mut conn = db.get().await?;
    let stored = usecases::assessments::record(&mut conn, &principal, id, input).await?;
    Ok(HttpResponse::Created().json(AssessmentView::from(stored)))
}
