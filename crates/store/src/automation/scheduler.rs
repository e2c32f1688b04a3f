//! The scheduler's table. A job is due when `next_run_at` has passed. An instance claims a due
//! job by taking its lease in one conditional UPDATE — on SQLite and on PostgreSQL alike only one
//! UPDATE can see the row still unleased, so one instance runs it however many share the
//! database. Finishing moves `next_run_at` on and records the run; an instance that dies while
//! running leaves a lease that expires, and the job runs again (its work is idempotent: rules
//! fire once per occurrence, steps once, e-mails once per key).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{now, Result, Store};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobState {
    pub name: String,
    pub next_run_at: DateTime<Utc>,
    /// The instance running it now, while its lease lasts.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    /// `ok` or `failed`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub runs: i64,
    pub failures: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    pub instance: String,
    /// When the run was due (a run is identified by its job and due time).
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: String,
    pub detail: Option<String>,
}

type JobRow = (
    String,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

impl Store {
    /// Registers a job, first due at `first_due`; a registered job keeps its schedule.
    pub async fn ensure_job(&self, name: &str, first_due: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO scheduled_jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        )
        .bind(name)
        .bind(first_due)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Makes a job due now (an admin's "run now", and tests).
    pub async fn make_job_due(&self, name: &str) -> Result<()> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE scheduled_jobs SET next_run_at = $1 WHERE name = $2"
        )
        .bind(now())
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Claims the job if it is due and nobody holds it: the due time of the claimed run, or
    /// `None`.
    pub async fn claim_job(
        &self,
        name: &str,
        instance: &str,
        lease_seconds: i64,
    ) -> Result<Option<DateTime<Utc>>> {
        let at = now();
        let due: Option<DateTime<Utc>> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT next_run_at FROM scheduled_jobs WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await?);
        let Some(due) = due else { return Ok(None) };
        if due > at {
            return Ok(None);
        }
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE scheduled_jobs SET lease_owner = $1, lease_until = $2, last_started_at = $3 \
             WHERE name = $4 AND next_run_at = $5 AND (lease_until IS NULL OR lease_until < $3)"
        )
        .bind(instance)
        .bind(at + chrono::Duration::seconds(lease_seconds))
        .bind(at)
        .bind(name)
        .bind(due)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok((n == 1).then_some(due))
    }

    /// Ends a claimed run: records it and sets the next due time. Only the lease holder can.
    pub async fn finish_job(
        &self,
        name: &str,
        instance: &str,
        due: DateTime<Utc>,
        started: DateTime<Utc>,
        next_run_at: DateTime<Utc>,
        outcome: std::result::Result<String, String>,
    ) -> Result<()> {
        let at = now();
        let (status, detail, failed) = match &outcome {
            Ok(d) => ("ok", d.clone(), 0i64),
            Err(e) => ("failed", e.clone(), 1i64),
        };
        in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE scheduled_jobs SET next_run_at = $1, lease_owner = NULL, lease_until = NULL, last_finished_at = $2, \
                 last_status = $3, last_error = $4, runs = runs + 1, failures = failures + $5 WHERE name = $6 AND lease_owner = $7",
            )
            .bind(next_run_at)
            .bind(at)
            .bind(status)
            .bind(if failed == 1 { Some(detail.clone()) } else { None })
            .bind(failed)
            .bind(name)
            .bind(instance)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query(
                    "INSERT INTO job_history (job, instance, due_at, started_at, finished_at, status, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(name)
                .bind(instance)
                .bind(due)
                .bind(started)
                .bind(at)
                .bind(status)
                .bind(&detail)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    pub async fn jobs(&self) -> Result<Vec<JobState>> {
        let rows: Vec<JobRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT name, next_run_at, lease_owner, lease_until, last_started_at, last_finished_at, last_status, last_error, runs, failures \
             FROM scheduled_jobs ORDER BY name"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| JobState {
                name: r.0,
                next_run_at: r.1,
                lease_owner: r.2,
                lease_until: r.3,
                last_started_at: r.4,
                last_finished_at: r.5,
                last_status: r.6,
                last_error: r.7,
                runs: r.8,
                failures: r.9,
            })
            .collect())
    }

    /// Recent runs, newest first; `failed_only` for the failures.
    pub async fn job_history(
        &self,
        job: Option<&str>,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<JobRun>> {
        let limit = crate::rows::clamp_limit(Some(limit));
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, job, instance, due_at, started_at, finished_at, status, detail FROM job_history \
             WHERE ($1 IS NULL OR job = $1) AND ($2 = 0 OR status = 'failed') ORDER BY started_at DESC, id DESC LIMIT $3"
        )
        .bind(job)
        .bind(i64::from(failed_only))
        .bind(limit)
        .fetch_all(pool)
        .await?
        }))
    }
}
