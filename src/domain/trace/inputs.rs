//! What each rule looked at, as its trace shows her coach (`RuleCheck.inputs`): one type per
//! rule, so that the OpenAPI document gives each rule's inputs a schema of their own.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::client::DeliveryType;
use crate::domain::engine::{Evidence, ReportFact};
use crate::domain::plan::Step;
use crate::domain::program::{ReadinessTestKey, StageKey};
use crate::domain::rules::Rule;
use crate::domain::triage::{Timing, TriageLevel};

/// A step of the plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceStep {
    pub stage: StageKey,
    /// The level within a levelled stage (jogging).
    pub level: Option<u32>,
}

impl From<Step> for TraceStep {
    fn from(step: Step) -> Self {
        Self {
            stage: step.stage,
            level: step.level,
        }
    }
}

/// A report a rule weighed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceReport {
    pub id: Uuid,
    pub date: NaiveDate,
    pub timing: Timing,
    /// Its triage.
    pub level: TriageLevel,
    pub max_pain: u8,
}

impl From<&ReportFact> for TraceReport {
    fn from(r: &ReportFact) -> Self {
        Self {
            id: r.id,
            date: r.date,
            timing: r.timing,
            level: r.level,
            max_pain: r.max_pain,
        }
    }
}

/// R1 when her next step is in the stage she is in: no new stage's gate to meet.
#[derive(Debug, Serialize, ToSchema)]
pub struct R1SameStage {
    pub next: Option<TraceStep>,
}

/// R1: the next stage's entry gate and her facts against it.
#[derive(Debug, Serialize, ToSchema)]
pub struct R1Gate {
    pub next_stage: StageKey,
    pub min_days_postpartum: i64,
    pub days_postpartum: i64,
    /// The first day she meets the days-postpartum part of the gate.
    pub earliest_on: NaiveDate,
    /// Her individual jogging gate, as days postpartum (jogging only).
    pub individual_jogging_gate_day: Option<i64>,
    pub requires_clearance: bool,
    pub cleared_for_exercise: bool,
    pub delivery_type: DeliveryType,
    pub requires_scar_clearance: bool,
    pub caesarean_scar_cleared: bool,
    /// A third- or fourth-degree tear holds impact until a pelvic-health assessment.
    pub oasi_hold: bool,
    pub open_red_flag: bool,
}

/// What R1 (the next stage's entry gate) looked at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum R1Inputs {
    Gate(R1Gate),
    SameStage(R1SameStage),
}

/// What her reports say about a session R2 counted.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionEvidence {
    NoReport,
    Green,
    NotGreen,
}

impl From<Evidence> for SessionEvidence {
    fn from(evidence: Evidence) -> Self {
        match evidence {
            Evidence::Missing => SessionEvidence::NoReport,
            Evidence::Green => SessionEvidence::Green,
            Evidence::NotGreen => SessionEvidence::NotGreen,
        }
    }
}

/// A completed session R2 counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountedSession {
    pub id: Uuid,
    pub performed_on: NaiveDate,
    pub evidence: SessionEvidence,
}

/// R2 at a step of her program: the sessions and reports it weighed (the newest of them, so a
/// trace stays small however long she stays at a step).
#[derive(Debug, Serialize, ToSchema)]
pub struct R2Weighed {
    pub min_sessions: usize,
    pub completed_count: usize,
    pub completed_sessions: Vec<CountedSession>,
    /// The last two sessions' ids.
    pub last_sessions: Vec<Uuid>,
    pub reports: Vec<TraceReport>,
    pub readiness_tests: Vec<ReadinessTestKey>,
}

/// Nothing weighed: R10 (rest days shape today's session, not the step), or R2 when her plan's
/// stage is not in its program.
#[derive(Debug, Serialize, ToSchema)]
#[schema(max_properties = 0)]
pub struct NothingWeighed {}

/// What R2 (advance) looked at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum R2Inputs {
    Weighed(R2Weighed),
    Nothing(NothingWeighed),
}

/// What R3 (one step at a time) looked at.
#[derive(Debug, Serialize, ToSchema)]
pub struct R3Inputs {
    pub from: TraceStep,
    /// Null at the last step of the plan.
    pub next: Option<TraceStep>,
}

/// What R4 (weekly running volume) looked at, in minutes to one decimal.
#[derive(Debug, Serialize, ToSchema)]
pub struct R4Inputs {
    pub this_week_minutes: f64,
    pub last_week_minutes: f64,
    /// Null when she did not run last week.
    pub cap_minutes: Option<f64>,
    pub this_week_from: NaiveDate,
    pub last_week_from: NaiveDate,
}

/// What R5 (symptoms during a run) looked at.
#[derive(Debug, Serialize, ToSchema)]
pub struct R5Inputs {
    pub latest_report: Option<TraceReport>,
}

/// What R6 (amber) looked at: her last two reports at the step.
#[derive(Debug, Serialize, ToSchema)]
pub struct R6Inputs {
    pub last_reports: Vec<TraceReport>,
}

/// What R7 (pain week on week) looked at.
#[derive(Debug, Serialize, ToSchema)]
pub struct R7Inputs {
    pub max_pain_this_week: u8,
    pub max_pain_last_week: u8,
}

/// What R8 (pelvic red flags) and R9 (medical red flags) looked at.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedFlagInputs {
    pub latest_report: Option<TraceReport>,
    pub open_flags: Vec<TriageLevel>,
}

/// The schema of a numbered rule's inputs in the OpenAPI document (none for the entry gates
/// and the plan's own state, which are not traced on their own). A `match`, so that a new rule
/// cannot be traced without saying what its inputs are; the trace's API test checks what is
/// sent against it.
pub fn schema_of(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::R1 => "R1Inputs",
        Rule::R2 => "R2Inputs",
        Rule::R3 => "R3Inputs",
        Rule::R4 => "R4Inputs",
        Rule::R5 => "R5Inputs",
        Rule::R6 => "R6Inputs",
        Rule::R7 => "R7Inputs",
        Rule::R8 | Rule::R9 => "RedFlagInputs",
        Rule::R10 => "NothingWeighed",
        Rule::R11 => "RecoveryWeek",
        Rule::Gate | Rule::Plan => return None,
    })
}
