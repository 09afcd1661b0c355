//! The method's rules, R1–R11, as the engine and the plan's transitions name them: one variant
//! per rule, its words the practice's own. A reason's `rule` in the API (`reasons[].rule`,
//! `rule_ids`) is [`Rule::as_str`] of one of these; the function that applies each is named after
//! it in `engine.rs` (R1 and the other stages' gates in `plan.rs`).
//!
//! Sources: the practice's return-to-running method (`shared/source/`), after Goom, Donnelly &
//! Brockwell, *Returning to running postnatal: guidelines for medical, health and fitness
//! professionals* (2019): 12 weeks before running, a walk–run ladder, symptoms as the guide.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// R1, the jogging gate: never into jogging before day 84 postpartum, without a clinician's
    /// clearance, or with a red flag open (Goom et al. 2019: running from 12 weeks, after
    /// assessment).
    R1,
    /// R2, advance: at least the stage's minimum sessions at the step (2 by default), all
    /// green; for jogging, each run followed by a green next-day report; the stage's readiness
    /// tests passed. A missing next-day report holds.
    R2,
    /// R3, one step at a time: never more than one stage or one level per decision.
    R3,
    /// R4, volume: this week's running minutes no more than last week's × 1.10, or + 1 minute,
    /// whichever is larger.
    R4,
    /// R5, symptoms during a run: walk the rest of that run (advice; it moves nothing).
    R5,
    /// R6, amber: an amber report holds the step; two ambers in a row at the step, an amber
    /// next-day report, or pain of 6 or more drops one level (holds below jogging).
    R6,
    /// R7, pain: pain may not rise week on week; while it does, hold.
    R7,
    /// R8, pelvic red flags: refer to a pelvic-health physiotherapist; a jogging plan goes back
    /// to lunges at once; only a coach moves it on.
    R8,
    /// R9, medical red flags: stop all exercise and get medical care today; the plan pauses at
    /// once and resumes only when a coach resumes it.
    R9,
    /// R10, rest: no two running days in a row below jogging level 5; today is then a rest or
    /// walk day (the prescription applies it).
    R10,
    /// R11, recovery: no advance while, over the last 7 days of check-ins, she slept under 6
    /// hours a night on average or felt very tired (fatigue 8 or more) on 3 days or more. It
    /// holds; it never moves the plan back by itself (Deering et al., BJSM 2024: modify
    /// training for sleep and energy availability).
    R11,
    /// A stage's own entry gate (days postpartum, clearance) other than jogging's R1.
    Gate,
    /// The plan itself: not active, or at a stage its program does not have.
    Plan,
}

impl Rule {
    pub const ALL: [Rule; 13] = [
        Rule::R1,
        Rule::R2,
        Rule::R3,
        Rule::R4,
        Rule::R5,
        Rule::R6,
        Rule::R7,
        Rule::R8,
        Rule::R9,
        Rule::R10,
        Rule::R11,
        Rule::Gate,
        Rule::Plan,
    ];

    /// The rule with this id in the API, if any.
    pub fn parse(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == id)
    }

    /// The rule's id in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::R1 => "R1",
            Rule::R2 => "R2",
            Rule::R3 => "R3",
            Rule::R4 => "R4",
            Rule::R5 => "R5",
            Rule::R6 => "R6",
            Rule::R7 => "R7",
            Rule::R8 => "R8",
            Rule::R9 => "R9",
            Rule::R10 => "R10",
            Rule::R11 => "R11",
            Rule::Gate => "GATE",
            Rule::Plan => "PLAN",
        }
    }

    /// Whether the rule is one of the method's numbered ones (kept in a transition's
    /// `rule_ids`).
    pub fn is_numbered(self) -> bool {
        !matches!(self, Rule::Gate | Rule::Plan)
    }
}

/// In the OpenAPI document, a rule id (`R1` … `R11`) is a string of the numbered rules' ids.
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ids = Rule::ALL
            .into_iter()
            .filter(|r| r.is_numbered())
            .map(Rule::as_str);
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "One of the method's numbered rules (new ones may be added).",
            ))
            .enum_values(Some(ids))
            .into()
    }
}

impl utoipa::ToSchema for Rule {}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A stored rule id the code does not know fails the read instead of being dropped.
impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Rule::parse(&id).ok_or_else(|| serde::de::Error::custom(format!("{id:?} is not a rule")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_apis() {
        let all = Rule::ALL;
        let ids: Vec<&str> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            ids,
            ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "GATE", "PLAN"]
        );
        assert_eq!(serde_json::to_value(Rule::R10).unwrap(), "R10");
        assert_eq!(all.iter().filter(|r| r.is_numbered()).count(), 11);
        for rule in all {
            assert_eq!(Rule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(Rule::parse("r1"), None);
        assert_eq!(Rule::parse("R12"), None);
    }

    #[test]
    fn a_stored_rule_id_reads_back_and_an_unknown_one_fails() {
        for rule in Rule::ALL {
            let stored = serde_json::to_value(rule).unwrap();
            assert_eq!(serde_json::from_value::<Rule>(stored).unwrap(), rule);
        }
        let err = serde_json::from_value::<Rule>(serde_json::json!("R12")).unwrap_err();
        assert_eq!(err.to_string(), "\"R12\" is not a rule");
    }
}
