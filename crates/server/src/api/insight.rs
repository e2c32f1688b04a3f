//! Insight over the API: the executive dashboard, the renewal map and forecast with the CSM's
//! calls, decided renewals, churn drivers with scorecard weight suggestions, and the churn model
//! (trained on demand, with its validation beside every prediction). Every figure's definition
//! comes with it, in English and Japanese.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{Datelike, Days, Months, NaiveDate, Utc};
use kizuna_domain::account::{ContractValueTier, CoverageTier};
use kizuna_domain::health::HealthBand;
use kizuna_domain::insight::dashboard::Period;
use kizuna_domain::insight::definitions::{Definition, DEFINITIONS};
use kizuna_domain::insight::drivers::{self, Analysis};
use kizuna_domain::insight::model::{self, Factor, ModelError, Sample, Validation};
use kizuna_domain::insight::renewals::{
    self, BandRates, MonthForecast, RenewalCall, RenewalRates, RiskSource,
};
use kizuna_domain::insight::DEFAULT_LEAD_DAYS;
use kizuna_domain::ValidationError;
use kizuna_store::{
    dashboard_key, Dashboard, DecidedRenewal, InsightSettings, OpenRenewal, RenewalFeatures,
    StoredChurnModel, WeightSuggestion,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{bad_param, parse_param};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_dashboard))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(renewal_map))
        .routes(routes!(decided))
        .routes(routes!(set_call))
        .routes(routes!(churn_drivers))
        .routes(routes!(suggest_weights))
        .routes(routes!(get_suggestion))
        .routes(routes!(accept_suggestion))
        .routes(routes!(train_model))
        .routes(routes!(get_model))
        .routes(routes!(predictions))
        .routes(routes!(account_prediction))
        .routes(routes!(team))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The window: `from` and `to`, by default the `default_days` up to today.
fn window(from: Option<NaiveDate>, to: Option<NaiveDate>, default_days: u64) -> ApiResult<Period> {
    let to = to.unwrap_or_else(today);
    let from = from.unwrap_or_else(|| to - Days::new(default_days));
    if from > to {
        return Err(bad_param("from", "must not be after `to`"));
    }
    if (to - from).num_days() > 3660 {
        return Err(bad_param("from", "the window is at most ten years"));
    }
    Ok(Period { from, to })
}

fn lead(lead_days: Option<i64>) -> ApiResult<i64> {
    let l = lead_days.unwrap_or(DEFAULT_LEAD_DAYS);
    if !(1..=730).contains(&l) {
        return Err(bad_param("lead_days", "must be between 1 and 730"));
    }
    Ok(l)
}

fn definitions(keys: &[&str]) -> Vec<Definition> {
    DEFINITIONS
        .iter()
        .filter(|d| keys.contains(&d.key))
        .copied()
        .collect()
}

// ------------------------------------------------------------------------------ dashboard

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    /// First day of the period (default: the first day of the month eleven months before `to`,
    /// so the trend shows twelve months).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default today).
    pub to: Option<NaiveDate>,
    /// Only accounts of this contract value tier (`enterprise`, `mid_market`, `smb`).
    pub segment: Option<String>,
    /// Only accounts of this coverage tier.
    pub coverage_tier: Option<String>,
    /// Only accounts this CSM owns.
    pub owner_id: Option<i64>,
    /// Compute now instead of answering from a dashboard computed in the last minute.
    pub fresh: Option<bool>,
}

/// How long a computed dashboard answers the same question.
pub const DASHBOARD_CACHE_SECONDS: u64 = 60;

/// Dashboards computed in the last [`DASHBOARD_CACHE_SECONDS`], by query, as their JSON. Every
/// figure is an aggregate over the whole portfolio; an executive's reload within the minute gets
/// the same figures (with their `computed_at`) instead of another full pass.
#[derive(Debug, Default)]
pub struct DashboardCache(
    std::sync::Mutex<HashMap<String, (std::time::Instant, axum::body::Bytes)>>,
);

impl DashboardCache {
    fn get(&self, key: &str) -> Option<axum::body::Bytes> {
        let map = self.0.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed().as_secs() < DASHBOARD_CACHE_SECONDS)
            .map(|(_, b)| b.clone())
    }

    fn put(&self, key: String, body: axum::body::Bytes) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (at, _)| at.elapsed().as_secs() < DASHBOARD_CACHE_SECONDS);
            map.insert(key, (std::time::Instant::now(), body));
        }
    }
}

/// The executive dashboard for a period: accounts and ARR by health band, portfolio score, logo
/// churn, GRR, NRR, net new MRR from existing customers, revenue churned and expanded, retention
/// cost and engagement coverage; overall and per segment, coverage tier and CSM; a monthly
/// trend. Each figure's definition is in `definitions`.
#[utoipa::path(get, path = "/api/v1/insight/dashboard", tag = "insight", params(DashboardParams),
    responses((status = 200, body = Dashboard), (status = 400, body = ErrorBody)))]
async fn get_dashboard(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DashboardParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let to = q.to.unwrap_or_else(today);
    let default_from = (to.with_day(1).unwrap_or(to)) - Months::new(11);
    let period = window(Some(q.from.unwrap_or(default_from)), Some(to), 0)?;
    let segment: Option<ContractValueTier> = parse_param("segment", q.segment.as_deref())?;
    let tier: Option<CoverageTier> = parse_param("coverage_tier", q.coverage_tier.as_deref())?;
    let scope = kizuna_store::DashboardScope {
        segment,
        tier,
        owner_id: q.owner_id,
    };
    let key = dashboard_key(period, scope);
    let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
    if !q.fresh.unwrap_or(false) {
        if let Some(body) = s.insight_cache.get(&key) {
            return Ok((json, body).into_response());
        }
        // Computed ahead by the scheduler (`insight.precompute`: the standard periods, the
        // whole book and each segment, tier and CSM).
        if let Some(body) = s.store.dashboard_ahead(period, scope).await? {
            return Ok((json, body).into_response());
        }
    }
    // Another period or scope: from the book this instance holds or the copy the same job
    // kept, else from the database, with the book read in the background for the next request.
    let held = if q.fresh.unwrap_or(false) {
        None
    } else {
        s.store.held_or_kept_book().await?
    };
    let dashboard = match held {
        Some(book) => s.store.dashboard_from_book(&book, period, scope).await?,
        None => {
            if !q.fresh.unwrap_or(false) {
                s.store.refresh_book_in_background();
            }
            s.store.dashboard(period, scope).await?
        }
    };
    let body = axum::body::Bytes::from(serde_json::to_vec(&dashboard).map_err(ApiError::internal)?);
    s.insight_cache.put(key, body.clone());
    Ok((json, body).into_response())
}

/// How old a renewal map computed ahead may be and still be served.
pub const PRECOMPUTED_SECONDS: i64 = kizuna_store::AHEAD_SECONDS;

/// Computes the dashboards of the standard periods (the whole book and each segment, coverage
/// tier and CSM), the default renewal map (the API's and the web page's) and the team pages'
/// whole-book figures (incentive actuals per plan period, today's workload), and keeps them for
/// every instance to serve: what an executive opens first is never computed while they wait. Run by the scheduler every few minutes.
pub async fn precompute(s: &AppState) -> Result<String, String> {
    let started = std::time::Instant::now();
    let to = today();
    let dashboards = s
        .store
        .precompute_dashboards(to)
        .await
        .map_err(|e| e.to_string())?;
    // Every open renewal of the next two years read and rated once; the kept map is cut from
    // it, and so is any other window or page this instance is asked for.
    s.store
        .refresh_renewals(&s.config.health.adoption)
        .await
        .map_err(|e| e.to_string())?;
    let map = build_renewal_map(s, 12, 500, 0, true)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let text = serde_json::to_string(&map).map_err(|e| e.to_string())?;
    s.store
        .put_precomputed(&renewal_key(12, 500, 0), &text)
        .await
        .map_err(|e| e.to_string())?;
    s.store
        .precompute_renewal_page(to, &s.config.health.adoption)
        .await
        .map_err(|e| e.to_string())?;
    s.store
        .precompute_insight_pages(to, &s.config.health.adoption)
        .await
        .map_err(|e| e.to_string())?;
    let team = s
        .store
        .precompute_team(to)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "{dashboards} dashboards, the renewal maps, churn drivers, riskiest accounts and {team} team results computed in {:.2} s",
        started.elapsed().as_secs_f64()
    ))
}

#[utoipa::path(get, path = "/api/v1/insight/settings", tag = "insight",
    responses((status = 200, body = InsightSettings)))]
async fn get_settings(State(s): State<AppState>) -> ApiResult<Json<InsightSettings>> {
    Ok(Json(s.store.insight_settings().await?))
}

/// Sets the CS team's monthly cost (admin): the retention cost divides it by retained ARR.
#[utoipa::path(put, path = "/api/v1/insight/settings", tag = "insight", request_body = InsightSettings,
    responses((status = 200, body = InsightSettings), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<InsightSettings>,
) -> ApiResult<Json<InsightSettings>> {
    s.store.set_insight_settings(&body, &caller.actor).await?;
    Ok(Json(s.store.insight_settings().await?))
}

// ------------------------------------------------------------------------------ renewals

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenewalMapParams {
    /// Months ahead, 1 to 24 (default 12). Overdue renewals still undecided are included.
    pub months: Option<u32>,
    /// Renewals listed, 1 to 5000 (default 500), soonest first; the forecast covers them all.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Read and rate every renewal now instead of answering from the map computed ahead or the
    /// renewals this instance holds (read within the last few minutes; calls are always
    /// current).
    pub fresh: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MapRenewal {
    #[serde(flatten)]
    pub renewal: OpenRenewal,
    /// The first day of the renewal's month.
    pub month: NaiveDate,
    /// The churn model's probability for the account, when a model is trained.
    pub churn_probability: Option<f64>,
    /// The risk the forecast uses (see the `expected_arr` definition) and where it came from.
    pub risk: Option<f64>,
    pub risk_source: Option<RiskSource>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalMap {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Open renewals in the window; `renewals` lists a page of them.
    pub total: usize,
    pub renewals: Vec<MapRenewal>,
    pub forecast: Vec<MonthForecast>,
    /// Churn rate by band at the lead time among renewals of the last year (the fallback risk).
    pub band_rates: BandRates,
    pub model_id: Option<i64>,
    pub definitions: Vec<Definition>,
}

/// Churn model probabilities for accounts, by id.
async fn probabilities(
    s: &AppState,
    ids: Option<&[i64]>,
) -> ApiResult<(Option<StoredChurnModel>, HashMap<i64, (f64, Vec<Factor>)>)> {
    let Some(m) = s.store.churn_model(None).await? else {
        return Ok((None, HashMap::new()));
    };
    let c = &m.model.coefficients;
    let current = s.store.current_indicators(ids).await?;
    let out = current
        .into_iter()
        .map(|a| {
            (
                a.account_id,
                c.predict(&model::values_of(&a.indicators, &c.features)),
            )
        })
        .collect();
    Ok((Some(m), out))
}

/// Renewals in the next months by month, with ARR, health band, churn probability and the CSM's
/// call, and the risk-weighted forecast.
#[utoipa::path(get, path = "/api/v1/insight/renewals", tag = "insight", params(RenewalMapParams),
    responses((status = 200, body = RenewalMap), (status = 400, body = ErrorBody)))]
async fn renewal_map(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<RenewalMapParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let months = q.months.unwrap_or(12);
    if !(1..=24).contains(&months) {
        return Err(bad_param("months", "must be between 1 and 24"));
    }
    let limit = q.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(bad_param("limit", "must be between 1 and 5000"));
    }
    let offset = q.offset.unwrap_or(0);
    let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
    let fresh = q.fresh.unwrap_or(false);
    let newer_than = Utc::now() - chrono::Duration::seconds(PRECOMPUTED_SECONDS);
    if !fresh {
        if let Some(body) = s
            .store
            .precomputed(&renewal_key(months, limit, offset), newer_than)
            .await?
        {
            return Ok((json, body).into_response());
        }
    }
    Ok(Json(build_renewal_map(&s, months, limit, offset, !fresh).await?).into_response())
}

fn renewal_key(months: u32, limit: usize, offset: usize) -> String {
    format!("renewals|{}|{months}|{limit}|{offset}", today())
}

/// The renewal map of the next `months`: cut from the renewals this instance holds when
/// `held_ok` and it holds them (see `kizuna_store::HeldRenewals`), else computed now.
async fn build_renewal_map(
    s: &AppState,
    months: u32,
    limit: usize,
    offset: usize,
    held_ok: bool,
) -> ApiResult<RenewalMap> {
    let today = today();
    // Overdue and undecided renewals of the last 90 days still need a decision: they are shown.
    let from = today - Days::new(90);
    let to = today + Months::new(months);
    let adoption = &s.config.health.adoption;
    let map = if held_ok {
        s.store
            .renewal_map_or_held(from, to, adoption, limit, offset)
            .await?
    } else {
        s.store
            .renewal_map(from, to, adoption, limit, offset)
            .await?
    };
    let listed = map
        .page
        .into_iter()
        .map(|r| MapRenewal {
            month: r
                .renewal
                .renewal_date
                .with_day(1)
                .unwrap_or(r.renewal.renewal_date),
            churn_probability: r.churn_probability,
            risk: r.risk.map(|x| x.0),
            risk_source: r.risk.map(|x| x.1),
            renewal: r.renewal,
        })
        .collect();
    Ok(RenewalMap {
        from,
        to,
        total: map.total,
        renewals: listed,
        forecast: map.forecast,
        band_rates: map.band_rates,
        model_id: map.model.map(|m| m.id),
        definitions: definitions(&["expected_arr"]),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// First renewal date (default: a year before `to`).
    pub from: Option<NaiveDate>,
    /// Last renewal date (default today).
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedRenewals {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rates: RenewalRates,
    pub renewals: Vec<DecidedRenewal>,
    pub definitions: Vec<Definition>,
}

/// Renewals decided in a window with their outcome (renewed, expanded, contracted, churned) and
/// the gross and net renewal rates.
#[utoipa::path(get, path = "/api/v1/insight/renewals/decided", tag = "insight", params(WindowParams),
    responses((status = 200, body = DecidedRenewals), (status = 400, body = ErrorBody)))]
async fn decided(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<WindowParams>,
) -> ApiResult<Json<DecidedRenewals>> {
    let w = window(q.from, q.to, 365)?;
    let list = s.store.decided_renewals(w.from, w.to).await?;
    let rates = renewals::rates(
        &list
            .iter()
            .map(|r| renewals::Decided::new(r.mrr, r.next_mrr, r.outcome))
            .collect::<Vec<_>>(),
    );
    Ok(Json(DecidedRenewals {
        from: w.from,
        to: w.to,
        rates,
        renewals: list,
        definitions: definitions(&["gross_renewal_rate", "net_renewal_rate"]),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// `commit`, `likely`, `at_risk` or `lost`; null clears the call.
    pub call: Option<RenewalCall>,
    pub note: Option<String>,
}

/// The CSM's call on an open renewal (the subscription whose term ends).
#[utoipa::path(put, path = "/api/v1/subscriptions/{id}/renewal-call", tag = "insight",
    params(("id" = i64, Path)), request_body = CallBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_call(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CallBody>,
) -> ApiResult<StatusCode> {
    if body
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 2000)
    {
        return Err(ValidationError::single("note", "at most 2000 characters").into());
    }
    s.store
        .set_renewal_call(id, body.call, body.note.as_deref(), &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------------------ churn drivers

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AnalysisParams {
    /// First renewal date of the window (default: a year before `to`).
    pub from: Option<NaiveDate>,
    /// Last renewal date (default today).
    pub to: Option<NaiveDate>,
    /// Days before each renewal date at which the indicators are read (default 90).
    pub lead_days: Option<i64>,
    /// Recompute the kept lead-time indicators (after late data or a changed adoption setting).
    pub refresh: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChurnDrivers {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub lead_days: i64,
    #[serde(flatten)]
    pub analysis: Analysis,
    pub definitions: Vec<Definition>,
}

async fn lead_time_features(
    s: &AppState,
    w: Period,
    lead_days: i64,
    refresh: bool,
) -> ApiResult<Vec<RenewalFeatures>> {
    Ok(s.store
        .renewal_features(
            w.from,
            w.to,
            lead_days,
            &s.config.health.adoption,
            true,
            refresh,
        )
        .await?)
}

fn analyse(rows: &[RenewalFeatures], w: Period, lead_days: i64) -> ChurnDrivers {
    ChurnDrivers {
        from: w.from,
        to: w.to,
        lead_days,
        analysis: drivers::analyse(rows.iter().map(|r| {
            (
                r.renewal.outcome == renewals::RenewalOutcome::Churned,
                r.indicators.as_ref(),
                r.score,
            )
        })),
        definitions: definitions(&["auc", "separation", "effect_size", "health_score_auc"]),
    }
}

/// Churned against renewed accounts on every indicator as it stood `lead_days` before the
/// renewal date, ranked by AUC (as separation) and effect size, with distributions; and the AUC
/// of the health score at the lead time. The first call for a window computes the lead-time
/// indicators from the daily rollups; later calls read them back.
#[utoipa::path(get, path = "/api/v1/insight/churn-drivers", tag = "insight", params(AnalysisParams),
    responses((status = 200, body = ChurnDrivers), (status = 400, body = ErrorBody)))]
async fn churn_drivers(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AnalysisParams>,
) -> ApiResult<Json<ChurnDrivers>> {
    let w = window(q.from, q.to, 365)?;
    let lead_days = lead(q.lead_days)?;
    let refresh = q.refresh.unwrap_or(false);
    // The year to today is what the web page shows: kept by `insight.precompute` for the default
    // lead time, computed here for any other.
    if !refresh && w.to == today() && w.from == today() - Days::new(365) {
        let kept = s
            .store
            .churn_drivers_or_compute(w.to, lead_days, &s.config.health.adoption)
            .await?;
        return Ok(Json(ChurnDrivers {
            from: w.from,
            to: w.to,
            lead_days,
            analysis: kept.value,
            definitions: definitions(&["auc", "separation", "effect_size", "health_score_auc"]),
        }));
    }
    let rows = lead_time_features(&s, w, lead_days, refresh).await?;
    Ok(Json(analyse(&rows, w, lead_days)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestBody {
    /// The scorecard to reweight (default: the default scorecard).
    pub scorecard_id: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub lead_days: Option<i64>,
}

/// Suggests measure weights for a scorecard from the churn drivers of a window; an admin
/// accepts it with `POST /api/v1/insight/weight-suggestions/{id}/accept`.
#[utoipa::path(post, path = "/api/v1/insight/weight-suggestions", tag = "insight", request_body = SuggestBody,
    responses((status = 201, body = WeightSuggestion), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn suggest_weights(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SuggestBody>,
) -> ApiResult<(StatusCode, Json<WeightSuggestion>)> {
    let w = window(body.from, body.to, 365)?;
    let lead_days = lead(body.lead_days)?;
    s.store.ensure_default_scorecard().await?;
    let card = match body.scorecard_id {
        Some(id) => s.store.scorecard(id).await?,
        None => s
            .store
            .list_scorecards()
            .await?
            .into_iter()
            .find(|c| c.definition.is_default)
            .ok_or_else(|| ApiError::not_found("a default scorecard"))?,
    };
    let rows = lead_time_features(&s, w, lead_days, false).await?;
    let analysis = analyse(&rows, w, lead_days);
    if analysis.analysis.churned == 0 || analysis.analysis.renewed == 0 {
        return Err(ValidationError::single(
            "from",
            "the window needs decided renewals that churned and ones that renewed",
        )
        .into());
    }
    let (def, changes) = drivers::suggest_weights(&card.definition, &analysis.analysis.drivers);
    let basis = serde_json::json!({
        "from": w.from, "to": w.to, "lead_days": lead_days,
        "renewals": analysis.analysis.renewals, "churned": analysis.analysis.churned,
        "health_score_auc": analysis.analysis.health_score_auc,
    });
    let suggestion = s
        .store
        .create_weight_suggestion(card.id, &basis, &def, &changes, &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(suggestion)))
}

#[utoipa::path(get, path = "/api/v1/insight/weight-suggestions/{id}", tag = "insight", params(("id" = i64, Path)),
    responses((status = 200, body = WeightSuggestion), (status = 404, body = ErrorBody)))]
async fn get_suggestion(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WeightSuggestion>> {
    Ok(Json(s.store.weight_suggestion(id).await?))
}

/// Puts a suggestion's weights into its scorecard (admin); every account is rescored shortly.
#[utoipa::path(post, path = "/api/v1/insight/weight-suggestions/{id}/accept", tag = "insight", params(("id" = i64, Path)),
    responses((status = 200, body = kizuna_store::StoredScorecard), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept_suggestion(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<kizuna_store::StoredScorecard>> {
    Ok(Json(
        s.store.accept_weight_suggestion(id, &caller.actor).await?,
    ))
}

// ------------------------------------------------------------------------------ churn model

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainBody {
    /// First renewal date to learn from (default: two years before `to`).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub lead_days: Option<i64>,
}

/// Trains the churn model on decided renewals (features frozen at the lead time), validates it
/// on the latest 30 % of them (a time-based split) and keeps it; predictions use the latest model.
#[utoipa::path(post, path = "/api/v1/insight/churn-model/train", tag = "insight", request_body = TrainBody,
    responses((status = 201, body = StoredChurnModel), (status = 422, body = ErrorBody, description = "too few renewals")))]
async fn train_model(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<TrainBody>,
) -> ApiResult<(StatusCode, Json<StoredChurnModel>)> {
    let w = window(body.from, body.to, 730)?;
    let lead_days = lead(body.lead_days)?;
    let stored = train_and_keep(&s, w, lead_days, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Trains the churn model on the renewals decided in `w` and keeps it.
pub async fn train_and_keep(
    s: &AppState,
    w: Period,
    lead_days: i64,
    actor: &kizuna_store::Actor,
) -> ApiResult<StoredChurnModel> {
    let rows = lead_time_features(s, w, lead_days, false).await?;
    let names = model::feature_names();
    let samples: Vec<Sample> = rows
        .iter()
        .filter_map(|r| {
            let ind = r.indicators.as_ref()?;
            Some(Sample {
                renewal_date: r.renewal.renewal_date,
                values: model::values_of(ind, &names),
                churned: r.renewal.outcome == renewals::RenewalOutcome::Churned,
            })
        })
        .collect();
    let fitted = tokio::task::spawn_blocking(move || model::train(&names, &samples))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            ModelError::NotEnoughData(m) => ApiError::from(ValidationError::single("from", m)),
            ModelError::Fit(m) => ApiError::internal(m),
        })?;
    Ok(s.store
        .save_churn_model(&fitted, lead_days, w, actor)
        .await?)
}

/// The daily retraining: when a model has been trained, a new one is fitted on the same lead time
/// and a window of the same length ending today, so renewals decided since count. One instance
/// does it (a daily job claimed in the database).
pub async fn retrain_daily(s: &AppState) {
    let today = today();
    let latest = match s.store.churn_model(None).await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the churn model to retrain it");
            return;
        }
    };
    match s.store.claim_daily_job("insight.churn_model", today).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot claim the daily churn model training");
            return;
        }
    }
    let length = (latest.window_to - latest.window_from).num_days().max(1) as u64;
    let w = Period {
        from: today - Days::new(length),
        to: today,
    };
    let actor = kizuna_store::Actor::System("scheduler");
    match train_and_keep(s, w, latest.lead_days, &actor).await {
        Ok(m) => {
            tracing::info!(model = m.id, auc = ?m.model.validation.auc, renewals = m.model.renewals, "churn model retrained")
        }
        Err(e) => {
            tracing::warn!(error = ?e, "the daily churn model training did not produce a model")
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelSummary {
    #[serde(flatten)]
    pub model: StoredChurnModel,
    pub definitions: Vec<Definition>,
}

/// The latest churn model with its coefficients and validation (AUC, precision in the top
/// decile, calibration).
#[utoipa::path(get, path = "/api/v1/insight/churn-model", tag = "insight",
    responses((status = 200, body = ModelSummary), (status = 404, body = ErrorBody)))]
async fn get_model(State(s): State<AppState>) -> ApiResult<Json<ModelSummary>> {
    let model = s.store.churn_model(None).await?.ok_or_else(|| {
        ApiError::not_found("a churn model; train one with POST /api/v1/insight/churn-model/train")
    })?;
    Ok(Json(ModelSummary {
        model,
        definitions: definitions(&["auc", "precision_top_decile", "calibration"]),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction {
    pub account_id: i64,
    pub account_name: String,
    pub owner_id: Option<i64>,
    pub health_band: Option<HealthBand>,
    pub churn_probability: f64,
    /// The three features that push the risk up most (log-odds).
    pub top_factors: Vec<Factor>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Predictions {
    pub model_id: i64,
    pub trained_at: chrono::DateTime<Utc>,
    /// How the model did on its validation period: shown beside every prediction.
    pub validation: Validation,
    pub total: usize,
    pub predictions: Vec<Prediction>,
    pub definitions: Vec<Definition>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PredictionParams {
    /// 1 to 500 (default 50); highest risk first.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Live accounts by churn probability (today's indicators through the latest model), highest
/// first, each with its top factors, and the model's validation.
#[utoipa::path(get, path = "/api/v1/insight/churn-predictions", tag = "insight", params(PredictionParams),
    responses((status = 200, body = Predictions), (status = 404, body = ErrorBody)))]
async fn predictions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PredictionParams>,
) -> ApiResult<Json<Predictions>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(bad_param("limit", "must be between 1 and 500"));
    }
    let Some(m) = s.store.churn_model(None).await? else {
        return Err(ApiError::not_found(
            "a churn model; train one with POST /api/v1/insight/churn-model/train",
        ));
    };
    let c = &m.model.coefficients;
    let mut all: Vec<Prediction> = s
        .store
        .current_indicators(None)
        .await?
        .into_iter()
        .map(|a| {
            let (p, factors) = c.predict(&model::values_of(&a.indicators, &c.features));
            Prediction {
                account_id: a.account_id,
                account_name: a.account_name,
                owner_id: a.owner_id,
                health_band: a.health_band,
                churn_probability: p,
                top_factors: factors
                    .into_iter()
                    .filter(|f| f.contribution > 0.0)
                    .take(3)
                    .collect(),
            }
        })
        .collect();
    all.sort_by(|a, b| {
        b.churn_probability
            .total_cmp(&a.churn_probability)
            .then(a.account_id.cmp(&b.account_id))
    });
    let total = all.len();
    let predictions = all
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(Json(Predictions {
        model_id: m.id,
        trained_at: m.trained_at,
        validation: m.model.validation,
        total,
        predictions,
        definitions: definitions(&["auc", "precision_top_decile", "calibration"]),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPrediction {
    pub account_id: i64,
    pub model_id: i64,
    pub churn_probability: f64,
    /// Every feature's push, largest towards churn first.
    pub factors: Vec<Factor>,
    pub validation: Validation,
}

/// One account's churn probability with every factor, and the model's validation.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/churn-prediction", tag = "insight", params(("id" = i64, Path)),
    responses((status = 200, body = AccountPrediction), (status = 404, body = ErrorBody)))]
async fn account_prediction(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AccountPrediction>> {
    s.store.account(kizuna_domain::ids::AccountId(id)).await?;
    let (model, mut probs) = probabilities(&s, Some(&[id])).await?;
    let Some(m) = model else {
        return Err(ApiError::not_found(
            "a churn model; train one with POST /api/v1/insight/churn-model/train",
        ));
    };
    let Some((p, factors)) = probs.remove(&id) else {
        return Err(ApiError::not_found(format!(
            "indicators for account {id} (it has churned or has not been scored yet)"
        )));
    };
    Ok(Json(AccountPrediction {
        account_id: id,
        model_id: m.id,
        churn_probability: p,
        factors,
        validation: m.model.validation,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    /// The day the workload is counted from.
    pub today: NaiveDate,
    /// One book per CSM and manager (empty ones included), and one with no owner for the
    /// unowned accounts; biggest ARR first.
    pub books: Vec<kizuna_domain::insight::team::Workload>,
}

/// Team workload: per CSM, live accounts, ARR, accounts and ARR at risk (red), renewals in the
/// next 90 days, open and overdue tasks, touchpoints and minutes in the last 30; and the accounts
/// without an owner.
#[utoipa::path(get, path = "/api/v1/insight/team", tags = ["insight", "team"],
    responses((status = 200, body = Team)))]
async fn team(State(s): State<AppState>) -> ApiResult<Json<Team>> {
    let today = today();
    let mut books = s.store.team_workload(today).await?;
    books.sort_by(|a, b| b.arr.total_cmp(&a.arr).then(a.owner_id.cmp(&b.owner_id)));
    Ok(Json(Team { today, books }))
}
