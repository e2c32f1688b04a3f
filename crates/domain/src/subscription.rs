//! Subscriptions: contract terms with MRR, seats and a renewal date.
//!
//! A subscription is one term. A renewal closes a term (status `renewed`) and opens the next one;
//! a churn closes it with status `churned`. Changes of the account's total MRR become
//! [`crate::revenue::RevenueMovement`]s.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, SubscriptionId};
use crate::money::Currency;
use crate::string_enum;
use crate::text;

string_enum! {
    pub enum SubscriptionStatus {
        /// The term runs (or has ended and awaits its renewal decision).
        Active = "active",
        /// The term ended and a following term continues it.
        Renewed = "renewed",
        /// The term ended and the customer left.
        Churned = "churned",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: SubscriptionId,
    pub account_id: AccountId,
    pub external_id: Option<String>,
    pub product: String,
    pub plan: Option<String>,
    /// Monthly recurring revenue, in major units of `currency`.
    pub mrr: f64,
    #[serde(skip)]
    pub mrr_minor: i64,
    pub currency: Currency,
    pub seats: i64,
    pub start_date: NaiveDate,
    /// The renewal date: the last day of the term.
    pub end_date: NaiveDate,
    pub status: SubscriptionStatus,
    /// The term this one renews, if any.
    pub renews_id: Option<SubscriptionId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionDraft {
    pub account_id: Option<AccountId>,
    pub external_id: Option<String>,
    pub product: Option<String>,
    pub plan: Option<String>,
    /// In major units: `120000` yen, `99.5` dollars.
    pub mrr: Option<f64>,
    pub currency: Option<String>,
    pub seats: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub status: Option<SubscriptionStatus>,
    pub renews_id: Option<SubscriptionId>,
    /// When an MRR or status change takes effect (default: today for MRR changes, the end date for
    /// a churn). Used for the revenue movement only.
    #[serde(default, skip_serializing)]
    pub effective_date: Option<NaiveDate>,
}

crate::overlay!(SubscriptionDraft {
    account_id,
    external_id,
    product,
    plan,
    mrr,
    currency,
    seats,
    start_date,
    end_date,
    status,
    renews_id,
    effective_date
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    pub account_id: AccountId,
    pub external_id: Option<String>,
    pub product: String,
    pub plan: Option<String>,
    pub mrr_minor: i64,
    pub currency: Currency,
    pub seats: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: SubscriptionStatus,
    pub renews_id: Option<SubscriptionId>,
    pub effective_date: Option<NaiveDate>,
}

impl NewSubscription {
    pub fn parse(
        draft: SubscriptionDraft,
        account_id: Option<AccountId>,
    ) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let account_id = draft.account_id.or(account_id);
        if account_id.is_none() {
            c.add("account_id", "is required");
        }
        let external_id = c.check(
            "external_id",
            text::external_id(draft.external_id.as_deref()),
        );
        let product = c.check(
            "product",
            text::required(draft.product.as_deref().or(Some("default")), 200),
        );
        let plan = c.check("plan", text::bounded(draft.plan.as_deref(), 200));
        let currency = match draft.currency.as_deref() {
            None => Some(Currency::default()),
            Some(code) => c.check("currency", Currency::parse(code)),
        };
        let mrr_minor = match (draft.mrr, currency) {
            (None, _) => {
                c.add("mrr", "is required");
                None
            }
            (Some(mrr), Some(cur)) => c.check("mrr", cur.to_minor(mrr)),
            (Some(_), None) => None,
        };
        let seats = draft.seats.unwrap_or(0);
        if seats < 0 {
            c.add("seats", "must be 0 or more");
        }
        if draft.start_date.is_none() {
            c.add("start_date", "is required");
        }
        if draft.end_date.is_none() {
            c.add("end_date", "is required");
        }
        if let (Some(s), Some(e)) = (draft.start_date, draft.end_date) {
            if e < s {
                c.add("end_date", format!("{e} is before the start date {s}"));
            }
        }
        c.finish()?;
        Ok(NewSubscription {
            account_id: account_id.unwrap_or(AccountId(0)),
            external_id: external_id.flatten(),
            product: product.unwrap_or_default(),
            plan: plan.flatten(),
            mrr_minor: mrr_minor.unwrap_or(0),
            currency: currency.unwrap_or_default(),
            seats,
            start_date: draft.start_date.unwrap_or_default(),
            end_date: draft.end_date.unwrap_or_default(),
            status: draft.status.unwrap_or(SubscriptionStatus::Active),
            renews_id: draft.renews_id,
            effective_date: draft.effective_date,
        })
    }

    /// Whether the term counts toward the account's current MRR.
    pub fn is_active(&self) -> bool {
        self.status == SubscriptionStatus::Active
    }
}

impl From<&Subscription> for SubscriptionDraft {
    fn from(s: &Subscription) -> Self {
        SubscriptionDraft {
            account_id: Some(s.account_id),
            external_id: s.external_id.clone(),
            product: Some(s.product.clone()),
            plan: s.plan.clone(),
            mrr: Some(s.mrr),
            currency: Some(s.currency.code().to_string()),
            seats: Some(s.seats),
            start_date: Some(s.start_date),
            end_date: Some(s.end_date),
            status: Some(s.status),
            renews_id: s.renews_id,
            effective_date: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn draft() -> SubscriptionDraft {
        SubscriptionDraft {
            mrr: Some(120000.0),
            seats: Some(25),
            start_date: Some(date("2026-01-01")),
            end_date: Some(date("2026-12-31")),
            ..Default::default()
        }
    }

    #[test]
    fn valid_term_parses() {
        let s = NewSubscription::parse(draft(), Some(AccountId(7))).unwrap();
        assert_eq!(s.mrr_minor, 120000);
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert_eq!(s.product, "default");
    }

    fn field_of(d: SubscriptionDraft) -> String {
        NewSubscription::parse(d, Some(AccountId(1)))
            .unwrap_err()
            .first()
            .field
            .clone()
    }

    #[test]
    fn invalid_terms_name_the_field() {
        assert_eq!(
            field_of(SubscriptionDraft {
                mrr: Some(-1.0),
                ..draft()
            }),
            "mrr"
        );
        assert_eq!(
            field_of(SubscriptionDraft {
                mrr: None,
                ..draft()
            }),
            "mrr"
        );
        assert_eq!(
            field_of(SubscriptionDraft {
                end_date: Some(date("2025-12-31")),
                ..draft()
            }),
            "end_date"
        );
        assert_eq!(
            field_of(SubscriptionDraft {
                seats: Some(-2),
                ..draft()
            }),
            "seats"
        );
        assert_eq!(
            field_of(SubscriptionDraft {
                currency: Some("ABC".into()),
                ..draft()
            }),
            "currency"
        );
        assert_eq!(
            field_of(SubscriptionDraft {
                currency: Some("JPY".into()),
                mrr: Some(10.5),
                ..draft()
            }),
            "mrr"
        );
    }
}
