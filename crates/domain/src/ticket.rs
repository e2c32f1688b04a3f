//! Support tickets: the support load an account puts on the team.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, ContactId, TicketId};
use crate::string_enum;
use crate::text;

string_enum! {
    pub enum TicketSeverity {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
}

impl TicketSeverity {
    /// The weight of an open ticket in the support-load indicator.
    pub fn weight(self) -> f64 {
        match self {
            TicketSeverity::Low => 0.5,
            TicketSeverity::Normal => 1.0,
            TicketSeverity::High => 2.0,
            TicketSeverity::Urgent => 4.0,
        }
    }
}

string_enum! {
    pub enum TicketStatus {
        Open = "open",
        Pending = "pending",
        Solved = "solved",
        Closed = "closed",
    }
}

impl TicketStatus {
    pub fn is_open(self) -> bool {
        matches!(self, TicketStatus::Open | TicketStatus::Pending)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: TicketId,
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    pub subject: String,
    pub severity: TicketSeverity,
    pub status: TicketStatus,
    pub category: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDraft {
    pub account_id: Option<AccountId>,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    pub subject: Option<String>,
    pub severity: Option<TicketSeverity>,
    pub status: Option<TicketStatus>,
    pub category: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub solved_at: Option<DateTime<Utc>>,
}

crate::overlay!(TicketDraft {
    account_id,
    contact_id,
    external_id,
    subject,
    severity,
    status,
    category,
    opened_at,
    solved_at
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    pub subject: String,
    pub severity: TicketSeverity,
    pub status: TicketStatus,
    pub category: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
}

impl NewTicket {
    /// `now` stands in for a missing `opened_at`.
    pub fn parse(
        draft: TicketDraft,
        account_id: Option<AccountId>,
        now: DateTime<Utc>,
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
        let subject = c.check("subject", text::required(draft.subject.as_deref(), 500));
        let category = c.check("category", text::bounded(draft.category.as_deref(), 100));
        let opened_at = draft.opened_at.unwrap_or(now);
        if let Some(solved) = draft.solved_at {
            if solved < opened_at {
                c.add("solved_at", "is before opened_at");
            }
        }
        c.finish()?;
        let status = draft.status.unwrap_or(TicketStatus::Open);
        Ok(NewTicket {
            account_id: account_id.unwrap_or(AccountId(0)),
            contact_id: draft.contact_id,
            external_id: external_id.flatten(),
            subject: subject.unwrap_or_default(),
            severity: draft.severity.unwrap_or(TicketSeverity::Normal),
            status,
            category: category.flatten(),
            opened_at,
            solved_at: draft.solved_at,
        })
    }
}

impl From<&Ticket> for TicketDraft {
    fn from(t: &Ticket) -> Self {
        TicketDraft {
            account_id: Some(t.account_id),
            contact_id: t.contact_id,
            external_id: t.external_id.clone(),
            subject: Some(t.subject.clone()),
            severity: Some(t.severity),
            status: Some(t.status),
            category: t.category.clone(),
            opened_at: Some(t.opened_at),
            solved_at: t.solved_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_validation() {
        let now = Utc::now();
        let ok = NewTicket::parse(
            TicketDraft {
                subject: Some("ログインできない".into()),
                ..Default::default()
            },
            Some(AccountId(1)),
            now,
        )
        .unwrap();
        assert_eq!(ok.severity, TicketSeverity::Normal);
        assert_eq!(ok.opened_at, now);
        let err = NewTicket::parse(
            TicketDraft {
                subject: Some("x".into()),
                opened_at: Some(now),
                solved_at: Some(now - chrono::Duration::hours(1)),
                ..Default::default()
            },
            Some(AccountId(1)),
            now,
        )
        .unwrap_err();
        assert_eq!(err.first().field, "solved_at");
        assert!(TicketStatus::Pending.is_open());
        assert!(!TicketStatus::Solved.is_open());
    }
}
