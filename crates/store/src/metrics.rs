//! Metrics: numeric series per account or contact, upserted per (subject, dimension, day).

use chrono::NaiveDate;
use kizuna_domain::ids::{AccountId, ContactId};
use kizuna_domain::metric::{MetricPoint, MetricSubject, NewMetric};
use kizuna_domain::ValidationError;

use crate::{now, Result, Store, StoreError};

impl Store {
    /// Stores every value or none: a subject that does not exist is an error naming the item.
    /// Storing the same (subject, dimension, day) again replaces the value, so retries are safe.
    pub async fn record_metrics(&self, metrics: &[NewMetric]) -> Result<usize> {
        let now = now();
        in_tx!(self, |tx| {
            for (i, m) in metrics.iter().enumerate() {
                let found: Option<(i64, i64)> = match &m.subject {
                    MetricSubject::Account(id) => {
                        sqlx::query_as("SELECT id, CAST(0 AS BIGINT) FROM accounts WHERE id = $1 AND deleted_at IS NULL")
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    MetricSubject::AccountExternal(ext) => {
                        sqlx::query_as("SELECT id, CAST(0 AS BIGINT) FROM accounts WHERE external_id = $1 AND deleted_at IS NULL")
                            .bind(ext)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    MetricSubject::Contact(id) => sqlx::query_as("SELECT account_id, id FROM contacts WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?,
                    MetricSubject::ContactExternal(ext) => {
                        sqlx::query_as("SELECT account_id, id FROM contacts WHERE external_id = $1")
                            .bind(ext)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                };
                let Some((account_id, contact_id)) = found else {
                    return Err(StoreError::Invalid(
                        ValidationError::single("subject", format!("no {} exists", m.subject))
                            .prefixed(&format!("metrics[{i}].")),
                    ));
                };
                sqlx::query(
                    "INSERT INTO metrics (account_id, contact_id, dimension, day, value, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, contact_id, dimension, day) \
                     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(account_id)
                .bind(contact_id)
                .bind(&m.dimension)
                .bind(m.date)
                .bind(m.value)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            Ok(metrics.len())
        })
    }

    /// An account's metric values (its own and its contacts'), by dimension and day.
    pub async fn account_metrics(
        &self,
        account: AccountId,
        dimension: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MetricPoint>> {
        let rows: Vec<(String, NaiveDate, f64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT dimension, day, value, contact_id FROM metrics WHERE account_id = $1 AND day >= $2 AND day <= $3 \
             AND ($4 IS NULL OR dimension = $4) ORDER BY dimension, day, contact_id"
        )
        .bind(account.0)
        .bind(from)
        .bind(to)
        .bind(dimension)
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(dimension, date, value, contact)| MetricPoint {
                dimension,
                date,
                value,
                contact_id: (contact != 0).then_some(ContactId(contact)),
            })
            .collect())
    }
}
