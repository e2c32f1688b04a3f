//! Segmentation rules: stored as one settings document, applied to every live account. An axis a
//! person (not Kizuna itself) set on an account is recorded in `axes_by_hand` and left alone.

use std::collections::HashMap;

use kizuna_domain::segmentation::SegmentationRules;
use serde::Serialize;

use crate::audit::{audit, Actor};
use crate::health::CHUNK_ACCOUNTS;
use crate::{now, Result, Store, StoreError};

const RULES_KEY: &str = "segmentation_rules";

/// What applying the rules changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentationRun {
    pub accounts_checked: usize,
    pub accounts_changed: usize,
    /// Axis values left as they were because a person set them.
    pub kept_by_hand: usize,
}

impl Store {
    pub async fn segmentation_rules(&self) -> Result<SegmentationRules> {
        let text = self.setting(RULES_KEY).await?;
        match text {
            None => Ok(SegmentationRules::default()),
            Some(t) => serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("segmentation rules: {e}"))),
        }
    }

    pub async fn set_segmentation_rules(
        &self,
        rules: &SegmentationRules,
        actor: &Actor,
    ) -> Result<()> {
        rules.compile()?;
        let text = serde_json::to_string(rules)
            .map_err(|e| StoreError::Corrupt(format!("cannot write JSON: {e}")))?;
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(RULES_KEY)
            .bind(&text)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "segmentation.rules",
                "settings",
                None::<i64>,
                Some(text.clone())
            );
        });
        Ok(())
    }

    /// Sets every live account's axes from the rules, except those set by hand.
    pub async fn apply_segmentation_rules(&self, actor: &Actor) -> Result<SegmentationRun> {
        let compiled = self.segmentation_rules().await?.compile()?;
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM accounts WHERE deleted_at IS NULL"
        )
        .fetch_one(pool)
        .await?);
        let mut run = SegmentationRun::default();
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(run);
        };
        let mut start = lo;
        while start <= hi {
            let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
            let by_hand: HashMap<i64, String> = on_pool!(self, |pool| sqlx::query_as::<_, (i64, String)>(
                "SELECT id, axes_by_hand FROM accounts WHERE deleted_at IS NULL AND id BETWEEN $1 AND $2"
            )
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?)
            .into_iter()
            .collect();
            let mut changes: Vec<(i64, &'static str, String)> = Vec::new();
            for (id, facts) in self.facts_range(start, end).await? {
                run.accounts_checked += 1;
                let hand = by_hand.get(&id).map(String::as_str).unwrap_or("");
                let mut changed = false;
                for (axis, value) in compiled.assign(&facts) {
                    let current = match axis.as_str() {
                        "contract_value_tier" => facts.contract_value_tier.as_deref(),
                        "growth_potential" => facts.growth_potential.as_deref(),
                        "brand_value" => facts.brand_value.as_deref(),
                        "referral_likelihood" => facts.referral_likelihood.as_deref(),
                        _ => Some(facts.coverage_tier.as_str()),
                    };
                    if current == Some(value.as_str()) {
                        continue;
                    }
                    if hand.split(',').any(|f| f == axis.as_str()) {
                        run.kept_by_hand += 1;
                        continue;
                    }
                    changes.push((id, axis.as_str(), value));
                    changed = true;
                }
                if changed {
                    run.accounts_changed += 1;
                }
            }
            if !changes.is_empty() {
                in_tx!(self, |tx| {
                    for (id, column, value) in &changes {
                        // The column name comes from the closed `Axis` vocabulary, never from input.
                        let sql = format!(
                            "UPDATE accounts SET {column} = $1, updated_at = $2 WHERE id = $3"
                        );
                        sqlx::query(&sql)
                            .bind(value)
                            .bind(now())
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    audit!(
                        tx,
                        actor,
                        "segmentation.apply",
                        "accounts",
                        None::<i64>,
                        Some(format!("{} changes", changes.len()))
                    );
                });
            }
            start = end + 1;
        }
        Ok(run)
    }
}
