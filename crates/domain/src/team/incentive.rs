//! The incentive plan calculator: a CSM's bonus for a period from three components.
//!
//! - **Renewal**: actual = renewed ARR / ARR up for renewal among the CSM's accounts' renewals
//!   decided in the period (renewed ARR counts each renewal at most at its old ARR, so an upsell
//!   is not counted twice); attainment = actual / target renewal rate.
//! - **Expansion**: actual = net new MRR from existing customers (expansion − contraction − churn
//!   of the CSM's accounts in the period, as on the dashboard); attainment = actual / target.
//! - **NPS**: actual = NPS of the answers from the CSM's accounts in the period;
//!   attainment = actual / target NPS.
//!
//! Each component pays `target bonus × weight × factor`, where the factor is the attainment
//! capped at the plan's cap, and 0 below the plan's floor. A component without data (nothing up
//! for renewal, no expansion target, no NPS answer) is left out and its weight shared among the
//! others, as a scorecard does with a measure without a value.
//!
//! Two rules keep upsell from being rewarded at the customer's expense: the **NPS gate** pays the
//! expansion component only when the CSM's NPS in the period is at or above the gate (no answers:
//! the gate is not met), and the **NPS fall multiplier** scales the whole bonus down when the
//! NPS is lower than in the period of the same length just before.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::insight::dashboard::Period;
use crate::money::Currency;
use crate::string_enum;
use crate::text;

/// The formula in words, as the API and the page show it.
pub const FORMULA_EN: &str = "payout = target bonus × Σ(weight share × factor) × multiplier. \
Renewal attainment = (renewed ARR / ARR up for renewal) / target rate; expansion attainment = net new MRR \
(expansion − contraction − churn) / target; NPS attainment = NPS / target NPS. factor = attainment capped at the cap, \
0 below the floor. The expansion component is paid only when the NPS is at or above the gate; the multiplier \
applies when the NPS fell against the previous period. A component without data is left out and its weight shared.";
pub const FORMULA_JA: &str = "支給額 = 目標賞与 × Σ(重みの比率 × 係数) × 乗数。更新の達成率 = (更新されたARR / 更新対象ARR) / 目標率、\
拡大の達成率 = 既存顧客の純増MRR(拡大 − 縮小 − 解約) / 目標、NPSの達成率 = NPS / 目標NPS。係数は達成率を上限で抑え、下限未満は0。\
拡大分はNPSがゲート以上のときだけ支給し、NPSが前の期間より下がったときは乗数をかける。データのない要素は除き、その重みを他に配分する。";

string_enum! {
    /// The parts of a bonus.
    pub enum Component {
        Renewal = "renewal",
        Expansion = "expansion",
        Nps = "nps",
    }
}

/// How a plan turns attainment into pay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRules {
    pub renewal_weight: f64,
    pub expansion_weight: f64,
    pub nps_weight: f64,
    /// A component whose attainment is below this pays nothing (e.g. 0.5).
    pub attainment_floor: f64,
    /// Attainment is paid up to this (e.g. 1.5).
    pub attainment_cap: f64,
    /// The expansion component is paid only when the NPS is at or above this.
    pub nps_gate: Option<f64>,
    /// When the NPS fell against the previous period, the bonus is multiplied by this (e.g. 0.8).
    pub nps_fall_multiplier: Option<f64>,
}

/// One CSM's targets for the period, the plan's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Targets {
    /// The bonus at 100 % attainment of every component.
    pub target_bonus: f64,
    /// Renewed ARR / ARR up for renewal, e.g. 0.9.
    pub renewal_rate: f64,
    /// Net new MRR from existing customers over the period; without one the expansion
    /// component is left out.
    pub nnmrr: Option<f64>,
    /// Target NPS (above 0).
    pub nps: f64,
}

/// What the CSM's accounts did in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actuals {
    /// ARR of the renewals decided in the period.
    pub renewing_arr: f64,
    /// Of it, what was kept (each renewal at most at its old ARR).
    pub renewed_arr: f64,
    pub renewals: i64,
    pub expansion_mrr: f64,
    pub contraction_mrr: f64,
    pub churned_mrr: f64,
    /// NPS of the answers in the period, and how many answers.
    pub nps: Option<f64>,
    pub nps_responses: i64,
    /// NPS in the period of the same length just before.
    pub previous_nps: Option<f64>,
}

impl Actuals {
    /// Net new MRR from existing customers: expansion − contraction − churn.
    pub fn nnmrr(&self) -> f64 {
        self.expansion_mrr - self.contraction_mrr - self.churned_mrr
    }

    pub fn renewal_rate(&self) -> Option<f64> {
        (self.renewing_arr > 0.0).then(|| self.renewed_arr / self.renewing_arr)
    }

    /// Whether the NPS is lower than in the period before (both known).
    pub fn nps_fell(&self) -> bool {
        matches!((self.nps, self.previous_nps), (Some(n), Some(p)) if n < p)
    }
}

/// One component of a CSM's bonus.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentPay {
    pub component: Component,
    /// The plan's weight.
    pub weight: f64,
    /// Its share once components without data are left out (0 for those).
    pub effective_weight: f64,
    pub actual: Option<f64>,
    pub target: Option<f64>,
    /// actual / target; `None` when the component has no data.
    pub attainment: Option<f64>,
    /// What is paid of the component's share: attainment capped, 0 below the floor or gated.
    pub factor: f64,
    /// Not paid because the NPS gate was not met.
    pub gated: bool,
    pub payout: f64,
}

/// A CSM's bonus for the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payout {
    pub components: Vec<ComponentPay>,
    /// The components' sum before the NPS fall multiplier.
    pub subtotal: f64,
    pub nps_fell: bool,
    /// 1, or the plan's NPS fall multiplier when the NPS fell.
    pub multiplier: f64,
    pub total: f64,
    /// total / target bonus.
    pub share_of_target: Option<f64>,
}

/// Computes a CSM's bonus (see the module's documentation for the formula).
pub fn compute(rules: &PlanRules, targets: &Targets, a: &Actuals) -> Payout {
    let renewal = a.renewal_rate();
    let nnmrr = a.nnmrr();
    let parts = [
        (
            Component::Renewal,
            rules.renewal_weight,
            renewal,
            Some(targets.renewal_rate),
        ),
        (
            Component::Expansion,
            rules.expansion_weight,
            targets.nnmrr.map(|_| nnmrr),
            targets.nnmrr,
        ),
        (Component::Nps, rules.nps_weight, a.nps, Some(targets.nps)),
    ];
    let attainment = |actual: Option<f64>, target: Option<f64>| match (actual, target) {
        (Some(x), Some(t)) if t > 0.0 => Some(x / t),
        _ => None,
    };
    let weight_with_data: f64 = parts
        .iter()
        .filter(|(_, _, actual, target)| attainment(*actual, *target).is_some())
        .map(|(_, w, _, _)| *w)
        .sum();
    let gate_met = match rules.nps_gate {
        None => true,
        Some(g) => a.nps.is_some_and(|n| n >= g),
    };
    let components: Vec<ComponentPay> = parts
        .iter()
        .map(|(component, weight, actual, target)| {
            let att = attainment(*actual, *target);
            let effective_weight = match att {
                Some(_) if weight_with_data > 0.0 => weight / weight_with_data,
                _ => 0.0,
            };
            let gated = *component == Component::Expansion && att.is_some() && !gate_met;
            let factor = match att {
                Some(x) if !gated && x >= rules.attainment_floor && x > 0.0 => {
                    x.min(rules.attainment_cap)
                }
                _ => 0.0,
            };
            ComponentPay {
                component: *component,
                weight: *weight,
                effective_weight,
                actual: *actual,
                target: *target,
                attainment: att,
                factor,
                gated,
                payout: targets.target_bonus * effective_weight * factor,
            }
        })
        .collect();
    let subtotal: f64 = components.iter().map(|c| c.payout).sum();
    let nps_fell = a.nps_fell();
    let multiplier = match rules.nps_fall_multiplier {
        Some(m) if nps_fell => m,
        _ => 1.0,
    };
    let total = subtotal * multiplier;
    Payout {
        components,
        subtotal,
        nps_fell,
        multiplier,
        total,
        share_of_target: (targets.target_bonus > 0.0).then(|| total / targets.target_bonus),
    }
}

/// A plan as a caller sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanDraft {
    pub name: Option<String>,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// ISO 4217 code of the bonus amounts (default JPY).
    pub currency: Option<String>,
    /// The bonus at 100 % attainment, unless a CSM's target says otherwise.
    pub target_bonus: Option<f64>,
    pub renewal_weight: Option<f64>,
    pub expansion_weight: Option<f64>,
    pub nps_weight: Option<f64>,
    /// Default 0.5.
    pub attainment_floor: Option<f64>,
    /// Default 1.5.
    pub attainment_cap: Option<f64>,
    /// −100 to 100; absent: no gate.
    pub nps_gate: Option<f64>,
    /// Above 0 and at most 1; absent: no multiplier.
    pub nps_fall_multiplier: Option<f64>,
    /// Defaults for CSMs without a target of their own: renewal rate (default 0.9), net new MRR
    /// (absent: the expansion component needs a per-CSM target), NPS (default 30).
    pub renewal_rate_target: Option<f64>,
    pub nnmrr_target: Option<f64>,
    pub nps_target: Option<f64>,
}

/// A valid plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    pub name: String,
    pub period: Period,
    pub currency: Currency,
    pub target_bonus: f64,
    pub rules: PlanRules,
    pub renewal_rate_target: f64,
    pub nnmrr_target: Option<f64>,
    pub nps_target: f64,
}

fn number(c: &mut Collector, field: &str, v: Option<f64>, ok: impl Fn(f64) -> bool, rule: &str) {
    if let Some(x) = v {
        if !x.is_finite() || !ok(x) {
            c.add(field, rule.to_string());
        }
    }
}

impl PlanDraft {
    pub fn parse(self) -> Result<NewPlan, ValidationError> {
        let mut c = Collector::new();
        let name = c.check("name", text::required(self.name.as_deref(), 200));
        match (self.period_from, self.period_to) {
            (None, _) => c.add("period_from", "is required"),
            (_, None) => c.add("period_to", "is required"),
            (Some(f), Some(t)) if f > t => c.add("period_to", "must not be before period_from"),
            (Some(f), Some(t)) if (t - f).num_days() > 731 => {
                c.add("period_to", "a plan covers at most two years")
            }
            _ => {}
        }
        let currency = c.check(
            "currency",
            Currency::parse(self.currency.as_deref().unwrap_or("JPY")),
        );
        let target_bonus = self.target_bonus.unwrap_or(0.0);
        number(
            &mut c,
            "target_bonus",
            Some(target_bonus),
            |x| x >= 0.0,
            "must be 0 or more",
        );
        let (rw, ew, nw) = (
            self.renewal_weight.unwrap_or(0.5),
            self.expansion_weight.unwrap_or(0.3),
            self.nps_weight.unwrap_or(0.2),
        );
        for (f, w) in [
            ("renewal_weight", rw),
            ("expansion_weight", ew),
            ("nps_weight", nw),
        ] {
            number(&mut c, f, Some(w), |x| x >= 0.0, "must be 0 or more");
        }
        if rw >= 0.0 && ew >= 0.0 && nw >= 0.0 && rw + ew + nw <= 0.0 {
            c.add("renewal_weight", "the weights must not all be 0");
        }
        let floor = self.attainment_floor.unwrap_or(0.5);
        let cap = self.attainment_cap.unwrap_or(1.5);
        number(
            &mut c,
            "attainment_floor",
            Some(floor),
            |x| (0.0..1.0).contains(&x),
            "must be at least 0 and below 1",
        );
        number(
            &mut c,
            "attainment_cap",
            Some(cap),
            |x| (1.0..=5.0).contains(&x),
            "must be between 1 and 5",
        );
        number(
            &mut c,
            "nps_gate",
            self.nps_gate,
            |x| (-100.0..=100.0).contains(&x),
            "must be between -100 and 100",
        );
        number(
            &mut c,
            "nps_fall_multiplier",
            self.nps_fall_multiplier,
            |x| x > 0.0 && x <= 1.0,
            "must be above 0 and at most 1",
        );
        let renewal_rate_target = self.renewal_rate_target.unwrap_or(0.9);
        number(
            &mut c,
            "renewal_rate_target",
            Some(renewal_rate_target),
            |x| x > 0.0 && x <= 2.0,
            "must be above 0 and at most 2",
        );
        number(
            &mut c,
            "nnmrr_target",
            self.nnmrr_target,
            |x| x > 0.0,
            "must be above 0",
        );
        let nps_target = self.nps_target.unwrap_or(30.0);
        number(
            &mut c,
            "nps_target",
            Some(nps_target),
            |x| x > 0.0 && x <= 100.0,
            "must be above 0 and at most 100",
        );
        c.finish()?;
        Ok(NewPlan {
            name: name.unwrap_or_default(),
            period: Period {
                from: self.period_from.unwrap_or_default(),
                to: self.period_to.unwrap_or_default(),
            },
            currency: currency.unwrap_or(Currency::JPY),
            target_bonus,
            rules: PlanRules {
                renewal_weight: rw,
                expansion_weight: ew,
                nps_weight: nw,
                attainment_floor: floor,
                attainment_cap: cap,
                nps_gate: self.nps_gate,
                nps_fall_multiplier: self.nps_fall_multiplier,
            },
            renewal_rate_target,
            nnmrr_target: self.nnmrr_target,
            nps_target,
        })
    }
}

/// One CSM's targets as a caller sends them; what is absent comes from the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetDraft {
    pub target_bonus: Option<f64>,
    pub renewal_rate: Option<f64>,
    pub nnmrr: Option<f64>,
    pub nps: Option<f64>,
}

impl TargetDraft {
    pub fn check(&self) -> Result<(), ValidationError> {
        let mut c = Collector::new();
        number(
            &mut c,
            "target_bonus",
            self.target_bonus,
            |x| x >= 0.0,
            "must be 0 or more",
        );
        number(
            &mut c,
            "renewal_rate",
            self.renewal_rate,
            |x| x > 0.0 && x <= 2.0,
            "must be above 0 and at most 2",
        );
        number(&mut c, "nnmrr", self.nnmrr, |x| x > 0.0, "must be above 0");
        number(
            &mut c,
            "nps",
            self.nps,
            |x| x > 0.0 && x <= 100.0,
            "must be above 0 and at most 100",
        );
        c.finish()
    }

    /// The targets in force: this draft's, else the plan's.
    pub fn resolve(&self, plan: &NewPlan) -> Targets {
        Targets {
            target_bonus: self.target_bonus.unwrap_or(plan.target_bonus),
            renewal_rate: self.renewal_rate.unwrap_or(plan.renewal_rate_target),
            nnmrr: self.nnmrr.or(plan.nnmrr_target),
            nps: self.nps.unwrap_or(plan.nps_target),
        }
    }
}

/// Reads a period: `2026` (the year), `2026-Q2` (a quarter), `2026-05` (a month) or
/// `2026-04-01..2026-06-30` (two days, both included).
pub fn parse_period(raw: &str) -> Result<Period, String> {
    let s = raw.trim();
    let bad =
        || format!("`{s}` is not a period (2026, 2026-Q2, 2026-05 or 2026-04-01..2026-06-30)");
    let day = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad);
    let months = |from: NaiveDate, n: u32| -> Result<Period, String> {
        let next = from.checked_add_months(Months::new(n)).ok_or_else(bad)?;
        Ok(Period {
            from,
            to: next.pred_opt().ok_or_else(bad)?,
        })
    };
    if let Some((a, b)) = s.split_once("..") {
        let from: NaiveDate = a.trim().parse().map_err(|_| bad())?;
        let to: NaiveDate = b.trim().parse().map_err(|_| bad())?;
        if from > to {
            return Err(format!("`{s}`: the first day is after the last"));
        }
        return Ok(Period { from, to });
    }
    let year = |y: &str| -> Result<i32, String> {
        if y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()) {
            y.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    match s.split_once('-') {
        None => months(day(year(s)?, 1)?, 12),
        Some((y, rest)) => {
            let y = year(y)?;
            if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
                let q: u32 = q.parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                months(day(y, 3 * q - 2)?, 3)
            } else if rest.len() == 2 {
                let m: u32 = rest.parse().map_err(|_| bad())?;
                months(day(y, m)?, 1)
            } else {
                Err(bad())
            }
        }
    }
}

/// The period just before `p` (to compare NPS with): as many calendar months when `p` is whole
/// months (the quarter before a quarter), else as many days.
pub fn previous_period(p: Period) -> Period {
    let whole_months = p.from.day() == 1 && p.to.succ_opt().is_some_and(|n| n.day() == 1);
    if whole_months {
        let months =
            (p.to.year() - p.from.year()) * 12 + p.to.month() as i32 - p.from.month() as i32 + 1;
        if let Some(from) = p.from.checked_sub_months(Months::new(months as u32)) {
            return Period {
                from,
                to: p.from.pred_opt().unwrap_or(p.from),
            };
        }
    }
    let to = p.from.pred_opt().unwrap_or(p.from);
    let from = to - chrono::Days::new((p.days() - 1).max(0) as u64);
    Period { from, to }
}

/// The quarter containing `day`.
pub fn quarter_of(day: NaiveDate) -> Period {
    let q = (day.month0() / 3) * 3 + 1;
    let from = NaiveDate::from_ymd_opt(day.year(), q, 1).unwrap_or(day);
    let to = from
        .checked_add_months(Months::new(3))
        .and_then(|d| d.pred_opt())
        .unwrap_or(day);
    Period { from, to }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} != {b}");
    }

    const RULES: PlanRules = PlanRules {
        renewal_weight: 0.5,
        expansion_weight: 0.3,
        nps_weight: 0.2,
        attainment_floor: 0.5,
        attainment_cap: 1.5,
        nps_gate: Some(30.0),
        nps_fall_multiplier: Some(0.8),
    };

    const TARGETS: Targets = Targets {
        target_bonus: 1_000_000.0,
        renewal_rate: 0.9,
        nnmrr: Some(100_000.0),
        nps: 40.0,
    };

    /// Renewed 11.4M of 12M ARR (95 %), net new MRR 200k − 20k − 30k = 150k.
    fn revenue(nps: Option<f64>, previous: Option<f64>) -> Actuals {
        Actuals {
            renewing_arr: 12_000_000.0,
            renewed_arr: 11_400_000.0,
            renewals: 6,
            expansion_mrr: 200_000.0,
            contraction_mrr: 20_000.0,
            churned_mrr: 30_000.0,
            nps,
            nps_responses: if nps.is_some() { 10 } else { 0 },
            previous_nps: previous,
        }
    }

    #[test]
    fn steady_nps_pays_every_component_by_hand() {
        let p = compute(&RULES, &TARGETS, &revenue(Some(50.0), Some(45.0)));
        // Renewal: 0.95 / 0.9 = 1.0556 → 1,000,000 × 0.5 × 1.0556 = 527,777.78.
        close(p.components[0].attainment.unwrap(), 0.95 / 0.9);
        close(p.components[0].payout, 500_000.0 * 0.95 / 0.9);
        // Expansion: 150,000 / 100,000 = 1.5, at the cap → 1,000,000 × 0.3 × 1.5 = 450,000.
        close(p.components[1].actual.unwrap(), 150_000.0);
        close(p.components[1].payout, 450_000.0);
        assert!(!p.components[1].gated);
        // NPS: 50 / 40 = 1.25 → 1,000,000 × 0.2 × 1.25 = 250,000.
        close(p.components[2].payout, 250_000.0);
        assert!(!p.nps_fell);
        close(p.multiplier, 1.0);
        close(p.total, 527_777.777_777 + 450_000.0 + 250_000.0);
        close(p.share_of_target.unwrap(), 1.227_777_777_7);
    }

    #[test]
    fn upsell_with_falling_nps_earns_less() {
        let steady = compute(&RULES, &TARGETS, &revenue(Some(50.0), Some(45.0)));
        let falling = compute(&RULES, &TARGETS, &revenue(Some(20.0), Some(45.0)));
        // NPS 20 is under the gate of 30: the expansion component is not paid.
        assert!(falling.components[1].gated);
        close(falling.components[1].payout, 0.0);
        // NPS: 20 / 40 = 0.5, just at the floor → 1,000,000 × 0.2 × 0.5 = 100,000.
        close(falling.components[2].payout, 100_000.0);
        // And it fell from 45: (527,777.78 + 0 + 100,000) × 0.8 = 502,222.22.
        assert!(falling.nps_fell);
        close(falling.total, (500_000.0 * 0.95 / 0.9 + 100_000.0) * 0.8);
        assert!(falling.total < steady.total);
        // Even twice the upsell does not make up for it.
        let mut bigger = revenue(Some(20.0), Some(45.0));
        bigger.expansion_mrr = 400_000.0;
        let bigger = compute(&RULES, &TARGETS, &bigger);
        close(bigger.total, falling.total);
        assert!(bigger.total < steady.total);
    }

    #[test]
    fn fall_multiplier_alone_reduces_the_bonus() {
        let rules = PlanRules {
            nps_gate: None,
            ..RULES
        };
        // NPS 42 (above the gate that is no longer there) but down from 60.
        let p = compute(&rules, &TARGETS, &revenue(Some(42.0), Some(60.0)));
        let renewal = 500_000.0 * 0.95 / 0.9;
        let nps = 200_000.0 * 42.0 / 40.0;
        close(p.subtotal, renewal + 450_000.0 + nps);
        close(p.total, (renewal + 450_000.0 + nps) * 0.8);
    }

    #[test]
    fn floor_cap_and_missing_data() {
        // Nothing up for renewal: its weight is shared (expansion 0.3 / 0.5, NPS 0.2 / 0.5).
        let mut a = revenue(Some(40.0), None);
        a.renewing_arr = 0.0;
        a.renewed_arr = 0.0;
        a.expansion_mrr = 150_000.0; // nnmrr 100,000: attainment 1
        let p = compute(&RULES, &TARGETS, &a);
        assert_eq!(p.components[0].attainment, None);
        close(p.components[0].effective_weight, 0.0);
        close(p.components[1].effective_weight, 0.6);
        close(p.components[1].payout, 600_000.0);
        close(p.components[2].payout, 400_000.0);
        close(p.total, 1_000_000.0);
        // Below the floor pays nothing: renewal 0.4 / 0.9 = 0.44 < 0.5; net new MRR negative.
        let mut low = revenue(Some(40.0), Some(40.0));
        low.renewed_arr = 0.4 * low.renewing_arr;
        low.expansion_mrr = 0.0;
        let p = compute(&RULES, &TARGETS, &low);
        close(p.components[0].factor, 0.0);
        close(p.components[1].factor, 0.0);
        close(p.total, 200_000.0);
        // No NPS answers: the NPS component is left out and the gate is not met.
        let p = compute(&RULES, &TARGETS, &revenue(None, Some(45.0)));
        assert_eq!(p.components[2].attainment, None);
        assert!(p.components[1].gated);
        assert!(!p.nps_fell);
        close(p.components[0].effective_weight, 0.5 / 0.8);
        close(p.total, 1_000_000.0 * 0.625 * 0.95 / 0.9);
        // No expansion target: the component is left out, not gated.
        let t = Targets {
            nnmrr: None,
            ..TARGETS
        };
        let p = compute(&RULES, &t, &revenue(Some(10.0), None));
        assert!(!p.components[1].gated);
        assert_eq!(p.components[1].attainment, None);
    }

    #[test]
    fn plans_are_checked_field_by_field() {
        let err = PlanDraft {
            name: Some("".into()),
            period_from: Some(d("2026-04-01")),
            period_to: Some(d("2026-03-31")),
            currency: Some("XXX".into()),
            target_bonus: Some(-1.0),
            attainment_floor: Some(1.2),
            nps_gate: Some(150.0),
            nps_fall_multiplier: Some(0.0),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "period_to",
                "currency",
                "target_bonus",
                "attainment_floor",
                "nps_gate",
                "nps_fall_multiplier"
            ]
        );
        let plan = PlanDraft {
            name: Some("FY26 Q2".into()),
            period_from: Some(d("2026-04-01")),
            period_to: Some(d("2026-06-30")),
            target_bonus: Some(500_000.0),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(plan.rules.attainment_cap, 1.5);
        let t = TargetDraft {
            nnmrr: Some(80_000.0),
            ..Default::default()
        }
        .resolve(&plan);
        assert_eq!(
            t,
            Targets {
                target_bonus: 500_000.0,
                renewal_rate: 0.9,
                nnmrr: Some(80_000.0),
                nps: 30.0
            }
        );
        let bad = TargetDraft {
            renewal_rate: Some(0.0),
            nps: Some(101.0),
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(bad.errors[0].field, "renewal_rate");
        assert_eq!(bad.errors[1].field, "nps");
    }

    #[test]
    fn periods_are_read_from_labels() {
        let check = |s: &str, from: &str, to: &str| {
            assert_eq!(
                parse_period(s).unwrap(),
                Period {
                    from: d(from),
                    to: d(to)
                },
                "{s}"
            )
        };
        check("2026", "2026-01-01", "2026-12-31");
        check("2026-Q1", "2026-01-01", "2026-03-31");
        check("2026-q4", "2026-10-01", "2026-12-31");
        check("2024-02", "2024-02-01", "2024-02-29");
        check("2026-04-10..2026-05-09", "2026-04-10", "2026-05-09");
        for bad in [
            "",
            "26",
            "2026-Q5",
            "2026-13",
            "2026-05-01..2026-04-01",
            "soon",
        ] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
        let q = parse_period("2026-Q2").unwrap();
        assert_eq!(
            previous_period(q),
            Period {
                from: d("2026-01-01"),
                to: d("2026-03-31")
            }
        );
        assert_eq!(quarter_of(d("2026-05-17")), q);
        // Not whole months: the same number of days.
        assert_eq!(
            previous_period(parse_period("2026-04-10..2026-04-19").unwrap()),
            Period {
                from: d("2026-03-31"),
                to: d("2026-04-09")
            }
        );
    }
}
