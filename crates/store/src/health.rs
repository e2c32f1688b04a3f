//! Health scores: scorecards, the recompute that turns rollups and records into indicators and
//! snapshots, manual scores, and the reads that explain a score.
//!
//! A recompute works through accounts in id ranges ([`CHUNK_ACCOUNTS`] at a time), so memory stays
//! bounded however many accounts there are. Per range it runs one set-based query per input
//! (usage, users, features, subscriptions, tickets, NPS, touchpoints, champions, metrics, manual
//! scores, previous score), derives the indicators with the domain's one definition, scores them,
//! and writes the snapshots (and, for today, the account's current score) in one transaction.
//!
//! Today's recompute reads the "latest use" tables (one row per account and user, and per account
//! and feature), kept by the usage write path; a recompute of a past day reads the daily rollups.
//! Both give the same figures for today (tested).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use chrono::{DateTime, Days, NaiveDate, Utc};
use kizuna_domain::health::{HealthBand, Trend};
use kizuna_domain::ids::AccountId;
use kizuna_domain::indicator::{
    adoption_band, AdoptionBand, AdoptionSettings, IndicatorInputs, IndicatorRef, Indicators,
    NPS_WINDOW_DAYS, USAGE_WINDOW_DAYS,
};
use kizuna_domain::scorecard::{
    manual_in_force, select, AccountAxes, ManualScore, MeasurePoint, Scorecard, ScorecardDef,
};
use kizuna_domain::ValidationError;
use serde::Serialize;

use crate::audit::{audit, Actor};
use crate::rows::{parse, parse_opt};
use crate::sql::placeholders;
use crate::{now, Result, Store, StoreError};

/// Accounts per recompute step.
pub const CHUNK_ACCOUNTS: i64 = 5_000;
/// Rows per multi-row write statement.
const WRITE_ROWS: usize = 1_000;

/// A scorecard as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredScorecard {
    pub id: i64,
    #[serde(flatten)]
    pub definition: ScorecardDef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a recompute did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreRun {
    pub day: Option<NaiveDate>,
    /// Accounts looked at.
    pub accounts: usize,
    /// Accounts that got a score (the others had no data for any measure).
    pub scored: usize,
    pub seconds: f64,
}

/// One account's health on one day, as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub account_id: i64,
    pub day: NaiveDate,
    pub scorecard_id: i64,
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub previous_score: Option<f64>,
    pub trend: Option<Trend>,
    pub adoption_index: Option<f64>,
    pub adoption_band: Option<AdoptionBand>,
    pub measures: Vec<MeasurePoint>,
    pub computed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    account_id: i64,
    day: NaiveDate,
    scorecard_id: i64,
    score: Option<f64>,
    band: Option<String>,
    previous_score: Option<f64>,
    trend: Option<String>,
    adoption_index: Option<f64>,
    adoption_band: Option<String>,
    measures: String,
    computed_at: DateTime<Utc>,
}

impl TryFrom<SnapshotRow> for Snapshot {
    type Error = StoreError;
    fn try_from(r: SnapshotRow) -> Result<Self> {
        Ok(Snapshot {
            account_id: r.account_id,
            day: r.day,
            scorecard_id: r.scorecard_id,
            score: r.score,
            band: parse_opt(r.band.as_deref(), "health band")?,
            previous_score: r.previous_score,
            trend: parse_opt(r.trend.as_deref(), "trend")?,
            adoption_index: r.adoption_index,
            adoption_band: parse_opt(r.adoption_band.as_deref(), "adoption band")?,
            measures: serde_json::from_str(&r.measures)
                .map_err(|e| StoreError::Corrupt(format!("snapshot measures: {e}")))?,
            computed_at: r.computed_at,
        })
    }
}

const SNAPSHOT_COLUMNS: &str =
    "account_id, day, scorecard_id, score, band, previous_score, trend, \
    adoption_index, adoption_band, measures, computed_at";

#[derive(sqlx::FromRow)]
struct ScorecardRow {
    id: i64,
    is_default: bool,
    definition: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ScorecardRow> for StoredScorecard {
    type Error = StoreError;
    fn try_from(r: ScorecardRow) -> Result<Self> {
        let mut definition: ScorecardDef = serde_json::from_str(&r.definition)
            .map_err(|e| StoreError::Corrupt(format!("scorecard {}: {e}", r.id)))?;
        // The column is the truth: making another scorecard the default clears it here only.
        definition.is_default = r.is_default;
        Ok(StoredScorecard {
            id: r.id,
            definition,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Everything one account's recompute needs, gathered set-wise for a range of accounts.
#[derive(Debug, Clone)]
pub(crate) struct Gathered {
    pub(crate) id: i64,
    pub(crate) axes: AccountAxes,
    pub(crate) inputs: IndicatorInputs,
    manual: Vec<ManualScore>,
    previous: Option<f64>,
}

/// One account's score worked out now, with everything that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub scorecard_id: i64,
    pub scorecard_name: String,
    pub health: kizuna_domain::scorecard::Health,
    pub previous_score: Option<f64>,
    pub trend: Option<Trend>,
    pub indicators: Indicators,
    pub adoption_band: Option<AdoptionBand>,
    pub manual: Vec<ManualScore>,
}

/// Where usage comes from: the "latest use" tables (today) or the daily rollups (any day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSource {
    Latest,
    Rollups,
}

/// One account's computed health, ready to write.
struct Computed {
    id: i64,
    scorecard_id: i64,
    health_score: Option<f64>,
    band: Option<HealthBand>,
    previous: Option<f64>,
    trend: Option<Trend>,
    adoption_index: Option<f64>,
    adoption_band: Option<AdoptionBand>,
    measures: String,
    indicators: Indicators,
}

/// The scorecards in force, parsed once per run.
pub(crate) struct Cards {
    pub(crate) cards: Vec<(i64, Scorecard)>,
    pub(crate) metric_dims: BTreeSet<String>,
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Milliseconds per step, for the debug log of a recompute.
struct Laps {
    last: Instant,
    steps: Vec<(&'static str, u128)>,
}

impl Laps {
    fn new() -> Laps {
        Laps {
            last: Instant::now(),
            steps: Vec::new(),
        }
    }

    fn mark(&mut self, step: &'static str) {
        self.steps.push((step, self.last.elapsed().as_millis()));
        self.last = Instant::now();
    }
}

impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, ms) in &self.steps {
            write!(f, "{name}={ms}ms ")?;
        }
        Ok(())
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot write JSON: {e}")))
}

fn minus(day: NaiveDate, n: i64) -> NaiveDate {
    day.checked_sub_days(Days::new(n as u64)).unwrap_or(day)
}

fn severity_index(s: &str) -> Option<usize> {
    match s {
        "low" => Some(0),
        "normal" => Some(1),
        "high" => Some(2),
        "urgent" => Some(3),
        _ => None,
    }
}

impl Store {
    // ---------------------------------------------------------------- scorecards

    pub async fn list_scorecards(&self) -> Result<Vec<StoredScorecard>> {
        let rows: Vec<ScorecardRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, is_default, definition, created_at, updated_at FROM scorecards ORDER BY is_default DESC, priority DESC, id"
        )
        .fetch_all(pool)
        .await?
        });
        rows.into_iter().map(StoredScorecard::try_from).collect()
    }

    pub async fn scorecard(&self, id: i64) -> Result<StoredScorecard> {
        let row: Option<ScorecardRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, is_default, definition, created_at, updated_at FROM scorecards WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        });
        row.ok_or_else(|| StoreError::not_found(format!("scorecard {id}")))?
            .try_into()
    }

    /// Stores a new scorecard. Making it the default takes the default from the one before.
    pub async fn create_scorecard(
        &self,
        card: Scorecard,
        actor: &Actor,
    ) -> Result<StoredScorecard> {
        let def = card.into_def();
        let at = now();
        let text = to_json(&def)?;
        let id: i64 = in_tx!(self, |tx| {
            if def.is_default {
                sqlx::query("UPDATE scorecards SET is_default = false WHERE is_default")
                    .execute(&mut *tx)
                    .await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO scorecards (name, is_default, priority, definition, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(&def.name)
            .bind(def.is_default)
            .bind(def.priority)
            .bind(&text)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "scorecard.create",
                "scorecard",
                Some(id),
                Some(def.name.clone())
            );
            // Every account may now fall under another scorecard.
            sqlx::query("INSERT INTO score_queue (account_id) SELECT id FROM accounts WHERE deleted_at IS NULL ON CONFLICT DO NOTHING")
                .execute(&mut *tx)
                .await?;
            id
        });
        self.scorecard(id).await
    }

    /// Replaces a scorecard's definition. The default cannot stop being the default except by
    /// another one becoming it.
    pub async fn update_scorecard(
        &self,
        id: i64,
        card: Scorecard,
        actor: &Actor,
    ) -> Result<StoredScorecard> {
        let def = card.into_def();
        let current = self.scorecard(id).await?;
        if current.definition.is_default && !def.is_default {
            return Err(ValidationError::single(
                "is_default",
                "a scorecard stops being the default only when another one is made the default",
            )
            .into());
        }
        let text = to_json(&def)?;
        in_tx!(self, |tx| {
            if def.is_default {
                sqlx::query(
                    "UPDATE scorecards SET is_default = false WHERE is_default AND id <> $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE scorecards SET name = $1, is_default = $2, priority = $3, definition = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(&def.name)
            .bind(def.is_default)
            .bind(def.priority)
            .bind(&text)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "scorecard.update",
                "scorecard",
                Some(id),
                Some(def.name.clone())
            );
            sqlx::query("INSERT INTO score_queue (account_id) SELECT id FROM accounts WHERE deleted_at IS NULL ON CONFLICT DO NOTHING")
                .execute(&mut *tx)
                .await?;
        });
        self.scorecard(id).await
    }

    pub async fn delete_scorecard(&self, id: i64, actor: &Actor) -> Result<()> {
        let current = self.scorecard(id).await?;
        if current.definition.is_default {
            return Err(ValidationError::single(
                "id",
                "the default scorecard cannot be deleted; make another one the default first",
            )
            .into());
        }
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM scorecards WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "scorecard.delete",
                "scorecard",
                Some(id),
                Some(current.definition.name.clone())
            );
            sqlx::query("INSERT INTO score_queue (account_id) SELECT id FROM accounts WHERE deleted_at IS NULL ON CONFLICT DO NOTHING")
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Installs the shipped default scorecard when there is no scorecard at all.
    pub async fn ensure_default_scorecard(&self) -> Result<()> {
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM scorecards"
        )
        .fetch_one(pool)
        .await?);
        if n == 0 {
            let card = Scorecard::parse(kizuna_domain::scorecard::default_scorecard())?;
            // The request path and the background scorer may both find none and race to create
            // it; whoever loses finds it made.
            match self.create_scorecard(card, &Actor::System("setup")).await {
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(crate) async fn cards(&self) -> Result<Cards> {
        let mut stored = self.list_scorecards().await?;
        if stored.is_empty() {
            self.ensure_default_scorecard().await?;
            stored = self.list_scorecards().await?;
        }
        let mut cards = Vec::new();
        for s in stored {
            let card = Scorecard::parse(s.definition)
                .map_err(|e| StoreError::Corrupt(format!("scorecard {}: {e}", s.id)))?;
            cards.push((s.id, card));
        }
        let metric_dims = cards
            .iter()
            .flat_map(|(_, c)| c.indicators())
            .filter_map(|r| match r {
                IndicatorRef::Metric(d) => Some(d.clone()),
                IndicatorRef::Builtin(_) => None,
            })
            .collect();
        Ok(Cards { cards, metric_dims })
    }

    // ---------------------------------------------------------------- manual scores

    /// Sets a score by hand on one measure of one account, until `expires_on` (exclusive).
    pub async fn set_manual_score(
        &self,
        account: AccountId,
        score: &ManualScore,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<()> {
        if !(score.score.is_finite() && (0.0..=100.0).contains(&score.score)) {
            return Err(ValidationError::single("score", "must be between 0 and 100").into());
        }
        if score.measure.trim().is_empty() {
            return Err(ValidationError::single("measure", "must not be empty").into());
        }
        self.account(account).await?;
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO manual_scores (account_id, measure, score, expires_on, note, set_by, set_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, measure) DO UPDATE SET \
                 score = excluded.score, expires_on = excluded.expires_on, note = excluded.note, \
                 set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(account.0)
            .bind(&score.measure)
            .bind(score.score)
            .bind(score.expires_on)
            .bind(note)
            .bind(actor.label())
            .bind(now())
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "health.manual_score",
                "account",
                Some(account.0),
                Some(format!("{} = {}", score.measure, score.score))
            );
        });
        Ok(())
    }

    pub async fn delete_manual_score(
        &self,
        account: AccountId,
        measure: &str,
        actor: &Actor,
    ) -> Result<()> {
        let n = in_tx!(self, |tx| {
            let n = sqlx::query("DELETE FROM manual_scores WHERE account_id = $1 AND measure = $2")
                .bind(account.0)
                .bind(measure)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            audit!(
                tx,
                actor,
                "health.manual_score.delete",
                "account",
                Some(account.0),
                Some(measure.to_string())
            );
            n
        });
        if n == 0 {
            return Err(StoreError::not_found(format!(
                "manual score `{measure}` of account {}",
                account.0
            )));
        }
        Ok(())
    }

    pub async fn manual_scores(&self, account: AccountId) -> Result<Vec<ManualScore>> {
        let rows: Vec<(String, f64, Option<NaiveDate>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT measure, score, expires_on FROM manual_scores WHERE account_id = $1 ORDER BY measure"
        )
        .bind(account.0)
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(measure, score, expires_on)| ManualScore {
                measure,
                score,
                expires_on,
            })
            .collect())
    }

    // ---------------------------------------------------------------- recompute

    /// Recomputes every account for `on`. Today reads the latest-use tables and updates each
    /// account's current score; another day reads the daily rollups and writes snapshots only.
    pub async fn score_all(&self, on: NaiveDate, adoption: &AdoptionSettings) -> Result<ScoreRun> {
        let started = Instant::now();
        let cards = self.cards().await?;
        let today = now().date_naive();
        let source = if on >= today {
            UsageSource::Latest
        } else {
            UsageSource::Rollups
        };
        let (lo, hi): (Option<i64>, Option<i64>) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM accounts"
        )
        .fetch_one(pool)
        .await?);
        let mut run = ScoreRun {
            day: Some(on),
            ..Default::default()
        };
        let current = on >= today;
        if current {
            // Every account is read after this, so a change that lands during the run queues
            // its account again and nothing is missed.
            in_tx!(self, |tx| {
                sqlx::query("DELETE FROM score_queue")
                    .execute(&mut *tx)
                    .await?;
            });
        }
        if let (Some(lo), Some(hi)) = (lo, hi) {
            // Pipelined: the next range is read and scored while the previous one is written
            // (with WAL, SQLite reads alongside the one writer; PostgreSQL anyway).
            let mut pending: Option<Vec<Computed>> = None;
            let mut start = lo;
            while start <= hi || pending.is_some() {
                let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
                let next = async {
                    if start <= hi {
                        self.compute_range(start, end, on, source, &cards, adoption)
                            .await
                            .map(Some)
                    } else {
                        Ok(None)
                    }
                };
                let write = async {
                    match pending.take() {
                        Some(rows) => {
                            let t = Instant::now();
                            self.write_scores(&rows, on, current).await?;
                            tracing::debug!(
                                rows = rows.len(),
                                ms = t.elapsed().as_millis() as u64,
                                "health scores written"
                            );
                            Ok(())
                        }
                        None => Ok::<(), StoreError>(()),
                    }
                };
                let (computed, written) = tokio::join!(next, write);
                written?;
                if let Some((n, rows)) = computed? {
                    run.accounts += n;
                    run.scored += rows.iter().filter(|c| c.health_score.is_some()).count();
                    pending = Some(rows);
                }
                start = end + 1;
            }
        }
        run.seconds = started.elapsed().as_secs_f64();
        Ok(run)
    }

    /// Recomputes one account for today.
    pub async fn score_account(&self, id: AccountId, adoption: &AdoptionSettings) -> Result<()> {
        let cards = self.cards().await?;
        let today = now().date_naive();
        // One statement, committed on its own (no transaction round trips).
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM score_queue WHERE account_id = $1")
                .bind(id.0)
                .execute(pool)
                .await?;
        });
        self.score_range(
            id.0,
            id.0,
            today,
            UsageSource::Latest,
            true,
            &cards,
            adoption,
        )
        .await?;
        Ok(())
    }

    /// Recomputes, for today, up to `limit` accounts whose inputs changed; returns how many.
    pub async fn drain_score_queue(
        &self,
        limit: i64,
        adoption: &AdoptionSettings,
    ) -> Result<usize> {
        let ids: Vec<i64> = in_tx!(self, |tx| {
            sqlx::query_scalar(
                "DELETE FROM score_queue WHERE account_id IN \
                 (SELECT account_id FROM score_queue ORDER BY account_id LIMIT $1) RETURNING account_id",
            )
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?
        });
        if ids.is_empty() {
            return Ok(0);
        }
        let cards = self.cards().await?;
        let today = now().date_naive();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        // Consecutive ids are computed as one range.
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i;
            while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
                j += 1;
            }
            let result = self
                .score_range(
                    sorted[i],
                    sorted[j],
                    today,
                    UsageSource::Latest,
                    true,
                    &cards,
                    adoption,
                )
                .await;
            if let Err(e) = result {
                // Put the rest back so the next round tries again.
                let rest = &sorted[i..];
                self.requeue(rest).await?;
                return Err(e);
            }
            i = j + 1;
        }
        Ok(ids.len())
    }

    async fn requeue(&self, ids: &[i64]) -> Result<()> {
        let backend = self.backend();
        in_tx!(self, |tx| {
            for chunk in ids.chunks(WRITE_ROWS) {
                let sql = format!(
                    "INSERT INTO score_queue (account_id) VALUES {} ON CONFLICT DO NOTHING",
                    placeholders(backend, chunk.len(), 1)
                );
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// How many accounts wait for a recompute.
    pub async fn score_queue_len(&self) -> Result<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM score_queue"
        )
        .fetch_one(pool)
        .await?))
    }

    /// The indicators of one account as of `on`, straight from the data (nothing written).
    pub async fn indicators_on(
        &self,
        id: AccountId,
        on: NaiveDate,
        source: UsageSource,
        adoption: &AdoptionSettings,
    ) -> Result<Option<Indicators>> {
        let cards = self.cards().await?;
        let g = self
            .gather(id.0, id.0, on, source, &cards.metric_dims)
            .await?;
        Ok(g.first()
            .map(|g| Indicators::derive(&g.inputs, on, adoption)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn score_range(
        &self,
        lo: i64,
        hi: i64,
        on: NaiveDate,
        source: UsageSource,
        current: bool,
        cards: &Cards,
        adoption: &AdoptionSettings,
    ) -> Result<(usize, usize)> {
        let (n, computed) = self
            .compute_range(lo, hi, on, source, cards, adoption)
            .await?;
        let scored = computed.iter().filter(|c| c.health_score.is_some()).count();
        self.write_scores(&computed, on, current).await?;
        Ok((n, scored))
    }

    /// Gathers and scores the accounts with ids in `lo..=hi`; writes nothing. Returns how many
    /// accounts were looked at and their scores.
    async fn compute_range(
        &self,
        lo: i64,
        hi: i64,
        on: NaiveDate,
        source: UsageSource,
        cards: &Cards,
        adoption: &AdoptionSettings,
    ) -> Result<(usize, Vec<Computed>)> {
        let gathered = self.gather(lo, hi, on, source, &cards.metric_dims).await?;
        let mut computed = Vec::with_capacity(gathered.len());
        for g in &gathered {
            let Some(ci) = select(&cards.cards, &g.axes) else {
                continue;
            };
            let (card_id, card) = &cards.cards[ci];
            let indicators = Indicators::derive(&g.inputs, on, adoption);
            let manual = manual_in_force(&g.manual, on);
            let health = card.score(&indicators, &manual);
            let trend = card.trend(g.previous, health.score);
            computed.push(Computed {
                id: g.id,
                scorecard_id: *card_id,
                health_score: health.score,
                band: health.band,
                previous: g.previous,
                trend,
                adoption_index: indicators.adoption_index,
                adoption_band: indicators
                    .adoption_index
                    .map(|i| adoption_band(i, adoption)),
                measures: to_json(&health.points())?,
                indicators,
            });
        }
        Ok((gathered.len(), computed))
    }

    async fn write_scores(&self, rows: &[Computed], on: NaiveDate, current: bool) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let at = now();
        in_tx!(self, |tx| {
            for chunk in rows.chunks(WRITE_ROWS) {
                let sql = format!(
                    "INSERT INTO health_snapshots ({SNAPSHOT_COLUMNS}) VALUES {} \
                     ON CONFLICT (account_id, day) DO UPDATE SET scorecard_id = excluded.scorecard_id, \
                     score = excluded.score, band = excluded.band, previous_score = excluded.previous_score, \
                     trend = excluded.trend, adoption_index = excluded.adoption_index, \
                     adoption_band = excluded.adoption_band, measures = excluded.measures, \
                     computed_at = excluded.computed_at",
                    placeholders(backend, chunk.len(), 11)
                );
                let mut q = sqlx::query(&sql);
                for c in chunk {
                    q = q
                        .bind(c.id)
                        .bind(on)
                        .bind(c.scorecard_id)
                        .bind(c.health_score)
                        .bind(c.band.map(|b| b.as_str()))
                        .bind(c.previous)
                        .bind(c.trend.map(|t| t.as_str()))
                        .bind(c.adoption_index)
                        .bind(c.adoption_band.map(|b| b.as_str()))
                        .bind(&c.measures)
                        .bind(at);
                }
                q.execute(&mut *tx).await?;
                if !current {
                    continue;
                }
                let sql = format!(
                    "INSERT INTO account_indicators (account_id, day, usage_trend, active_users, seat_utilization, \
                     breadth, depth, days_since_activity, open_tickets, nps_latest, nps_average, days_since_touchpoint, \
                     days_to_renewal, champion_active, adoption_index, metrics) VALUES {} \
                     ON CONFLICT (account_id) DO UPDATE SET day = excluded.day, usage_trend = excluded.usage_trend, \
                     active_users = excluded.active_users, seat_utilization = excluded.seat_utilization, \
                     breadth = excluded.breadth, depth = excluded.depth, days_since_activity = excluded.days_since_activity, \
                     open_tickets = excluded.open_tickets, nps_latest = excluded.nps_latest, \
                     nps_average = excluded.nps_average, days_since_touchpoint = excluded.days_since_touchpoint, \
                     days_to_renewal = excluded.days_to_renewal, champion_active = excluded.champion_active, \
                     adoption_index = excluded.adoption_index, metrics = excluded.metrics",
                    placeholders(backend, chunk.len(), 16)
                );
                let mut q = sqlx::query(&sql);
                for c in chunk {
                    let i = &c.indicators;
                    q = q
                        .bind(c.id)
                        .bind(on)
                        .bind(i.usage_trend)
                        .bind(i.active_users)
                        .bind(i.seat_utilization)
                        .bind(i.breadth)
                        .bind(i.depth)
                        .bind(i.days_since_activity)
                        .bind(i.open_tickets)
                        .bind(i.nps_latest)
                        .bind(i.nps_average)
                        .bind(i.days_since_touchpoint)
                        .bind(i.days_to_renewal)
                        .bind(i.champion_active)
                        .bind(i.adoption_index)
                        .bind(to_json(&i.metrics)?);
                }
                q.execute(&mut *tx).await?;
                // Only rows whose figures changed are written: the list's indexes stay untouched
                // for the rest.
                let sql = format!(
                    "UPDATE accounts SET health_score = v.column2, health_band = v.column3, health_trend = v.column4, \
                     adoption_index = v.column5, adoption_band = v.column6, scorecard_id = v.column7 \
                     FROM (VALUES {}) AS v WHERE accounts.id = v.column1 AND (\
                     accounts.health_score IS DISTINCT FROM v.column2 OR accounts.health_band IS DISTINCT FROM v.column3 \
                     OR accounts.health_trend IS DISTINCT FROM v.column4 OR accounts.adoption_index IS DISTINCT FROM v.column5 \
                     OR accounts.adoption_band IS DISTINCT FROM v.column6 OR accounts.scorecard_id IS DISTINCT FROM v.column7)",
                    placeholders(backend, chunk.len(), 7)
                );
                let mut q = sqlx::query(&sql);
                for c in chunk {
                    q = q
                        .bind(c.id)
                        .bind(c.health_score)
                        .bind(c.band.map(|b| b.as_str()))
                        .bind(c.trend.map(|t| t.as_str()))
                        .bind(c.adoption_index)
                        .bind(c.adoption_band.map(|b| b.as_str()))
                        .bind(c.scorecard_id);
                }
                q.execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Reads every input of the accounts with ids in `lo..=hi`, one query per input.
    pub(crate) async fn gather(
        &self,
        lo: i64,
        hi: i64,
        on: NaiveDate,
        source: UsageSource,
        metric_dims: &BTreeSet<String>,
    ) -> Result<Vec<Gathered>> {
        let w30 = minus(on, USAGE_WINDOW_DAYS);
        let w60 = minus(on, 2 * USAGE_WINDOW_DAYS);
        let end = start_of(on + Days::new(1));
        let nps_from = start_of(minus(on, NPS_WINDOW_DAYS));
        type AccountTuple = (i64, String, String, Option<String>);
        let mut out: Vec<Gathered> = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        let mut laps = Laps::new();
        on_pool!(self, |pool| {
            let accounts: Vec<AccountTuple> = sqlx::query_as(
                "SELECT id, coverage_tier, lifecycle_stage, contract_value_tier FROM accounts \
                 WHERE id BETWEEN $1 AND $2 AND deleted_at IS NULL AND (churned_on IS NULL OR churned_on > $3) \
                 ORDER BY id",
            )
            .bind(lo)
            .bind(hi)
            .bind(on)
            .fetch_all(pool)
            .await?;
            if accounts.is_empty() {
                return Ok(out);
            }
            for (id, tier, stage, value) in accounts {
                let axes = AccountAxes {
                    coverage_tier: parse(&tier, "coverage_tier")?,
                    lifecycle_stage: parse(&stage, "lifecycle_stage")?,
                    contract_value_tier: parse_opt(value.as_deref(), "contract_value_tier")?,
                };
                index.insert(id, out.len());
                out.push(Gathered {
                    id,
                    axes,
                    inputs: IndicatorInputs::default(),
                    manual: Vec::new(),
                    previous: None,
                });
            }
            let at = |id: i64| index.get(&id).copied();

            laps.mark("accounts");
            let usage: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT account_id, CAST(SUM(CASE WHEN day > $3 THEN events ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN day <= $3 THEN events ELSE 0 END) AS BIGINT) \
                 FROM usage_account_daily WHERE account_id BETWEEN $1 AND $2 AND day > $4 AND day <= $5 \
                 GROUP BY account_id",
            )
            .bind(lo)
            .bind(hi)
            .bind(w30)
            .bind(w60)
            .bind(on)
            .fetch_all(pool)
            .await?;
            for (id, now30, prev30) in usage {
                if let Some(i) = at(id) {
                    out[i].inputs.events_30 = now30;
                    out[i].inputs.events_prev_30 = prev30;
                }
            }

            laps.mark("usage");
            let key_total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM features WHERE is_key")
                .fetch_one(pool)
                .await?;
            let (all_features, key_total) = if key_total == 0 {
                let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM features")
                    .fetch_one(pool)
                    .await?;
                (true, all)
            } else {
                (false, key_total)
            };

            laps.mark("features");
            match source {
                UsageSource::Latest => {
                    let users: Vec<(i64, i64, Option<NaiveDate>)> = sqlx::query_as(
                        "SELECT account_id, CAST(SUM(CASE WHEN last_day > $3 AND last_day <= $4 THEN 1 ELSE 0 END) AS BIGINT), \
                         MAX(last_day) FROM usage_user_last WHERE account_id BETWEEN $1 AND $2 GROUP BY account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(w30)
                    .bind(on)
                    .fetch_all(pool)
                    .await?;
                    for (id, active, last) in users {
                        if let Some(i) = at(id) {
                            out[i].inputs.active_users_30 = active;
                            out[i].inputs.last_activity = last;
                        }
                    }
                    let features: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT account_id, COUNT(*) FROM usage_feature_last WHERE account_id BETWEEN $1 AND $2 \
                         AND last_day > $3 AND last_day <= $4 AND ($5 OR feature_id IN (SELECT id FROM features WHERE is_key)) \
                         GROUP BY account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(w30)
                    .bind(on)
                    .bind(all_features)
                    .fetch_all(pool)
                    .await?;
                    for (id, n) in features {
                        if let Some(i) = at(id) {
                            out[i].inputs.key_features_used_30 = n;
                        }
                    }
                    let champions: Vec<(i64, Option<NaiveDate>)> = sqlx::query_as(
                        "SELECT c.account_id, MAX(u.last_day) FROM contacts c \
                         LEFT JOIN usage_user_last u ON u.account_id = c.account_id AND u.user_key = c.external_id \
                         AND u.last_day <= $4 \
                         WHERE c.account_id BETWEEN $1 AND $2 AND c.roles LIKE '%champion%' \
                         AND (c.left_at IS NULL OR c.left_at >= $3) GROUP BY c.account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(end)
                    .bind(on)
                    .fetch_all(pool)
                    .await?;
                    for (id, last) in champions {
                        if let Some(i) = at(id) {
                            out[i].inputs.champion_last_active = Some(last);
                        }
                    }
                }
                UsageSource::Rollups => {
                    let users: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT account_id, COUNT(DISTINCT user_key) FROM usage_user_daily \
                         WHERE account_id BETWEEN $1 AND $2 AND day > $3 AND day <= $4 GROUP BY account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(w30)
                    .bind(on)
                    .fetch_all(pool)
                    .await?;
                    for (id, active) in users {
                        if let Some(i) = at(id) {
                            out[i].inputs.active_users_30 = active;
                        }
                    }
                    let last: Vec<(i64, Option<NaiveDate>)> = sqlx::query_as(
                        "SELECT account_id, MAX(day) FROM usage_account_daily \
                         WHERE account_id BETWEEN $1 AND $2 AND day <= $3 GROUP BY account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(on)
                    .fetch_all(pool)
                    .await?;
                    for (id, last) in last {
                        if let Some(i) = at(id) {
                            out[i].inputs.last_activity = last;
                        }
                    }
                    let features: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT account_id, COUNT(DISTINCT feature_id) FROM usage_feature_daily \
                         WHERE account_id BETWEEN $1 AND $2 AND day > $3 AND day <= $4 \
                         AND ($5 OR feature_id IN (SELECT id FROM features WHERE is_key)) GROUP BY account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(w30)
                    .bind(on)
                    .bind(all_features)
                    .fetch_all(pool)
                    .await?;
                    for (id, n) in features {
                        if let Some(i) = at(id) {
                            out[i].inputs.key_features_used_30 = n;
                        }
                    }
                    let champions: Vec<(i64, Option<NaiveDate>)> = sqlx::query_as(
                        "SELECT c.account_id, MAX(u.day) FROM contacts c \
                         LEFT JOIN usage_user_daily u ON u.account_id = c.account_id AND u.user_key = c.external_id \
                         AND u.day <= $4 AND u.day > $5 \
                         WHERE c.account_id BETWEEN $1 AND $2 AND c.roles LIKE '%champion%' \
                         AND (c.left_at IS NULL OR c.left_at >= $3) GROUP BY c.account_id",
                    )
                    .bind(lo)
                    .bind(hi)
                    .bind(end)
                    .bind(on)
                    .bind(w60)
                    .fetch_all(pool)
                    .await?;
                    for (id, last) in champions {
                        if let Some(i) = at(id) {
                            out[i].inputs.champion_last_active = Some(last);
                        }
                    }
                }
            }

            laps.mark("users, features and champions");
            // Accounts with contacts but no active champion: champion_active is 0, not missing.
            let with_contacts: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT account_id FROM contacts WHERE account_id BETWEEN $1 AND $2 \
                 AND (left_at IS NULL OR left_at >= $3)",
            )
            .bind(lo)
            .bind(hi)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for id in with_contacts {
                if let Some(i) = at(id) {
                    if out[i].inputs.champion_last_active.is_none() {
                        out[i].inputs.champion_last_active = Some(None);
                    }
                }
            }

            laps.mark("contacts");
            let subs: Vec<(i64, i64, Option<NaiveDate>)> = sqlx::query_as(
                "SELECT account_id, CAST(SUM(seats) AS BIGINT), MIN(end_date) FROM subscriptions \
                 WHERE account_id BETWEEN $1 AND $2 AND start_date <= $3 AND end_date > $3 GROUP BY account_id",
            )
            .bind(lo)
            .bind(hi)
            .bind(on)
            .fetch_all(pool)
            .await?;
            for (id, seats, renewal) in subs {
                if let Some(i) = at(id) {
                    out[i].inputs.seats = Some(seats);
                    out[i].inputs.next_renewal = renewal;
                }
            }

            laps.mark("subscriptions");
            let tickets: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT account_id, severity, COUNT(*) FROM tickets WHERE account_id BETWEEN $1 AND $2 \
                 AND opened_at < $3 AND ((solved_at IS NULL AND status IN ('open', 'pending')) OR solved_at >= $3) \
                 GROUP BY account_id, severity",
            )
            .bind(lo)
            .bind(hi)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for (id, severity, n) in tickets {
                if let (Some(i), Some(s)) = (at(id), severity_index(&severity)) {
                    out[i].inputs.open_tickets[s] += n;
                }
            }

            laps.mark("tickets");
            let nps: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT account_id, CAST(score AS BIGINT) FROM survey_responses WHERE account_id BETWEEN $1 AND $2 \
                 AND responded_at < $3 AND responded_at >= $4 ORDER BY account_id, responded_at, id",
            )
            .bind(lo)
            .bind(hi)
            .bind(end)
            .bind(nps_from)
            .fetch_all(pool)
            .await?;
            let mut sums: HashMap<i64, (i64, i64)> = HashMap::new();
            for (id, score) in nps {
                if let Some(i) = at(id) {
                    out[i].inputs.nps_latest = Some(score);
                    let e = sums.entry(id).or_default();
                    e.0 += score;
                    e.1 += 1;
                }
            }
            for (id, (sum, n)) in sums {
                if let Some(i) = at(id) {
                    out[i].inputs.nps_average = Some(sum as f64 / n as f64);
                }
            }

            laps.mark("nps");
            let touch: Vec<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT account_id, MAX(occurred_at) FROM touchpoints WHERE account_id BETWEEN $1 AND $2 \
                 AND occurred_at < $3 GROUP BY account_id",
            )
            .bind(lo)
            .bind(hi)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for (id, last) in touch {
                if let Some(i) = at(id) {
                    out[i].inputs.last_touchpoint = last.map(|t| t.date_naive());
                }
            }

            laps.mark("touchpoints");
            if !metric_dims.is_empty() {
                let metrics: Vec<(i64, String, f64)> = sqlx::query_as(
                    "SELECT m.account_id, m.dimension, m.value FROM metrics m WHERE m.account_id BETWEEN $1 AND $2 \
                     AND m.contact_id = 0 AND m.day = (SELECT MAX(x.day) FROM metrics x WHERE x.account_id = m.account_id \
                     AND x.contact_id = 0 AND x.dimension = m.dimension AND x.day <= $3)",
                )
                .bind(lo)
                .bind(hi)
                .bind(on)
                .fetch_all(pool)
                .await?;
                for (id, dim, value) in metrics {
                    if let (Some(i), true) = (at(id), metric_dims.contains(&dim)) {
                        out[i].inputs.metrics.insert(dim, value);
                    }
                }
            }

            laps.mark("metrics");
            let manual: Vec<(i64, String, f64, Option<NaiveDate>)> = sqlx::query_as(
                "SELECT account_id, measure, score, expires_on FROM manual_scores WHERE account_id BETWEEN $1 AND $2",
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(pool)
            .await?;
            for (id, measure, score, expires_on) in manual {
                if let Some(i) = at(id) {
                    out[i].manual.push(ManualScore {
                        measure,
                        score,
                        expires_on,
                    });
                }
            }

            laps.mark("manual");
            let previous: Vec<(i64, Option<f64>)> = sqlx::query_as(
                "SELECT s.account_id, s.score FROM health_snapshots s WHERE s.account_id BETWEEN $1 AND $2 \
                 AND s.day = (SELECT MAX(p.day) FROM health_snapshots p WHERE p.account_id = s.account_id AND p.day < $3)",
            )
            .bind(lo)
            .bind(hi)
            .bind(on)
            .fetch_all(pool)
            .await?;
            for (id, score) in previous {
                if let Some(i) = at(id) {
                    out[i].previous = score;
                }
            }
            laps.mark("previous");
            for g in &mut out {
                g.inputs.key_features_total = key_total;
            }
        });
        tracing::debug!(lo, hi, steps = %laps, "health inputs gathered");
        Ok(out)
    }

    /// Claims a daily job for `day`: true for exactly one caller, however many instances ask.
    pub async fn claim_daily_job(&self, job: &str, day: NaiveDate) -> Result<bool> {
        let n = on_pool!(self, |pool| sqlx::query(
            "INSERT INTO job_runs (job, day) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(job)
        .bind(day)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Scores one account now without writing anything: the full explanation (groups, weights,
    /// shares, contributions) under the scorecard that applies to it.
    pub async fn explain_account(
        &self,
        id: AccountId,
        adoption: &AdoptionSettings,
    ) -> Result<Option<Explained>> {
        let today = now().date_naive();
        self.explain_account_on(id, today, UsageSource::Latest, adoption)
            .await
    }

    /// Like [`Store::explain_account`] as of any day (read from the rollups for a past day):
    /// what the score was then, from the data as it stood then.
    pub async fn explain_account_on(
        &self,
        id: AccountId,
        today: NaiveDate,
        source: UsageSource,
        adoption: &AdoptionSettings,
    ) -> Result<Option<Explained>> {
        let cards = self.cards().await?;
        let gathered = self
            .gather(id.0, id.0, today, source, &cards.metric_dims)
            .await?;
        let Some(g) = gathered.into_iter().next() else {
            return Ok(None);
        };
        let Some(ci) = select(&cards.cards, &g.axes) else {
            return Ok(None);
        };
        let (card_id, card) = &cards.cards[ci];
        let indicators = Indicators::derive(&g.inputs, today, adoption);
        let health = card.score(&indicators, &manual_in_force(&g.manual, today));
        Ok(Some(Explained {
            scorecard_id: *card_id,
            scorecard_name: card.def().name.clone(),
            trend: card.trend(g.previous, health.score),
            previous_score: g.previous,
            adoption_band: indicators
                .adoption_index
                .map(|i| adoption_band(i, adoption)),
            health,
            indicators,
            manual: g.manual,
        }))
    }

    // ---------------------------------------------------------------- reads

    /// The latest snapshot of an account on or before `on`.
    pub async fn snapshot_on(&self, id: AccountId, on: NaiveDate) -> Result<Option<Snapshot>> {
        self.latest_snapshot(id, "<=", on).await
    }

    /// The snapshot before `day`.
    pub async fn snapshot_before(&self, id: AccountId, day: NaiveDate) -> Result<Option<Snapshot>> {
        self.latest_snapshot(id, "<", day).await
    }

    /// The latest snapshot whose day compares to `day` by `op` (`<` or `<=`, never caller input).
    async fn latest_snapshot(
        &self,
        id: AccountId,
        op: &'static str,
        day: NaiveDate,
    ) -> Result<Option<Snapshot>> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM health_snapshots WHERE account_id = $1 AND day {op} $2 ORDER BY day DESC LIMIT 1"
        );
        let row: Option<SnapshotRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .bind(day)
            .fetch_optional(pool)
            .await?);
        row.map(Snapshot::try_from).transpose()
    }

    /// An account's snapshots from `from` on, oldest first.
    pub async fn health_history(&self, id: AccountId, from: NaiveDate) -> Result<Vec<Snapshot>> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM health_snapshots WHERE account_id = $1 AND day >= $2 ORDER BY day"
        );
        let rows: Vec<SnapshotRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .bind(from)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(Snapshot::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names_match_the_domain() {
        for (i, s) in kizuna_domain::ticket::TicketSeverity::NAMES
            .iter()
            .enumerate()
        {
            assert_eq!(severity_index(s), Some(i));
        }
    }

    #[test]
    fn window_edges() {
        let on: NaiveDate = "2026-03-01".parse().unwrap();
        assert_eq!(minus(on, 30).to_string(), "2026-01-30");
    }
}
