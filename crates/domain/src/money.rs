//! Money in a currency's smallest unit, so sums are exact.
//!
//! Amounts are kept as integers of minor units (yen, cents). The API reads and writes major units
//! (`120000` yen, `99.5` dollars) and [`Currency::to_minor`] refuses more decimals than the
//! currency has.

use serde::{Deserialize, Serialize};

/// ISO 4217 codes Kizuna knows, with their number of decimals.
const CURRENCIES: &[(&str, u32)] = &[
    ("JPY", 0),
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CNY", 2),
    ("KRW", 0),
    ("TWD", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("INR", 2),
    ("THB", 2),
    ("IDR", 2),
    ("VND", 0),
    ("PHP", 2),
    ("MYR", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("BRL", 2),
    ("MXN", 2),
];

/// A known ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(&'static str, u32);

impl Currency {
    pub const JPY: Currency = Currency("JPY", 0);
    pub const USD: Currency = Currency("USD", 2);

    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, e)| Currency(c, *e))
            .ok_or_else(|| format!("`{}` is not a supported ISO 4217 currency code", raw.trim()))
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    /// Decimals of the minor unit: 0 for yen, 2 for dollars.
    pub fn exponent(self) -> u32 {
        self.1
    }

    /// Major units (as a caller writes them) to minor units, refusing negative, non-finite or
    /// over-precise amounts.
    pub fn to_minor(self, major: f64) -> Result<i64, String> {
        if !major.is_finite() {
            return Err("must be a number".into());
        }
        if major < 0.0 {
            return Err("must be 0 or more".into());
        }
        let scale = 10f64.powi(self.1 as i32);
        let scaled = major * scale;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 {
            return Err(format!("{} allows at most {} decimals", self.0, self.1));
        }
        if rounded > 9.0e15 {
            return Err("is too large".into());
        }
        Ok(rounded as i64)
    }

    /// Minor units to major units, for display and JSON.
    pub fn to_major(self, minor: i64) -> f64 {
        minor as f64 / 10f64.powi(self.1 as i32)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 currency code"))
            .examples([serde_json::json!("JPY")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.0.to_string()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::JPY
    }
}

#[cfg(test)]
mod tests {
    use super::Currency;

    #[test]
    fn parses_codes() {
        assert_eq!(Currency::parse("jpy"), Ok(Currency::JPY));
        assert_eq!(Currency::parse(" USD "), Ok(Currency::USD));
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("").is_err());
    }

    fn check(currency: Currency, major: f64, expected: Result<i64, ()>) {
        assert_eq!(
            currency.to_minor(major).map_err(|_| ()),
            expected,
            "{currency} {major}"
        );
    }

    #[test]
    fn converts_major_to_minor() {
        check(Currency::JPY, 120000.0, Ok(120000));
        check(Currency::JPY, 0.0, Ok(0));
        check(Currency::JPY, 1.5, Err(()));
        check(Currency::USD, 99.99, Ok(9999));
        check(Currency::USD, 12.345, Err(()));
        check(Currency::USD, -1.0, Err(()));
        check(Currency::USD, f64::NAN, Err(()));
        assert_eq!(Currency::USD.to_major(9999), 99.99);
    }
}
