//! What the web UI keeps: signed-in sessions (only a SHA-256 of each session id is stored, like API
//! tokens) and saved account views, plus the few portfolio summaries no REST call needs.

use chrono::{DateTime, Duration, Utc};
use kizuna_domain::account::Account;
use kizuna_domain::health::HealthBand;
use kizuna_domain::ids::UserId;
use kizuna_domain::user::User;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::accounts::{AccountRow, ACCOUNT_COLUMNS};
use crate::rows::parse_opt;
use crate::{now, Result, Store, StoreError};

/// A session just opened: the secret goes into the browser's cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in user behind a session cookie, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf_token: String,
}

/// A named account-list query.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The accounts page's query string, without the leading `?`.
    pub query: String,
}

/// How many accounts (and how much MRR) sit in one health band; `band` is `None` for accounts
/// not scored yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandCount {
    pub band: Option<HealthBand>,
    pub accounts: i64,
    pub mrr: f64,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

fn hash_session(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Opens a session for a user that lasts `ttl`.
    pub async fn create_web_session(&self, user: UserId, ttl: Duration) -> Result<NewWebSession> {
        let secret = random_hex(32);
        let csrf_token = random_hex(32);
        let created = now();
        let expires_at = created + ttl;
        let id_hash = hash_session(&secret);
        in_tx!(self, |tx| {
            // Expired sessions go away as new ones come in; no scheduler needed.
            sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
                .bind(created)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id_hash)
            .bind(user.0)
            .bind(&csrf_token)
            .bind(created)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(NewWebSession {
            secret,
            csrf_token,
            expires_at,
        })
    }

    /// The active user behind a session secret, if the session exists and has not expired.
    pub async fn web_session(&self, secret: &str) -> Result<Option<WebSession>> {
        let id_hash = hash_session(secret);
        let row: Option<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT s.user_id, s.csrf_token FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.active"
        )
        .bind(&id_hash)
        .bind(now())
        .fetch_optional(pool)
        .await?
        });
        let Some((user_id, csrf_token)) = row else {
            return Ok(None);
        };
        match self.user(UserId(user_id)).await {
            Ok(user) => Ok(Some(WebSession { user, csrf_token })),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ends one session (sign-out).
    pub async fn delete_web_session(&self, secret: &str) -> Result<()> {
        let id_hash = hash_session(secret);
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM web_sessions WHERE id_hash = $1"
        )
        .bind(&id_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Ends every session of a user except the one given (after a password change, or when an
    /// admin deactivates the user).
    pub async fn delete_user_web_sessions(&self, user: UserId, keep: Option<&str>) -> Result<()> {
        let keep_hash = keep.map(hash_session).unwrap_or_default();
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM web_sessions WHERE user_id = $1 AND id_hash <> $2"
        )
        .bind(user.0)
        .bind(&keep_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Accounts per health band, of one owner or of everyone; churned accounts left out.
    pub async fn band_counts(&self, owner: Option<UserId>) -> Result<Vec<BandCount>> {
        // Two texts rather than `$1 IS NULL OR owner_id = $1`, which keeps SQLite off the index.
        let sql = match owner {
            Some(_) => {
                "SELECT health_band, COUNT(*), COALESCE(SUM(mrr), 0.0) FROM accounts \
                 WHERE deleted_at IS NULL AND owner_id = $1 AND lifecycle_stage <> 'churned' \
                 GROUP BY health_band"
            }
            None => {
                "SELECT health_band, COUNT(*), COALESCE(SUM(mrr), 0.0) FROM accounts \
                 WHERE deleted_at IS NULL AND lifecycle_stage <> 'churned' GROUP BY health_band"
            }
        };
        let rows: Vec<(Option<String>, i64, f64)> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sql);
            if let Some(o) = owner {
                q = q.bind(o.0);
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(band, accounts, mrr)| {
                Ok(BandCount {
                    band: parse_opt(band.as_deref(), "health_band")?,
                    accounts,
                    mrr,
                })
            })
            .collect()
    }

    /// Accounts whose health went down at the last scoring, lowest score first.
    pub async fn accounts_trending_down(
        &self,
        owner: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<Account>> {
        // The partial index `accounts_trending_down` holds only these accounts.
        let owner_clause = if owner.is_some() {
            " AND owner_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE deleted_at IS NULL AND health_trend = 'down' \
             AND lifecycle_stage <> 'churned'{owner_clause} ORDER BY health_score, id LIMIT $1"
        );
        let rows: Vec<AccountRow> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(&sql).bind(limit);
            if let Some(o) = owner {
                q = q.bind(o.0);
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter().map(Account::try_from).collect()
    }

    pub async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name, id"
        )
        .bind(user.0)
        .fetch_all(pool)
        .await?))
    }

    pub async fn create_saved_view(&self, user: UserId, name: &str, query: &str) -> Result<i64> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid("name", "must be 1 to 100 characters"));
        }
        Ok(in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO saved_views (user_id, name, query, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id",
            )
            .bind(user.0)
            .bind(name)
            .bind(query)
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
            id
        }))
    }

    /// Deletes one of the user's own views; someone else's view is "not found".
    pub async fn delete_saved_view(&self, user: UserId, id: i64) -> Result<()> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM saved_views WHERE id = $1 AND user_id = $2"
        )
        .bind(id)
        .bind(user.0)
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::not_found(format!("saved view {id}")));
        }
        Ok(())
    }
}
