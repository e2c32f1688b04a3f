//! What can go wrong in the store, in terms the layers above can act on.

use kizuna_domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (or was deleted).
    #[error("{0} not found")]
    NotFound(String),
    /// The change would break a uniqueness rule (a duplicate external id, say).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The input is not valid; each field says why.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store cannot be opened or used as configured.
    #[error("{0}")]
    Config(String),
    /// A value read back from the database is not one Kizuna writes.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound(what.into())
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        StoreError::Invalid(ValidationError::single(field, message))
    }

    /// Whether retrying the same call may succeed (a busy database, a lost connection).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let field = unique_field(db.message(), db.constraint());
                return StoreError::Conflict {
                    message: format!("another record already has this {field}"),
                    field,
                };
            }
            if db.is_foreign_key_violation() {
                return StoreError::Invalid(ValidationError::single(
                    "id",
                    "refers to a record that does not exist",
                ));
            }
        }
        StoreError::Database(e)
    }
}

/// The column a unique violation is about, from SQLite's message (`UNIQUE constraint failed:
/// accounts.external_id`) or PostgreSQL's constraint name (`accounts_external_id_key`).
fn unique_field(message: &str, constraint: Option<&str>) -> String {
    if let Some(rest) = message.split("failed: ").nth(1) {
        if let Some((_, col)) = rest.split(',').next().unwrap_or(rest).split_once('.') {
            return col.trim().to_string();
        }
    }
    if let Some(c) = constraint {
        let c = c.strip_suffix("_key").unwrap_or(c);
        for known in ["external_id", "email", "message_id", "secret_hash", "key"] {
            if c.ends_with(known) {
                return known.to_string();
            }
        }
    }
    "value".to_string()
}

#[cfg(test)]
mod tests {
    use super::unique_field;

    #[test]
    fn unique_field_is_found_on_both_backends() {
        assert_eq!(
            unique_field("UNIQUE constraint failed: accounts.external_id", None),
            "external_id"
        );
        assert_eq!(
            unique_field("duplicate key value", Some("accounts_external_id_key")),
            "external_id"
        );
        assert_eq!(
            unique_field("duplicate key value", Some("users_email_key")),
            "email"
        );
        assert_eq!(unique_field("x", None), "value");
    }
}
