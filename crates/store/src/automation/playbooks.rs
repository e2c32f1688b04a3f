//! Playbooks: stored templates of steps, runs per account with their progress, and the pass
//! that carries out the steps whose day has come.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kizuna_domain::automation::{
    PlaybookSpec, Reason, StepAction, TaskKind, TaskPriority, TaskSource, TaskTemplate,
};
use serde::Serialize;

use super::actions::{write_effects, EffectCounts, Effects, NewTask};
use super::{from_json, json_text, AutomationContext};
use crate::audit::{audit, Actor};
use crate::{now, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredPlaybook {
    pub id: i64,
    #[serde(flatten)]
    pub spec: PlaybookSpec,
    /// Runs in progress.
    pub active_runs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStep {
    pub step: i64,
    pub due_on: Option<NaiveDate>,
    /// `pending`, `done` (carried out), `skipped` (its day had long passed when the run started).
    pub status: String,
    pub task_id: Option<i64>,
    /// Whether the step's task is closed (a step with a task counts as complete only then).
    pub task_closed: bool,
    pub done_at: Option<DateTime<Utc>>,
}

/// A playbook running (or run) for an account, with its progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookRun {
    pub id: i64,
    pub playbook_id: i64,
    pub playbook_key: String,
    pub playbook_name: String,
    pub account_id: i64,
    pub account_name: String,
    /// `active`, `completed` or `cancelled`.
    pub status: String,
    pub started_on: NaiveDate,
    pub started_by: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub steps: Vec<RunStep>,
    /// Steps complete (carried out, and their task closed) out of the steps not skipped.
    pub completed_steps: usize,
    pub total_steps: usize,
}

/// Which playbooks a read returns.
#[derive(Clone, Copy)]
enum Which<'a> {
    All,
    Id(i64),
    Key(&'a str),
}

type PlaybookRow = (i64, String, i64, DateTime<Utc>, DateTime<Utc>);

impl Store {
    pub async fn list_playbooks(&self) -> Result<Vec<StoredPlaybook>> {
        self.playbooks_where(Which::All).await
    }

    pub async fn playbook(&self, id: i64) -> Result<StoredPlaybook> {
        self.playbooks_where(Which::Id(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::not_found(format!("playbook {id}")))
    }

    pub async fn playbook_by_key(&self, key: &str) -> Result<StoredPlaybook> {
        self.playbooks_where(Which::Key(key))
            .await?
            .pop()
            .ok_or_else(|| StoreError::not_found(format!("playbook `{key}`")))
    }

    async fn playbooks_where(&self, which: Which<'_>) -> Result<Vec<StoredPlaybook>> {
        let filter = match which {
            Which::All => "",
            Which::Id(_) => "WHERE p.id = $1",
            Which::Key(_) => "WHERE p.key = $1",
        };
        let sql = format!(
            "SELECT p.id, p.definition, (SELECT COUNT(*) FROM playbook_runs r WHERE r.playbook_id = p.id AND r.status = 'active'), \
             p.created_at, p.updated_at FROM playbooks p {filter} ORDER BY p.id"
        );
        let rows: Vec<PlaybookRow> = on_pool!(self, |pool| {
            let q = sqlx::query_as(&sql);
            let q = match which {
                Which::All => q,
                Which::Id(id) => q.bind(id),
                Which::Key(key) => q.bind(key),
            };
            q.fetch_all(pool).await?
        });
        rows.into_iter().map(stored).collect()
    }

    pub async fn create_playbook(
        &self,
        spec: PlaybookSpec,
        actor: &Actor,
    ) -> Result<StoredPlaybook> {
        spec.validate()?;
        let text = json_text(&spec)?;
        let id: Option<i64> = in_tx!(self, |tx| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO playbooks (key, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (key) DO NOTHING RETURNING id",
            )
            .bind(&spec.key)
            .bind(&spec.name)
            .bind(&text)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                audit!(
                    tx,
                    actor,
                    "playbook.create",
                    "playbook",
                    Some(id),
                    Some(text.clone())
                );
            }
            id
        });
        let id = id.ok_or_else(|| StoreError::Conflict {
            field: "key".into(),
            message: format!("a playbook with the key `{}` exists already", spec.key),
        })?;
        self.playbook(id).await
    }

    /// Replaces a playbook's definition; runs in progress keep the steps they were started with
    /// (their step numbers refer to the old list only when it shrank: extra steps are ignored).
    pub async fn update_playbook(
        &self,
        id: i64,
        spec: PlaybookSpec,
        actor: &Actor,
    ) -> Result<StoredPlaybook> {
        self.playbook(id).await?;
        spec.validate()?;
        let text = json_text(&spec)?;
        in_tx!(self, |tx| {
            let clash: Option<i64> =
                sqlx::query_scalar("SELECT id FROM playbooks WHERE key = $1 AND id <> $2")
                    .bind(&spec.key)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if clash.is_some() {
                return Err(StoreError::Conflict {
                    field: "key".into(),
                    message: format!("another playbook has the key `{}`", spec.key),
                });
            }
            sqlx::query("UPDATE playbooks SET key = $1, name = $2, definition = $3, updated_at = $4 WHERE id = $5")
                .bind(&spec.key)
                .bind(&spec.name)
                .bind(&text)
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "playbook.update",
                "playbook",
                Some(id),
                Some(text.clone())
            );
        });
        self.playbook(id).await
    }

    pub async fn delete_playbook(&self, id: i64, actor: &Actor) -> Result<()> {
        self.playbook(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM playbooks WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "playbook.delete",
                "playbook",
                Some(id),
                None::<String>
            );
        });
        Ok(())
    }

    /// Starts a playbook for an account by hand (or by a lifecycle event). An active run of the
    /// same playbook for the account is a conflict.
    pub async fn start_playbook(
        &self,
        playbook_id: i64,
        account_id: i64,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<PlaybookRun> {
        let p = self.playbook(playbook_id).await?;
        let a = self
            .account_info(account_id)
            .await?
            .ok_or_else(|| StoreError::invalid("account_id", format!("no account {account_id}")))?;
        let mut fx = Effects::default();
        self.plan_playbook(&mut fx, &p.spec.key, &a, today, &actor.label())
            .await?;
        if fx.runs.is_empty() {
            return Err(StoreError::invalid("account_id", fx.problems.join("; ")));
        }
        let counts: EffectCounts = in_tx!(self, |tx| {
            let c = write_effects!(tx, &fx);
            audit!(
                tx,
                actor,
                "playbook.start",
                "account",
                Some(account_id),
                Some(p.spec.key.clone())
            );
            c
        });
        if counts.playbooks_started == 0 {
            return Err(StoreError::Conflict {
                field: "playbook_id".into(),
                message: format!("`{}` is already running for this account", p.spec.key),
            });
        }
        let runs = self
            .playbook_runs(Some(account_id), Some(playbook_id), Some("active"))
            .await?;
        runs.into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found("the run just started"))
    }

    pub async fn cancel_playbook_run(&self, run_id: i64, actor: &Actor) -> Result<()> {
        let n = in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE playbook_runs SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND status = 'active'",
            )
            .bind(now())
            .bind(run_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                audit!(
                    tx,
                    actor,
                    "playbook.cancel",
                    "playbook_run",
                    Some(run_id),
                    None::<String>
                );
            }
            n
        });
        if n == 0 {
            return Err(StoreError::not_found(format!(
                "active playbook run {run_id}"
            )));
        }
        Ok(())
    }

    /// Runs with their steps, newest first (at most 500), optionally of one account / playbook /
    /// status.
    pub async fn playbook_runs(
        &self,
        account_id: Option<i64>,
        playbook_id: Option<i64>,
        status: Option<&str>,
    ) -> Result<Vec<PlaybookRun>> {
        Ok(self
            .playbook_runs_page(account_id, playbook_id, status, 500, 0, false)
            .await?
            .1)
    }

    /// One page of [`Store::playbook_runs`] (`limit` runs from `offset`), with how many match
    /// when `count` is set (else 0).
    pub async fn playbook_runs_page(
        &self,
        account_id: Option<i64>,
        playbook_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
        count: bool,
    ) -> Result<(i64, Vec<PlaybookRun>)> {
        let (limit, offset) = (limit.clamp(1, 5000), offset.max(0));
        // Only the filters given (so the account index serves a Customer 360); ids are typed
        // numbers and the status one of three words, written into the text.
        let mut filter = vec!["1 = 1".to_string()];
        if let Some(a) = account_id {
            filter.push(format!("r.account_id = {a}"));
        }
        if let Some(p) = playbook_id {
            filter.push(format!("r.playbook_id = {p}"));
        }
        if let Some(st) = status {
            if !matches!(st, "active" | "completed" | "cancelled") {
                return Err(StoreError::invalid(
                    "status",
                    "must be active, completed or cancelled",
                ));
            }
            filter.push(format!("r.status = '{st}'"));
        }
        let filter = filter.join(" AND ");
        let runs_sql = format!(
            "SELECT r.id, r.playbook_id, p.key, p.name, r.account_id, a.name, r.status, r.started_on, r.started_by, r.finished_at \
             FROM playbook_runs r JOIN playbooks p ON p.id = r.playbook_id JOIN accounts a ON a.id = r.account_id \
             WHERE {filter} ORDER BY r.started_at DESC, r.id DESC LIMIT {limit} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM playbook_runs r WHERE {filter}");
        let steps_sql = format!(
            "SELECT s.run_id, s.step, s.due_on, s.status, s.task_id, t.status, s.done_at FROM playbook_steps s \
             LEFT JOIN tasks t ON t.id = s.task_id WHERE s.run_id IN \
             (SELECT r.id FROM playbook_runs r WHERE {filter} ORDER BY r.started_at DESC, r.id DESC LIMIT {limit} OFFSET {offset}) \
             ORDER BY s.run_id, s.step"
        );
        #[allow(clippy::type_complexity)]
        let (total, runs, all_steps): (
            i64,
            Vec<(
                i64,
                i64,
                String,
                String,
                i64,
                String,
                String,
                NaiveDate,
                String,
                Option<DateTime<Utc>>,
            )>,
            Vec<(
                i64,
                i64,
                Option<NaiveDate>,
                String,
                Option<i64>,
                Option<String>,
                Option<DateTime<Utc>>,
            )>,
        ) = on_pool!(self, |pool| {
            let runs = sqlx::query_as(&runs_sql).fetch_all(pool).await?;
            let steps = sqlx::query_as(&steps_sql).fetch_all(pool).await?;
            let total: i64 = if count {
                sqlx::query_scalar(&count_sql).fetch_one(pool).await?
            } else {
                0
            };
            (total, runs, steps)
        });
        let mut steps_of: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
        for st in all_steps {
            steps_of
                .entry(st.0)
                .or_default()
                .push((st.1, st.2, st.3, st.4, st.5, st.6));
        }
        let mut out = Vec::with_capacity(runs.len());
        for r in runs {
            let steps = steps_of.remove(&r.0).unwrap_or_default();
            let steps: Vec<RunStep> = steps
                .into_iter()
                .map(|s| RunStep {
                    step: s.0,
                    due_on: s.1,
                    status: s.2,
                    task_id: s.3,
                    task_closed: s.4.as_deref() == Some("closed"),
                    done_at: s.5,
                })
                .collect();
            let total_steps = steps.iter().filter(|s| s.status != "skipped").count();
            let completed_steps = steps
                .iter()
                .filter(|s| s.status == "done" && (s.task_id.is_none() || s.task_closed))
                .count();
            out.push(PlaybookRun {
                id: r.0,
                playbook_id: r.1,
                playbook_key: r.2,
                playbook_name: r.3,
                account_id: r.4,
                account_name: r.5,
                status: r.6,
                started_on: r.7,
                started_by: r.8,
                finished_at: r.9,
                steps,
                completed_steps,
                total_steps,
            });
        }
        Ok((total, out))
    }

    /// Carries out every pending step whose day has come: its task, its e-mail, its touchpoint to
    /// book. Each step is marked done in the transaction that writes its effects, so a step runs
    /// once. A run whose steps are all carried out is completed.
    pub async fn advance_playbooks(
        &self,
        today: NaiveDate,
        ctx: &AutomationContext,
    ) -> Result<EffectCounts> {
        let due: Vec<(i64, i64, String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT s.run_id, s.step, p.definition, r.account_id FROM playbook_steps s \
             JOIN playbook_runs r ON r.id = s.run_id JOIN playbooks p ON p.id = r.playbook_id \
             WHERE s.status = 'pending' AND s.due_on <= $1 AND r.status = 'active' ORDER BY s.due_on, s.run_id, s.step LIMIT 5000"
        )
        .bind(today)
        .fetch_all(pool)
        .await?
        });
        let mut total = EffectCounts::default();
        for (run_id, step, definition, account_id) in due {
            let spec: PlaybookSpec = from_json(&definition, "playbook definition")?;
            let Some(account) = self.account_info(account_id).await? else {
                continue;
            };
            let mut fx = Effects::default();
            match spec.steps.get(step as usize) {
                None => fx.problems.push(format!(
                    "playbook `{}` has no step {step} any more",
                    spec.key
                )),
                Some(s) => {
                    let owner = self.owner_for(&account, s.owner_role).await?;
                    let source = TaskSource::Playbook;
                    let dedup = Some(format!("run:{run_id}:step:{step}"));
                    match &s.action {
                        StepAction::Task { task } => fx.tasks.push(NewTask {
                            account_id,
                            template: task.clone(),
                            evidence: serde_json::json!({"playbook": spec.key, "step": step}).to_string(),
                            owner_id: owner,
                            due_on: today + Duration::days(task.due_in_days),
                            source,
                            source_id: Some(run_id),
                            dedup_key: dedup,
                        }),
                        StepAction::Touchpoint {
                            touchpoint,
                            title,
                            title_ja,
                        } => fx.tasks.push(NewTask {
                            account_id,
                            template: TaskTemplate {
                                task_kind: TaskKind::Lifecycle,
                                priority: TaskPriority::Medium,
                                title: title.clone(),
                                title_ja: title_ja.clone(),
                                reason: Reason::Engagement,
                                due_in_days: 7,
                            },
                            evidence: serde_json::json!({"playbook": spec.key, "step": step, "touchpoint": touchpoint}).to_string(),
                            owner_id: owner,
                            due_on: today + Duration::days(7),
                            source,
                            source_id: Some(run_id),
                            dedup_key: dedup,
                        }),
                        StepAction::Email { template, to } => {
                            self.plan_email(
                                &mut fx,
                                template,
                                *to,
                                &account,
                                &format!("run:{run_id}:step:{step}"),
                                ctx,
                                None,
                            )
                            .await?
                        }
                    }
                }
            }
            let counts: Option<EffectCounts> = in_tx!(self, |tx| {
                let n = sqlx::query(
                    "UPDATE playbook_steps SET status = 'done', done_at = $1 WHERE run_id = $2 AND step = $3 AND status = 'pending'",
                )
                .bind(now())
                .bind(run_id)
                .bind(step)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 1 {
                    let c = write_effects!(tx, &fx);
                    sqlx::query("UPDATE playbook_steps SET task_id = $1, email_ids = $2 WHERE run_id = $3 AND step = $4")
                        .bind(c.task_ids.first().copied())
                        .bind(json_text(&c.email_ids)?)
                        .bind(run_id)
                        .bind(step)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE playbook_runs SET status = 'completed', finished_at = $1 WHERE id = $2 AND status = 'active' \
                         AND NOT EXISTS (SELECT 1 FROM playbook_steps WHERE run_id = $2 AND status = 'pending')",
                    )
                    .bind(now())
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
                    Some(c)
                } else {
                    None
                }
            });
            if let Some(c) = counts {
                total.add(&c);
            }
        }
        Ok(total)
    }
}

fn stored(r: PlaybookRow) -> Result<StoredPlaybook> {
    Ok(StoredPlaybook {
        id: r.0,
        spec: from_json(&r.1, "playbook definition")?,
        active_runs: r.2,
        created_at: r.3,
        updated_at: r.4,
    })
}
