//! chatroom: a small multi-room chat server. The binary in main.rs is a thin shell around this.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod batch;
pub mod blocking;
pub mod chat;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod db;
pub mod domain;
pub mod errors;
pub mod json;
pub mod live;
pub mod media;
pub mod middleware;
pub mod models;
pub mod outgoing;
pub mod push;
pub mod routes;
pub mod startup;
pub mod templates;
pub mod throttle;

// The integration tests' way of skipping a test that needs a program (PostgreSQL) missing
// here, so that unit tests are counted in the run's closing summary too.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/support/programs.rs"]
mod test_programs;
