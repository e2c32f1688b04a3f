//! What Segment's `group`, `identify` and `alias` calls change: accounts, contacts, and the
//! identities and aliases that let usage find its account.

use kizuna_domain::account::{normalise_domain, AccountDraft};
use kizuna_domain::contact::ContactDraft;
use kizuna_domain::email::Email;
use kizuna_domain::ids::{AccountId, ContactId};
use kizuna_domain::segment::{GroupTraits, PersonTraits};
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::audit::Actor;
use crate::{now, Result, Store, StoreError};

const ACTOR: Actor = Actor::System("segment");

fn merged(mut base: Map<String, Value>, extra: &Map<String, Value>) -> Map<String, Value> {
    for (k, v) in extra {
        base.insert(k.clone(), v.clone());
    }
    base
}

impl Store {
    /// A `group` call: creates or updates the account with this external id, and when the call
    /// names a user, makes them a contact of it. `None` when the account was deleted (ignored).
    pub async fn apply_group(
        &self,
        group_id: &str,
        user_id: Option<&str>,
        traits: &GroupTraits,
    ) -> Result<Option<AccountId>> {
        let domain = traits
            .domain
            .as_deref()
            .and_then(|d| normalise_domain(Some(d)).ok().flatten());
        let mut other = traits.other.clone();
        if let (Some(raw), None) = (&traits.domain, &domain) {
            // Not a domain we can use as one; keep what was sent.
            other.insert("website".into(), Value::String(raw.clone()));
        }
        let account = match self.account_id_by_external_id(group_id).await? {
            Some((id, false)) => {
                let current = self.account(id).await?;
                let patch = AccountDraft {
                    name: traits.name.clone(),
                    industry: traits.industry.clone(),
                    employees: traits.employees,
                    domain: domain.clone(),
                    traits: (!other.is_empty()).then(|| merged(current.traits.clone(), &other)),
                    ..Default::default()
                };
                if patch != AccountDraft::default() {
                    self.update_account(id, patch, &ACTOR).await?;
                }
                Some(id)
            }
            Some((_, true)) => None,
            None => {
                let draft = AccountDraft {
                    external_id: Some(group_id.to_string()),
                    name: Some(traits.name.clone().unwrap_or_else(|| group_id.to_string())),
                    industry: traits.industry.clone(),
                    employees: traits.employees,
                    domain,
                    traits: Some(other),
                    stage_reason: Some("first seen in a Segment group call".into()),
                    ..Default::default()
                };
                match self.create_account(draft, &ACTOR).await {
                    Ok(a) => Some(a.id),
                    // Another request created it meanwhile: use theirs.
                    Err(StoreError::Conflict { .. }) => self
                        .account_id_by_external_id(group_id)
                        .await?
                        .map(|(id, _)| id),
                    Err(e) => return Err(e),
                }
            }
        };
        if let (Some(account), Some(user)) = (account, user_id) {
            self.link_identity(user, account).await?;
        }
        Ok(account)
    }

    /// An `identify` call: keeps what it says about the user, and updates (or creates) their
    /// contact when their account is known, from `context.groupId` or an earlier `group` call.
    pub async fn apply_identify(
        &self,
        user_id: &str,
        group_id: Option<&str>,
        traits: &PersonTraits,
    ) -> Result<Option<ContactId>> {
        let now = now();
        let email = traits
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .map(|e| e.to_string());
        on_pool!(self, |pool| {
            let existing: Option<Json<Map<String, Value>>> =
                sqlx::query_scalar("SELECT traits FROM identities WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(pool)
                    .await?;
            let all_traits = merged(existing.map(|j| j.0).unwrap_or_default(), &traits.other);
            sqlx::query(
                "INSERT INTO identities (user_id, name, email, title, traits, first_seen_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id) DO UPDATE SET \
                 name = COALESCE(excluded.name, identities.name), email = COALESCE(excluded.email, identities.email), \
                 title = COALESCE(excluded.title, identities.title), traits = excluded.traits, last_seen_at = excluded.last_seen_at",
            )
            .bind(user_id)
            .bind(&traits.name)
            .bind(&email)
            .bind(&traits.title)
            .bind(Json(&all_traits))
            .bind(now)
            .execute(pool)
            .await?;
        });
        let account = match group_id {
            Some(g) => self
                .account_id_by_external_id(g)
                .await?
                .filter(|(_, deleted)| !deleted)
                .map(|(id, _)| id),
            None => None,
        };
        let account = match account {
            Some(a) => Some(a),
            None => on_pool!(self, |pool| sqlx::query_scalar::<_, Option<i64>>(
                "SELECT COALESCE(i.account_id, c.account_id) FROM identities i \
                 LEFT JOIN contacts c ON c.external_id = i.user_id WHERE i.user_id = $1"
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await?)
            .flatten()
            .map(AccountId),
        };
        match account {
            Some(a) => self.link_identity(user_id, a).await.map(Some),
            None => Ok(None),
        }
    }

    /// An `alias` call: later and kept events of `previous_id` count as `user_id`'s.
    pub async fn apply_alias(&self, previous_id: &str, user_id: &str) -> Result<()> {
        if previous_id == user_id {
            return Ok(());
        }
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO aliases (previous_id, user_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (previous_id) DO UPDATE SET user_id = excluded.user_id",
            )
            .bind(previous_id)
            .bind(user_id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            // Kept events still waiting for their account take the user's id; once attributed,
            // an anonymous user stays counted as the person they were then.
            sqlx::query(
                "UPDATE usage_events SET user_key = $1 WHERE user_key = $2 AND account_id IS NULL",
            )
            .bind(user_id)
            .bind(previous_id)
            .execute(&mut *tx)
            .await?;
        });
        if let Ok(contact) = self.contact_by_external_id(user_id).await {
            self.attribute_pending_usage_for_contact(contact.id).await?;
        }
        Ok(())
    }

    /// The user ids these anonymous ids were merged into.
    pub(crate) async fn aliases_of(&self, anonymous_ids: &[&str]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in anonymous_ids.chunks(500) {
            let sql = format!(
                "SELECT previous_id, user_id FROM aliases WHERE previous_id IN ({})",
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let rows: Vec<(String, String)> = on_pool!(self, |pool| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// The account with this external id, deleted or not: `(id, deleted)`.
    async fn account_id_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<(AccountId, bool)>> {
        let row: Option<(i64, bool)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, deleted_at IS NOT NULL FROM accounts WHERE external_id = $1"
        )
        .bind(external_id)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(id, deleted)| (AccountId(id), deleted)))
    }

    /// Makes the user a contact of the account (creating the contact from what `identify` said),
    /// or updates their contact with it.
    async fn link_identity(&self, user_id: &str, account: AccountId) -> Result<ContactId> {
        let now = now();
        type IdentityRow = (
            Option<String>,
            Option<String>,
            Option<String>,
            Json<Map<String, Value>>,
        );
        let identity: Option<IdentityRow> = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO identities (user_id, account_id, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET account_id = COALESCE(identities.account_id, excluded.account_id), \
                 last_seen_at = excluded.last_seen_at",
            )
            .bind(user_id)
            .bind(account.0)
            .bind(now)
            .execute(pool)
            .await?;
            sqlx::query_as("SELECT name, email, title, traits FROM identities WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        });
        let (name, email, title, traits) = identity.unwrap_or((None, None, None, Json(Map::new())));
        match self.contact_by_external_id(user_id).await {
            Ok(contact) => {
                let patch = ContactDraft {
                    name,
                    email,
                    title,
                    traits: (!traits.0.is_empty())
                        .then(|| merged(contact.traits.clone(), &traits.0)),
                    ..Default::default()
                };
                if patch != ContactDraft::default() {
                    self.update_contact(contact.id, patch, &ACTOR).await?;
                }
                Ok(contact.id)
            }
            Err(StoreError::NotFound(_)) => {
                let draft = ContactDraft {
                    account_id: Some(account),
                    external_id: Some(user_id.to_string()),
                    name,
                    email,
                    title,
                    traits: Some(traits.0),
                    ..Default::default()
                };
                match self.create_contact(None, draft, &ACTOR).await {
                    Ok(c) => Ok(c.id),
                    Err(StoreError::Conflict { .. }) => {
                        Ok(self.contact_by_external_id(user_id).await?.id)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
