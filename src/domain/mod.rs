//! The practice's rules in plain Rust: no database, no HTTP, no clock (today's date is always
//! an argument). Values here are valid once built ("parse, don't validate"); everything above
//! this floor trusts them.

pub mod assessment;
pub mod client;
pub mod engine;
mod field_error;
pub mod identity;
pub mod ids;
pub mod plan;
pub mod policy;
pub mod prescription;
pub mod program;
pub mod readiness;
pub mod recovery;
pub mod rules;
pub mod step;
pub mod symptoms;
pub mod trace;
pub mod triage;
pub mod webhook;

pub use field_error::FieldError;
