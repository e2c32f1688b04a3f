//! Saved dynamic segments and condition evaluation over the whole account base: accounts are read
//! with their latest indicators in id ranges and matched in Rust (the condition language is CEL,
//! evaluated by a library, never translated to SQL by hand).

use chrono::{DateTime, Utc};
use kizuna_domain::condition::{Condition, Facts};
use kizuna_domain::indicator::Indicators;
use kizuna_domain::ValidationError;
use serde::{Deserialize, Serialize};

use crate::audit::{audit, Actor};
use crate::health::CHUNK_ACCOUNTS;
use crate::{now, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// A CEL condition, e.g. `coverage_tier == 'high_touch' && health_band == 'red'`.
    pub expression: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller sends to create or change a segment.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SegmentDraft {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expression: Option<String>,
}

/// Which accounts a condition matches now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentMatch {
    pub count: usize,
    /// The first matching account ids (by id), at most the limit asked for.
    pub account_ids: Vec<i64>,
    /// Accounts the condition could not be evaluated for (a missing value compared with a
    /// number, say); they do not match.
    pub not_evaluable: usize,
    pub accounts_checked: usize,
}

type FactsRow = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    f64,
    i64,
    Option<f64>,
    Option<String>,
    Option<String>,
);

type IndicatorRow = (
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
);

fn checked(draft: &SegmentDraft) -> Result<(String, Option<String>, String)> {
    let name = draft.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(ValidationError::single("name", "must not be empty").into());
    }
    let expression = draft.expression.as_deref().unwrap_or_default();
    let condition = Condition::parse("expression", expression)?;
    Ok((
        name.to_string(),
        draft.description.clone(),
        condition.source().to_string(),
    ))
}

impl Store {
    pub async fn list_segments(&self) -> Result<Vec<Segment>> {
        self.segments_where("", None).await
    }

    pub async fn segment(&self, id: i64) -> Result<Segment> {
        self.segments_where("WHERE id = $1", Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found(format!("segment {id}")))
    }

    async fn segments_where(&self, filter: &str, id: Option<i64>) -> Result<Vec<Segment>> {
        let sql = format!(
            "SELECT id, name, description, expression, created_by, created_at, updated_at FROM segments {filter} ORDER BY name"
        );
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            String,
            Option<String>,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        )> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(&sql);
            if let Some(id) = id {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, name, description, expression, created_by, created_at, updated_at)| Segment {
                    id,
                    name,
                    description,
                    expression,
                    created_by,
                    created_at,
                    updated_at,
                },
            )
            .collect())
    }

    pub async fn create_segment(&self, draft: SegmentDraft, actor: &Actor) -> Result<Segment> {
        let (name, description, expression) = checked(&draft)?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO segments (name, description, expression, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(&name)
            .bind(&description)
            .bind(&expression)
            .bind(actor.label())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "segment.create",
                "segment",
                Some(id),
                Some(expression.clone())
            );
            id
        });
        self.segment(id).await
    }

    /// Changes the fields the draft carries.
    pub async fn update_segment(
        &self,
        id: i64,
        draft: SegmentDraft,
        actor: &Actor,
    ) -> Result<Segment> {
        let current = self.segment(id).await?;
        let merged = SegmentDraft {
            name: draft.name.or(Some(current.name)),
            description: draft.description.or(current.description),
            expression: draft.expression.or(Some(current.expression)),
        };
        let (name, description, expression) = checked(&merged)?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE segments SET name = $1, description = $2, expression = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(&name)
            .bind(&description)
            .bind(&expression)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "segment.update",
                "segment",
                Some(id),
                Some(expression.clone())
            );
        });
        self.segment(id).await
    }

    pub async fn delete_segment(&self, id: i64, actor: &Actor) -> Result<()> {
        self.segment(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM segments WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "segment.delete",
                "segment",
                Some(id),
                None::<String>
            );
        });
        Ok(())
    }

    /// Evaluates a condition over every live account (with its latest indicators).
    pub async fn match_condition(
        &self,
        condition: &Condition,
        limit: usize,
    ) -> Result<SegmentMatch> {
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM accounts WHERE deleted_at IS NULL"
        )
        .fetch_one(pool)
        .await?);
        let mut out = SegmentMatch::default();
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(out);
        };
        let mut start = lo;
        while start <= hi {
            let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
            for f in self.facts_range(start, end).await? {
                out.accounts_checked += 1;
                match condition.matches(&f.1) {
                    Ok(true) => {
                        out.count += 1;
                        if out.account_ids.len() < limit {
                            out.account_ids.push(f.0);
                        }
                    }
                    Ok(false) => {}
                    Err(_) => out.not_evaluable += 1,
                }
            }
            start = end + 1;
        }
        Ok(out)
    }

    /// The facts a condition sees, for the live accounts with ids in `lo..=hi`.
    pub async fn facts_range(&self, lo: i64, hi: i64) -> Result<Vec<(i64, Facts)>> {
        let (accounts, indicators): (Vec<FactsRow>, Vec<IndicatorRow>) = on_pool!(self, |pool| {
            // Two connections, two reads at once.
            let a = sqlx::query_as::<_, FactsRow>(
                "SELECT id, name, industry, employees, coverage_tier, lifecycle_stage, contract_value_tier, \
                 growth_potential, brand_value, referral_likelihood, owner_id, mrr, seats, health_score, health_band, \
                 health_trend FROM accounts WHERE deleted_at IS NULL AND id BETWEEN $1 AND $2 ORDER BY id",
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(pool);
            let i = sqlx::query_as::<_, IndicatorRow>(
                "SELECT account_id, usage_trend, active_users, seat_utilization, breadth, depth, days_since_activity, \
                 open_tickets, nps_latest, nps_average, days_since_touchpoint, days_to_renewal, champion_active, \
                 adoption_index, metrics FROM account_indicators WHERE account_id BETWEEN $1 AND $2 ORDER BY account_id",
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(pool);
            futures::try_join!(a, i)?
        });
        let mut by_id: std::collections::HashMap<i64, Indicators> = indicators
            .into_iter()
            .map(|r| {
                let metrics =
                    r.14.as_deref()
                        .and_then(|m| serde_json::from_str(m).ok())
                        .unwrap_or_default();
                (
                    r.0,
                    Indicators {
                        usage_trend: r.1,
                        active_users: r.2,
                        seat_utilization: r.3,
                        breadth: r.4,
                        depth: r.5,
                        days_since_activity: r.6,
                        open_tickets: r.7,
                        nps_latest: r.8,
                        nps_average: r.9,
                        days_since_touchpoint: r.10,
                        days_to_renewal: r.11,
                        champion_active: r.12,
                        adoption_index: r.13,
                        metrics,
                    },
                )
            })
            .collect();
        Ok(accounts
            .into_iter()
            .map(|a| {
                let indicators = by_id.remove(&a.0).unwrap_or_default();
                (
                    a.0,
                    Facts {
                        name: a.1,
                        industry: a.2,
                        employees: a.3,
                        coverage_tier: a.4,
                        lifecycle_stage: a.5,
                        contract_value_tier: a.6,
                        growth_potential: a.7,
                        brand_value: a.8,
                        referral_likelihood: a.9,
                        owner_id: a.10,
                        mrr: a.11,
                        seats: a.12,
                        health_score: a.13,
                        health_band: a.14,
                        health_trend: a.15,
                        indicators,
                    },
                )
            })
            .collect())
    }
}
