//! Subscriptions (contract terms) and the revenue movements derived from them.
//!
//! Every write to an account's terms re-derives that account's movements and its current MRR,
//! seats, renewal date and churn date in the same transaction, so the derived figures can never
//! disagree with the terms they come from.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::ids::{AccountId, MovementId, SubscriptionId};
use kizuna_domain::money::Currency;
use kizuna_domain::revenue::{derive_movements, state_on, RevenueMovement, Term};
use kizuna_domain::subscription::{NewSubscription, Subscription, SubscriptionDraft};

use crate::audit::{audit, Actor};
use crate::rows::parse;
use crate::{now, Result, Store, StoreError};

const SUBSCRIPTION_COLUMNS: &str =
    "id, account_id, external_id, product, plan, mrr_minor, currency, seats, start_date, \
    end_date, status, renews_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    account_id: i64,
    external_id: Option<String>,
    product: String,
    plan: Option<String>,
    mrr_minor: i64,
    currency: String,
    seats: i64,
    start_date: NaiveDate,
    end_date: NaiveDate,
    status: String,
    renews_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;
    fn try_from(r: SubscriptionRow) -> Result<Self> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::Corrupt)?;
        Ok(Subscription {
            id: SubscriptionId(r.id),
            account_id: AccountId(r.account_id),
            external_id: r.external_id,
            product: r.product,
            plan: r.plan,
            mrr: currency.to_major(r.mrr_minor),
            mrr_minor: r.mrr_minor,
            currency,
            seats: r.seats,
            start_date: r.start_date,
            end_date: r.end_date,
            status: parse(&r.status, "status")?,
            renews_id: r.renews_id.map(SubscriptionId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MovementRow {
    id: i64,
    account_id: i64,
    subscription_id: Option<i64>,
    kind: String,
    effective_on: NaiveDate,
    mrr_before_minor: i64,
    mrr_after_minor: i64,
    currency: String,
}

impl TryFrom<MovementRow> for RevenueMovement {
    type Error = StoreError;
    fn try_from(r: MovementRow) -> Result<Self> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::Corrupt)?;
        Ok(RevenueMovement {
            id: MovementId(r.id),
            account_id: AccountId(r.account_id),
            subscription_id: r.subscription_id.map(SubscriptionId),
            kind: parse(&r.kind, "kind")?,
            effective_on: r.effective_on,
            mrr_before: currency.to_major(r.mrr_before_minor),
            mrr_after: currency.to_major(r.mrr_after_minor),
            mrr_delta: currency.to_major(r.mrr_after_minor - r.mrr_before_minor),
        })
    }
}

/// Refuses a term in another currency than its account's, or for an account that does not exist.
macro_rules! require_account_currency {
    ($tx:expr, $new:expr) => {{
        let currency: Option<String> = sqlx::query_scalar(
            "SELECT currency FROM accounts WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind($new.account_id.0)
        .fetch_optional(&mut *$tx)
        .await?;
        match currency {
            None => {
                return Err(StoreError::not_found(format!(
                    "account {}",
                    $new.account_id
                )))
            }
            Some(c) if c != $new.currency.code() => {
                return Err(StoreError::invalid(
                    "currency",
                    format!(
                        "the account is billed in {c}; a subscription in {} cannot be added to it",
                        $new.currency
                    ),
                ))
            }
            Some(_) => {}
        }
    }};
}

/// Re-derives one account's movements and current revenue from its terms.
macro_rules! rederive_revenue {
    ($tx:expr, $account_id:expr, $today:expr) => {{
        let account_id: i64 = $account_id;
        let terms: Vec<(i64, NaiveDate, NaiveDate, String)> = sqlx::query_as(
            "SELECT id, start_date, end_date, status FROM subscriptions WHERE account_id = $1 ORDER BY start_date, id",
        )
        .bind(account_id)
        .fetch_all(&mut *$tx)
        .await?;
        let steps: Vec<(i64, NaiveDate, i64, i64)> = sqlx::query_as(
            "SELECT subscription_id, effective_on, mrr_minor, seats FROM subscription_mrr_changes \
             WHERE account_id = $1 ORDER BY subscription_id, effective_on, id",
        )
        .bind(account_id)
        .fetch_all(&mut *$tx)
        .await?;
        let currency: String = sqlx::query_scalar("SELECT currency FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&mut *$tx)
            .await?;
        let terms = terms
            .into_iter()
            .map(|(id, start, end, status)| {
                Ok(Term {
                    id: SubscriptionId(id),
                    start,
                    end,
                    status: parse(&status, "status")?,
                    steps: steps.iter().filter(|s| s.0 == id).map(|s| (s.1, s.2, s.3)).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let movements = derive_movements(&terms);
        let state = state_on(&terms, &movements, $today);
        sqlx::query("DELETE FROM revenue_movements WHERE account_id = $1").bind(account_id).execute(&mut *$tx).await?;
        for m in &movements {
            sqlx::query(
                "INSERT INTO revenue_movements (account_id, subscription_id, kind, effective_on, mrr_before_minor, \
                 mrr_after_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(account_id)
            .bind(m.subscription_id.map(|s| s.0))
            .bind(m.kind.as_str())
            .bind(m.effective_on)
            .bind(m.mrr_before)
            .bind(m.mrr_after)
            .bind(&currency)
            .execute(&mut *$tx)
            .await?;
        }
        let major = Currency::parse(&currency).map_err(StoreError::Corrupt)?.to_major(state.mrr);
        sqlx::query(
            "UPDATE accounts SET mrr_minor = $1, mrr = $2, seats = $3, renewal_date = $4, churned_on = $5 WHERE id = $6",
        )
        .bind(state.mrr)
        .bind(major)
        .bind(state.seats)
        .bind(state.renewal_date)
        .bind(state.churned_on)
        .bind(account_id)
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    /// An account's terms, oldest first.
    pub async fn list_subscriptions(&self, account: AccountId) -> Result<Vec<Subscription>> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE account_id = $1 ORDER BY start_date, id");
        let rows: Vec<SubscriptionRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(account.0)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(Subscription::try_from).collect()
    }

    pub async fn subscription(&self, id: SubscriptionId) -> Result<Subscription> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
        let row: Option<SubscriptionRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("subscription {id}")))?
            .try_into()
    }

    /// An account's revenue movements, oldest first.
    pub async fn list_revenue_movements(&self, account: AccountId) -> Result<Vec<RevenueMovement>> {
        let rows: Vec<MovementRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, account_id, subscription_id, kind, effective_on, mrr_before_minor, mrr_after_minor, currency \
             FROM revenue_movements WHERE account_id = $1 ORDER BY effective_on, id"
        )
        .bind(account.0)
        .fetch_all(pool)
        .await?
        });
        rows.into_iter().map(RevenueMovement::try_from).collect()
    }

    pub async fn create_subscription(
        &self,
        account: Option<AccountId>,
        draft: SubscriptionDraft,
        actor: &Actor,
    ) -> Result<Subscription> {
        let new = NewSubscription::parse(draft, account)?;
        let ids = self
            .create_subscriptions(vec![new], actor, now().date_naive())
            .await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("subscription"))?;
        self.subscription(id).await
    }

    /// Creates many terms in one transaction and re-derives the revenue of every account touched.
    /// `today` decides which terms count toward the current MRR.
    pub async fn create_subscriptions(
        &self,
        rows: Vec<NewSubscription>,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<Vec<SubscriptionId>> {
        Ok(in_tx!(self, |tx| {
            let now = now();
            let mut ids = Vec::with_capacity(rows.len());
            let mut accounts = BTreeSet::new();
            for new in &rows {
                require_account_currency!(tx, new);
                if let Some(renews) = new.renews_id {
                    let of: Option<i64> =
                        sqlx::query_scalar("SELECT account_id FROM subscriptions WHERE id = $1")
                            .bind(renews.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if of != Some(new.account_id.0) {
                        return Err(StoreError::invalid(
                            "renews_id",
                            format!("no subscription {renews} of this account"),
                        ));
                    }
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO subscriptions (account_id, external_id, product, plan, mrr_minor, currency, seats, start_date, \
                     end_date, status, renews_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                )
                .bind(new.account_id.0)
                .bind(&new.external_id)
                .bind(&new.product)
                .bind(&new.plan)
                .bind(new.mrr_minor)
                .bind(new.currency.code())
                .bind(new.seats)
                .bind(new.start_date)
                .bind(new.end_date)
                .bind(new.status.as_str())
                .bind(new.renews_id.map(|s| s.0))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO subscription_mrr_changes (subscription_id, account_id, effective_on, mrr_minor, seats) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(new.account_id.0)
                .bind(new.start_date)
                .bind(new.mrr_minor)
                .bind(new.seats)
                .execute(&mut *tx)
                .await?;
                accounts.insert(new.account_id.0);
                ids.push(SubscriptionId(id));
            }
            for account in accounts {
                rederive_revenue!(tx, account, today);
            }
            audit!(
                tx,
                actor,
                "create",
                "subscription",
                ids.first().map(|s| s.0),
                Some(format!("{} created", ids.len()))
            );
            ids
        }))
    }

    /// Changes a term. A new MRR or seat count takes effect on `effective_date` (default today,
    /// kept inside the term), so the history of the term stays and the movement lands on its day.
    pub async fn update_subscription(
        &self,
        id: SubscriptionId,
        patch: SubscriptionDraft,
        actor: &Actor,
    ) -> Result<Subscription> {
        self.update_subscription_on(id, patch, actor, now().date_naive())
            .await
    }

    pub async fn update_subscription_on(
        &self,
        id: SubscriptionId,
        patch: SubscriptionDraft,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<Subscription> {
        let current = self.subscription(id).await?;
        let new = NewSubscription::parse(SubscriptionDraft::from(&current).overlay(patch), None)?;
        if new.account_id != current.account_id {
            return Err(StoreError::invalid(
                "account_id",
                "a subscription cannot move to another account",
            ));
        }
        let price_changed = new.mrr_minor != current.mrr_minor || new.seats != current.seats;
        let effective = new
            .effective_date
            .unwrap_or(today)
            .clamp(new.start_date, new.end_date.max(new.start_date));
        in_tx!(self, |tx| {
            require_account_currency!(tx, new);
            sqlx::query(
                "UPDATE subscriptions SET external_id = $1, product = $2, plan = $3, mrr_minor = $4, seats = $5, \
                 start_date = $6, end_date = $7, status = $8, renews_id = $9, updated_at = $10 WHERE id = $11",
            )
            .bind(&new.external_id)
            .bind(&new.product)
            .bind(&new.plan)
            .bind(new.mrr_minor)
            .bind(new.seats)
            .bind(new.start_date)
            .bind(new.end_date)
            .bind(new.status.as_str())
            .bind(new.renews_id.map(|s| s.0))
            .bind(now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            if new.start_date != current.start_date {
                // Steps before the new start fold into the start; the first step is the start.
                sqlx::query("UPDATE subscription_mrr_changes SET effective_on = $1 WHERE subscription_id = $2 AND effective_on < $1")
                    .bind(new.start_date)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE subscription_mrr_changes SET effective_on = $1 WHERE subscription_id = $2 \
                     AND id = (SELECT MIN(id) FROM subscription_mrr_changes WHERE subscription_id = $2)",
                )
                .bind(new.start_date)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
            if price_changed {
                sqlx::query("DELETE FROM subscription_mrr_changes WHERE subscription_id = $1 AND effective_on >= $2 AND effective_on > $3")
                    .bind(id.0)
                    .bind(effective)
                    .bind(new.start_date)
                    .execute(&mut *tx)
                    .await?;
                if effective == new.start_date {
                    sqlx::query("UPDATE subscription_mrr_changes SET mrr_minor = $1, seats = $2 WHERE subscription_id = $3 AND effective_on = $4")
                        .bind(new.mrr_minor)
                        .bind(new.seats)
                        .bind(id.0)
                        .bind(effective)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO subscription_mrr_changes (subscription_id, account_id, effective_on, mrr_minor, seats) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id.0)
                    .bind(new.account_id.0)
                    .bind(effective)
                    .bind(new.mrr_minor)
                    .bind(new.seats)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            rederive_revenue!(tx, new.account_id.0, today);
            audit!(
                tx,
                actor,
                "update",
                "subscription",
                Some(id.0),
                None::<String>
            );
        });
        self.subscription(id).await
    }
}
