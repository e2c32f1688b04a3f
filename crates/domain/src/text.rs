//! Helpers for the free-text fields every entity has.

/// Trims a value and turns an empty one into `None`.
pub fn optional(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A required, trimmed, non-empty text of at most `max` characters.
pub fn required(value: Option<&str>, max: usize) -> Result<String, String> {
    match value.map(str::trim) {
        None | Some("") => Err("is required".into()),
        Some(v) if v.chars().count() > max => Err(format!("is longer than {max} characters")),
        Some(v) => Ok(v.to_string()),
    }
}

/// An optional trimmed text of at most `max` characters.
pub fn bounded(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(format!("is longer than {max} characters")),
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// An external id (CRM id, Segment `groupId` / `userId`): trimmed, non-empty, no control characters.
pub fn external_id(value: Option<&str>) -> Result<Option<String>, String> {
    let v = bounded(value, 200)?;
    if let Some(id) = &v {
        if id.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_rejects_blank_and_long() {
        assert_eq!(required(Some("  Acme "), 10), Ok("Acme".to_string()));
        assert!(required(Some("   "), 10).is_err());
        assert!(required(None, 10).is_err());
        assert!(required(Some("株式会社サンプル商事ホールディングス"), 5).is_err());
    }

    #[test]
    fn external_id_rejects_control_characters() {
        assert_eq!(external_id(Some(" crm-1 ")), Ok(Some("crm-1".into())));
        assert_eq!(external_id(Some("")), Ok(None));
        assert!(external_id(Some("a\nb")).is_err());
    }
}
