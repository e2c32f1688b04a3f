//! Reading stored text back into the domain's closed vocabularies.

use std::str::FromStr;

use crate::StoreError;

/// Parses a stored spelling; a value Kizuna did not write is corruption, not user error.
pub(crate) fn parse<T>(raw: &str, column: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn parse_opt<T>(raw: Option<&str>, column: &str) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.map(|r| parse(r, column)).transpose()
}

/// The page-size bounds every list uses.
pub(crate) fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 500)
}
