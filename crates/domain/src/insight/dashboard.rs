//! The executive dashboard's figures over a period, from each account's revenue movements, its
//! health at the end of the period and whether the team engaged with it. Formulas (DESIGN §3):
//!
//! - the **cohort** is the accounts with MRR above zero the day before the period starts; its
//!   MRR then is the start MRR;
//! - expansion, contraction and churn are the cohort's movements inside the period (a
//!   reactivation inside the period counts as expansion);
//! - GRR = (start − contraction − churn) / start, NRR = (start + expansion − contraction − churn)
//!   / start, net new MRR from existing customers = expansion − contraction − churn;
//! - logo churn = cohort accounts with no MRR at the end of the period / cohort accounts;
//! - portfolio score = Σ(score × ARR) / Σ ARR over accounts with a score and ARR;
//! - retention cost = CS team cost over the period / retained ARR, where retained ARR is the
//!   cohort's start ARR less contraction and churn (what was kept, not what was added);
//! - engagement coverage = live accounts with a touchpoint in the period / live accounts.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::health::HealthBand;
use crate::revenue::MovementKind;

/// One revenue movement as the dashboard reads it (major currency units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    pub on: NaiveDate,
    pub kind: MovementKind,
    pub before: f64,
    pub after: f64,
}

/// What the dashboard knows of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFacts {
    /// Movements oldest first.
    pub movements: Vec<Move>,
    /// Health at the end of the period.
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    /// A touchpoint inside the period.
    pub engaged: bool,
}

impl AccountFacts {
    /// MRR at the end of `day` (after that day's movements).
    pub fn mrr_on(&self, day: NaiveDate) -> f64 {
        self.movements
            .iter()
            .take_while(|m| m.on <= day)
            .last()
            .map_or(0.0, |m| m.after)
    }

    /// MRR the day before `day`.
    pub fn mrr_before(&self, day: NaiveDate) -> f64 {
        self.movements
            .iter()
            .take_while(|m| m.on < day)
            .last()
            .map_or(0.0, |m| m.after)
    }
}

/// A period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Length in months (average month of 365.25 / 12 days).
    pub fn months(&self) -> f64 {
        self.days() as f64 / (365.25 / 12.0)
    }

    /// The calendar months that end inside the period, each clipped to it: the trend's points.
    pub fn calendar_months(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let mut start = self.from.with_day(1).unwrap_or(self.from);
        while start <= self.to {
            let next = start + Months::new(1);
            let end = next.pred_opt().unwrap_or(next);
            out.push(Period {
                from: start.max(self.from),
                to: end.min(self.to),
            });
            start = next;
        }
        out
    }
}

/// Revenue retention over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retention {
    /// Accounts with MRR the day before the period: the cohort.
    pub accounts_at_start: usize,
    /// Cohort accounts without MRR at the end of the period.
    pub churned_accounts: usize,
    pub logo_churn: Option<f64>,
    pub start_mrr: f64,
    pub expansion_mrr: f64,
    pub contraction_mrr: f64,
    pub churned_mrr: f64,
    /// expansion − contraction − churn.
    pub net_new_mrr_existing: f64,
    pub grr: Option<f64>,
    pub nrr: Option<f64>,
    /// MRR of accounts outside the cohort that started (or came back) in the period.
    pub new_mrr: f64,
    /// Every account's MRR at the end of the period.
    pub end_mrr: f64,
}

impl Retention {
    fn add(&mut self, a: &AccountFacts, p: Period) {
        let start = a.mrr_before(p.from);
        let end = a.mrr_on(p.to);
        self.end_mrr += end;
        let inside = a
            .movements
            .iter()
            .filter(|m| p.from <= m.on && m.on <= p.to);
        if start <= 0.0 {
            self.new_mrr += inside.map(|m| (m.after - m.before).max(0.0)).sum::<f64>();
            return;
        }
        self.accounts_at_start += 1;
        self.start_mrr += start;
        if end <= 0.0 {
            self.churned_accounts += 1;
        }
        for m in inside {
            let delta = m.after - m.before;
            match m.kind {
                MovementKind::Churn => self.churned_mrr += -delta,
                MovementKind::Contraction => self.contraction_mrr += -delta,
                _ if delta > 0.0 => self.expansion_mrr += delta,
                _ => self.contraction_mrr += -delta,
            }
        }
    }

    fn finish(mut self) -> Retention {
        self.net_new_mrr_existing = self.expansion_mrr - self.contraction_mrr - self.churned_mrr;
        if self.start_mrr > 0.0 {
            self.grr =
                Some((self.start_mrr - self.contraction_mrr - self.churned_mrr) / self.start_mrr);
            self.nrr = Some((self.start_mrr + self.net_new_mrr_existing) / self.start_mrr);
        }
        if self.accounts_at_start > 0 {
            self.logo_churn = Some(self.churned_accounts as f64 / self.accounts_at_start as f64);
        }
        self
    }

    pub fn compute<'a>(
        accounts: impl IntoIterator<Item = &'a AccountFacts>,
        p: Period,
    ) -> Retention {
        let mut r = Retention::default();
        for a in accounts {
            r.add(a, p);
        }
        r.finish()
    }
}

/// Accounts and ARR in one health band.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandShare {
    pub accounts: usize,
    pub arr: f64,
}

/// The portfolio's health at the end of the period: live accounts (MRR at the end) by band.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthMix {
    pub red: BandShare,
    pub yellow: BandShare,
    pub green: BandShare,
    /// Live accounts without a score.
    pub unscored: BandShare,
    /// Σ(score × ARR) / Σ ARR over scored live accounts.
    pub portfolio_score: Option<f64>,
}

impl HealthMix {
    /// Adds one account as it stood on `on`, with the weighted score's running sums.
    fn add(&mut self, a: &AccountFacts, on: NaiveDate, sums: &mut (f64, f64)) {
        let arr = a.mrr_on(on) * 12.0;
        if arr <= 0.0 {
            return;
        }
        let share = match a.band {
            Some(HealthBand::Red) => &mut self.red,
            Some(HealthBand::Yellow) => &mut self.yellow,
            Some(HealthBand::Green) => &mut self.green,
            None => &mut self.unscored,
        };
        share.accounts += 1;
        share.arr += arr;
        if let Some(s) = a.score {
            sums.0 += s * arr;
            sums.1 += arr;
        }
    }

    fn finish(mut self, (weighted, weight): (f64, f64)) -> HealthMix {
        self.portfolio_score = (weight > 0.0).then(|| weighted / weight);
        self
    }

    pub fn compute<'a>(
        accounts: impl IntoIterator<Item = &'a AccountFacts>,
        on: NaiveDate,
    ) -> HealthMix {
        let mut mix = HealthMix::default();
        let mut sums = (0.0, 0.0);
        for a in accounts {
            mix.add(a, on, &mut sums);
        }
        mix.finish(sums)
    }
}

/// Every figure of the dashboard for one set of accounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub retention: Retention,
    pub health: HealthMix,
    /// Live accounts at the end of the period.
    pub live_accounts: usize,
    pub engaged_accounts: usize,
    pub engagement_coverage: Option<f64>,
    /// CS team cost over the period (monthly cost × months); `None` when no cost is set.
    pub cs_cost: Option<f64>,
    /// (start MRR − contraction − churn) × 12.
    pub retained_arr: f64,
    /// CS cost / retained ARR.
    pub retention_cost: Option<f64>,
}

impl Figures {
    /// Every figure in one pass over the accounts (each account's facts are read once, not
    /// once per figure: at 100,000 accounts the reads, not the arithmetic, are the cost).
    pub fn compute(accounts: &[&AccountFacts], p: Period, monthly_cs_cost: Option<f64>) -> Figures {
        let mut retention = Retention::default();
        let mut health = HealthMix::default();
        let mut sums = (0.0, 0.0);
        let (mut live, mut engaged) = (0usize, 0usize);
        for a in accounts {
            retention.add(a, p);
            health.add(a, p.to, &mut sums);
            if a.mrr_on(p.to) > 0.0 {
                live += 1;
                engaged += usize::from(a.engaged);
            }
        }
        let retention = retention.finish();
        let health = health.finish(sums);
        let retained_arr =
            (retention.start_mrr - retention.contraction_mrr - retention.churned_mrr) * 12.0;
        let cs_cost = monthly_cs_cost.map(|c| c * p.months());
        Figures {
            live_accounts: live,
            engaged_accounts: engaged,
            engagement_coverage: (live > 0).then(|| engaged as f64 / live as f64),
            retention_cost: cs_cost
                .filter(|_| retained_arr > 0.0)
                .map(|c| c / retained_arr),
            cs_cost,
            retained_arr,
            retention,
            health,
        }
    }
}

/// One month of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    pub month: NaiveDate,
    pub period: Period,
    pub retention: Retention,
}

/// Monthly retention over the period's calendar months, in one pass over the accounts.
pub fn monthly_trend(accounts: &[&AccountFacts], p: Period) -> Vec<TrendPoint> {
    let months = p.calendar_months();
    let mut sums = vec![Retention::default(); months.len()];
    for a in accounts {
        for (r, m) in sums.iter_mut().zip(&months) {
            r.add(a, *m);
        }
    }
    months
        .into_iter()
        .zip(sums)
        .map(|(m, r)| TrendPoint {
            month: m.from.with_day(1).unwrap_or(m.from),
            period: m,
            retention: r.finish(),
        })
        .collect()
}

/// Figures overall and per value of a breakdown key (segment, tier, CSM).
/// The CS team's cost is not split among groups (it is not known per group): only the overall
/// figure carries a retention cost.
pub fn breakdown<'a, K: Ord + 'a>(
    accounts: impl IntoIterator<Item = (K, &'a AccountFacts)>,
    p: Period,
) -> BTreeMap<K, Figures> {
    let mut groups: BTreeMap<K, Vec<&AccountFacts>> = BTreeMap::new();
    for (k, a) in accounts {
        groups.entry(k).or_default().push(a);
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, Figures::compute(&v, p, None)))
        .collect()
}

#[cfg(test)]
mod tests;
