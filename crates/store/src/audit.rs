//! The audit log: who changed what, written in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Result, Store};

/// Who a change is made on behalf of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: i64,
        email: String,
    },
    Token {
        id: i64,
        name: String,
    },
    /// Kizuna itself: the demo loader, the scheduler, ingestion.
    System(&'static str),
}

impl Actor {
    /// How the actor is written in the log and in lifecycle transitions.
    pub fn label(&self) -> String {
        match self {
            Actor::User { id, email } => format!("user:{id}:{email}"),
            Actor::Token { id, name } => format!("token:{id}:{name}"),
            Actor::System(what) => format!("system:{what}"),
        }
    }

    /// The user behind the change, if a person made it.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<i64>,
    pub detail: Option<String>,
}

/// Appends one entry; call inside the transaction of the change it records.
macro_rules! audit {
    ($tx:expr, $actor:expr, $action:expr, $subject_type:expr, $subject_id:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, subject_type, subject_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($crate::now())
        .bind($actor.label())
        .bind($action)
        .bind($subject_type)
        .bind($subject_id)
        .bind($detail)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use audit;

impl Store {
    /// The newest audit entries first.
    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<Vec<AuditEntry>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, AuditEntry>(
            "SELECT id, at, actor, action, subject_type, subject_id, detail FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2"
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?
        }))
    }
}
