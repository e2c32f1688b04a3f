//! Journeys: per segment, the milestones an account should reach, each by a target number of days
//! after the journey starts (the start of the account's first contract). A milestone completes by
//! hand or when its condition (CEL, see [`crate::condition`]) holds. Progress says, per milestone
//! and for the whole journey, whether the account is on track, behind (past the target) or stuck
//! (past twice the target), and the time to first value.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::LifecycleStage;
use crate::condition::Condition;
use crate::error::{Collector, ValidationError};
use crate::scorecard::Criteria;
use crate::string_enum;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MilestoneDef {
    /// Unique within the journey.
    pub key: String,
    pub name: String,
    /// The lifecycle stage the milestone belongs to.
    pub stage: LifecycleStage,
    /// Days after the journey's start by which it should be reached.
    pub target_days: i64,
    /// Completes the milestone when it holds; without one, the milestone is completed by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Reaching this milestone is the account's first value (time to first value ends here).
    #[serde(default)]
    pub first_value: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which accounts follow the journey (an empty criteria: every account).
    #[serde(default)]
    pub applies_to: Criteria,
    pub milestones: Vec<MilestoneDef>,
}

impl JourneyDef {
    /// Checks the whole definition; every problem names its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Collector::new();
        if self.name.trim().is_empty() {
            c.add("name", "must not be empty");
        }
        if self.milestones.is_empty() {
            c.add("milestones", "a journey needs at least one milestone");
        }
        let mut keys = HashSet::new();
        let mut first_values = 0;
        for (i, m) in self.milestones.iter().enumerate() {
            let at = format!("milestones[{i}]");
            if m.key.trim().is_empty() {
                c.add(&format!("{at}.key"), "must not be empty");
            } else if !keys.insert(m.key.as_str()) {
                c.add(&format!("{at}.key"), format!("`{}` is used twice", m.key));
            }
            if m.name.trim().is_empty() {
                c.add(&format!("{at}.name"), "must not be empty");
            }
            if !(0..=3650).contains(&m.target_days) {
                c.add(&format!("{at}.target_days"), "must be between 0 and 3650");
            }
            if let Some(cond) = &m.condition {
                if let Err(e) = Condition::parse(&format!("{at}.condition"), cond) {
                    for fe in e.errors {
                        c.add(&fe.field, fe.message);
                    }
                }
            }
            if m.first_value {
                first_values += 1;
            }
        }
        if first_values > 1 {
            c.add("milestones", "at most one milestone marks first value");
        }
        c.finish()
    }
}

string_enum! {
    /// Where an account stands on a milestone or a journey.
    pub enum ProgressStatus {
        Done = "done",
        OnTrack = "on_track",
        Behind = "behind",
        Stuck = "stuck",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MilestoneProgress {
    pub key: String,
    pub name: String,
    pub stage: LifecycleStage,
    pub due_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    /// `manual`, `condition`, or who completed it.
    pub completed_by: Option<String>,
    pub status: ProgressStatus,
    /// Completed after its due day (by how many days).
    pub days_late: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyProgress {
    pub started_on: NaiveDate,
    pub status: ProgressStatus,
    pub completed: usize,
    pub total: usize,
    /// Days from the start to the first-value milestone, once reached.
    pub time_to_first_value_days: Option<i64>,
    pub milestones: Vec<MilestoneProgress>,
}

/// Progress on `today`, given when each milestone was completed (by key: day and by whom).
pub fn progress(
    def: &JourneyDef,
    started_on: NaiveDate,
    today: NaiveDate,
    completed: &BTreeMap<String, (NaiveDate, String)>,
) -> JourneyProgress {
    let mut milestones = Vec::with_capacity(def.milestones.len());
    let mut ttfv = None;
    for m in &def.milestones {
        let due_on = started_on + chrono::Duration::days(m.target_days);
        let done = completed.get(&m.key);
        let status = match done {
            Some(_) => ProgressStatus::Done,
            None if today <= due_on => ProgressStatus::OnTrack,
            None if today <= due_on + chrono::Duration::days(m.target_days.max(7)) => {
                ProgressStatus::Behind
            }
            None => ProgressStatus::Stuck,
        };
        if let (true, Some((day, _))) = (m.first_value, done) {
            ttfv = Some((*day - started_on).num_days());
        }
        milestones.push(MilestoneProgress {
            key: m.key.clone(),
            name: m.name.clone(),
            stage: m.stage,
            due_on,
            completed_on: done.map(|d| d.0),
            completed_by: done.map(|d| d.1.clone()),
            status,
            days_late: done.map(|d| (d.0 - due_on).num_days()).filter(|n| *n > 0),
        });
    }
    let status = if milestones.iter().any(|m| m.status == ProgressStatus::Stuck) {
        ProgressStatus::Stuck
    } else if milestones
        .iter()
        .any(|m| m.status == ProgressStatus::Behind)
    {
        ProgressStatus::Behind
    } else if milestones.iter().all(|m| m.status == ProgressStatus::Done) {
        ProgressStatus::Done
    } else {
        ProgressStatus::OnTrack
    };
    JourneyProgress {
        started_on,
        status,
        completed: milestones
            .iter()
            .filter(|m| m.status == ProgressStatus::Done)
            .count(),
        total: milestones.len(),
        time_to_first_value_days: ttfv,
        milestones,
    }
}

/// The onboarding journey that ships with the product.
pub fn default_onboarding() -> JourneyDef {
    let m =
        |key: &str, name: &str, stage, days, condition: Option<&str>, first_value| MilestoneDef {
            key: key.into(),
            name: name.into(),
            stage,
            target_days: days,
            condition: condition.map(Into::into),
            first_value,
        };
    use LifecycleStage::{Adoption, Contract, Onboarding};
    JourneyDef {
        name: "Onboarding".into(),
        description: Some(
            "From the sales hand-off to first value and executive alignment in the first 90 days."
                .into(),
        ),
        applies_to: Criteria::default(),
        milestones: vec![
            m("sales_handoff", "Sales hand-off", Contract, 3, None, false),
            m("welcome", "Welcome", Onboarding, 7, None, false),
            m("kickoff", "Kickoff meeting", Onboarding, 14, None, false),
            m(
                "go_live",
                "Go-live: three people use the product",
                Onboarding,
                30,
                Some("active_users >= 3.0"),
                false,
            ),
            m(
                "first_value",
                "First value: half the key features in use",
                Adoption,
                45,
                Some("breadth >= 0.5"),
                true,
            ),
            m(
                "executive_alignment",
                "Executive alignment",
                Adoption,
                90,
                None,
                false,
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn statuses_follow_the_targets() {
        let def = default_onboarding();
        def.validate().unwrap();
        let start = d("2026-10-01");
        let mut done = BTreeMap::new();
        done.insert(
            "sales_handoff".to_string(),
            (d("2026-10-02"), "manual".to_string()),
        );
        done.insert(
            "welcome".to_string(),
            (d("2026-10-12"), "manual".to_string()),
        );
        done.insert(
            "first_value".to_string(),
            (d("2026-10-31"), "condition".to_string()),
        );
        // Day 20: kickoff (due day 14) is behind; go-live (day 30) on track.
        let p = progress(&def, start, d("2026-10-21"), &done);
        let status = |k: &str| p.milestones.iter().find(|m| m.key == k).unwrap().status;
        assert_eq!(status("sales_handoff"), ProgressStatus::Done);
        assert_eq!(status("kickoff"), ProgressStatus::Behind);
        assert_eq!(status("go_live"), ProgressStatus::OnTrack);
        assert_eq!(p.status, ProgressStatus::Behind);
        assert_eq!(p.completed, 3);
        assert_eq!(p.time_to_first_value_days, Some(30));
        let welcome = p.milestones.iter().find(|m| m.key == "welcome").unwrap();
        assert_eq!(welcome.days_late, Some(4));
        // Day 40: kickoff is past twice its target: stuck.
        let p = progress(&def, start, d("2026-11-10"), &done);
        assert_eq!(p.status, ProgressStatus::Stuck);
    }

    #[test]
    fn validation_names_fields() {
        let mut def = default_onboarding();
        def.milestones[1].key = "sales_handoff".into();
        def.milestones[3].condition = Some("activ_users > 1.0".into());
        def.milestones[0].target_days = -1;
        let e = def.validate().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "milestones[0].target_days",
                "milestones[1].key",
                "milestones[3].condition"
            ]
        );
    }
}
