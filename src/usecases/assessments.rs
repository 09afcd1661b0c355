//! A clinician's assessment of her, recorded by staff: audited, and the engine reruns (a
//! pelvic-health assessment that clears impact lifts the hold a third- or fourth-degree tear
//! puts on lunges and jogging).

use crate::domain::trace::RunCauseKind;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::changed;
use crate::db::assessments::{self, AssessmentRow};
use crate::db::audit::Entry;
use crate::db::clients;
use crate::db::engine_runs::Cause;
use crate::domain::assessment::{Assessment, AssessmentInput};
use crate::domain::identity::Principal;
use crate::domain::ids::ClientId;
use crate::error::{ApiError, ApiResult};

/// Records an assessment of hers. The audit entry names its kind and whether it cleared
/// impact, never the clinical values.
pub async fn record(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    client_id: ClientId,
    input: AssessmentInput,
) -> ApiResult<AssessmentRow> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let client = clients::find_accessible(conn, principal, client_id, true).await?;
        let assessment = Assessment::parse(input, client.delivery_date, client.today())
            .map_err(ApiError::Validation)?;
        let now = Utc::now();
        let stored = assessments::insert(
            conn,
            &AssessmentRow {
                id: Uuid::now_v7(),
                organization_id: principal.organization_id,
                client_id: client.id,
                kind: assessment.kind,
                assessed_on: assessment.assessed_on,
                clinician: assessment.clinician.clone(),
                modified_oxford: assessment.modified_oxford.map(i16::from),
                inter_recti_distance_mm: assessment.inter_recti_distance_mm.map(|d| d as i16),
                prolapse_symptoms: assessment.prolapse_symptoms,
                scar_healed: assessment.scar_healed,
                perineum_healed: assessment.perineum_healed,
                impact_cleared: assessment.impact_cleared,
                notes: assessment.notes.clone(),
                recorded_by: Some(principal.user_id),
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        if assessment.clears_impact() {
            assessments::note_impact_cleared(conn, client.id, assessment.assessed_on).await?;
        }
        let client = clients::find_accessible(conn, principal, client_id, false).await?;
        let event = Entry::new(
            principal.actor(),
            "assessment.record",
            "assessment",
            stored.id,
            serde_json::json!({"client_id": client.id, "kind": stored.kind.as_str(),
                "impact_cleared": stored.impact_cleared}),
        );
        changed(
            conn,
            &client,
            event,
            Some(Cause::new(RunCauseKind::Assessment, stored.id)),
        )
        .await?;
        Ok(stored)
    })
    .await
}
