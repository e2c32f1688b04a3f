//! `/api/v1/accounts`: the customer list with filters, sorting and paging, and one account's detail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{Duration, NaiveDate, Utc};
use kizuna_domain::account::{Account, AccountDraft, AccountSort};
use kizuna_domain::ids::{AccountId, UserId};
use kizuna_domain::page::Page;
use kizuna_domain::revenue::RevenueMovement;
use kizuna_domain::usage::AccountUsage;
use kizuna_store::{AccountDetail, AccountFilter, LifecycleTransition, UsageQuery};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{bad_param, parse_param};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, update_account, delete_account))
        .routes(routes!(account_by_external_id))
        .routes(routes!(lifecycle_history))
        .routes(routes!(revenue_movements))
        .routes(routes!(account_usage))
}

/// Filters, sort and page of the account list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// Free text, matched against name and domain (case-insensitive).
    pub q: Option<String>,
    /// `high_touch`, `mid_touch` or `tech_touch`.
    pub coverage_tier: Option<String>,
    /// `evaluation`, `contract`, `onboarding`, `adoption`, `renewal`, `expansion` or `churned`.
    pub lifecycle_stage: Option<String>,
    /// Segment by contract value: `enterprise`, `mid_market` or `smb`.
    pub contract_value_tier: Option<String>,
    /// `high`, `medium` or `low`.
    pub growth_potential: Option<String>,
    /// `high`, `medium` or `low`.
    pub brand_value: Option<String>,
    /// `high`, `medium` or `low`.
    pub referral_likelihood: Option<String>,
    /// `red`, `yellow` or `green`.
    pub health_band: Option<String>,
    /// The owning CSM's user id.
    pub owner_id: Option<String>,
    /// `true` for accounts nobody owns.
    pub unowned: Option<bool>,
    pub industry: Option<String>,
    /// Renewal date on or after this day (YYYY-MM-DD).
    pub renewal_from: Option<String>,
    /// Renewal date on or before this day (YYYY-MM-DD).
    pub renewal_to: Option<String>,
    /// Renewal date within this many days from today (0 to 3650).
    pub renewal_within_days: Option<String>,
    /// `name`, `arr`, `renewal_date`, `health_score`, `created_at` or `updated_at`; prefix `-` for
    /// descending.
    pub sort: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// Items to skip; take `next_offset` from the previous page.
    pub offset: Option<String>,
}

impl AccountListParams {
    pub fn to_filter(&self, today: NaiveDate) -> ApiResult<AccountFilter> {
        let mut f = AccountFilter {
            q: self.q.clone(),
            coverage_tier: parse_param("coverage_tier", self.coverage_tier.as_deref())?,
            lifecycle_stage: parse_param("lifecycle_stage", self.lifecycle_stage.as_deref())?,
            contract_value_tier: parse_param(
                "contract_value_tier",
                self.contract_value_tier.as_deref(),
            )?,
            growth_potential: parse_param("growth_potential", self.growth_potential.as_deref())?,
            brand_value: parse_param("brand_value", self.brand_value.as_deref())?,
            referral_likelihood: parse_param(
                "referral_likelihood",
                self.referral_likelihood.as_deref(),
            )?,
            health_band: parse_param("health_band", self.health_band.as_deref())?,
            owner_id: parse_param::<i64>("owner_id", self.owner_id.as_deref())?.map(UserId),
            unowned: self.unowned.unwrap_or(false),
            industry: self.industry.clone().filter(|s| !s.trim().is_empty()),
            renewal_from: parse_param("renewal_from", self.renewal_from.as_deref())?,
            renewal_to: parse_param("renewal_to", self.renewal_to.as_deref())?,
            sort: None,
            limit: parse_param("limit", self.limit.as_deref())?,
            offset: parse_param("offset", self.offset.as_deref())?,
        };
        if let Some(days) =
            parse_param::<i64>("renewal_within_days", self.renewal_within_days.as_deref())?
        {
            if !(0..=3650).contains(&days) {
                return Err(bad_param(
                    "renewal_within_days",
                    "must be between 0 and 3650",
                ));
            }
            f.renewal_from = Some(f.renewal_from.map_or(today, |d| d.max(today)));
            let until = today + Duration::days(days);
            f.renewal_to = Some(f.renewal_to.map_or(until, |d| d.min(until)));
        }
        if let Some(sort) = self.sort.as_deref().filter(|s| !s.is_empty()) {
            f.sort = Some(AccountSort::parse(sort).map_err(|e| bad_param("sort", e))?);
        }
        if matches!(f.limit, Some(l) if !(1..=500).contains(&l)) {
            return Err(bad_param("limit", "must be between 1 and 500"));
        }
        if matches!(f.offset, Some(o) if o < 0) {
            return Err(bad_param("offset", "must be 0 or more"));
        }
        Ok(f)
    }
}

/// Lists accounts with filters, sorting and paging.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(AccountListParams),
    responses((status = 200, body = Page<Account>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_accounts(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AccountListParams>,
) -> ApiResult<Json<Page<Account>>> {
    let filter = params.to_filter(Utc::now().date_naive())?;
    Ok(Json(state.store.list_accounts(&filter).await?))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountDraft,
    responses((status = 201, body = Account), (status = 409, body = ErrorBody, description = "duplicate external_id"),
              (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<AccountDraft>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_account(draft, &caller.actor).await?),
    ))
}

/// One account with its contacts, subscriptions, current MRR / ARR and next renewal date.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = AccountDetail), (status = 404, body = ErrorBody)))]
async fn get_account(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AccountDetail>> {
    Ok(Json(
        state
            .store
            .account_detail(AccountId(id), Utc::now().date_naive())
            .await?,
    ))
}

/// Changes the fields the body carries; the others stay.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = AccountDraft,
    responses((status = 200, body = Account), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<AccountDraft>,
) -> ApiResult<Json<Account>> {
    Ok(Json(
        state
            .store
            .update_account(AccountId(id), patch, &caller.actor)
            .await?,
    ))
}

/// Deletes an account softly: it leaves every list, its history stays.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_account(AccountId(id), &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Finds an account by its CRM id / Segment `groupId`.
#[utoipa::path(get, path = "/api/v1/accounts/by-external-id/{external_id}", tag = "accounts",
    params(("external_id" = String, Path)), responses((status = 200, body = Account), (status = 404, body = ErrorBody)))]
async fn account_by_external_id(
    State(state): State<AppState>,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<Account>> {
    Ok(Json(
        state.store.account_by_external_id(&external_id).await?,
    ))
}

/// Every lifecycle stage change of the account: who, when, why.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/lifecycle", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<LifecycleTransition>), (status = 404, body = ErrorBody)))]
async fn lifecycle_history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<LifecycleTransition>>> {
    state.store.account(AccountId(id)).await?;
    Ok(Json(state.store.lifecycle_history(AccountId(id)).await?))
}

/// The account's revenue movements (new, expansion, contraction, churn, reactivation), oldest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/revenue-movements", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RevenueMovement>), (status = 404, body = ErrorBody)))]
async fn revenue_movements(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<RevenueMovement>>> {
    state.store.account(AccountId(id)).await?;
    Ok(Json(
        state.store.list_revenue_movements(AccountId(id)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// First day (YYYY-MM-DD); default 30 days before `to`.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default today.
    pub to: Option<String>,
    /// Only this feature key.
    pub feature: Option<String>,
}

/// Per-feature per-day events and distinct users, and per-day active users.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/usage", tag = "usage", params(("id" = i64, Path), UsageParams),
    responses((status = 200, body = AccountUsage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_usage(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> ApiResult<Json<AccountUsage>> {
    let to: NaiveDate =
        parse_param("to", params.to.as_deref())?.unwrap_or_else(|| Utc::now().date_naive());
    let from: NaiveDate =
        parse_param("from", params.from.as_deref())?.unwrap_or(to - Duration::days(30));
    if from > to {
        return Err(bad_param("from", format!("{from} is after `to` ({to})")));
    }
    if (to - from).num_days() > 3660 {
        return Err(bad_param("from", "ask for at most ten years at a time"));
    }
    state.store.account(AccountId(id)).await?;
    let query = UsageQuery {
        from,
        to,
        feature: params.feature.filter(|f| !f.is_empty()),
    };
    Ok(Json(
        state.store.account_usage(AccountId(id), &query).await?,
    ))
}
