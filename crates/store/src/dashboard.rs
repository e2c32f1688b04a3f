//! The executive dashboard as a whole: its figures overall, per segment, coverage tier and CSM,
//! the monthly trend and the health-band trend, computed from [`Store::dashboard_accounts`] and
//! [`Store::band_trend`]; and the same dashboards computed ahead for the standard periods and
//! every single-dimension scope, so that what an executive opens is read, not computed.
//!
//! Computing ahead reads the whole book once per period and derives every scope from it in
//! memory; the band trends of all scopes come from one grouped count per month-end snapshot day.
//! A dashboard computed ahead holds the same figures as computing it on request (tested on both
//! backends).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::insight::dashboard::{self, AccountFacts, Figures, Period, TrendPoint};
use kizuna_domain::insight::definitions::{Definition, DEFINITIONS};
use serde::{Deserialize, Serialize};

use crate::insight::{BandDay, DashboardAccount, DashboardScope};
use crate::rows::{parse, parse_opt};
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

/// The dashboard of some accounts (already those of the scope).
fn assemble(
    period: Period,
    accounts: &[&DashboardAccount],
    health_day: Option<NaiveDate>,
    health_trend: Vec<BandDay>,
    monthly_cs_cost: Option<f64>,
) -> Dashboard {
    let facts: Vec<&AccountFacts> = accounts.iter().map(|a| &a.facts).collect();
    let by = |key: &dyn Fn(&DashboardAccount) -> Option<String>| {
        breakdowns(accounts.iter().map(|a| (key(a), &a.facts)), period)
    };
    Dashboard {
        period,
        computed_at: now(),
        health_day,
        overall: Figures::compute(&facts, period, monthly_cs_cost),
        by_segment: by(&|a| a.segment.map(|x| x.to_string())),
        by_coverage_tier: by(&|a| Some(a.tier.to_string())),
        by_csm: by(&|a| a.owner_id.map(|x| x.to_string())),
        trend: dashboard::monthly_trend(&facts, period),
        health_trend,
        definitions: DEFINITIONS
            .iter()
            .filter(|d| DEFINITION_KEYS.contains(&d.key))
            .copied()
            .collect(),
    }
}

/// Accounts per band of each scope on one snapshot day.
type ScopeCounts = HashMap<DashboardScope, [i64; 3]>;

/// Band, segment, coverage tier, owner and how many accounts have them.
type ScopeCountRow = (Option<String>, Option<String>, String, Option<i64>, i64);

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
    /// computed now.
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
        self.dashboard(period, scope).await
    }

    /// Computes ahead the dashboards of every standard period (see [`standard_periods`]) for
    /// the whole book and for each segment, coverage tier and CSM that has accounts, and keeps
    /// them. Returns how many were kept.
    pub async fn precompute_dashboards(&self, today: NaiveDate) -> Result<usize> {
        let settings = self.insight_settings().await?;
        let cost = settings.cs_team_monthly_cost;
        // The scoped band counts of each snapshot day, shared by the periods.
        let mut days: HashMap<NaiveDate, ScopeCounts> = HashMap::new();
        let mut kept = 0;
        for (_, period) in standard_periods(today) {
            let all = DashboardScope::default();
            let (accounts, health_day) = self.dashboard_accounts(period, all).await?;
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
            let snapshot_days = self.month_end_snapshot_days(period).await?;
            for day in &snapshot_days {
                if !days.contains_key(day) {
                    let counts = self.band_counts_by_scope(*day).await?;
                    days.insert(*day, counts);
                }
            }
            let whole = self.band_counts_on(&snapshot_days, all).await?;
            let refs: Vec<&DashboardAccount> = accounts.iter().collect();
            let d = assemble(period, &refs, health_day, whole, cost);
            self.put_precomputed(&dashboard_key(period, all), &to_json(&d)?)
                .await?;
            kept += 1;
            for (key, (scope, members)) in scopes {
                let trend = snapshot_days
                    .iter()
                    .map(|day| {
                        let [red, yellow, green] = days
                            .get(day)
                            .and_then(|c| c.get(&scope))
                            .copied()
                            .unwrap_or_default();
                        BandDay {
                            day: *day,
                            red,
                            yellow,
                            green,
                        }
                    })
                    .collect();
                let d = assemble(period, &members, health_day, trend, cost);
                self.put_precomputed(&key, &to_json(&d)?).await?;
                kept += 1;
            }
        }
        Ok(kept)
    }

    /// Per live account's segment, coverage tier and owner, its snapshot's band on `day`,
    /// counted once in a grouped query and summed into every single-dimension scope.
    async fn band_counts_by_scope(&self, day: NaiveDate) -> Result<ScopeCounts> {
        let rows: Vec<ScopeCountRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT h.band, a.contract_value_tier, a.coverage_tier, a.owner_id, COUNT(*) \
                     FROM health_snapshots h JOIN accounts a ON a.id = h.account_id \
                     WHERE h.day = $1 AND a.deleted_at IS NULL \
                     GROUP BY h.band, a.contract_value_tier, a.coverage_tier, a.owner_id",
            )
            .bind(day)
            .fetch_all(pool)
            .await?
        });
        let mut out = ScopeCounts::new();
        for (band, segment, tier, owner, count) in rows {
            let slot = match parse_opt::<HealthBand>(band.as_deref(), "health band")? {
                Some(HealthBand::Red) => 0,
                Some(HealthBand::Yellow) => 1,
                Some(HealthBand::Green) => 2,
                None => continue,
            };
            let segment: Option<ContractValueTier> =
                parse_opt(segment.as_deref(), "contract_value_tier")?;
            let tier: CoverageTier = parse(&tier, "coverage_tier")?;
            let all = DashboardScope::default();
            let mut scopes = vec![DashboardScope {
                tier: Some(tier),
                ..all
            }];
            if let Some(segment) = segment {
                scopes.push(DashboardScope {
                    segment: Some(segment),
                    ..all
                });
            }
            if let Some(owner) = owner {
                scopes.push(DashboardScope {
                    owner_id: Some(owner),
                    ..all
                });
            }
            for scope in scopes {
                out.entry(scope).or_default()[slot] += count;
            }
        }
        Ok(out)
    }
}

fn to_json(d: &Dashboard) -> Result<String> {
    serde_json::to_string(d).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}
