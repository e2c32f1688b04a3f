//! Insight reads and writes: the dashboard's per-account facts, renewals (open ones with the CSM's
//! call, decided ones with their outcome), the indicators frozen at a lead time before each
//! decided renewal, fitted churn models and scorecard weight suggestions.
//!
//! The arithmetic lives in `kizuna_domain::insight`; this module only reads what it needs, in a
//! few set-based queries. Indicators at a lead time are computed by the same gathering code as a
//! health recompute of a past day (rollups and records strictly up to that day, so nothing from
//! after it leaks in) and kept in `renewal_features`, because they never change once the day is
//! past; scores are computed from them on every read, under the scorecards in force.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::indicator::{AdoptionSettings, Indicators};
use kizuna_domain::insight::dashboard::{AccountFacts, Move, Period};
use kizuna_domain::insight::drivers::WeightChange;
use kizuna_domain::insight::model::ChurnModel;
use kizuna_domain::insight::renewals::{outcome, RenewalCall, RenewalOutcome};
use kizuna_domain::insight::team::{with_shares, Workload};
use kizuna_domain::money::Currency;
use kizuna_domain::revenue::classify;
use kizuna_domain::scorecard::{select, AccountAxes, Scorecard, ScorecardDef};
use kizuna_domain::subscription::SubscriptionStatus;
use serde::{Deserialize, Serialize};

use crate::audit::{audit, Actor};
use crate::health::StoredScorecard;
use crate::rows::{parse, parse_opt};
use crate::{now, Result, Store, StoreError};

const SETTINGS_KEY: &str = "insight";
/// Decided renewals whose lead-time indicators are computed at once.
const FEATURE_CONCURRENCY: usize = 4;

/// Insight settings, kept as one settings document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsightSettings {
    /// What the CS team costs a month (salaries, tools), in the accounts' currency; the
    /// retention cost divides it by retained ARR.
    pub cs_team_monthly_cost: Option<f64>,
}

/// One account as the dashboard reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardAccount {
    pub id: i64,
    pub segment: Option<ContractValueTier>,
    pub tier: CoverageTier,
    pub owner_id: Option<i64>,
    pub facts: AccountFacts,
}

/// Which accounts a dashboard covers: every live account, or those of one segment, coverage
/// tier or CSM (all that are set). A CSM's book is selected in SQL, so their dashboard reads only
/// their accounts, movements, touchpoints and snapshots; the band trend counts the whole scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DashboardScope {
    pub segment: Option<ContractValueTier>,
    pub tier: Option<CoverageTier>,
    pub owner_id: Option<i64>,
}

impl DashboardScope {
    pub(crate) fn is_all(&self) -> bool {
        self.segment.is_none() && self.tier.is_none() && self.owner_id.is_none()
    }

    /// Whether an account of this segment, coverage tier and owner is in the scope.
    pub(crate) fn admits(
        &self,
        segment: Option<ContractValueTier>,
        tier: CoverageTier,
        owner_id: Option<i64>,
    ) -> bool {
        self.segment.is_none_or(|x| segment == Some(x))
            && self.tier.is_none_or(|x| tier == x)
            && self.owner_id.is_none_or(|x| owner_id == Some(x))
    }

    /// `AND …` conditions on the accounts table under `alias`, with the values to bind after
    /// `first` earlier parameters (in order: segment, tier, owner).
    /// Numbered `$n` parameters, which both backends read by number.
    fn conditions(&self, alias: &str, first: usize) -> String {
        let mut out = String::new();
        let mut n = first;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        if self.segment.is_some() {
            out.push_str(&format!(" AND {alias}.contract_value_tier = {}", param()));
        }
        if self.tier.is_some() {
            out.push_str(&format!(" AND {alias}.coverage_tier = {}", param()));
        }
        if self.owner_id.is_some() {
            out.push_str(&format!(" AND {alias}.owner_id = {}", param()));
        }
        out
    }

    /// The values of [`DashboardScope::conditions`], in its order.
    fn values(&self) -> (Option<String>, Option<String>, Option<i64>) {
        (
            self.segment.map(|x| x.to_string()),
            self.tier.map(|x| x.to_string()),
            self.owner_id,
        )
    }
}

/// Binds a scope's values (those set) to a query, in [`DashboardScope::conditions`]'s order.
macro_rules! bind_scope {
    ($q:expr, $scope:expr) => {{
        let (segment, tier, owner) = $scope.values();
        let mut q = $q;
        if let Some(v) = segment {
            q = q.bind(v);
        }
        if let Some(v) = tier {
            q = q.bind(v);
        }
        if let Some(v) = owner {
            q = q.bind(v);
        }
        q
    }};
}

/// Accounts per health band on one snapshot day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandDay {
    pub day: NaiveDate,
    pub red: i64,
    pub yellow: i64,
    pub green: i64,
}

/// An open renewal: an active term ending in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenRenewal {
    pub subscription_id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub owner_id: Option<i64>,
    pub renewal_date: NaiveDate,
    pub mrr: f64,
    pub arr: f64,
    pub currency: String,
    pub health_score: Option<f64>,
    pub health_band: Option<HealthBand>,
    pub call: Option<RenewalCall>,
    pub call_note: Option<String>,
}

/// Open renewals sharing a renewal date, a health band and a call.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalGroup {
    pub renewal_date: NaiveDate,
    pub health_band: Option<HealthBand>,
    pub call: Option<RenewalCall>,
    pub renewals: usize,
    /// Their MRR together.
    pub mrr: f64,
}

/// A decided renewal with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecidedRenewal {
    pub subscription_id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub renewal_date: NaiveDate,
    /// MRR of the term that ended.
    pub mrr: f64,
    /// First MRR of the term that renewed it.
    pub next_mrr: Option<f64>,
    pub outcome: RenewalOutcome,
}

/// A decided renewal with the indicators and score as they stood `lead_days` before it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalFeatures {
    pub renewal: DecidedRenewal,
    pub as_of: NaiveDate,
    /// `None` when the account had no data to compute them on that day.
    pub indicators: Option<Indicators>,
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
}

/// A live account's latest indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentIndicators {
    pub account_id: i64,
    pub account_name: String,
    pub owner_id: Option<i64>,
    pub health_band: Option<HealthBand>,
    pub indicators: Indicators,
}

/// A fitted churn model as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredChurnModel {
    pub id: i64,
    pub trained_at: DateTime<Utc>,
    pub trained_by: String,
    pub lead_days: i64,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub model: ChurnModel,
}

/// A scorecard weight suggestion from a churn analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightSuggestion {
    pub id: i64,
    pub scorecard_id: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// What the suggestion rests on: window, lead time, renewals analysed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub basis: serde_json::Value,
    pub definition: ScorecardDef,
    pub changes: Vec<WeightChange>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<String>,
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot write JSON: {e}")))
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Converts minor units by currency code, parsing each code once.
#[derive(Default)]
pub(crate) struct Money(HashMap<String, Currency>);

impl Money {
    pub(crate) fn major(&mut self, code: &str, minor: i64) -> Result<f64> {
        if let Some(c) = self.0.get(code) {
            return Ok(c.to_major(minor));
        }
        let c = Currency::parse(code).map_err(StoreError::Corrupt)?;
        self.0.insert(code.to_string(), c);
        Ok(c.to_major(minor))
    }
}

pub(crate) type AccountRow = (
    i64,
    Option<String>,
    String,
    Option<i64>,
    Option<f64>,
    Option<String>,
    String,
);
type MovementRow = (i64, NaiveDate, i64, i64);

/// One account row and its movements (oldest first, in minor units) as the dashboard reads
/// them: the movements classified and in major units, the health as the row has it, not
/// engaged.
pub(crate) fn dashboard_account(
    (id, segment, tier, owner_id, score, band, currency): AccountRow,
    movements: Vec<(NaiveDate, i64, i64)>,
    money: &mut Money,
) -> Result<DashboardAccount> {
    let mut moves = Vec::with_capacity(movements.len());
    for (on, before, after) in movements {
        // Whether a rise from zero is new or a return does not matter here.
        let Some(kind) = classify(before, after, true) else {
            continue;
        };
        moves.push(Move {
            on,
            kind,
            before: money.major(&currency, before)?,
            after: money.major(&currency, after)?,
        });
    }
    Ok(DashboardAccount {
        id,
        segment: parse_opt(segment.as_deref(), "contract_value_tier")?,
        tier: parse(&tier, "coverage_tier")?,
        owner_id,
        facts: AccountFacts {
            movements: moves,
            score,
            band: parse_opt(band.as_deref(), "health band")?,
            engaged: false,
        },
    })
}
/// A snapshot's score and band.
type ScoreBand = (Option<f64>, Option<String>);
type OpenRow = (
    i64,
    i64,
    String,
    Option<i64>,
    NaiveDate,
    i64,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type DecidedRow = (
    i64,
    i64,
    String,
    NaiveDate,
    String,
    i64,
    String,
    Option<i64>,
);
type SuggestionRow = (
    i64,
    i64,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
);
#[derive(sqlx::FromRow)]
struct IndicatorRow {
    account_id: i64,
    account_name: String,
    owner_id: Option<i64>,
    health_band: Option<String>,
    usage_trend: Option<f64>,
    active_users: Option<f64>,
    seat_utilization: Option<f64>,
    breadth: Option<f64>,
    depth: Option<f64>,
    days_since_activity: Option<f64>,
    open_tickets: Option<f64>,
    nps_latest: Option<f64>,
    nps_average: Option<f64>,
    days_since_touchpoint: Option<f64>,
    days_to_renewal: Option<f64>,
    champion_active: Option<f64>,
    adoption_index: Option<f64>,
    metrics: String,
}

type ModelRow = (
    i64,
    DateTime<Utc>,
    String,
    i32,
    NaiveDate,
    NaiveDate,
    String,
);

impl Store {
    // ---------------------------------------------------------------- settings

    pub async fn insight_settings(&self) -> Result<InsightSettings> {
        let text: Option<String> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(SETTINGS_KEY)
        .fetch_optional(pool)
        .await?);
        match text {
            None => Ok(InsightSettings::default()),
            Some(t) => serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("insight settings: {e}"))),
        }
    }

    pub async fn set_insight_settings(&self, s: &InsightSettings, actor: &Actor) -> Result<()> {
        if let Some(c) = s.cs_team_monthly_cost {
            if !(c.is_finite() && c >= 0.0) {
                return Err(StoreError::invalid(
                    "cs_team_monthly_cost",
                    "must be a number ≥ 0",
                ));
            }
        }
        let text = to_json(s)?;
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(SETTINGS_KEY)
            .bind(&text)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "insight.settings",
                "settings",
                None::<i64>,
                Some(text.clone())
            );
        });
        Ok(())
    }

    // ---------------------------------------------------------------- dashboard

    /// Every live account with its revenue movements up to the period's end, its health at the end
    /// of the period (today's score when the period reaches today, else the latest snapshot day
    /// on or before its end) and whether it had a touchpoint in the period. Also returns the day
    /// the health figures are from.
    pub async fn dashboard_accounts(
        &self,
        period: Period,
        scope: DashboardScope,
    ) -> Result<(Vec<DashboardAccount>, Option<NaiveDate>)> {
        let wanted = scope;
        // Only a CSM's book is selected in SQL (through the owner index). A segment or tier is a
        // large share of the portfolio: selecting it through its index reads the rows at random
        // and took longer than reading everything in order (measured, BENCHMARKS.md), so those
        // are filtered after the read.
        let scope = DashboardScope {
            owner_id: scope.owner_id,
            ..Default::default()
        };
        let today = now().date_naive();
        let from_ts = start_of(period.from);
        let to_ts = start_of(period.to + Days::new(1));
        // With a scope, the movements, touchpoints and snapshots are those of its accounts.
        // (Driving these reads from the accounts with a `CROSS JOIN` was tried: it helps a CSM's
        // small book but doubles a large segment's time, which then sorts its movements.)
        let scoped = |columns: &str, table: &str, on: &str, order: &str, first: usize| {
            let only = if scope.is_all() {
                String::new()
            } else {
                format!(
                    " AND x.account_id IN (SELECT s.id FROM accounts s WHERE s.deleted_at IS NULL{})",
                    scope.conditions("s", first)
                )
            };
            format!("SELECT {columns} FROM {table} x WHERE {on}{only}{order}")
        };
        let accounts_sql = format!(
            "SELECT id, contract_value_tier, coverage_tier, owner_id, health_score, health_band, currency \
             FROM accounts a WHERE deleted_at IS NULL{} ORDER BY id",
            scope.conditions("a", 0)
        );
        // The kind is not read: it follows from the MRR before and after (see `classify`).
        let movements_sql = scoped(
            "x.account_id, x.effective_on, x.mrr_before_minor, x.mrr_after_minor",
            "revenue_movements",
            "x.effective_on <= $1",
            " ORDER BY x.account_id, x.effective_on, x.id",
            1,
        );
        let engaged_sql = scoped(
            "DISTINCT x.account_id",
            "touchpoints",
            "x.occurred_at >= $1 AND x.occurred_at < $2",
            "",
            2,
        );
        let snapshots_sql = scoped(
            "x.account_id, x.score, x.band",
            "health_snapshots",
            "x.day = $1",
            "",
            1,
        );
        let (accounts, movements, engaged, snapshot_day): (
            Vec<AccountRow>,
            Vec<MovementRow>,
            Vec<i64>,
            Option<NaiveDate>,
        ) = on_pool!(self, |pool| {
            // Independent reads, side by side on the pool: on SQLite each connection decodes its
            // rows on its own thread, and these are the dashboard's largest reads.
            let accounts =
                bind_scope!(sqlx::query_as::<_, AccountRow>(&accounts_sql), scope).fetch_all(pool);
            let movements = bind_scope!(
                sqlx::query_as::<_, MovementRow>(&movements_sql).bind(period.to),
                scope
            )
            .fetch_all(pool);
            let engaged = bind_scope!(
                sqlx::query_scalar::<_, i64>(&engaged_sql)
                    .bind(from_ts)
                    .bind(to_ts),
                scope
            )
            .fetch_all(pool);
            let day = async {
                if period.to >= today {
                    Ok(None)
                } else {
                    sqlx::query_scalar::<_, Option<NaiveDate>>(
                        "SELECT MAX(day) FROM health_snapshots WHERE day <= $1",
                    )
                    .bind(period.to)
                    .fetch_one(pool)
                    .await
                }
            };
            let (accounts, movements, engaged, day) =
                futures::try_join!(accounts, movements, engaged, day)?;
            (accounts, movements, engaged, day)
        });
        // A past period reads the snapshots of its last snapshot day.
        let snapshots: Option<HashMap<i64, ScoreBand>> = match snapshot_day {
            None if period.to < today => Some(HashMap::new()),
            Some(day) => {
                let rows: Vec<(i64, Option<f64>, Option<String>)> = on_pool!(self, |pool| {
                    bind_scope!(sqlx::query_as(&snapshots_sql).bind(day), scope)
                        .fetch_all(pool)
                        .await?
                });
                Some(rows.into_iter().map(|(id, s, b)| (id, (s, b))).collect())
            }
            None => None,
        };
        let health_day = if period.to >= today {
            Some(today)
        } else {
            snapshot_day
        };
        let engaged: std::collections::HashSet<i64> = engaged.into_iter().collect();
        let mut money = Money::default();
        let mut by_account: HashMap<i64, Vec<(NaiveDate, i64, i64)>> = HashMap::new();
        for (id, on, before, after) in movements {
            by_account.entry(id).or_default().push((on, before, after));
        }
        let mut out = Vec::with_capacity(accounts.len());
        for row in accounts {
            let id = row.0;
            let moves = by_account.remove(&id).unwrap_or_default();
            let mut a = dashboard_account(row, moves, &mut money)?;
            if !wanted.admits(a.segment, a.tier, a.owner_id) {
                continue;
            }
            if let Some(s) = &snapshots {
                let (score, band) = s.get(&id).cloned().unwrap_or((None, None));
                a.facts.score = score;
                a.facts.band = parse_opt(band.as_deref(), "health band")?;
            }
            a.facts.engaged = engaged.contains(&id);
            out.push(a);
        }
        Ok((out, health_day))
    }

    /// Each calendar month's last snapshot day in the period, one index probe a month (not every
    /// snapshot row of the period).
    pub(crate) async fn month_end_snapshot_days(&self, period: Period) -> Result<Vec<NaiveDate>> {
        let mut last_of_month: Vec<NaiveDate> = Vec::new();
        for month in period.calendar_months() {
            let day: Option<NaiveDate> = on_pool!(self, |pool| {
                sqlx::query_scalar(
                    "SELECT MAX(day) FROM health_snapshots WHERE day >= $1 AND day <= $2",
                )
                .bind(month.from)
                .bind(month.to)
                .fetch_one(pool)
                .await?
            });
            last_of_month.extend(day);
        }
        Ok(last_of_month)
    }

    /// For each month of the period, accounts per band on the latest snapshot day of that month.
    pub async fn band_trend(&self, period: Period, scope: DashboardScope) -> Result<Vec<BandDay>> {
        let days = self.month_end_snapshot_days(period).await?;
        self.band_counts_on(&days, scope).await
    }

    /// Accounts of the scope per band on each of `days`.
    pub(crate) async fn band_counts_on(
        &self,
        days: &[NaiveDate],
        scope: DashboardScope,
    ) -> Result<Vec<BandDay>> {
        let mut out = Vec::new();
        for &day in days {
            // Counts only, answered from the (day, band) index without reading the rows.
            let sql = if scope.is_all() {
                "SELECT band, COUNT(*) FROM health_snapshots WHERE day = $1 GROUP BY band"
                    .to_string()
            } else {
                // The day's entries of the (day, band) index, kept when their account is in the
                // scope: one ordered pass whatever the scope's size (driving it from the accounts
                // read a large segment's rows at random: 1.4–2.2 s at 100,000 accounts).
                format!(
                    "SELECT h.band, COUNT(*) FROM health_snapshots h WHERE h.day = $1 \
                     AND h.account_id IN (SELECT a.id FROM accounts a WHERE a.deleted_at IS NULL{}) GROUP BY h.band",
                    scope.conditions("a", 1)
                )
            };
            let rows: Vec<(Option<String>, i64)> = on_pool!(self, |pool| {
                bind_scope!(sqlx::query_as(&sql).bind(day), scope)
                    .fetch_all(pool)
                    .await?
            });
            let mut b = BandDay {
                day,
                ..Default::default()
            };
            for (band, count) in rows {
                match parse_opt::<HealthBand>(band.as_deref(), "health band")? {
                    Some(HealthBand::Red) => b.red = count,
                    Some(HealthBand::Yellow) => b.yellow = count,
                    Some(HealthBand::Green) => b.green = count,
                    None => {}
                }
            }
            out.push(b);
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- renewals

    /// Open renewals between `from` and `to` counted by renewal date, health band and call, with
    /// their MRR: what the forecast needs without reading every renewal.
    pub async fn open_renewal_groups(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RenewalGroup>> {
        type GroupRow = (NaiveDate, Option<String>, Option<String>, String, i64, i64);
        let rows: Vec<GroupRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT s.end_date, a.health_band, rc.call, s.currency, COUNT(*), CAST(SUM(s.mrr_minor) AS BIGINT) \
             FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
             LEFT JOIN renewal_calls rc ON rc.subscription_id = s.id \
             WHERE s.status = 'active' AND s.end_date >= $1 AND s.end_date <= $2 AND a.deleted_at IS NULL \
             GROUP BY s.end_date, a.health_band, rc.call, s.currency ORDER BY s.end_date"
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
        });
        let mut money = Money::default();
        rows.into_iter()
            .map(|(day, band, call, currency, n, mrr)| {
                Ok(RenewalGroup {
                    renewal_date: day,
                    health_band: parse_opt(band.as_deref(), "health band")?,
                    call: parse_opt(call.as_deref(), "renewal call")?,
                    renewals: n as usize,
                    mrr: money.major(&currency, mrr)?,
                })
            })
            .collect()
    }

    /// Active terms of live accounts ending between `from` and `to`, soonest first; all of them,
    /// or a page (`limit`, `offset`).
    pub async fn open_renewals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        page: Option<(i64, i64)>,
    ) -> Result<Vec<OpenRenewal>> {
        let (limit, offset) = page.unwrap_or((i64::MAX, 0));
        let rows: Vec<OpenRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT s.id, s.account_id, a.name, a.owner_id, s.end_date, s.mrr_minor, s.currency, \
             a.health_score, a.health_band, rc.call, rc.note \
             FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
             LEFT JOIN renewal_calls rc ON rc.subscription_id = s.id \
             WHERE s.status = 'active' AND s.end_date >= $1 AND s.end_date <= $2 AND a.deleted_at IS NULL \
             ORDER BY s.end_date, s.id LIMIT $3 OFFSET $4"
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?
        });
        let mut money = Money::default();
        rows.into_iter()
            .map(
                |(sid, aid, name, owner, end, mrr_minor, currency, score, band, call, note)| {
                    let mrr = money.major(&currency, mrr_minor)?;
                    Ok(OpenRenewal {
                        subscription_id: sid,
                        account_id: aid,
                        account_name: name,
                        owner_id: owner,
                        renewal_date: end,
                        mrr,
                        arr: mrr * 12.0,
                        currency,
                        health_score: score,
                        health_band: parse_opt(band.as_deref(), "health band")?,
                        call: parse_opt(call.as_deref(), "renewal call")?,
                        call_note: note,
                    })
                },
            )
            .collect()
    }

    /// Sets (or with `None` clears) the CSM's call on an open renewal.
    pub async fn set_renewal_call(
        &self,
        subscription_id: i64,
        call: Option<RenewalCall>,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<()> {
        let row: Option<(i64, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT account_id, status FROM subscriptions WHERE id = $1"
        )
        .bind(subscription_id)
        .fetch_optional(pool)
        .await?);
        let Some((account_id, status)) = row else {
            return Err(StoreError::not_found(format!(
                "subscription {subscription_id}"
            )));
        };
        if call.is_some() && status != SubscriptionStatus::Active.as_str() {
            return Err(StoreError::invalid(
                "call",
                format!("the renewal is already decided (the term is {status}); a call is for open renewals"),
            ));
        }
        in_tx!(self, |tx| {
            match call {
                Some(c) => {
                    sqlx::query(
                        "INSERT INTO renewal_calls (subscription_id, account_id, call, note, set_by, set_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subscription_id) DO UPDATE SET \
                         call = excluded.call, note = excluded.note, set_by = excluded.set_by, set_at = excluded.set_at",
                    )
                    .bind(subscription_id)
                    .bind(account_id)
                    .bind(c.as_str())
                    .bind(note)
                    .bind(actor.label())
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM renewal_calls WHERE subscription_id = $1")
                        .bind(subscription_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // A renewal map computed ahead no longer says what the CSM called.
            sqlx::query("DELETE FROM precomputed WHERE key LIKE 'renewals|%'")
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "renewal.call",
                "subscription",
                Some(subscription_id),
                Some(call.map_or("cleared", |c| c.as_str()).to_string())
            );
        });
        Ok(())
    }

    /// The gross and net renewal rates of the terms decided between `from` and `to`.
    pub async fn decided_rates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<kizuna_domain::insight::renewals::RenewalRates> {
        use kizuna_domain::insight::renewals;
        let decided = self.decided_renewals(from, to).await?;
        Ok(renewals::rates(
            &decided
                .iter()
                .map(|r| renewals::Decided::new(r.mrr, r.next_mrr, r.outcome))
                .collect::<Vec<_>>(),
        ))
    }

    /// Terms of live accounts decided (renewed or churned) with an end date between `from` and
    /// `to`, oldest first, with the MRR of the term that followed.
    pub async fn decided_renewals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DecidedRenewal>> {
        // The following term is the one that names this one in `renews_id`, else the account's
        // first term starting after this one ends (and no later than 31 days after the window).
        let rows: Vec<DecidedRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT s.id, s.account_id, a.name, s.end_date, s.status, s.mrr_minor, s.currency, \
             COALESCE( \
              (SELECT c.mrr_minor FROM subscriptions n JOIN subscription_mrr_changes c ON c.subscription_id = n.id \
               WHERE n.renews_id = s.id ORDER BY c.effective_on, c.id LIMIT 1), \
              (SELECT c.mrr_minor FROM subscriptions n JOIN subscription_mrr_changes c ON c.subscription_id = n.id \
               WHERE n.account_id = s.account_id AND n.start_date > s.end_date AND n.start_date <= $3 \
               ORDER BY n.start_date, c.effective_on, c.id LIMIT 1)) \
             FROM subscriptions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.status IN ('renewed', 'churned') AND s.end_date >= $1 AND s.end_date <= $2 AND a.deleted_at IS NULL \
             ORDER BY s.end_date, s.id"
        )
        .bind(from)
        .bind(to)
        .bind(to + Days::new(31))
        .fetch_all(pool)
        .await?
        });
        let mut money = Money::default();
        let mut out = Vec::with_capacity(rows.len());
        for (sid, aid, name, end, status, mrr_minor, currency, next_minor) in rows {
            let status: SubscriptionStatus = parse(&status, "status")?;
            let mrr = money.major(&currency, mrr_minor)?;
            let next_mrr = match next_minor {
                Some(n) => Some(money.major(&currency, n)?),
                None => None,
            };
            let Some(outcome) = outcome(status, mrr, next_mrr) else {
                continue;
            };
            out.push(DecidedRenewal {
                subscription_id: sid,
                account_id: aid,
                account_name: name,
                renewal_date: end,
                mrr,
                next_mrr: if outcome == RenewalOutcome::Churned {
                    None
                } else {
                    next_mrr
                },
                outcome,
            });
        }
        Ok(out)
    }

    /// Decided renewals between `from` and `to` with their indicators `lead_days` before the
    /// renewal date. Missing lead-time indicators are computed and kept when `fill` is set
    /// (`refresh` recomputes the kept ones first); without `fill` only kept ones are returned.
    pub async fn renewal_features(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        lead_days: i64,
        adoption: &AdoptionSettings,
        fill: bool,
        refresh: bool,
    ) -> Result<Vec<RenewalFeatures>> {
        if !(1..=730).contains(&lead_days) {
            return Err(StoreError::invalid(
                "lead_days",
                "must be between 1 and 730",
            ));
        }
        if !fill {
            // Nothing kept for the window: nothing to return, and the renewals need not be read.
            let kept: i64 = on_pool!(self, |pool| {
                sqlx::query_scalar(
                "SELECT COUNT(*) FROM renewal_features WHERE lead_days = $1 AND renewal_date >= $2 AND renewal_date <= $3"
            )
            .bind(lead_days as i32)
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?
            });
            if kept == 0 {
                return Ok(Vec::new());
            }
        }
        let renewals = self.decided_renewals(from, to).await?;
        if refresh {
            on_pool!(self, |pool| {
                sqlx::query(
                    "DELETE FROM renewal_features WHERE lead_days = $1 AND renewal_date >= $2 AND renewal_date <= $3",
                )
                .bind(lead_days as i32)
                .bind(from)
                .bind(to)
                .execute(pool)
                .await?;
            });
        }
        let kept: Vec<(i64, Option<String>)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT subscription_id, indicators FROM renewal_features WHERE lead_days = $1 \
             AND renewal_date >= $2 AND renewal_date <= $3"
        )
        .bind(lead_days as i32)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?);
        let mut known: HashMap<i64, Option<Indicators>> = HashMap::with_capacity(kept.len());
        for (sid, text) in kept {
            let ind = match text {
                Some(t) => Some(
                    serde_json::from_str(&t)
                        .map_err(|e| StoreError::Corrupt(format!("renewal features: {e}")))?,
                ),
                None => None,
            };
            known.insert(sid, ind);
        }
        let cards = self.cards().await?;
        if fill {
            let missing: Vec<&DecidedRenewal> = renewals
                .iter()
                .filter(|r| !known.contains_key(&r.subscription_id))
                .collect();
            for chunk in missing.chunks(FEATURE_CONCURRENCY) {
                let work: Vec<_> = chunk
                    .iter()
                    .map(|r| self.lead_time_indicators(r, lead_days, adoption, &cards))
                    .collect();
                for done in futures::future::join_all(work).await {
                    let (sid, ind) = done?;
                    known.insert(sid, ind);
                }
            }
        }
        // Scores under today's scorecards, chosen by each account's current axes.
        let ids: Vec<i64> = renewals.iter().map(|r| r.account_id).collect();
        let axes = self.account_axes(&ids).await?;
        let mut out = Vec::with_capacity(renewals.len());
        for r in renewals {
            let Some(indicators) = known.remove(&r.subscription_id) else {
                continue;
            };
            let card = axes
                .get(&r.account_id)
                .and_then(|a| select(&cards.cards, a))
                .map(|i| &cards.cards[i].1);
            let health = match (card, &indicators) {
                (Some(c), Some(ind)) => Some(c.score(ind, &BTreeMap::new())),
                _ => None,
            };
            out.push(RenewalFeatures {
                as_of: r.renewal_date - Days::new(lead_days as u64),
                score: health.as_ref().and_then(|h| h.score),
                band: health.as_ref().and_then(|h| h.band),
                indicators,
                renewal: r,
            });
        }
        Ok(out)
    }

    /// Computes and keeps one decided renewal's indicators at its lead day.
    async fn lead_time_indicators(
        &self,
        r: &DecidedRenewal,
        lead_days: i64,
        adoption: &AdoptionSettings,
        cards: &crate::health::Cards,
    ) -> Result<(i64, Option<Indicators>)> {
        let as_of = r.renewal_date - Days::new(lead_days as u64);
        let g = self
            .gather(
                r.account_id,
                r.account_id,
                as_of,
                crate::UsageSource::Rollups,
                &cards.metric_dims,
            )
            .await?;
        let ind = g
            .first()
            .map(|g| Indicators::derive(&g.inputs, as_of, adoption));
        let text = ind.as_ref().map(to_json).transpose()?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO renewal_features (subscription_id, lead_days, account_id, renewal_date, as_of, indicators, computed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subscription_id, lead_days) DO UPDATE SET \
                 indicators = excluded.indicators, as_of = excluded.as_of, computed_at = excluded.computed_at",
            )
            .bind(r.subscription_id)
            .bind(lead_days as i32)
            .bind(r.account_id)
            .bind(r.renewal_date)
            .bind(as_of)
            .bind(text)
            .bind(now())
            .execute(pool)
            .await?;
        });
        Ok((r.subscription_id, ind))
    }

    async fn account_axes(&self, ids: &[i64]) -> Result<HashMap<i64, AccountAxes>> {
        let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
            return Ok(HashMap::new());
        };
        let rows: Vec<(i64, String, String, Option<String>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, coverage_tier, lifecycle_stage, contract_value_tier FROM accounts WHERE id BETWEEN $1 AND $2"
        )
        .bind(*lo)
        .bind(*hi)
        .fetch_all(pool)
        .await?
        });
        rows.into_iter()
            .map(|(id, tier, stage, value)| {
                Ok((
                    id,
                    AccountAxes {
                        coverage_tier: parse(&tier, "coverage_tier")?,
                        lifecycle_stage: parse(&stage, "lifecycle_stage")?,
                        contract_value_tier: parse_opt(value.as_deref(), "contract_value_tier")?,
                    },
                ))
            })
            .collect()
    }

    /// Today's indicators (from the latest recompute) of live accounts; all of them, or those
    /// listed.
    pub async fn current_indicators(&self, only: Option<&[i64]>) -> Result<Vec<CurrentIndicators>> {
        const COLUMNS: &str = "SELECT i.account_id, a.name AS account_name, a.owner_id, a.health_band, i.usage_trend, \
             i.active_users, i.seat_utilization, i.breadth, i.depth, i.days_since_activity, i.open_tickets, \
             i.nps_latest, i.nps_average, i.days_since_touchpoint, i.days_to_renewal, i.champion_active, \
             i.adoption_index, i.metrics FROM account_indicators i JOIN accounts a ON a.id = i.account_id \
             WHERE a.deleted_at IS NULL AND a.churned_on IS NULL";
        // A few accounts are looked up by id; many are read in one pass and picked.
        let rows: Vec<IndicatorRow> = match only {
            Some(ids) if ids.len() <= 100 => {
                let mut rows = Vec::with_capacity(ids.len());
                for id in ids {
                    let sql = format!("{COLUMNS} AND i.account_id = $1");
                    let row: Option<IndicatorRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
                        .bind(*id)
                        .fetch_optional(pool)
                        .await?);
                    rows.extend(row);
                }
                rows
            }
            _ => {
                let sql = format!("{COLUMNS} ORDER BY i.account_id");
                on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?)
            }
        };
        let wanted: Option<std::collections::HashSet<i64>> =
            only.map(|o| o.iter().copied().collect());
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if wanted.as_ref().is_some_and(|w| !w.contains(&r.account_id)) {
                continue;
            }
            out.push(CurrentIndicators {
                account_id: r.account_id,
                account_name: r.account_name,
                owner_id: r.owner_id,
                health_band: parse_opt(r.health_band.as_deref(), "health band")?,
                indicators: Indicators {
                    usage_trend: r.usage_trend,
                    active_users: r.active_users,
                    seat_utilization: r.seat_utilization,
                    breadth: r.breadth,
                    depth: r.depth,
                    days_since_activity: r.days_since_activity,
                    open_tickets: r.open_tickets,
                    nps_latest: r.nps_latest,
                    nps_average: r.nps_average,
                    days_since_touchpoint: r.days_since_touchpoint,
                    days_to_renewal: r.days_to_renewal,
                    champion_active: r.champion_active,
                    adoption_index: r.adoption_index,
                    metrics: serde_json::from_str(&r.metrics).unwrap_or_default(),
                },
            });
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- team

    /// Each owner's live accounts (and the unowned ones, owner `None`): ARR, red accounts and
    /// their ARR, renewals in the 90 days from `today`, open tasks and those due before `today`,
    /// touchpoints and minutes in the 30 days before it. Owners with no live account are listed with zeros.
    pub async fn team_workload(&self, today: NaiveDate) -> Result<Vec<Workload>> {
        type BookRow = (Option<i64>, i64, f64, i64, f64, i64);
        let from_ts = start_of(today - Days::new(30));
        let to_ts = start_of(today + Days::new(1));
        type TouchRow = (Option<i64>, i64, i64);
        type UserRow = (i64, String, String);
        type TaskRow = (Option<i64>, i64, Option<i64>);
        #[allow(clippy::type_complexity)]
        let (books, touches, users, tasks): (
            Vec<BookRow>,
            Vec<TouchRow>,
            Vec<UserRow>,
            Vec<TaskRow>,
        ) = on_pool!(self, |pool| {
            let books = sqlx::query_as::<_, BookRow>(
                    "SELECT owner_id, COUNT(*), CAST(COALESCE(SUM(mrr), 0) AS DOUBLE PRECISION) * 12, \
                     CAST(SUM(CASE WHEN health_band = 'red' THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(COALESCE(SUM(CASE WHEN health_band = 'red' THEN mrr ELSE 0 END), 0) AS DOUBLE PRECISION) * 12, \
                     CAST(SUM(CASE WHEN renewal_date >= $1 AND renewal_date <= $2 THEN 1 ELSE 0 END) AS BIGINT) \
                     FROM accounts WHERE deleted_at IS NULL AND churned_on IS NULL GROUP BY owner_id",
                )
                .bind(today)
                .bind(today + Days::new(90))
                .fetch_all(pool);
            let touches = sqlx::query_as::<_, TouchRow>(
                    "SELECT a.owner_id, COUNT(*), CAST(COALESCE(SUM(t.duration_minutes), 0) AS BIGINT) \
                     FROM touchpoints t JOIN accounts a ON a.id = t.account_id \
                     WHERE t.occurred_at >= $1 AND t.occurred_at < $2 AND a.deleted_at IS NULL GROUP BY a.owner_id",
                )
                .bind(from_ts)
                .bind(to_ts)
                .fetch_all(pool);
            let users = sqlx::query_as::<_, UserRow>(
                "SELECT id, name, role FROM users WHERE active ORDER BY name, id",
            )
            .fetch_all(pool);
            // A task without an assignee counts for the account's owner.
            let tasks = sqlx::query_as::<_, TaskRow>(
                    "SELECT COALESCE(t.owner_id, a.owner_id), COUNT(*), \
                     CAST(SUM(CASE WHEN t.due_on < $1 THEN 1 ELSE 0 END) AS BIGINT) \
                     FROM tasks t JOIN accounts a ON a.id = t.account_id \
                     WHERE t.status <> 'closed' AND a.deleted_at IS NULL GROUP BY COALESCE(t.owner_id, a.owner_id)",
                )
                .bind(today)
                .fetch_all(pool);
            futures::try_join!(books, touches, users, tasks)?
        });
        let mut out: BTreeMap<Option<i64>, Workload> = BTreeMap::new();
        // Every CSM and manager has a book, empty or not.
        for (id, name, role) in &users {
            if role == "csm" || role == "manager" {
                out.insert(
                    Some(*id),
                    Workload {
                        owner_id: Some(*id),
                        owner_name: Some(name.clone()),
                        ..Default::default()
                    },
                );
            }
        }
        let names: HashMap<i64, &String> = users.iter().map(|(id, n, _)| (*id, n)).collect();
        for (owner, n, arr, red, red_arr, renewals) in books {
            let b = out.entry(owner).or_insert_with(|| Workload {
                owner_id: owner,
                owner_name: owner.and_then(|o| names.get(&o).map(|n| n.to_string())),
                ..Default::default()
            });
            b.accounts = n;
            b.arr = arr;
            b.at_risk_accounts = red;
            b.at_risk_arr = red_arr;
            b.renewals_90d = renewals;
        }
        for (owner, n, minutes) in touches {
            if let Some(b) = out.get_mut(&owner) {
                b.touchpoints_30d = n;
                b.minutes_30d = minutes;
            }
        }
        for (owner, open, overdue) in tasks {
            // Only books listed above: an assignee who is neither a CSM, a manager nor an
            // account owner has no book.
            if let Some(b) = out.get_mut(&owner) {
                b.open_tasks = open;
                b.overdue_tasks = overdue.unwrap_or(0);
            }
        }
        Ok(with_shares(out.into_values().collect()))
    }

    // ---------------------------------------------------------------- churn models

    pub async fn save_churn_model(
        &self,
        model: &ChurnModel,
        lead_days: i64,
        window: Period,
        actor: &Actor,
    ) -> Result<StoredChurnModel> {
        let text = to_json(model)?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO churn_models (trained_at, trained_by, lead_days, window_from, window_to, renewals, churned, auc, model) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(at)
            .bind(actor.label())
            .bind(lead_days as i32)
            .bind(window.from)
            .bind(window.to)
            .bind(model.renewals as i64)
            .bind(model.churned as i64)
            .bind(model.validation.auc)
            .bind(&text)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "insight.churn_model.train",
                "churn_model",
                Some(id),
                Some(format!(
                    "{} renewals, validation AUC {:?}",
                    model.renewals, model.validation.auc
                ))
            );
            id
        });
        self.churn_model(Some(id))
            .await?
            .ok_or_else(|| StoreError::not_found(format!("churn model {id}")))
    }

    /// A model by id, or the latest with `None`.
    pub async fn churn_model(&self, id: Option<i64>) -> Result<Option<StoredChurnModel>> {
        let row: Option<ModelRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, trained_at, trained_by, lead_days, window_from, window_to, model FROM churn_models \
             WHERE ($1 IS NULL OR id = $1) ORDER BY id DESC LIMIT 1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        });
        row.map(|(id, trained_at, trained_by, lead, from, to, text)| {
            Ok(StoredChurnModel {
                id,
                trained_at,
                trained_by,
                lead_days: i64::from(lead),
                window_from: from,
                window_to: to,
                model: serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("churn model {id}: {e}")))?,
            })
        })
        .transpose()
    }

    // ---------------------------------------------------------------- weight suggestions

    pub async fn create_weight_suggestion(
        &self,
        scorecard_id: i64,
        basis: &serde_json::Value,
        definition: &ScorecardDef,
        changes: &[WeightChange],
        actor: &Actor,
    ) -> Result<WeightSuggestion> {
        self.scorecard(scorecard_id).await?;
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO weight_suggestions (scorecard_id, created_at, created_by, basis, definition, changes) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(scorecard_id)
            .bind(now())
            .bind(actor.label())
            .bind(to_json(basis)?)
            .bind(to_json(definition)?)
            .bind(to_json(&changes)?)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "insight.weights.suggest",
                "scorecard",
                Some(scorecard_id),
                Some(format!("suggestion {id}"))
            );
            id
        });
        self.weight_suggestion(id).await
    }

    pub async fn weight_suggestion(&self, id: i64) -> Result<WeightSuggestion> {
        let row: Option<SuggestionRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, scorecard_id, created_at, created_by, basis, definition, changes, accepted_at, accepted_by \
             FROM weight_suggestions WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        });
        let (
            id,
            scorecard_id,
            created_at,
            created_by,
            basis,
            def,
            changes,
            accepted_at,
            accepted_by,
        ) = row.ok_or_else(|| StoreError::not_found(format!("weight suggestion {id}")))?;
        let corrupt =
            |e: serde_json::Error| StoreError::Corrupt(format!("weight suggestion {id}: {e}"));
        Ok(WeightSuggestion {
            id,
            scorecard_id,
            created_at,
            created_by,
            basis: serde_json::from_str(&basis).map_err(corrupt)?,
            definition: serde_json::from_str(&def).map_err(corrupt)?,
            changes: serde_json::from_str(&changes).map_err(corrupt)?,
            accepted_at,
            accepted_by,
        })
    }

    /// Puts a suggestion's weights into its scorecard, in one transaction with marking it
    /// accepted; every account is then rescored. A suggestion is accepted once.
    pub async fn accept_weight_suggestion(
        &self,
        id: i64,
        actor: &Actor,
    ) -> Result<StoredScorecard> {
        let s = self.weight_suggestion(id).await?;
        if s.accepted_at.is_some() {
            return Err(StoreError::Conflict {
                field: "id".into(),
                message: format!("weight suggestion {id} was already accepted"),
            });
        }
        let current = self.scorecard(s.scorecard_id).await?;
        // Only the weights change: a scorecard edited since keeps its other edits.
        let mut def = current.definition.clone();
        for g in &mut def.groups {
            for m in &mut g.measures {
                if let Some(c) = s
                    .changes
                    .iter()
                    .find(|c| c.group == g.key && c.measure == m.key)
                {
                    m.weight = c.weight_after;
                }
            }
        }
        let card = Scorecard::parse(def)?;
        let def = card.into_def();
        let text = to_json(&def)?;
        let at = now();
        in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE weight_suggestions SET accepted_at = $1, accepted_by = $2 WHERE id = $3 AND accepted_at IS NULL",
            )
            .bind(at)
            .bind(actor.label())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict {
                    field: "id".into(),
                    message: format!("weight suggestion {id} was already accepted"),
                });
            }
            sqlx::query("UPDATE scorecards SET definition = $1, updated_at = $2 WHERE id = $3")
                .bind(&text)
                .bind(at)
                .bind(s.scorecard_id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "insight.weights.accept",
                "scorecard",
                Some(s.scorecard_id),
                Some(format!("suggestion {id}"))
            );
            sqlx::query("INSERT INTO score_queue (account_id) SELECT id FROM accounts WHERE deleted_at IS NULL ON CONFLICT DO NOTHING")
                .execute(&mut *tx)
                .await?;
        });
        self.scorecard(s.scorecard_id).await
    }
}

/// One renewal on the map with what rates it.
#[derive(Debug, Clone)]
pub struct RatedRenewal {
    pub renewal: OpenRenewal,
    /// The churn model's probability, when a model is trained.
    pub churn_probability: Option<f64>,
    /// The risk the forecast uses and where it comes from (call, model or band history).
    pub risk: Option<(f64, kizuna_domain::insight::renewals::RiskSource)>,
}

/// The renewal map of a window: every open renewal counted, one page of them rated, and the
/// risk-weighted forecast by month.
#[derive(Debug, Clone)]
pub struct RenewalMapData {
    pub total: usize,
    pub page: Vec<RatedRenewal>,
    pub forecast: Vec<kizuna_domain::insight::renewals::MonthForecast>,
    pub band_rates: kizuna_domain::insight::renewals::BandRates,
    pub model: Option<StoredChurnModel>,
}

impl Store {
    /// The renewal map for renewal dates in `from..=to`, with the page `limit` / `offset`. With
    /// a trained model every renewal is read and rated (the model rates each account); without
    /// one, the risk depends on the call and the band only, so the forecast comes from counts per
    /// day, band and call and only the page is read. The band's churn rate is that of the last
    /// year's decided renewals at the lead time.
    pub async fn renewal_map(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        adoption: &AdoptionSettings,
        limit: usize,
        offset: usize,
    ) -> Result<RenewalMapData> {
        use kizuna_domain::insight::renewals;
        let (model, band_rates) = self.renewal_rating_basis(adoption).await?;
        let month = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let (total, page, forecast) = match &model {
            Some(m) => {
                let open = self.open_renewals(from, to, None).await?;
                let rated = self.rate_renewals(open, Some(m), &band_rates).await?;
                let forecast = renewal_forecast(&rated);
                let total = rated.len();
                (
                    total,
                    rated.into_iter().skip(offset).take(limit).collect(),
                    forecast,
                )
            }
            None => {
                let groups = self.open_renewal_groups(from, to).await?;
                let forecast = renewals::forecast(
                    &groups
                        .iter()
                        .map(|g| renewals::Open {
                            month: month(g.renewal_date),
                            renewals: g.renewals,
                            arr: g.mrr * 12.0,
                            call: g.call,
                            risk: renewals::risk(g.call, None, g.health_band, &band_rates)
                                .map(|x| x.0),
                        })
                        .collect::<Vec<_>>(),
                );
                let page = self
                    .open_renewals(from, to, Some((limit as i64, offset as i64)))
                    .await?;
                let total = groups.iter().map(|g| g.renewals).sum();
                (
                    total,
                    self.rate_renewals(page, None, &band_rates).await?,
                    forecast,
                )
            }
        };
        Ok(RenewalMapData {
            total,
            page,
            forecast,
            band_rates,
            model,
        })
    }

    /// What rates a renewal: the latest churn model, when one is trained, and the churn rate per
    /// band of the last year's decided renewals at the model's (or the default) lead time.
    pub(crate) async fn renewal_rating_basis(
        &self,
        adoption: &AdoptionSettings,
    ) -> Result<(
        Option<StoredChurnModel>,
        kizuna_domain::insight::renewals::BandRates,
    )> {
        use kizuna_domain::insight::renewals::BandRates;
        let today = now().date_naive();
        let model = self.churn_model(None).await?;
        let lead_days = model
            .as_ref()
            .map_or(kizuna_domain::insight::DEFAULT_LEAD_DAYS, |m| m.lead_days);
        let history = self
            .renewal_features(
                today - Days::new(365),
                today,
                lead_days,
                adoption,
                false,
                false,
            )
            .await?;
        let band_rates = BandRates::from_history(
            &history
                .iter()
                .filter_map(|h| {
                    h.band
                        .map(|b| (b, h.renewal.outcome == RenewalOutcome::Churned))
                })
                .collect::<Vec<_>>(),
        );
        Ok((model, band_rates))
    }

    /// Rates open renewals: the model's probability for each account (when a model is given,
    /// from the accounts' current indicators) and the risk the forecast uses.
    pub(crate) async fn rate_renewals(
        &self,
        open: Vec<OpenRenewal>,
        model: Option<&StoredChurnModel>,
        band_rates: &kizuna_domain::insight::renewals::BandRates,
    ) -> Result<Vec<RatedRenewal>> {
        let mut probs: HashMap<i64, f64> = HashMap::new();
        if let Some(m) = model {
            let ids: Vec<i64> = open.iter().map(|r| r.account_id).collect();
            let c = &m.model.coefficients;
            probs = self
                .current_indicators(Some(&ids))
                .await?
                .into_iter()
                .map(|a| {
                    let values =
                        kizuna_domain::insight::model::values_of(&a.indicators, &c.features);
                    (a.account_id, c.probability(&values))
                })
                .collect();
        }
        Ok(open
            .into_iter()
            .map(|r| {
                let p = probs.get(&r.account_id).copied();
                rated(r, p, band_rates)
            })
            .collect())
    }
}

/// One open renewal with its probability and the risk from its call, the probability or its
/// band's history.
pub(crate) fn rated(
    r: OpenRenewal,
    p: Option<f64>,
    band_rates: &kizuna_domain::insight::renewals::BandRates,
) -> RatedRenewal {
    RatedRenewal {
        risk: kizuna_domain::insight::renewals::risk(r.call, p, r.health_band, band_rates),
        churn_probability: p,
        renewal: r,
    }
}

/// The risk-weighted forecast by month of rated renewals.
pub(crate) fn renewal_forecast(
    rated: &[RatedRenewal],
) -> Vec<kizuna_domain::insight::renewals::MonthForecast> {
    use kizuna_domain::insight::renewals;
    renewals::forecast(
        &rated
            .iter()
            .map(|r| renewals::Open {
                month: r
                    .renewal
                    .renewal_date
                    .with_day(1)
                    .unwrap_or(r.renewal.renewal_date),
                renewals: 1,
                arr: r.renewal.arr,
                call: r.renewal.call,
                risk: r.risk.map(|x| x.0),
            })
            .collect::<Vec<_>>(),
    )
}

/// Renewals the web UI's renewal page lists.
pub const RENEWAL_PAGE_ROWS: usize = 200;

/// The web UI's renewal page: open renewals from 90 days back (overdue, undecided) to twelve
/// months ahead, the first [`RENEWAL_PAGE_ROWS`] of them rated, the forecast by month, and the
/// rates of the renewals decided in the last year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenewalPage {
    pub total: usize,
    pub rows: Vec<PageRenewal>,
    pub forecast: Vec<kizuna_domain::insight::renewals::MonthForecast>,
    pub rates: kizuna_domain::insight::renewals::RenewalRates,
}

/// One renewal of the page with its churn probability (when a model is trained) and the risk
/// the forecast uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRenewal {
    pub renewal: OpenRenewal,
    pub churn_probability: Option<f64>,
    pub risk: Option<f64>,
}

/// Under `renewals|`, so that a CSM's call clears it with the API's maps.
fn renewal_page_key(today: NaiveDate) -> String {
    format!("renewals|web|{today}")
}

impl Store {
    /// The renewal page, computed now; with `held_ok`, its map is cut from the renewals this
    /// instance holds when it holds them (see [`crate::HeldRenewals`]).
    pub async fn renewal_page(
        &self,
        today: NaiveDate,
        adoption: &AdoptionSettings,
        held_ok: bool,
    ) -> Result<RenewalPage> {
        let (from, to) = (today - Days::new(90), today + chrono::Months::new(12));
        let map = if held_ok {
            self.renewal_map_or_held(from, to, adoption, RENEWAL_PAGE_ROWS, 0)
                .await?
        } else {
            self.renewal_map(from, to, adoption, RENEWAL_PAGE_ROWS, 0)
                .await?
        };
        let held = self.held_renewals().filter(|h| held_ok && h.today == today);
        let rates = match held {
            Some(h) => h.decided_rates.clone(),
            None => self.decided_rates(today - Days::new(365), today).await?,
        };
        Ok(RenewalPage {
            total: map.total,
            rows: map
                .page
                .into_iter()
                .map(|r| PageRenewal {
                    renewal: r.renewal,
                    churn_probability: r.churn_probability,
                    risk: r.risk.map(|x| x.0),
                })
                .collect(),
            forecast: map.forecast,
            rates,
        })
    }

    /// The renewal page computed ahead in the last [`crate::AHEAD_SECONDS`] (and since the last
    /// call was set), else cut from the renewals this instance holds, else computed now.
    pub async fn renewal_page_or_compute(
        &self,
        today: NaiveDate,
        adoption: &AdoptionSettings,
    ) -> Result<RenewalPage> {
        let newer_than = now() - chrono::Duration::seconds(crate::AHEAD_SECONDS);
        if let Some(text) = self
            .precomputed(&renewal_page_key(today), newer_than)
            .await?
        {
            if let Ok(page) = serde_json::from_str(&text) {
                return Ok(page);
            }
        }
        self.renewal_page(today, adoption, true).await
    }

    /// Computes the renewal page ahead and keeps it.
    pub async fn precompute_renewal_page(
        &self,
        today: NaiveDate,
        adoption: &AdoptionSettings,
    ) -> Result<()> {
        let page = self.renewal_page(today, adoption, true).await?;
        let text = serde_json::to_string(&page).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put_precomputed(&renewal_page_key(today), &text).await
    }
}

impl Store {
    /// Keeps a result computed ahead (the default dashboard, the default renewal map) under a
    /// key, replacing the previous one.
    pub async fn put_precomputed(&self, key: &str, body: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO precomputed (key, computed_at, body) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET computed_at = excluded.computed_at, body = excluded.body"
        )
        .bind(key)
        .bind(now())
        .bind(body)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// The result kept under a key, if it was computed after `newer_than`.
    pub async fn precomputed(
        &self,
        key: &str,
        newer_than: DateTime<Utc>,
    ) -> Result<Option<String>> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT body FROM precomputed WHERE key = $1 AND computed_at > $2"
        )
        .bind(key)
        .bind(newer_than)
        .fetch_optional(pool)
        .await?))
    }
}
