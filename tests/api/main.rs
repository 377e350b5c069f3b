//! Integration tests: the real server on port 0 with a fresh database, spoken to over HTTP.

// A test that finds None or Err where it expected a value should fail right there.
#![allow(clippy::unwrap_used)]

mod account_page;
mod accounts;
mod administration;
mod api_clients;
mod attachments;
mod audit_log;
mod bots;
mod commands;
mod concurrency;
#[path = "../support/database.rs"]
mod database;
mod direct;
mod flooding;
// Shared with the crash tests, which use more of it.
#[allow(dead_code)]
mod helpers;
mod initdb;
mod instances;
mod live;
mod living;
mod lobby;
mod login_races;
mod messages;
mod notifications;
#[path = "../support/programs.rs"]
#[allow(dead_code)]
mod programs;
mod proxy;
mod push;
mod rooms;
mod search;
mod security;
mod shell;
// Shared with the crash tests, which use more of it.
#[allow(dead_code)]
#[path = "../support/server.rs"]
mod server;
mod sessions;
mod storage;
mod terminal;
mod tokens;
#[allow(dead_code)]
#[path = "../support/wait.rs"]
mod wait;
mod webhooks;
