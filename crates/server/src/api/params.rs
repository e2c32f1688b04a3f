//! Reading query parameters into typed values, with errors that name the parameter.

use std::str::FromStr;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// Parses an optional parameter of a closed vocabulary or a number.
pub fn parse_param<T>(name: &str, raw: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<T>()
            .map(Some)
            .map_err(|e| bad_param(name, e.to_string())),
    }
}

/// A 400 naming one query parameter.
pub fn bad_param(name: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    let mut err = ApiError::bad_request(format!("{name}: {message}"));
    err.fields
        .push(kizuna_domain::FieldError::new(name, message));
    err
}

/// `limit` and `offset`, as every list takes them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip; take `next_offset` from the previous page.
    pub offset: Option<i64>,
}

impl Paging {
    pub fn checked(&self) -> Result<(Option<i64>, Option<i64>), ApiError> {
        if let Some(l) = self.limit {
            if !(1..=500).contains(&l) {
                return Err(bad_param("limit", "must be between 1 and 500"));
            }
        }
        if let Some(o) = self.offset {
            if o < 0 {
                return Err(bad_param("offset", "must be 0 or more"));
            }
        }
        Ok((self.limit, self.offset))
    }
}
