//! E-mail addresses, checked once.

use serde::{Deserialize, Serialize};

/// A syntactically plausible e-mail address, trimmed, with its domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = "email"))]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld`: one `@`, no spaces, a dot in the domain, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.chars().count() > 254 {
            return Err("is longer than 254 characters".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{s}` is not an e-mail address: it contains a space"
            ));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(format!("`{s}` is not an e-mail address: it has no @"));
        };
        if local.is_empty() || domain.contains('@') {
            return Err(format!("`{s}` is not an e-mail address"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            return Err(format!(
                "`{s}` is not an e-mail address: the domain `{domain}` is not valid"
            ));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    fn check(input: &str, expected: Option<&str>) {
        let got = Email::parse(input).ok();
        assert_eq!(got.as_ref().map(Email::as_str), expected, "input {input:?}");
    }

    #[test]
    fn parses_addresses() {
        check(
            "taro.yamada@Example.CO.JP",
            Some("taro.yamada@example.co.jp"),
        );
        check("  a@b.io ", Some("a@b.io"));
        check("a+tag@sub.example.com", Some("a+tag@sub.example.com"));
        check("", None);
        check("no-at.example.com", None);
        check("a@b", None);
        check("a@@b.com", None);
        check("a b@c.com", None);
        check("@c.com", None);
        check("a@.com", None);
        check("a@-x.com", None);
    }
}
