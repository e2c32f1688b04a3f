//! The two macros that run one piece of SQL code on whichever backend the store has.

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            crate::Pool::Sqlite($pool) => $body,
            crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a transaction bound to `$tx`, committing when it returns `Ok`.
/// The transaction is rolled back if the body returns an error (the `?` leaves before `commit`).
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.pool {
            crate::Pool::Sqlite(pool) => {
                // IMMEDIATE takes the write lock at once: a transaction never reads a snapshot
                // that another writer makes stale before its own first write.
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            crate::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Like [`in_tx!`], with a body of its own per backend, for the few places where the SQL differs
/// (types that exist on one backend only, such as PostgreSQL arrays).
macro_rules! in_tx_split {
    ($store:expr, sqlite: |$stx:ident| $sbody:expr, postgres: |$ptx:ident| $pbody:expr) => {
        match &$store.pool {
            crate::Pool::Sqlite(pool) => {
                let mut $stx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $sbody;
                $stx.commit().await?;
                out
            }
            crate::Pool::Postgres(pool) => {
                let mut $ptx = pool.begin().await?;
                let out = $pbody;
                $ptx.commit().await?;
                out
            }
        }
    };
}
