//! What a scorecard change would do before it is saved: each account the draft applies to is
//! scored with it from its latest indicators and manual scores in force, and compared with the
//! score it has now.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kizuna_domain::scorecard::{manual_in_force, AccountAxes, ManualScore, Scorecard};
use serde::Serialize;

use crate::health::CHUNK_ACCOUNTS;
use crate::{Result, Store};

/// How a draft scorecard moves accounts between bands.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorecardPreview {
    pub accounts_checked: usize,
    /// Accounts the draft applies to (its tiers, stages and segments).
    pub applies: usize,
    /// Of those, accounts whose band would change.
    pub moved: usize,
    /// … to a better band, and to a worse one.
    pub better: usize,
    pub worse: usize,
    /// Accounts per (band now → band with the draft); `none` is no score.
    pub transitions: Vec<BandMove>,
    /// The accounts that change band, then those whose score moves most; up to 20.
    pub examples: Vec<MovedAccount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandMove {
    pub from: String,
    pub to: String,
    pub accounts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MovedAccount {
    pub id: i64,
    pub name: String,
    pub score_now: Option<f64>,
    pub score_draft: Option<f64>,
    pub band_now: Option<String>,
    pub band_draft: Option<String>,
}

fn rank(band: Option<&str>) -> i32 {
    match band {
        Some("green") => 3,
        Some("yellow") => 2,
        Some("red") => 1,
        _ => 0,
    }
}

impl Store {
    pub async fn preview_scorecard(
        &self,
        card: &Scorecard,
        today: NaiveDate,
    ) -> Result<ScorecardPreview> {
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM accounts WHERE deleted_at IS NULL"
        )
        .fetch_one(pool)
        .await?);
        let mut out = ScorecardPreview::default();
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(out);
        };
        let mut transitions: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut examples: Vec<(f64, MovedAccount)> = Vec::new();
        let mut start = lo;
        while start <= hi {
            let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
            let facts = self.facts_range(start, end).await?;
            let manual: Vec<(i64, String, f64, Option<NaiveDate>)> = on_pool!(self, |pool| {
                sqlx::query_as(
                "SELECT account_id, measure, score, expires_on FROM manual_scores WHERE account_id BETWEEN $1 AND $2"
            )
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?
            });
            let mut by_account: BTreeMap<i64, Vec<ManualScore>> = BTreeMap::new();
            for (id, measure, score, expires_on) in manual {
                by_account.entry(id).or_default().push(ManualScore {
                    measure,
                    score,
                    expires_on,
                });
            }
            for (id, f) in facts {
                out.accounts_checked += 1;
                let (Ok(tier), Ok(stage)) = (f.coverage_tier.parse(), f.lifecycle_stage.parse())
                else {
                    continue;
                };
                let axes = AccountAxes {
                    coverage_tier: tier,
                    lifecycle_stage: stage,
                    contract_value_tier: f
                        .contract_value_tier
                        .as_deref()
                        .and_then(|t| t.parse().ok()),
                };
                if !card.applies_to(&axes) {
                    continue;
                }
                out.applies += 1;
                let manual = by_account
                    .get(&id)
                    .map(|m| manual_in_force(m, today))
                    .unwrap_or_default();
                let h = card.score(&f.indicators, &manual);
                let draft_band = h.band.map(|b| b.as_str().to_string());
                let now_band = f.health_band.clone();
                let key = (
                    now_band.clone().unwrap_or_else(|| "none".into()),
                    draft_band.clone().unwrap_or_else(|| "none".into()),
                );
                *transitions.entry(key).or_default() += 1;
                if draft_band != now_band {
                    out.moved += 1;
                    if rank(draft_band.as_deref()) > rank(now_band.as_deref()) {
                        out.better += 1;
                    } else {
                        out.worse += 1;
                    }
                }
                // Band changes first, then the biggest score changes.
                let delta = match (f.health_score, h.score) {
                    (Some(a), Some(b)) => (a - b).abs(),
                    (None, None) => 0.0,
                    _ => 100.0,
                } + if draft_band != now_band { 1000.0 } else { 0.0 };
                if delta > 0.0 {
                    examples.push((
                        delta,
                        MovedAccount {
                            id,
                            name: f.name.clone(),
                            score_now: f.health_score,
                            score_draft: h.score,
                            band_now: now_band,
                            band_draft: draft_band,
                        },
                    ));
                    if examples.len() > 200 {
                        examples.sort_by(|a, b| b.0.total_cmp(&a.0));
                        examples.truncate(20);
                    }
                }
            }
            start = end + 1;
        }
        examples.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.examples = examples.into_iter().take(20).map(|e| e.1).collect();
        out.transitions = transitions
            .into_iter()
            .map(|((from, to), accounts)| BandMove { from, to, accounts })
            .collect();
        Ok(out)
    }
}
