//! Champions: the people at a customer who carry its usage and its relationship with us.
//!
//! Each contact of an account gets a champion score from four parts, each between 0 and 1:
//! usage (the contact's product events in the last 90 days over the busiest contact's), role
//! (the strongest of their roles), relationship (touchpoints with them in the last 180 days, four
//! or more count fully) and recency (used the product in the last 30 days: 1; in the last 60: ½).
//! The score is `100 × (0.4 usage + 0.3 role + 0.15 relationship + 0.15 recency)`.
//!
//! The account's champions are the contacts tagged with the champion role, plus — when nobody
//! tagged is active — up to two suggested ones: contacts who have not left with a score of at
//! least [`SUGGEST_AT`]. A champion is active, quiet (no product use for [`QUIET_DAYS`] days) or
//! gone (left the customer). A champion going quiet or leaving is a change rules can act on.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::contact::ContactRole;
use crate::string_enum;

/// Days without product use after which a champion is quiet.
pub const QUIET_DAYS: i64 = 30;
/// The score from which a contact not tagged as champion is suggested as one.
pub const SUGGEST_AT: f64 = 50.0;
/// How many contacts are suggested at most.
pub const MAX_SUGGESTED: usize = 2;

string_enum! {
    /// Where a champion stands.
    pub enum ChampionStatus {
        Active = "active",
        Quiet = "quiet",
        Left = "left",
    }
}

/// What is known of one contact as of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactActivity {
    pub contact_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub roles: Vec<ContactRole>,
    /// The day they left the customer, if they did (on or before the day looked at).
    pub left_on: Option<NaiveDate>,
    /// Product events in the 90 days up to the day, and on how many days.
    pub events_90d: i64,
    pub active_days_90d: i64,
    /// The last day they used the product.
    pub last_active: Option<NaiveDate>,
    /// Touchpoints with them in the 180 days up to the day, and the latest.
    pub touchpoints_180d: i64,
    pub last_touchpoint: Option<NaiveDate>,
}

/// One contact scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChampionScore {
    pub contact_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub roles: Vec<ContactRole>,
    /// 0–100.
    pub score: f64,
    /// The four parts, each 0–1.
    pub usage: f64,
    pub role: f64,
    pub relationship: f64,
    pub recency: f64,
    pub events_90d: i64,
    pub active_days_90d: i64,
    pub last_active: Option<NaiveDate>,
    pub touchpoints_180d: i64,
    pub last_touchpoint: Option<NaiveDate>,
    /// Tagged with the champion role by a person.
    pub tagged: bool,
    /// Not tagged, but carries the account: suggested as a champion.
    pub suggested: bool,
    pub status: ChampionStatus,
    /// Days since they last used the product (none: never).
    pub days_quiet: Option<i64>,
}

impl ChampionScore {
    /// Tagged or suggested.
    pub fn is_champion(&self) -> bool {
        self.tagged || self.suggested
    }
}

/// How much a role says about carrying the relationship.
pub fn role_weight(role: ContactRole) -> f64 {
    match role {
        ContactRole::Champion => 1.0,
        ContactRole::DecisionMaker | ContactRole::ExecutiveSponsor => 0.8,
        ContactRole::Admin => 0.6,
        ContactRole::User => 0.2,
    }
}

/// Scores every contact of one account as of `on`, best first (ties by contact id), and marks the
/// champions.
pub fn score_contacts(contacts: &[ContactActivity], on: NaiveDate) -> Vec<ChampionScore> {
    let busiest = contacts
        .iter()
        .filter(|c| !has_left(c, on))
        .map(|c| c.events_90d)
        .max()
        .unwrap_or(0);
    let mut out: Vec<ChampionScore> = contacts
        .iter()
        .map(|c| {
            let left = has_left(c, on);
            let usage = if busiest > 0 && !left {
                c.events_90d as f64 / busiest as f64
            } else {
                0.0
            };
            let role = c.roles.iter().map(|r| role_weight(*r)).fold(0.0, f64::max);
            let relationship = (c.touchpoints_180d.min(4) as f64) / 4.0;
            let days_quiet = c.last_active.map(|d| (on - d).num_days().max(0));
            let recency = match days_quiet {
                Some(d) if d < QUIET_DAYS => 1.0,
                Some(d) if d < 2 * QUIET_DAYS => 0.5,
                _ => 0.0,
            };
            let score = if left {
                0.0
            } else {
                round1(100.0 * (0.4 * usage + 0.3 * role + 0.15 * relationship + 0.15 * recency))
            };
            let status = if left {
                ChampionStatus::Left
            } else if recency < 1.0 {
                ChampionStatus::Quiet
            } else {
                ChampionStatus::Active
            };
            ChampionScore {
                contact_id: c.contact_id,
                name: c.name.clone(),
                email: c.email.clone(),
                title: c.title.clone(),
                roles: c.roles.clone(),
                score,
                usage: round3(usage),
                role,
                relationship,
                recency,
                events_90d: c.events_90d,
                active_days_90d: c.active_days_90d,
                last_active: c.last_active,
                touchpoints_180d: c.touchpoints_180d,
                last_touchpoint: c.last_touchpoint,
                tagged: c.roles.contains(&ContactRole::Champion),
                suggested: false,
                status,
                days_quiet,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.contact_id.cmp(&b.contact_id))
    });
    let tagged_active = out
        .iter()
        .any(|c| c.tagged && c.status == ChampionStatus::Active);
    if !tagged_active {
        for c in out
            .iter_mut()
            .filter(|c| !c.tagged && c.status != ChampionStatus::Left && c.score >= SUGGEST_AT)
            .take(MAX_SUGGESTED)
        {
            c.suggested = true;
        }
    }
    out
}

fn has_left(c: &ContactActivity, on: NaiveDate) -> bool {
    c.left_on.is_some_and(|d| d <= on)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A champion whose status got worse between two readings: the change rules act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChampionChange {
    pub contact_id: i64,
    pub from: Option<ChampionStatus>,
    pub to: ChampionStatus,
}

/// Champions that went quiet or left since the last reading (`before`: contact id and status of
/// each champion then). A champion seen for the first time already quiet or gone is a change too,
/// unless `first_reading` (nothing was known before: the account's history is not news).
pub fn worsened(
    before: &[(i64, ChampionStatus)],
    now: &[ChampionScore],
    first_reading: bool,
) -> Vec<ChampionChange> {
    let mut out = Vec::new();
    for c in now.iter().filter(|c| c.is_champion()) {
        let was = before
            .iter()
            .find(|(id, _)| *id == c.contact_id)
            .map(|(_, s)| *s);
        let worse = match (was, c.status) {
            (_, ChampionStatus::Active) => false,
            (Some(ChampionStatus::Active), _) => true,
            (Some(ChampionStatus::Quiet), ChampionStatus::Left) => true,
            (Some(_), _) => false,
            (None, _) => !first_reading,
        };
        if worse {
            out.push(ChampionChange {
                contact_id: c.contact_id,
                from: was,
                to: c.status,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn contact(id: i64, roles: &[ContactRole], events: i64, last: Option<&str>) -> ContactActivity {
        ContactActivity {
            contact_id: id,
            name: Some(format!("c{id}")),
            email: None,
            title: None,
            roles: roles.to_vec(),
            left_on: None,
            events_90d: events,
            active_days_90d: events.min(90),
            last_active: last.map(day),
            touchpoints_180d: 0,
            last_touchpoint: None,
        }
    }

    #[test]
    fn scores_by_hand() {
        let on = day("2026-11-24");
        let mut a = contact(1, &[ContactRole::Champion], 50, Some("2026-11-20"));
        a.touchpoints_180d = 2;
        let b = contact(2, &[ContactRole::User], 100, Some("2026-10-10"));
        let c = contact(3, &[], 0, None);
        let s = score_contacts(&[a, b, c], on);
        // a: usage 0.5, role 1, relationship 0.5, recency 1 → 100 × (0.2 + 0.3 + 0.075 + 0.15) = 72.5
        assert_eq!(s[0].contact_id, 1);
        assert_eq!(s[0].score, 72.5);
        assert_eq!(s[0].status, ChampionStatus::Active);
        assert!(s[0].tagged && !s[0].suggested);
        // b: usage 1, role 0.2, relationship 0, 45 days quiet → recency 0.5: 40 + 6 + 0 + 7.5 = 53.5
        assert_eq!(s[1].contact_id, 2);
        assert_eq!(s[1].score, 53.5);
        assert_eq!(s[1].status, ChampionStatus::Quiet);
        assert_eq!(s[1].days_quiet, Some(45));
        // A tagged champion is active, so nobody is suggested.
        assert!(!s[1].suggested);
        assert_eq!(s[2].score, 0.0);
    }

    #[test]
    fn suggests_when_no_tagged_champion_is_active() {
        let on = day("2026-11-24");
        let mut gone = contact(1, &[ContactRole::Champion], 500, Some("2026-11-01"));
        gone.left_on = Some(day("2026-11-10"));
        let heavy = contact(2, &[ContactRole::Admin], 100, Some("2026-11-23"));
        let light = contact(3, &[ContactRole::User], 10, Some("2026-11-23"));
        let s = score_contacts(&[gone, heavy, light], on);
        // The one who left scores 0 and does not count as the busiest.
        let gone = s.iter().find(|c| c.contact_id == 1).unwrap();
        assert_eq!((gone.score, gone.status), (0.0, ChampionStatus::Left));
        // heavy: 40 + 18 + 0 + 15 = 73 → suggested; light: 4 + 6 + 15 = 25 → not.
        assert_eq!(s[0].contact_id, 2);
        assert_eq!(s[0].score, 73.0);
        assert!(s[0].suggested);
        assert!(!s.iter().find(|c| c.contact_id == 3).unwrap().suggested);
    }

    #[test]
    fn a_champion_going_quiet_or_leaving_is_a_change_once() {
        let on = day("2026-11-24");
        let quiet = contact(1, &[ContactRole::Champion], 5, Some("2026-10-01"));
        let mut gone = contact(2, &[ContactRole::Champion], 5, Some("2026-11-20"));
        gone.left_on = Some(day("2026-11-22"));
        let fine = contact(3, &[ContactRole::Champion], 5, Some("2026-11-23"));
        let now = score_contacts(&[quiet, gone, fine], on);
        let before = [
            (1, ChampionStatus::Active),
            (2, ChampionStatus::Quiet),
            (3, ChampionStatus::Active),
        ];
        let mut changes = worsened(&before, &now, false);
        changes.sort_by_key(|c| c.contact_id);
        assert_eq!(
            changes,
            vec![
                ChampionChange {
                    contact_id: 1,
                    from: Some(ChampionStatus::Active),
                    to: ChampionStatus::Quiet
                },
                ChampionChange {
                    contact_id: 2,
                    from: Some(ChampionStatus::Quiet),
                    to: ChampionStatus::Left
                },
            ]
        );
        // Read again with the new statuses: nothing changed.
        let again: Vec<_> = now.iter().map(|c| (c.contact_id, c.status)).collect();
        assert!(worsened(&again, &now, false).is_empty());
        // The first reading of an account reports nothing.
        assert!(worsened(&[], &now, true).is_empty());
    }
}
