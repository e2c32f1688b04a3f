//! Usage ingestion and the daily rollups.
//!
//! Raw events are stored once per `message_id` (a retried message counts once). In the same
//! transaction every rollup is incremented by exactly the events stored, so the rollups always
//! equal the raw events, late events included (they land in their own day). Events whose account is not
//! known yet are kept without an account and rolled up when the account or the user's contact
//! appears.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use kizuna_domain::ids::{AccountId, ContactId, FeatureId};
use kizuna_domain::usage::{AccountDay, AccountUsage, FeatureDay, NewUsageEvent};

use crate::{Backend, Result, Store};

/// What one `record_usage` call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Events stored now.
    pub stored: usize,
    /// Events whose `message_id` was stored before: retries, counted once.
    pub duplicates: usize,
    /// Stored events whose account is not known yet.
    pub unattributed: usize,
}

/// Which usage to read back.
#[derive(Debug, Clone)]
pub struct UsageQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only this feature key.
    pub feature: Option<String>,
}

/// (account, day, user, feature) → events.
type Increments = HashMap<(i64, NaiveDate, String, i64), i64>;

/// (day, feature id, feature key, events, users)
type FeatureDayRow = (NaiveDate, i64, String, i64, i64);
/// (day, events, active users)
type AccountDayRow = (NaiveDate, i64, i64);

/// Rows per multi-row statement; keeps both backends under their bind-parameter limits.
const CHUNK: usize = 1000;

/// `($1,$2),($3,$4)…` for PostgreSQL, `(?,?),(?,?)…` for SQLite: SQLite looks numbered parameters
/// up by name in a list, which makes binding thousands of them quadratic, while anonymous `?`
/// parameters bind in order at no cost.
fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// Upserts `(key…, events)` rows adding to `events`, and returns the keys whose row is new.
///
/// PostgreSQL: a row is new exactly when its count after the upsert (`RETURNING`) equals the
/// increment just added; this stays exact when several instances write at once, because the
/// upsert locks the row. SQLite: the keys already present for the touched accounts and days are
/// read first (the write transaction is `IMMEDIATE`, so nobody else writes in between), which
/// avoids streaming every row back from SQLite's worker thread.
macro_rules! upsert_counting_new {
    ($tx:expr, $backend:expr, $table:literal, $cols:literal, $rows:expr, $ncols:expr, |$q:ident, $row:ident| $bind:expr,
     $key:ty, $flat:ty, |$r:ident| $split:expr) => {{
        let mut new_keys: Vec<$key> = Vec::new();
        for chunk in $rows.chunks(CHUNK) {
            let upsert = format!(
                concat!(
                    "INSERT INTO ",
                    $table,
                    " (",
                    $cols,
                    ", events) VALUES {} ON CONFLICT (",
                    $cols,
                    ") DO UPDATE SET events = ",
                    $table,
                    ".events + excluded.events"
                ),
                placeholders($backend, chunk.len(), $ncols)
            );
            if $backend == Backend::Postgres {
                let sql = format!(concat!("{} RETURNING ", $cols, ", events"), upsert);
                let mut $q = sqlx::query_as::<_, $flat>(&sql);
                for $row in chunk {
                    $q = $bind;
                }
                let returned: Vec<($key, i64)> = $q
                    .fetch_all(&mut *$tx)
                    .await?
                    .into_iter()
                    .map(|$r| $split)
                    .collect();
                let added: HashMap<&$key, i64> = chunk.iter().map(|(k, n)| (k, *n)).collect();
                new_keys.extend(
                    returned
                        .into_iter()
                        .filter(|(k, after)| added.get(k) == Some(after))
                        .map(|(k, _)| k),
                );
            } else {
                let accounts: BTreeSet<i64> = chunk.iter().map(|(k, _)| k.0).collect();
                let days: BTreeSet<NaiveDate> = chunk.iter().map(|(k, _)| k.1).collect();
                let sql = format!(
                    concat!(
                        "SELECT ",
                        $cols,
                        ", 0 FROM ",
                        $table,
                        " WHERE account_id IN {} AND day IN {}"
                    ),
                    placeholders($backend, 1, accounts.len()),
                    placeholders($backend, 1, days.len())
                );
                let mut existing_q = sqlx::query_as::<_, $flat>(&sql);
                for a in &accounts {
                    existing_q = existing_q.bind(*a);
                }
                for d in &days {
                    existing_q = existing_q.bind(*d);
                }
                let existing: HashSet<$key> = existing_q
                    .fetch_all(&mut *$tx)
                    .await?
                    .into_iter()
                    .map(|$r| $split.0)
                    .collect();
                let mut $q = sqlx::query(&upsert);
                for $row in chunk {
                    $q = $bind;
                }
                $q.execute(&mut *$tx).await?;
                new_keys.extend(
                    chunk
                        .iter()
                        .filter(|(k, _)| !existing.contains(k))
                        .map(|(k, _)| k.clone()),
                );
            }
        }
        new_keys
    }};
}

/// Applies event counts to every rollup: per user and feature, per user, per feature and per
/// account and day. All by increments, so the cost is proportional to the new events, not to
/// the day's history.
macro_rules! apply_increments {
    ($tx:expr, $backend:expr, $inc:expr) => {{
        let inc: &Increments = $inc;
        // Per user and feature: which (user, feature, day) are new decides the feature's users.
        // Sorted, so that each chunk covers few (account, day) pairs and the chunks barely overlap.
        let mut rows: Vec<((i64, NaiveDate, String, i64), i64)> = inc.iter().map(|(k, n)| (k.clone(), *n)).collect();
        rows.sort_unstable();
        let new_user_features = upsert_counting_new!(
            $tx, $backend, "usage_user_feature_daily", "account_id, day, user_key, feature_id",
            rows, 5, |q, row| q.bind(row.0 .0).bind(row.0 .1).bind(row.0 .2.clone()).bind(row.0 .3).bind(row.1),
            (i64, NaiveDate, String, i64),
            (i64, NaiveDate, String, i64, i64),
            |r| ((r.0, r.1, r.2, r.3), r.4)
        );
        // Per user: which (user, day) are new decides the account's active users.
        let mut per_user: HashMap<(i64, NaiveDate, String), i64> = HashMap::new();
        for ((a, d, u, _), n) in inc {
            *per_user.entry((*a, *d, u.clone())).or_default() += n;
        }
        let mut rows: Vec<((i64, NaiveDate, String), i64)> = per_user.into_iter().collect();
        rows.sort_unstable();
        let new_users = upsert_counting_new!(
            $tx, $backend, "usage_user_daily", "account_id, day, user_key",
            rows, 4, |q, row| q.bind(row.0 .0).bind(row.0 .1).bind(row.0 .2.clone()).bind(row.1),
            (i64, NaiveDate, String),
            (i64, NaiveDate, String, i64),
            |r| ((r.0, r.1, r.2), r.3)
        );

        let mut per_feature: HashMap<(i64, NaiveDate, i64), (i64, i64)> = HashMap::new();
        for ((a, d, _, f), n) in inc {
            per_feature.entry((*a, *d, *f)).or_default().0 += n;
        }
        for (a, d, _, f) in &new_user_features {
            per_feature.entry((*a, *d, *f)).or_default().1 += 1;
        }
        let mut per_account: HashMap<(i64, NaiveDate), (i64, i64)> = HashMap::new();
        for ((a, d, _, _), n) in inc {
            per_account.entry((*a, *d)).or_default().0 += n;
        }
        for (a, d, _) in &new_users {
            per_account.entry((*a, *d)).or_default().1 += 1;
        }
        let features: Vec<(&(i64, NaiveDate, i64), &(i64, i64))> = per_feature.iter().collect();
        for chunk in features.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO usage_feature_daily (account_id, day, feature_id, events, users) VALUES {} \
                 ON CONFLICT (account_id, day, feature_id) DO UPDATE SET \
                 events = usage_feature_daily.events + excluded.events, users = usage_feature_daily.users + excluded.users",
                placeholders($backend, chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for ((a, d, f), (events, users)) in chunk {
                q = q.bind(*a).bind(*d).bind(*f).bind(*events).bind(*users);
            }
            q.execute(&mut *$tx).await?;
        }
        let accounts: Vec<(&(i64, NaiveDate), &(i64, i64))> = per_account.iter().collect();
        for chunk in accounts.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO usage_account_daily (account_id, day, events, active_users) VALUES {} \
                 ON CONFLICT (account_id, day) DO UPDATE SET \
                 events = usage_account_daily.events + excluded.events, \
                 active_users = usage_account_daily.active_users + excluded.active_users",
                placeholders($backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for ((a, d), (events, users)) in chunk {
                q = q.bind(*a).bind(*d).bind(*events).bind(*users);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// Binds one event's nine columns, in the order of the `usage_events` insert.
macro_rules! bind_event {
    ($q:expr, $e:expr, $accounts:expr, $features:expr) => {
        $q.bind(&$e.message_id)
            .bind($accounts.of($e))
            .bind(&$e.account_external_id)
            .bind($e.user_key())
            .bind($features.get(&$e.feature).copied())
            .bind($e.occurred_at.date_naive())
            .bind($e.occurred_at)
            .bind($e.received_at)
            .bind(&$e.properties)
    };
}

impl Store {
    /// Stores usage events durably and updates the rollups, all in one transaction: when this
    /// returns `Ok`, every event is committed.
    pub async fn record_usage(&self, events: &[NewUsageEvent]) -> Result<IngestOutcome> {
        let backend = self.backend();
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let keys: Vec<&str> = events.iter().map(|e| e.feature.as_str()).collect();
        let features = self.feature_ids(&keys).await?;
        let accounts = self.resolve_accounts(events).await?;

        let mut outcome = IngestOutcome::default();
        in_tx!(self, |tx| {
            let mut inc = Increments::new();
            // A message id twice in one call counts once, like a retry.
            let mut seen = HashSet::with_capacity(events.len());
            let unique: Vec<&NewUsageEvent> = events
                .iter()
                .filter(|e| seen.insert(e.message_id.as_str()))
                .collect();
            for chunk in unique.chunks(CHUNK) {
                let insert = format!(
                    "INSERT INTO usage_events (message_id, account_id, account_external_id, user_key, feature_id, day, \
                     occurred_at, received_at, properties) VALUES {} ON CONFLICT (message_id) DO NOTHING",
                    placeholders(backend, chunk.len(), 9)
                );
                let stored: HashSet<String> = if backend == Backend::Postgres {
                    // Exact under concurrent writers: only the rows this statement inserted come back.
                    let sql = format!("{insert} RETURNING message_id");
                    let mut q = sqlx::query_scalar::<_, String>(&sql);
                    for e in chunk {
                        q = bind_event!(q, e, accounts, features);
                    }
                    q.fetch_all(&mut *tx).await?.into_iter().collect()
                } else {
                    // The IMMEDIATE transaction holds SQLite's write lock: what is not there now is
                    // inserted by this statement. Reading the few duplicates is cheaper than
                    // streaming back every inserted id.
                    let sql = format!(
                        "SELECT message_id FROM usage_events WHERE message_id IN {}",
                        placeholders(backend, 1, chunk.len())
                    );
                    let mut dup_q = sqlx::query_scalar::<_, String>(&sql);
                    for e in chunk {
                        dup_q = dup_q.bind(&e.message_id);
                    }
                    let dups: HashSet<String> =
                        dup_q.fetch_all(&mut *tx).await?.into_iter().collect();
                    let mut q = sqlx::query(&insert);
                    for e in chunk {
                        q = bind_event!(q, e, accounts, features);
                    }
                    q.execute(&mut *tx).await?;
                    chunk
                        .iter()
                        .filter(|e| !dups.contains(&e.message_id))
                        .map(|e| e.message_id.clone())
                        .collect()
                };
                for e in chunk.iter().filter(|e| stored.contains(&e.message_id)) {
                    outcome.stored += 1;
                    match (accounts.of(e), e.user_key(), features.get(&e.feature)) {
                        (Some(account), Some(user), Some(feature)) => {
                            *inc.entry((
                                account,
                                e.occurred_at.date_naive(),
                                user.to_string(),
                                *feature,
                            ))
                            .or_default() += 1;
                        }
                        _ => outcome.unattributed += 1,
                    }
                }
            }
            apply_increments!(tx, backend, &inc);
        });
        outcome.duplicates = events.len() - outcome.stored;
        Ok(outcome)
    }

    async fn resolve_accounts(&self, events: &[NewUsageEvent]) -> Result<Attribution> {
        let backend = self.backend();
        let groups: BTreeSet<&str> = events
            .iter()
            .filter_map(|e| e.account_external_id.as_deref())
            .collect();
        let users: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.account_external_id.is_none())
            .filter_map(|e| e.user_id.as_deref())
            .collect();
        let mut attribution = Attribution::default();
        let groups: Vec<&str> = groups.into_iter().collect();
        let users: Vec<&str> = users.into_iter().collect();
        on_pool!(self, |pool| {
            for chunk in groups.chunks(CHUNK) {
                let sql = format!(
                    "SELECT external_id, id FROM accounts WHERE deleted_at IS NULL AND external_id IN {}",
                    placeholders(backend, 1, chunk.len())
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
                for g in chunk {
                    q = q.bind(*g);
                }
                attribution.by_group.extend(q.fetch_all(pool).await?);
            }
            for chunk in users.chunks(CHUNK) {
                let sql = format!(
                    "SELECT external_id, account_id FROM contacts WHERE external_id IN {}",
                    placeholders(backend, 1, chunk.len())
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
                for u in chunk {
                    q = q.bind(*u);
                }
                attribution.by_user.extend(q.fetch_all(pool).await?);
            }
        });
        Ok(attribution)
    }

    /// Rolls up the kept events that name this account's external id.
    pub(crate) async fn attribute_pending_usage_for_account(&self, id: AccountId) -> Result<usize> {
        let backend = self.backend();
        in_tx!(self, |tx| {
            let rows: Vec<(NaiveDate, Option<String>, i64)> = sqlx::query_as(
                "UPDATE usage_events SET account_id = $1 WHERE account_id IS NULL \
                 AND account_external_id = (SELECT external_id FROM accounts WHERE id = $1) \
                 RETURNING day, user_key, feature_id",
            )
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await?;
            let mut inc = Increments::new();
            for (day, user, feature) in &rows {
                if let Some(user) = user {
                    *inc.entry((id.0, *day, user.clone(), *feature)).or_default() += 1;
                }
            }
            apply_increments!(tx, backend, &inc);
            Ok(rows.len())
        })
    }

    /// Rolls up the kept events of this contact's user id that name no account.
    pub(crate) async fn attribute_pending_usage_for_contact(&self, id: ContactId) -> Result<usize> {
        let backend = self.backend();
        in_tx!(self, |tx| {
            let rows: Vec<(i64, NaiveDate, Option<String>, i64)> = sqlx::query_as(
                "UPDATE usage_events SET account_id = (SELECT account_id FROM contacts WHERE id = $1) \
                 WHERE account_id IS NULL AND account_external_id IS NULL \
                 AND user_key = (SELECT external_id FROM contacts WHERE id = $1) \
                 RETURNING account_id, day, user_key, feature_id",
            )
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await?;
            let mut inc = Increments::new();
            for (account, day, user, feature) in &rows {
                if let Some(user) = user {
                    *inc.entry((*account, *day, user.clone(), *feature))
                        .or_default() += 1;
                }
            }
            apply_increments!(tx, backend, &inc);
            Ok(rows.len())
        })
    }

    /// An account's usage per feature per day and its active users per day.
    pub async fn account_usage(
        &self,
        account: AccountId,
        query: &UsageQuery,
    ) -> Result<AccountUsage> {
        let (features, days): (Vec<FeatureDayRow>, Vec<AccountDayRow>) = on_pool!(self, |pool| {
            let features = sqlx::query_as(
                    "SELECT u.day, u.feature_id, f.key, u.events, u.users FROM usage_feature_daily u \
                     JOIN features f ON f.id = u.feature_id \
                     WHERE u.account_id = $1 AND u.day >= $2 AND u.day <= $3 AND ($4 IS NULL OR f.key = $4) \
                     ORDER BY u.day, f.key",
                )
                .bind(account.0)
                .bind(query.from)
                .bind(query.to)
                .bind(query.feature.as_deref())
                .fetch_all(pool)
                .await?;
            let days = sqlx::query_as(
                "SELECT day, events, active_users FROM usage_account_daily \
                     WHERE account_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
            )
            .bind(account.0)
            .bind(query.from)
            .bind(query.to)
            .fetch_all(pool)
            .await?;
            (features, days)
        });
        Ok(AccountUsage {
            account_id: account,
            from: query.from,
            to: query.to,
            features: features
                .into_iter()
                .map(|(day, feature_id, feature, events, users)| FeatureDay {
                    day,
                    feature_id: FeatureId(feature_id),
                    feature,
                    events,
                    users,
                })
                .collect(),
            days: days
                .into_iter()
                .map(|(day, events, active_users)| AccountDay {
                    day,
                    events,
                    active_users,
                })
                .collect(),
        })
    }

    /// Raw events stored, attributed or not: for checks and operators.
    pub async fn usage_event_count(&self) -> Result<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM usage_events"
        )
        .fetch_one(pool)
        .await?))
    }
}

/// Which account each event belongs to, by its group id or its user's contact.
#[derive(Default)]
struct Attribution {
    by_group: HashMap<String, i64>,
    by_user: HashMap<String, i64>,
}

impl Attribution {
    fn of(&self, e: &NewUsageEvent) -> Option<i64> {
        match (&e.account_external_id, &e.user_id) {
            (Some(group), _) => self.by_group.get(group).copied(),
            (None, Some(user)) => self.by_user.get(user).copied(),
            (None, None) => None,
        }
    }
}
