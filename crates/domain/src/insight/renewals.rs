//! Renewals: the outcome of a decided renewal, gross and net renewal rates, the CSM's call on an
//! open one, and the risk-weighted forecast.
//!
//! Gross renewal rate = (ARR up for renewal − ARR churned − ARR contracted) / ARR up; net renewal
//! rate = ARR after the renewals (expansions included) / ARR up. A renewal's risk is 1 when the
//! CSM called it lost and 0 when committed; otherwise the churn model's probability for the
//! account, else the churn rate of its health band among decided renewals, else none (the
//! renewal is then counted at full value and listed as unrated).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::health::HealthBand;
use crate::string_enum;
use crate::subscription::SubscriptionStatus;

string_enum! {
    /// The CSM's call on an open renewal.
    pub enum RenewalCall {
        Commit = "commit",
        Likely = "likely",
        AtRisk = "at_risk",
        Lost = "lost",
    }
}

string_enum! {
    /// How a decided renewal ended.
    pub enum RenewalOutcome {
        /// Renewed at the same MRR.
        Renewed = "renewed",
        Expanded = "expanded",
        Contracted = "contracted",
        Churned = "churned",
    }
}

/// The outcome of a term: `None` while undecided. `next_mrr` is the MRR of the term that renews
/// it (its first day).
pub fn outcome(
    status: SubscriptionStatus,
    mrr: f64,
    next_mrr: Option<f64>,
) -> Option<RenewalOutcome> {
    match status {
        SubscriptionStatus::Active => None,
        SubscriptionStatus::Churned => Some(RenewalOutcome::Churned),
        SubscriptionStatus::Renewed => Some(match next_mrr {
            Some(n) if n > mrr => RenewalOutcome::Expanded,
            Some(n) if n < mrr => RenewalOutcome::Contracted,
            _ => RenewalOutcome::Renewed,
        }),
    }
}

/// A decided renewal: ARR up for renewal and ARR after it (0 when churned).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decided {
    pub arr_up: f64,
    pub arr_after: f64,
    pub outcome: RenewalOutcome,
}

impl Decided {
    pub fn new(mrr: f64, next_mrr: Option<f64>, outcome: RenewalOutcome) -> Decided {
        let after = match outcome {
            RenewalOutcome::Churned => 0.0,
            _ => next_mrr.unwrap_or(mrr),
        };
        Decided {
            arr_up: mrr * 12.0,
            arr_after: after * 12.0,
            outcome,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalRates {
    pub decided: usize,
    pub renewed: usize,
    pub expanded: usize,
    pub contracted: usize,
    pub churned: usize,
    pub arr_up: f64,
    pub arr_after: f64,
    pub arr_churned: f64,
    pub arr_contracted: f64,
    pub arr_expanded: f64,
    pub gross_renewal_rate: Option<f64>,
    pub net_renewal_rate: Option<f64>,
}

pub fn rates(decided: &[Decided]) -> RenewalRates {
    let mut r = RenewalRates::default();
    for d in decided {
        r.decided += 1;
        r.arr_up += d.arr_up;
        r.arr_after += d.arr_after;
        match d.outcome {
            RenewalOutcome::Renewed => r.renewed += 1,
            RenewalOutcome::Expanded => {
                r.expanded += 1;
                r.arr_expanded += d.arr_after - d.arr_up;
            }
            RenewalOutcome::Contracted => {
                r.contracted += 1;
                r.arr_contracted += d.arr_up - d.arr_after;
            }
            RenewalOutcome::Churned => {
                r.churned += 1;
                r.arr_churned += d.arr_up;
            }
        }
    }
    if r.arr_up > 0.0 {
        r.gross_renewal_rate = Some((r.arr_up - r.arr_churned - r.arr_contracted) / r.arr_up);
        r.net_renewal_rate = Some(r.arr_after / r.arr_up);
    }
    r
}

string_enum! {
    /// Where a renewal's risk came from.
    pub enum RiskSource {
        Call = "call",
        Model = "model",
        BandHistory = "band_history",
    }
}

/// Churn rates by health band among decided renewals, as the fallback risk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandRates {
    pub red: Option<f64>,
    pub yellow: Option<f64>,
    pub green: Option<f64>,
}

impl BandRates {
    /// From (band at decision time, churned) pairs.
    pub fn from_history(history: &[(HealthBand, bool)]) -> BandRates {
        let rate = |b: HealthBand| {
            let of: Vec<bool> = history.iter().filter(|h| h.0 == b).map(|h| h.1).collect();
            (!of.is_empty()).then(|| of.iter().filter(|c| **c).count() as f64 / of.len() as f64)
        };
        BandRates {
            red: rate(HealthBand::Red),
            yellow: rate(HealthBand::Yellow),
            green: rate(HealthBand::Green),
        }
    }

    pub fn get(&self, band: HealthBand) -> Option<f64> {
        match band {
            HealthBand::Red => self.red,
            HealthBand::Yellow => self.yellow,
            HealthBand::Green => self.green,
        }
    }
}

/// The risk of an open renewal and where it came from.
pub fn risk(
    call: Option<RenewalCall>,
    model: Option<f64>,
    band: Option<HealthBand>,
    bands: &BandRates,
) -> Option<(f64, RiskSource)> {
    match call {
        Some(RenewalCall::Lost) => return Some((1.0, RiskSource::Call)),
        Some(RenewalCall::Commit) => return Some((0.0, RiskSource::Call)),
        _ => {}
    }
    if let Some(p) = model {
        return Some((p, RiskSource::Model));
    }
    band.and_then(|b| bands.get(b))
        .map(|p| (p, RiskSource::BandHistory))
}

/// Open renewals of one month that share a call and a risk (often just one renewal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Open {
    pub month: NaiveDate,
    pub renewals: usize,
    /// Their ARR together.
    pub arr: f64,
    pub call: Option<RenewalCall>,
    pub risk: Option<f64>,
}

/// One month of the forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthForecast {
    pub month: NaiveDate,
    pub renewals: usize,
    pub arr: f64,
    /// ARR the CSMs called commit.
    pub committed_arr: f64,
    /// ARR called at risk or lost.
    pub at_risk_arr: f64,
    /// Σ ARR × (1 − risk); an unrated renewal counts at full value.
    pub expected_arr: f64,
    /// Renewals without a risk.
    pub unrated: usize,
}

/// The forecast by month, in the order the months first appear (callers pass them sorted).
pub fn forecast(open: &[Open]) -> Vec<MonthForecast> {
    let mut out: Vec<MonthForecast> = Vec::new();
    for o in open {
        let i = match out.iter().position(|m| m.month == o.month) {
            Some(i) => i,
            None => {
                out.push(MonthForecast {
                    month: o.month,
                    renewals: 0,
                    arr: 0.0,
                    committed_arr: 0.0,
                    at_risk_arr: 0.0,
                    expected_arr: 0.0,
                    unrated: 0,
                });
                out.len() - 1
            }
        };
        let m = &mut out[i];
        m.renewals += o.renewals;
        m.arr += o.arr;
        match o.call {
            Some(RenewalCall::Commit) => m.committed_arr += o.arr,
            Some(RenewalCall::AtRisk | RenewalCall::Lost) => m.at_risk_arr += o.arr,
            _ => {}
        }
        match o.risk {
            Some(p) => m.expected_arr += o.arr * (1.0 - p),
            None => {
                m.expected_arr += o.arr;
                m.unrated += o.renewals;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use RenewalOutcome::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn outcomes() {
        use SubscriptionStatus as S;
        assert_eq!(outcome(S::Active, 100.0, None), None);
        assert_eq!(outcome(S::Churned, 100.0, None), Some(Churned));
        assert_eq!(outcome(S::Renewed, 100.0, Some(120.0)), Some(Expanded));
        assert_eq!(outcome(S::Renewed, 100.0, Some(80.0)), Some(Contracted));
        assert_eq!(outcome(S::Renewed, 100.0, Some(100.0)), Some(Renewed));
        assert_eq!(outcome(S::Renewed, 100.0, None), Some(Renewed));
    }

    #[test]
    fn renewal_rates_by_hand() {
        // Up: 100 + 200 + 300 + 400 MRR = 12000 ARR. After: 100, 250, 150, 0 = 6000 ARR.
        // Churned 4800, contracted 1800, expanded 600: gross (12000 − 4800 − 1800) / 12000 = 0.45,
        // net 6000 / 12000 = 0.5.
        let decided = [
            Decided::new(100.0, Some(100.0), Renewed),
            Decided::new(200.0, Some(250.0), Expanded),
            Decided::new(300.0, Some(150.0), Contracted),
            Decided::new(400.0, None, Churned),
        ];
        let r = rates(&decided);
        assert_eq!(
            (r.decided, r.renewed, r.expanded, r.contracted, r.churned),
            (4, 1, 1, 1, 1)
        );
        assert_eq!((r.arr_up, r.arr_after), (12_000.0, 6_000.0));
        assert_eq!(
            (r.arr_churned, r.arr_contracted, r.arr_expanded),
            (4_800.0, 1_800.0, 600.0)
        );
        assert_eq!(r.gross_renewal_rate, Some(0.45));
        assert_eq!(r.net_renewal_rate, Some(0.5));
        assert_eq!(rates(&[]).gross_renewal_rate, None);
    }

    #[test]
    fn risk_follows_call_then_model_then_band() {
        let bands = BandRates::from_history(&[
            (HealthBand::Red, true),
            (HealthBand::Red, false),
            (HealthBand::Green, false),
        ]);
        assert_eq!(bands.red, Some(0.5));
        assert_eq!(bands.yellow, None);
        use RenewalCall::*;
        assert_eq!(
            risk(Some(Lost), Some(0.1), None, &bands),
            Some((1.0, RiskSource::Call))
        );
        assert_eq!(
            risk(Some(Commit), Some(0.9), None, &bands),
            Some((0.0, RiskSource::Call))
        );
        assert_eq!(
            risk(Some(Likely), Some(0.3), None, &bands),
            Some((0.3, RiskSource::Model))
        );
        assert_eq!(
            risk(None, None, Some(HealthBand::Red), &bands),
            Some((0.5, RiskSource::BandHistory))
        );
        assert_eq!(risk(None, None, Some(HealthBand::Yellow), &bands), None);
    }

    #[test]
    fn forecast_by_hand() {
        let jan = d("2027-01-01");
        let feb = d("2027-02-01");
        let f = forecast(&[
            Open {
                month: jan,
                renewals: 1,
                arr: 1000.0,
                call: Some(RenewalCall::Commit),
                risk: Some(0.0),
            },
            Open {
                month: jan,
                renewals: 1,
                arr: 2000.0,
                call: Some(RenewalCall::AtRisk),
                risk: Some(0.6),
            },
            Open {
                month: feb,
                renewals: 3,
                arr: 500.0,
                call: None,
                risk: None,
            },
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (
                f[0].renewals,
                f[0].arr,
                f[0].committed_arr,
                f[0].at_risk_arr
            ),
            (2, 3000.0, 1000.0, 2000.0)
        );
        // 1000 × 1 + 2000 × 0.4 = 1800.
        assert!((f[0].expected_arr - 1800.0).abs() < 1e-9);
        assert_eq!(
            (f[1].renewals, f[1].expected_arr, f[1].unrated),
            (3, 500.0, 3)
        );
    }
}
