//! What bulk imports need from the store: the records a file's external ids already name, and a
//! fast upsert of accounts (the one kind imported by the million).

use std::collections::HashMap;

use kizuna_domain::account::{Account, NewAccount};
use kizuna_domain::contact::Contact;
use kizuna_domain::ids::{
    AccountId, ContactId, SubscriptionId, SurveyResponseId, TicketId, TouchpointId,
};
use kizuna_domain::user::User;
use sqlx::types::Json;

use crate::accounts::{AccountRow, ACCOUNT_COLUMNS};
use crate::audit::{audit, Actor};
use crate::sql::placeholders;
use crate::{now, Result, Store};

/// An account to write: new, or replacing the stored one with this id.
#[derive(Debug, Clone)]
pub struct AccountUpsert {
    pub new: NewAccount,
    pub existing: Option<AccountId>,
}

/// Looks ids up by external id in one table, in chunks.
macro_rules! ids_by_external {
    ($store:expr, $table:literal, $ids:expr) => {{
        let backend = $store.backend();
        let mut found: HashMap<String, i64> = HashMap::new();
        for chunk in $ids.chunks(1000) {
            let sql = format!(
                concat!(
                    "SELECT external_id, id FROM ",
                    $table,
                    " WHERE external_id IN {}"
                ),
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<(String, i64)> = on_pool!($store, |pool| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(pool).await?
            });
            found.extend(rows);
        }
        found
    }};
}

impl Store {
    /// The live accounts these external ids name.
    pub async fn accounts_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Account>> {
        let backend = self.backend();
        let mut found = HashMap::new();
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE deleted_at IS NULL AND external_id IN {}",
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<AccountRow> = on_pool!(self, |pool| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(pool).await?
            });
            for row in rows {
                let account = Account::try_from(row)?;
                if let Some(ext) = account.external_id.clone() {
                    found.insert(ext, account);
                }
            }
        }
        Ok(found)
    }

    /// External ids that are taken by a deleted account (an import cannot reuse them).
    pub async fn deleted_account_external_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        let backend = self.backend();
        let mut out = Vec::new();
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT external_id FROM accounts WHERE deleted_at IS NOT NULL AND external_id IN {}",
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<String> = on_pool!(self, |pool| {
                let mut q = sqlx::query_scalar(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn contacts_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Contact>> {
        let found = ids_by_external!(self, "contacts", ids);
        let mut out = HashMap::new();
        for (ext, id) in found {
            out.insert(ext, self.contact(ContactId(id)).await?);
        }
        Ok(out)
    }

    pub async fn subscription_ids_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, SubscriptionId>> {
        Ok(ids_by_external!(self, "subscriptions", ids)
            .into_iter()
            .map(|(k, v)| (k, SubscriptionId(v)))
            .collect())
    }

    pub async fn ticket_ids_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, TicketId>> {
        Ok(ids_by_external!(self, "tickets", ids)
            .into_iter()
            .map(|(k, v)| (k, TicketId(v)))
            .collect())
    }

    pub async fn survey_response_ids_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, SurveyResponseId>> {
        Ok(ids_by_external!(self, "survey_responses", ids)
            .into_iter()
            .map(|(k, v)| (k, SurveyResponseId(v)))
            .collect())
    }

    pub async fn touchpoint_ids_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, TouchpointId>> {
        Ok(ids_by_external!(self, "touchpoints", ids)
            .into_iter()
            .map(|(k, v)| (k, TouchpointId(v)))
            .collect())
    }

    /// Team members by lower-case e-mail, for owner and author columns.
    pub async fn users_by_email(&self) -> Result<HashMap<String, User>> {
        Ok(self
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.email.as_str().to_lowercase(), u))
            .collect())
    }

    /// Writes validated accounts in one transaction: new ones with multi-row inserts, existing
    /// ones updated in place; a changed lifecycle stage is recorded as a transition.
    /// Returns (inserted, updated).
    pub async fn upsert_accounts(
        &self,
        rows: &[AccountUpsert],
        actor: &Actor,
    ) -> Result<(usize, usize)> {
        const COLS: usize = 18;
        let backend = self.backend();
        let now = now();
        let (fresh, known): (Vec<&AccountUpsert>, Vec<&AccountUpsert>) =
            rows.iter().partition(|r| r.existing.is_none());
        in_tx!(self, |tx| {
            for chunk in fresh.chunks(1000) {
                let sql = format!(
                    "INSERT INTO accounts (external_id, name, name_lower, domain, industry, employees, contract_value_tier, \
                     growth_potential, brand_value, referral_likelihood, coverage_tier, lifecycle_stage, owner_id, parent_id, \
                     currency, traits, created_at, updated_at) VALUES {}",
                    placeholders(backend, chunk.len(), COLS)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    let a = &r.new;
                    q = q
                        .bind(&a.external_id)
                        .bind(&a.name)
                        .bind(a.name.to_lowercase())
                        .bind(&a.domain)
                        .bind(&a.industry)
                        .bind(a.employees)
                        .bind(a.contract_value_tier.map(|v| v.as_str()))
                        .bind(a.growth_potential.map(|v| v.as_str()))
                        .bind(a.brand_value.map(|v| v.as_str()))
                        .bind(a.referral_likelihood.map(|v| v.as_str()))
                        .bind(a.coverage_tier.as_str())
                        .bind(a.lifecycle_stage.as_str())
                        .bind(a.owner_id.map(|u| u.0))
                        .bind(a.parent_id.map(|p| p.0))
                        .bind(a.currency.code())
                        .bind(Json(&a.traits))
                        .bind(now)
                        .bind(now);
                }
                q.execute(&mut *tx).await?;
                // Each new account's first stage, found again by its external id.
                let sql = format!(
                    "INSERT INTO lifecycle_transitions (account_id, from_stage, to_stage, changed_at, changed_by, reason) \
                     SELECT id, NULL, lifecycle_stage, created_at, '{}', 'import' FROM accounts WHERE external_id IN {}",
                    actor.label().replace('\'', "''"),
                    placeholders(backend, 1, chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q.bind(&r.new.external_id);
                }
                q.execute(&mut *tx).await?;
            }
            for r in &known {
                let (Some(id), a) = (r.existing, &r.new) else {
                    continue;
                };
                let previous: Option<String> =
                    sqlx::query_scalar("SELECT lifecycle_stage FROM accounts WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                sqlx::query(
                    "UPDATE accounts SET name = $1, name_lower = $2, domain = $3, industry = $4, employees = $5, \
                     contract_value_tier = $6, growth_potential = $7, brand_value = $8, referral_likelihood = $9, \
                     coverage_tier = $10, lifecycle_stage = $11, owner_id = $12, parent_id = $13, currency = $14, \
                     traits = $15, updated_at = $16 WHERE id = $17",
                )
                .bind(&a.name)
                .bind(a.name.to_lowercase())
                .bind(&a.domain)
                .bind(&a.industry)
                .bind(a.employees)
                .bind(a.contract_value_tier.map(|v| v.as_str()))
                .bind(a.growth_potential.map(|v| v.as_str()))
                .bind(a.brand_value.map(|v| v.as_str()))
                .bind(a.referral_likelihood.map(|v| v.as_str()))
                .bind(a.coverage_tier.as_str())
                .bind(a.lifecycle_stage.as_str())
                .bind(a.owner_id.map(|u| u.0))
                .bind(a.parent_id.map(|p| p.0))
                .bind(a.currency.code())
                .bind(Json(&a.traits))
                .bind(now)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if previous.as_deref() != Some(a.lifecycle_stage.as_str()) {
                    sqlx::query(
                        "INSERT INTO lifecycle_transitions (account_id, from_stage, to_stage, changed_at, changed_by, reason) \
                         VALUES ($1, $2, $3, $4, $5, 'import')",
                    )
                    .bind(id.0)
                    .bind(previous)
                    .bind(a.lifecycle_stage.as_str())
                    .bind(now)
                    .bind(actor.label())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            audit!(
                tx,
                actor,
                "import",
                "account",
                None::<i64>,
                Some(format!("{} inserted, {} updated", fresh.len(), known.len()))
            );
        });
        Ok((fresh.len(), known.len()))
    }
}
