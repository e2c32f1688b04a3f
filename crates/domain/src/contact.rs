//! Contacts: the people at a customer, with the roles that matter for the relationship.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, ContactId};
use crate::string_enum;
use crate::text;

string_enum! {
    /// The part a person plays in the relationship; a contact can have several.
    pub enum ContactRole {
        Champion = "champion",
        DecisionMaker = "decision_maker",
        ExecutiveSponsor = "executive_sponsor",
        Admin = "admin",
        User = "user",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub account_id: AccountId,
    /// Segment's `userId`, or the CRM id.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<Email>,
    pub title: Option<String>,
    pub roles: Vec<ContactRole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub traits: serde_json::Map<String, serde_json::Value>,
    pub first_seen_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When the person left the customer (a champion leaving is a churn signal).
    pub left_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    pub fn is_champion(&self) -> bool {
        self.roles.contains(&ContactRole::Champion)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDraft {
    /// Needed when the contact is created outside an account's path (CSV import, Segment).
    pub account_id: Option<AccountId>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub roles: Option<Vec<ContactRole>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub traits: Option<serde_json::Map<String, serde_json::Value>>,
    pub left_at: Option<DateTime<Utc>>,
}

crate::overlay!(ContactDraft {
    account_id,
    external_id,
    name,
    email,
    title,
    roles,
    traits,
    left_at
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub account_id: AccountId,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<Email>,
    pub title: Option<String>,
    pub roles: Vec<ContactRole>,
    pub traits: serde_json::Map<String, serde_json::Value>,
    pub left_at: Option<DateTime<Utc>>,
}

impl NewContact {
    /// `account_id` comes from the path when the draft does not carry one.
    pub fn parse(
        draft: ContactDraft,
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
        let name = c.check("name", text::bounded(draft.name.as_deref(), 200));
        let email = match draft
            .email
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(None),
            Some(raw) => c.check("email", Email::parse(raw)).map(Some),
        };
        let title = c.check("title", text::bounded(draft.title.as_deref(), 200));
        let has_identity = matches!(&name, Some(Some(_)))
            || matches!(&email, Some(Some(_)))
            || matches!(&external_id, Some(Some(_)));
        if c.is_empty() && !has_identity {
            c.add("name", "a contact needs a name, an email or an external_id");
        }
        c.finish()?;
        let mut roles = draft.roles.unwrap_or_default();
        roles.sort();
        roles.dedup();
        Ok(NewContact {
            account_id: account_id.unwrap_or(AccountId(0)),
            external_id: external_id.flatten(),
            name: name.flatten(),
            email: email.flatten(),
            title: title.flatten(),
            roles,
            traits: draft.traits.unwrap_or_default(),
            left_at: draft.left_at,
        })
    }
}

impl From<&Contact> for ContactDraft {
    fn from(c: &Contact) -> Self {
        ContactDraft {
            account_id: Some(c.account_id),
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            email: c.email.as_ref().map(ToString::to_string),
            title: c.title.clone(),
            roles: Some(c.roles.clone()),
            traits: Some(c.traits.clone()),
            left_at: c.left_at,
        }
    }
}

/// Roles as stored: a comma-separated list in a fixed order.
pub fn roles_to_text(roles: &[ContactRole]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn roles_from_text(text: &str) -> Vec<ContactRole> {
    text.split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_needs_an_identity_and_an_account() {
        let err = NewContact::parse(ContactDraft::default(), None).unwrap_err();
        assert_eq!(err.first().field, "account_id");
        let err = NewContact::parse(ContactDraft::default(), Some(AccountId(1))).unwrap_err();
        assert_eq!(err.first().field, "name");
        let ok = NewContact::parse(
            ContactDraft {
                email: Some("Hanako@Example.JP".into()),
                roles: Some(vec![
                    ContactRole::Champion,
                    ContactRole::Admin,
                    ContactRole::Champion,
                ]),
                ..Default::default()
            },
            Some(AccountId(1)),
        )
        .unwrap();
        assert_eq!(ok.email.unwrap().as_str(), "Hanako@example.jp");
        assert_eq!(ok.roles, vec![ContactRole::Champion, ContactRole::Admin]);
    }

    #[test]
    fn bad_email_names_the_field() {
        let err = NewContact::parse(
            ContactDraft {
                email: Some("not-an-email".into()),
                ..Default::default()
            },
            Some(AccountId(1)),
        )
        .unwrap_err();
        assert_eq!(err.first().field, "email");
    }

    #[test]
    fn roles_round_trip_as_text() {
        let roles = vec![ContactRole::Champion, ContactRole::DecisionMaker];
        assert_eq!(roles_from_text(&roles_to_text(&roles)), roles);
        assert!(roles_from_text("").is_empty());
    }
}
