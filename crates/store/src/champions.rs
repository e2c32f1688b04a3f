//! Champions: each contact's usage, role and relationship read per account (scored by
//! `kizuna_domain::champion`), and the daily pass that records each account's champions and queues
//! a `champion_change` for the rules when one went quiet or left.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kizuna_domain::champion::{self, ChampionScore, ChampionStatus, ContactActivity};
use kizuna_domain::contact::roles_from_text;
use kizuna_domain::ids::AccountId;

use crate::Result;
use crate::{now, Store};

/// Accounts read per step of the pass.
const RANGE: i64 = 5_000;
/// Contacts scored per account at most (the most recently seen first).
const MAX_CONTACTS: i64 = 500;

/// What a champion pass did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ChampionPass {
    pub accounts: usize,
    pub champions: usize,
    pub quiet: usize,
    pub left: usize,
    /// Champions that went quiet or left since the last pass (queued for the rules).
    pub changes: usize,
    pub seconds: f64,
}

type ContactRow = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<DateTime<Utc>>,
);

impl Store {
    /// Every contact of an account scored as a champion as of `on`, best first.
    pub async fn account_champions(
        &self,
        account: AccountId,
        on: NaiveDate,
    ) -> Result<Vec<ChampionScore>> {
        self.account(account).await?;
        self.champions_of(account.0, on).await
    }

    /// [`Store::account_champions`] for an account known to exist.
    pub(crate) async fn champions_of(&self, id: i64, on: NaiveDate) -> Result<Vec<ChampionScore>> {
        let mut by_account = self.contact_activity(id, id, on).await?;
        Ok(champion::score_contacts(
            &by_account.remove(&id).unwrap_or_default(),
            on,
        ))
    }

    /// The daily champion pass: scores every account's contacts as of `on`, records the
    /// champions, and queues a `champion_change` (read by the change rules) for each champion who
    /// went quiet or left since the last pass. An account read for the first time queues nothing:
    /// its history is not news. Running it twice on one day queues nothing the second time.
    pub async fn run_champion_pass(&self, on: NaiveDate) -> Result<ChampionPass> {
        let started = std::time::Instant::now();
        let mut pass = ChampionPass::default();
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(account_id), MAX(account_id) FROM contacts"
        )
        .fetch_one(pool)
        .await?);
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(pass);
        };
        let mut start = lo;
        while start <= hi {
            let end = start + RANGE - 1;
            let activity = self.contact_activity(start, end, on).await?;
            let before: Vec<(i64, i64, String, NaiveDate)> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT account_id, contact_id, status, since FROM champion_state \
                     WHERE account_id BETWEEN $1 AND $2",
                )
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?
            });
            let mut known: HashMap<i64, Vec<(i64, ChampionStatus, NaiveDate)>> = HashMap::new();
            for (a, c, s, since) in before {
                if let Ok(s) = s.parse() {
                    known.entry(a).or_default().push((c, s, since));
                }
            }
            // (account, contact, status, score, suggested, since) and the queued changes.
            let mut rows = Vec::new();
            let mut queue = Vec::new();
            let mut accounts: Vec<i64> = activity.keys().copied().collect();
            accounts.sort_unstable();
            for a in accounts {
                let scores = champion::score_contacts(&activity[&a], on);
                pass.accounts += 1;
                let was = known.get(&a);
                let statuses: Vec<(i64, ChampionStatus)> = was
                    .map(|v| v.iter().map(|(c, s, _)| (*c, *s)).collect())
                    .unwrap_or_default();
                for change in champion::worsened(&statuses, &scores, was.is_none()) {
                    queue.push((
                        a,
                        format!("contact:{}:{}@{on}", change.contact_id, change.to.as_str()),
                    ));
                }
                for c in scores.iter().filter(|c| c.is_champion()) {
                    pass.champions += 1;
                    match c.status {
                        ChampionStatus::Quiet => pass.quiet += 1,
                        ChampionStatus::Left => pass.left += 1,
                        ChampionStatus::Active => {}
                    }
                    let since = was
                        .and_then(|v| {
                            v.iter()
                                .find(|(id, s, _)| *id == c.contact_id && *s == c.status)
                        })
                        .map_or(on, |(_, _, since)| *since);
                    rows.push((a, c.contact_id, c.status, c.score, c.suggested, since));
                }
            }
            pass.changes += queue.len();
            let at = now();
            in_tx!(self, |tx| {
                sqlx::query("DELETE FROM champion_state WHERE account_id BETWEEN $1 AND $2")
                    .bind(start)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
                for (a, c, status, score, suggested, since) in &rows {
                    sqlx::query(
                        "INSERT INTO champion_state (account_id, contact_id, status, score, suggested, since, read_on) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(a)
                    .bind(c)
                    .bind(status.as_str())
                    .bind(score)
                    .bind(suggested)
                    .bind(since)
                    .bind(on)
                    .execute(&mut *tx)
                    .await?;
                }
                for (a, detail) in &queue {
                    sqlx::query(
                        "INSERT INTO rule_queue (account_id, trigger, detail, queued_at) \
                         VALUES ($1, 'champion_change', $2, $3)",
                    )
                    .bind(a)
                    .bind(detail)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
            });
            start = end + 1;
        }
        pass.seconds = started.elapsed().as_secs_f64();
        Ok(pass)
    }

    /// Each contact's activity as of `on`, per account, for accounts `lo..=hi` that have contacts.
    async fn contact_activity(
        &self,
        lo: i64,
        hi: i64,
        on: NaiveDate,
    ) -> Result<HashMap<i64, Vec<ContactActivity>>> {
        let d90 = on - Duration::days(90);
        let end = (on + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        let t180 = (on - Duration::days(179))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        let (contacts, usage, last, touch) = on_pool!(self, |pool| {
            let contacts: Vec<ContactRow> = sqlx::query_as(
                "SELECT id, account_id, external_id, name, email, title, roles, left_at FROM ( \
                   SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id \
                     ORDER BY (left_at IS NOT NULL), (last_seen_at IS NULL), last_seen_at DESC, id) AS n \
                   FROM contacts c WHERE account_id BETWEEN $1 AND $2) x \
                 WHERE n <= $3 ORDER BY account_id, id",
            )
            .bind(lo)
            .bind(hi)
            .bind(MAX_CONTACTS)
            .fetch_all(pool)
            .await?;
            let usage: Vec<(i64, String, i64, i64)> = sqlx::query_as(
                "SELECT account_id, user_key, CAST(SUM(events) AS BIGINT), COUNT(*) FROM usage_user_daily \
                 WHERE account_id BETWEEN $1 AND $2 AND day > $3 AND day <= $4 \
                 GROUP BY account_id, user_key",
            )
            .bind(lo)
            .bind(hi)
            .bind(d90)
            .bind(on)
            .fetch_all(pool)
            .await?;
            let last: Vec<(i64, String, NaiveDate)> = sqlx::query_as(
                "SELECT account_id, user_key, last_day FROM usage_user_last \
                 WHERE account_id BETWEEN $1 AND $2 AND last_day <= $3",
            )
            .bind(lo)
            .bind(hi)
            .bind(on)
            .fetch_all(pool)
            .await?;
            let touch: Vec<(i64, i64, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT account_id, contact_id, COUNT(*), MAX(occurred_at) FROM touchpoints \
                 WHERE account_id BETWEEN $1 AND $2 AND contact_id IS NOT NULL \
                 AND occurred_at >= $3 AND occurred_at < $4 GROUP BY account_id, contact_id",
            )
            .bind(lo)
            .bind(hi)
            .bind(t180)
            .bind(end)
            .fetch_all(pool)
            .await?;
            (contacts, usage, last, touch)
        });
        let usage: HashMap<(i64, &str), (i64, i64)> = usage
            .iter()
            .map(|(a, u, e, d)| ((*a, u.as_str()), (*e, *d)))
            .collect();
        let last: HashMap<(i64, &str), NaiveDate> = last
            .iter()
            .map(|(a, u, d)| ((*a, u.as_str()), *d))
            .collect();
        let touch: HashMap<i64, (i64, Option<NaiveDate>)> = touch
            .into_iter()
            .map(|(_, c, n, t)| (c, (n, t.map(|t| t.date_naive()))))
            .collect();
        let mut out: HashMap<i64, Vec<ContactActivity>> = HashMap::new();
        for (id, account, external_id, name, email, title, roles, left_at) in contacts {
            let key = external_id.as_deref().map(|k| (account, k));
            let (events_90d, active_days_90d) =
                key.and_then(|k| usage.get(&k).copied()).unwrap_or((0, 0));
            let (touchpoints_180d, last_touchpoint) = touch.get(&id).copied().unwrap_or((0, None));
            out.entry(account).or_default().push(ContactActivity {
                contact_id: id,
                name,
                email,
                title,
                roles: roles_from_text(&roles),
                left_on: left_at.map(|t| t.date_naive()),
                events_90d,
                active_days_90d,
                last_active: key.and_then(|k| last.get(&k).copied()),
                touchpoints_180d,
                last_touchpoint,
            });
        }
        Ok(out)
    }
}
