//! Touchpoints: every meeting, call, QBR, e-mail, training and note, on one timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, ContactId, TouchpointId, UserId};
use crate::string_enum;
use crate::text;

string_enum! {
    pub enum TouchpointKind {
        Qbr = "qbr",
        Meeting = "meeting",
        Call = "call",
        Email = "email",
        Training = "training",
        Webinar = "webinar",
        Survey = "survey",
        AdvisoryBoard = "advisory_board",
        Note = "note",
    }
}

string_enum! {
    pub enum Sentiment {
        Positive = "positive",
        Neutral = "neutral",
        Negative = "negative",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Touchpoint {
    pub id: TouchpointId,
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub author_id: Option<UserId>,
    pub external_id: Option<String>,
    pub kind: TouchpointKind,
    pub subject: String,
    pub notes: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub occurred_at: DateTime<Utc>,
    /// CSM time spent, for workload and cost-to-serve.
    pub duration_minutes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TouchpointDraft {
    pub account_id: Option<AccountId>,
    pub contact_id: Option<ContactId>,
    pub author_id: Option<UserId>,
    pub external_id: Option<String>,
    pub kind: Option<TouchpointKind>,
    pub subject: Option<String>,
    pub notes: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
}

crate::overlay!(TouchpointDraft {
    account_id,
    contact_id,
    author_id,
    external_id,
    kind,
    subject,
    notes,
    sentiment,
    occurred_at,
    duration_minutes
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewTouchpoint {
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub author_id: Option<UserId>,
    pub external_id: Option<String>,
    pub kind: TouchpointKind,
    pub subject: String,
    pub notes: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i64,
}

impl NewTouchpoint {
    pub fn parse(
        draft: TouchpointDraft,
        account_id: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let account_id = draft.account_id.or(account_id);
        if account_id.is_none() {
            c.add("account_id", "is required");
        }
        if draft.kind.is_none() {
            c.add(
                "kind",
                format!("is required; one of {}", TouchpointKind::NAMES.join(", ")),
            );
        }
        let external_id = c.check(
            "external_id",
            text::external_id(draft.external_id.as_deref()),
        );
        let subject = c.check("subject", text::required(draft.subject.as_deref(), 500));
        let notes = c.check("notes", text::bounded(draft.notes.as_deref(), 20_000));
        let duration = draft.duration_minutes.unwrap_or(0);
        if !(0..=24 * 60).contains(&duration) {
            c.add("duration_minutes", "must be between 0 and 1440");
        }
        c.finish()?;
        Ok(NewTouchpoint {
            account_id: account_id.unwrap_or(AccountId(0)),
            contact_id: draft.contact_id,
            author_id: draft.author_id,
            external_id: external_id.flatten(),
            kind: draft.kind.unwrap_or(TouchpointKind::Note),
            subject: subject.unwrap_or_default(),
            notes: notes.flatten(),
            sentiment: draft.sentiment,
            occurred_at: draft.occurred_at.unwrap_or(now),
            duration_minutes: duration,
        })
    }
}

impl From<&Touchpoint> for TouchpointDraft {
    fn from(t: &Touchpoint) -> Self {
        TouchpointDraft {
            account_id: Some(t.account_id),
            contact_id: t.contact_id,
            author_id: t.author_id,
            external_id: t.external_id.clone(),
            kind: Some(t.kind),
            subject: Some(t.subject.clone()),
            notes: t.notes.clone(),
            sentiment: t.sentiment,
            occurred_at: Some(t.occurred_at),
            duration_minutes: Some(t.duration_minutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touchpoint_needs_kind_and_subject() {
        let now = Utc::now();
        let err =
            NewTouchpoint::parse(TouchpointDraft::default(), Some(AccountId(1)), now).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "subject"]);
        let ok = NewTouchpoint::parse(
            TouchpointDraft {
                kind: Some(TouchpointKind::Qbr),
                subject: Some("Q3 ビジネスレビュー".into()),
                duration_minutes: Some(60),
                ..Default::default()
            },
            Some(AccountId(1)),
            now,
        )
        .unwrap();
        assert_eq!(ok.occurred_at, now);
        let err = NewTouchpoint::parse(
            TouchpointDraft {
                kind: Some(TouchpointKind::Call),
                subject: Some("x".into()),
                duration_minutes: Some(-5),
                ..Default::default()
            },
            Some(AccountId(1)),
            now,
        )
        .unwrap_err();
        assert_eq!(err.first().field, "duration_minutes");
    }
}
