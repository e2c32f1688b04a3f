//! Scorecards: how indicators become one health score that explains itself.
//!
//! A measure maps one indicator to 0–100 (thresholds, or a linear map between two values), or is
//! scored by hand (a manual score with an expiry). A group score is Σ(wᵢ·sᵢ)/Σwᵢ over the measures
//! that have a value; a measure without one is left out and its weight shared among the others, and
//! a group without any value is left out of the overall score the same way. The overall score is
//! the weighted mean of the group scores, and the band is read off the rounded score.
//!
//! A [`ScorecardDef`] is what people write (JSON through the API, or a JSON / TOML file); a
//! [`Scorecard`] is a definition that passed [`Scorecard::parse`], so scoring never meets an
//! unknown indicator or a negative weight.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::account::{ContractValueTier, CoverageTier, LifecycleStage};
use crate::error::{Collector, ValidationError};
use crate::health::{HealthBand, Trend};
use crate::indicator::{IndicatorRef, Indicators};
use crate::string_enum;

/// The indicator name of a measure scored by hand.
pub const MANUAL: &str = "manual";

string_enum! {
    /// How a threshold step compares the raw value.
    pub enum StepOp {
        /// raw ≥ value
        Gte = "gte",
        /// raw ≤ value
        Lte = "lte",
    }
}

/// One threshold step: when the raw value compares true, the measure scores `score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub op: StepOp,
    pub value: f64,
    pub score: f64,
}

/// A straight line: `from` scores 0, `to` scores 100, clamped outside. `from` > `to` means
/// lower is better (days since last activity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Linear {
    pub from: f64,
    pub to: f64,
}

/// One measure: an indicator (or `manual`) with its mapping to 0–100 and its weight in the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasureDef {
    /// Unique within the scorecard; manual scores are stored under it.
    pub key: String,
    pub name: String,
    /// A built-in indicator, `metric:<dimension>`, or `manual`.
    pub indicator: String,
    pub weight: f64,
    /// Either `linear` or `thresholds` (first step that matches wins, else `otherwise`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<Linear>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDef {
    pub key: String,
    pub name: String,
    pub weight: f64,
    pub measures: Vec<MeasureDef>,
}

/// One band: scores from `min` to `max` (inclusive, after rounding to a whole number).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandRange {
    pub band: HealthBand,
    pub min: u32,
    pub max: u32,
}

/// Which accounts a scorecard applies to: every listed axis must match (an empty list matches all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage_tiers: Vec<CoverageTier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_stages: Vec<LifecycleStage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contract_value_tiers: Vec<ContractValueTier>,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.coverage_tiers.is_empty()
            && self.lifecycle_stages.is_empty()
            && self.contract_value_tiers.is_empty()
    }

    pub fn matches(&self, a: &AccountAxes) -> bool {
        (self.coverage_tiers.is_empty() || self.coverage_tiers.contains(&a.coverage_tier))
            && (self.lifecycle_stages.is_empty()
                || self.lifecycle_stages.contains(&a.lifecycle_stage))
            && (self.contract_value_tiers.is_empty()
                || a.contract_value_tier
                    .is_some_and(|t| self.contract_value_tiers.contains(&t)))
    }
}

/// What scorecard selection looks at on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountAxes {
    pub coverage_tier: CoverageTier,
    pub lifecycle_stage: LifecycleStage,
    pub contract_value_tier: Option<ContractValueTier>,
}

fn default_bands() -> Vec<BandRange> {
    vec![
        BandRange {
            band: HealthBand::Red,
            min: 0,
            max: 40,
        },
        BandRange {
            band: HealthBand::Yellow,
            min: 41,
            max: 70,
        },
        BandRange {
            band: HealthBand::Green,
            min: 71,
            max: 100,
        },
    ]
}

fn default_trend_threshold() -> f64 {
    2.0
}

/// A scorecard as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorecardDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The scorecard for accounts no other one applies to. Exactly one is the default.
    #[serde(default)]
    pub is_default: bool,
    /// Among scorecards whose criteria match, the highest priority wins.
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub applies_to: Criteria,
    #[serde(default = "default_bands")]
    pub bands: Vec<BandRange>,
    /// A score that moved by more than this many points since the previous snapshot is up or down.
    #[serde(default = "default_trend_threshold")]
    pub trend_threshold: f64,
    pub groups: Vec<GroupDef>,
}

/// A validated scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    def: ScorecardDef,
    /// Per group, per measure: the indicator read (`None` for manual measures).
    sources: Vec<Vec<Option<IndicatorRef>>>,
}

fn valid_score(x: f64) -> bool {
    x.is_finite() && (0.0..=100.0).contains(&x)
}

impl Scorecard {
    /// Checks everything at once; each problem names its field (`groups[1].measures[0].weight`).
    pub fn parse(def: ScorecardDef) -> Result<Scorecard, ValidationError> {
        let mut c = Collector::new();
        if def.name.trim().is_empty() {
            c.add("name", "must not be empty");
        }
        if !(def.trend_threshold.is_finite() && def.trend_threshold >= 0.0) {
            c.add("trend_threshold", "must be a number ≥ 0");
        }
        check_bands(&def.bands, &mut c);
        if def.groups.is_empty() {
            c.add("groups", "a scorecard needs at least one measure group");
        }
        let mut keys = HashSet::new();
        let mut group_keys = HashSet::new();
        let mut sources = Vec::with_capacity(def.groups.len());
        for (gi, g) in def.groups.iter().enumerate() {
            let at = format!("groups[{gi}]");
            if g.key.trim().is_empty() {
                c.add(&format!("{at}.key"), "must not be empty");
            } else if !group_keys.insert(g.key.as_str()) {
                c.add(&format!("{at}.key"), format!("`{}` is used twice", g.key));
            }
            if !(g.weight.is_finite() && g.weight >= 0.0) {
                c.add(&format!("{at}.weight"), "must be a number ≥ 0");
            }
            if g.measures.is_empty() {
                c.add(
                    &format!("{at}.measures"),
                    "a group needs at least one measure",
                );
            }
            let mut group_sources = Vec::with_capacity(g.measures.len());
            for (mi, m) in g.measures.iter().enumerate() {
                let at = format!("{at}.measures[{mi}]");
                group_sources.push(check_measure(m, &at, &mut keys, &mut c));
            }
            sources.push(group_sources);
        }
        if !def.groups.is_empty() && def.groups.iter().all(|g| g.weight <= 0.0) {
            c.add("groups", "at least one group needs a weight above 0");
        }
        c.finish()?;
        Ok(Scorecard { def, sources })
    }

    pub fn def(&self) -> &ScorecardDef {
        &self.def
    }

    pub fn into_def(self) -> ScorecardDef {
        self.def
    }

    /// Every indicator the scorecard reads.
    pub fn indicators(&self) -> impl Iterator<Item = &IndicatorRef> {
        self.sources.iter().flatten().flatten()
    }

    /// The band of a score, read off the score rounded to a whole number.
    pub fn band(&self, score: f64) -> HealthBand {
        band_of(&self.def.bands, score)
    }

    /// Scores one account. `manual` holds scores set by hand (not expired) by measure key; a
    /// manual score on an indicator measure overrides the computed one.
    pub fn score(&self, indicators: &Indicators, manual: &BTreeMap<String, f64>) -> Health {
        let mut groups = Vec::with_capacity(self.def.groups.len());
        for (g, sources) in self.def.groups.iter().zip(&self.sources) {
            let mut measures: Vec<MeasureScore> = g
                .measures
                .iter()
                .zip(sources)
                .map(|(m, source)| {
                    let raw = source.as_ref().and_then(|s| indicators.get(s));
                    let (score, manual) = match manual.get(&m.key) {
                        Some(s) => (Some(s.clamp(0.0, 100.0)), true),
                        None => (raw.map(|r| map_raw(m, r)), false),
                    };
                    MeasureScore {
                        key: m.key.clone(),
                        name: m.name.clone(),
                        indicator: m.indicator.clone(),
                        raw,
                        score,
                        manual,
                        weight: m.weight,
                        share: 0.0,
                        contribution: None,
                    }
                })
                .collect();
            let total: f64 = measures
                .iter()
                .filter(|m| m.score.is_some())
                .map(|m| m.weight)
                .sum();
            let score = (total > 0.0).then(|| {
                measures
                    .iter()
                    .filter_map(|m| m.score.map(|s| s * m.weight))
                    .sum::<f64>()
                    / total
            });
            for m in &mut measures {
                if m.score.is_some() && total > 0.0 {
                    m.share = m.weight / total;
                }
            }
            groups.push(GroupScore {
                key: g.key.clone(),
                name: g.name.clone(),
                weight: g.weight,
                share: 0.0,
                score,
                measures,
            });
        }
        let total: f64 = groups
            .iter()
            .filter(|g| g.score.is_some())
            .map(|g| g.weight)
            .sum();
        let score = (total > 0.0).then(|| {
            groups
                .iter()
                .filter_map(|g| g.score.map(|s| s * g.weight))
                .sum::<f64>()
                / total
        });
        for g in &mut groups {
            if g.score.is_some() && total > 0.0 {
                g.share = g.weight / total;
                for m in &mut g.measures {
                    m.contribution = m.score.map(|s| round2(s * m.share * g.share));
                }
            }
        }
        let score = score.map(round1);
        Health {
            score,
            band: score.map(|s| self.band(s)),
            groups,
        }
    }

    /// up / down / flat against the previous score, by this scorecard's threshold.
    pub fn trend(&self, previous: Option<f64>, now: Option<f64>) -> Option<Trend> {
        let (p, n) = (previous?, now?);
        let d = n - p;
        Some(if d > self.def.trend_threshold {
            Trend::Up
        } else if d < -self.def.trend_threshold {
            Trend::Down
        } else {
            Trend::Flat
        })
    }

    /// Whether this scorecard's criteria pick the account (the default picks every account).
    pub fn applies_to(&self, a: &AccountAxes) -> bool {
        self.def.applies_to.matches(a)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn band_of(bands: &[BandRange], score: f64) -> HealthBand {
    let s = score.round().clamp(0.0, 100.0) as u32;
    bands
        .iter()
        .find(|b| b.min <= s && s <= b.max)
        .map(|b| b.band)
        // Validation makes the bands cover 0–100; this is never reached for a parsed scorecard.
        .unwrap_or(HealthBand::Red)
}

/// A measure's 0–100 score for a raw value.
fn map_raw(m: &MeasureDef, raw: f64) -> f64 {
    if let Some(Linear { from, to }) = m.linear {
        let t = ((raw - from) / (to - from)).clamp(0.0, 1.0);
        return round1(t * 100.0);
    }
    for s in &m.thresholds {
        let hit = match s.op {
            StepOp::Gte => raw >= s.value,
            StepOp::Lte => raw <= s.value,
        };
        if hit {
            return s.score;
        }
    }
    m.otherwise.unwrap_or(0.0)
}

fn check_bands(bands: &[BandRange], c: &mut Collector) {
    if bands.is_empty() {
        c.add("bands", "at least one band is needed");
        return;
    }
    let mut ok = true;
    for (i, b) in bands.iter().enumerate() {
        if b.min > b.max {
            c.add(&format!("bands[{i}].min"), "must not be above max");
            ok = false;
        }
        if b.max > 100 {
            c.add(&format!("bands[{i}].max"), "must be at most 100");
            ok = false;
        }
    }
    if !ok {
        return;
    }
    let mut sorted: Vec<(usize, &BandRange)> = bands.iter().enumerate().collect();
    sorted.sort_by_key(|(_, b)| b.min);
    let mut next = 0u32;
    for (i, b) in sorted {
        if b.min < next {
            c.add(
                &format!("bands[{i}].min"),
                format!("overlaps the band before it: {} is already covered", b.min),
            );
            return;
        }
        if b.min > next {
            c.add(
                &format!("bands[{i}].min"),
                format!("leaves scores {next}–{} without a band", b.min - 1),
            );
            return;
        }
        next = b.max + 1;
    }
    if next <= 100 {
        c.add(
            "bands",
            format!("scores {next}–100 have no band; the bands must cover 0–100"),
        );
    }
}

fn check_measure(
    m: &MeasureDef,
    at: &str,
    keys: &mut HashSet<String>,
    c: &mut Collector,
) -> Option<IndicatorRef> {
    if m.key.trim().is_empty() {
        c.add(&format!("{at}.key"), "must not be empty");
    } else if !keys.insert(m.key.clone()) {
        c.add(
            &format!("{at}.key"),
            format!("`{}` is used twice; measure keys are unique", m.key),
        );
    }
    if !(m.weight.is_finite() && m.weight >= 0.0) {
        c.add(&format!("{at}.weight"), "must be a number ≥ 0");
    }
    if m.indicator == MANUAL {
        if m.linear.is_some() || !m.thresholds.is_empty() {
            c.add(
                &format!("{at}.indicator"),
                "a manual measure is scored by hand; it takes no linear map or thresholds",
            );
        }
        return None;
    }
    let source = match IndicatorRef::parse(&m.indicator) {
        Ok(s) => Some(s),
        Err(e) => {
            c.add(&format!("{at}.indicator"), e);
            None
        }
    };
    match (&m.linear, m.thresholds.is_empty()) {
        (Some(_), false) => c.add(at, "give either `linear` or `thresholds`, not both"),
        (None, true) => c.add(
            at,
            "needs `linear` (from, to) or `thresholds` to score its value",
        ),
        (Some(l), true) => {
            if !(l.from.is_finite() && l.to.is_finite()) || l.from == l.to {
                c.add(
                    &format!("{at}.linear"),
                    "`from` and `to` must be different numbers",
                );
            }
        }
        (None, false) => {
            for (si, s) in m.thresholds.iter().enumerate() {
                if !s.value.is_finite() {
                    c.add(&format!("{at}.thresholds[{si}].value"), "must be a number");
                }
                if !valid_score(s.score) {
                    c.add(
                        &format!("{at}.thresholds[{si}].score"),
                        "must be between 0 and 100",
                    );
                }
            }
        }
    }
    if let Some(o) = m.otherwise {
        if !valid_score(o) {
            c.add(&format!("{at}.otherwise"), "must be between 0 and 100");
        }
    }
    source
}

/// One scored measure, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasureScore {
    pub key: String,
    pub name: String,
    pub indicator: String,
    /// The indicator's value; `None` when its data is missing (or the measure is manual).
    pub raw: Option<f64>,
    /// 0–100; `None` when left out for want of a value.
    pub score: Option<f64>,
    /// Scored by hand (a manual measure, or an override of the computed score).
    pub manual: bool,
    pub weight: f64,
    /// This measure's share of its group after missing measures are left out (0 … 1).
    pub share: f64,
    /// Points of the overall score that come from this measure (Σ over all = the score).
    pub contribution: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupScore {
    pub key: String,
    pub name: String,
    pub weight: f64,
    /// This group's share of the overall score after missing groups are left out (0 … 1).
    pub share: f64,
    pub score: Option<f64>,
    pub measures: Vec<MeasureScore>,
}

/// One account's score under one scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// 0–100, one decimal; `None` when no measure has a value.
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub groups: Vec<GroupScore>,
}

impl Health {
    pub fn measures(&self) -> impl Iterator<Item = &MeasureScore> {
        self.groups.iter().flat_map(|g| g.measures.iter())
    }

    /// What a snapshot keeps of each measure.
    pub fn points(&self) -> Vec<MeasurePoint> {
        self.measures()
            .map(|m| MeasurePoint {
                key: m.key.clone(),
                raw: m.raw,
                score: m.score,
                contribution: m.contribution,
            })
            .collect()
    }
}

/// A measure as a snapshot keeps it: enough to say later what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasurePoint {
    #[serde(rename = "k")]
    pub key: String,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<f64>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub contribution: Option<f64>,
}

/// How one measure moved between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeasureChange {
    pub key: String,
    pub raw_before: Option<f64>,
    pub raw_after: Option<f64>,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    /// Points of the overall score this measure added (+) or took away (−).
    pub contribution_delta: f64,
    /// In words: "breadth 0.6 → 0.3, score 60 → 20, −4.0 points".
    pub reason: String,
}

fn fmt_opt(x: Option<f64>) -> String {
    match x {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v}"),
        None => "no value".to_string(),
    }
}

/// The measures that moved between two snapshots, biggest effect on the score first.
pub fn changes(before: &[MeasurePoint], after: &[MeasurePoint]) -> Vec<MeasureChange> {
    let before: BTreeMap<&str, &MeasurePoint> =
        before.iter().map(|p| (p.key.as_str(), p)).collect();
    let mut out: Vec<MeasureChange> = after
        .iter()
        .filter_map(|a| {
            let b = before.get(a.key.as_str());
            let (raw_before, score_before, contribution_before) = b
                .map(|b| (b.raw, b.score, b.contribution))
                .unwrap_or((None, None, None));
            if raw_before == a.raw && score_before == a.score {
                return None;
            }
            let delta = round2(a.contribution.unwrap_or(0.0) - contribution_before.unwrap_or(0.0));
            Some(MeasureChange {
                key: a.key.clone(),
                raw_before,
                raw_after: a.raw,
                score_before,
                score_after: a.score,
                contribution_delta: delta,
                reason: format!(
                    "{} {} → {}, score {} → {}, {}{:.1} points",
                    a.key,
                    fmt_opt(raw_before),
                    fmt_opt(a.raw),
                    fmt_opt(score_before),
                    fmt_opt(a.score),
                    if delta >= 0.0 { "+" } else { "−" },
                    delta.abs()
                ),
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.contribution_delta
            .abs()
            .total_cmp(&x.contribution_delta.abs())
    });
    out
}

/// A score set by hand on one measure of one account, in force until `expires_on` (exclusive);
/// without an expiry it stays until removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManualScore {
    pub measure: String,
    pub score: f64,
    pub expires_on: Option<chrono::NaiveDate>,
}

/// The manual scores in force on a day, by measure key (the latest given wins).
pub fn manual_in_force(scores: &[ManualScore], on: chrono::NaiveDate) -> BTreeMap<String, f64> {
    scores
        .iter()
        .filter(|m| m.expires_on.is_none_or(|e| on < e))
        .map(|m| (m.measure.clone(), m.score))
        .collect()
}

/// Picks the scorecard for an account: the highest-priority non-default scorecard whose criteria
/// match, else the default. Returns its index in `cards`.
pub fn select(cards: &[(i64, Scorecard)], axes: &AccountAxes) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, (_, c)) in cards.iter().enumerate() {
        if c.def.is_default || c.def.applies_to.is_empty() || !c.applies_to(axes) {
            continue;
        }
        if best.is_none_or(|(_, p)| c.def.priority > p) {
            best = Some((i, c.def.priority));
        }
    }
    best.map(|(i, _)| i)
        .or_else(|| cards.iter().position(|(_, c)| c.def.is_default))
}

/// The scorecard that ships with the product, tuned on the demo data: usage half the score,
/// support and sentiment a quarter, relationship a quarter.
pub fn default_scorecard() -> ScorecardDef {
    fn ind(
        key: &str,
        name: &str,
        weight: f64,
        linear: Option<(f64, f64)>,
        steps: &[(StepOp, f64, f64)],
        otherwise: Option<f64>,
    ) -> MeasureDef {
        MeasureDef {
            key: key.into(),
            name: name.into(),
            indicator: key.into(),
            weight,
            linear: linear.map(|(from, to)| Linear { from, to }),
            thresholds: steps
                .iter()
                .map(|&(op, value, score)| Step { op, value, score })
                .collect(),
            otherwise,
        }
    }
    use StepOp::{Gte, Lte};
    ScorecardDef {
        name: "Standard health".into(),
        description: Some(
            "Usage (trend, seats, breadth, recency) 50 %, support and sentiment 25 %, relationship 25 %."
                .into(),
        ),
        is_default: true,
        priority: 0,
        applies_to: Criteria::default(),
        bands: default_bands(),
        trend_threshold: default_trend_threshold(),
        groups: vec![
            GroupDef {
                key: "usage".into(),
                name: "Product usage".into(),
                weight: 50.0,
                measures: vec![
                    ind("depth", "Events per active user (30 d)", 3.0, Some((8.0, 25.0)), &[], None),
                    ind("seat_utilization", "Active users / seats", 1.5, Some((0.1, 0.6)), &[], None),
                    ind("usage_trend", "Usage trend (30 d vs 30 d before)", 1.0, Some((-40.0, 10.0)), &[], None),
                    ind("breadth", "Key features used", 1.0, Some((0.3, 1.0)), &[], None),
                    ind(
                        "days_since_activity",
                        "Days since last activity",
                        1.0,
                        None,
                        &[(Lte, 3.0, 100.0), (Lte, 7.0, 80.0), (Lte, 14.0, 50.0), (Lte, 30.0, 20.0)],
                        Some(0.0),
                    ),
                ],
            },
            GroupDef {
                key: "support".into(),
                name: "Support and sentiment".into(),
                weight: 25.0,
                measures: vec![
                    ind(
                        "open_tickets",
                        "Open tickets (severity-weighted)",
                        1.0,
                        None,
                        &[(Lte, 0.0, 100.0), (Lte, 2.0, 60.0), (Lte, 5.0, 30.0)],
                        Some(0.0),
                    ),
                    ind(
                        "nps_latest",
                        "Latest NPS answer",
                        1.0,
                        None,
                        &[(Gte, 9.0, 100.0), (Gte, 8.0, 80.0), (Gte, 7.0, 60.0), (Gte, 5.0, 25.0)],
                        Some(0.0),
                    ),
                ],
            },
            GroupDef {
                key: "relationship".into(),
                name: "Relationship".into(),
                weight: 25.0,
                measures: vec![
                    ind(
                        "days_since_touchpoint",
                        "Days since last touchpoint",
                        1.0,
                        None,
                        &[(Lte, 30.0, 100.0), (Lte, 60.0, 70.0), (Lte, 90.0, 40.0)],
                        Some(10.0),
                    ),
                    ind(
                        "champion_active",
                        "Champion active in 30 days",
                        1.5,
                        None,
                        &[(Gte, 1.0, 100.0)],
                        Some(0.0),
                    ),
                    MeasureDef {
                        key: "csm_sentiment".into(),
                        name: "CSM sentiment".into(),
                        indicator: MANUAL.into(),
                        weight: 1.0,
                        linear: None,
                        thresholds: vec![],
                        otherwise: None,
                    },
                ],
            },
        ],
    }
}

#[cfg(test)]
mod tests;
