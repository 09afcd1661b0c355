//! API tests: the real server on a random port, a fresh real PostgreSQL database per test.

mod access;
mod audit;
mod auth;
mod clients;
mod coaches;
mod demo;
mod errors;
mod fhir;
mod fleet;
mod helpers;
mod hostile;
mod idempotency;
mod imports;
mod limits;
mod operations;
mod outage;
mod programs;
mod schema;
mod security;
mod service_tokens;
mod shutdown;
mod startup;
mod symptoms;
mod tls;
mod webhooks;
mod workflow;
