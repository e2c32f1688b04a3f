//! Metrics: numeric time series per account or contact (API calls, storage used, logins, ...),
//! one value per subject, dimension and day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, ContactId};
use crate::text;

/// One value as a caller sends it. The subject is named once: by id or by external id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricDraft {
    pub account_id: Option<AccountId>,
    pub account_external_id: Option<String>,
    pub contact_id: Option<ContactId>,
    pub contact_external_id: Option<String>,
    /// What is measured, e.g. `api_calls`.
    pub dimension: Option<String>,
    pub value: Option<f64>,
    /// The day the value is for (YYYY-MM-DD).
    pub date: Option<NaiveDate>,
}

/// Who a metric is about, before the store resolves it to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricSubject {
    Account(AccountId),
    AccountExternal(String),
    Contact(ContactId),
    ContactExternal(String),
}

impl std::fmt::Display for MetricSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricSubject::Account(id) => write!(f, "account {id}"),
            MetricSubject::AccountExternal(ext) => write!(f, "account with external_id `{ext}`"),
            MetricSubject::Contact(id) => write!(f, "contact {id}"),
            MetricSubject::ContactExternal(ext) => write!(f, "contact with external_id `{ext}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMetric {
    pub subject: MetricSubject,
    pub dimension: String,
    pub value: f64,
    pub date: NaiveDate,
}

impl NewMetric {
    pub fn parse(d: MetricDraft) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let subjects = [
            d.account_id.map(MetricSubject::Account),
            d.account_external_id
                .clone()
                .map(MetricSubject::AccountExternal),
            d.contact_id.map(MetricSubject::Contact),
            d.contact_external_id
                .clone()
                .map(MetricSubject::ContactExternal),
        ];
        let given: Vec<MetricSubject> = subjects.into_iter().flatten().collect();
        if given.len() != 1 {
            c.add(
                "account_id",
                "name exactly one subject: account_id, account_external_id, contact_id or contact_external_id",
            );
        }
        let dimension = match d.dimension.as_deref() {
            None => {
                c.add("dimension", "is required");
                None
            }
            Some(raw) => c.check("dimension", text::required(Some(raw), 100)),
        };
        match d.value {
            None => c.add("value", "is required"),
            Some(v) if !v.is_finite() => c.add("value", "must be a finite number"),
            Some(_) => {}
        }
        if d.date.is_none() {
            c.add("date", "is required (YYYY-MM-DD)");
        }
        c.finish()?;
        match (given.into_iter().next(), dimension, d.value, d.date) {
            (Some(subject), Some(dimension), Some(value), Some(date)) => Ok(NewMetric {
                subject,
                dimension,
                value,
                date,
            }),
            _ => Err(ValidationError::single("metric", "is incomplete")),
        }
    }
}

/// A stored value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricPoint {
    pub dimension: String,
    pub date: NaiveDate,
    pub value: f64,
    /// Set when the value is about one contact of the account.
    pub contact_id: Option<ContactId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_need_one_subject_a_dimension_a_value_and_a_day() {
        let ok = NewMetric::parse(MetricDraft {
            account_external_id: Some("acct-1".into()),
            dimension: Some("api_calls".into()),
            value: Some(1200.0),
            date: "2026-11-01".parse().ok(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.subject, MetricSubject::AccountExternal("acct-1".into()));
        let err = NewMetric::parse(MetricDraft {
            account_id: Some(AccountId(1)),
            contact_id: Some(ContactId(2)),
            value: Some(f64::NAN),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["account_id", "dimension", "value", "date"]);
    }
}
