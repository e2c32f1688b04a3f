//! The REST API as a client sees it: real HTTP against a server on a random port, on SQLite and
//! (when reachable) PostgreSQL.

mod accounts;
mod auth;
mod helpers;
mod records;
