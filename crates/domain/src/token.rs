//! API tokens: what a program presents instead of a person's password.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TokenId;
use crate::string_enum;

string_enum! {
    /// What a token may do. `admin` ⊇ `write` ⊇ `read`.
    pub enum TokenScope {
        /// GET requests.
        Read = "read",
        /// Changes to customer data, and the Segment-compatible tracking API.
        Write = "write",
        /// Tokens and users.
        Admin = "admin",
    }
}

impl TokenScope {
    fn rank(self) -> u8 {
        match self {
            TokenScope::Read => 0,
            TokenScope::Write => 1,
            TokenScope::Admin => 2,
        }
    }

    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: TokenScope) -> bool {
        self.rank() >= needed.rank()
    }
}

/// A token as listed: never its secret, only the first characters to recognise it by.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    /// The first characters of the secret, e.g. `kz_9f3a`.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenDraft {
    pub name: Option<String>,
    pub scope: Option<TokenScope>,
}

/// The prefix every token secret starts with, so leaked tokens can be found by secret scanners.
pub const TOKEN_PREFIX: &str = "kz_";

/// How many characters of a secret are kept in the clear to recognise the token.
pub const SHOWN_PREFIX_LEN: usize = 7;

#[cfg(test)]
mod tests {
    use super::TokenScope::*;

    #[test]
    fn scopes_nest() {
        let check = |have: super::TokenScope, need: super::TokenScope, ok: bool| {
            assert_eq!(have.allows(need), ok, "{have} allows {need}");
        };
        check(Read, Read, true);
        check(Read, Write, false);
        check(Write, Read, true);
        check(Write, Admin, false);
        check(Admin, Write, true);
        check(Admin, Admin, true);
    }
}
