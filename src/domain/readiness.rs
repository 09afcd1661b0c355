//! Readiness tests as the engine weighs them: her results, and which of a stage's tests they
//! pass (each side, where a test is per side). Which results count is the caller's to say: the
//! tests that open jogging only when staff recorded or confirmed them, and none from before a
//! red_pelvic referral or a move out of jogging (SPEC §1.8).

use super::program::{ReadinessTestKey, Stage};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = Side)]
pub enum TestSide {
    Left,
    Right,
    Both,
}

impl TestSide {
    pub fn as_str(self) -> &'static str {
        match self {
            TestSide::Left => "left",
            TestSide::Right => "right",
            TestSide::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Left, Self::Right, Self::Both]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessFact {
    pub test: ReadinessTestKey,
    pub side: TestSide,
    pub passed: bool,
    /// Recorded or confirmed by staff: a test that opens jogging counts only then.
    pub confirmed: bool,
}

/// The stage's readiness tests not passed yet (each side, where per side), by title.
pub fn readiness_missing<'a>(stage: &'a Stage, results: &[&ReadinessFact]) -> Vec<&'a str> {
    stage
        .readiness_tests
        .iter()
        .filter(|test| {
            let passed = |side: TestSide| {
                results.iter().any(|r| {
                    r.test == test.key && r.passed && (r.side == side || r.side == TestSide::Both)
                })
            };
            if test.per_side {
                !(passed(TestSide::Left) && passed(TestSide::Right))
            } else {
                !results.iter().any(|r| r.test == test.key && r.passed)
            }
        })
        .map(|t| t.title.as_str())
        .collect()
}
