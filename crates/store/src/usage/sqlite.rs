//! The usage write path's SQLite statements: multi-row `VALUES` with anonymous `?` parameters.
//!
//! Every write transaction on SQLite is `BEGIN IMMEDIATE`, so it holds the write lock from its
//! start: what a statement finds absent cannot appear before the statement's own insert. New rows
//! are therefore found by reading the few that exist first, instead of streaming every inserted
//! row back from SQLite's worker thread.

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDate;
use sqlx::SqliteConnection;

use super::{AccountDayDelta, EventRow, FeatureDayDelta, UserDayKey, UserFeatureKey, CHUNK};
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

/// Adds to the per-user per-feature day rows; returns the keys that had no row before.
pub(super) async fn upsert_user_feature_days(
    conn: &mut SqliteConnection,
    rows: &[(UserFeatureKey, i64)],
) -> Result<Vec<UserFeatureKey>> {
    let mut new_keys = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let (accounts, days) = accounts_and_days(chunk.iter().map(|((a, d, _, _), _)| (*a, *d)));
        let sql = format!(
            "SELECT account_id, day, user_key, feature_id FROM usage_user_feature_daily \
             WHERE account_id IN {} AND day IN {}",
            values(1, accounts.len()),
            values(1, days.len())
        );
        let mut q = sqlx::query_as::<_, UserFeatureKey>(&sql);
        q = accounts.iter().fold(q, |q, a| q.bind(*a));
        q = days.iter().fold(q, |q, d| q.bind(*d));
        let existing: HashSet<UserFeatureKey> =
            q.fetch_all(&mut *conn).await?.into_iter().collect();
        let sql = format!(
            "INSERT INTO usage_user_feature_daily (account_id, day, user_key, feature_id, events) VALUES {} \
             ON CONFLICT (account_id, day, user_key, feature_id) DO UPDATE SET events = usage_user_feature_daily.events + excluded.events",
            values(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for ((a, d, u, f), n) in chunk {
            q = q.bind(*a).bind(*d).bind(u).bind(*f).bind(*n);
        }
        q.execute(&mut *conn).await?;
        new_keys.extend(
            chunk
                .iter()
                .filter(|(k, _)| !existing.contains(k))
                .map(|(k, _)| k.clone()),
        );
    }
    Ok(new_keys)
}

/// Adds to the per-user day rows; returns the keys that had no row before.
pub(super) async fn upsert_user_days(
    conn: &mut SqliteConnection,
    rows: &[(UserDayKey, i64)],
) -> Result<Vec<UserDayKey>> {
    let mut new_keys = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let (accounts, days) = accounts_and_days(chunk.iter().map(|((a, d, _), _)| (*a, *d)));
        let sql = format!(
            "SELECT account_id, day, user_key FROM usage_user_daily WHERE account_id IN {} AND day IN {}",
            values(1, accounts.len()),
            values(1, days.len())
        );
        let mut q = sqlx::query_as::<_, UserDayKey>(&sql);
        q = accounts.iter().fold(q, |q, a| q.bind(*a));
        q = days.iter().fold(q, |q, d| q.bind(*d));
        let existing: HashSet<UserDayKey> = q.fetch_all(&mut *conn).await?.into_iter().collect();
        let sql = format!(
            "INSERT INTO usage_user_daily (account_id, day, user_key, events) VALUES {} \
             ON CONFLICT (account_id, day, user_key) DO UPDATE SET events = usage_user_daily.events + excluded.events",
            values(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for ((a, d, u), n) in chunk {
            q = q.bind(*a).bind(*d).bind(u).bind(*n);
        }
        q.execute(&mut *conn).await?;
        new_keys.extend(
            chunk
                .iter()
                .filter(|(k, _)| !existing.contains(k))
                .map(|(k, _)| k.clone()),
        );
    }
    Ok(new_keys)
}

pub(super) async fn add_feature_days(
    conn: &mut SqliteConnection,
    rows: &[FeatureDayDelta],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO usage_feature_daily (account_id, day, feature_id, events, users) VALUES {} \
             ON CONFLICT (account_id, day, feature_id) DO UPDATE SET \
             events = usage_feature_daily.events + excluded.events, users = usage_feature_daily.users + excluded.users",
            values(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for ((a, d, f), (events, users)) in chunk {
            q = q.bind(*a).bind(*d).bind(*f).bind(*events).bind(*users);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn add_account_days(
    conn: &mut SqliteConnection,
    rows: &[AccountDayDelta],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO usage_account_daily (account_id, day, events, active_users) VALUES {} \
             ON CONFLICT (account_id, day) DO UPDATE SET events = usage_account_daily.events + excluded.events, \
             active_users = usage_account_daily.active_users + excluded.active_users",
            values(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for ((a, d), (events, users)) in chunk {
            q = q.bind(*a).bind(*d).bind(*events).bind(*users);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn accounts_and_days(
    keys: impl Iterator<Item = (i64, NaiveDate)>,
) -> (BTreeSet<i64>, BTreeSet<NaiveDate>) {
    let mut accounts = BTreeSet::new();
    let mut days = BTreeSet::new();
    for (a, d) in keys {
        accounts.insert(a);
        days.insert(d);
    }
    (accounts, days)
}
