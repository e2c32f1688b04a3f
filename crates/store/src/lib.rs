//! Kizuna's store: every table the product keeps, behind one `Store` value.
//!
//! There is one SQL implementation with two backends, SQLite (the embedded default) and PostgreSQL.
//! Queries are written once, with `$1` placeholders that both drivers accept, and run through the
//! [`on_pool!`] and [`in_tx!`] macros, which expand the same code for each backend so that both are
//! type-checked. What the dialects do not share lives in a `match` on [`Backend`] next to its use.
//! Migrations are per backend (`migrations/sqlite`, `migrations/postgres`) and applied on connect.
//!
//! The store knows SQL and nothing of HTTP. Every write runs in one transaction, and writes made on
//! behalf of someone carry an [`Actor`] recorded in the audit log in that same transaction.

#[macro_use]
mod macros;
mod accounts;
mod ahead;
mod audit;
pub mod automation;
mod book;
mod champions;
mod contacts;
mod dashboard;
mod error;
mod features;
mod health;
mod held_renewals;
mod import;
mod insight;
mod journeys;
mod kept;
mod metrics;
mod records;
mod reports;
mod reviews;
mod rows;
mod scorecard_preview;
mod segment;
mod segmentation;
mod segments;
mod sql;
mod subscriptions;
mod team;
pub mod testing;
mod tokens;
mod usage;
mod users;
mod web;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use accounts::{AccountDetail, AccountFilter, LifecycleTransition};
pub use ahead::{Computed, RiskyAccount, RISKIEST_ROWS};
pub use audit::{Actor, AuditEntry};
pub use automation::AutomationContext;
pub use book::Book;
pub use champions::ChampionPass;
pub use dashboard::{dashboard_key, standard_periods, Breakdown, Dashboard, AHEAD_SECONDS};
pub use error::StoreError;
pub use health::{Explained, ScoreRun, Snapshot, StoredScorecard, UsageSource, CHUNK_ACCOUNTS};
pub use held_renewals::HeldRenewals;
pub use import::AccountUpsert;
pub use insight::{
    BandDay, CurrentIndicators, DashboardAccount, DashboardScope, DecidedRenewal, InsightSettings,
    OpenRenewal, PageRenewal, RatedRenewal, RenewalFeatures, RenewalGroup, RenewalMapData,
    RenewalPage, StoredChurnModel, WeightSuggestion, RENEWAL_PAGE_ROWS,
};
pub use journeys::{AccountJourney, Journey};
pub use reports::{
    ReportInput, ReportReader, SavedReport, EXPORT_CAP, EXPORT_PAGE, GROUP_CAP, MAX_PAGE,
};
pub use scorecard_preview::{BandMove, MovedAccount, ScorecardPreview};
pub use segmentation::SegmentationRun;
pub use segments::{Segment, SegmentDraft, SegmentMatch};
pub use team::{
    Assessment, AssessmentDraft, AssessmentFilter, CareerLevel, CompetencyMatrix, CsmPayout,
    IncentivePlan, IncentiveReport, IncentiveTarget, MemberStanding, Skill,
};
pub use tokens::IssuedToken;
pub use usage::{IngestOutcome, UsageQuery};
pub use users::UserWithHash;
pub use web::{BandCount, NewWebSession, SavedView, WebSession};

/// The result of every store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connection settings that are not part of the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// SQLite only: `true` syncs the write-ahead log on every commit (survives power loss);
    /// `false` syncs at checkpoints (survives a crash of the process, not of the machine).
    pub sqlite_full_sync: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            sqlite_full_sync: true,
        }
    }
}

/// Everything Kizuna keeps. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    features: features::FeatureCache,
    book: book::BookCache,
    renewals: held_renewals::RenewalsCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://kizuna.db`, `sqlite::memory:` is refused,
    /// `postgres://user@host/db`), creating a SQLite file on first use, and applies migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store> {
        let pool = if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StoreError::Config(
                    "an in-memory SQLite database loses everything on exit; give a file, e.g. sqlite://kizuna.db".into(),
                ));
            }
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL `{url}`: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if options.sqlite_full_sync {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32768")
                .pragma("mmap_size", "0");
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .connect_with(opts)
                .await
                .map_err(|e| {
                    StoreError::Config(format!("cannot open the SQLite database `{url}`: {e}"))
                })?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // JIT compilation costs tens of milliseconds per query and pays off only for long
            // analytical scans; the product's queries are short.
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?
                .options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL: {e}; is the server running and the URL right?")))?;
            let version: String = sqlx::query_scalar("SHOW server_version_num")
                .fetch_one(&pool)
                .await?;
            if version.parse::<u32>().unwrap_or(0) < 140000 {
                return Err(StoreError::Config(format!(
                    "the database is PostgreSQL {version}; Kizuna needs 14 or newer"
                )));
            }
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::Config(format!(
                "`{url}` is not a database URL Kizuna knows; use sqlite://FILE or postgres://USER@HOST/DB"
            )));
        };
        Ok(Store {
            pool,
            features: features::FeatureCache::default(),
            book: book::BookCache::default(),
            renewals: held_renewals::RenewalsCache::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Whether the database holds no accounts yet (the demo loads only into an empty one).
    pub async fn is_empty(&self) -> Result<bool> {
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts"
        )
        .fetch_one(pool)
        .await?);
        Ok(n == 0)
    }

    /// Refreshes the query planner's statistics; worth running after a bulk load.
    pub async fn optimize(&self) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("ANALYZE").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pooled connection, waiting for those in use.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }
}

/// The current time, truncated to microseconds so that what is stored reads back equal on both
/// backends (PostgreSQL keeps microseconds).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
