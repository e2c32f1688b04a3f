//! The usage write path's SQLite statements: multi-row `VALUES` with anonymous `?` parameters.
//!
//! Every write transaction on SQLite is `BEGIN IMMEDIATE`, so it holds the write lock from its
//! start: new raw events are found by reading the few duplicates first, and the rollups are
//! computed set-wise in SQL from a temporary table of increments. Nothing is streamed back row by
//! row (each row would cross from SQLite's worker thread to the async side).

use std::collections::HashSet;

use sqlx::SqliteConnection;

use super::{EventRow, Increments, UserFeatureKey, CHUNK};
use crate::sql::placeholders;
use crate::{Backend, Result};

fn values(rows: usize, cols: usize) -> String {
    placeholders(Backend::Sqlite, rows, cols)
}

/// Inserts the events not stored before; returns the message ids inserted.
pub(super) async fn insert_events(
    conn: &mut SqliteConnection,
    rows: &[EventRow],
) -> Result<HashSet<String>> {
    let mut stored = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "SELECT message_id FROM usage_events WHERE message_id IN {}",
            values(1, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for e in chunk {
            q = q.bind(&e.message_id);
        }
        let existing: HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();
        let fresh: Vec<&EventRow> = chunk
            .iter()
            .filter(|e| !existing.contains(&e.message_id))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO usage_events (message_id, account_id, account_external_id, user_key, feature_id, day, \
             occurred_at, received_at, properties) VALUES {}",
            values(fresh.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for e in &fresh {
            q = q
                .bind(&e.message_id)
                .bind(e.account_id)
                .bind(&e.account_external_id)
                .bind(&e.user_key)
                .bind(e.feature_id)
                .bind(e.day)
                .bind(e.occurred_at)
                .bind(e.received_at)
                .bind(&e.properties);
        }
        q.execute(&mut *conn).await?;
        stored.extend(fresh.into_iter().map(|e| e.message_id.clone()));
    }
    Ok(stored)
}

/// Adds event counts to every rollup without sending rows back and forth: the increments go into
/// a temporary table, and SQL finds which users are new to a (day, feature) and to a day, adds
/// to the per-user rows, and adds events and new users to the feature and account day rows.
pub(super) async fn apply_increments(conn: &mut SqliteConnection, inc: &Increments) -> Result<()> {
    if inc.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS usage_increments \
         (account_id INTEGER, day TEXT, user_key TEXT, feature_id INTEGER, events INTEGER, is_new INTEGER)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS usage_user_increments \
         (account_id INTEGER, day TEXT, user_key TEXT, events INTEGER, is_new INTEGER)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM usage_increments")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM usage_user_increments")
        .execute(&mut *conn)
        .await?;
    let rows: Vec<(&UserFeatureKey, &i64)> = inc.iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO usage_increments (account_id, day, user_key, feature_id, events) VALUES {}",
            values(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for ((a, d, u, f), n) in chunk {
            q = q.bind(*a).bind(*d).bind(u).bind(*f).bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    for sql in [
        "UPDATE usage_increments SET is_new = NOT EXISTS (SELECT 1 FROM usage_user_feature_daily r \
         WHERE r.account_id = usage_increments.account_id AND r.day = usage_increments.day \
         AND r.user_key = usage_increments.user_key AND r.feature_id = usage_increments.feature_id)",
        "INSERT INTO usage_user_increments (account_id, day, user_key, events, is_new) \
         SELECT account_id, day, user_key, SUM(events), NOT EXISTS (SELECT 1 FROM usage_user_daily r \
         WHERE r.account_id = i.account_id AND r.day = i.day AND r.user_key = i.user_key) \
         FROM usage_increments i GROUP BY account_id, day, user_key",
        "INSERT INTO usage_user_feature_daily (account_id, day, user_key, feature_id, events) \
         SELECT account_id, day, user_key, feature_id, events FROM usage_increments WHERE true \
         ON CONFLICT (account_id, day, user_key, feature_id) DO UPDATE SET events = usage_user_feature_daily.events + excluded.events",
        "INSERT INTO usage_user_daily (account_id, day, user_key, events) \
         SELECT account_id, day, user_key, events FROM usage_user_increments WHERE true \
         ON CONFLICT (account_id, day, user_key) DO UPDATE SET events = usage_user_daily.events + excluded.events",
        "INSERT INTO usage_feature_daily (account_id, day, feature_id, events, users) \
         SELECT account_id, day, feature_id, SUM(events), SUM(is_new) FROM usage_increments WHERE true \
         GROUP BY account_id, day, feature_id \
         ON CONFLICT (account_id, day, feature_id) DO UPDATE SET \
         events = usage_feature_daily.events + excluded.events, users = usage_feature_daily.users + excluded.users",
        "INSERT INTO usage_account_daily (account_id, day, events, active_users) \
         SELECT account_id, day, SUM(events), SUM(is_new) FROM usage_user_increments WHERE true \
         GROUP BY account_id, day \
         ON CONFLICT (account_id, day) DO UPDATE SET events = usage_account_daily.events + excluded.events, \
         active_users = usage_account_daily.active_users + excluded.active_users",
        "INSERT INTO usage_user_last (account_id, user_key, last_day) \
         SELECT account_id, user_key, MAX(day) FROM usage_user_increments WHERE true \
         GROUP BY account_id, user_key \
         ON CONFLICT (account_id, user_key) DO UPDATE SET last_day = MAX(usage_user_last.last_day, excluded.last_day)",
        "INSERT INTO usage_feature_last (account_id, feature_id, last_day) \
         SELECT account_id, feature_id, MAX(day) FROM usage_increments WHERE true \
         GROUP BY account_id, feature_id \
         ON CONFLICT (account_id, feature_id) DO UPDATE SET last_day = MAX(usage_feature_last.last_day, excluded.last_day)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}
