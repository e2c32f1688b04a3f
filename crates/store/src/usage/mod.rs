//! Usage ingestion and the daily rollups.
//!
//! Raw events are stored once per `message_id` (a retried message counts once). In the same
//! transaction every rollup is incremented by exactly the events stored, so the rollups always
//! equal the raw events, late events included (they land in their own day). Events whose account is not
//! known yet are kept without an account and rolled up when the account or the user's contact
//! appears.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::ids::{AccountId, ContactId, FeatureId};
use kizuna_domain::usage::{AccountDay, AccountUsage, FeatureDay, NewUsageEvent};

mod postgres;
mod sqlite;

use crate::sql::placeholders;
use crate::{Result, Store};

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

/// Rows per multi-row statement on SQLite; keeps it under its bind-parameter limit.
const CHUNK: usize = 1000;

/// (account, day, user, feature) → events.
type Increments = HashMap<UserFeatureKey, i64>;
/// (account, day, user, feature)
type UserFeatureKey = (i64, NaiveDate, String, i64);
/// (account, day, user)
type UserDayKey = (i64, NaiveDate, String);
/// (account, day, feature) → (events, new users)
type FeatureDayDelta = ((i64, NaiveDate, i64), (i64, i64));
/// Per user and feature, and per user: the rows to add to, with their increments.
type UserRows = (Vec<(UserFeatureKey, i64)>, Vec<(UserDayKey, i64)>);
/// (account, day) → (events, new active users)
type AccountDayDelta = ((i64, NaiveDate), (i64, i64));

/// One event as stored: attributed (or not) and keyed.
#[derive(Debug, Clone)]
struct EventRow {
    message_id: String,
    account_id: Option<i64>,
    account_external_id: Option<String>,
    user_key: Option<String>,
    feature_id: Option<i64>,
    day: NaiveDate,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    properties: Option<String>,
}

/// The rollup increments of the events just stored, and how many of them could be rolled up.
fn increments(rows: &[EventRow], stored: &HashSet<String>) -> (Increments, usize) {
    let mut inc = Increments::new();
    let mut rolled_up = 0;
    for e in rows.iter().filter(|e| stored.contains(&e.message_id)) {
        if let (Some(account), Some(user), Some(feature)) =
            (e.account_id, &e.user_key, e.feature_id)
        {
            *inc.entry((account, e.day, user.clone(), feature))
                .or_default() += 1;
            rolled_up += 1;
        }
    }
    (inc, rolled_up)
}

/// The rows to add per user and feature, and per user, sorted so that each statement covers few
/// (account, day) pairs.
fn user_rows(inc: &Increments) -> UserRows {
    let mut per_feature: Vec<(UserFeatureKey, i64)> =
        inc.iter().map(|(k, n)| (k.clone(), *n)).collect();
    per_feature.sort_unstable();
    let mut per_user: HashMap<UserDayKey, i64> = HashMap::new();
    for ((a, d, u, _), n) in inc {
        *per_user.entry((*a, *d, u.clone())).or_default() += n;
    }
    let mut per_user: Vec<(UserDayKey, i64)> = per_user.into_iter().collect();
    per_user.sort_unstable();
    (per_feature, per_user)
}

/// What to add to the feature and account day rows, given which users are new to a (day,
/// feature) and to a day.
fn day_deltas(
    inc: &Increments,
    new_user_features: &[UserFeatureKey],
    new_users: &[UserDayKey],
) -> (Vec<FeatureDayDelta>, Vec<AccountDayDelta>) {
    let mut per_feature: HashMap<(i64, NaiveDate, i64), (i64, i64)> = HashMap::new();
    let mut per_account: HashMap<(i64, NaiveDate), (i64, i64)> = HashMap::new();
    for ((a, d, _, f), n) in inc {
        per_feature.entry((*a, *d, *f)).or_default().0 += n;
        per_account.entry((*a, *d)).or_default().0 += n;
    }
    for (a, d, _, f) in new_user_features {
        per_feature.entry((*a, *d, *f)).or_default().1 += 1;
    }
    for (a, d, _) in new_users {
        per_account.entry((*a, *d)).or_default().1 += 1;
    }
    (
        per_feature.into_iter().collect(),
        per_account.into_iter().collect(),
    )
}

/// Applies increments to every rollup, with the backend's own statements (`sqlite` or
/// `postgres`). By increments only: the cost follows the new events, not the day's history.
macro_rules! apply_increments {
    ($tx:ident, $kind:ident, $inc:expr) => {{
        $kind::apply_increments(&mut *$tx, $inc).await?;
    }};
}

/// Stores the events and rolls them up; evaluates to (message ids stored, events rolled up).
macro_rules! store_events {
    ($tx:ident, $kind:ident, $rows:expr) => {{
        let stored = $kind::insert_events(&mut *$tx, $rows).await?;
        let (inc, rolled_up) = increments($rows, &stored);
        apply_increments!($tx, $kind, &inc);
        (stored, rolled_up)
    }};
}

/// Attributes kept events to an account (the UPDATE names them) and rolls them up.
macro_rules! attribute {
    ($tx:ident, $kind:ident, $sql:expr, $id:expr) => {{
        let rows: Vec<(i64, NaiveDate, Option<String>, i64)> =
            sqlx::query_as($sql).bind($id).fetch_all(&mut *$tx).await?;
        let mut inc = Increments::new();
        for (account, day, user, feature) in &rows {
            if let Some(user) = user {
                *inc.entry((*account, *day, user.clone(), *feature))
                    .or_default() += 1;
            }
        }
        apply_increments!($tx, $kind, &inc);
        rows.len()
    }};
}

/// (day, feature id, feature key, events, users)
type FeatureDayRow = (NaiveDate, i64, String, i64, i64);
/// (day, events, active users)
type AccountDayRow = (NaiveDate, i64, i64);

impl Store {
    /// Stores usage events durably and updates the rollups, all in one transaction: when this
    /// returns `Ok`, every event is committed.
    pub async fn record_usage(&self, events: &[NewUsageEvent]) -> Result<IngestOutcome> {
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let keys: Vec<&str> = events.iter().map(|e| e.feature.as_str()).collect();
        let features = self.feature_ids(&keys).await?;
        // Anonymous ids merged into a user id by `alias` count as that user.
        let anonymous: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.user_id.is_none())
            .filter_map(|e| e.anonymous_id.as_deref())
            .collect();
        let aliases: HashMap<String, String> = if anonymous.is_empty() {
            HashMap::new()
        } else {
            self.aliases_of(&anonymous.into_iter().collect::<Vec<_>>())
                .await?
                .into_iter()
                .collect()
        };
        let user_of = |e: &NewUsageEvent| -> Option<String> {
            e.user_id.clone().or_else(|| {
                e.anonymous_id
                    .as_ref()
                    .and_then(|a| aliases.get(a))
                    .cloned()
            })
        };
        let users: Vec<Option<String>> = events.iter().map(user_of).collect();
        let accounts = self.resolve_accounts(events, &users).await?;
        // A message id twice in one call counts once, like a retry.
        let mut seen = HashSet::with_capacity(events.len());
        let rows: Vec<EventRow> = events
            .iter()
            .zip(&users)
            .filter(|(e, _)| seen.insert(e.message_id.as_str()))
            .map(|(e, user)| EventRow {
                message_id: e.message_id.clone(),
                account_id: accounts.of(e, user.as_deref()),
                account_external_id: e.account_external_id.clone(),
                user_key: user.clone().or_else(|| e.anonymous_id.clone()),
                feature_id: features.get(&e.feature).copied(),
                day: e.occurred_at.date_naive(),
                occurred_at: e.occurred_at,
                received_at: e.received_at,
                properties: e.properties.clone(),
            })
            .collect();

        let started = std::time::Instant::now();
        let (stored, rolled_up) = in_tx_split!(self,
            sqlite: |tx| store_events!(tx, sqlite, &rows),
            postgres: |tx| store_events!(tx, postgres, &rows)
        );
        tracing::debug!(
            events = events.len(),
            stored = stored.len(),
            ms = started.elapsed().as_millis() as u64,
            "usage committed"
        );
        Ok(IngestOutcome {
            stored: stored.len(),
            duplicates: events.len() - stored.len(),
            unattributed: stored.len() - rolled_up,
        })
    }

    async fn resolve_accounts(
        &self,
        events: &[NewUsageEvent],
        users: &[Option<String>],
    ) -> Result<Attribution> {
        let backend = self.backend();
        let groups: BTreeSet<&str> = events
            .iter()
            .filter_map(|e| e.account_external_id.as_deref())
            .collect();
        let users: BTreeSet<&str> = events
            .iter()
            .zip(users)
            .filter(|(e, _)| e.account_external_id.is_none())
            .filter_map(|(_, u)| u.as_deref())
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

    /// Whether any kept event still waits for its account (cheap: a partial index holds only those).
    pub(crate) async fn has_unattributed_usage(&self) -> Result<bool> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM usage_events WHERE account_id IS NULL)"
        )
        .fetch_one(pool)
        .await?))
    }

    /// Rolls up the kept events that name this account's external id.
    pub(crate) async fn attribute_pending_usage_for_account(&self, id: AccountId) -> Result<usize> {
        const SQL: &str = "UPDATE usage_events SET account_id = $1 WHERE account_id IS NULL \
             AND account_external_id = (SELECT external_id FROM accounts WHERE id = $1) \
             RETURNING account_id, day, user_key, feature_id";
        Ok(in_tx_split!(self,
            sqlite: |tx| attribute!(tx, sqlite, SQL, id.0),
            postgres: |tx| attribute!(tx, postgres, SQL, id.0)
        ))
    }

    /// Rolls up the kept events of this contact's user id that name no account.
    pub(crate) async fn attribute_pending_usage_for_contact(&self, id: ContactId) -> Result<usize> {
        const SQL: &str =
            "UPDATE usage_events SET account_id = (SELECT account_id FROM contacts WHERE id = $1) \
             WHERE account_id IS NULL AND account_external_id IS NULL \
             AND user_key = (SELECT external_id FROM contacts WHERE id = $1) \
             RETURNING account_id, day, user_key, feature_id";
        Ok(in_tx_split!(self,
            sqlite: |tx| attribute!(tx, sqlite, SQL, id.0),
            postgres: |tx| attribute!(tx, postgres, SQL, id.0)
        ))
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
    /// How many of these message ids are stored.
    pub async fn stored_message_ids(&self, ids: &[String]) -> Result<usize> {
        let backend = self.backend();
        let mut found = 0;
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT COUNT(*) FROM usage_events WHERE message_id IN {}",
                placeholders(backend, 1, chunk.len())
            );
            let n: i64 = on_pool!(self, |pool| {
                let mut q = sqlx::query_scalar(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_one(pool).await?
            });
            found += n as usize;
        }
        Ok(found)
    }

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
    /// The event's account: its group's, else its (possibly aliased) user's contact's.
    fn of(&self, e: &NewUsageEvent, user: Option<&str>) -> Option<i64> {
        match (&e.account_external_id, user) {
            (Some(group), _) => self.by_group.get(group).copied(),
            (None, Some(user)) => self.by_user.get(user).copied(),
            (None, None) => None,
        }
    }
}
