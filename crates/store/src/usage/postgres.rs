//! The usage write path's PostgreSQL statements: columns bound as arrays and expanded with
//! `UNNEST`, one statement per table, and `RETURNING` to learn which rows are new. That stays
//! exact when several instances write at once: an upsert locks its row, so a row is new exactly
//! when its count after the upsert equals the increment just added.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::{
    day_deltas, user_rows, AccountDayDelta, EventRow, FeatureDayDelta, Increments, UserDayKey,
    UserFeatureKey,
};
use crate::Result;

/// Rows per statement: bounds the size of one message to the server.
const CHUNK: usize = 20_000;

pub(super) async fn insert_events(
    conn: &mut PgConnection,
    rows: &[EventRow],
) -> Result<HashSet<String>> {
    let mut stored = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<String> = sqlx::query_scalar(
            "INSERT INTO usage_events (message_id, account_id, account_external_id, user_key, feature_id, day, \
             occurred_at, received_at, properties) SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], \
             $4::text[], $5::int8[], $6::date[], $7::timestamptz[], $8::timestamptz[], $9::text[]) \
             ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        )
        .bind(chunk.iter().map(|e| e.message_id.clone()).collect::<Vec<String>>())
        .bind(chunk.iter().map(|e| e.account_id).collect::<Vec<Option<i64>>>())
        .bind(chunk.iter().map(|e| e.account_external_id.clone()).collect::<Vec<Option<String>>>())
        .bind(chunk.iter().map(|e| e.user_key.clone()).collect::<Vec<Option<String>>>())
        .bind(chunk.iter().map(|e| e.feature_id).collect::<Vec<Option<i64>>>())
        .bind(chunk.iter().map(|e| e.day).collect::<Vec<NaiveDate>>())
        .bind(chunk.iter().map(|e| e.occurred_at).collect::<Vec<DateTime<Utc>>>())
        .bind(chunk.iter().map(|e| e.received_at).collect::<Vec<DateTime<Utc>>>())
        .bind(chunk.iter().map(|e| e.properties.clone()).collect::<Vec<Option<String>>>())
        .fetch_all(&mut *conn)
        .await?;
        stored.extend(ids);
    }
    Ok(stored)
}

/// Adds event counts to every rollup: per user and feature and per user first (learning which
/// users are new to a day), then per feature and per account.
pub(super) async fn apply_increments(conn: &mut PgConnection, inc: &Increments) -> Result<()> {
    let (per_feature, per_user) = user_rows(inc);
    let new_user_features = upsert_user_feature_days(conn, &per_feature).await?;
    let new_users = upsert_user_days(conn, &per_user).await?;
    let (features, accounts) = day_deltas(inc, &new_user_features, &new_users);
    add_feature_days(conn, &features).await?;
    add_account_days(conn, &accounts).await?;
    add_latest_use(conn, inc).await
}

/// Moves each (account, user) and (account, feature) "last used" day forward.
async fn add_latest_use(conn: &mut PgConnection, inc: &Increments) -> Result<()> {
    let mut users: HashMap<(i64, &str), NaiveDate> = HashMap::new();
    let mut features: HashMap<(i64, i64), NaiveDate> = HashMap::new();
    for (a, d, u, f) in inc.keys() {
        let e = users.entry((*a, u.as_str())).or_insert(*d);
        *e = (*e).max(*d);
        let e = features.entry((*a, *f)).or_insert(*d);
        *e = (*e).max(*d);
    }
    // Sorted: concurrent committers lock rows in one order and cannot deadlock on them.
    let mut users: Vec<_> = users.into_iter().collect();
    users.sort_unstable();
    for chunk in users.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO usage_user_last (account_id, user_key, last_day) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::date[]) \
             ON CONFLICT (account_id, user_key) DO UPDATE SET \
             last_day = GREATEST(usage_user_last.last_day, excluded.last_day)",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.0 .1.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(chunk.iter().map(|r| r.1).collect::<Vec<NaiveDate>>())
        .execute(&mut *conn)
        .await?;
    }
    let mut features: Vec<_> = features.into_iter().collect();
    features.sort_unstable();
    for chunk in features.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO usage_feature_last (account_id, feature_id, last_day) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::date[]) \
             ON CONFLICT (account_id, feature_id) DO UPDATE SET \
             last_day = GREATEST(usage_feature_last.last_day, excluded.last_day)",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.0 .1).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.1).collect::<Vec<NaiveDate>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The keys of `rows` whose count after the upsert equals what was added: the new ones.
fn new_keys<K: std::hash::Hash + Eq + Clone>(rows: &[(K, i64)], after: Vec<(K, i64)>) -> Vec<K> {
    let added: HashMap<&K, i64> = rows.iter().map(|(k, n)| (k, *n)).collect();
    after
        .into_iter()
        .filter(|(k, n)| added.get(k) == Some(n))
        .map(|(k, _)| k)
        .collect()
}

async fn upsert_user_feature_days(
    conn: &mut PgConnection,
    rows: &[(UserFeatureKey, i64)],
) -> Result<Vec<UserFeatureKey>> {
    let mut out = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let after: Vec<(i64, NaiveDate, String, i64, i64)> = sqlx::query_as(
            "INSERT INTO usage_user_feature_daily (account_id, day, user_key, feature_id, events) \
             SELECT * FROM UNNEST($1::int8[], $2::date[], $3::text[], $4::int8[], $5::int8[]) \
             ON CONFLICT (account_id, day, user_key, feature_id) DO UPDATE SET \
             events = usage_user_feature_daily.events + excluded.events \
             RETURNING account_id, day, user_key, feature_id, events",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.0 .1).collect::<Vec<NaiveDate>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.0 .2.clone())
                .collect::<Vec<String>>(),
        )
        .bind(chunk.iter().map(|r| r.0 .3).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.1).collect::<Vec<i64>>())
        .fetch_all(&mut *conn)
        .await?;
        out.extend(new_keys(
            chunk,
            after
                .into_iter()
                .map(|(a, d, u, f, n)| ((a, d, u, f), n))
                .collect(),
        ));
    }
    Ok(out)
}

async fn upsert_user_days(
    conn: &mut PgConnection,
    rows: &[(UserDayKey, i64)],
) -> Result<Vec<UserDayKey>> {
    let mut out = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let after: Vec<(i64, NaiveDate, String, i64)> = sqlx::query_as(
            "INSERT INTO usage_user_daily (account_id, day, user_key, events) \
             SELECT * FROM UNNEST($1::int8[], $2::date[], $3::text[], $4::int8[]) \
             ON CONFLICT (account_id, day, user_key) DO UPDATE SET events = usage_user_daily.events + excluded.events \
             RETURNING account_id, day, user_key, events",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.0 .1).collect::<Vec<NaiveDate>>())
        .bind(chunk.iter().map(|r| r.0 .2.clone()).collect::<Vec<String>>())
        .bind(chunk.iter().map(|r| r.1).collect::<Vec<i64>>())
        .fetch_all(&mut *conn)
        .await?;
        out.extend(new_keys(
            chunk,
            after
                .into_iter()
                .map(|(a, d, u, n)| ((a, d, u), n))
                .collect(),
        ));
    }
    Ok(out)
}

async fn add_feature_days(conn: &mut PgConnection, rows: &[FeatureDayDelta]) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO usage_feature_daily (account_id, day, feature_id, events, users) \
             SELECT * FROM UNNEST($1::int8[], $2::date[], $3::int8[], $4::int8[], $5::int8[]) \
             ON CONFLICT (account_id, day, feature_id) DO UPDATE SET \
             events = usage_feature_daily.events + excluded.events, users = usage_feature_daily.users + excluded.users",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.0 .1).collect::<Vec<NaiveDate>>())
        .bind(chunk.iter().map(|r| r.0 .2).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.1 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.1 .1).collect::<Vec<i64>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn add_account_days(conn: &mut PgConnection, rows: &[AccountDayDelta]) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO usage_account_daily (account_id, day, events, active_users) \
             SELECT * FROM UNNEST($1::int8[], $2::date[], $3::int8[], $4::int8[]) \
             ON CONFLICT (account_id, day) DO UPDATE SET events = usage_account_daily.events + excluded.events, \
             active_users = usage_account_daily.active_users + excluded.active_users",
        )
        .bind(chunk.iter().map(|r| r.0 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.0 .1).collect::<Vec<NaiveDate>>())
        .bind(chunk.iter().map(|r| r.1 .0).collect::<Vec<i64>>())
        .bind(chunk.iter().map(|r| r.1 .1).collect::<Vec<i64>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
