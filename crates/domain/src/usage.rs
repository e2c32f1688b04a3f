//! Product usage: raw events as they arrive and the daily rollups health and analytics read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::ids::{AccountId, FeatureId};

/// One usage event to store: who did what, when. The unit of ingestion.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUsageEvent {
    /// Makes a retried message count once.
    pub message_id: String,
    /// The account's external id (Segment `groupId`), when the event names one.
    pub account_external_id: Option<String>,
    /// Segment `userId`, when known.
    pub user_id: Option<String>,
    /// Segment `anonymousId`, when there is no `userId`.
    pub anonymous_id: Option<String>,
    /// The feature key: the event name, or a configured property.
    pub feature: String,
    /// When it happened, corrected for client clock skew.
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The message's properties, kept as JSON text.
    pub properties: Option<String>,
}

impl NewUsageEvent {
    /// The person behind the event, for distinct-user counts.
    pub fn user_key(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.anonymous_id.as_deref())
    }
}

/// Usage of one feature by one account on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureDay {
    pub day: NaiveDate,
    pub feature_id: FeatureId,
    pub feature: String,
    pub events: i64,
    /// Distinct users who used the feature that day.
    pub users: i64,
}

/// Activity of one account on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDay {
    pub day: NaiveDate,
    pub events: i64,
    /// Distinct users active that day.
    pub active_users: i64,
}

/// An account's usage over a window of days.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUsage {
    pub account_id: AccountId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub features: Vec<FeatureDay>,
    pub days: Vec<AccountDay>,
}
