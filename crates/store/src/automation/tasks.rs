//! Tasks (calls to action): the cockpit's lists, creation by a person, assign / snooze / close.

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::automation::{
    Reason, TaskKind, TaskOutcome, TaskPriority, TaskSource, TaskStatus,
};
use kizuna_domain::page::Page;
use serde::{Deserialize, Serialize};

use crate::audit::{audit, Actor};
use crate::rows::{clamp_limit, parse, parse_opt};
use crate::{now, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub kind: TaskKind,
    pub priority: TaskPriority,
    pub title: String,
    pub title_ja: Option<String>,
    pub reason: Reason,
    /// The data that caused it (for a rule: its condition and the values that matched).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: serde_json::Value,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: TaskStatus,
    pub snoozed_until: Option<NaiveDate>,
    pub outcome: Option<TaskOutcome>,
    pub outcome_note: Option<String>,
    pub source: TaskSource,
    pub source_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A task a person creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskDraft {
    pub account_id: i64,
    #[serde(default)]
    pub kind: Option<TaskKind>,
    #[serde(default)]
    pub priority: Option<TaskPriority>,
    pub title: String,
    pub reason: Reason,
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

/// A change to a task: assign, reschedule, snooze, close (with an outcome) or reopen.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskPatch {
    pub owner_id: Option<i64>,
    pub priority: Option<TaskPriority>,
    pub due_on: Option<NaiveDate>,
    /// Hides the task until this day.
    pub snooze_until: Option<NaiveDate>,
    pub status: Option<TaskStatus>,
    /// Required when closing.
    pub outcome: Option<TaskOutcome>,
    pub outcome_note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub owner_id: Option<i64>,
    pub account_id: Option<i64>,
    /// `open` (the default; includes snoozed tasks whose day has come), `snoozed`, `closed`, `all`.
    pub status: Option<String>,
    /// Only open tasks past their due day.
    pub overdue: bool,
    pub kind: Option<TaskKind>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Open and overdue counts for one owner (`None`: tasks nobody owns).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSummary {
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub open: i64,
    pub overdue: i64,
    pub risk: i64,
    pub opportunity: i64,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    account_id: i64,
    account_name: String,
    kind: String,
    priority: String,
    title: String,
    title_ja: Option<String>,
    reason: String,
    evidence: String,
    owner_id: Option<i64>,
    owner_name: Option<String>,
    due_on: Option<NaiveDate>,
    status: String,
    snoozed_until: Option<NaiveDate>,
    outcome: Option<String>,
    outcome_note: Option<String>,
    source: String,
    source_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

fn task(r: TaskRow) -> Result<Task> {
    Ok(Task {
        id: r.id,
        account_id: r.account_id,
        account_name: r.account_name,
        kind: parse(&r.kind, "tasks.kind")?,
        priority: parse(&r.priority, "tasks.priority")?,
        title: r.title,
        title_ja: r.title_ja,
        reason: parse(&r.reason, "tasks.reason")?,
        evidence: serde_json::from_str(&r.evidence).unwrap_or_default(),
        owner_id: r.owner_id,
        owner_name: r.owner_name,
        due_on: r.due_on,
        status: parse(&r.status, "tasks.status")?,
        snoozed_until: r.snoozed_until,
        outcome: parse_opt(r.outcome.as_deref(), "tasks.outcome")?,
        outcome_note: r.outcome_note,
        source: parse(&r.source, "tasks.source")?,
        source_id: r.source_id,
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
    })
}

macro_rules! task_row_fields {
    () => {
        "t.id AS id, t.account_id AS account_id, a.name AS account_name, t.kind AS kind, t.priority AS priority, \
         t.title AS title, t.title_ja AS title_ja, t.reason AS reason, t.evidence AS evidence, t.owner_id AS owner_id, \
         u.name AS owner_name, t.due_on AS due_on, t.status AS status, t.snoozed_until AS snoozed_until, \
         t.outcome AS outcome, t.outcome_note AS outcome_note, t.source AS source, t.source_id AS source_id, \
         t.created_at AS created_at, t.updated_at AS updated_at, t.closed_at AS closed_at"
    };
}

impl Store {
    pub async fn task(&self, id: i64) -> Result<Task> {
        let sql = concat!(
            "SELECT ",
            task_row_fields!(),
            " FROM tasks t JOIN accounts a ON a.id = t.account_id LEFT JOIN users u ON u.id = t.owner_id WHERE t.id = $1"
        );
        let row: Option<TaskRow> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        task(row.ok_or_else(|| StoreError::not_found(format!("task {id}")))?)
    }

    /// One page of tasks: open ones by due day (overdue first), closed ones newest first.
    pub async fn list_tasks(&self, f: &TaskFilter, today: NaiveDate) -> Result<Page<Task>> {
        let limit = clamp_limit(f.limit);
        let offset = f.offset.unwrap_or(0).max(0);
        let status = f.status.as_deref().unwrap_or("open");
        let status_sql = match status {
            "open" => "(t.status = 'open' OR (t.status = 'snoozed' AND t.snoozed_until <= $1))",
            "snoozed" => "(t.status = 'snoozed' AND t.snoozed_until > $1)",
            "closed" => "t.status = 'closed' AND $1 = $1",
            "all" => "$1 = $1",
            other => {
                return Err(StoreError::invalid(
                    "status",
                    format!("`{other}` is not one of open, snoozed, closed, all"),
                ))
            }
        };
        let order = if status == "closed" {
            "t.closed_at DESC, t.id DESC"
        } else {
            "t.due_on IS NULL, t.due_on, CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, t.id"
        };
        // Only the filters given, so the indexes on owner and account serve them (a
        // `$1 IS NULL OR …` would make the planner scan every task). The values are typed
        // numbers and closed vocabularies, written into the text.
        let mut filter = vec![status_sql.to_string()];
        if let Some(o) = f.owner_id {
            filter.push(format!("t.owner_id = {o}"));
        }
        if let Some(a) = f.account_id {
            filter.push(format!("t.account_id = {a}"));
        }
        if let Some(k) = f.kind {
            filter.push(format!("t.kind = '{}'", k.as_str()));
        }
        if f.overdue {
            filter.push("t.status <> 'closed' AND t.due_on < $1".into());
        }
        let filter = filter.join(" AND ");
        let sql = format!(
            "SELECT {} FROM tasks t JOIN accounts a ON a.id = t.account_id LEFT JOIN users u ON u.id = t.owner_id \
             WHERE {filter} ORDER BY {order} LIMIT $2 OFFSET $3",
            task_row_fields!()
        );
        let count_sql = format!("SELECT COUNT(*) FROM tasks t WHERE {filter} AND $2 = $2");
        let (rows, total): (Vec<TaskRow>, i64) = on_pool!(self, |pool| {
            let rows = sqlx::query_as(&sql)
                .bind(today)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(today)
                .bind(limit)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        let items = rows.into_iter().map(task).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, total, limit, offset))
    }

    /// Open and overdue tasks per owner.
    pub async fn task_summary(&self, today: NaiveDate) -> Result<Vec<TaskSummary>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(Option<i64>, Option<String>, i64, i64, i64, i64)> =
            on_pool!(self, |pool| sqlx::query_as(
                "SELECT t.owner_id, u.name, COUNT(*), \
                 CAST(SUM(CASE WHEN t.due_on < $1 THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN t.kind = 'risk' THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN t.kind = 'opportunity' THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM tasks t LEFT JOIN users u ON u.id = t.owner_id \
                 WHERE t.status = 'open' OR (t.status = 'snoozed' AND t.snoozed_until <= $1) \
                 GROUP BY t.owner_id, u.name ORDER BY u.name"
            )
            .bind(today)
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|r| TaskSummary {
                owner_id: r.0,
                owner_name: r.1,
                open: r.2,
                overdue: r.3,
                risk: r.4,
                opportunity: r.5,
            })
            .collect())
    }

    /// A task a person creates (source `person`).
    pub async fn create_task(&self, d: TaskDraft, actor: &Actor) -> Result<Task> {
        if d.title.trim().is_empty() {
            return Err(StoreError::invalid("title", "must not be empty"));
        }
        if d.title.chars().count() > 300 {
            return Err(StoreError::invalid(
                "title",
                "is longer than 300 characters",
            ));
        }
        let account = self.account_info(d.account_id).await?.ok_or_else(|| {
            StoreError::invalid("account_id", format!("no account {}", d.account_id))
        })?;
        let owner = d.owner_id.or(account.owner_id);
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            if let Some(o) = owner {
                let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                    .bind(o)
                    .fetch_optional(&mut *tx)
                    .await?;
                if ok.is_none() {
                    return Err(StoreError::invalid("owner_id", format!("no user {o}")));
                }
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tasks (account_id, kind, priority, title, reason, evidence, owner_id, due_on, status, \
                 source, source_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, 'open', 'person', $8, $9, $9) RETURNING id",
            )
            .bind(d.account_id)
            .bind(d.kind.unwrap_or(TaskKind::Manual).as_str())
            .bind(d.priority.unwrap_or(TaskPriority::Medium).as_str())
            .bind(d.title.trim())
            .bind(d.reason.as_str())
            .bind(owner)
            .bind(d.due_on)
            .bind(actor.user_id())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "task.create",
                "task",
                Some(id),
                Some(d.title.clone())
            );
            id
        });
        self.task(id).await
    }

    /// Applies a change. Closing needs an outcome; snoozing sets the status to snoozed.
    pub async fn update_task(&self, id: i64, p: TaskPatch, actor: &Actor) -> Result<Task> {
        let current = self.task(id).await?;
        let mut status = p.status.unwrap_or(current.status);
        let mut snoozed_until = current.snoozed_until;
        if let Some(until) = p.snooze_until {
            if until <= now().date_naive() {
                return Err(StoreError::invalid(
                    "snooze_until",
                    "must be a day after today",
                ));
            }
            status = TaskStatus::Snoozed;
            snoozed_until = Some(until);
        } else if status == TaskStatus::Snoozed && snoozed_until.is_none() {
            return Err(StoreError::invalid(
                "snooze_until",
                "is needed to snooze a task",
            ));
        }
        let outcome = p.outcome.or(current.outcome);
        if status == TaskStatus::Closed && outcome.is_none() {
            return Err(StoreError::invalid(
                "outcome",
                format!(
                    "is needed to close a task; one of {}",
                    TaskOutcome::NAMES.join(", ")
                ),
            ));
        }
        let closed_at = match (current.status, status) {
            (TaskStatus::Closed, TaskStatus::Closed) => current.closed_at,
            (_, TaskStatus::Closed) => Some(now()),
            _ => None,
        };
        let (outcome, note) = if status == TaskStatus::Closed {
            (outcome, p.outcome_note.or(current.outcome_note))
        } else {
            (None, None)
        };
        let owner = p.owner_id.or(current.owner_id);
        let detail = format!("status={status}");
        in_tx!(self, |tx| {
            if let Some(o) = p.owner_id {
                let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                    .bind(o)
                    .fetch_optional(&mut *tx)
                    .await?;
                if ok.is_none() {
                    return Err(StoreError::invalid("owner_id", format!("no user {o}")));
                }
            }
            sqlx::query(
                "UPDATE tasks SET owner_id = $1, priority = $2, due_on = $3, status = $4, snoozed_until = $5, \
                 outcome = $6, outcome_note = $7, closed_at = $8, updated_at = $9 WHERE id = $10",
            )
            .bind(owner)
            .bind(p.priority.unwrap_or(current.priority).as_str())
            .bind(p.due_on.or(current.due_on))
            .bind(status.as_str())
            .bind(if status == TaskStatus::Snoozed { snoozed_until } else { None })
            .bind(outcome.map(|o| o.as_str()))
            .bind(&note)
            .bind(closed_at)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "task.update",
                "task",
                Some(id),
                Some(detail.clone())
            );
        });
        self.task(id).await
    }
}
