//! One value that failed validation, named by where it sits in the input. Rules that check a
//! whole input (a program's stages, a report) say what is wrong in these; the HTTP edge lists
//! them in a 422 problem document.

use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// For bulk imports: the row, numbered as in the file (a CSV header is row 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, nullable = false)]
    pub row: Option<u64>,
    /// Where the problem is: a JSON path into the body (`pain[0].nrs`), a query parameter, or a header.
    #[schema(example = "email")]
    pub field: String,
    /// What is wrong, in words a person can act on.
    #[schema(example = "must be a valid email address")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            row: None,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn at_row(self, row: u64) -> Self {
        Self {
            row: Some(row),
            ..self
        }
    }
}
