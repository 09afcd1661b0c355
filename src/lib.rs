//! runback: a JSON API that takes women back to running after childbirth, stage by stage,
//! while watching their symptoms.
//!
//! Floors, each using only the ones below it:
//! 1. `domain` (the practice's rules, pure), `error`, `config`;
//! 2. `db` (schema, pool, queries) and `auth` (tokens, passwords, the access policy);
//! 3. `api` (thin handlers per resource) and `webhooks` (the delivery worker);
//! 4. `startup`, `openapi`, `telemetry`, `cli` (wiring).

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod replica;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
