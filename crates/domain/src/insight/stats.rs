//! The statistics the churn analysis reads: the area under the ROC curve from the Mann–Whitney U
//! statistic (ties counted half), a standardised effect size, quantiles and histograms.

use serde::{Deserialize, Serialize};

/// Ranks of `values` (1-based), ties given the mean of the ranks they span.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j hold one value: each gets the mean of ranks i+1 ..= j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// The probability that a value drawn from `positives` is above one drawn from `negatives`
/// (ties count one half): the AUC, computed as U / (n₊·n₋) from the Mann–Whitney rank sum.
/// `None` when either group is empty.
pub fn auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    let (np, nn) = (positives.len(), negatives.len());
    if np == 0 || nn == 0 {
        return None;
    }
    let all: Vec<f64> = positives.iter().chain(negatives).copied().collect();
    let ranks = average_ranks(&all);
    let rank_sum: f64 = ranks[..np].iter().sum();
    let u = rank_sum - (np * (np + 1)) as f64 / 2.0;
    Some(u / (np as f64 * nn as f64))
}

pub fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

/// Sample variance (n − 1).
fn variance(x: &[f64]) -> Option<f64> {
    let m = mean(x)?;
    (x.len() > 1).then(|| x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64)
}

/// Cohen's d: (mean₊ − mean₋) / pooled standard deviation. `None` when a group has fewer than
/// two values or both groups are constant.
pub fn cohens_d(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    let (vp, vn) = (variance(positives)?, variance(negatives)?);
    let pooled = (((np - 1.0) * vp + (nn - 1.0) * vn) / (np + nn - 2.0)).sqrt();
    if pooled == 0.0 || !pooled.is_finite() {
        return None;
    }
    Some((mean(positives)? - mean(negatives)?) / pooled)
}

/// The `q`-quantile (0 … 1) by linear interpolation between order statistics (type 7).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Five quantiles of a group, for a box plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub n: usize,
    pub mean: Option<f64>,
    pub p10: Option<f64>,
    pub p25: Option<f64>,
    pub median: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
}

pub fn summary(values: &[f64]) -> Summary {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    Summary {
        n: s.len(),
        mean: mean(&s),
        p10: quantile(&s, 0.1),
        p25: quantile(&s, 0.25),
        median: quantile(&s, 0.5),
        p75: quantile(&s, 0.75),
        p90: quantile(&s, 0.9),
    }
}

/// Counts of two groups over shared bins, for an overlaid histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Histogram {
    /// `bins + 1` edges; bin i holds values in [edges[i], edges[i+1]) (the last one closed).
    pub edges: Vec<f64>,
    pub positives: Vec<usize>,
    pub negatives: Vec<usize>,
}

/// Equal-width bins from the smallest to the largest value of both groups.
pub fn histogram(positives: &[f64], negatives: &[f64], bins: usize) -> Option<Histogram> {
    let all = positives.iter().chain(negatives);
    let lo = all.clone().copied().reduce(f64::min)?;
    let hi = all.copied().reduce(f64::max)?;
    let bins = if hi > lo { bins.max(1) } else { 1 };
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let edges = (0..=bins).map(|i| lo + width * i as f64).collect();
    let count = |xs: &[f64]| {
        let mut c = vec![0; bins];
        for x in xs {
            let i = (((x - lo) / width) as usize).min(bins - 1);
            c[i] += 1;
        }
        c
    };
    Some(Histogram {
        edges,
        positives: count(positives),
        negatives: count(negatives),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Pairs (p, n): 3>1, 3>2, 3>2 · 2>1, 2=2 (½), 2=2 (½) · 5 beats all three: 3 + 2 + 3 = 8.
        // 8 of 9 pairs.
        let a = auc(&[3.0, 2.0, 5.0], &[1.0, 2.0, 2.0]).unwrap();
        assert!((a - 8.0 / 9.0).abs() < 1e-12, "{a}");
        assert_eq!(auc(&[1.0], &[2.0]), Some(0.0));
        assert_eq!(auc(&[2.0], &[2.0]), Some(0.5));
        assert_eq!(auc(&[], &[2.0]), None);
    }

    #[test]
    fn effect_size_and_quantiles_by_hand() {
        // Means 3 and 1, both variances 1 (values ±1 around the mean, n−1 = 2): d = 2.
        let d = cohens_d(&[2.0, 3.0, 4.0], &[0.0, 1.0, 2.0]).unwrap();
        assert!((d - 2.0).abs() < 1e-12);
        assert_eq!(cohens_d(&[1.0, 1.0], &[1.0, 1.0]), None);
        let s = summary(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(
            (s.n, s.median, s.p25, s.p90),
            (5, Some(3.0), Some(2.0), Some(4.6))
        );
    }

    #[test]
    fn histogram_shares_its_bins() {
        let h = histogram(&[0.0, 1.0, 10.0], &[5.0, 9.9], 2).unwrap();
        assert_eq!(h.edges, vec![0.0, 5.0, 10.0]);
        assert_eq!(h.positives, vec![2, 1]);
        assert_eq!(h.negatives, vec![0, 2]);
    }
}
