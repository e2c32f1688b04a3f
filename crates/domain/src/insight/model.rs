//! Churn prediction: a logistic regression (fitted by `smartcore`) on past renewals, each described
//! by its indicators frozen at the lead time, and validated on a later period.
//!
//! Missing values are filled with the training median and every feature is standardised with
//! the training mean and deviation, so coefficients compare across features and a factor's
//! contribution to one prediction is coefficient × standardised value (in log-odds).
//!
//! Validation is time-based: renewals are ordered by renewal date, the earliest
//! [`TRAIN_SHARE`] are fitted and the rest scored (AUC, precision in the top decile, a
//! calibration table). The stored model is then refitted on every renewal, and carries the
//! validation figures of the split.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::stats;
use crate::indicator::Indicator;

/// The share of renewals (the earliest) the validation fits on.
pub const TRAIN_SHARE: f64 = 0.7;
/// L2 penalty of the fit.
pub const ALPHA: f64 = 1.0;

/// The indicators the model reads (days to renewal is left out: at the lead time it is the lead
/// time for every renewal).
pub const FEATURES: &[Indicator] = &[
    Indicator::UsageTrend,
    Indicator::ActiveUsers,
    Indicator::SeatUtilization,
    Indicator::Breadth,
    Indicator::Depth,
    Indicator::DaysSinceActivity,
    Indicator::OpenTickets,
    Indicator::NpsLatest,
    Indicator::NpsAverage,
    Indicator::DaysSinceTouchpoint,
    Indicator::ChampionActive,
    Indicator::AdoptionIndex,
];

/// One past renewal.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub renewal_date: NaiveDate,
    /// In the order of the model's feature names.
    pub values: Vec<Option<f64>>,
    pub churned: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("{0}")]
    NotEnoughData(String),
    #[error("the fit failed: {0}")]
    Fit(String),
}

/// A fitted model: everything needed to score an account again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coefficients {
    pub features: Vec<String>,
    pub medians: Vec<f64>,
    pub means: Vec<f64>,
    pub deviations: Vec<f64>,
    /// Per standardised feature, in log-odds of churn.
    pub weights: Vec<f64>,
    pub intercept: f64,
}

/// One bin of the calibration table: predicted against observed churn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalibrationBin {
    pub renewals: usize,
    pub predicted_low: f64,
    pub predicted_high: f64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// How the model did on the later period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Validation {
    pub train_renewals: usize,
    pub train_churned: usize,
    pub test_renewals: usize,
    pub test_churned: usize,
    /// Renewal dates of each side of the split.
    pub train_from: NaiveDate,
    pub train_to: NaiveDate,
    pub test_from: NaiveDate,
    pub test_to: NaiveDate,
    pub auc: Option<f64>,
    /// Churn rate among the tenth of test renewals with the highest predicted risk.
    pub precision_top_decile: Option<f64>,
    /// Churn rate over all test renewals: what precision is to beat.
    pub base_rate: f64,
    pub calibration: Vec<CalibrationBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChurnModel {
    pub coefficients: Coefficients,
    pub validation: Validation,
    pub renewals: usize,
    pub churned: usize,
}

/// One feature's push on one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Factor {
    pub feature: String,
    /// The raw value; `None` when missing (the median was used).
    pub value: Option<f64>,
    /// Log-odds added to the churn risk (positive raises it).
    pub contribution: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Coefficients {
    fn standardise(&self, values: &[Option<f64>]) -> Vec<f64> {
        values
            .iter()
            .enumerate()
            .map(|(j, v)| (v.unwrap_or(self.medians[j]) - self.means[j]) / self.deviations[j])
            .collect()
    }

    /// The churn probability and every feature's contribution, largest push towards churn first.
    pub fn predict(&self, values: &[Option<f64>]) -> (f64, Vec<Factor>) {
        let z = self.standardise(values);
        let mut factors: Vec<Factor> = z
            .iter()
            .enumerate()
            .map(|(j, zj)| Factor {
                feature: self.features[j].clone(),
                value: values.get(j).copied().flatten(),
                contribution: self.weights[j] * zj,
            })
            .collect();
        let logit = self.intercept + factors.iter().map(|f| f.contribution).sum::<f64>();
        factors.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        (sigmoid(logit), factors)
    }

    pub fn probability(&self, values: &[Option<f64>]) -> f64 {
        let z = self.standardise(values);
        sigmoid(self.intercept + z.iter().zip(&self.weights).map(|(a, b)| a * b).sum::<f64>())
    }
}

/// Fits on `samples` (any order).
pub fn fit(features: &[String], samples: &[&Sample]) -> Result<Coefficients, ModelError> {
    let churned = samples.iter().filter(|s| s.churned).count();
    if churned == 0 || churned == samples.len() {
        return Err(ModelError::NotEnoughData(
            "the renewals to fit on need both churned and renewed ones".into(),
        ));
    }
    let m = features.len();
    let mut medians = Vec::with_capacity(m);
    for j in 0..m {
        let mut v: Vec<f64> = samples.iter().filter_map(|s| s.values[j]).collect();
        v.sort_by(f64::total_cmp);
        medians.push(stats::quantile(&v, 0.5).unwrap_or(0.0));
    }
    let filled: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| (0..m).map(|j| s.values[j].unwrap_or(medians[j])).collect())
        .collect();
    let n = filled.len() as f64;
    let means: Vec<f64> = (0..m)
        .map(|j| filled.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let deviations: Vec<f64> = (0..m)
        .map(|j| {
            let var = filled
                .iter()
                .map(|r| (r[j] - means[j]).powi(2))
                .sum::<f64>()
                / n;
            if var > 0.0 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let rows: Vec<Vec<f64>> = filled
        .iter()
        .map(|r| (0..m).map(|j| (r[j] - means[j]) / deviations[j]).collect())
        .collect();
    let x = DenseMatrix::from_2d_vec(&rows).map_err(|e| ModelError::Fit(e.to_string()))?;
    let y: Vec<i32> = samples.iter().map(|s| i32::from(s.churned)).collect();
    let lr = LogisticRegression::fit(
        &x,
        &y,
        LogisticRegressionParameters::default().with_alpha(ALPHA),
    )
    .map_err(|e| ModelError::Fit(e.to_string()))?;
    let coef = lr.coefficients();
    let weights: Vec<f64> = (0..m).map(|j| *coef.get((0, j))).collect();
    let intercept = *lr.intercept().get((0, 0));
    if weights.iter().chain([&intercept]).any(|w| !w.is_finite()) {
        return Err(ModelError::Fit("the coefficients did not converge".into()));
    }
    Ok(Coefficients {
        features: features.to_vec(),
        medians,
        means,
        deviations,
        weights,
        intercept,
    })
}

/// Equal-count bins of predicted probability (up to 10, at least 5 renewals a bin).
pub fn calibration(scored: &[(f64, bool)]) -> Vec<CalibrationBin> {
    let mut s = scored.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bins = (s.len() / 5).clamp(1, 10);
    let mut out = Vec::with_capacity(bins);
    for b in 0..bins {
        let lo = b * s.len() / bins;
        let hi = (b + 1) * s.len() / bins;
        let part = &s[lo..hi];
        if part.is_empty() {
            continue;
        }
        let k = part.len() as f64;
        out.push(CalibrationBin {
            renewals: part.len(),
            predicted_low: part[0].0,
            predicted_high: part[part.len() - 1].0,
            mean_predicted: part.iter().map(|p| p.0).sum::<f64>() / k,
            observed_rate: part.iter().filter(|p| p.1).count() as f64 / k,
        });
    }
    out
}

/// Churn rate among the top tenth by predicted risk (at least one renewal).
pub fn precision_top_decile(scored: &[(f64, bool)]) -> Option<f64> {
    if scored.is_empty() {
        return None;
    }
    let mut s = scored.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let k = s.len().div_ceil(10);
    Some(s[..k].iter().filter(|p| p.1).count() as f64 / k as f64)
}

/// Validates on a time-based split, then refits on everything.
pub fn train(features: &[String], samples: &[Sample]) -> Result<ChurnModel, ModelError> {
    if samples.len() < 20 {
        return Err(ModelError::NotEnoughData(format!(
            "{} decided renewals with figures at the lead time; the model needs at least 20",
            samples.len()
        )));
    }
    let mut ordered: Vec<&Sample> = samples.iter().collect();
    ordered.sort_by_key(|s| s.renewal_date);
    let mut cut = ((ordered.len() as f64) * TRAIN_SHARE).round() as usize;
    // Renewals of one day stay on one side: the test period starts on a new day.
    while cut < ordered.len()
        && cut > 0
        && ordered[cut].renewal_date == ordered[cut - 1].renewal_date
    {
        cut += 1;
    }
    let (train_part, test_part) = ordered.split_at(cut);
    if test_part.is_empty() {
        return Err(ModelError::NotEnoughData(
            "every renewal falls on the same days; no later period is left to validate on".into(),
        ));
    }
    let fitted = fit(features, train_part)?;
    let scored: Vec<(f64, bool)> = test_part
        .iter()
        .map(|s| (fitted.probability(&s.values), s.churned))
        .collect();
    let positives: Vec<f64> = scored.iter().filter(|s| s.1).map(|s| s.0).collect();
    let negatives: Vec<f64> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    let first = |p: &[&Sample]| p.first().map(|s| s.renewal_date);
    let last = |p: &[&Sample]| p.last().map(|s| s.renewal_date);
    let validation = Validation {
        train_renewals: train_part.len(),
        train_churned: train_part.iter().filter(|s| s.churned).count(),
        test_renewals: test_part.len(),
        test_churned: positives.len(),
        train_from: first(train_part).unwrap_or_default(),
        train_to: last(train_part).unwrap_or_default(),
        test_from: first(test_part).unwrap_or_default(),
        test_to: last(test_part).unwrap_or_default(),
        auc: stats::auc(&positives, &negatives),
        precision_top_decile: precision_top_decile(&scored),
        base_rate: positives.len() as f64 / scored.len() as f64,
        calibration: calibration(&scored),
    };
    let coefficients = fit(features, &ordered)?;
    Ok(ChurnModel {
        coefficients,
        validation,
        renewals: samples.len(),
        churned: samples.iter().filter(|s| s.churned).count(),
    })
}

/// An account's values for the given features, in their order.
pub fn values_of(
    indicators: &crate::indicator::Indicators,
    features: &[String],
) -> Vec<Option<f64>> {
    features
        .iter()
        .map(|f| {
            crate::indicator::IndicatorRef::parse(f)
                .ok()
                .and_then(|r| indicators.get(&r))
        })
        .collect()
}

/// The model's feature names.
pub fn feature_names() -> Vec<String> {
    FEATURES.iter().map(|f| f.as_str().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(i: usize) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(i as u64)
    }

    /// Churn when the first feature is low, with a deterministic share of noise.
    fn samples(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let x = ((i * 37) % 100) as f64 / 100.0;
                let noise = (i * 53) % 10 == 0;
                Sample {
                    renewal_date: day(i),
                    values: vec![
                        Some(x),
                        if i % 7 == 0 {
                            None
                        } else {
                            Some(((i * 11) % 13) as f64)
                        },
                    ],
                    churned: (x < 0.3) != noise,
                }
            })
            .collect()
    }

    #[test]
    fn learns_a_signal_and_validates_on_later_renewals() {
        let names = vec!["signal".to_string(), "noise".to_string()];
        let m = train(&names, &samples(400)).unwrap();
        let v = &m.validation;
        assert_eq!((v.train_renewals, v.test_renewals), (280, 120));
        assert!(
            v.train_to < v.test_from,
            "the test period comes after the training one"
        );
        assert!(v.auc.unwrap() > 0.8, "{v:?}");
        assert!(v.precision_top_decile.unwrap() > v.base_rate);
        assert_eq!(v.calibration.iter().map(|b| b.renewals).sum::<usize>(), 120);
        // Low signal raises the risk: its coefficient is negative and dominates.
        let c = &m.coefficients;
        assert!(
            c.weights[0] < 0.0 && c.weights[0].abs() > c.weights[1].abs(),
            "{c:?}"
        );
        let (p_low, factors) = c.predict(&[Some(0.05), Some(3.0)]);
        let (p_high, _) = c.predict(&[Some(0.95), None]);
        assert!(p_low > 0.5 && p_high < 0.5, "{p_low} {p_high}");
        assert_eq!(factors[0].feature, "signal");
        assert!((c.probability(&[Some(0.05), Some(3.0)]) - p_low).abs() < 1e-12);
    }

    #[test]
    fn refuses_too_little_or_one_sided_data() {
        let names = vec!["signal".to_string(), "noise".to_string()];
        assert!(matches!(
            train(&names, &samples(10)),
            Err(ModelError::NotEnoughData(_))
        ));
        let all_renewed: Vec<Sample> = samples(50)
            .into_iter()
            .map(|s| Sample {
                churned: false,
                ..s
            })
            .collect();
        assert!(matches!(
            train(&names, &all_renewed),
            Err(ModelError::NotEnoughData(_))
        ));
    }

    #[test]
    fn calibration_and_precision_by_hand() {
        let scored: Vec<(f64, bool)> = (0..10).map(|i| (i as f64 / 10.0, i >= 8)).collect();
        let bins = calibration(&scored);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[1].renewals, bins[1].observed_rate), (5, 0.4));
        assert!((bins[1].mean_predicted - 0.7).abs() < 1e-12);
        // The top tenth of ten is the one at 0.9, churned.
        assert_eq!(precision_top_decile(&scored), Some(1.0));
    }
}
