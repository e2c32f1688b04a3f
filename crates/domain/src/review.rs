//! Business reviews (QBR / EBR): what a CSM shows a customer once a quarter or once a year — the
//! goals, usage and adoption over the period, health and what drives it, support, NPS, the value
//! delivered and the next steps. The CSM writes the goals, the value and the next steps
//! ([`ReviewDraft`]); the figures ([`ReviewFacts`]) are gathered from the account's data when the
//! review is shown, so a review always agrees with the data it describes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::health::HealthBand;
use crate::string_enum;
use crate::text;

string_enum! {
    /// A quarterly review with the customer's team, or an executive one with their sponsors.
    pub enum ReviewKind {
        Qbr = "qbr",
        Ebr = "ebr",
    }
}

/// The longest period a review covers.
pub const MAX_PERIOD_DAYS: i64 = 400;
/// The longest free text of a review (goals, value delivered, next steps).
pub const MAX_TEXT: usize = 10_000;

/// What a CSM sends to create or change a review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewDraft {
    pub kind: Option<ReviewKind>,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub title: Option<String>,
    /// The customer's goals for the period, one per line.
    pub goals: Option<String>,
    /// The value delivered, one point per line.
    pub value_delivered: Option<String>,
    /// The next steps, one per line.
    pub next_steps: Option<String>,
}

/// A valid review draft.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReview {
    pub kind: ReviewKind,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub title: String,
    pub goals: String,
    pub value_delivered: String,
    pub next_steps: String,
}

impl NewReview {
    /// Checks every field; every problem names its field.
    pub fn parse(d: ReviewDraft) -> Result<NewReview, ValidationError> {
        let mut c = Collector::new();
        let kind = d.kind.unwrap_or(ReviewKind::Qbr);
        if d.period_from.is_none() {
            c.add("period_from", "is required (YYYY-MM-DD)");
        }
        if d.period_to.is_none() {
            c.add("period_to", "is required (YYYY-MM-DD)");
        }
        if let (Some(f), Some(t)) = (d.period_from, d.period_to) {
            if f > t {
                c.add("period_to", "must not be before period_from");
            } else if (t - f).num_days() > MAX_PERIOD_DAYS {
                c.add(
                    "period_to",
                    format!("a review covers at most {MAX_PERIOD_DAYS} days"),
                );
            }
        }
        let title = c.check("title", text::required(d.title.as_deref(), 200));
        let mut body = |field: &str, v: &Option<String>| {
            c.check(field, text::bounded(v.as_deref(), MAX_TEXT))
                .flatten()
                .unwrap_or_default()
        };
        let goals = body("goals", &d.goals);
        let value_delivered = body("value_delivered", &d.value_delivered);
        let next_steps = body("next_steps", &d.next_steps);
        c.finish()?;
        match (d.period_from, d.period_to, title) {
            (Some(period_from), Some(period_to), Some(title)) => Ok(NewReview {
                kind,
                period_from,
                period_to,
                title,
                goals,
                value_delivered,
                next_steps,
            }),
            _ => Err(ValidationError::single("title", "is required")),
        }
    }
}

/// A saved review.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessReview {
    pub id: i64,
    pub account_id: i64,
    pub kind: ReviewKind,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub title: String,
    pub goals: String,
    pub value_delivered: String,
    pub next_steps: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BusinessReview {
    /// The draft that reproduces this review (a PATCH overlays it).
    pub fn draft(&self) -> ReviewDraft {
        ReviewDraft {
            kind: Some(self.kind),
            period_from: Some(self.period_from),
            period_to: Some(self.period_to),
            title: Some(self.title.clone()),
            goals: Some(self.goals.clone()),
            value_delivered: Some(self.value_delivered.clone()),
            next_steps: Some(self.next_steps.clone()),
        }
    }
}

crate::overlay!(ReviewDraft {
    kind,
    period_from,
    period_to,
    title,
    goals,
    value_delivered,
    next_steps
});

/// The lines of a free text, trimmed, without empty ones (goals, value, next steps are lists).
pub fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.trim().trim_start_matches(['-', '•', '・', '*']).trim())
        .filter(|l| !l.is_empty())
        .collect()
}

/// One month of usage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthUsage {
    /// The first day of the month.
    pub month: NaiveDate,
    pub events: i64,
    /// The busiest day's active users in the month.
    pub peak_active_users: i64,
    /// Distinct days with any use.
    pub active_days: i64,
}

/// A feature's use in the period against the period before (of the same length).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureUse {
    pub key: String,
    pub name: String,
    pub is_key: bool,
    pub events: i64,
    pub previous_events: i64,
}

impl FeatureUse {
    /// Change against the previous period, in per cent (none when it had no use).
    pub fn change_pct(&self) -> Option<f64> {
        change_pct(self.events, self.previous_events)
    }
}

/// The health score at the end of each month of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthPoint {
    pub day: NaiveDate,
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
}

/// One measure of today's score: what drives health now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Driver {
    /// The measure's key in its scorecard.
    pub key: String,
    pub name: String,
    /// The indicator the measure reads (labels are per language).
    pub indicator: String,
    pub raw: Option<f64>,
    /// 0–100.
    pub score: Option<f64>,
    /// Points of the total score this measure gives, and the most it could give.
    pub points: f64,
    pub max_points: f64,
}

/// Support in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportSummary {
    pub opened: i64,
    pub solved: i64,
    /// Open now.
    pub open_now: i64,
    /// Opened in the period, by severity (low, normal, high, urgent).
    pub by_severity: Vec<(String, i64)>,
    /// Median days from opening to solving, of the tickets solved in the period.
    pub median_days_to_solve: Option<f64>,
}

/// NPS in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NpsSummary {
    pub responses: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// −100 … 100; none without answers.
    pub nps: Option<f64>,
    /// Up to three comments, newest first.
    pub comments: Vec<String>,
}

/// Everything a review shows besides what the CSM wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewFacts {
    pub account_name: String,
    pub owner_name: Option<String>,
    pub currency: String,
    pub arr: f64,
    pub seats: i64,
    pub renewal_date: Option<NaiveDate>,
    pub lifecycle_stage: String,
    pub usage: Vec<MonthUsage>,
    pub events: i64,
    pub previous_events: i64,
    pub features: Vec<FeatureUse>,
    /// Key features used in the period, of all key features.
    pub key_features_used: i64,
    pub key_features: i64,
    pub adoption_index: Option<f64>,
    pub health: Vec<HealthPoint>,
    pub health_now: Option<f64>,
    pub band_now: Option<HealthBand>,
    pub drivers: Vec<Driver>,
    pub support: SupportSummary,
    pub nps: NpsSummary,
    /// Touchpoints in the period by kind.
    pub touchpoints: Vec<(String, i64)>,
    /// Revenue movements in the period: (kind, MRR change).
    pub revenue: Vec<(String, f64)>,
    /// The account's champions now (name, title, score).
    pub champions: Vec<(String, Option<String>, f64)>,
}

impl ReviewFacts {
    /// Change of events against the previous period, in per cent.
    pub fn events_change_pct(&self) -> Option<f64> {
        change_pct(self.events, self.previous_events)
    }
}

/// `now` against `before` in per cent; none when there was nothing before.
pub fn change_pct(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| (now - before) as f64 / before as f64 * 100.0)
}

/// The median of some values (none when empty).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The previous period of the same length, ending the day before `from`.
pub fn previous_period(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let len = (to - from).num_days();
    let end = from - chrono::Duration::days(1);
    (end - chrono::Duration::days(len), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_draft_reports_every_bad_field() {
        let e = NewReview::parse(ReviewDraft {
            period_from: Some(day("2026-10-01")),
            period_to: Some(day("2026-09-01")),
            title: Some("  ".into()),
            goals: Some("x".repeat(MAX_TEXT + 1)),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["period_to", "title", "goals"]);
        let ok = NewReview::parse(ReviewDraft {
            period_from: Some(day("2026-07-01")),
            period_to: Some(day("2026-09-30")),
            title: Some("Q3 review".into()),
            next_steps: Some("- Roll out reports\n\n・ 経営会議で共有".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.kind, ReviewKind::Qbr);
        assert_eq!(
            lines(&ok.next_steps),
            vec!["Roll out reports", "経営会議で共有"]
        );
    }

    #[test]
    fn medians_periods_and_changes_by_hand() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        // Q3 (92 days) → the 92 days before it.
        assert_eq!(
            previous_period(day("2026-07-01"), day("2026-09-30")),
            (day("2026-03-31"), day("2026-06-30"))
        );
        let f = FeatureUse {
            key: "reports".into(),
            name: "Reports".into(),
            is_key: true,
            events: 150,
            previous_events: 100,
        };
        assert_eq!(f.change_pct(), Some(50.0));
    }
}
