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
    /// Largest CSV file `POST /api/v1/import/{kind}` takes, in bytes.
    pub max_import_bytes: usize,
    /// Whether the web UI's cookies carry `Secure`; unset, they do when the request came over
    /// HTTPS through a proxy that says so (`X-Forwarded-Proto: https`).
    pub secure_cookies: Option<bool>,
    /// The Segment-compatible tracking API (`/v1/*`).
    pub segment: SegmentConfig,
    /// Health score recomputes.
    pub health: HealthConfig,
    /// Rules, playbooks, e-mail, webhooks, engagement and surveys: the scheduler's jobs.
    pub automation: AutomationConfig,
}

/// The scheduler and what its jobs need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomationConfig {
    /// Run the scheduler in this instance (several instances may: each due job runs once).
    pub scheduler: bool,
    /// Seconds between the scheduler's looks at due jobs.
    pub tick_seconds: u64,
    /// The address people reach Kizuna at, for links in e-mail (survey answers, unsubscribe).
    pub base_url: String,
    /// The language of customer-facing e-mail for contacts without one (`ja` or `en`).
    pub default_locale: String,
    /// The hour (UTC) the daily jobs (daily rules, engagement cadence) run.
    pub daily_hour_utc: u32,
    /// Outgoing e-mail; without a host, e-mail stays queued (visible in the log) until one is set.
    pub smtp: SmtpConfig,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        AutomationConfig {
            scheduler: true,
            tick_seconds: 5,
            base_url: "http://127.0.0.1:8080".into(),
            default_locale: "ja".into(),
            daily_hour_utc: 0,
            smtp: SmtpConfig::default(),
        }
    }
}

/// An SMTP server (submission with STARTTLS, or implicit TLS, or plain on a trusted network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: Option<String>,
    pub port: u16,
    /// `starttls` (the default), `tls` (implicit, port 465) or `none`.
    pub tls: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Kizuna <cs@example.com>`.
    pub from: String,
    /// A PEM file of extra trusted certificates (a private CA).
    pub ca_file: Option<String>,
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: 587,
            tls: "starttls".into(),
            username: None,
            password: None,
            from: "Kizuna <kizuna@localhost>".into(),
            ca_file: None,
            timeout_seconds: 20,
        }
    }
}

/// When the server recomputes health scores, and how the adoption index is graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Seconds between passes over the queue of accounts whose inputs changed (0 = never).
    pub queue_interval_seconds: u64,
    /// Recompute every account once a day (and at start-up when today has not run yet).
    pub daily: bool,
    pub adoption: kizuna_domain::indicator::AdoptionSettings,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            queue_interval_seconds: 5,
            daily: true,
            adoption: Default::default(),
        }
    }
}

/// How Segment messages become Kizuna data, and how much the tracking API may queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// A `track` property whose value names the feature (e.g. `module`); the event name when unset
    /// or absent from the event.
    pub feature_property: Option<String>,
    /// Which `group` traits fill which account fields; the others are kept as account traits.
    pub group_traits: kizuna_domain::segment::GroupTraitMapping,
    /// Events waiting for their commit, at most; beyond it the API answers 429 with Retry-After.
    pub max_queued_events: usize,
    /// Events per commit, at most (a commit takes whatever is queued up to this).
    pub max_commit_events: usize,
    /// Parallel committers: 1 suits SQLite (one writer); PostgreSQL takes more.
    pub committers: usize,
    /// Seconds a verified write key is trusted before it is checked again (a revoked key stops
    /// working after at most this long).
    pub key_cache_seconds: u64,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            feature_property: None,
            group_traits: Default::default(),
            max_queued_events: 200_000,
            max_commit_events: 20_000,
            committers: 0,
            key_cache_seconds: 10,
        }
    }
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
            max_import_bytes: 512 * 1024 * 1024,
            secure_cookies: None,
            segment: SegmentConfig::default(),
            health: HealthConfig::default(),
            automation: AutomationConfig::default(),
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
