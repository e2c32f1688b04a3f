//! The REST API as a client sees it: real HTTP against a server on a random port, on SQLite and
//! (when reachable) PostgreSQL.

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod auth;
mod automation;
mod health;
mod helpers;
mod import;
mod insight;
mod records;
mod reports;
mod reviews;
mod team;
mod tracking;
