//! Conditions over an account: expressions in CEL (the Common Expression Language), evaluated by
//! the `cel-interpreter` crate. Saved segments use them today; rules and journey milestones read
//! the same fields. A condition is checked when it is written: a syntax error names its position,
//! an unknown field lists the known ones.
//!
//! The fields are the account's own (tier, stage, ARR, health …) and every indicator of
//! [`crate::indicator`], under their indicator names; custom metrics are `metrics["dimension"]`.
//! A field without a value is `null`; comparing `null` with a number does not match.

use std::collections::{BTreeMap, HashMap};

use cel_interpreter::{Context, Program, Value};

use crate::error::ValidationError;
use crate::indicator::{Indicator, Indicators};

/// Account fields a condition may read, besides the indicators and `metrics`.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "name",
    "industry",
    "employees",
    "coverage_tier",
    "lifecycle_stage",
    "contract_value_tier",
    "growth_potential",
    "brand_value",
    "referral_likelihood",
    "owner_id",
    "arr",
    "mrr",
    "seats",
    "health_score",
    "health_band",
    "health_trend",
];

/// Every name a condition may use.
pub fn known_fields() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = ACCOUNT_FIELDS.to_vec();
    out.extend(Indicator::NAMES.iter().copied());
    out.push("metrics");
    out
}

/// What a condition sees of one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub name: String,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub coverage_tier: String,
    pub lifecycle_stage: String,
    pub contract_value_tier: Option<String>,
    pub growth_potential: Option<String>,
    pub brand_value: Option<String>,
    pub referral_likelihood: Option<String>,
    pub owner_id: Option<i64>,
    pub mrr: f64,
    pub seats: i64,
    pub health_score: Option<f64>,
    pub health_band: Option<String>,
    pub health_trend: Option<String>,
    pub indicators: Indicators,
}

/// A checked condition.
#[derive(Debug)]
pub struct Condition {
    source: String,
    program: Program,
}

fn text(v: &Option<String>) -> Value {
    match v {
        Some(s) => Value::String(s.clone().into()),
        None => Value::Null,
    }
}

fn num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, Value::Float)
}

impl Condition {
    /// Compiles `source`; errors are on the field `field` (the caller's name for it).
    pub fn parse(field: &str, source: &str) -> Result<Condition, ValidationError> {
        let trimmed = source.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::single(field, "must not be empty"));
        }
        if trimmed.len() > 4000 {
            return Err(ValidationError::single(
                field,
                "is longer than 4,000 characters",
            ));
        }
        let program = Program::compile(trimmed).map_err(|e| {
            let at = e
                .span
                .start
                .map(|l| format!(" at line {}, column {}", l.line + 1, l.column + 1))
                .unwrap_or_default();
            ValidationError::single(
                field,
                format!("is not a valid CEL expression{at}: {}", e.msg),
            )
        })?;
        let known = known_fields();
        let refs = program.references();
        let mut unknown: Vec<&str> = refs
            .variables()
            .into_iter()
            .filter(|v| !known.contains(v))
            .collect();
        unknown.sort_unstable();
        if let Some(first) = unknown.first() {
            return Err(ValidationError::single(
                field,
                format!(
                    "unknown field `{first}`; known fields: {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(Condition {
            source: trimmed.to_string(),
            program,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the account matches. An expression that cannot be evaluated for this account
    /// (a missing value compared with a number, a type mismatch) is an error, which callers count
    /// as no match.
    pub fn matches(&self, f: &Facts) -> Result<bool, String> {
        self.matches_in(&FactsContext::new(f)?)
    }

    /// Like [`Condition::matches`] over a context built once for an account, so that many
    /// conditions (every rule) are checked without rebuilding it.
    pub fn matches_in(&self, c: &FactsContext) -> Result<bool, String> {
        match self.program.execute(&c.0) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("the expression gives {other:?}, not true or false")),
            Err(e) => Err(format!("{e:?}")),
        }
    }

    /// The fields this condition reads, sorted: what a rule firing records with their values.
    pub fn fields(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .program
            .references()
            .variables()
            .into_iter()
            .map(str::to_string)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The fields of one account as a CEL context.
pub struct FactsContext(Context<'static>);

impl std::fmt::Debug for FactsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactsContext")
    }
}

impl FactsContext {
    pub fn new(f: &Facts) -> Result<FactsContext, String> {
        FactsContext::with_fields(f, None)
    }

    /// A context holding only `fields` (every field when `None`): evaluating many accounts
    /// against conditions that read a few fields need not build the others.
    pub fn with_fields(
        f: &Facts,
        fields: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<FactsContext, String> {
        let mut c = Context::default();
        for (k, v) in f.values() {
            if fields.is_none_or(|set| set.contains(k)) {
                c.add_variable_from_value(k, v);
            }
        }
        if fields.is_some_and(|set| !set.contains("metrics")) {
            return Ok(FactsContext(c));
        }
        let metrics: HashMap<String, f64> = f
            .indicators
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        c.add_variable("metrics", metrics)
            .map_err(|e| e.to_string())?;
        Ok(FactsContext(c))
    }
}

impl Facts {
    /// Every named field with its CEL value (not `metrics`).
    fn values(&self) -> Vec<(&'static str, Value)> {
        let f = self;
        let mut out: Vec<(&'static str, Value)> = vec![
            ("name", Value::String(f.name.clone().into())),
            ("industry", text(&f.industry)),
            ("employees", f.employees.map_or(Value::Null, Value::Int)),
            (
                "coverage_tier",
                Value::String(f.coverage_tier.clone().into()),
            ),
            (
                "lifecycle_stage",
                Value::String(f.lifecycle_stage.clone().into()),
            ),
            ("contract_value_tier", text(&f.contract_value_tier)),
            ("growth_potential", text(&f.growth_potential)),
            ("brand_value", text(&f.brand_value)),
            ("referral_likelihood", text(&f.referral_likelihood)),
            ("owner_id", f.owner_id.map_or(Value::Null, Value::Int)),
            ("arr", Value::Float(f.mrr * 12.0)),
            ("mrr", Value::Float(f.mrr)),
            ("seats", Value::Int(f.seats)),
            ("health_score", num(f.health_score)),
            ("health_band", text(&f.health_band)),
            ("health_trend", text(&f.health_trend)),
        ];
        for ind in Indicator::ALL {
            let r = crate::indicator::IndicatorRef::Builtin(*ind);
            out.push((ind.as_str(), num(f.indicators.get(&r))));
        }
        out
    }

    /// The named fields' values as JSON (`metrics` as its map): what a rule firing or a task
    /// records as the data that caused it.
    pub fn json_of(&self, fields: &[String]) -> serde_json::Map<String, serde_json::Value> {
        let values = self.values();
        let mut out = serde_json::Map::new();
        for name in fields {
            if name == "metrics" {
                out.insert(
                    name.clone(),
                    serde_json::to_value(&self.indicators.metrics).unwrap_or_default(),
                );
                continue;
            }
            if let Some((_, v)) = values.iter().find(|(k, _)| *k == name) {
                let j = match v {
                    Value::String(s) => serde_json::Value::String(s.to_string()),
                    Value::Int(i) => serde_json::Value::from(*i),
                    Value::Float(x) => serde_json::Value::from(*x),
                    _ => serde_json::Value::Null,
                };
                out.insert(name.clone(), j);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            name: "Acme".into(),
            coverage_tier: "high_touch".into(),
            lifecycle_stage: "adoption".into(),
            mrr: 100_000.0,
            seats: 50,
            health_score: Some(38.0),
            health_band: Some("red".into()),
            indicators: Indicators {
                seat_utilization: Some(0.92),
                usage_trend: Some(-45.0),
                metrics: BTreeMap::from([("licenses".to_string(), 48.0)]),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn matches_fields_indicators_and_metrics() {
        let cases = [
            (
                "coverage_tier == 'high_touch' && health_band == 'red'",
                Ok(true),
            ),
            ("arr >= 1000000.0", Ok(true)),
            ("seat_utilization > 0.9 && usage_trend < -40.0", Ok(true)),
            ("metrics['licenses'] > 40.0", Ok(true)),
            ("lifecycle_stage in ['onboarding', 'renewal']", Ok(false)),
            ("seats > 10", Ok(true)),
        ];
        for (src, want) in cases {
            let c = Condition::parse("expression", src).unwrap();
            assert_eq!(c.matches(&facts()), want, "{src}");
        }
        // A missing value compared with a number is no match, reported as an error.
        let c = Condition::parse("expression", "nps_latest < 7.0").unwrap();
        assert!(c.matches(&facts()).is_err());
    }

    #[test]
    fn bad_conditions_say_where_and_why() {
        let e = Condition::parse("expression", "health_score < ").unwrap_err();
        assert_eq!(e.first().field, "expression");
        assert!(e.first().message.contains("column 15"), "{e}");
        let e = Condition::parse("condition", "helth_score < 40.0").unwrap_err();
        assert_eq!(e.first().field, "condition");
        assert!(
            e.first().message.contains("unknown field `helth_score`"),
            "{e}"
        );
        assert!(Condition::parse("expression", "  ").is_err());
    }
}
