//! `kizuna`: the self-hosted customer success platform, as one command.
//!
//! Configuration comes in layers: built-in defaults < a TOML file (`--config`, or `kizuna.toml`
//! when present) < `KIZUNA_*` environment variables < command-line flags.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use kizuna_domain::token::TokenScope;
use kizuna_server::{bootstrap, Application, Config};
use kizuna_store::{Actor, Store};
use serde::Serialize;

/// mimalloc instead of the system allocator: SQLite's worker thread frees what the async side
/// allocated, and glibc's arenas made that a lock contention that halved ingestion throughput.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "kizuna", version, about = "Kizuna (絆): self-hosted customer success platform", long_about = None)]
struct Cli {
    /// TOML configuration file. Default: ./kizuna.toml when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Database URL: sqlite://FILE (created on first use) or postgres://USER@HOST/DB.
    /// Default sqlite://kizuna.db; also KIZUNA_DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI, the REST API and the Segment-compatible tracking API.
    Serve(ServeArgs),
    /// Load the demo data set into an empty database.
    Demo(DemoArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import a CSV file (UTF-8 or Shift_JIS) of accounts, contacts, subscriptions, tickets, NPS
    /// answers or touchpoints; rows are matched on external_id. Prints the report as JSON.
    Import(ImportArgs),
    /// Recompute health scores: every account for today, or for a past day from the rollups;
    /// with --days N, each of the N days ending at --date (snapshots for history).
    Score(ScoreArgs),
    /// Run a benchmark on a scratch database; prints its figures as JSON on the last line.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Args)]
struct ScoreArgs {
    /// The day to score (YYYY-MM-DD); default today.
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
    /// Score this many days ending at --date (a backfill of history).
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// With --days: every how many days.
    #[arg(long, default_value_t = 1)]
    step: u32,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// accounts, contacts, subscriptions, tickets, nps or touchpoints.
    #[arg(value_parser = parse_kind)]
    kind: kizuna_import::Kind,
    /// The CSV file.
    file: PathBuf,
    /// Write the good rows even when some rows are bad (default: write nothing then).
    #[arg(long)]
    partial: bool,
}

fn parse_kind(s: &str) -> Result<kizuna_import::Kind, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load the demo data set: wall time and peak memory.
    Demo {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 500)]
        accounts: usize,
        #[arg(long, default_value_t = 400)]
        days: i64,
    },
    /// The Segment-compatible tracking API under load on loopback, against a parse-and-discard
    /// ceiling. With no arguments: /v1/batch, 100 events a batch, SQLite.
    Ingest(IngestBenchArgs),
    /// A full health recompute over synthetic rollups, and one account's recompute after one
    /// new event. With no arguments: 100,000 accounts, 90 days, 20 features, SQLite.
    Score {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        #[arg(long, default_value_t = 90)]
        days: usize,
        #[arg(long, default_value_t = 20)]
        features: usize,
    },
    /// `GET /api/v1/accounts?limit=50` with filters over a large account base: p50 / p99 latency.
    Accounts {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Rounds of the query mix (eight queries a round).
        #[arg(long, default_value_t = 250)]
        rounds: usize,
    },
    /// The daily rules pass (ten rules) over a large account base: time and peak memory of the
    /// first pass (firings and tasks written) and of a second pass the same day.
    Rules {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
    },
    /// The executive dashboard and the renewal map over a large account base (p50 / p99 over
    /// HTTP), and the churn model's training on many past renewals.
    Insight {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Requests per endpoint.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// Past renewals the model trains on.
        #[arg(long, default_value_t = 100_000)]
        renewals: usize,
    },
    /// The web UI's pages, signed in, over a large account base: p50 / p99 per page.
    Pages {
        #[command(flatten)]
        target: BenchTarget,
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Rounds of the page mix (eleven pages a round).
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
}

#[derive(Debug, Args)]
struct IngestBenchArgs {
    #[command(flatten)]
    target: BenchTarget,
    /// `batch` (Segment's /v1/batch) or `track` (one event per request).
    #[arg(long, default_value = "batch", value_parser = ["batch", "track"])]
    endpoint: String,
    /// Events per batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Seconds of load, for the API and then for the ceiling.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

#[derive(Debug, Args)]
struct BenchTarget {
    /// The backend to measure.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendArg,
    /// The PostgreSQL server for `--backend postgres` (a scratch database is created and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

impl BenchTarget {
    fn target(&self) -> kizuna_bench::Target {
        match self.backend {
            BackendArg::Sqlite => kizuna_bench::Target::Sqlite,
            BackendArg::Postgres => kizuna_bench::Target::Postgres(self.postgres_url.clone()),
        }
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on. Default 127.0.0.1:8080; also KIZUNA_LISTEN.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Load the demo data set first when the database is empty.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Number of customer accounts.
    #[arg(long, default_value_t = 500)]
    accounts: usize,
    /// Days of history, ending today.
    #[arg(long, default_value_t = 400)]
    days: i64,
    /// Random seed: the same seed (and --today) gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The last day of the data (YYYY-MM-DD). Default: today.
    #[arg(long, value_name = "DATE")]
    today: Option<NaiveDate>,
    /// Leave out product usage (for large account-only data sets).
    #[arg(long)]
    no_usage: bool,
    /// Leave out contacts, tickets, NPS answers and touchpoints (and with them usage).
    #[arg(long)]
    no_timeline: bool,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print it, alone, on standard output.
    Create {
        /// What the token may do: read (GET), write (changes and tracking), admin (tokens, users).
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    Read,
    Write,
    Admin,
}

impl From<ScopeArg> for TokenScope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Read => TokenScope::Read,
            ScopeArg::Write => TokenScope::Write,
            ScopeArg::Admin => TokenScope::Admin,
        }
    }
}

/// The flags that override configuration, when given.
#[derive(Debug, Default, Serialize)]
struct FlagLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
}

const ENV_KEYS: &[&str] = &[
    "database_url",
    "listen",
    "max_connections",
    "sqlite_full_sync",
    "admin_password",
    "admin_email",
    "max_body_bytes",
    "max_import_bytes",
    "secure_cookies",
];

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match &cli.config {
        Some(path) => {
            anyhow::ensure!(
                path.exists(),
                "the configuration file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        None => figment = figment.merge(Toml::file("kizuna.toml")),
    }
    figment = figment.merge(Env::prefixed("KIZUNA_").only(ENV_KEYS));
    let listen = match &cli.command {
        Command::Serve(args) => args.listen.clone(),
        _ => None,
    };
    figment = figment.merge(Serialized::defaults(FlagLayer {
        database_url: cli.database_url.clone(),
        listen,
    }));
    figment.extract().context("invalid configuration")
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KIZUNA_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Writes a line for the person at the terminal (standard error; standard output is for data).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let config = load_config(&cli)?;
    match &cli.command {
        Command::Serve(args) => serve(config, args.demo).await,
        Command::Demo(args) => {
            let store = open(&config).await?;
            let summary = load_demo(&store, args).await?;
            say!("{}", describe(&summary));
            Ok(())
        }
        Command::Import(args) => import(&config, args).await,
        Command::Score(args) => {
            let store = open(&config).await?;
            let last = args.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let step = args.step.max(1) as u64;
            let mut day = last - chrono::Days::new(u64::from(args.days.saturating_sub(1)));
            while day <= last {
                let run = store.score_all(day, &config.health.adoption).await?;
                say!(
                    "{day}: {} accounts, {} scored, {:.2} s",
                    run.accounts,
                    run.scored,
                    run.seconds
                );
                writeln!(std::io::stdout().lock(), "{}", serde_json::to_string(&run)?)?;
                day = day + chrono::Days::new(step);
            }
            Ok(())
        }
        Command::Bench { command } => {
            let today = chrono::Utc::now().date_naive();
            let result = match command {
                BenchCommand::Demo {
                    target,
                    accounts,
                    days,
                } => kizuna_bench::demo(&target.target(), *accounts, *days, today).await?,
                BenchCommand::Accounts {
                    target,
                    accounts,
                    rounds,
                } => kizuna_bench::accounts(&target.target(), *accounts, *rounds, today).await?,
                BenchCommand::Score {
                    target,
                    accounts,
                    days,
                    features,
                } => {
                    let options = kizuna_bench::score::ScoreOptions {
                        accounts: *accounts,
                        days: *days,
                        features: *features,
                        ..Default::default()
                    };
                    kizuna_bench::score::run(&target.target(), &options).await?
                }
                BenchCommand::Rules { target, accounts } => {
                    kizuna_bench::rules::run(&target.target(), *accounts).await?
                }
                BenchCommand::Pages {
                    target,
                    accounts,
                    rounds,
                } => kizuna_bench::pages::run(&target.target(), *accounts, *rounds, today).await?,
                BenchCommand::Insight {
                    target,
                    accounts,
                    rounds,
                    renewals,
                } => {
                    let options = kizuna_bench::insight::InsightOptions {
                        accounts: *accounts,
                        rounds: *rounds,
                        renewals: *renewals,
                        today,
                    };
                    kizuna_bench::insight::run(&target.target(), &options).await?
                }
                BenchCommand::Ingest(args) => {
                    let options = kizuna_bench::ingest::IngestOptions {
                        endpoint: args.endpoint.clone(),
                        batch_size: args.batch_size,
                        seconds: args.seconds,
                        concurrency: args.concurrency,
                        ..Default::default()
                    };
                    kizuna_bench::ingest::run(&args.target.target(), &options).await?
                }
            };
            writeln!(std::io::stdout().lock(), "{result}")?;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { scope, name },
        } => {
            let store = open(&config).await?;
            let issued = store
                .issue_token(name, (*scope).into(), &Actor::System("cli"))
                .await?;
            writeln!(std::io::stdout().lock(), "{}", issued.secret)?;
            Ok(())
        }
    }
}

async fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    let store = open(config).await?;
    let bar = progress_bar();
    let report = |step: &str, done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(step.to_string());
        }
    };
    let options = kizuna_import::ImportOptions {
        partial: args.partial,
    };
    let result = kizuna_import::import_file(
        &store,
        args.kind,
        &args.file,
        options,
        &Actor::System("cli import"),
        &report,
    )
    .await
    .with_context(|| format!("importing {}", args.file.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for e in result.errors.iter().take(20) {
        say!("line {}: {}: {}", e.line, e.field, e.message);
    }
    if result.errors.len() > 20 {
        say!(
            "... and {} more bad rows (all are in the JSON report)",
            result.rejected as usize - 20
        );
    }
    say!(
        "{} rows read ({}): {} inserted, {} updated, {} rejected{}",
        result.rows,
        result.encoding,
        result.inserted,
        result.updated,
        result.rejected,
        if result.committed {
            ""
        } else {
            "; nothing was written (use --partial to keep the good rows)"
        }
    );
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string(&result)?
    )?;
    if result.rejected > 0 && !result.committed {
        std::process::exit(1);
    }
    Ok(())
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    Store::connect_with(&config.database_url, &config.store_options())
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.database_url)))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let store = open(&config).await?;
    let mut demo_loaded = false;
    if demo {
        if store.is_empty().await? {
            let args = DemoArgs {
                accounts: 500,
                days: 400,
                seed: 42,
                today: None,
                no_usage: false,
                no_timeline: false,
            };
            let summary = load_demo(&store, &args).await?;
            say!("{}", describe(&summary));
            demo_loaded = true;
        } else {
            tracing::info!("the database already holds data; serving it without loading the demo");
        }
    }
    if let Some(admin) = bootstrap::ensure_admin(&store, &config).await? {
        let password = admin
            .generated_password
            .clone()
            .or_else(|| config.admin_password.clone());
        match &admin.generated_password {
            Some(password) => say!(
                "\n  First start: an admin was created.\n  Sign in as {} with password {}\n  (shown once; set KIZUNA_ADMIN_PASSWORD to choose it)\n",
                admin.email,
                password
            ),
            None => say!("\n  First start: admin {} created with the password from KIZUNA_ADMIN_PASSWORD\n", admin.email),
        }
        if let (true, Some(password)) = (demo_loaded, password) {
            let team = bootstrap::set_demo_team_passwords(&store, &password).await?;
            if let Some(csm) = team.first() {
                say!(
                    "  Demo team: sign in as a CSM, e.g. {csm}, with the same password\n  ({} team members in all; Settings → Users lists them)\n",
                    team.len()
                );
            }
        }
    }
    let app = Application::with_store(config, store).await?;
    say!("Kizuna is listening on http://{}", app.local_addr());
    let store = app.store().clone();
    app.run_until(kizuna_server::shutdown_signal()).await?;
    // Let the database close cleanly (SQLite checkpoints its write-ahead log).
    tokio::time::timeout(std::time::Duration::from_secs(10), store.close())
        .await
        .ok();
    Ok(())
}

async fn load_demo(store: &Store, args: &DemoArgs) -> anyhow::Result<kizuna_demo::DemoSummary> {
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let options = kizuna_demo::DemoOptions {
        accounts: args.accounts,
        days: args.days,
        seed: args.seed,
        today,
        usage: !args.no_usage,
        timeline: !args.no_timeline,
    };
    let bar = progress_bar();
    let report = |step: &str, done: usize, total: usize| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(step.to_string());
        }
    };
    let started = std::time::Instant::now();
    let summary = kizuna_demo::load(store, &options, &report).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "demo data loaded"
    );
    Ok(summary)
}

/// A progress bar when standard error is a terminal; nothing when output goes to a file or CI.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(1);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>30} [{bar:40}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

fn describe(s: &kizuna_demo::DemoSummary) -> String {
    format!(
        "Demo data loaded: {} accounts ({} churned in the window, {} heading for churn), {} contacts, {} subscriptions, \
         {} usage events, {} tickets, {} NPS answers, {} touchpoints, {} CSMs",
        s.accounts,
        s.churned,
        s.at_risk,
        s.contacts,
        s.subscriptions,
        s.usage_events,
        s.tickets,
        s.survey_responses,
        s.touchpoints,
        s.csms
    )
}
