//! API tests: the real server on a random port, a fresh real PostgreSQL database per test.

mod access;
mod auth;
mod coaches;
mod errors;
mod helpers;
mod operations;
mod service_tokens;
mod startup;
