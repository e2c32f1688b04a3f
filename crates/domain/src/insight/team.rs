//! Team workload: per CSM, the accounts and ARR they carry, how much of it is at risk (red),
//! renewals coming up, their open and overdue tasks, and how much they engaged in the last 30
//! days. The accounts without an owner form a book of their own (no owner).

use serde::{Deserialize, Serialize};

/// One CSM's book (or the unowned accounts, with no owner).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workload {
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    /// Live accounts (not churned).
    pub accounts: i64,
    pub arr: f64,
    /// Accounts in the red band, and their ARR.
    pub at_risk_accounts: i64,
    pub at_risk_arr: f64,
    /// at_risk_arr / arr.
    pub at_risk_share: Option<f64>,
    /// Renewals in the next 90 days.
    pub renewals_90d: i64,
    /// Tasks assigned to this CSM (a task without an assignee counts for the account's owner)
    /// that are not closed, and of them the ones past their due date.
    pub open_tasks: i64,
    pub overdue_tasks: i64,
    /// Touchpoints on these accounts in the last 30 days, and the minutes they took.
    pub touchpoints_30d: i64,
    pub minutes_30d: i64,
    /// This book's share of the portfolio's ARR.
    pub arr_share: Option<f64>,
}

/// Fills the shares: at-risk ARR over ARR per book, and each book's ARR over the whole.
pub fn with_shares(mut books: Vec<Workload>) -> Vec<Workload> {
    let total: f64 = books.iter().map(|b| b.arr).sum();
    for b in &mut books {
        b.at_risk_share = (b.arr > 0.0).then(|| b.at_risk_arr / b.arr);
        b.arr_share = (total > 0.0).then(|| b.arr / total);
    }
    books
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_by_hand() {
        let books = with_shares(vec![
            Workload {
                owner_id: Some(1),
                arr: 3000.0,
                at_risk_arr: 750.0,
                ..Default::default()
            },
            Workload {
                owner_id: None,
                arr: 1000.0,
                ..Default::default()
            },
            Workload {
                owner_id: Some(2),
                ..Default::default()
            },
        ]);
        assert_eq!(books[0].at_risk_share, Some(0.25));
        assert_eq!(books[0].arr_share, Some(0.75));
        assert_eq!(books[1].at_risk_share, Some(0.0));
        assert_eq!(books[2].at_risk_share, None);
        assert_eq!(books[2].arr_share, Some(0.0));
    }
}
