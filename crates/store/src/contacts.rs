//! Contacts: the people at a customer.

use chrono::{DateTime, Utc};
use kizuna_domain::contact::{roles_from_text, roles_to_text, Contact, ContactDraft, NewContact};
use kizuna_domain::email::Email;
use kizuna_domain::ids::{AccountId, ContactId};
use kizuna_domain::page::Page;
use sqlx::types::Json;

use crate::audit::{audit, Actor};
use crate::rows::clamp_limit;
use crate::{now, Result, Store, StoreError};

const CONTACT_COLUMNS: &str =
    "id, account_id, external_id, name, email, title, roles, traits, first_seen_at, \
    last_seen_at, left_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    account_id: i64,
    external_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    title: Option<String>,
    roles: String,
    traits: Json<serde_json::Map<String, serde_json::Value>>,
    first_seen_at: Option<DateTime<Utc>>,
    last_seen_at: Option<DateTime<Utc>>,
    left_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;
    fn try_from(r: ContactRow) -> Result<Self> {
        Ok(Contact {
            id: ContactId(r.id),
            account_id: AccountId(r.account_id),
            external_id: r.external_id,
            name: r.name,
            email: r
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(StoreError::Corrupt)?,
            title: r.title,
            roles: roles_from_text(&r.roles),
            traits: r.traits.0,
            first_seen_at: r.first_seen_at,
            last_seen_at: r.last_seen_at,
            left_at: r.left_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Refuses a write that names an account that does not exist.
macro_rules! require_account {
    ($tx:expr, $account_id:expr) => {{
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 AND deleted_at IS NULL")
                .bind($account_id.0)
                .fetch_optional(&mut *$tx)
                .await?;
        if found.is_none() {
            return Err(StoreError::not_found(format!("account {}", $account_id)));
        }
    }};
}
pub(crate) use require_account;

impl Store {
    /// An account's contacts, people who left last.
    pub async fn list_contacts(
        &self,
        account: AccountId,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<Contact>> {
        let limit = clamp_limit(limit.or(Some(500)));
        let offset = offset.unwrap_or(0).max(0);
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 \
             ORDER BY left_at IS NOT NULL, name, id LIMIT $2 OFFSET $3"
        );
        let (total, rows): (i64, Vec<ContactRow>) = on_pool!(self, |pool| {
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE account_id = $1")
                .bind(account.0)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(&sql)
                .bind(account.0)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            (total, rows)
        });
        let items = rows
            .into_iter()
            .map(Contact::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, total, limit, offset))
    }

    pub async fn contact(&self, id: ContactId) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1");
        let row: Option<ContactRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("contact {id}")))?
            .try_into()
    }

    pub async fn contact_by_external_id(&self, external_id: &str) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE external_id = $1");
        let row: Option<ContactRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(external_id)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| {
            StoreError::not_found(format!("contact with external_id `{external_id}`"))
        })?
        .try_into()
    }

    pub async fn create_contact(
        &self,
        account: Option<AccountId>,
        draft: ContactDraft,
        actor: &Actor,
    ) -> Result<Contact> {
        let new = NewContact::parse(draft, account)?;
        let ids = self.create_contacts(vec![new], actor).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| StoreError::not_found("contact"))?;
        self.contact(id).await
    }

    /// Creates many contacts in one transaction: all are stored, or none.
    pub async fn create_contacts(
        &self,
        rows: Vec<NewContact>,
        actor: &Actor,
    ) -> Result<Vec<ContactId>> {
        let ids: Vec<ContactId> = in_tx!(self, |tx| {
            let now = now();
            let mut ids = Vec::with_capacity(rows.len());
            for new in &rows {
                require_account!(tx, new.account_id);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO contacts (account_id, external_id, name, email, title, roles, traits, left_at, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(new.account_id.0)
                .bind(&new.external_id)
                .bind(&new.name)
                .bind(new.email.as_ref().map(Email::as_str))
                .bind(&new.title)
                .bind(roles_to_text(&new.roles))
                .bind(Json(&new.traits))
                .bind(new.left_at)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                ids.push(ContactId(id));
            }
            audit!(
                tx,
                actor,
                "create",
                "contact",
                ids.first().map(|c| c.0),
                Some(format!("{} created", ids.len()))
            );
            ids
        });
        if self.has_unattributed_usage().await? {
            for (id, new) in ids.iter().zip(&rows) {
                if new.external_id.is_some() {
                    self.attribute_pending_usage_for_contact(*id).await?;
                }
            }
        }
        Ok(ids)
    }

    pub async fn update_contact(
        &self,
        id: ContactId,
        patch: ContactDraft,
        actor: &Actor,
    ) -> Result<Contact> {
        let current = self.contact(id).await?;
        let new = NewContact::parse(ContactDraft::from(&current).overlay(patch), None)?;
        in_tx!(self, |tx| {
            require_account!(tx, new.account_id);
            sqlx::query(
                "UPDATE contacts SET account_id = $1, external_id = $2, name = $3, email = $4, title = $5, roles = $6, \
                 traits = $7, left_at = $8, updated_at = $9 WHERE id = $10",
            )
            .bind(new.account_id.0)
            .bind(&new.external_id)
            .bind(&new.name)
            .bind(new.email.as_ref().map(Email::as_str))
            .bind(&new.title)
            .bind(roles_to_text(&new.roles))
            .bind(Json(&new.traits))
            .bind(new.left_at)
            .bind(now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            audit!(tx, actor, "update", "contact", Some(id.0), None::<String>);
        });
        if new.external_id != current.external_id && new.external_id.is_some() {
            self.attribute_pending_usage_for_contact(id).await?;
        }
        self.contact(id).await
    }
}
