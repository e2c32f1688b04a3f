//! Segmentation rules: the five axes and the coverage tier set from conditions. Rules are tried in
//! order; for each axis the first rule whose condition holds sets its value. An axis a person set
//! by hand on an account is left alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::account::{ContractValueTier, CoverageTier, Level};
use crate::condition::{Condition, Facts};
use crate::error::{Collector, ValidationError};
use crate::string_enum;

string_enum! {
    /// An account field segmentation rules may set.
    pub enum Axis {
        ContractValueTier = "contract_value_tier",
        GrowthPotential = "growth_potential",
        BrandValue = "brand_value",
        ReferralLikelihood = "referral_likelihood",
        CoverageTier = "coverage_tier",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentationRule {
    pub axis: Axis,
    pub value: String,
    /// A CEL condition over the account's fields and indicators.
    pub when: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentationRules {
    pub rules: Vec<SegmentationRule>,
}

fn valid_value(axis: Axis, value: &str) -> Result<(), String> {
    let r = match axis {
        Axis::ContractValueTier => value.parse::<ContractValueTier>().map(|_| ()),
        Axis::CoverageTier => value.parse::<CoverageTier>().map(|_| ()),
        Axis::GrowthPotential | Axis::BrandValue | Axis::ReferralLikelihood => {
            value.parse::<Level>().map(|_| ())
        }
    };
    r.map_err(|e| e.to_string())
}

/// Rules whose conditions compiled.
#[derive(Debug)]
pub struct CompiledRules {
    rules: Vec<(Axis, String, Condition)>,
}

impl SegmentationRules {
    pub fn compile(&self) -> Result<CompiledRules, ValidationError> {
        let mut c = Collector::new();
        let mut out = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if let Err(e) = valid_value(r.axis, &r.value) {
                c.add(&format!("rules[{i}].value"), e);
            }
            match Condition::parse(&format!("rules[{i}].when"), &r.when) {
                Ok(cond) => out.push((r.axis, r.value.clone(), cond)),
                Err(e) => {
                    for fe in e.errors {
                        c.add(&fe.field, fe.message);
                    }
                }
            }
        }
        c.finish()?;
        Ok(CompiledRules { rules: out })
    }
}

impl CompiledRules {
    /// The value each axis gets for this account (first matching rule per axis).
    pub fn assign(&self, facts: &Facts) -> BTreeMap<Axis, String> {
        let mut out = BTreeMap::new();
        for (axis, value, cond) in &self.rules {
            if out.contains_key(axis) {
                continue;
            }
            if cond.matches(facts) == Ok(true) {
                out.insert(*axis, value.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_per_axis_wins() {
        let rules = SegmentationRules {
            rules: vec![
                SegmentationRule {
                    axis: Axis::ContractValueTier,
                    value: "enterprise".into(),
                    when: "arr >= 12000000.0".into(),
                },
                SegmentationRule {
                    axis: Axis::ContractValueTier,
                    value: "mid_market".into(),
                    when: "arr >= 1200000.0".into(),
                },
                SegmentationRule {
                    axis: Axis::ContractValueTier,
                    value: "smb".into(),
                    when: "true".into(),
                },
                SegmentationRule {
                    axis: Axis::CoverageTier,
                    value: "high_touch".into(),
                    when: "arr >= 12000000.0".into(),
                },
            ],
        };
        let compiled = rules.compile().unwrap();
        let facts = |mrr: f64| Facts {
            mrr,
            ..Default::default()
        };
        let a = compiled.assign(&facts(2_000_000.0));
        assert_eq!(a[&Axis::ContractValueTier], "enterprise");
        assert_eq!(a[&Axis::CoverageTier], "high_touch");
        let a = compiled.assign(&facts(200_000.0));
        assert_eq!(a[&Axis::ContractValueTier], "mid_market");
        assert!(!a.contains_key(&Axis::CoverageTier));
        let bad = SegmentationRules {
            rules: vec![SegmentationRule {
                axis: Axis::CoverageTier,
                value: "vip".into(),
                when: "arr >".into(),
            }],
        };
        let e = bad.compile().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["rules[0].value", "rules[0].when"]);
    }
}
