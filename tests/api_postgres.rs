//! The integration suite of tests/api again, on PostgreSQL: the same tests with the same
//! bodies. Its helpers (tests/support/database.rs) see this binary's name and give each test a
//! fresh PostgreSQL database instead of a SQLite file. Run alone with
//! `cargo test --test api_postgres`.

#[path = "api/main.rs"]
mod api;
