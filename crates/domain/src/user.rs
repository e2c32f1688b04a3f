//! Team members who sign in: CSMs, their managers, admins and viewers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::error::{Collector, ValidationError};
use crate::ids::UserId;
use crate::string_enum;
use crate::text;

string_enum! {
    /// What a team member may do. Each role can do everything the roles after it can.
    pub enum Role {
        /// Manages users, tokens and settings.
        Admin = "admin",
        /// Edits every account and the team's plans.
        Manager = "manager",
        /// Edits the accounts they own.
        Csm = "csm",
        /// Reads everything, changes nothing.
        Viewer = "viewer",
    }
}

string_enum! {
    /// The language of the user interface.
    pub enum Locale {
        Ja = "ja",
        En = "en",
    }
}

// Not derived: the vocabulary macro fixes the derive list, and Japanese is the product default.
#[allow(clippy::derivable_impls)]
impl Default for Locale {
    fn default() -> Self {
        Locale::Ja
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub locale: Locale,
    /// Whether the user may sign in.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDraft {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub locale: Option<Locale>,
    pub active: Option<bool>,
    /// Only on creation or by the user themself; never returned.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
}

crate::overlay!(UserDraft {
    email,
    name,
    role,
    locale,
    active,
    password
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub locale: Locale,
    pub active: bool,
    pub password: Option<Password>,
}

impl NewUser {
    pub fn parse(draft: UserDraft) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let email = match draft.email.as_deref() {
            None => {
                c.add("email", "is required");
                None
            }
            Some(raw) => c.check("email", Email::parse(raw)),
        };
        let name = c.check("name", text::required(draft.name.as_deref(), 200));
        let password = match draft.password.as_deref() {
            None => Some(None),
            Some(raw) => c.check("password", Password::parse(raw)).map(Some),
        };
        c.finish()?;
        match (email, name, password) {
            (Some(email), Some(name), Some(password)) => Ok(NewUser {
                email,
                name,
                role: draft.role.unwrap_or(Role::Csm),
                locale: draft.locale.unwrap_or_default(),
                active: draft.active.unwrap_or(true),
                password,
            }),
            _ => Err(ValidationError::single("email", "is required")),
        }
    }
}

impl From<&User> for UserDraft {
    fn from(u: &User) -> Self {
        UserDraft {
            email: Some(u.email.to_string()),
            name: Some(u.name.clone()),
            role: Some(u.role),
            locale: Some(u.locale),
            active: Some(u.active),
            password: None,
        }
    }
}

/// A password good enough to keep: 10 to 200 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < 10 {
            return Err("must be at least 10 characters".into());
        }
        if n > 200 {
            return Err("must be at most 200 characters".into());
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_checked() {
        let err = NewUser::parse(UserDraft {
            email: Some("x".into()),
            password: Some("short".into()),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name", "password"]);
        let ok = NewUser::parse(UserDraft {
            email: Some("sato@example.jp".into()),
            name: Some("佐藤 花子".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.role, Role::Csm);
        assert_eq!(ok.locale, Locale::Ja);
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(***)"
        );
    }
}
