//! Accounts: the customer companies a CS team looks after.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::health::{HealthBand, Trend};
use crate::ids::{AccountId, UserId};
use crate::money::Currency;
use crate::string_enum;
use crate::text;

string_enum! {
    /// How much CSM time an account gets.
    pub enum CoverageTier {
        HighTouch = "high_touch",
        MidTouch = "mid_touch",
        TechTouch = "tech_touch",
    }
}

string_enum! {
    /// Where an account stands in its life as a customer.
    pub enum LifecycleStage {
        Evaluation = "evaluation",
        Contract = "contract",
        Onboarding = "onboarding",
        Adoption = "adoption",
        Renewal = "renewal",
        Expansion = "expansion",
        Churned = "churned",
    }
}

string_enum! {
    /// Segmentation axis 1: contract value.
    pub enum ContractValueTier {
        Enterprise = "enterprise",
        MidMarket = "mid_market",
        Smb = "smb",
    }
}

string_enum! {
    /// A three-step grade, used by the axes growth potential, brand value and referral likelihood.
    pub enum Level {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

/// A customer company, with the figures derived from its subscriptions and health snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: AccountId,
    /// The id in the CRM, and Segment's `groupId`.
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub contract_value_tier: Option<ContractValueTier>,
    pub growth_potential: Option<Level>,
    pub brand_value: Option<Level>,
    pub referral_likelihood: Option<Level>,
    pub coverage_tier: CoverageTier,
    pub lifecycle_stage: LifecycleStage,
    pub owner_id: Option<UserId>,
    pub parent_id: Option<AccountId>,
    pub currency: Currency,
    /// Custom traits, as given by the CRM or Segment `group` calls.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub traits: serde_json::Map<String, serde_json::Value>,
    /// Monthly recurring revenue of the active subscriptions, in major units of `currency`.
    pub mrr: f64,
    /// `mrr` × 12.
    pub arr: f64,
    /// Seats licensed by the active subscriptions.
    pub seats: i64,
    /// The earliest end date among the active subscriptions.
    pub renewal_date: Option<NaiveDate>,
    pub health_score: Option<f64>,
    pub health_band: Option<HealthBand>,
    pub health_trend: Option<Trend>,
    pub churned_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller sends to create an account, or (merged over the current one) to change it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDraft {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub contract_value_tier: Option<ContractValueTier>,
    pub growth_potential: Option<Level>,
    pub brand_value: Option<Level>,
    pub referral_likelihood: Option<Level>,
    pub coverage_tier: Option<CoverageTier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Why the lifecycle stage changes; recorded with the transition, not kept on the account.
    #[serde(default, skip_serializing)]
    pub stage_reason: Option<String>,
    pub owner_id: Option<UserId>,
    pub parent_id: Option<AccountId>,
    pub currency: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub traits: Option<serde_json::Map<String, serde_json::Value>>,
}

crate::overlay!(AccountDraft {
    external_id,
    name,
    domain,
    industry,
    employees,
    contract_value_tier,
    growth_potential,
    brand_value,
    referral_likelihood,
    coverage_tier,
    lifecycle_stage,
    stage_reason,
    owner_id,
    parent_id,
    currency,
    traits
});

/// A valid account, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub contract_value_tier: Option<ContractValueTier>,
    pub growth_potential: Option<Level>,
    pub brand_value: Option<Level>,
    pub referral_likelihood: Option<Level>,
    pub coverage_tier: CoverageTier,
    pub lifecycle_stage: LifecycleStage,
    pub stage_reason: Option<String>,
    pub owner_id: Option<UserId>,
    pub parent_id: Option<AccountId>,
    pub currency: Currency,
    pub traits: serde_json::Map<String, serde_json::Value>,
}

impl NewAccount {
    pub fn parse(draft: AccountDraft) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let name = c.check("name", text::required(draft.name.as_deref(), 200));
        let external_id = c.check(
            "external_id",
            text::external_id(draft.external_id.as_deref()),
        );
        let domain = c.check("domain", normalise_domain(draft.domain.as_deref()));
        let industry = c.check("industry", text::bounded(draft.industry.as_deref(), 100));
        if matches!(draft.employees, Some(n) if n < 0) {
            c.add("employees", "must be 0 or more");
        }
        let currency = match draft.currency.as_deref() {
            None => Some(Currency::default()),
            Some(code) => c.check("currency", Currency::parse(code)),
        };
        let stage_reason = c.check(
            "stage_reason",
            text::bounded(draft.stage_reason.as_deref(), 1000),
        );
        c.finish()?;
        Ok(NewAccount {
            external_id: external_id.flatten(),
            name: name.unwrap_or_default(),
            domain: domain.flatten(),
            industry: industry.flatten(),
            employees: draft.employees,
            contract_value_tier: draft.contract_value_tier,
            growth_potential: draft.growth_potential,
            brand_value: draft.brand_value,
            referral_likelihood: draft.referral_likelihood,
            coverage_tier: draft.coverage_tier.unwrap_or(CoverageTier::TechTouch),
            lifecycle_stage: draft.lifecycle_stage.unwrap_or(LifecycleStage::Onboarding),
            stage_reason: stage_reason.flatten(),
            owner_id: draft.owner_id,
            parent_id: draft.parent_id,
            currency: currency.unwrap_or_default(),
            traits: draft.traits.unwrap_or_default(),
        })
    }
}

impl From<&Account> for AccountDraft {
    fn from(a: &Account) -> Self {
        AccountDraft {
            external_id: a.external_id.clone(),
            name: Some(a.name.clone()),
            domain: a.domain.clone(),
            industry: a.industry.clone(),
            employees: a.employees,
            contract_value_tier: a.contract_value_tier,
            growth_potential: a.growth_potential,
            brand_value: a.brand_value,
            referral_likelihood: a.referral_likelihood,
            coverage_tier: Some(a.coverage_tier),
            lifecycle_stage: Some(a.lifecycle_stage),
            stage_reason: None,
            owner_id: a.owner_id,
            parent_id: a.parent_id,
            currency: Some(a.currency.code().to_string()),
            traits: Some(a.traits.clone()),
        }
    }
}

/// `https://www.Example.co.jp/` → `example.co.jp`.
pub fn normalise_domain(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let lower = raw.to_lowercase();
    let without_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let valid_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|ch| ch.is_alphanumeric() || ch == '-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| valid_label(l)) || host.len() > 253 {
        return Err(format!("`{raw}` is not a domain name"));
    }
    Ok(Some(host.to_string()))
}

/// The account list's sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSort {
    Name,
    Arr,
    RenewalDate,
    HealthScore,
    CreatedAt,
    UpdatedAt,
}

impl AccountSort {
    pub const NAMES: &'static [&'static str] = &[
        "name",
        "arr",
        "renewal_date",
        "health_score",
        "created_at",
        "updated_at",
    ];

    pub fn parse(raw: &str) -> Result<(Self, bool), String> {
        let (key, descending) = match raw.strip_prefix('-') {
            Some(k) => (k, true),
            None => (raw, false),
        };
        let sort = match key {
            "name" => AccountSort::Name,
            "arr" | "mrr" => AccountSort::Arr,
            "renewal_date" => AccountSort::RenewalDate,
            "health_score" | "health" => AccountSort::HealthScore,
            "created_at" => AccountSort::CreatedAt,
            "updated_at" => AccountSort::UpdatedAt,
            other => {
                return Err(format!(
                    "cannot sort by `{other}`; use one of {} (prefix - for descending)",
                    Self::NAMES.join(", ")
                ))
            }
        };
        Ok((sort, descending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        let check = |raw: &str, expected: Result<Option<&str>, ()>| {
            let got = normalise_domain(Some(raw)).map_err(|_| ());
            assert_eq!(
                got,
                expected.map(|o| o.map(str::to_string)),
                "input {raw:?}"
            );
        };
        check("https://www.Example.co.jp/about", Ok(Some("example.co.jp")));
        check("acme.com", Ok(Some("acme.com")));
        check("  ", Ok(None));
        check("例え.jp", Ok(Some("例え.jp")));
        check("localhost", Err(()));
        check("bad_domain.com", Err(()));
        check("-x.com", Err(()));
    }

    #[test]
    fn new_account_collects_every_problem() {
        let draft = AccountDraft {
            name: Some(" ".into()),
            employees: Some(-3),
            currency: Some("ZZZ".into()),
            domain: Some("nope".into()),
            ..Default::default()
        };
        let err = NewAccount::parse(draft).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "domain", "employees", "currency"]);
    }

    #[test]
    fn new_account_applies_defaults() {
        let a = NewAccount::parse(AccountDraft {
            name: Some("株式会社テスト".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(a.coverage_tier, CoverageTier::TechTouch);
        assert_eq!(a.lifecycle_stage, LifecycleStage::Onboarding);
        assert_eq!(a.currency, Currency::JPY);
    }

    #[test]
    fn sort_keys_parse_with_direction() {
        assert_eq!(AccountSort::parse("-arr"), Ok((AccountSort::Arr, true)));
        assert_eq!(AccountSort::parse("name"), Ok((AccountSort::Name, false)));
        assert!(AccountSort::parse("password").is_err());
    }

    #[test]
    fn enums_round_trip_their_spelling() {
        for stage in LifecycleStage::ALL {
            assert_eq!(stage.as_str().parse::<LifecycleStage>().unwrap(), *stage);
        }
        assert!("gold".parse::<CoverageTier>().is_err());
    }
}
