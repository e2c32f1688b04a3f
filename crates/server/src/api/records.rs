//! An account's records: contacts, subscriptions, tickets, survey responses and touchpoints.
//! Each is listed and created under its account and read or changed by its own id.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use kizuna_domain::contact::{Contact, ContactDraft};
use kizuna_domain::feature::{Feature, FeatureChange, FeatureDraft};
use kizuna_domain::ids::{
    AccountId, ContactId, FeatureId, SubscriptionId, SurveyResponseId, TicketId, TouchpointId,
};
use kizuna_domain::page::Page;
use kizuna_domain::subscription::{Subscription, SubscriptionDraft};
use kizuna_domain::survey::{SurveyResponse, SurveyResponseDraft};
use kizuna_domain::ticket::{Ticket, TicketDraft};
use kizuna_domain::touchpoint::{Touchpoint, TouchpointDraft};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::Paging;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(get_subscription, update_subscription))
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(list_survey_responses, create_survey_response))
        .routes(routes!(get_survey_response, update_survey_response))
        .routes(routes!(list_touchpoints, create_touchpoint))
        .routes(routes!(get_touchpoint, update_touchpoint))
        .routes(routes!(list_features))
        .routes(routes!(update_feature))
}

type Created<T> = ApiResult<(StatusCode, Json<T>)>;

// --- contacts --------------------------------------------------------------------------------

/// The account's contacts; people who left come last.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/contacts", tag = "records", params(("id" = i64, Path), Paging),
    responses((status = 200, body = Page<Contact>), (status = 404, body = ErrorBody)))]
async fn list_contacts(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Contact>>> {
    let (limit, offset) = p.checked()?;
    s.store.account(AccountId(id)).await?;
    Ok(Json(
        s.store.list_contacts(AccountId(id), limit, offset).await?,
    ))
}

/// Adds a contact to the account.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/contacts", tag = "records", params(("id" = i64, Path)), request_body = ContactDraft,
    responses((status = 201, body = Contact), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_contact(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<ContactDraft>,
) -> Created<Contact> {
    let draft = ContactDraft {
        account_id: Some(AccountId(id)),
        ..draft
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_contact(None, draft, &c.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Contact>> {
    Ok(Json(s.store.contact(ContactId(id)).await?))
}

/// Changes the fields the body carries.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "records", params(("id" = i64, Path)), request_body = ContactDraft,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_contact(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ContactDraft>,
) -> ApiResult<Json<Contact>> {
    Ok(Json(
        s.store
            .update_contact(ContactId(id), patch, &c.actor)
            .await?,
    ))
}

// --- subscriptions ---------------------------------------------------------------------------

/// The account's contract terms, oldest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/subscriptions", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Subscription>), (status = 404, body = ErrorBody)))]
async fn list_subscriptions(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Subscription>>> {
    s.store.account(AccountId(id)).await?;
    Ok(Json(s.store.list_subscriptions(AccountId(id)).await?))
}

/// Adds a contract term; the account's MRR, renewal date and revenue movements follow.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/subscriptions", tag = "records", params(("id" = i64, Path)), request_body = SubscriptionDraft,
    responses((status = 201, body = Subscription), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_subscription(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<SubscriptionDraft>,
) -> Created<Subscription> {
    let draft = SubscriptionDraft {
        account_id: Some(AccountId(id)),
        ..draft
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_subscription(None, draft, &c.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody)))]
async fn get_subscription(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(s.store.subscription(SubscriptionId(id)).await?))
}

/// Changes a term. A new `mrr` or `seats` takes effect on `effective_date` (default today); set
/// `status` to `renewed` or `churned` to decide a renewal.
#[utoipa::path(patch, path = "/api/v1/subscriptions/{id}", tag = "records", params(("id" = i64, Path)), request_body = SubscriptionDraft,
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_subscription(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<SubscriptionDraft>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(
        s.store
            .update_subscription(SubscriptionId(id), patch, &c.actor)
            .await?,
    ))
}

// --- tickets ---------------------------------------------------------------------------------

/// The account's support tickets, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/tickets", tag = "records", params(("id" = i64, Path), Paging),
    responses((status = 200, body = Page<Ticket>), (status = 404, body = ErrorBody)))]
async fn list_tickets(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Ticket>>> {
    let (limit, offset) = p.checked()?;
    s.store.account(AccountId(id)).await?;
    Ok(Json(
        s.store.list_tickets(AccountId(id), limit, offset).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/tickets", tag = "records", params(("id" = i64, Path)), request_body = TicketDraft,
    responses((status = 201, body = Ticket), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_ticket(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<TicketDraft>,
) -> Created<Ticket> {
    let draft = TicketDraft {
        account_id: Some(AccountId(id)),
        ..draft
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_ticket(None, draft, &c.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody)))]
async fn get_ticket(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(s.store.ticket(TicketId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "records", params(("id" = i64, Path)), request_body = TicketDraft,
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_ticket(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TicketDraft>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        s.store.update_ticket(TicketId(id), patch, &c.actor).await?,
    ))
}

// --- survey responses ------------------------------------------------------------------------

/// The account's survey (NPS) answers, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/survey-responses", tag = "records", params(("id" = i64, Path), Paging),
    responses((status = 200, body = Page<SurveyResponse>), (status = 404, body = ErrorBody)))]
async fn list_survey_responses(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Page<SurveyResponse>>> {
    let (limit, offset) = p.checked()?;
    s.store.account(AccountId(id)).await?;
    Ok(Json(
        s.store
            .list_survey_responses(AccountId(id), limit, offset)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/survey-responses", tag = "records", params(("id" = i64, Path)), request_body = SurveyResponseDraft,
    responses((status = 201, body = SurveyResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_survey_response(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<SurveyResponseDraft>,
) -> Created<SurveyResponse> {
    let draft = SurveyResponseDraft {
        account_id: Some(AccountId(id)),
        ..draft
    };
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .create_survey_response(None, draft, &c.actor)
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/survey-responses/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = SurveyResponse), (status = 404, body = ErrorBody)))]
async fn get_survey_response(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SurveyResponse>> {
    Ok(Json(s.store.survey_response(SurveyResponseId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/survey-responses/{id}", tag = "records", params(("id" = i64, Path)), request_body = SurveyResponseDraft,
    responses((status = 200, body = SurveyResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_survey_response(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<SurveyResponseDraft>,
) -> ApiResult<Json<SurveyResponse>> {
    Ok(Json(
        s.store
            .update_survey_response(SurveyResponseId(id), patch, &c.actor)
            .await?,
    ))
}

// --- touchpoints -----------------------------------------------------------------------------

/// The account's touchpoints (meetings, calls, QBRs, notes, ...), newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/touchpoints", tag = "records", params(("id" = i64, Path), Paging),
    responses((status = 200, body = Page<Touchpoint>), (status = 404, body = ErrorBody)))]
async fn list_touchpoints(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Touchpoint>>> {
    let (limit, offset) = p.checked()?;
    s.store.account(AccountId(id)).await?;
    Ok(Json(
        s.store
            .list_touchpoints(AccountId(id), limit, offset)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/touchpoints", tag = "records", params(("id" = i64, Path)), request_body = TouchpointDraft,
    responses((status = 201, body = Touchpoint), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_touchpoint(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<TouchpointDraft>,
) -> Created<Touchpoint> {
    let draft = TouchpointDraft {
        account_id: Some(AccountId(id)),
        ..draft
    };
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_touchpoint(None, draft, &c.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/touchpoints/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, body = Touchpoint), (status = 404, body = ErrorBody)))]
async fn get_touchpoint(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Touchpoint>> {
    Ok(Json(s.store.touchpoint(TouchpointId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/touchpoints/{id}", tag = "records", params(("id" = i64, Path)), request_body = TouchpointDraft,
    responses((status = 200, body = Touchpoint), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_touchpoint(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TouchpointDraft>,
) -> ApiResult<Json<Touchpoint>> {
    Ok(Json(
        s.store
            .update_touchpoint(TouchpointId(id), patch, &c.actor)
            .await?,
    ))
}

// --- features --------------------------------------------------------------------------------

/// The feature catalogue, discovered from usage events.
#[utoipa::path(get, path = "/api/v1/features", tag = "usage", responses((status = 200, body = Vec<Feature>)))]
async fn list_features(State(s): State<AppState>) -> ApiResult<Json<Vec<Feature>>> {
    Ok(Json(s.store.list_features().await?))
}

/// Marks a feature key (it counts toward breadth of adoption), names it, moves it to a module.
#[utoipa::path(patch, path = "/api/v1/features/{id}", tag = "usage", params(("id" = i64, Path)), request_body = FeatureDraft,
    responses((status = 200, body = Feature), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_feature(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<FeatureDraft>,
) -> ApiResult<Json<Feature>> {
    let change = FeatureChange::parse(draft)?;
    Ok(Json(
        s.store
            .update_feature(FeatureId(id), change, &c.actor)
            .await?,
    ))
}
