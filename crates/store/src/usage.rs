//! Usage ingestion and the daily rollups.
//!
//! Raw events are stored once per `message_id` (a retried message counts once). In the same
//! transaction, the per-user per-feature per-day counts are incremented and the per-feature and
//! per-account day rows of every (account, day) the commit touched are rebuilt from them, so the
//! rollups always equal the raw events exactly, late events included. Events whose account is not
//! known yet are kept without an account and rolled up when the account or the user's contact
//! appears.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use kizuna_domain::ids::{AccountId, ContactId, FeatureId};
use kizuna_domain::usage::{AccountDay, AccountUsage, FeatureDay, NewUsageEvent};

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

/// (account, day, user, feature) → events.
type Increments = HashMap<(i64, NaiveDate, String, i64), i64>;

/// Rows per multi-row statement; keeps both backends under their bind-parameter limits.
const CHUNK: usize = 1000;

fn placeholders(rows: usize, cols: usize) -> String {
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
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Adds increments to the per-user day rows and rebuilds the feature and account day rows of the
/// (account, day) pairs they touch.
macro_rules! apply_increments {
    ($tx:expr, $inc:expr) => {{
        let inc: &Increments = $inc;
        let rows: Vec<(&(i64, NaiveDate, String, i64), &i64)> = inc.iter().collect();
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO usage_user_daily (account_id, day, user_key, feature_id, events) VALUES {} \
                 ON CONFLICT (account_id, day, user_key, feature_id) DO UPDATE SET events = usage_user_daily.events + excluded.events",
                placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for ((account, day, user, feature), n) in chunk {
                q = q.bind(*account).bind(*day).bind(user.as_str()).bind(*feature).bind(**n);
            }
            q.execute(&mut *$tx).await?;
        }
        let pairs: Vec<(i64, NaiveDate)> =
            inc.keys().map(|(a, d, _, _)| (*a, *d)).collect::<BTreeSet<_>>().into_iter().collect();
        for chunk in pairs.chunks(CHUNK / 2) {
            let values = placeholders(chunk.len(), 2);
            let feature_sql = format!(
                "INSERT INTO usage_feature_daily (account_id, feature_id, day, events, users) \
                 SELECT account_id, feature_id, day, SUM(events), COUNT(*) FROM usage_user_daily \
                 WHERE (account_id, day) IN (VALUES {values}) GROUP BY account_id, feature_id, day \
                 ON CONFLICT (account_id, day, feature_id) DO UPDATE SET events = excluded.events, users = excluded.users"
            );
            let account_sql = format!(
                "INSERT INTO usage_account_daily (account_id, day, events, active_users) \
                 SELECT account_id, day, SUM(events), COUNT(DISTINCT user_key) FROM usage_user_daily \
                 WHERE (account_id, day) IN (VALUES {values}) GROUP BY account_id, day \
                 ON CONFLICT (account_id, day) DO UPDATE SET events = excluded.events, active_users = excluded.active_users"
            );
            for sql in [&feature_sql, &account_sql] {
                let mut q = sqlx::query(sql);
                for (account, day) in chunk {
                    q = q.bind(*account).bind(*day);
                }
                q.execute(&mut *$tx).await?;
            }
        }
    }};
}

impl Store {
    /// Stores usage events durably and updates the rollups, all in one transaction: when this
    /// returns `Ok`, every event is committed.
    pub async fn record_usage(&self, events: &[NewUsageEvent]) -> Result<IngestOutcome> {
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let keys: Vec<&str> = events.iter().map(|e| e.feature.as_str()).collect();
        let features = self.feature_ids(&keys).await?;
        let accounts = self.resolve_accounts(events).await?;

        let mut outcome = IngestOutcome::default();
        in_tx!(self, |tx| {
            let mut inc = Increments::new();
            for chunk in events.chunks(CHUNK) {
                let sql = format!(
                    "INSERT INTO usage_events (message_id, account_id, account_external_id, user_key, feature_id, day, \
                     occurred_at, received_at, properties) VALUES {} ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                    placeholders(chunk.len(), 9)
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for e in chunk {
                    q = q
                        .bind(&e.message_id)
                        .bind(accounts.of(e))
                        .bind(&e.account_external_id)
                        .bind(e.user_key())
                        .bind(features.get(&e.feature).copied())
                        .bind(e.occurred_at.date_naive())
                        .bind(e.occurred_at)
                        .bind(e.received_at)
                        .bind(&e.properties);
                }
                let stored: HashSet<String> = q.fetch_all(&mut *tx).await?.into_iter().collect();
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
            apply_increments!(tx, &inc);
        });
        outcome.duplicates = events.len() - outcome.stored;
        Ok(outcome)
    }

    async fn resolve_accounts(&self, events: &[NewUsageEvent]) -> Result<Attribution> {
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
                    "SELECT external_id, id FROM accounts WHERE deleted_at IS NULL AND external_id IN ({})",
                    (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
                for g in chunk {
                    q = q.bind(*g);
                }
                attribution.by_group.extend(q.fetch_all(pool).await?);
            }
            for chunk in users.chunks(CHUNK) {
                let sql = format!(
                    "SELECT external_id, account_id FROM contacts WHERE external_id IN ({})",
                    (1..=chunk.len())
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(",")
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
            apply_increments!(tx, &inc);
            Ok(rows.len())
        })
    }

    /// Rolls up the kept events of this contact's user id that name no account.
    pub(crate) async fn attribute_pending_usage_for_contact(&self, id: ContactId) -> Result<usize> {
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
            apply_increments!(tx, &inc);
            Ok(rows.len())
        })
    }

    /// An account's usage per feature per day and its active users per day.
    pub async fn account_usage(
        &self,
        account: AccountId,
        query: &UsageQuery,
    ) -> Result<AccountUsage> {
        let (features, days): (
            Vec<(NaiveDate, i64, String, i64, i64)>,
            Vec<(NaiveDate, i64, i64)>,
        ) = on_pool!(self, |pool| {
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
