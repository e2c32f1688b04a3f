//! The server's configuration: one struct, filled in layers by the CLI
//! (defaults < config file < `KIZUNA_*` environment < flags).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://FILE` (created on first use) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// The address the HTTP server listens on.
    pub listen: String,
    /// Largest number of pooled database connections.
    pub max_connections: u32,
    /// SQLite only: sync the write-ahead log on every commit (survives power loss) instead of at
    /// checkpoints (survives a crash of the process only).
    pub sqlite_full_sync: bool,
    /// Password for the first admin, created on the first start; printed once when unset.
    pub admin_password: Option<String>,
    /// E-mail of the first admin.
    pub admin_email: String,
    /// Largest request body the REST API accepts, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://kizuna.db".into(),
            listen: "127.0.0.1:8080".into(),
            max_connections: 8,
            sqlite_full_sync: true,
            admin_password: None,
            admin_email: "admin@kizuna.local".into(),
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

impl Config {
    pub fn store_options(&self) -> kizuna_store::StoreOptions {
        kizuna_store::StoreOptions {
            max_connections: self.max_connections,
            sqlite_full_sync: self.sqlite_full_sync,
        }
    }
}
