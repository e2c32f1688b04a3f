//! The book held in memory for the dashboard: every live account's segment, coverage tier,
//! owner, current health, all its revenue movements and the days it had a touchpoint, and the
//! health-band counts per segment, tier and owner on the standard periods' month-end snapshot
//! days. None of it depends on a period or a scope, so a dashboard of any period (a custom one
//! too) and any combination of segment, tier and CSM is computed from it in memory, with only
//! a past period's end-of-period health read from the database.
//!
//! The scheduler's `insight.precompute` job reads it (together with the dashboards computed
//! ahead), holds it and keeps a copy in the `precomputed` table; an instance holding none from
//! the last [`AHEAD_SECONDS`] (after a restart, or one that did not run the job) loads that copy,
//! and only when there is none either does a request start a read in the background and compute
//! its own dashboard from the database meanwhile. A dashboard from the book has the same figures
//! as computing it from the database at the moment the book was read (tested on both backends,
//! for the held book and the kept copy), and says when that was.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::insight::dashboard::{Move, Period};
use kizuna_domain::revenue::MovementKind;
use serde::{Deserialize, Serialize};

use crate::dashboard::{assemble, standard_periods, Dashboard, AHEAD_SECONDS};
use crate::insight::{
    dashboard_account, AccountRow, BandDay, DashboardAccount, DashboardScope, Money,
};
use crate::rows::{parse, parse_opt};
use crate::{now, Result, Store};

/// One live account as the book holds it.
#[derive(Debug, Clone)]
struct BookAccount {
    id: i64,
    segment: Option<ContractValueTier>,
    tier: CoverageTier,
    owner_id: Option<i64>,
    score: Option<f64>,
    band: Option<HealthBand>,
    /// Every movement, oldest first.
    movements: Vec<Move>,
    /// The days with a touchpoint, ascending, each once.
    touched: Vec<NaiveDate>,
}

/// How many live accounts of a segment, tier and owner had a band on a snapshot day.
#[derive(Debug, Clone, Copy)]
struct BandCount {
    band: HealthBand,
    segment: Option<ContractValueTier>,
    tier: CoverageTier,
    owner_id: Option<i64>,
    count: i64,
}

/// What the dashboard needs of the whole book, read at one moment.
#[derive(Debug)]
pub struct Book {
    pub read_at: DateTime<Utc>,
    /// The day it was read: its current health is that day's.
    pub today: NaiveDate,
    accounts: Vec<BookAccount>,
    bands: HashMap<NaiveDate, Vec<BandCount>>,
    /// The whole book's score and band on the snapshot days past periods ended on, as read
    /// (the latest [`HEALTH_DAYS_HELD`]).
    health_days: Mutex<Vec<(NaiveDate, Arc<HealthMap>)>>,
}

/// Each account's score and band on one snapshot day.
pub(crate) type HealthMap = HashMap<i64, (Option<f64>, Option<HealthBand>)>;

/// How many past days' health the book keeps once read.
const HEALTH_DAYS_HELD: usize = 4;

/// The key the book's copy is kept under in `precomputed`.
const KEPT_BOOK_KEY: &str = "book";

/// The book as kept (see [`crate::kept`]): short names and movements as tuples.
#[derive(Serialize, Deserialize)]
struct KeptBook {
    read_at: DateTime<Utc>,
    today: NaiveDate,
    accounts: Vec<KeptAccount>,
    bands: Vec<(NaiveDate, Vec<KeptBandCount>)>,
}

#[derive(Serialize, Deserialize)]
struct KeptAccount {
    i: i64,
    s: Option<ContractValueTier>,
    t: CoverageTier,
    o: Option<i64>,
    c: Option<f64>,
    b: Option<HealthBand>,
    /// Day, kind, MRR before and after.
    m: Vec<(NaiveDate, MovementKind, f64, f64)>,
    d: Vec<NaiveDate>,
}

/// Band, segment, tier, owner, count.
type KeptBandCount = (
    HealthBand,
    Option<ContractValueTier>,
    CoverageTier,
    Option<i64>,
    i64,
);

impl Book {
    fn to_kept(&self) -> KeptBook {
        let mut bands: Vec<(NaiveDate, Vec<KeptBandCount>)> = self
            .bands
            .iter()
            .map(|(day, rows)| {
                (
                    *day,
                    rows.iter()
                        .map(|r| (r.band, r.segment, r.tier, r.owner_id, r.count))
                        .collect(),
                )
            })
            .collect();
        bands.sort_by_key(|(day, _)| *day);
        KeptBook {
            read_at: self.read_at,
            today: self.today,
            accounts: self
                .accounts
                .iter()
                .map(|a| KeptAccount {
                    i: a.id,
                    s: a.segment,
                    t: a.tier,
                    o: a.owner_id,
                    c: a.score,
                    b: a.band,
                    m: a.movements
                        .iter()
                        .map(|m| (m.on, m.kind, m.before, m.after))
                        .collect(),
                    d: a.touched.clone(),
                })
                .collect(),
            bands,
        }
    }

    fn from_kept(k: KeptBook) -> Book {
        Book {
            read_at: k.read_at,
            today: k.today,
            accounts: k
                .accounts
                .into_iter()
                .map(|a| BookAccount {
                    id: a.i,
                    segment: a.s,
                    tier: a.t,
                    owner_id: a.o,
                    score: a.c,
                    band: a.b,
                    movements: a
                        .m
                        .into_iter()
                        .map(|(on, kind, before, after)| Move {
                            on,
                            kind,
                            before,
                            after,
                        })
                        .collect(),
                    touched: a.d,
                })
                .collect(),
            bands: k
                .bands
                .into_iter()
                .map(|(day, rows)| {
                    (
                        day,
                        rows.into_iter()
                            .map(|(band, segment, tier, owner_id, count)| BandCount {
                                band,
                                segment,
                                tier,
                                owner_id,
                                count,
                            })
                            .collect(),
                    )
                })
                .collect(),
            health_days: Mutex::new(Vec::new()),
        }
    }
}

/// The book's accounts, movements (account, day, MRR before and after in minor units) and
/// touchpoints (account, when).
type BookRows = (
    Vec<AccountRow>,
    Vec<(i64, NaiveDate, i64, i64)>,
    Vec<(i64, DateTime<Utc>)>,
);

/// Band, segment, coverage tier, owner and how many accounts have them.
type BandCountRow = (Option<String>, Option<String>, String, Option<i64>, i64);

impl Book {
    /// How many live accounts it holds.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// Its accounts in the scope as the dashboard of `period` sees them: movements up to the
    /// period's end, engaged when a touchpoint fell inside it, and the health of `health` (a
    /// past period's last snapshot day) or else the current one.
    pub(crate) fn dashboard_accounts(
        &self,
        period: Period,
        scope: DashboardScope,
        health: Option<&HealthMap>,
    ) -> Vec<DashboardAccount> {
        self.accounts
            .iter()
            .filter(|a| scope.admits(a.segment, a.tier, a.owner_id))
            .map(|a| {
                let (score, band) = match health {
                    Some(h) => h.get(&a.id).copied().unwrap_or((None, None)),
                    None => (a.score, a.band),
                };
                let first = a.touched.partition_point(|d| *d < period.from);
                DashboardAccount {
                    id: a.id,
                    segment: a.segment,
                    tier: a.tier,
                    owner_id: a.owner_id,
                    facts: kizuna_domain::insight::dashboard::AccountFacts {
                        movements: a
                            .movements
                            .iter()
                            .take_while(|m| m.on <= period.to)
                            .cloned()
                            .collect(),
                        score,
                        band,
                        engaged: a.touched.get(first).is_some_and(|d| *d <= period.to),
                    },
                }
            })
            .collect()
    }

    /// The scope's accounts per band on a day whose health was read for every account of the
    /// scope.
    fn band_day_of(&self, day: NaiveDate, scope: DashboardScope, health: &HealthMap) -> BandDay {
        let mut out = BandDay {
            day,
            ..Default::default()
        };
        for a in self
            .accounts
            .iter()
            .filter(|a| scope.admits(a.segment, a.tier, a.owner_id))
        {
            match health.get(&a.id).and_then(|(_, band)| *band) {
                Some(HealthBand::Red) => out.red += 1,
                Some(HealthBand::Yellow) => out.yellow += 1,
                Some(HealthBand::Green) => out.green += 1,
                None => {}
            }
        }
        out
    }

    fn held_health(&self, day: NaiveDate) -> Option<Arc<HealthMap>> {
        let held = self.health_days.lock().ok()?;
        held.iter().find(|(d, _)| *d == day).map(|(_, h)| h.clone())
    }

    fn hold_health(&self, day: NaiveDate, health: Arc<HealthMap>) {
        if let Ok(mut held) = self.health_days.lock() {
            held.retain(|(d, _)| *d != day);
            held.push((day, health));
            if held.len() > HEALTH_DAYS_HELD {
                held.remove(0);
            }
        }
    }

    /// The scope's accounts per band on `day`, when the book holds that day.
    fn band_day(&self, day: NaiveDate, scope: DashboardScope) -> Option<BandDay> {
        let rows = self.bands.get(&day)?;
        let mut out = BandDay {
            day,
            ..Default::default()
        };
        for r in rows
            .iter()
            .filter(|r| scope.admits(r.segment, r.tier, r.owner_id))
        {
            match r.band {
                HealthBand::Red => out.red += r.count,
                HealthBand::Yellow => out.yellow += r.count,
                HealthBand::Green => out.green += r.count,
            }
        }
        Some(out)
    }
}

/// The book an instance holds, and whether a read of it is under way.
#[derive(Clone, Default)]
pub(crate) struct BookCache {
    held: Arc<RwLock<Option<Arc<Book>>>>,
    reading: Arc<AtomicBool>,
    /// Taken while the kept copy is loaded, so that requests arriving together load it once.
    loading: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Reads the book now, with the band counts of `band_days`.
    pub async fn read_book(&self, band_days: &[NaiveDate]) -> Result<Book> {
        let read_at = now();
        let (accounts, movements, touches): BookRows = on_pool!(self, |pool| {
            // Side by side on the pool, as the dashboard's own reads.
            let accounts = sqlx::query_as::<_, AccountRow>(
                "SELECT id, contract_value_tier, coverage_tier, owner_id, health_score, health_band, currency \
                 FROM accounts WHERE deleted_at IS NULL ORDER BY id",
            )
            .fetch_all(pool);
            let movements = sqlx::query_as(
                "SELECT account_id, effective_on, mrr_before_minor, mrr_after_minor \
                 FROM revenue_movements ORDER BY account_id, effective_on, id",
            )
            .fetch_all(pool);
            let touches = sqlx::query_as(
                "SELECT account_id, occurred_at FROM touchpoints ORDER BY account_id, occurred_at",
            )
            .fetch_all(pool);
            futures::try_join!(accounts, movements, touches)?
        });
        let mut by_account: HashMap<i64, Vec<(NaiveDate, i64, i64)>> = HashMap::new();
        for (id, on, before, after) in movements {
            by_account.entry(id).or_default().push((on, before, after));
        }
        let mut touched: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
        for (id, at) in touches {
            let days = touched.entry(id).or_default();
            let day = at.date_naive();
            if days.last() != Some(&day) {
                days.push(day);
            }
        }
        let mut money = Money::default();
        let mut held = Vec::with_capacity(accounts.len());
        for row in accounts {
            let id = row.0;
            let a = dashboard_account(row, by_account.remove(&id).unwrap_or_default(), &mut money)?;
            held.push(BookAccount {
                id,
                segment: a.segment,
                tier: a.tier,
                owner_id: a.owner_id,
                score: a.facts.score,
                band: a.facts.band,
                movements: a.facts.movements,
                touched: touched.remove(&id).unwrap_or_default(),
            });
        }
        let mut bands = HashMap::new();
        for &day in band_days {
            if let std::collections::hash_map::Entry::Vacant(slot) = bands.entry(day) {
                slot.insert(self.band_counts_of(day).await?);
            }
        }
        Ok(Book {
            read_at,
            today: read_at.date_naive(),
            accounts: held,
            bands,
            health_days: Mutex::new(Vec::new()),
        })
    }

    /// Reads the book with the band counts of every standard period's month-end snapshot days
    /// (see [`standard_periods`] of `today`) and holds it for this instance's dashboards.
    pub async fn refresh_book(&self, today: NaiveDate) -> Result<Arc<Book>> {
        let mut days = Vec::new();
        for (_, period) in standard_periods(today) {
            days.extend(self.month_end_snapshot_days(period).await?);
        }
        days.sort();
        days.dedup();
        let book = Arc::new(self.read_book(&days).await?);
        if let Ok(mut held) = self.book.held.write() {
            *held = Some(book.clone());
        }
        let text = crate::kept::pack(&book.to_kept(), "the book")?;
        self.put_precomputed(KEPT_BOOK_KEY, &text).await?;
        Ok(book)
    }

    /// The book's copy kept by the last read (of any instance), when it is from the last
    /// [`AHEAD_SECONDS`] today.
    pub async fn kept_book(&self) -> Result<Option<Book>> {
        let newer_than = now() - chrono::Duration::seconds(AHEAD_SECONDS);
        let Some(text) = self.precomputed(KEPT_BOOK_KEY, newer_than).await? else {
            return Ok(None);
        };
        // A copy another version wrote, in another form, is not used (the next read replaces it).
        let kept: KeptBook = match crate::kept::unpack(&text) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "the kept book could not be read; computing instead");
                return Ok(None);
            }
        };
        let book = Book::from_kept(kept);
        let fresh = now() - book.read_at < chrono::Duration::seconds(AHEAD_SECONDS)
            && book.today == now().date_naive();
        Ok(fresh.then_some(book))
    }

    /// The book this instance holds, else the kept copy (then held), when either is from the
    /// last [`AHEAD_SECONDS`] today.
    pub async fn held_or_kept_book(&self) -> Result<Option<Arc<Book>>> {
        if let Some(book) = self.held_book() {
            return Ok(Some(book));
        }
        let _loading = self.book.loading.lock().await;
        if let Some(book) = self.held_book() {
            return Ok(Some(book));
        }
        let Some(book) = self.kept_book().await? else {
            return Ok(None);
        };
        let book = Arc::new(book);
        if let Ok(mut held) = self.book.held.write() {
            *held = Some(book.clone());
        }
        Ok(Some(book))
    }

    /// The book this instance holds, when it was read in the last [`AHEAD_SECONDS`] today.
    pub fn held_book(&self) -> Option<Arc<Book>> {
        let held = self.book.held.read().ok()?.clone()?;
        let fresh = now() - held.read_at < chrono::Duration::seconds(AHEAD_SECONDS)
            && held.today == now().date_naive();
        fresh.then_some(held)
    }

    /// Starts reading the book in the background unless a read is under way.
    pub fn refresh_book_in_background(&self) {
        if self.book.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.refresh_book(now().date_naive()).await {
                tracing::warn!(error = %e, "reading the book for the dashboard failed");
            }
            store.book.reading.store(false, Ordering::Release);
        });
    }

    /// The dashboard of any period and scope computed from `book`: the figures of the moment
    /// it was read (`computed_at` says when).
    pub async fn dashboard_from_book(
        &self,
        book: &Book,
        period: Period,
        scope: DashboardScope,
    ) -> Result<Dashboard> {
        let (health_day, health) = self.book_health(book, period, scope).await?;
        let accounts = book.dashboard_accounts(period, scope, health.as_deref());
        let days = self.month_end_snapshot_days(period).await?;
        let mut trend = Vec::with_capacity(days.len());
        for &day in &days {
            match (book.band_day(day, scope), &health) {
                (Some(held), _) => trend.push(held),
                // The period's last snapshot day is often not a month's end: counted from the
                // health just read, which holds every account of the scope.
                (None, Some(h)) if health_day == Some(day) => {
                    trend.push(book.band_day_of(day, scope, h));
                }
                (None, _) => trend.extend(self.band_counts_on(&[day], scope).await?),
            }
        }
        let settings = self.insight_settings().await?;
        let refs: Vec<&DashboardAccount> = accounts.iter().collect();
        let mut d = assemble(
            period,
            &refs,
            health_day,
            trend,
            settings.cs_team_monthly_cost,
        );
        d.computed_at = book.read_at;
        Ok(d)
    }

    /// The day a period's health figures are from and, for a past period, each account's score
    /// and band on its last snapshot day (an empty map when it has none; `None` when the period
    /// reaches the book's day, whose health is the current one). A past day's health of the
    /// whole book is read once and held with the book; a CSM's alone is read each time (it is
    /// small); a segment or tier is filtered by the caller.
    pub(crate) async fn book_health(
        &self,
        book: &Book,
        period: Period,
        scope: DashboardScope,
    ) -> Result<(Option<NaiveDate>, Option<Arc<HealthMap>>)> {
        if period.to >= book.today {
            return Ok((Some(book.today), None));
        }
        let Some(day) = self.last_snapshot_day(period.to).await? else {
            return Ok((None, Some(Arc::new(HashMap::new()))));
        };
        if let Some(h) = book.held_health(day) {
            return Ok((Some(day), Some(h)));
        }
        let whole = scope.owner_id.is_none();
        let health = Arc::new(self.health_on(day, scope.owner_id).await?);
        if whole {
            book.hold_health(day, health.clone());
        }
        Ok((Some(day), Some(health)))
    }

    /// The scope's band counts on `days`: from the book where it holds the day, else counted.
    pub(crate) async fn book_band_trend(
        &self,
        book: &Book,
        days: &[NaiveDate],
        scope: DashboardScope,
    ) -> Result<Vec<BandDay>> {
        let mut out = Vec::with_capacity(days.len());
        for &day in days {
            match book.band_day(day, scope) {
                Some(b) => out.push(b),
                None => out.extend(self.band_counts_on(&[day], scope).await?),
            }
        }
        Ok(out)
    }

    /// The last snapshot day on or before `day`.
    async fn last_snapshot_day(&self, day: NaiveDate) -> Result<Option<NaiveDate>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(day) FROM health_snapshots WHERE day <= $1")
                .bind(day)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Every account's (or one owner's accounts') score and band on a snapshot day, from the
    /// (day, band, score) index.
    async fn health_on(&self, day: NaiveDate, owner: Option<i64>) -> Result<HealthMap> {
        let rows: Vec<(i64, Option<f64>, Option<String>)> = on_pool!(self, |pool| {
            match owner {
                Some(owner) => {
                    sqlx::query_as(
                        "SELECT h.account_id, h.score, h.band FROM health_snapshots h \
                         WHERE h.day = $1 AND h.account_id IN \
                         (SELECT a.id FROM accounts a WHERE a.deleted_at IS NULL AND a.owner_id = $2)",
                    )
                    .bind(day)
                    .bind(owner)
                    .fetch_all(pool)
                    .await?
                }
                None => {
                    sqlx::query_as(
                        "SELECT account_id, score, band FROM health_snapshots WHERE day = $1",
                    )
                    .bind(day)
                    .fetch_all(pool)
                    .await?
                }
            }
        });
        let mut out = HashMap::with_capacity(rows.len());
        for (id, score, band) in rows {
            out.insert(id, (score, parse_opt(band.as_deref(), "health band")?));
        }
        Ok(out)
    }

    /// Live accounts per band, segment, coverage tier and owner on a snapshot day, in one
    /// grouped count.
    async fn band_counts_of(&self, day: NaiveDate) -> Result<Vec<BandCount>> {
        let rows: Vec<BandCountRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT h.band, a.contract_value_tier, a.coverage_tier, a.owner_id, COUNT(*) \
                     FROM health_snapshots h JOIN accounts a ON a.id = h.account_id \
                     WHERE h.day = $1 AND a.deleted_at IS NULL \
                     GROUP BY h.band, a.contract_value_tier, a.coverage_tier, a.owner_id",
            )
            .bind(day)
            .fetch_all(pool)
            .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for (band, segment, tier, owner_id, count) in rows {
            let Some(band) = parse_opt::<HealthBand>(band.as_deref(), "health band")? else {
                continue;
            };
            out.push(BandCount {
                band,
                segment: parse_opt(segment.as_deref(), "contract_value_tier")?,
                tier: parse(&tier, "coverage_tier")?,
                owner_id,
                count,
            });
        }
        Ok(out)
    }
}
