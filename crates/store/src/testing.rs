//! Scratch databases for tests and benchmarks: a fresh SQLite file, and a fresh PostgreSQL database when a server is
//! reachable. With `CI=true` an unreachable PostgreSQL fails the test instead of skipping it, so a
//! CI run cannot pass without having tested both backends.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::Store;

/// A store on a database of its own, removed (SQLite file) or dropped (PostgreSQL) on drop.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    admin_url: Option<String>,
    _dir: Option<TempDirGuard>,
}

struct TempDirGuard(std::path::PathBuf);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

fn unique_name() -> String {
    use rand::Rng;
    format!(
        "kizuna_test_{}_{:08x}",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    )
}

/// A new SQLite database in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(unique_name());
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let url = format!("sqlite://{}", dir.join("kizuna.db").display());
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    TestDb {
        store,
        url,
        admin_url: None,
        _dir: Some(TempDirGuard(dir)),
    }
}

/// The server tests connect to: `KIZUNA_TEST_POSTGRES_URL`, by default the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("KIZUNA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new PostgreSQL database, or `None` when no server answers (a failure when `CI=true`).
pub async fn postgres() -> Option<TestDb> {
    postgres_at(&postgres_admin_url()).await
}

/// A new database on the PostgreSQL server of `admin_url`, or `None` when it does not answer.
pub async fn postgres_at(admin_url: &str) -> Option<TestDb> {
    let admin_url = admin_url.to_string();
    let opts = match PgConnectOptions::from_str(&admin_url) {
        Ok(o) => o,
        Err(e) => panic!("KIZUNA_TEST_POSTGRES_URL is not a PostgreSQL URL: {e}"),
    };
    let mut admin = match opts.clone().connect().await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but PostgreSQL at {admin_url} is unreachable: {e}");
            }
            tracing::warn!("PostgreSQL at {admin_url} is unreachable ({e}); skipping the PostgreSQL half of this test");
            return None;
        }
    };
    let name = unique_name();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    let _ = admin.close().await;
    let db_opts = opts.database(&name);
    let url = db_opts.to_url_lossy().to_string();
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    Some(TestDb {
        store,
        url,
        admin_url: Some(admin_url),
        _dir: None,
    })
}

/// Both backends: SQLite always, PostgreSQL when reachable.
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

impl TestDb {
    /// Closes the pool and drops a PostgreSQL database (SQLite files go with their directory).
    pub async fn cleanup(self) {
        self.store.close().await;
        if self.store.backend() == crate::Backend::Postgres {
            if let Some(name) = self
                .url
                .rsplit('/')
                .next()
                .map(|n| n.split('?').next().unwrap_or(n).to_string())
            {
                let admin_url = self.admin_url.clone().unwrap_or_else(postgres_admin_url);
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            }
        }
    }
}

/// Runs SQL text (several statements allowed) on a store: for benchmarks that synthesise data
/// at a scale the write API would take too long to fill. Returns the rows affected.
pub async fn execute(store: &Store, sql: &str) -> crate::Result<u64> {
    Ok(on_pool!(store, |pool| sqlx::raw_sql(sql)
        .execute(pool)
        .await?
        .rows_affected()))
}
