//! Churn drivers: churned and renewed accounts compared on each indicator as it stood a lead time
//! before their renewal date, ranked by how well the indicator alone separates them.
//!
//! For each indicator, the AUC is the probability that a churned account's value is above a
//! renewed one's (Mann–Whitney, ties half). 0.5 separates nothing; far from 0.5 either way
//! separates well, so indicators are ranked by `separation` = max(AUC, 1 − AUC), then by the size
//! of Cohen's d. Accounts without a value for an indicator are left out of that indicator only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::stats::{self, Histogram, Summary};
use crate::indicator::IndicatorRef;
use crate::scorecard::{ScorecardDef, StepOp, MANUAL};
use crate::string_enum;

/// Fewer than this many accounts in either group and a driver is flagged as not reliable.
pub const MIN_GROUP: usize = 10;

/// One decided renewal as the analysis sees it: the outcome and the figures at the lead time.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub churned: bool,
    /// Indicator name → value; a missing value is absent.
    pub values: BTreeMap<String, f64>,
    /// The health score at the lead time under the scorecard in force today.
    pub score: Option<f64>,
}

string_enum! {
    /// Which way an indicator points at churn.
    pub enum Direction {
        HigherMeansChurn = "higher_means_churn",
        LowerMeansChurn = "lower_means_churn",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Driver {
    pub indicator: String,
    /// P(churned value > renewed value).
    pub auc: f64,
    /// max(AUC, 1 − AUC): 0.5 separates nothing, 1 perfectly.
    pub separation: f64,
    pub direction: Direction,
    /// Cohen's d, churned minus renewed.
    pub effect_size: Option<f64>,
    pub churned: Summary,
    pub renewed: Summary,
    /// Accounts without a value, per group.
    pub missing_churned: usize,
    pub missing_renewed: usize,
    /// Both groups have at least [`MIN_GROUP`] values.
    pub reliable: bool,
    /// `positives` are the churned accounts, `negatives` the renewed ones.
    pub histogram: Option<Histogram>,
}

/// One indicator compared; `None` when a group has no value at all.
pub fn driver(name: &str, obs: &[Observation]) -> Option<Driver> {
    let mut churned = Vec::new();
    let mut renewed = Vec::new();
    let (mut missing_c, mut missing_r) = (0, 0);
    for o in obs {
        match (o.values.get(name), o.churned) {
            (Some(v), true) => churned.push(*v),
            (Some(v), false) => renewed.push(*v),
            (None, true) => missing_c += 1,
            (None, false) => missing_r += 1,
        }
    }
    let auc = stats::auc(&churned, &renewed)?;
    Some(Driver {
        indicator: name.to_string(),
        auc,
        separation: auc.max(1.0 - auc),
        direction: if auc >= 0.5 {
            Direction::HigherMeansChurn
        } else {
            Direction::LowerMeansChurn
        },
        effect_size: stats::cohens_d(&churned, &renewed),
        reliable: churned.len() >= MIN_GROUP && renewed.len() >= MIN_GROUP,
        histogram: stats::histogram(&churned, &renewed, 12),
        churned: stats::summary(&churned),
        renewed: stats::summary(&renewed),
        missing_churned: missing_c,
        missing_renewed: missing_r,
    })
}

/// Every indicator compared, best separation first.
pub fn rank(names: &[String], obs: &[Observation]) -> Vec<Driver> {
    let mut out: Vec<Driver> = names.iter().filter_map(|n| driver(n, obs)).collect();
    out.sort_by(|a, b| {
        b.separation.total_cmp(&a.separation).then_with(|| {
            let d = |x: &Driver| x.effect_size.map_or(0.0, f64::abs);
            d(b).total_cmp(&d(a))
        })
    });
    out
}

/// How well the health score at the lead time predicted the outcome: P(a renewed account scored
/// above a churned one). 1 is a perfect score, 0.5 a coin.
pub fn score_auc(obs: &[Observation]) -> Option<f64> {
    let churned: Vec<f64> = obs
        .iter()
        .filter(|o| o.churned)
        .filter_map(|o| o.score)
        .collect();
    let renewed: Vec<f64> = obs
        .iter()
        .filter(|o| !o.churned)
        .filter_map(|o| o.score)
        .collect();
    stats::auc(&renewed, &churned)
}

/// A churn analysis of decided renewals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analysis {
    /// Decided renewals with indicators at the lead time.
    pub renewals: usize,
    pub churned: usize,
    pub renewed: usize,
    /// Decided renewals whose account had no data on the lead day (left out).
    pub without_data: usize,
    /// P(a renewed account scored higher than a churned one) at the lead time.
    pub health_score_auc: Option<f64>,
    pub drivers: Vec<Driver>,
}

/// Compares churned and renewed renewals on every indicator they carry: each row is (churned,
/// indicators at the lead time, score at the lead time). Days to renewal is left out: every
/// renewal is read the same number of days before its date, so it says nothing.
pub fn analyse<'a>(
    rows: impl IntoIterator<Item = (bool, Option<&'a crate::indicator::Indicators>, Option<f64>)>,
) -> Analysis {
    use crate::indicator::{Indicator, IndicatorRef};
    let mut without_data = 0;
    let mut obs = Vec::new();
    for (churned, ind, score) in rows {
        let Some(ind) = ind else {
            without_data += 1;
            continue;
        };
        let mut values = BTreeMap::new();
        for i in Indicator::ALL {
            if *i == Indicator::DaysToRenewal {
                continue;
            }
            if let Some(v) = ind.get(&IndicatorRef::Builtin(*i)) {
                values.insert(i.as_str().to_string(), v);
            }
        }
        for (k, v) in &ind.metrics {
            values.insert(format!("{}{k}", IndicatorRef::METRIC_PREFIX), *v);
        }
        obs.push(Observation {
            churned,
            values,
            score,
        });
    }
    let names: Vec<String> = obs
        .iter()
        .flat_map(|o| o.values.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let churned = obs.iter().filter(|o| o.churned).count();
    Analysis {
        renewals: obs.len(),
        churned,
        renewed: obs.len() - churned,
        without_data,
        health_score_auc: score_auc(&obs),
        drivers: rank(&names, &obs),
    }
}

/// A measure's weight, before and after a suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightChange {
    pub group: String,
    pub measure: String,
    pub indicator: String,
    pub weight_before: f64,
    pub weight_after: f64,
    /// The driver's separation, when the indicator was analysed.
    pub separation: Option<f64>,
    pub reason: String,
}

/// Whether a measure scores higher raw values higher (`Some(true)`), lower (`Some(false)`), or
/// cannot say.
fn higher_is_healthier(m: &crate::scorecard::MeasureDef) -> Option<bool> {
    if let Some(l) = m.linear {
        return Some(l.to > l.from);
    }
    m.thresholds.first().map(|s| s.op == StepOp::Gte)
}

/// Suggests measure weights from the drivers. Each analysed measure gets 10 × (2 × separation −
/// 1), the Gini coefficient scaled to 0–10 with one decimal. It gets 0 when the data point the
/// other way from the measure's mapping (a higher value scored healthier, yet it goes with
/// churn) or when the driver is not reliable. Manual and unanalysed measures and the group
/// weights stay; a group whose measures would all get 0 keeps its weights.
pub fn suggest_weights(
    def: &ScorecardDef,
    drivers: &[Driver],
) -> (ScorecardDef, Vec<WeightChange>) {
    let by_name: BTreeMap<&str, &Driver> =
        drivers.iter().map(|d| (d.indicator.as_str(), d)).collect();
    let mut out = def.clone();
    let mut changes = Vec::new();
    for g in &mut out.groups {
        let mut proposed = Vec::with_capacity(g.measures.len());
        let mut group_changes = Vec::new();
        for m in &g.measures {
            let driver = (m.indicator != MANUAL)
                .then(|| IndicatorRef::parse(&m.indicator).ok())
                .flatten()
                .and_then(|r| by_name.get(r.name().as_str()).copied());
            let (weight, reason) = match driver {
                None => (m.weight, "not analysed: weight kept".to_string()),
                Some(d) if !d.reliable => (
                    0.0,
                    "too few renewals with a value to judge: weight 0".to_string(),
                ),
                Some(d) => {
                    let healthier = higher_is_healthier(m);
                    let agrees = !matches!(
                        (healthier, d.direction),
                        (Some(true), Direction::HigherMeansChurn)
                            | (Some(false), Direction::LowerMeansChurn)
                    );
                    if agrees {
                        let w = ((2.0 * d.separation - 1.0) * 100.0).round() / 10.0;
                        (
                            w,
                            format!("separation {:.3} (AUC {:.3})", d.separation, d.auc),
                        )
                    } else {
                        (
                            0.0,
                            format!(
                                "the data say {} but the measure scores the other way: weight 0",
                                d.direction
                            ),
                        )
                    }
                }
            };
            proposed.push(weight);
            group_changes.push(WeightChange {
                group: g.key.clone(),
                measure: m.key.clone(),
                indicator: m.indicator.clone(),
                weight_before: m.weight,
                weight_after: weight,
                separation: driver.map(|d| d.separation),
                reason,
            });
        }
        if proposed.iter().all(|w| *w <= 0.0) {
            for c in &mut group_changes {
                c.weight_after = c.weight_before;
                c.reason = format!(
                    "{}; every measure of the group would be 0, so the group keeps its weights",
                    c.reason
                );
            }
        } else {
            for (m, w) in g.measures.iter_mut().zip(proposed) {
                m.weight = w;
            }
        }
        changes.extend(group_changes);
    }
    (out, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorecard::{default_scorecard, Scorecard};

    fn obs(churned: bool, pairs: &[(&str, f64)], score: Option<f64>) -> Observation {
        Observation {
            churned,
            values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            score,
        }
    }

    fn sample() -> Vec<Observation> {
        // Tickets: churned 3, 4, 5 vs renewed 1, 2, 3 → pairs above: 3>1,3>2,3=3(½) | 4: 3 | 5: 3
        // = 8.5 / 9. Breadth: churned 0.2, 0.3, missing vs renewed 0.5, 0.6, 0.2 → churned above:
        // 0.2=0.2 (½), 0.3>0.2 → 1.5 / 6 = 0.25.
        vec![
            obs(true, &[("open_tickets", 3.0), ("breadth", 0.2)], Some(30.0)),
            obs(true, &[("open_tickets", 4.0), ("breadth", 0.3)], Some(50.0)),
            obs(true, &[("open_tickets", 5.0)], Some(40.0)),
            obs(
                false,
                &[("open_tickets", 1.0), ("breadth", 0.5)],
                Some(80.0),
            ),
            obs(
                false,
                &[("open_tickets", 2.0), ("breadth", 0.6)],
                Some(45.0),
            ),
            obs(
                false,
                &[("open_tickets", 3.0), ("breadth", 0.2)],
                Some(70.0),
            ),
        ]
    }

    #[test]
    fn drivers_by_hand() {
        let names = vec![
            "breadth".to_string(),
            "open_tickets".to_string(),
            "nps_latest".to_string(),
        ];
        let d = rank(&names, &sample());
        assert_eq!(d.len(), 2, "no NPS values at all: left out");
        assert_eq!(d[0].indicator, "open_tickets");
        assert!((d[0].auc - 8.5 / 9.0).abs() < 1e-12);
        assert_eq!(d[0].direction, Direction::HigherMeansChurn);
        assert_eq!(d[1].indicator, "breadth");
        assert!((d[1].auc - 0.25).abs() < 1e-12);
        assert_eq!(
            (d[1].separation, d[1].direction),
            (0.75, Direction::LowerMeansChurn)
        );
        assert_eq!((d[1].missing_churned, d[1].missing_renewed), (1, 0));
        assert!(!d[0].reliable);
        // Scores: renewed 80, 45, 70 vs churned 30, 50, 40: 80 beats 3, 45 beats 2 (30, 40),
        // 70 beats 3 → 8 / 9.
        assert!((score_auc(&sample()).unwrap() - 8.0 / 9.0).abs() < 1e-12);
    }

    fn reliable(indicator: &str, auc: f64) -> Driver {
        Driver {
            indicator: indicator.into(),
            auc,
            separation: auc.max(1.0 - auc),
            direction: if auc >= 0.5 {
                Direction::HigherMeansChurn
            } else {
                Direction::LowerMeansChurn
            },
            effect_size: None,
            churned: stats::summary(&[]),
            renewed: stats::summary(&[]),
            missing_churned: 0,
            missing_renewed: 0,
            reliable: true,
            histogram: None,
        }
    }

    #[test]
    fn weights_follow_separation_and_direction() {
        let def = default_scorecard();
        let drivers = vec![
            // Lower depth goes with churn, as the measure assumes: 10 × (2 × 0.8 − 1) = 6.
            reliable("depth", 0.2),
            // More tickets go with churn; the measure scores fewer higher: agrees. 10 × 0.3 = 3.
            reliable("open_tickets", 0.65),
            // Higher breadth going with churn contradicts the measure: 0.
            reliable("breadth", 0.7),
        ];
        let (suggested, changes) = suggest_weights(&def, &drivers);
        let w = |key: &str| {
            suggested
                .groups
                .iter()
                .flat_map(|g| &g.measures)
                .find(|m| m.key == key)
                .unwrap()
                .weight
        };
        assert_eq!(w("depth"), 6.0);
        assert_eq!(w("open_tickets"), 3.0);
        assert_eq!(w("breadth"), 0.0);
        // Not analysed: kept.
        assert_eq!(w("seat_utilization"), 1.5);
        assert_eq!(w("csm_sentiment"), 1.0);
        let breadth = changes.iter().find(|c| c.measure == "breadth").unwrap();
        assert!(
            breadth.reason.contains("higher_means_churn"),
            "{}",
            breadth.reason
        );
        // The suggestion is a valid scorecard.
        Scorecard::parse(suggested).unwrap();
    }

    #[test]
    fn analyse_reads_every_indicator_but_days_to_renewal() {
        use crate::indicator::Indicators;
        let ind = |t: f64| Indicators {
            open_tickets: Some(t),
            days_to_renewal: Some(90.0),
            metrics: [("logins".to_string(), t * 2.0)].into(),
            ..Default::default()
        };
        let (a, b, c) = (ind(5.0), ind(1.0), ind(2.0));
        let rows = vec![
            (true, Some(&a), Some(20.0)),
            (false, Some(&b), Some(80.0)),
            (false, Some(&c), None),
            (true, None, None),
        ];
        let r = analyse(rows);
        assert_eq!(
            (r.renewals, r.churned, r.renewed, r.without_data),
            (3, 1, 2, 1)
        );
        let names: Vec<&str> = r.drivers.iter().map(|d| d.indicator.as_str()).collect();
        assert!(
            names.contains(&"metric:logins") && names.contains(&"open_tickets"),
            "{names:?}"
        );
        assert!(!names.contains(&"days_to_renewal"));
        assert_eq!(r.drivers[0].auc, 1.0);
        assert_eq!(r.health_score_auc, Some(1.0));
    }

    #[test]
    fn a_group_that_would_be_all_zero_keeps_its_weights() {
        let def = default_scorecard();
        // Support: tickets and NPS both point the wrong way.
        let drivers = vec![reliable("open_tickets", 0.3), reliable("nps_latest", 0.7)];
        let (suggested, changes) = suggest_weights(&def, &drivers);
        assert_eq!(suggested.groups[1], def.groups[1]);
        assert!(changes
            .iter()
            .filter(|c| c.group == "support")
            .all(|c| c.weight_after == c.weight_before));
    }
}
