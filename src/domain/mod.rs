//! The practice's rules in plain Rust: no database, no HTTP, no clock. Values here are valid
//! once built ("parse, don't validate"); everything above this floor trusts them.

pub mod identity;
