//! Accounts: list with filters and paging, detail, create, update, soft delete, lifecycle history.

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::account::{
    Account, AccountDraft, AccountSort, ContractValueTier, CoverageTier, Level, LifecycleStage,
    NewAccount,
};
use kizuna_domain::contact::Contact;
use kizuna_domain::health::HealthBand;
use kizuna_domain::ids::{AccountId, UserId};
use kizuna_domain::money::Currency;
use kizuna_domain::page::Page;
use kizuna_domain::subscription::Subscription;
use serde::Serialize;
use sqlx::types::Json;

use crate::audit::{audit, Actor};
use crate::rows::{clamp_limit, parse, parse_opt};
use crate::sql::{bind_args, Arg, SqlBuilder};
use crate::{now, Backend, Result, Store, StoreError};

/// Refuses an owner or parent that does not exist, naming the field (instead of a bare
/// foreign-key failure).
macro_rules! check_references {
    ($tx:expr, $new:expr) => {
        if let Some(owner) = $new.owner_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(owner.0)
                .fetch_optional(&mut *$tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::invalid(
                    "owner_id",
                    format!("no team member has id {owner}"),
                ));
            }
        }
        if let Some(parent) = $new.parent_id {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 AND deleted_at IS NULL")
                    .bind(parent.0)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if found.is_none() {
                return Err(StoreError::invalid(
                    "parent_id",
                    format!("no account has id {parent}"),
                ));
            }
        }
    };
}

macro_rules! record_transition {
    ($tx:expr, $account_id:expr, $from:expr, $to:expr, $actor:expr, $reason:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO lifecycle_transitions (account_id, from_stage, to_stage, changed_at, changed_by, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($account_id)
        .bind($from)
        .bind($to.as_str())
        .bind($at)
        .bind($actor.label())
        .bind($reason)
        .execute(&mut *$tx)
        .await?
    };
}

pub(crate) const ACCOUNT_COLUMNS: &str = "id, external_id, name, domain, industry, employees, contract_value_tier, \
    growth_potential, brand_value, referral_likelihood, coverage_tier, lifecycle_stage, owner_id, parent_id, currency, \
    traits, mrr, seats, renewal_date, health_score, health_band, health_trend, churned_on, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    external_id: Option<String>,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    employees: Option<i64>,
    contract_value_tier: Option<String>,
    growth_potential: Option<String>,
    brand_value: Option<String>,
    referral_likelihood: Option<String>,
    coverage_tier: String,
    lifecycle_stage: String,
    owner_id: Option<i64>,
    parent_id: Option<i64>,
    currency: String,
    traits: Json<serde_json::Map<String, serde_json::Value>>,
    mrr: f64,
    seats: i64,
    renewal_date: Option<NaiveDate>,
    health_score: Option<f64>,
    health_band: Option<String>,
    health_trend: Option<String>,
    churned_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self> {
        Ok(Account {
            id: AccountId(r.id),
            external_id: r.external_id,
            name: r.name,
            domain: r.domain,
            industry: r.industry,
            employees: r.employees,
            contract_value_tier: parse_opt(
                r.contract_value_tier.as_deref(),
                "contract_value_tier",
            )?,
            growth_potential: parse_opt(r.growth_potential.as_deref(), "growth_potential")?,
            brand_value: parse_opt(r.brand_value.as_deref(), "brand_value")?,
            referral_likelihood: parse_opt(
                r.referral_likelihood.as_deref(),
                "referral_likelihood",
            )?,
            coverage_tier: parse(&r.coverage_tier, "coverage_tier")?,
            lifecycle_stage: parse(&r.lifecycle_stage, "lifecycle_stage")?,
            owner_id: r.owner_id.map(UserId),
            parent_id: r.parent_id.map(AccountId),
            currency: Currency::parse(&r.currency).map_err(StoreError::Corrupt)?,
            traits: r.traits.0,
            mrr: r.mrr,
            arr: r.mrr * 12.0,
            seats: r.seats,
            renewal_date: r.renewal_date,
            health_score: r.health_score,
            health_band: parse_opt(r.health_band.as_deref(), "health_band")?,
            health_trend: parse_opt(r.health_trend.as_deref(), "health_trend")?,
            churned_on: r.churned_on,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Which accounts a list shows, in which order, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Free text, matched against name and domain.
    pub q: Option<String>,
    pub coverage_tier: Option<CoverageTier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub contract_value_tier: Option<ContractValueTier>,
    pub growth_potential: Option<Level>,
    pub brand_value: Option<Level>,
    pub referral_likelihood: Option<Level>,
    pub health_band: Option<HealthBand>,
    pub owner_id: Option<UserId>,
    /// Only accounts nobody owns.
    pub unowned: bool,
    pub industry: Option<String>,
    /// Renewal date on or after this day.
    pub renewal_from: Option<NaiveDate>,
    /// Renewal date on or before this day.
    pub renewal_to: Option<NaiveDate>,
    pub sort: Option<(AccountSort, bool)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl AccountFilter {
    /// Whether the list is narrowed by an attribute of the account (not by renewal date or text).
    fn has_attribute_filter(&self) -> bool {
        self.coverage_tier.is_some()
            || self.lifecycle_stage.is_some()
            || self.contract_value_tier.is_some()
            || self.growth_potential.is_some()
            || self.brand_value.is_some()
            || self.referral_likelihood.is_some()
            || self.health_band.is_some()
            || self.owner_id.is_some()
            || self.unowned
            || self.industry.is_some()
    }

    fn has_any_filter(&self) -> bool {
        self.has_attribute_filter() || self.renewal_from.is_some() || self.renewal_to.is_some()
    }
}

/// One account with what a Customer 360 header needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    pub contacts: Vec<Contact>,
    pub subscriptions: Vec<Subscription>,
    /// Days from today to the renewal date (negative when overdue).
    pub days_to_renewal: Option<i64>,
}

/// Escapes LIKE wildcards so a search for `50%` means the text `50%`.
fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

fn where_clause(f: &AccountFilter, b: &mut SqlBuilder, backend: Backend) {
    b.push(" WHERE deleted_at IS NULL");
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_pattern(q);
        // SQLite: the trigram index narrows to candidates, LIKE keeps the exact matches.
        // PostgreSQL's trigram indexes serve the LIKE itself.
        if backend == Backend::Sqlite && q.chars().count() >= 3 {
            let phrase = format!("\"{}\"", q.to_lowercase().replace('"', "\"\""));
            b.push(" AND id IN (SELECT rowid FROM accounts_search WHERE accounts_search MATCH ")
                .arg(Arg::Text(phrase))
                .push(")");
        }
        b.push(" AND (name_lower LIKE ")
            .arg(Arg::Text(pattern.clone()));
        b.push(" ESCAPE '\\' OR domain LIKE ")
            .arg(Arg::Text(pattern))
            .push(" ESCAPE '\\')");
    }
    let mut eq = |col: &str, v: Option<&str>| {
        if let Some(v) = v {
            b.push(" AND ")
                .push(col)
                .push(" = ")
                .arg(Arg::Text(v.to_string()));
        }
    };
    eq("coverage_tier", f.coverage_tier.map(|v| v.as_str()));
    eq("lifecycle_stage", f.lifecycle_stage.map(|v| v.as_str()));
    eq(
        "contract_value_tier",
        f.contract_value_tier.map(|v| v.as_str()),
    );
    eq("growth_potential", f.growth_potential.map(|v| v.as_str()));
    eq("brand_value", f.brand_value.map(|v| v.as_str()));
    eq(
        "referral_likelihood",
        f.referral_likelihood.map(|v| v.as_str()),
    );
    eq("health_band", f.health_band.map(|v| v.as_str()));
    eq("industry", f.industry.as_deref());
    if let Some(owner) = f.owner_id {
        b.push(" AND owner_id = ").arg(Arg::I64(owner.0));
    }
    if f.unowned {
        b.push(" AND owner_id IS NULL");
    }
    if let Some(d) = f.renewal_from {
        b.push(" AND renewal_date >= ").arg(Arg::Date(d));
    }
    if let Some(d) = f.renewal_to {
        b.push(" AND renewal_date <= ").arg(Arg::Date(d));
    }
}

fn order_clause(sort: Option<(AccountSort, bool)>) -> String {
    let (key, desc) = sort.unwrap_or((AccountSort::Name, false));
    let dir = if desc { "DESC" } else { "ASC" };
    match key {
        AccountSort::Name => format!(" ORDER BY name_lower {dir}, id {dir}"),
        AccountSort::Arr => format!(" ORDER BY mrr {dir}, id {dir}"),
        AccountSort::CreatedAt => format!(" ORDER BY created_at {dir}, id {dir}"),
        AccountSort::UpdatedAt => format!(" ORDER BY updated_at {dir}, id {dir}"),
        // Accounts without a renewal date or a score go last either way.
        AccountSort::RenewalDate => {
            format!(" ORDER BY renewal_date IS NULL, renewal_date {dir}, id {dir}")
        }
        AccountSort::HealthScore => {
            format!(" ORDER BY health_score IS NULL, health_score {dir}, id {dir}")
        }
    }
}

impl Store {
    pub async fn list_accounts(&self, filter: &AccountFilter) -> Result<Page<Account>> {
        let limit = clamp_limit(filter.limit);
        let offset = filter.offset.unwrap_or(0).max(0);
        let backend = self.backend();
        // SQLite picks one index per table and then reads every matching row to filter and sort;
        // for filtered lists the covering `accounts_list` index answers from the index alone.
        let free_text = filter.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        let (count_hint, list_hint) = match backend {
            // An owner's accounts are few: their own index is better than scanning the covering one.
            Backend::Sqlite
                if filter.has_attribute_filter() && !free_text && filter.owner_id.is_none() =>
            {
                (" INDEXED BY accounts_list", " INDEXED BY accounts_list")
            }
            Backend::Sqlite if !filter.has_any_filter() && !free_text => {
                (" INDEXED BY accounts_name", "")
            }
            _ => ("", ""),
        };
        let mut count = SqlBuilder::new(&format!("SELECT COUNT(*) FROM accounts{count_hint}"));
        where_clause(filter, &mut count, backend);
        // The page's ids first (from an index where possible), then only those rows.
        let order = order_clause(filter.sort);
        let mut list = SqlBuilder::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id IN (SELECT id FROM accounts{list_hint}"
        ));
        where_clause(filter, &mut list, backend);
        list.push(&order);
        list.push(" LIMIT ")
            .arg(Arg::I64(limit))
            .push(" OFFSET ")
            .arg(Arg::I64(offset))
            .push(")");
        list.push(&order);
        let (total, rows): (i64, Vec<AccountRow>) = on_pool!(self, |pool| {
            let total = bind_args!(sqlx::query_scalar(&count.sql), &count.args)
                .fetch_one(pool)
                .await?;
            let rows = bind_args!(sqlx::query_as(&list.sql), &list.args)
                .fetch_all(pool)
                .await?;
            (total, rows)
        });
        let items = rows
            .into_iter()
            .map(Account::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, total, limit, offset))
    }

    pub async fn account(&self, id: AccountId) -> Result<Account> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND deleted_at IS NULL");
        let row: Option<AccountRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("account {id}")))?
            .try_into()
    }

    pub async fn account_by_external_id(&self, external_id: &str) -> Result<Account> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE external_id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AccountRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(external_id)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| {
            StoreError::not_found(format!("account with external_id `{external_id}`"))
        })?
        .try_into()
    }

    /// The account with its contacts and subscriptions.
    pub async fn account_detail(&self, id: AccountId, today: NaiveDate) -> Result<AccountDetail> {
        let account = self.account(id).await?;
        let contacts = self.list_contacts(id, None, None).await?.items;
        let subscriptions = self.list_subscriptions(id).await?;
        let days_to_renewal = account.renewal_date.map(|d| (d - today).num_days());
        Ok(AccountDetail {
            account,
            contacts,
            subscriptions,
            days_to_renewal,
        })
    }

    pub async fn create_account(&self, draft: AccountDraft, actor: &Actor) -> Result<Account> {
        let new = NewAccount::parse(draft)?;
        let ids = self.create_accounts(vec![new], actor).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("account"))?;
        self.account(id).await
    }

    /// Creates many accounts in one transaction: all are stored, or none.
    pub async fn create_accounts(
        &self,
        rows: Vec<NewAccount>,
        actor: &Actor,
    ) -> Result<Vec<AccountId>> {
        let ids: Vec<AccountId> = in_tx!(self, |tx| {
            let mut ids = Vec::with_capacity(rows.len());
            let now = now();
            for new in &rows {
                check_references!(tx, new);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO accounts (external_id, name, name_lower, domain, industry, employees, contract_value_tier, \
                     growth_potential, brand_value, referral_likelihood, coverage_tier, lifecycle_stage, owner_id, parent_id, \
                     currency, traits, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
                )
                .bind(&new.external_id)
                .bind(&new.name)
                .bind(new.name.to_lowercase())
                .bind(&new.domain)
                .bind(&new.industry)
                .bind(new.employees)
                .bind(new.contract_value_tier.map(|v| v.as_str()))
                .bind(new.growth_potential.map(|v| v.as_str()))
                .bind(new.brand_value.map(|v| v.as_str()))
                .bind(new.referral_likelihood.map(|v| v.as_str()))
                .bind(new.coverage_tier.as_str())
                .bind(new.lifecycle_stage.as_str())
                .bind(new.owner_id.map(|u| u.0))
                .bind(new.parent_id.map(|a| a.0))
                .bind(new.currency.code())
                .bind(Json(&new.traits))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                record_transition!(
                    tx,
                    id,
                    None::<&str>,
                    new.lifecycle_stage,
                    actor,
                    new.stage_reason.as_deref(),
                    now
                );
                ids.push(AccountId(id));
            }
            audit!(
                tx,
                actor,
                "create",
                "account",
                ids.first().map(|a| a.0),
                Some(format!("{} created", ids.len()))
            );
            ids
        });
        if self.has_unattributed_usage().await? {
            for (id, new) in ids.iter().zip(&rows) {
                if new.external_id.is_some() {
                    self.attribute_pending_usage_for_account(*id).await?;
                }
            }
        }
        Ok(ids)
    }

    /// Applies the fields `patch` carries over the stored account and validates the whole again.
    pub async fn update_account(
        &self,
        id: AccountId,
        patch: AccountDraft,
        actor: &Actor,
    ) -> Result<Account> {
        let current = self.account(id).await?;
        let reason = patch.stage_reason.clone();
        let new = NewAccount::parse(AccountDraft::from(&current).overlay(patch))?;
        if new.currency != current.currency && current.mrr > 0.0 {
            return Err(StoreError::invalid(
                "currency",
                format!(
                    "the account has subscriptions in {}; change their currency first",
                    current.currency
                ),
            ));
        }
        if new.parent_id == Some(id) {
            return Err(StoreError::invalid(
                "parent_id",
                "an account cannot be its own parent",
            ));
        }
        let external_id_changed = new.external_id != current.external_id;
        in_tx!(self, |tx| {
            check_references!(tx, new);
            let now = now();
            sqlx::query(
                "UPDATE accounts SET external_id = $1, name = $2, name_lower = $3, domain = $4, industry = $5, \
                 employees = $6, contract_value_tier = $7, growth_potential = $8, brand_value = $9, \
                 referral_likelihood = $10, coverage_tier = $11, lifecycle_stage = $12, owner_id = $13, parent_id = $14, \
                 currency = $15, traits = $16, updated_at = $17 WHERE id = $18",
            )
            .bind(&new.external_id)
            .bind(&new.name)
            .bind(new.name.to_lowercase())
            .bind(&new.domain)
            .bind(&new.industry)
            .bind(new.employees)
            .bind(new.contract_value_tier.map(|v| v.as_str()))
            .bind(new.growth_potential.map(|v| v.as_str()))
            .bind(new.brand_value.map(|v| v.as_str()))
            .bind(new.referral_likelihood.map(|v| v.as_str()))
            .bind(new.coverage_tier.as_str())
            .bind(new.lifecycle_stage.as_str())
            .bind(new.owner_id.map(|u| u.0))
            .bind(new.parent_id.map(|a| a.0))
            .bind(new.currency.code())
            .bind(Json(&new.traits))
            .bind(now)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            // Axes a person sets are theirs: segmentation rules leave them alone from now on.
            if !matches!(actor, Actor::System(_)) {
                let set: Vec<&str> = [
                    (
                        "contract_value_tier",
                        new.contract_value_tier != current.contract_value_tier,
                    ),
                    (
                        "growth_potential",
                        new.growth_potential != current.growth_potential,
                    ),
                    ("brand_value", new.brand_value != current.brand_value),
                    (
                        "referral_likelihood",
                        new.referral_likelihood != current.referral_likelihood,
                    ),
                    ("coverage_tier", new.coverage_tier != current.coverage_tier),
                ]
                .into_iter()
                .filter_map(|(f, changed)| changed.then_some(f))
                .collect();
                if !set.is_empty() {
                    let before: String =
                        sqlx::query_scalar("SELECT axes_by_hand FROM accounts WHERE id = $1")
                            .bind(id.0)
                            .fetch_one(&mut *tx)
                            .await?;
                    let mut all: std::collections::BTreeSet<&str> =
                        before.split(',').filter(|f| !f.is_empty()).collect();
                    all.extend(set);
                    sqlx::query("UPDATE accounts SET axes_by_hand = $1 WHERE id = $2")
                        .bind(all.into_iter().collect::<Vec<_>>().join(","))
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if new.lifecycle_stage != current.lifecycle_stage {
                record_transition!(
                    tx,
                    id.0,
                    Some(current.lifecycle_stage.as_str()),
                    new.lifecycle_stage,
                    actor,
                    reason.as_deref(),
                    now
                );
            }
            audit!(tx, actor, "update", "account", Some(id.0), None::<String>);
        });
        if external_id_changed {
            self.attribute_pending_usage_for_account(id).await?;
        }
        self.account(id).await
    }

    /// Hides the account from every list; its history stays for analytics and audit.
    pub async fn delete_account(&self, id: AccountId, actor: &Actor) -> Result<()> {
        in_tx!(self, |tx| {
            let n = sqlx::query("UPDATE accounts SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now())
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::not_found(format!("account {id}")));
            }
            audit!(tx, actor, "delete", "account", Some(id.0), None::<String>);
        });
        Ok(())
    }

    /// Every lifecycle stage change of an account, oldest first.
    pub async fn lifecycle_history(&self, id: AccountId) -> Result<Vec<LifecycleTransition>> {
        let rows: Vec<TransitionRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT from_stage, to_stage, changed_at, changed_by, reason FROM lifecycle_transitions \
             WHERE account_id = $1 ORDER BY changed_at, id"
        )
        .bind(id.0)
        .fetch_all(pool)
        .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(LifecycleTransition {
                    from_stage: parse_opt(r.from_stage.as_deref(), "from_stage")?,
                    to_stage: parse(&r.to_stage, "to_stage")?,
                    changed_at: r.changed_at,
                    changed_by: r.changed_by,
                    reason: r.reason,
                })
            })
            .collect()
    }

    /// The distinct industries in use, for filter pickers.
    pub async fn industries(&self) -> Result<Vec<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar(
            "SELECT DISTINCT industry FROM accounts WHERE industry IS NOT NULL AND deleted_at IS NULL ORDER BY industry"
        )
        .fetch_all(pool)
        .await?
        }))
    }
}

#[derive(sqlx::FromRow)]
struct TransitionRow {
    from_stage: Option<String>,
    to_stage: String,
    changed_at: DateTime<Utc>,
    changed_by: String,
    reason: Option<String>,
}

/// One change of an account's lifecycle stage: who, when and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifecycleTransition {
    pub from_stage: Option<LifecycleStage>,
    pub to_stage: LifecycleStage,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub reason: Option<String>,
}
