//! The open renewals of the widest window the renewal map offers (from [`BACK_DAYS`] back to
//! [`AHEAD_MONTHS`] ahead), each rated, held in memory: the map of any window inside it and any
//! page is then cut from memory instead of reading and rating every open renewal again.
//!
//! What a CSM changes by hand is never stale: each map reads the renewal calls as they are now
//! and rates the renewals whose call changed again, and a churn model trained since the read
//! makes the held copy unusable. Everything else (a new term, a renewal decided, a health score
//! that moved) is as of the read, like the maps computed ahead; the scheduler's
//! `insight.precompute` job reads it again every few minutes and keeps a copy in `precomputed`,
//! which an instance holding none from the last [`AHEAD_SECONDS`] loads; a request finding
//! neither starts a read in the background and computes its own map meanwhile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::insight::renewals::{BandRates, RenewalCall, RenewalRates};

use kizuna_domain::insight::renewals::RiskSource;
use serde::{Deserialize, Serialize};

use crate::dashboard::AHEAD_SECONDS;
use crate::insight::{
    rated, renewal_forecast, OpenRenewal, RatedRenewal, RenewalMapData, StoredChurnModel,
};
use crate::rows::parse;
use crate::{now, Result, Store};

/// The key the held renewals' copy is kept under in `precomputed`.
const KEPT_RENEWALS_KEY: &str = "held-renewals";

/// One rated renewal as kept: the renewal, its probability and its risk with where it came from.
type KeptRated = (OpenRenewal, Option<f64>, Option<(f64, RiskSource)>);

/// The held renewals as kept (the model by its id: it is read again on load).
#[derive(Serialize, Deserialize)]
struct KeptRenewals {
    read_at: DateTime<Utc>,
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    rated: Vec<KeptRated>,
    band_rates: BandRates,
    model_id: Option<i64>,
    decided_rates: RenewalRates,
}

/// How far back the held window reaches: overdue renewals still undecided.
pub const BACK_DAYS: u64 = 90;
/// How far ahead the held window reaches: the longest map the API offers.
pub const AHEAD_MONTHS: u32 = 24;

/// Every open renewal of the held window, rated, as read at one moment.
#[derive(Debug)]
pub struct HeldRenewals {
    pub read_at: DateTime<Utc>,
    pub today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    /// Soonest first (renewal date, then subscription).
    rated: Vec<RatedRenewal>,
    band_rates: BandRates,
    model: Option<StoredChurnModel>,
    /// The renewal rates of the terms decided in the year to the read's day (the renewal
    /// page shows them).
    pub(crate) decided_rates: RenewalRates,
}

impl HeldRenewals {
    /// How many open renewals it holds.
    pub fn renewals(&self) -> usize {
        self.rated.len()
    }
}

/// The renewals an instance holds, and whether a read of them is under way.
#[derive(Clone, Default)]
pub(crate) struct RenewalsCache {
    held: Arc<RwLock<Option<Arc<HeldRenewals>>>>,
    reading: Arc<AtomicBool>,
    /// Taken while the kept copy is loaded, so that requests arriving together load it once.
    loading: Arc<tokio::sync::Mutex<()>>,
}

fn is_fresh(read_at: DateTime<Utc>, today: NaiveDate) -> bool {
    now() - read_at < chrono::Duration::seconds(AHEAD_SECONDS) && today == now().date_naive()
}

/// A renewal call and its note as set now.
type CallRow = (i64, String, Option<String>);

impl Store {
    /// Reads and rates every open renewal of the held window now and holds them for this
    /// instance's renewal maps.
    pub async fn refresh_renewals(&self, adoption: &AdoptionSettings) -> Result<Arc<HeldRenewals>> {
        let read_at = now();
        let today = read_at.date_naive();
        let (from, to) = (
            today - Days::new(BACK_DAYS),
            today + Months::new(AHEAD_MONTHS),
        );
        let (model, band_rates) = self.renewal_rating_basis(adoption).await?;
        let open = self.open_renewals(from, to, None).await?;
        let rated = self
            .rate_renewals(open, model.as_ref(), &band_rates)
            .await?;
        let decided_rates = self.decided_rates(today - Days::new(365), today).await?;
        let held = Arc::new(HeldRenewals {
            read_at,
            today,
            from,
            to,
            rated,
            band_rates,
            model,
            decided_rates,
        });
        if let Ok(mut slot) = self.renewals.held.write() {
            *slot = Some(held.clone());
        }
        let kept = KeptRenewals {
            read_at: held.read_at,
            today: held.today,
            from: held.from,
            to: held.to,
            rated: held
                .rated
                .iter()
                .map(|r| (r.renewal.clone(), r.churn_probability, r.risk))
                .collect(),
            band_rates: held.band_rates.clone(),
            model_id: held.model.as_ref().map(|m| m.id),
            decided_rates: held.decided_rates.clone(),
        };
        let text = crate::kept::pack(&kept, "the held renewals")?;
        self.put_precomputed(KEPT_RENEWALS_KEY, &text).await?;
        Ok(held)
    }

    /// The renewals this instance holds, when read in the last [`AHEAD_SECONDS`] today.
    pub fn held_renewals(&self) -> Option<Arc<HeldRenewals>> {
        let held = self.renewals.held.read().ok()?.clone()?;
        is_fresh(held.read_at, held.today).then_some(held)
    }

    /// The held renewals' copy kept by the last read (of any instance), when it is from the
    /// last [`AHEAD_SECONDS`] today and its model is still there.
    pub async fn kept_renewals(&self) -> Result<Option<HeldRenewals>> {
        let newer_than = now() - chrono::Duration::seconds(AHEAD_SECONDS);
        let Some(text) = self.precomputed(KEPT_RENEWALS_KEY, newer_than).await? else {
            return Ok(None);
        };
        // A copy another version wrote, in another form, is not used (the next read replaces it).
        let k: KeptRenewals = match crate::kept::unpack(&text) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "the kept renewals could not be read; computing instead");
                return Ok(None);
            }
        };
        if !is_fresh(k.read_at, k.today) {
            return Ok(None);
        }
        let model = match k.model_id {
            Some(id) => match self.churn_model(Some(id)).await? {
                Some(m) => Some(m),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(HeldRenewals {
            read_at: k.read_at,
            today: k.today,
            from: k.from,
            to: k.to,
            rated: k
                .rated
                .into_iter()
                .map(|(renewal, churn_probability, risk)| RatedRenewal {
                    renewal,
                    churn_probability,
                    risk,
                })
                .collect(),
            band_rates: k.band_rates,
            model,
            decided_rates: k.decided_rates,
        }))
    }

    /// The renewals this instance holds, else the kept copy (then held), when either is from
    /// the last [`AHEAD_SECONDS`] today.
    pub async fn held_or_kept_renewals(&self) -> Result<Option<Arc<HeldRenewals>>> {
        if let Some(held) = self.held_renewals() {
            return Ok(Some(held));
        }
        let _loading = self.renewals.loading.lock().await;
        if let Some(held) = self.held_renewals() {
            return Ok(Some(held));
        }
        let Some(kept) = self.kept_renewals().await? else {
            return Ok(None);
        };
        let kept = Arc::new(kept);
        if let Ok(mut slot) = self.renewals.held.write() {
            *slot = Some(kept.clone());
        }
        Ok(Some(kept))
    }

    /// Starts reading the renewals in the background unless a read is under way.
    pub fn refresh_renewals_in_background(&self, adoption: AdoptionSettings) {
        if self.renewals.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.refresh_renewals(&adoption).await {
                tracing::warn!(error = %e, "reading the renewals for the renewal map failed");
            }
            store.renewals.reading.store(false, Ordering::Release);
        });
    }

    /// The renewal map of `from..=to` and one page of it cut from `held`, with every renewal's
    /// call as set now. `None` when the window is not inside the held one or a churn model was
    /// trained after the read (the map is then computed).
    pub async fn renewal_map_from_held(
        &self,
        held: &HeldRenewals,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
        offset: usize,
    ) -> Result<Option<RenewalMapData>> {
        if from < held.from || to > held.to {
            return Ok(None);
        }
        let (latest_model, calls): (Option<i64>, Vec<CallRow>) = on_pool!(self, |pool| {
            let model = sqlx::query_scalar("SELECT MAX(id) FROM churn_models").fetch_one(pool);
            let calls = sqlx::query_as("SELECT subscription_id, call, note FROM renewal_calls")
                .fetch_all(pool);
            futures::try_join!(model, calls)?
        });
        if latest_model != held.model.as_ref().map(|m| m.id) {
            return Ok(None);
        }
        let mut now_called: HashMap<i64, (RenewalCall, Option<String>)> = HashMap::new();
        for (subscription, call, note) in calls {
            now_called.insert(subscription, (parse(&call, "renewal call")?, note));
        }
        let start = held
            .rated
            .partition_point(|r| r.renewal.renewal_date < from);
        let end = held.rated.partition_point(|r| r.renewal.renewal_date <= to);
        let window: Vec<RatedRenewal> = held.rated[start..end]
            .iter()
            .map(|r| {
                let (call, note) = match now_called.get(&r.renewal.subscription_id) {
                    Some((c, n)) => (Some(*c), n.clone()),
                    None => (None, None),
                };
                if call == r.renewal.call && note == r.renewal.call_note {
                    return r.clone();
                }
                let mut renewal = r.renewal.clone();
                renewal.call = call;
                renewal.call_note = note;
                rated(renewal, r.churn_probability, &held.band_rates)
            })
            .collect();
        let forecast = renewal_forecast(&window);
        let total = window.len();
        Ok(Some(RenewalMapData {
            total,
            page: window.into_iter().skip(offset).take(limit).collect(),
            forecast,
            band_rates: held.band_rates.clone(),
            model: held.model.clone(),
        }))
    }

    /// The renewal map of `from..=to`: cut from the renewals this instance holds or their kept
    /// copy, else computed now (and the renewals read in the background for the next map).
    pub async fn renewal_map_or_held(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        adoption: &AdoptionSettings,
        limit: usize,
        offset: usize,
    ) -> Result<RenewalMapData> {
        if let Some(held) = self.held_or_kept_renewals().await? {
            if let Some(map) = self
                .renewal_map_from_held(&held, from, to, limit, offset)
                .await?
            {
                return Ok(map);
            }
        }
        self.refresh_renewals_in_background(*adoption);
        self.renewal_map(from, to, adoption, limit, offset).await
    }
}
