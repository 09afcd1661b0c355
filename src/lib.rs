//! runback: a JSON API that takes women back to running after childbirth, stage by stage,
//! while watching their symptoms.
//!
//! Floors, from the ground up; each module uses only its own floor and those below it
//! (`floors.rs` holds the table and the test that enforces it, `ARCHITECTURE.md` the map):
//! 0. `domain` (the practice's rules and the access policy, pure), `config`, `fingerprint`;
//! 1. `db` (schema, pool, queries: loads and stores);
//! 2. `auth` (passwords, tokens, sign-in), `webhooks` (the delivery worker), `telemetry`;
//! 3. `error` (the one HTTP error type), `state` (what every request shares), `replica`,
//!    `usecases` (one unit of work per use case);
//! 4. `api` (handlers, extractors, middleware);
//! 5. `startup`, `openapi`, `demo` (wiring);
//! 6. `cli`.

pub mod api;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod fingerprint;
pub mod openapi;
pub mod replica;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod usecases;
pub mod webhooks;

#[cfg(test)]
mod floors;
