//! API tokens. Only a SHA-256 hash of each secret is kept; the secret is shown once, when issued.

use chrono::{DateTime, Duration, Utc};
use kizuna_domain::ids::TokenId;
use kizuna_domain::token::{ApiToken, TokenScope, SHOWN_PREFIX_LEN, TOKEN_PREFIX};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{audit, Actor};
use crate::rows::parse;
use crate::{now, Result, Store, StoreError};

const TOKEN_COLUMNS: &str = "id, name, scope, prefix, created_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    scope: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            id: TokenId(r.id),
            name: r.name,
            scope: parse(&r.scope, "scope")?,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// A token just issued, with its secret: the only time the secret exists outside the caller.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How stale `last_used_at` may get before a request refreshes it (a write per request would
/// serialise every API call on SQLite).
const LAST_USED_RESOLUTION: i64 = 60;

impl Store {
    pub async fn issue_token(
        &self,
        name: &str,
        scope: TokenScope,
        actor: &Actor,
    ) -> Result<IssuedToken> {
        let name = kizuna_domain::text::required(Some(name), 100)
            .map_err(|e| StoreError::invalid("name", e))?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let prefix: String = secret.chars().take(SHOWN_PREFIX_LEN).collect();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (name, scope, prefix, secret_hash, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&name)
            .bind(scope.as_str())
            .bind(&prefix)
            .bind(hash_secret(&secret))
            .bind(actor.user_id())
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "create",
                "api_token",
                Some(id),
                Some(format!("{name} ({scope})"))
            );
            id
        });
        Ok(IssuedToken {
            token: self.token(TokenId(id)).await?,
            secret,
        })
    }

    /// The user who created a token, if a person did (tokens made by `kizuna token create` have
    /// none).
    pub async fn token_creator(&self, id: i64) -> Result<Option<i64>> {
        let row: Option<Option<i64>> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT created_by FROM api_tokens WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        Ok(row.flatten())
    }

    pub async fn token(&self, id: TokenId) -> Result<ApiToken> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        let row: Option<TokenRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("token {id}")))?
            .try_into()
    }

    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC");
        let rows: Vec<TokenRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    /// The live token whose secret this is, or `None`.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<ApiToken>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL"
        );
        let row: Option<TokenRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(hash_secret(secret))
            .fetch_optional(pool)
            .await?);
        let Some(token) = row.map(ApiToken::try_from).transpose()? else {
            return Ok(None);
        };
        let now = now();
        if token
            .last_used_at
            .is_none_or(|t| now - t > Duration::seconds(LAST_USED_RESOLUTION))
        {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
            )
            .bind(now)
            .bind(token.id.0)
            .execute(pool)
            .await
            .map(|_| ())?);
        }
        Ok(Some(token))
    }

    pub async fn revoke_token(&self, id: TokenId, actor: &Actor) -> Result<ApiToken> {
        in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now())
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::not_found(format!("live token {id}")));
            }
            audit!(tx, actor, "revoke", "api_token", Some(id.0), None::<String>);
        });
        self.token(id).await
    }
}
