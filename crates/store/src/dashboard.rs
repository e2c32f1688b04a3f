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

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use kizuna_domain::insight::dashboard::{self, AccountFacts, Figures, Period, TrendPoint};
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

fn breakdowns<'a>(
    accounts: impl IntoIterator<Item = (Option<String>, &'a AccountFacts)>,
    p: Period,
) -> Vec<Breakdown> {
    dashboard::breakdown(accounts, p)
        .into_iter()
        .map(|(k, figures)| Breakdown {
            key: k.unwrap_or_else(|| "none".to_string()),
            figures,
        })
        .collect()
}

/// How a breakdown groups an account.
type GroupKey = fn(&DashboardAccount) -> Option<String>;

fn breakdown_by(accounts: &[&DashboardAccount], p: Period, key: GroupKey) -> Vec<Breakdown> {
    breakdowns(accounts.iter().map(|a| (key(a), &a.facts)), p)
}

/// The dashboard of some accounts (already those of the scope). The three breakdowns are
/// computed on a second thread while this one computes the overall figures and the trend: at
/// 100,000 accounts each is several passes over every account.
pub(crate) fn assemble(
    period: Period,
    accounts: &[&DashboardAccount],
    health_day: Option<NaiveDate>,
    health_trend: Vec<BandDay>,
    monthly_cs_cost: Option<f64>,
) -> Dashboard {
    let facts: Vec<&AccountFacts> = accounts.iter().map(|a| &a.facts).collect();
    let (overall, trend, (by_segment, by_coverage_tier, by_csm)) = std::thread::scope(|s| {
        let groups = s.spawn(|| {
            (
                breakdown_by(accounts, period, |a| a.segment.map(|x| x.to_string())),
                breakdown_by(accounts, period, |a| Some(a.tier.to_string())),
                breakdown_by(accounts, period, |a| a.owner_id.map(|x| x.to_string())),
            )
        });
        let overall = Figures::compute(&facts, period, monthly_cs_cost);
        let trend = dashboard::monthly_trend(&facts, period);
        let groups = groups
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (overall, trend, groups)
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
    /// computed from the book this instance holds, else computed now from the database (and
    /// the book read in the background for the next request).
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
        match self.held_book() {
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
