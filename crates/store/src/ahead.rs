//! Insight pages' results computed ahead by the scheduler (`insight.precompute`) and read by the
//! web UI: the churn drivers of the last year's decided renewals at the default lead time, and the
//! accounts the latest churn model rates riskiest. Both read every decided renewal or every live
//! account, which takes seconds at 100,000 accounts; a page reads the kept result when it is less
//! than [`crate::AHEAD_SECONDS`] old and computes it otherwise.

use chrono::{DateTime, Days, NaiveDate, Utc};
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::insight::drivers::{self, Analysis};
use kizuna_domain::insight::model::{self, Factor};
use kizuna_domain::insight::renewals::RenewalOutcome;
use kizuna_domain::insight::DEFAULT_LEAD_DAYS;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::insight::StoredChurnModel;
use crate::{now, Result, Store, StoreError};

/// A result and when it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Computed<T> {
    pub computed_at: DateTime<Utc>,
    pub value: T,
}

/// An account the churn model rates, with the factors that raise its risk most (at most three).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskyAccount {
    pub account_id: i64,
    pub account_name: String,
    pub probability: f64,
    pub factors: Vec<Factor>,
}

/// Accounts the riskiest list keeps.
pub const RISKIEST_ROWS: usize = 200;

fn drivers_key(today: NaiveDate, lead_days: i64) -> String {
    format!("drivers|{today}|{lead_days}")
}

fn riskiest_key(today: NaiveDate, model_id: i64) -> String {
    format!("riskiest|{today}|{model_id}")
}

impl Store {
    async fn kept<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Computed<T>>> {
        let newer_than = now() - chrono::Duration::seconds(crate::AHEAD_SECONDS);
        Ok(self
            .precomputed(key, newer_than)
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    async fn keep<T: Serialize>(&self, key: &str, value: T) -> Result<()> {
        let text = serde_json::to_string(&Computed {
            computed_at: now(),
            value,
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put_precomputed(key, &text).await
    }

    /// Churned against renewed accounts among renewals decided in the year to `today`, on every
    /// indicator `lead_days` before the renewal date (computed and kept where missing).
    pub async fn churn_drivers(
        &self,
        today: NaiveDate,
        lead_days: i64,
        adoption: &AdoptionSettings,
    ) -> Result<Computed<Analysis>> {
        let rows = self
            .renewal_features(
                today - Days::new(365),
                today,
                lead_days,
                adoption,
                true,
                false,
            )
            .await?;
        let value = drivers::analyse(rows.iter().map(|r| {
            (
                r.renewal.outcome == RenewalOutcome::Churned,
                r.indicators.as_ref(),
                r.score,
            )
        }));
        Ok(Computed {
            computed_at: now(),
            value,
        })
    }

    /// [`Store::churn_drivers`], from the kept result when there is a recent one.
    pub async fn churn_drivers_or_compute(
        &self,
        today: NaiveDate,
        lead_days: i64,
        adoption: &AdoptionSettings,
    ) -> Result<Computed<Analysis>> {
        if let Some(kept) = self.kept(&drivers_key(today, lead_days)).await? {
            return Ok(kept);
        }
        self.churn_drivers(today, lead_days, adoption).await
    }

    /// The accounts the model rates riskiest, at most [`RISKIEST_ROWS`], riskiest first.
    pub async fn riskiest(&self, m: &StoredChurnModel) -> Result<Computed<Vec<RiskyAccount>>> {
        let c = &m.model.coefficients;
        let mut rated: Vec<RiskyAccount> = self
            .current_indicators(None)
            .await?
            .into_iter()
            .map(|a| {
                let (probability, factors) =
                    c.predict(&model::values_of(&a.indicators, &c.features));
                RiskyAccount {
                    account_id: a.account_id,
                    account_name: a.account_name,
                    probability,
                    factors: factors
                        .into_iter()
                        .filter(|f| f.contribution > 0.0)
                        .take(3)
                        .collect(),
                }
            })
            .collect();
        rated.sort_by(|x, y| {
            y.probability
                .total_cmp(&x.probability)
                .then(x.account_id.cmp(&y.account_id))
        });
        rated.truncate(RISKIEST_ROWS);
        Ok(Computed {
            computed_at: now(),
            value: rated,
        })
    }

    /// [`Store::riskiest`], from the kept result for this model when there is a recent one.
    pub async fn riskiest_or_compute(
        &self,
        today: NaiveDate,
        m: &StoredChurnModel,
    ) -> Result<Computed<Vec<RiskyAccount>>> {
        if let Some(kept) = self.kept(&riskiest_key(today, m.id)).await? {
            return Ok(kept);
        }
        self.riskiest(m).await
    }

    /// Computes ahead and keeps the churn drivers at the default lead time and, when a model is
    /// trained, its riskiest accounts.
    pub async fn precompute_insight_pages(
        &self,
        today: NaiveDate,
        adoption: &AdoptionSettings,
    ) -> Result<()> {
        let d = self
            .churn_drivers(today, DEFAULT_LEAD_DAYS, adoption)
            .await?;
        self.keep(&drivers_key(today, DEFAULT_LEAD_DAYS), d.value)
            .await?;
        if let Some(m) = self.churn_model(None).await? {
            let r = self.riskiest(&m).await?;
            self.keep(&riskiest_key(today, m.id), r.value).await?;
        }
        Ok(())
    }
}
