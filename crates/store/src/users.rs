//! Team members: who signs in, with which role, in which language.

use chrono::{DateTime, Utc};
use kizuna_domain::email::Email;
use kizuna_domain::ids::UserId;
use kizuna_domain::user::{NewUser, Role, User, UserDraft};

use crate::audit::{audit, Actor};
use crate::rows::parse;
use crate::{now, Result, Store, StoreError};

const USER_COLUMNS: &str =
    "id, email, name, role, locale, active, created_at, updated_at, password_hash";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    locale: String,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    password_hash: Option<String>,
}

/// A user with the stored password hash, for signing in. Never leaves the server.
#[derive(Debug, Clone)]
pub struct UserWithHash {
    pub user: User,
    pub password_hash: Option<String>,
}

impl TryFrom<UserRow> for UserWithHash {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(UserWithHash {
            user: User {
                id: UserId(r.id),
                email: Email::parse(&r.email).map_err(StoreError::Corrupt)?,
                name: r.name,
                role: parse(&r.role, "role")?,
                locale: parse(&r.locale, "locale")?,
                active: r.active,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
            password_hash: r.password_hash,
        })
    }
}

impl Store {
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name, id");
        let rows: Vec<UserRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(|r| UserWithHash::try_from(r).map(|u| u.user))
            .collect()
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        Ok(self.user_with_hash(id).await?.user)
    }

    pub async fn user_with_hash(&self, id: UserId) -> Result<UserWithHash> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("user {id}")))?
            .try_into()
    }

    /// Looks a user up by e-mail, for signing in; the address is compared as `Email` normalises it.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserWithHash>> {
        let Ok(email) = Email::parse(email) else {
            return Ok(None);
        };
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?);
        row.map(UserWithHash::try_from).transpose()
    }

    pub async fn count_users_with_role(&self, role: Role) -> Result<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = $1 AND active = $2"
        )
        .bind(role.as_str())
        .bind(true)
        .fetch_one(pool)
        .await?))
    }

    /// Creates a user. The caller hashes the password (the store never sees it in the clear).
    pub async fn create_user(
        &self,
        new: NewUser,
        password_hash: Option<String>,
        actor: &Actor,
    ) -> Result<User> {
        let id: i64 = in_tx!(self, |tx| {
            let now = now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, name, role, locale, active, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(new.email.as_str())
            .bind(&new.name)
            .bind(new.role.as_str())
            .bind(new.locale.as_str())
            .bind(new.active)
            .bind(&password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "create",
                "user",
                Some(id),
                Some(new.email.to_string())
            );
            id
        });
        self.user(UserId(id)).await
    }

    /// Changes a user; a `password_hash` of `Some` replaces the password.
    pub async fn update_user(
        &self,
        id: UserId,
        patch: UserDraft,
        password_hash: Option<String>,
        actor: &Actor,
    ) -> Result<User> {
        let current = self.user(id).await?;
        let mut merged = UserDraft::from(&current).overlay(patch);
        merged.password = None;
        let new = NewUser::parse(merged)?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE users SET email = $1, name = $2, role = $3, locale = $4, active = $5, updated_at = $6, \
                 password_hash = COALESCE($7, password_hash) WHERE id = $8",
            )
            .bind(new.email.as_str())
            .bind(&new.name)
            .bind(new.role.as_str())
            .bind(new.locale.as_str())
            .bind(new.active)
            .bind(now())
            .bind(&password_hash)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let detail = if password_hash.is_some() {
                Some("password changed".to_string())
            } else {
                None
            };
            audit!(tx, actor, "update", "user", Some(id.0), detail);
        });
        self.user(id).await
    }
}
