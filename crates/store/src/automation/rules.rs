//! Rules: stored definitions, evaluation over the account base (daily and on changes), and the
//! record of every firing with the values that matched.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kizuna_domain::automation::{Action, Rule, RuleSpec, TaskSource, Trigger};
use kizuna_domain::condition::{Facts, FactsContext};
use serde::Serialize;

use super::actions::{write_effects, AccountInfo, EffectCounts, Effects, NewTask};
use super::{from_json, json_text, AutomationContext};
use crate::audit::{audit, Actor};
use crate::health::CHUNK_ACCOUNTS;
use crate::segments::SegmentMatch;
use crate::{now, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredRule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One firing: which rule, which account, when, the values that matched and what it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Firing {
    pub id: i64,
    pub rule_id: i64,
    pub rule_key: String,
    pub account_id: i64,
    pub account_name: String,
    pub occurrence: String,
    pub trigger: String,
    pub fired_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub matched: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub actions: serde_json::Value,
}

/// What one pass over the rules did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleRun {
    pub rules: usize,
    pub accounts_checked: usize,
    /// Rule × account pairs whose condition could not be evaluated (a missing value compared
    /// with a number): counted as no match.
    pub not_evaluable: usize,
    pub matches: usize,
    /// New firings (a match whose occurrence had fired before is not one).
    pub firings: usize,
    /// Where the time went: waiting for accounts and indicators (the next range is read while
    /// one is evaluated), evaluating conditions, and checking and writing firings with effects.
    pub read_seconds: f64,
    pub evaluate_seconds: f64,
    pub write_seconds: f64,
    #[serde(flatten)]
    pub effects: EffectCounts,
    pub seconds: f64,
}

type RuleRow = (i64, String, DateTime<Utc>, DateTime<Utc>);

/// An NPS answer older than this (by its own date) does not trigger rules when it arrives.
pub const FRESH_ANSWER_DAYS: i64 = 14;

/// A match waiting to be recorded.
struct Candidate {
    rule: usize,
    account_id: i64,
    info: AccountInfo,
    occurrence: String,
    matched: serde_json::Map<String, serde_json::Value>,
}

impl Store {
    pub async fn list_rules(&self) -> Result<Vec<StoredRule>> {
        let rows: Vec<RuleRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, definition, created_at, updated_at FROM rules ORDER BY id"
        )
        .fetch_all(pool)
        .await?);
        rows.into_iter().map(stored_rule).collect()
    }

    pub async fn rule(&self, id: i64) -> Result<StoredRule> {
        let row: Option<RuleRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, definition, created_at, updated_at FROM rules WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        stored_rule(row.ok_or_else(|| StoreError::not_found(format!("rule {id}")))?)
    }

    /// Saves a new rule after checking it (422 with the field and position otherwise).
    pub async fn create_rule(&self, spec: RuleSpec, actor: &Actor) -> Result<StoredRule> {
        let rule = spec.validate()?;
        let text = json_text(&rule.spec)?;
        let at = now();
        let key = rule.spec.key.clone();
        let id: Option<i64> = in_tx!(self, |tx| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO rules (key, name, enabled, definition, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (key) DO NOTHING RETURNING id",
            )
            .bind(&rule.spec.key)
            .bind(&rule.spec.name)
            .bind(rule.spec.enabled)
            .bind(&text)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                audit!(
                    tx,
                    actor,
                    "rule.create",
                    "rule",
                    Some(id),
                    Some(text.clone())
                );
            }
            id
        });
        let id = id.ok_or_else(|| StoreError::Conflict {
            field: "key".into(),
            message: format!("a rule with the key `{key}` exists already"),
        })?;
        self.rule(id).await
    }

    pub async fn update_rule(&self, id: i64, spec: RuleSpec, actor: &Actor) -> Result<StoredRule> {
        let current = self.rule(id).await?;
        let rule = spec.validate()?;
        let text = json_text(&rule.spec)?;
        let n = in_tx!(self, |tx| {
            let clash: Option<i64> =
                sqlx::query_scalar("SELECT id FROM rules WHERE key = $1 AND id <> $2")
                    .bind(&rule.spec.key)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if clash.is_some() {
                0
            } else {
                sqlx::query(
                    "UPDATE rules SET key = $1, name = $2, enabled = $3, definition = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(&rule.spec.key)
                .bind(&rule.spec.name)
                .bind(rule.spec.enabled)
                .bind(&text)
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                audit!(
                    tx,
                    actor,
                    "rule.update",
                    "rule",
                    Some(id),
                    Some(text.clone())
                );
                1
            }
        });
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "key".into(),
                message: format!(
                    "another rule has the key `{}` (this one is `{}`)",
                    rule.spec.key, current.spec.key
                ),
            });
        }
        self.rule(id).await
    }

    pub async fn delete_rule(&self, id: i64, actor: &Actor) -> Result<()> {
        self.rule(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM rules WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(tx, actor, "rule.delete", "rule", Some(id), None::<String>);
        });
        Ok(())
    }

    /// Firings, newest first, optionally of one rule or one account.
    pub async fn rule_firings(
        &self,
        rule_id: Option<i64>,
        account_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<kizuna_domain::page::Page<Firing>> {
        let limit = crate::rows::clamp_limit(Some(limit));
        #[allow(clippy::type_complexity)]
        let (rows, total): (
            Vec<(
                i64,
                i64,
                String,
                i64,
                String,
                String,
                String,
                DateTime<Utc>,
                String,
                String,
            )>,
            i64,
        ) = on_pool!(self, |pool| {
            let rows = sqlx::query_as(
                "SELECT f.id, f.rule_id, r.key, f.account_id, a.name, f.occurrence, f.trigger, f.fired_at, f.matched, f.actions \
                 FROM rule_firings f JOIN rules r ON r.id = f.rule_id JOIN accounts a ON a.id = f.account_id \
                 WHERE ($1 IS NULL OR f.rule_id = $1) AND ($2 IS NULL OR f.account_id = $2) \
                 ORDER BY f.fired_at DESC, f.id DESC LIMIT $3 OFFSET $4",
            )
            .bind(rule_id)
            .bind(account_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM rule_firings f WHERE ($1 IS NULL OR f.rule_id = $1) AND ($2 IS NULL OR f.account_id = $2)",
            )
            .bind(rule_id)
            .bind(account_id)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        let items = rows
            .into_iter()
            .map(|r| Firing {
                id: r.0,
                rule_id: r.1,
                rule_key: r.2,
                account_id: r.3,
                account_name: r.4,
                occurrence: r.5,
                trigger: r.6,
                fired_at: r.7,
                matched: serde_json::from_str(&r.8).unwrap_or_default(),
                actions: serde_json::from_str(&r.9).unwrap_or_default(),
            })
            .collect();
        Ok(kizuna_domain::page::Page::new(items, total, limit, offset))
    }

    async fn enabled_rules(&self, daily: bool) -> Result<Vec<(i64, Rule)>> {
        let mut out = Vec::new();
        for r in self.list_rules().await? {
            if r.spec.enabled && r.spec.trigger.is_daily() == daily {
                let id = r.id;
                let rule = r.spec.validate().map_err(|e| {
                    StoreError::Corrupt(format!("stored rule {id} no longer validates: {e}"))
                })?;
                out.push((id, rule));
            }
        }
        Ok(out)
    }

    /// Which accounts a rule matches now, without acting. Renewal rules also need the renewal
    /// within their window.
    pub async fn preview_rule(&self, rule: &Rule, limit: usize) -> Result<SegmentMatch> {
        let (lo, hi) = self.account_id_span().await?;
        let mut out = SegmentMatch::default();
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(out);
        };
        let mut start = lo;
        while start <= hi {
            let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
            for (id, f) in self.facts_range(start, end).await? {
                out.accounts_checked += 1;
                if !trigger_window(&rule.spec.trigger, &f) {
                    continue;
                }
                match rule.condition.matches(&f) {
                    Ok(true) => {
                        out.count += 1;
                        if out.account_ids.len() < limit {
                            out.account_ids.push(id);
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

    async fn account_id_span(&self) -> Result<(Option<i64>, Option<i64>)> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM accounts WHERE deleted_at IS NULL"
        )
        .fetch_one(pool)
        .await?))
    }

    /// The daily pass: every enabled daily and renewal rule over every live account. Each
    /// (rule, account, occurrence) fires once, however often the pass runs.
    pub async fn run_daily_rules(
        &self,
        today: NaiveDate,
        ctx: &AutomationContext,
    ) -> Result<RuleRun> {
        let started = Instant::now();
        let rules = self.enabled_rules(true).await?;
        let mut run = RuleRun {
            rules: rules.len(),
            ..Default::default()
        };
        if rules.is_empty() {
            return Ok(run);
        }
        let (lo, hi) = self.account_id_span().await?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(run);
        };
        let fields: Vec<Vec<String>> = rules.iter().map(|(_, r)| r.condition.fields()).collect();
        let used: std::collections::BTreeSet<String> = fields.iter().flatten().cloned().collect();
        // The next range is read while this one is evaluated and written.
        let read = |from: i64| {
            let store = self.clone();
            let to = (from + CHUNK_ACCOUNTS - 1).min(hi);
            tokio::spawn(async move { store.facts_range(from, to).await })
        };
        let mut start = lo;
        let mut next = Some(read(lo));
        while let Some(pending) = next.take() {
            let end = (start + CHUNK_ACCOUNTS - 1).min(hi);
            let t = Instant::now();
            let facts = pending
                .await
                .map_err(|e| StoreError::Corrupt(format!("the account reader stopped: {e}")))??;
            run.read_seconds += t.elapsed().as_secs_f64();
            if end < hi {
                next = Some(read(end + 1));
            }
            let t = Instant::now();
            let mut candidates = Vec::new();
            for (id, f) in &facts {
                run.accounts_checked += 1;
                let Ok(cx) = FactsContext::with_fields(f, Some(&used)) else {
                    run.not_evaluable += rules.len();
                    continue;
                };
                for (i, (_, rule)) in rules.iter().enumerate() {
                    if !trigger_window(&rule.spec.trigger, f) {
                        continue;
                    }
                    match rule.condition.matches_in(&cx) {
                        Ok(true) => {
                            let detail = match rule.spec.trigger {
                                Trigger::Renewal { .. } => f
                                    .indicators
                                    .days_to_renewal
                                    .map(|d| (today + Duration::days(d as i64)).to_string())
                                    .unwrap_or_default(),
                                _ => String::new(),
                            };
                            candidates.push(Candidate {
                                rule: i,
                                account_id: *id,
                                info: info_of(*id, f, today),
                                occurrence: rule.occurrence(today, &detail),
                                matched: f.json_of(&fields[i]),
                            });
                        }
                        Ok(false) => {}
                        Err(_) => run.not_evaluable += 1,
                    }
                }
            }
            run.matches += candidates.len();
            run.evaluate_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            self.fire(&rules, candidates, today, ctx, &mut run).await?;
            run.write_seconds += t.elapsed().as_secs_f64();
            start = end + 1;
        }
        run.seconds = started.elapsed().as_secs_f64();
        Ok(run)
    }

    /// The change pass: health band and lifecycle changes and NPS answers queued by the
    /// database's triggers, and usage events named by event rules since the last pass.
    pub async fn run_change_rules(
        &self,
        today: NaiveDate,
        ctx: &AutomationContext,
        limit: i64,
    ) -> Result<RuleRun> {
        let started = Instant::now();
        let rules = self.enabled_rules(false).await?;
        let mut run = RuleRun {
            rules: rules.len(),
            ..Default::default()
        };
        let queued: Vec<(i64, i64, String, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, account_id, trigger, detail FROM rule_queue ORDER BY id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await?);
        // Answers older than this are history (an import, a backfill), not news to act on.
        let fresh_from = (today - Duration::days(FRESH_ANSWER_DAYS))
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc());
        let answer_ids: Vec<i64> = queued
            .iter()
            .filter(|q| q.2 == "nps_response")
            .filter_map(|q| q.3.strip_prefix("response:")?.parse().ok())
            .collect();
        let mut fresh_answers = std::collections::HashSet::new();
        for chunk in answer_ids.chunks(500) {
            let ids =
                serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rows: Vec<i64> = match &self.pool {
                crate::Pool::Sqlite(pool) => sqlx::query_scalar(
                    "SELECT id FROM survey_responses WHERE id IN (SELECT value FROM json_each($1)) AND responded_at >= $2",
                )
                .bind(&ids)
                .bind(fresh_from)
                .fetch_all(pool)
                .await?,
                crate::Pool::Postgres(pool) => sqlx::query_scalar(
                    "SELECT id FROM survey_responses WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) \
                     AND responded_at >= $2",
                )
                .bind(&ids)
                .bind(fresh_from)
                .fetch_all(pool)
                .await?,
            };
            fresh_answers.extend(rows);
        }
        // (account, trigger name, detail). An account's first score is not a change of band.
        let mut work: Vec<(i64, String, String)> = queued
            .iter()
            .filter(|(_, _, t, d)| match t.as_str() {
                "health_change" => !d.starts_with("none>"),
                "nps_response" => d
                    .strip_prefix("response:")
                    .and_then(|id| id.parse::<i64>().ok())
                    .is_some_and(|id| fresh_answers.contains(&id)),
                _ => true,
            })
            .map(|(_, a, t, d)| (*a, t.clone(), d.clone()))
            .collect();
        // Event rules: accounts that used the event's feature since the rule's watermark day.
        let mut watermarks = Vec::new();
        for (id, rule) in &rules {
            if let Trigger::Event { event } = &rule.spec.trigger {
                let since: Option<DateTime<Utc>> = on_pool!(self, |pool| sqlx::query_scalar(
                    "SELECT watermark FROM rule_state WHERE rule_id = $1"
                )
                .bind(id)
                .fetch_optional(pool)
                .await?);
                let since_day = since.map_or(today, |s| s.date_naive());
                let accounts: Vec<i64> = on_pool!(self, |pool| {
                    sqlx::query_scalar(
                    "SELECT l.account_id FROM usage_feature_last l JOIN features f ON f.id = l.feature_id \
                     WHERE f.key = $1 AND l.last_day >= $2"
                )
                .bind(event)
                .bind(since_day)
                .fetch_all(pool)
                .await?
                });
                for a in accounts {
                    work.push((a, format!("event:{id}"), today.to_string()));
                }
                watermarks.push(*id);
            }
        }
        if !rules.is_empty() {
            let mut by_account: HashMap<i64, Vec<(String, String)>> = HashMap::new();
            // Conditions read the account as it is now, so several queued changes of one kind
            // are one look: the latest names the occurrence.
            for (a, t, d) in work {
                let v = by_account.entry(a).or_default();
                v.retain(|(seen, _)| *seen != t);
                v.push((t, d));
            }
            let fields: Vec<Vec<String>> =
                rules.iter().map(|(_, r)| r.condition.fields()).collect();
            let mut candidates = Vec::new();
            let mut ids: Vec<i64> = by_account.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let Some((_, f)) = self.facts_range(id, id).await?.into_iter().next() else {
                    continue;
                };
                run.accounts_checked += 1;
                let Ok(cx) = FactsContext::new(&f) else {
                    continue;
                };
                for (trigger, detail) in &by_account[&id] {
                    for (i, (rule_id, rule)) in rules.iter().enumerate() {
                        let applies = match &rule.spec.trigger {
                            Trigger::Event { .. } => *trigger == format!("event:{rule_id}"),
                            t => t.name() == trigger,
                        };
                        if !applies {
                            continue;
                        }
                        match rule.condition.matches_in(&cx) {
                            Ok(true) => candidates.push(Candidate {
                                rule: i,
                                account_id: id,
                                info: info_of(id, &f, today),
                                occurrence: rule.occurrence(today, detail),
                                matched: f.json_of(&fields[i]),
                            }),
                            Ok(false) => {}
                            Err(_) => run.not_evaluable += 1,
                        }
                    }
                }
            }
            run.matches += candidates.len();
            self.fire(&rules, candidates, today, ctx, &mut run).await?;
        }
        // Done with what was read: a crash before this line reads it again, and the firings'
        // unique occurrence keeps the second reading from acting twice.
        let at = now();
        if let Some(max) = queued.iter().map(|q| q.0).max() {
            on_pool!(self, |pool| sqlx::query(
                "DELETE FROM rule_queue WHERE id <= $1"
            )
            .bind(max)
            .execute(pool)
            .await?
            .rows_affected());
        }
        for id in watermarks {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO rule_state (rule_id, watermark) VALUES ($1, $2) \
                 ON CONFLICT (rule_id) DO UPDATE SET watermark = excluded.watermark"
            )
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected());
        }
        run.seconds = started.elapsed().as_secs_f64();
        Ok(run)
    }

    /// Records new firings and writes their effects.
    async fn fire(
        &self,
        rules: &[(i64, Rule)],
        candidates: Vec<Candidate>,
        today: NaiveDate,
        ctx: &AutomationContext,
        run: &mut RuleRun,
    ) -> Result<()> {
        if candidates.is_empty() {
            return Ok(());
        }
        // Skip what fired before without planning it again: one read for the whole batch.
        let lo = candidates.iter().map(|c| c.account_id).min().unwrap_or(0);
        let hi = candidates.iter().map(|c| c.account_id).max().unwrap_or(0);
        let mut occurrences: Vec<&str> = candidates.iter().map(|c| c.occurrence.as_str()).collect();
        occurrences.sort_unstable();
        occurrences.dedup();
        let occurrences_json =
            serde_json::to_string(&occurrences).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let seen: Vec<(i64, i64, String)> = match &self.pool {
            crate::Pool::Sqlite(pool) => sqlx::query_as(
                "SELECT rule_id, account_id, occurrence FROM rule_firings WHERE account_id BETWEEN $1 AND $2 \
                 AND occurrence IN (SELECT value FROM json_each($3))",
            )
            .bind(lo)
            .bind(hi)
            .bind(&occurrences_json)
            .fetch_all(pool)
            .await?,
            crate::Pool::Postgres(pool) => sqlx::query_as(
                "SELECT rule_id, account_id, occurrence FROM rule_firings WHERE account_id BETWEEN $1 AND $2 \
                 AND occurrence IN (SELECT jsonb_array_elements_text($3::jsonb))",
            )
            .bind(lo)
            .bind(hi)
            .bind(&occurrences_json)
            .fetch_all(pool)
            .await?,
        };
        let seen: std::collections::HashSet<(i64, i64, String)> = seen.into_iter().collect();
        let mut planned = Vec::new();
        for c in candidates {
            let (rule_id, rule) = &rules[c.rule];
            if seen.contains(&(*rule_id, c.account_id, c.occurrence.clone())) {
                continue;
            }
            let fx = self
                .plan_rule_effects(*rule_id, rule, &c.info, &c, today, ctx)
                .await?;
            let matched = serde_json::Value::Object(c.matched.clone()).to_string();
            planned.push((*rule_id, rule.spec.trigger.name(), c, matched, fx));
        }
        // One transaction for the batch: a firing and its effects are written together, and a
        // firing a concurrent pass recorded first is skipped with its effects.
        let results: Vec<EffectCounts> = in_tx!(self, |tx| {
            let mut results = Vec::new();
            for (rule_id, trigger, c, matched, fx) in &planned {
                let firing: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO rule_firings (rule_id, account_id, occurrence, trigger, fired_at, matched, actions) \
                     VALUES ($1, $2, $3, $4, $5, $6, '{}') ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(rule_id)
                .bind(c.account_id)
                .bind(&c.occurrence)
                .bind(trigger)
                .bind(now())
                .bind(matched)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(firing) = firing {
                    let counts = write_effects!(tx, fx);
                    sqlx::query("UPDATE rule_firings SET actions = $1 WHERE id = $2")
                        .bind(json_text(&counts)?)
                        .bind(firing)
                        .execute(&mut *tx)
                        .await?;
                    results.push(counts);
                }
            }
            results
        });
        for counts in results {
            run.firings += 1;
            run.effects.add(&counts);
        }
        Ok(())
    }

    async fn plan_rule_effects(
        &self,
        rule_id: i64,
        rule: &Rule,
        a: &AccountInfo,
        c: &Candidate,
        today: NaiveDate,
        ctx: &AutomationContext,
    ) -> Result<Effects> {
        let mut fx = Effects::default();
        let evidence = serde_json::json!({
            "rule": rule.spec.key,
            "condition": rule.spec.condition,
            "values": c.matched,
        })
        .to_string();
        for (i, action) in rule.spec.actions.iter().enumerate() {
            match action {
                Action::CreateTask { task } => fx.tasks.push(NewTask {
                    account_id: a.id,
                    template: task.clone(),
                    evidence: evidence.clone(),
                    owner_id: a.owner_id,
                    due_on: today + Duration::days(task.due_in_days),
                    source: TaskSource::Rule,
                    source_id: Some(rule_id),
                    dedup_key: Some(format!("rule:{rule_id}:{}:{i}", a.id)),
                }),
                Action::StartPlaybook { playbook } => {
                    self.plan_playbook(
                        &mut fx,
                        playbook,
                        a,
                        today,
                        &format!("rule:{}", rule.spec.key),
                    )
                    .await?
                }
                Action::SendEmail { template, to } => {
                    let prefix = format!("rule:{rule_id}:{}:{}:{i}", a.id, c.occurrence);
                    self.plan_email(&mut fx, template, *to, a, &prefix, ctx, None)
                        .await?
                }
                Action::CallWebhook { webhook } => {
                    let generic = serde_json::json!({
                        "event": "rule.fired",
                        "rule": {"id": rule_id, "key": rule.spec.key, "name": rule.spec.name},
                        "account": {"id": a.id, "name": a.name, "health_score": a.health_score,
                                    "health_band": a.health_band, "lifecycle_stage": a.lifecycle_stage},
                        "occurrence": c.occurrence,
                        "matched": c.matched,
                        "url": format!("{}/accounts/{}", ctx.base_url.trim_end_matches('/'), a.id),
                    });
                    let text = format!(
                        "*{}*: {} (health {} {})\n{}/accounts/{}",
                        rule.spec.name,
                        a.name,
                        a.health_score
                            .map_or("–".to_string(), |s| format!("{s:.0}")),
                        a.health_band.as_deref().unwrap_or(""),
                        ctx.base_url.trim_end_matches('/'),
                        a.id
                    );
                    let key = format!("rule:{rule_id}:{}:{}:{i}", a.id, c.occurrence);
                    self.plan_webhook(&mut fx, webhook, "rule.fired", generic, text, key)
                        .await?
                }
                Action::SetField { field, value } => fx.fields.push((a.id, *field, value.clone())),
            }
        }
        Ok(fx)
    }
}

/// What actions need of an account, from the facts a condition saw (no second read).
fn info_of(id: i64, f: &Facts, today: NaiveDate) -> AccountInfo {
    AccountInfo {
        id,
        name: f.name.clone(),
        owner_id: f.owner_id,
        health_score: f.health_score,
        health_band: f.health_band.clone(),
        lifecycle_stage: f.lifecycle_stage.clone(),
        renewal_date: f
            .indicators
            .days_to_renewal
            .map(|d| today + Duration::days(d as i64)),
    }
}

/// Whether the account is inside a trigger's window (renewal rules: the next renewal is at most
/// the rule's days away).
fn trigger_window(t: &Trigger, f: &Facts) -> bool {
    match t {
        Trigger::Renewal { days } => f
            .indicators
            .days_to_renewal
            .is_some_and(|d| d >= 0.0 && d <= *days as f64),
        _ => true,
    }
}

fn stored_rule(r: RuleRow) -> Result<StoredRule> {
    Ok(StoredRule {
        id: r.0,
        spec: from_json(&r.1, "rule definition")?,
        created_at: r.2,
        updated_at: r.3,
    })
}
