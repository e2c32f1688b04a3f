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
