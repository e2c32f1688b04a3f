//! Large copies kept in `precomputed` for other instances to load (the dashboard's book, the
//! held renewals): JSON, gzip-compressed at the fast level and base64-encoded, as the column is
//! text on both backends. The JSON of 100,000 accounts is tens of MB and the job writes it every
//! few minutes; compressed it is a small fraction of that.

use std::io::{Read, Write};

use base64::Engine;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Result, StoreError};

/// `value` as kept.
pub(crate) fn pack<T: Serialize>(value: &T, what: &str) -> Result<String> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    serde_json::to_writer(&mut gz, value).map_err(|e| corrupt(&e))?;
    gz.flush().map_err(|e| corrupt(&e))?;
    let bytes = gz.finish().map_err(|e| corrupt(&e))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A kept copy read back; the error says why it could not be (another version may have written
/// it in another form).
pub(crate) fn unpack<T: DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    let mut json = Vec::with_capacity(bytes.len() * 8);
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| format!("not the expected JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_value_unpacks_to_itself_and_other_text_is_refused() {
        let value = vec![
            (1_i64, "東京".to_string(), 0.1_f64 + 0.2),
            (2, "x".into(), -1.5),
        ];
        let text = pack(&value, "test").unwrap();
        assert_eq!(unpack::<Vec<(i64, String, f64)>>(&text).unwrap(), value);
        assert!(unpack::<Vec<(i64, String, f64)>>("{\"old\": true}")
            .unwrap_err()
            .contains("base64"));
        let not_gzip = base64::engine::general_purpose::STANDARD.encode(b"plain");
        assert!(unpack::<Vec<(i64, String, f64)>>(&not_gzip)
            .unwrap_err()
            .contains("gzip"));
    }
}
