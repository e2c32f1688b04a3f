//! The feature catalogue, discovered from usage events and curated by admins.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use kizuna_domain::feature::{Feature, FeatureChange};
use kizuna_domain::ids::FeatureId;

use crate::audit::{audit, Actor};
use crate::{now, Result, Store, StoreError};

/// Feature ids by key. Features are never deleted and a key's id never changes, so entries stay
/// valid even when several instances share the database.
#[derive(Clone, Default)]
pub(crate) struct FeatureCache(Arc<RwLock<HashMap<String, i64>>>);

#[derive(sqlx::FromRow)]
struct FeatureRow {
    id: i64,
    key: String,
    display_name: Option<String>,
    module: Option<String>,
    is_key: bool,
    weight: f64,
    first_seen_at: DateTime<Utc>,
}

impl From<FeatureRow> for Feature {
    fn from(r: FeatureRow) -> Self {
        Feature {
            id: FeatureId(r.id),
            display_name: r.display_name.unwrap_or_else(|| r.key.clone()),
            key: r.key,
            module: r.module,
            is_key: r.is_key,
            weight: r.weight,
            first_seen_at: r.first_seen_at,
        }
    }
}

const FEATURE_COLUMNS: &str = "id, key, display_name, module, is_key, weight, first_seen_at";

impl Store {
    /// The ids of these feature keys, adding the keys not seen before to the catalogue.
    pub async fn feature_ids(&self, keys: &[&str]) -> Result<HashMap<String, i64>> {
        let mut found = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        {
            let cache = self
                .features
                .0
                .read()
                .map_err(|_| StoreError::Corrupt("feature cache poisoned".into()))?;
            for k in keys {
                match cache.get(*k) {
                    Some(id) => {
                        found.insert((*k).to_string(), *id);
                    }
                    None => missing.push(k),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(found);
        }
        let now = now();
        let rows: Vec<(i64, String)> = on_pool!(self, |pool| {
            let mut rows = Vec::with_capacity(missing.len());
            for key in &missing {
                sqlx::query("INSERT INTO features (key, first_seen_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(*key)
                    .bind(now)
                    .execute(pool)
                    .await?;
                let id: i64 = sqlx::query_scalar("SELECT id FROM features WHERE key = $1")
                    .bind(*key)
                    .fetch_one(pool)
                    .await?;
                rows.push((id, (*key).to_string()));
            }
            rows
        });
        let mut cache = self
            .features
            .0
            .write()
            .map_err(|_| StoreError::Corrupt("feature cache poisoned".into()))?;
        for (id, key) in rows {
            cache.insert(key.clone(), id);
            found.insert(key, id);
        }
        Ok(found)
    }

    pub async fn list_features(&self) -> Result<Vec<Feature>> {
        let sql =
            format!("SELECT {FEATURE_COLUMNS} FROM features ORDER BY module IS NULL, module, key");
        let rows: Vec<FeatureRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Feature::from).collect())
    }

    pub async fn feature(&self, id: FeatureId) -> Result<Feature> {
        let sql = format!("SELECT {FEATURE_COLUMNS} FROM features WHERE id = $1");
        let row: Option<FeatureRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        Ok(row
            .ok_or_else(|| StoreError::not_found(format!("feature {id}")))?
            .into())
    }

    /// Marks a feature key or not, names it, moves it to a module, weighs it.
    pub async fn update_feature(
        &self,
        id: FeatureId,
        change: FeatureChange,
        actor: &Actor,
    ) -> Result<Feature> {
        let current = self.feature(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("UPDATE features SET display_name = $1, module = $2, is_key = $3, weight = $4 WHERE id = $5")
                .bind(change.display_name.or(Some(current.display_name.clone())).filter(|n| *n != current.key))
                .bind(change.module.or(current.module.clone()))
                .bind(change.is_key.unwrap_or(current.is_key))
                .bind(change.weight.unwrap_or(current.weight))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "update",
                "feature",
                Some(id.0),
                Some(current.key.clone())
            );
        });
        self.feature(id).await
    }
}
