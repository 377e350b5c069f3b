//! The crash test and the two-process test of tests/crash again, on PostgreSQL: the same
//! bodies, each on a fresh PostgreSQL database (tests/support/database.rs). Run alone with
//! `cargo test --test crash_postgres`.

#[path = "crash/main.rs"]
mod crash;
