//! Revenue movements: how an account's MRR changed, the basis of every revenue metric.

use chrono::NaiveDate;
use serde::Serialize;

use crate::ids::{AccountId, MovementId, SubscriptionId};
use crate::string_enum;

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
pub fn classify(before_minor: i64, after_minor: i64, had_revenue_before: bool) -> Option<MovementKind> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use MovementKind::*;

    fn check(before: i64, after: i64, had_before: bool, expected: Option<MovementKind>) {
        assert_eq!(classify(before, after, had_before), expected, "{before} -> {after} (had before: {had_before})");
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
