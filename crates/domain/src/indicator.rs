//! Leading indicators: the one definition of every per-account figure that scorecards, rules and
//! analytics read. The store gathers the raw inputs ([`IndicatorInputs`]) from rollups and
//! records as of a day; [`Indicators::derive`] turns them into the figures. Nothing else computes
//! an indicator, so a score, a rule and a churn analysis never disagree about what "breadth" is.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::string_enum;

/// Days in the usage window ("the last 30 days") and in the window before it.
pub const USAGE_WINDOW_DAYS: i64 = 30;
/// How far back NPS answers count for the average.
pub const NPS_WINDOW_DAYS: i64 = 365;

string_enum! {
    /// A built-in indicator. Custom metrics from the metrics API are named `metric:<dimension>`.
    pub enum Indicator {
        /// Events in the last 30 days against the 30 before, as a percent change (−100 … 200).
        UsageTrend = "usage_trend",
        /// Distinct users active in the last 30 days.
        ActiveUsers = "active_users",
        /// Active users in the last 30 days / licensed seats (0 … , 1 = every seat used).
        SeatUtilization = "seat_utilization",
        /// Key features used in the last 30 days / key features (0 … 1).
        Breadth = "breadth",
        /// Events per active user in the last 30 days.
        Depth = "depth",
        /// Days since the account's last usage event.
        DaysSinceActivity = "days_since_activity",
        /// Open tickets weighted by severity (low 1, normal 2, high 3, urgent 5).
        OpenTickets = "open_tickets",
        /// The latest NPS answer (0 … 10) within a year.
        NpsLatest = "nps_latest",
        /// The mean NPS answer over a year.
        NpsAverage = "nps_average",
        /// Days since the latest touchpoint.
        DaysSinceTouchpoint = "days_since_touchpoint",
        /// Days until the next renewal date.
        DaysToRenewal = "days_to_renewal",
        /// 1 when a champion used the product in the last 30 days, 0 when none did (or the account
        /// has contacts but no champion); missing when no contact is known.
        ChampionActive = "champion_active",
        /// Breadth × depth, 0 … 100 (see [`adoption_index`]).
        AdoptionIndex = "adoption_index",
    }
}

/// What a measure or a condition reads: a built-in indicator or a custom metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorRef {
    Builtin(Indicator),
    /// The latest value of a metrics-API dimension (account-level).
    Metric(String),
}

impl IndicatorRef {
    pub const METRIC_PREFIX: &'static str = "metric:";

    /// Reads `breadth`, `metric:licenses_assigned`, …; an unknown name is an error that lists the
    /// known ones.
    pub fn parse(s: &str) -> Result<IndicatorRef, String> {
        if let Some(dim) = s.strip_prefix(Self::METRIC_PREFIX) {
            let dim = dim.trim();
            if dim.is_empty() {
                return Err("a custom metric needs its dimension: `metric:<dimension>`".into());
            }
            return Ok(IndicatorRef::Metric(dim.to_string()));
        }
        s.parse::<Indicator>()
            .map(IndicatorRef::Builtin)
            .map_err(|_| {
                format!(
                    "unknown indicator `{s}`; expected one of: {}, or metric:<dimension>",
                    Indicator::NAMES.join(", ")
                )
            })
    }

    pub fn name(&self) -> String {
        match self {
            IndicatorRef::Builtin(i) => i.as_str().to_string(),
            IndicatorRef::Metric(d) => format!("{}{d}", Self::METRIC_PREFIX),
        }
    }
}

/// Open tickets by severity: low, normal, high, urgent.
pub type SeverityCounts = [i64; 4];
/// The weight of each severity in [`Indicator::OpenTickets`].
pub const SEVERITY_WEIGHTS: [f64; 4] = [1.0, 2.0, 3.0, 5.0];

/// The raw facts about one account as of one day, as the store reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorInputs {
    pub events_30: i64,
    pub events_prev_30: i64,
    pub active_users_30: i64,
    /// Seats of the subscriptions active on the day; `None` without one.
    pub seats: Option<i64>,
    pub key_features_used_30: i64,
    /// Key features in the catalogue (every feature when none is marked key).
    pub key_features_total: i64,
    pub last_activity: Option<NaiveDate>,
    pub open_tickets: SeverityCounts,
    pub nps_latest: Option<i64>,
    pub nps_average: Option<f64>,
    pub last_touchpoint: Option<NaiveDate>,
    pub next_renewal: Option<NaiveDate>,
    /// `None` when no contact of the account is known; `Some(None)` when none of them is a
    /// champion who used the product; otherwise the latest day a champion did.
    pub champion_last_active: Option<Option<NaiveDate>>,
    /// Latest value per metrics-API dimension.
    pub metrics: BTreeMap<String, f64>,
}

/// How the adoption index normalises depth: events per active user in 30 days at which depth
/// counts as full, and the band limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdoptionSettings {
    pub depth_target: f64,
    /// Below this the band is `low`.
    pub medium_from: f64,
    /// From this the band is `high`.
    pub high_from: f64,
}

impl Default for AdoptionSettings {
    fn default() -> Self {
        AdoptionSettings {
            depth_target: 40.0,
            medium_from: 30.0,
            high_from: 60.0,
        }
    }
}

string_enum! {
    /// The grade of the adoption index.
    pub enum AdoptionBand {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

/// Adoption index 0 … 100: breadth (0 … 1) × depth relative to the target (capped at 1) × 100.
/// An account with no active users has index 0; one with no key features known has none.
pub fn adoption_index(
    breadth: Option<f64>,
    depth: Option<f64>,
    settings: &AdoptionSettings,
) -> Option<f64> {
    let breadth = breadth?;
    let depth = depth.unwrap_or(0.0);
    let depth_share = if settings.depth_target > 0.0 {
        (depth / settings.depth_target).min(1.0)
    } else {
        1.0
    };
    Some(round1(breadth.clamp(0.0, 1.0) * depth_share * 100.0))
}

pub fn adoption_band(index: f64, settings: &AdoptionSettings) -> AdoptionBand {
    if index >= settings.high_from {
        AdoptionBand::High
    } else if index >= settings.medium_from {
        AdoptionBand::Medium
    } else {
        AdoptionBand::Low
    }
}

/// Every indicator of one account on one day; `None` where the data to compute it is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicators {
    pub usage_trend: Option<f64>,
    pub active_users: Option<f64>,
    pub seat_utilization: Option<f64>,
    pub breadth: Option<f64>,
    pub depth: Option<f64>,
    pub days_since_activity: Option<f64>,
    pub open_tickets: Option<f64>,
    pub nps_latest: Option<f64>,
    pub nps_average: Option<f64>,
    pub days_since_touchpoint: Option<f64>,
    pub days_to_renewal: Option<f64>,
    pub champion_active: Option<f64>,
    pub adoption_index: Option<f64>,
    /// Custom metrics by dimension.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Indicators {
    /// The definitions. `on` is the day the figures are as of.
    pub fn derive(i: &IndicatorInputs, on: NaiveDate, adoption: &AdoptionSettings) -> Indicators {
        let days_since = |d: Option<NaiveDate>| d.map(|d| (on - d).num_days().max(0) as f64);
        let usage_trend = match (i.events_30, i.events_prev_30) {
            (0, 0) => None,
            (_, 0) => Some(100.0),
            (now, before) => Some(round1(
                ((now - before) as f64 / before as f64 * 100.0).clamp(-100.0, 200.0),
            )),
        };
        let seat_utilization = match i.seats {
            Some(s) if s > 0 => Some(round3(i.active_users_30 as f64 / s as f64)),
            _ => None,
        };
        let breadth = (i.key_features_total > 0)
            .then(|| round3(i.key_features_used_30 as f64 / i.key_features_total as f64));
        let depth =
            (i.active_users_30 > 0).then(|| round1(i.events_30 as f64 / i.active_users_30 as f64));
        let open_tickets = i
            .open_tickets
            .iter()
            .zip(SEVERITY_WEIGHTS)
            .map(|(n, w)| *n as f64 * w)
            .sum::<f64>();
        let champion_active = i.champion_last_active.map(|last| {
            let active = last.is_some_and(|d| (on - d).num_days() < USAGE_WINDOW_DAYS);
            if active {
                1.0
            } else {
                0.0
            }
        });
        Indicators {
            usage_trend,
            active_users: Some(i.active_users_30 as f64),
            seat_utilization,
            breadth,
            depth,
            days_since_activity: days_since(i.last_activity),
            open_tickets: Some(open_tickets),
            nps_latest: i.nps_latest.map(|n| n as f64),
            nps_average: i.nps_average.map(round1),
            days_since_touchpoint: days_since(i.last_touchpoint),
            days_to_renewal: i.next_renewal.map(|d| (d - on).num_days() as f64),
            champion_active,
            adoption_index: adoption_index(breadth, depth, adoption),
            metrics: i.metrics.clone(),
        }
    }

    pub fn get(&self, r: &IndicatorRef) -> Option<f64> {
        match r {
            IndicatorRef::Metric(d) => self.metrics.get(d).copied(),
            IndicatorRef::Builtin(b) => match b {
                Indicator::UsageTrend => self.usage_trend,
                Indicator::ActiveUsers => self.active_users,
                Indicator::SeatUtilization => self.seat_utilization,
                Indicator::Breadth => self.breadth,
                Indicator::Depth => self.depth,
                Indicator::DaysSinceActivity => self.days_since_activity,
                Indicator::OpenTickets => self.open_tickets,
                Indicator::NpsLatest => self.nps_latest,
                Indicator::NpsAverage => self.nps_average,
                Indicator::DaysSinceTouchpoint => self.days_since_touchpoint,
                Indicator::DaysToRenewal => self.days_to_renewal,
                Indicator::ChampionActive => self.champion_active,
                Indicator::AdoptionIndex => self.adoption_index,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn definitions() {
        let on = day("2026-11-24");
        let inputs = IndicatorInputs {
            events_30: 300,
            events_prev_30: 400,
            active_users_30: 6,
            seats: Some(10),
            key_features_used_30: 3,
            key_features_total: 4,
            last_activity: Some(day("2026-11-20")),
            open_tickets: [1, 0, 1, 1],
            nps_latest: Some(9),
            nps_average: Some(7.25),
            last_touchpoint: Some(day("2026-10-25")),
            next_renewal: Some(day("2027-02-22")),
            champion_last_active: Some(Some(day("2026-10-01"))),
            metrics: BTreeMap::from([("licenses".to_string(), 12.0)]),
        };
        let i = Indicators::derive(&inputs, on, &AdoptionSettings::default());
        assert_eq!(i.usage_trend, Some(-25.0));
        assert_eq!(i.seat_utilization, Some(0.6));
        assert_eq!(i.breadth, Some(0.75));
        assert_eq!(i.depth, Some(50.0));
        assert_eq!(i.days_since_activity, Some(4.0));
        assert_eq!(i.open_tickets, Some(9.0));
        assert_eq!(i.nps_average, Some(7.3));
        assert_eq!(i.days_since_touchpoint, Some(30.0));
        assert_eq!(i.days_to_renewal, Some(90.0));
        // The champion's last use is 54 days back: not active.
        assert_eq!(i.champion_active, Some(0.0));
        // Depth 50 ≥ target 40 counts fully: 0.75 × 1 × 100.
        assert_eq!(i.adoption_index, Some(75.0));
        assert_eq!(
            i.get(&IndicatorRef::parse("metric:licenses").unwrap()),
            Some(12.0)
        );
    }

    #[test]
    fn missing_data_stays_missing() {
        let i = Indicators::derive(
            &IndicatorInputs::default(),
            day("2026-11-24"),
            &AdoptionSettings::default(),
        );
        assert_eq!(i.usage_trend, None);
        assert_eq!(i.seat_utilization, None);
        assert_eq!(i.breadth, None);
        assert_eq!(i.depth, None);
        assert_eq!(i.champion_active, None);
        assert_eq!(i.adoption_index, None);
        // Nothing open is a real zero, not missing.
        assert_eq!(i.open_tickets, Some(0.0));
    }

    #[test]
    fn usage_trend_edges() {
        let on = day("2026-11-24");
        let s = AdoptionSettings::default();
        let t = |now, before| {
            Indicators::derive(
                &IndicatorInputs {
                    events_30: now,
                    events_prev_30: before,
                    ..Default::default()
                },
                on,
                &s,
            )
            .usage_trend
        };
        assert_eq!(t(10, 0), Some(100.0));
        assert_eq!(t(0, 10), Some(-100.0));
        assert_eq!(t(1000, 10), Some(200.0));
    }

    #[test]
    fn indicator_names() {
        assert_eq!(
            IndicatorRef::parse("breadth").unwrap(),
            IndicatorRef::Builtin(Indicator::Breadth)
        );
        assert!(IndicatorRef::parse("bredth")
            .unwrap_err()
            .contains("unknown indicator `bredth`"));
        assert!(IndicatorRef::parse("metric:").is_err());
    }
}
