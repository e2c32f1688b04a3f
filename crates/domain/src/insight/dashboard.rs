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

/// What one account's movements make of a period, read in one scan of them: its MRR the day
/// before and at the end, and what moved inside it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PeriodMoves {
    start: f64,
    end: f64,
    expansion: f64,
    contraction: f64,
    churned: f64,
    /// Added MRR when the account was outside the cohort (no MRR the day before).
    new_mrr: f64,
}

impl PeriodMoves {
    /// Reads the movements from `*cursor` on (every one before it is before `p.from`, and
    /// `*mrr` is the MRR after the last of them) and leaves the cursor at the first movement
    /// after `p.to`: consecutive periods are read in one scan.
    fn read(movements: &[Move], cursor: &mut usize, mrr: &mut f64, p: Period) -> PeriodMoves {
        while let Some(m) = movements.get(*cursor).filter(|m| m.on < p.from) {
            *mrr = m.after;
            *cursor += 1;
        }
        let mut out = PeriodMoves {
            start: *mrr,
            end: *mrr,
            ..Default::default()
        };
        while let Some(m) = movements.get(*cursor).filter(|m| m.on <= p.to) {
            let delta = m.after - m.before;
            if out.start <= 0.0 {
                out.new_mrr += delta.max(0.0);
            } else {
                match m.kind {
                    MovementKind::Churn => out.churned += -delta,
                    MovementKind::Contraction => out.contraction += -delta,
                    _ if delta > 0.0 => out.expansion += delta,
                    _ => out.contraction += -delta,
                }
            }
            out.end = m.after;
            *mrr = m.after;
            *cursor += 1;
        }
        out
    }

    fn of(a: &AccountFacts, p: Period) -> PeriodMoves {
        PeriodMoves::read(&a.movements, &mut 0, &mut 0.0, p)
    }
}

impl Retention {
    fn add_moves(&mut self, m: &PeriodMoves) {
        self.end_mrr += m.end;
        if m.start <= 0.0 {
            self.new_mrr += m.new_mrr;
            return;
        }
        self.accounts_at_start += 1;
        self.start_mrr += m.start;
        if m.end <= 0.0 {
            self.churned_accounts += 1;
        }
        self.expansion_mrr += m.expansion;
        self.contraction_mrr += m.contraction;
        self.churned_mrr += m.churned;
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
            r.add_moves(&PeriodMoves::of(a, p));
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
    /// Adds one account with its MRR at the end, with the weighted score's running sums.
    fn add(
        &mut self,
        (score, band): (Option<f64>, Option<HealthBand>),
        end_mrr: f64,
        sums: &mut (f64, f64),
    ) {
        let arr = end_mrr * 12.0;
        if arr <= 0.0 {
            return;
        }
        let share = match band {
            Some(HealthBand::Red) => &mut self.red,
            Some(HealthBand::Yellow) => &mut self.yellow,
            Some(HealthBand::Green) => &mut self.green,
            None => &mut self.unscored,
        };
        share.accounts += 1;
        share.arr += arr;
        if let Some(s) = score {
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
            mix.add((a.score, a.band), a.mrr_on(on), &mut sums);
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

/// What one account adds to the figures of every set it belongs to over a period, computed
/// once: the overall figures and each breakdown's group add the same contribution.
#[derive(Debug, Clone, Copy)]
pub struct Contribution {
    moves: PeriodMoves,
    score: Option<f64>,
    band: Option<HealthBand>,
    engaged: bool,
}

impl Contribution {
    pub fn of(a: &AccountFacts, p: Period) -> Contribution {
        Contribution {
            moves: PeriodMoves::of(a, p),
            score: a.score,
            band: a.band,
            engaged: a.engaged,
        }
    }
}

/// The running sums behind [`Figures`]; [`FigureSums::finish`] makes the figures.
#[derive(Debug, Clone, Default)]
pub struct FigureSums {
    retention: Retention,
    health: HealthMix,
    weighted_score: (f64, f64),
    live: usize,
    engaged: usize,
}

impl FigureSums {
    pub fn add(&mut self, c: &Contribution) {
        self.retention.add_moves(&c.moves);
        self.health
            .add((c.score, c.band), c.moves.end, &mut self.weighted_score);
        if c.moves.end > 0.0 {
            self.live += 1;
            self.engaged += usize::from(c.engaged);
        }
    }

    pub fn finish(self, p: Period, monthly_cs_cost: Option<f64>) -> Figures {
        let retention = self.retention.finish();
        let health = self.health.finish(self.weighted_score);
        let retained_arr =
            (retention.start_mrr - retention.contraction_mrr - retention.churned_mrr) * 12.0;
        let cs_cost = monthly_cs_cost.map(|c| c * p.months());
        let (live, engaged) = (self.live, self.engaged);
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

impl Figures {
    /// Every figure in one pass over the accounts, each account's movements scanned once.
    pub fn compute(accounts: &[&AccountFacts], p: Period, monthly_cs_cost: Option<f64>) -> Figures {
        let mut sums = FigureSums::default();
        for a in accounts {
            sums.add(&Contribution::of(a, p));
        }
        sums.finish(p, monthly_cs_cost)
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

/// Monthly retention over the period's calendar months, in one pass over the accounts and one
/// scan of each account's movements (the months are consecutive).
pub fn monthly_trend(accounts: &[&AccountFacts], p: Period) -> Vec<TrendPoint> {
    let months = p.calendar_months();
    let mut sums = vec![Retention::default(); months.len()];
    for a in accounts {
        let (mut cursor, mut mrr) = (0, 0.0);
        for (r, m) in sums.iter_mut().zip(&months) {
            r.add_moves(&PeriodMoves::read(&a.movements, &mut cursor, &mut mrr, *m));
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
    let mut groups: BTreeMap<K, FigureSums> = BTreeMap::new();
    for (k, a) in accounts {
        groups.entry(k).or_default().add(&Contribution::of(a, p));
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, v.finish(p, None)))
        .collect()
}

#[cfg(test)]
mod tests;
