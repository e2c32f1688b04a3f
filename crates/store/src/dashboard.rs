//! The executive dashboard as a whole: its figures overall, per segment, coverage tier and CSM,
//! the monthly trend and the health-band trend, computed from [`Store::dashboard_accounts`] and
//! [`Store::band_trend`]; and the same dashboards computed ahead for the standard periods and
//! every single-dimension scope, so that what an executive opens is read, not computed.
//!
//! Computing ahead reads the whole book once (see [`crate::book`]) and derives every period and
//! scope from it in memory; the band trends of all scopes come from one grouped count per
//! month-end snapshot day. A dashboard computed ahead holds the same figures as computing it on
//! request (tested on both backends). Any other period or scope is computed from the book the
//! instance holds when it has a recent one.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::insight::dashboard::{
    self, AccountFacts, Contribution, FigureSums, Figures, Period, TrendPoint,
};
use kizuna_domain::insight::definitions::{Definition, DEFINITIONS};
use serde::{Deserialize, Serialize};

use crate::insight::{BandDay, DashboardAccount, DashboardScope};
use crate::{now, Result, Store};

/// The figures of one group of a breakdown (a segment, a coverage tier or a CSM's id; `none`
/// for accounts without one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    pub key: String,
    pub figures: Figures,
}

/// The executive dashboard of a period and scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub period: Period,
    pub computed_at: DateTime<Utc>,
    /// The day the health figures are from: today when the period reaches today, else the last
    /// snapshot day on or before the period's end.
    pub health_day: Option<NaiveDate>,
    pub overall: Figures,
    pub by_segment: Vec<Breakdown>,
    pub by_coverage_tier: Vec<Breakdown>,
    pub by_csm: Vec<Breakdown>,
    /// Retention per calendar month of the period.
    pub trend: Vec<TrendPoint>,
    /// Accounts per band on the last snapshot day of each month.
    pub health_trend: Vec<BandDay>,
    /// What each figure means (in the JSON only; the web UI reads the catalogue itself).
    #[serde(default, skip_deserializing)]
    pub definitions: Vec<Definition>,
}

const DEFINITION_KEYS: &[&str] = &[
    "health_mix",
    "portfolio_score",
    "start_mrr",
    "logo_churn",
    "grr",
    "nrr",
    "net_new_mrr_existing",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "new_mrr",
    "retention_cost",
    "engagement_coverage",
];

/// How old a dashboard computed ahead may be and still be served (the scheduler computes them
/// every five minutes).
pub const AHEAD_SECONDS: i64 = 15 * 60;

/// The key a dashboard computed ahead is kept under.
pub fn dashboard_key(period: Period, scope: DashboardScope) -> String {
    format!(
        "dashboard|{}|{}|{:?}|{:?}|{:?}",
        period.from, period.to, scope.segment, scope.tier, scope.owner_id
    )
}

/// The periods offered on the dashboard, computed ahead: the last twelve months (the default,
/// from the first day of the month eleven months back), this quarter and this year to date, and
/// the last full quarter and year.
pub fn standard_periods(today: NaiveDate) -> Vec<(&'static str, Period)> {
    let month_start = today.with_day(1).unwrap_or(today);
    let quarter_start = NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)
        .unwrap_or(month_start);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(month_start);
    let last_quarter_start = quarter_start - Months::new(3);
    let day_before = |d: NaiveDate| d.pred_opt().unwrap_or(d);
    vec![
        (
            "last_12_months",
            Period {
                from: month_start - Months::new(11),
                to: today,
            },
        ),
        (
            "this_quarter",
            Period {
                from: quarter_start,
                to: today,
            },
        ),
        (
            "last_quarter",
            Period {
                from: last_quarter_start,
                to: day_before(quarter_start),
            },
        ),
        (
            "this_year",
            Period {
                from: year_start,
                to: today,
            },
        ),
        (
            "last_year",
            Period {
                from: year_start - Months::new(12),
                to: day_before(year_start),
            },
        ),
    ]
}

/// Figure sums per group of one breakdown, turned into its rows in key order (`none`, the
/// accounts without a value, first).
fn finish_groups<K: ToString>(groups: HashMap<Option<K>, FigureSums>, p: Period) -> Vec<Breakdown> {
    let mut rows: Vec<(Option<String>, FigureSums)> = groups
        .into_iter()
        .map(|(k, sums)| (k.map(|k| k.to_string()), sums))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter()
        .map(|(key, sums)| Breakdown {
            key: key.unwrap_or_else(|| "none".to_string()),
            figures: sums.finish(p, None),
        })
        .collect()
}

/// The overall figures and the three breakdowns in one pass over the accounts: each account's
/// contribution is computed once and added to the whole and to its segment, tier and CSM. The
/// CS team's cost is not split among groups (it is not known per group): only the overall
/// figures carry a retention cost.
fn figures_and_breakdowns(
    accounts: &[&DashboardAccount],
    p: Period,
    monthly_cs_cost: Option<f64>,
) -> (Figures, [Vec<Breakdown>; 3]) {
    let mut overall = FigureSums::default();
    let mut by_segment: HashMap<Option<ContractValueTier>, FigureSums> = HashMap::new();
    let mut by_tier: HashMap<Option<CoverageTier>, FigureSums> = HashMap::new();
    let mut by_csm: HashMap<Option<i64>, FigureSums> = HashMap::new();
    for a in accounts {
        let c = Contribution::of(&a.facts, p);
        overall.add(&c);
        by_segment.entry(a.segment).or_default().add(&c);
        by_tier.entry(Some(a.tier)).or_default().add(&c);
        by_csm.entry(a.owner_id).or_default().add(&c);
    }
    (
        overall.finish(p, monthly_cs_cost),
        [
            finish_groups(by_segment, p),
            finish_groups(by_tier, p),
            finish_groups(by_csm, p),
        ],
    )
}

/// The dashboard of some accounts (already those of the scope). The monthly trend is computed
/// on a second thread while this one computes the figures and their breakdowns.
pub(crate) fn assemble(
    period: Period,
    accounts: &[&DashboardAccount],
    health_day: Option<NaiveDate>,
    health_trend: Vec<BandDay>,
    monthly_cs_cost: Option<f64>,
) -> Dashboard {
    let (trend, (overall, [by_segment, by_coverage_tier, by_csm])) = std::thread::scope(|s| {
        let trend = s.spawn(|| {
            let facts: Vec<&AccountFacts> = accounts.iter().map(|a| &a.facts).collect();
            dashboard::monthly_trend(&facts, period)
        });
        let figures = figures_and_breakdowns(accounts, period, monthly_cs_cost);
        let trend = trend
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (trend, figures)
    });
    Dashboard {
        period,
        computed_at: now(),
        health_day,
        overall,
        by_segment,
        by_coverage_tier,
        by_csm,
        trend,
        health_trend,
        definitions: DEFINITIONS
            .iter()
            .filter(|d| DEFINITION_KEYS.contains(&d.key))
            .copied()
            .collect(),
    }
}

impl Store {
    /// The dashboard of a period and scope, computed now.
    pub async fn dashboard(&self, period: Period, scope: DashboardScope) -> Result<Dashboard> {
        let (accounts, health_day) = self.dashboard_accounts(period, scope).await?;
        let settings = self.insight_settings().await?;
        let trend = self.band_trend(period, scope).await?;
        let refs: Vec<&DashboardAccount> = accounts.iter().collect();
        Ok(assemble(
            period,
            &refs,
            health_day,
            trend,
            settings.cs_team_monthly_cost,
        ))
    }

    /// The dashboard computed ahead for a period and scope, as its JSON, when there is one from
    /// the last [`AHEAD_SECONDS`].
    pub async fn dashboard_ahead(
        &self,
        period: Period,
        scope: DashboardScope,
    ) -> Result<Option<String>> {
        let newer_than = now() - chrono::Duration::seconds(AHEAD_SECONDS);
        self.precomputed(&dashboard_key(period, scope), newer_than)
            .await
    }

    /// The dashboard of a period and scope: the one computed ahead when there is one, else
    /// computed from the book this instance holds or the kept copy of it, else computed now
    /// from the database (and the book read in the background for the next request).
    pub async fn dashboard_or_compute(
        &self,
        period: Period,
        scope: DashboardScope,
    ) -> Result<Dashboard> {
        if let Some(text) = self.dashboard_ahead(period, scope).await? {
            if let Ok(d) = serde_json::from_str::<Dashboard>(&text) {
                return Ok(d);
            }
        }
        match self.held_or_kept_book().await? {
            Some(book) => self.dashboard_from_book(&book, period, scope).await,
            None => {
                self.refresh_book_in_background();
                self.dashboard(period, scope).await
            }
        }
    }

    /// Computes ahead the dashboards of every standard period (see [`standard_periods`]) for
    /// the whole book and for each segment, coverage tier and CSM that has accounts, and keeps
    /// them; all from one read of the book, which this instance then holds for the dashboards
    /// of other periods and scopes (see [`Store::refresh_book`]). Returns how many were kept.
    pub async fn precompute_dashboards(&self, today: NaiveDate) -> Result<usize> {
        let book = self.refresh_book(today).await?;
        let settings = self.insight_settings().await?;
        let cost = settings.cs_team_monthly_cost;
        let mut kept = 0;
        for (_, period) in standard_periods(today) {
            let all = DashboardScope::default();
            let (health_day, health) = self.book_health(&book, period, all).await?;
            let accounts = book.dashboard_accounts(period, all, health.as_deref());
            let mut scopes: BTreeMap<String, (DashboardScope, Vec<&DashboardAccount>)> =
                BTreeMap::new();
            for a in &accounts {
                let mut add = |scope: DashboardScope| {
                    scopes
                        .entry(dashboard_key(period, scope))
                        .or_insert_with(|| (scope, Vec::new()))
                        .1
                        .push(a);
                };
                if let Some(segment) = a.segment {
                    add(DashboardScope {
                        segment: Some(segment),
                        ..all
                    });
                }
                add(DashboardScope {
                    tier: Some(a.tier),
                    ..all
                });
                if let Some(owner) = a.owner_id {
                    add(DashboardScope {
                        owner_id: Some(owner),
                        ..all
                    });
                }
            }
            let days = self.month_end_snapshot_days(period).await?;
            let whole = self.book_band_trend(&book, &days, all).await?;
            let refs: Vec<&DashboardAccount> = accounts.iter().collect();
            let d = assemble(period, &refs, health_day, whole, cost);
            self.put_precomputed(&dashboard_key(period, all), &to_json(&d)?)
                .await?;
            kept += 1;
            for (key, (scope, members)) in scopes {
                let trend = self.book_band_trend(&book, &days, scope).await?;
                let d = assemble(period, &members, health_day, trend, cost);
                self.put_precomputed(&key, &to_json(&d)?).await?;
                kept += 1;
            }
        }
        Ok(kept)
    }
}

fn to_json(d: &Dashboard) -> Result<String> {
    serde_json::to_string(d).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}
