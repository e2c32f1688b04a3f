//! Revenue movements: how an account's MRR changed, the basis of every revenue metric.

use chrono::NaiveDate;
use serde::Serialize;

use crate::ids::{AccountId, MovementId, SubscriptionId};
use crate::string_enum;
use crate::subscription::SubscriptionStatus;

string_enum! {
    /// The kind of an MRR change, from the account's point of view.
    pub enum MovementKind {
        New = "new",
        Expansion = "expansion",
        Contraction = "contraction",
        Churn = "churn",
        Reactivation = "reactivation",
    }
}

/// One change of an account's MRR, derived from a subscription change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevenueMovement {
    pub id: MovementId,
    pub account_id: AccountId,
    pub subscription_id: Option<SubscriptionId>,
    pub kind: MovementKind,
    /// The day the change takes effect.
    pub effective_on: NaiveDate,
    /// Account MRR before and after, and the difference, in major units.
    pub mrr_before: f64,
    pub mrr_after: f64,
    pub mrr_delta: f64,
}

/// Classifies a change of an account's total MRR. `had_revenue_before` tells a returning customer
/// (reactivation) from a first purchase (new). No change, no movement.
pub fn classify(
    before_minor: i64,
    after_minor: i64,
    had_revenue_before: bool,
) -> Option<MovementKind> {
    use MovementKind::*;
    match (before_minor, after_minor) {
        (b, a) if b == a => None,
        (0, _) if had_revenue_before => Some(Reactivation),
        (0, _) => Some(New),
        (_, 0) => Some(Churn),
        (b, a) if a > b => Some(Expansion),
        _ => Some(Contraction),
    }
}

/// One contract term as the revenue derivation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub id: SubscriptionId,
    pub start: NaiveDate,
    /// The last day of the term.
    pub end: NaiveDate,
    pub status: SubscriptionStatus,
    /// `(effective day, MRR in minor units, seats)`, oldest first; the first is the term's start.
    pub steps: Vec<(NaiveDate, i64, i64)>,
}

impl Term {
    /// The term's MRR and seats on `day`. An active term runs on past its end date until its renewal
    /// is decided; a renewed or churned term stops the day after its end.
    pub fn on(&self, day: NaiveDate) -> (i64, i64) {
        if day < self.start || (self.status != SubscriptionStatus::Active && day > self.end) {
            return (0, 0);
        }
        self.steps
            .iter()
            .take_while(|(d, _, _)| *d <= day)
            .last()
            .map(|(_, mrr, seats)| (*mrr, *seats))
            .unwrap_or((0, 0))
    }

    /// The days on which the term's contribution may change.
    fn change_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        let stop = (self.status != SubscriptionStatus::Active)
            .then(|| self.end.succ_opt())
            .flatten();
        std::iter::once(self.start)
            .chain(self.steps.iter().map(|(d, _, _)| *d))
            .chain(stop)
    }
}

/// A movement derived from an account's terms, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedMovement {
    pub subscription_id: Option<SubscriptionId>,
    pub kind: MovementKind,
    pub effective_on: NaiveDate,
    pub mrr_before: i64,
    pub mrr_after: i64,
}

/// An account's revenue on one day, derived from its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevenueState {
    pub mrr: i64,
    pub seats: i64,
    /// The earliest end date of the terms still active: the next renewal to decide.
    pub renewal_date: Option<NaiveDate>,
    /// Set when the account had revenue and has none left: the day its last revenue stopped.
    pub churned_on: Option<NaiveDate>,
}

fn total_on(terms: &[Term], day: NaiveDate) -> (i64, i64) {
    terms
        .iter()
        .map(|t| t.on(day))
        .fold((0, 0), |(m, s), (tm, ts)| (m + tm, s + ts))
}

/// Every change of the account's total MRR, oldest first: the account's revenue movements.
/// A renewal at the same price is no movement; a renewal at a higher price is an expansion on the
/// first day of the new term; a gap between terms is a churn and then a reactivation.
pub fn derive_movements(terms: &[Term]) -> Vec<DerivedMovement> {
    let mut days: Vec<NaiveDate> = terms.iter().flat_map(Term::change_days).collect();
    days.sort();
    days.dedup();
    let mut had_revenue = false;
    let mut movements = Vec::new();
    for day in days {
        let before = day.pred_opt().map(|d| total_on(terms, d).0).unwrap_or(0);
        let after = total_on(terms, day).0;
        if let Some(kind) = classify(before, after, had_revenue) {
            // The term whose contribution changed that day carries the movement.
            let subscription_id = terms
                .iter()
                .find(|t| day.pred_opt().map(|d| t.on(d).0).unwrap_or(0) != t.on(day).0)
                .map(|t| t.id);
            movements.push(DerivedMovement {
                subscription_id,
                kind,
                effective_on: day,
                mrr_before: before,
                mrr_after: after,
            });
        }
        had_revenue |= after > 0;
    }
    movements
}

/// The account's revenue as it stands on `today`.
pub fn state_on(terms: &[Term], movements: &[DerivedMovement], today: NaiveDate) -> RevenueState {
    let (mrr, seats) = total_on(terms, today);
    let renewal_date = terms
        .iter()
        .filter(|t| t.status == SubscriptionStatus::Active)
        .map(|t| t.end)
        .min();
    let churned_on = if mrr == 0 {
        movements
            .iter()
            .rev()
            .find(|m| m.kind == MovementKind::Churn && m.effective_on <= today)
            .map(|m| m.effective_on)
    } else {
        None
    };
    RevenueState {
        mrr,
        seats,
        renewal_date,
        churned_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MovementKind::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn term(
        id: i64,
        start: &str,
        end: &str,
        status: SubscriptionStatus,
        steps: &[(&str, i64)],
    ) -> Term {
        Term {
            id: SubscriptionId(id),
            start: d(start),
            end: d(end),
            status,
            steps: steps.iter().map(|(day, mrr)| (d(day), *mrr, 10)).collect(),
        }
    }

    fn kinds(terms: &[Term]) -> Vec<(MovementKind, &'static str, i64)> {
        derive_movements(terms)
            .into_iter()
            .map(|m| {
                (
                    m.kind,
                    Box::leak(m.effective_on.to_string().into_boxed_str()) as &str,
                    m.mrr_after - m.mrr_before,
                )
            })
            .collect()
    }

    use crate::subscription::SubscriptionStatus::{Active, Churned as Left, Renewed};

    #[test]
    fn renewal_at_the_same_price_is_no_movement() {
        let terms = [
            term(
                1,
                "2025-01-01",
                "2025-12-31",
                Renewed,
                &[("2025-01-01", 100)],
            ),
            term(
                2,
                "2026-01-01",
                "2026-12-31",
                Active,
                &[("2026-01-01", 100)],
            ),
        ];
        assert_eq!(kinds(&terms), vec![(New, "2025-01-01", 100)]);
    }

    #[test]
    fn upsell_at_renewal_and_mid_term_are_expansions() {
        let terms = [
            term(
                1,
                "2025-01-01",
                "2025-12-31",
                Renewed,
                &[("2025-01-01", 100), ("2025-07-01", 120)],
            ),
            term(
                2,
                "2026-01-01",
                "2026-12-31",
                Active,
                &[("2026-01-01", 150)],
            ),
        ];
        assert_eq!(
            kinds(&terms),
            vec![
                (New, "2025-01-01", 100),
                (Expansion, "2025-07-01", 20),
                (Expansion, "2026-01-01", 30)
            ]
        );
    }

    #[test]
    fn churn_then_return_is_churn_then_reactivation() {
        let terms = [
            term(1, "2025-01-01", "2025-06-30", Left, &[("2025-01-01", 100)]),
            term(2, "2025-09-01", "2026-08-31", Active, &[("2025-09-01", 80)]),
        ];
        assert_eq!(
            kinds(&terms),
            vec![
                (New, "2025-01-01", 100),
                (Churn, "2025-07-01", -100),
                (Reactivation, "2025-09-01", 80)
            ]
        );
        let churned_only = &terms[..1];
        let state = state_on(
            churned_only,
            &derive_movements(churned_only),
            d("2025-08-01"),
        );
        assert_eq!(state.mrr, 0);
        assert_eq!(state.churned_on, Some(d("2025-07-01")));
        assert_eq!(state.renewal_date, None);
    }

    #[test]
    fn contraction_at_renewal_and_open_terms_run_on() {
        let terms = [
            term(
                1,
                "2025-01-01",
                "2025-12-31",
                Renewed,
                &[("2025-01-01", 100)],
            ),
            term(2, "2026-01-01", "2026-03-31", Active, &[("2026-01-01", 60)]),
        ];
        assert_eq!(
            kinds(&terms),
            vec![(New, "2025-01-01", 100), (Contraction, "2026-01-01", -40)]
        );
        // The second term ended but awaits its renewal decision: it still counts, and it is due.
        let state = state_on(&terms, &derive_movements(&terms), d("2026-05-01"));
        assert_eq!(
            (state.mrr, state.seats, state.renewal_date),
            (60, 10, Some(d("2026-03-31")))
        );
        assert_eq!(state.churned_on, None);
    }

    fn check(before: i64, after: i64, had_before: bool, expected: Option<MovementKind>) {
        assert_eq!(
            classify(before, after, had_before),
            expected,
            "{before} -> {after} (had before: {had_before})"
        );
    }

    #[test]
    fn classifies_movements() {
        check(0, 100, false, Some(New));
        check(0, 100, true, Some(Reactivation));
        check(100, 150, true, Some(Expansion));
        check(150, 100, true, Some(Contraction));
        check(100, 0, true, Some(Churn));
        check(100, 100, true, None);
        check(0, 0, false, None);
    }
}
