//! The feature catalogue: what customers can use in the product, discovered from usage events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::FeatureId;
use crate::text;

/// One feature of the customer's product, as named by usage events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feature {
    pub id: FeatureId,
    /// The event name (or configured property) the feature is known by.
    pub key: String,
    /// A name for people; the key when nobody gave one.
    pub display_name: String,
    /// The module the feature belongs to, for grouping usage.
    pub module: Option<String>,
    /// Key features count toward breadth of adoption.
    pub is_key: bool,
    /// Weight of the feature in the adoption index.
    pub weight: f64,
    pub first_seen_at: DateTime<Utc>,
}

/// An admin's change to a feature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeatureDraft {
    pub display_name: Option<String>,
    pub module: Option<String>,
    pub is_key: Option<bool>,
    pub weight: Option<f64>,
}

/// A valid change to a feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureChange {
    pub display_name: Option<String>,
    pub module: Option<String>,
    pub is_key: Option<bool>,
    pub weight: Option<f64>,
}

impl FeatureChange {
    pub fn parse(draft: FeatureDraft) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let display_name = c.check(
            "display_name",
            text::bounded(draft.display_name.as_deref(), 200),
        );
        let module = c.check("module", text::bounded(draft.module.as_deref(), 100));
        if let Some(w) = draft.weight {
            if !w.is_finite() || !(0.0..=100.0).contains(&w) {
                c.add("weight", "must be between 0 and 100");
            }
        }
        c.finish()?;
        Ok(FeatureChange {
            display_name: display_name.flatten(),
            module: module.flatten(),
            is_key: draft.is_key,
            weight: draft.weight,
        })
    }
}

/// A feature key as events name it: trimmed, 1 to 200 characters, no control characters.
pub fn feature_key(raw: &str) -> Result<String, String> {
    let key = text::required(Some(raw), 200)?;
    if key.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_changes_are_checked() {
        let err = FeatureChange::parse(FeatureDraft {
            weight: Some(-1.0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.first().field, "weight");
        let ok = FeatureChange::parse(FeatureDraft {
            module: Some(" レポート ".into()),
            is_key: Some(true),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.module.as_deref(), Some("レポート"));
        assert!(feature_key("  ").is_err());
        assert!(feature_key("a\tb").is_err());
        assert_eq!(
            feature_key(" Report Exported ").as_deref(),
            Ok("Report Exported")
        );
    }
}
