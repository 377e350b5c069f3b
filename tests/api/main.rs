//! Integration tests: the real server on port 0 with a fresh database, spoken to over HTTP.

mod accounts;
mod concurrency;
mod helpers;
mod initdb;
mod messages;
mod rooms;
mod sessions;
