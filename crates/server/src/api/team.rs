//! The team over the API: the competency framework (scale, skills with a description per level),
//! the career ladder and each member's step on it, skill assessments with their history, every
//! member's standing (gaps, readiness for the next level), incentive plans with per-CSM targets,
//! and the incentive calculator. Changing the framework, the ladder and the plans needs an admin
//! token; recording an assessment a write token. The workload is `GET /api/v1/insight/team`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use kizuna_domain::page::Page;
use kizuna_domain::team::competency::{CareerLevelDraft, ScaleLevel, SkillDraft};
use kizuna_domain::team::incentive::{self, PlanDraft, TargetDraft};
use kizuna_store::{
    Assessment, AssessmentDraft, AssessmentFilter, CareerLevel, CompetencyMatrix, IncentivePlan,
    IncentiveReport, IncentiveTarget, MemberStanding, Skill,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{bad_param, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_competency))
        .routes(routes!(get_scale, put_scale))
        .routes(routes!(list_skills, create_skill))
        .routes(routes!(get_skill, update_skill, delete_skill))
        .routes(routes!(list_career_levels, create_career_level))
        .routes(routes!(
            get_career_level,
            update_career_level,
            delete_career_level
        ))
        .routes(routes!(get_member))
        .routes(routes!(set_member_career))
        .routes(routes!(list_assessments, create_assessment))
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, update_plan, delete_plan))
        .routes(routes!(list_targets))
        .routes(routes!(set_target, delete_target))
        .routes(routes!(incentives))
}

// ------------------------------------------------------------------------------ framework

/// The whole framework (scale, skills, ladder) with every CSM's and manager's standing: their
/// current level per skill, what their career level expects, the gaps and their readiness for
/// the next level. The team heat map and radar charts are drawn from it.
#[utoipa::path(get, path = "/api/v1/team/competency", tag = "team",
    responses((status = 200, body = CompetencyMatrix)))]
async fn get_competency(State(s): State<AppState>) -> ApiResult<Json<CompetencyMatrix>> {
    Ok(Json(s.store.competency_matrix().await?))
}

#[utoipa::path(get, path = "/api/v1/team/scale", tag = "team",
    responses((status = 200, body = Vec<ScaleLevel>)))]
async fn get_scale(State(s): State<AppState>) -> ApiResult<Json<Vec<ScaleLevel>>> {
    s.store.ensure_team_framework().await?;
    Ok(Json(s.store.competency_scale().await?))
}

/// Replaces the scale (admin): levels 1 to N in order, each named in Japanese and English. A
/// level still described, expected or assessed cannot be removed.
#[utoipa::path(put, path = "/api/v1/team/scale", tag = "team", request_body = Vec<ScaleLevel>,
    responses((status = 200, body = Vec<ScaleLevel>), (status = 422, body = ErrorBody)))]
async fn put_scale(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(levels): ApiJson<Vec<ScaleLevel>>,
) -> ApiResult<Json<Vec<ScaleLevel>>> {
    s.store.ensure_team_framework().await?;
    s.store.set_competency_scale(&levels, &caller.actor).await?;
    Ok(Json(s.store.competency_scale().await?))
}

/// Every skill, in framework order, with what each level looks like.
#[utoipa::path(get, path = "/api/v1/team/skills", tag = "team",
    responses((status = 200, body = Vec<Skill>)))]
async fn list_skills(State(s): State<AppState>) -> ApiResult<Json<Vec<Skill>>> {
    s.store.ensure_team_framework().await?;
    Ok(Json(s.store.list_skills().await?))
}

/// Adds a skill (admin).
#[utoipa::path(post, path = "/api/v1/team/skills", tag = "team", request_body = SkillDraft,
    responses((status = 201, body = Skill), (status = 409, body = ErrorBody, description = "duplicate key"), (status = 422, body = ErrorBody)))]
async fn create_skill(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<SkillDraft>,
) -> ApiResult<(StatusCode, Json<Skill>)> {
    s.store.ensure_team_framework().await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_skill(draft, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/team/skills/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 200, body = Skill), (status = 404, body = ErrorBody)))]
async fn get_skill(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Skill>> {
    Ok(Json(s.store.skill(id).await?))
}

/// Changes a skill (admin); `levels`, when sent, replaces every level's description.
#[utoipa::path(patch, path = "/api/v1/team/skills/{id}", tag = "team", params(("id" = i64, Path)), request_body = SkillDraft,
    responses((status = 200, body = Skill), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_skill(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<SkillDraft>,
) -> ApiResult<Json<Skill>> {
    Ok(Json(s.store.update_skill(id, draft, &caller.actor).await?))
}

/// Deletes a skill with its assessments and the ladder's expectations of it (admin).
#[utoipa::path(delete, path = "/api/v1/team/skills/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_skill(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_skill(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------------------ career ladder

/// The career ladder, first step first, with the skill levels each step expects.
#[utoipa::path(get, path = "/api/v1/team/career-levels", tag = "team",
    responses((status = 200, body = Vec<CareerLevel>)))]
async fn list_career_levels(State(s): State<AppState>) -> ApiResult<Json<Vec<CareerLevel>>> {
    s.store.ensure_team_framework().await?;
    Ok(Json(s.store.list_career_levels().await?))
}

/// Adds a step to the ladder (admin).
#[utoipa::path(post, path = "/api/v1/team/career-levels", tag = "team", request_body = CareerLevelDraft,
    responses((status = 201, body = CareerLevel), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_career_level(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<CareerLevelDraft>,
) -> ApiResult<(StatusCode, Json<CareerLevel>)> {
    s.store.ensure_team_framework().await?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_career_level(draft, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/team/career-levels/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 200, body = CareerLevel), (status = 404, body = ErrorBody)))]
async fn get_career_level(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CareerLevel>> {
    Ok(Json(s.store.career_level(id).await?))
}

/// Changes a step (admin); `expectations`, when sent, replaces them all.
#[utoipa::path(patch, path = "/api/v1/team/career-levels/{id}", tag = "team", params(("id" = i64, Path)), request_body = CareerLevelDraft,
    responses((status = 200, body = CareerLevel), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_career_level(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<CareerLevelDraft>,
) -> ApiResult<Json<CareerLevel>> {
    Ok(Json(
        s.store
            .update_career_level(id, draft, &caller.actor)
            .await?,
    ))
}

/// Deletes a step nobody is on (admin).
#[utoipa::path(delete, path = "/api/v1/team/career-levels/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "members are on it")))]
async fn delete_career_level(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_career_level(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------------------ members

/// One member's standing: current level per skill, expectations, gaps, readiness.
#[utoipa::path(get, path = "/api/v1/team/members/{user_id}", tag = "team", params(("user_id" = i64, Path)),
    responses((status = 200, body = MemberStanding), (status = 404, body = ErrorBody, description = "not an active CSM or manager")))]
async fn get_member(
    State(s): State<AppState>,
    ApiPath(user_id): ApiPath<i64>,
) -> ApiResult<Json<MemberStanding>> {
    s.store
        .competency_matrix()
        .await?
        .members
        .into_iter()
        .find(|m| m.user_id == user_id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("team member {user_id}")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareerBody {
    /// The step of the ladder; `null` takes the member off the ladder.
    pub career_level_id: Option<i64>,
}

/// Puts a member on a step of the ladder (admin).
#[utoipa::path(put, path = "/api/v1/team/members/{user_id}/career-level", tag = "team", params(("user_id" = i64, Path)), request_body = CareerBody,
    responses((status = 200, body = MemberStanding), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_member_career(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CareerBody>,
) -> ApiResult<Json<MemberStanding>> {
    s.store
        .set_member_career(user_id, body.career_level_id, &caller.actor)
        .await?;
    get_member(State(s), ApiPath(user_id)).await
}

// ------------------------------------------------------------------------------ assessments

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssessmentParams {
    /// Only this member's assessments.
    pub user_id: Option<i64>,
    /// Only this skill's.
    pub skill_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Assessments, newest first: the history behind every current level.
#[utoipa::path(get, path = "/api/v1/team/assessments", tag = "team", params(AssessmentParams),
    responses((status = 200, body = Page<Assessment>), (status = 400, body = ErrorBody)))]
async fn list_assessments(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AssessmentParams>,
) -> ApiResult<Json<Page<Assessment>>> {
    let (limit, offset) = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    Ok(Json(
        s.store
            .assessments(
                AssessmentFilter {
                    user_id: q.user_id,
                    skill_id: q.skill_id,
                },
                limit,
                offset,
            )
            .await?,
    ))
}

/// Records an assessment of one member's skill (write); earlier ones stay as history.
#[utoipa::path(post, path = "/api/v1/team/assessments", tag = "team", request_body = AssessmentDraft,
    responses((status = 201, body = Assessment), (status = 422, body = ErrorBody)))]
async fn create_assessment(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<AssessmentDraft>,
) -> ApiResult<(StatusCode, Json<Assessment>)> {
    s.store.ensure_team_framework().await?;
    let a = s
        .store
        .record_assessment(draft, Utc::now().date_naive(), &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

// ------------------------------------------------------------------------------ incentive plans

/// Incentive plans, latest period first.
#[utoipa::path(get, path = "/api/v1/team/incentive-plans", tag = "team", params(Paging),
    responses((status = 200, body = Page<IncentivePlan>), (status = 400, body = ErrorBody)))]
async fn list_plans(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Page<IncentivePlan>>> {
    let (limit, offset) = p.checked()?;
    Ok(Json(s.store.list_incentive_plans(limit, offset).await?))
}

/// Creates a plan (admin). Defaults: weights 0.5 / 0.3 / 0.2, floor 0.5, cap 1.5, renewal
/// rate target 0.9, NPS target 30, no gate, no multiplier.
#[utoipa::path(post, path = "/api/v1/team/incentive-plans", tag = "team", request_body = PlanDraft,
    responses((status = 201, body = IncentivePlan), (status = 422, body = ErrorBody)))]
async fn create_plan(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(draft): ApiJson<PlanDraft>,
) -> ApiResult<(StatusCode, Json<IncentivePlan>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_incentive_plan(draft, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/team/incentive-plans/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 200, body = IncentivePlan), (status = 404, body = ErrorBody)))]
async fn get_plan(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncentivePlan>> {
    Ok(Json(s.store.incentive_plan(id).await?))
}

/// Replaces a plan's terms (admin); what the body leaves out takes the defaults.
#[utoipa::path(put, path = "/api/v1/team/incentive-plans/{id}", tag = "team", params(("id" = i64, Path)), request_body = PlanDraft,
    responses((status = 200, body = IncentivePlan), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_plan(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<PlanDraft>,
) -> ApiResult<Json<IncentivePlan>> {
    Ok(Json(
        s.store
            .update_incentive_plan(id, draft, &caller.actor)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/team/incentive-plans/{id}", tag = "team", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_plan(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.delete_incentive_plan(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The CSMs' own targets in a plan (the others use the plan's defaults).
#[utoipa::path(get, path = "/api/v1/team/incentive-plans/{id}/targets", tag = "team", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<IncentiveTarget>), (status = 404, body = ErrorBody)))]
async fn list_targets(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<IncentiveTarget>>> {
    Ok(Json(s.store.incentive_targets(id).await?))
}

/// Sets one CSM's targets in a plan (admin), replacing what they had.
#[utoipa::path(put, path = "/api/v1/team/incentive-plans/{id}/targets/{user_id}", tag = "team",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = TargetDraft,
    responses((status = 200, body = IncentiveTarget), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_target(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
    ApiJson(t): ApiJson<TargetDraft>,
) -> ApiResult<Json<IncentiveTarget>> {
    Ok(Json(
        s.store
            .set_incentive_target(id, user_id, t, &caller.actor)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/team/incentive-plans/{id}/targets/{user_id}", tag = "team",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_target(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_incentive_target(id, user_id, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncentiveParams {
    /// The plan (default: the latest plan whose period contains the period's first day, else
    /// today, else the latest plan).
    pub plan_id: Option<i64>,
    /// `2026`, `2026-Q2`, `2026-05` or `2026-04-01..2026-06-30` (default: the plan's period).
    pub period: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Incentives {
    #[serde(flatten)]
    pub report: IncentiveReport,
    /// How every payout is computed, in English and Japanese.
    pub formula_en: &'static str,
    pub formula_ja: &'static str,
}

/// The incentive calculator: every CSM's components, attainment and payout under a plan over a
/// period, from the product's data (decided renewals, revenue movements, NPS answers of the
/// CSM's accounts).
#[utoipa::path(get, path = "/api/v1/team/incentives", tag = "team", params(IncentiveParams),
    responses((status = 200, body = Incentives), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody, description = "no plan")))]
async fn incentives(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<IncentiveParams>,
) -> ApiResult<Json<Incentives>> {
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(incentive::parse_period(p).map_err(|e| bad_param("period", e))?),
    };
    let plan_id = match q.plan_id {
        Some(id) => id,
        None => {
            let day = period.map_or_else(|| Utc::now().date_naive(), |p| p.from);
            s.store
                .incentive_plan_for(day)
                .await?
                .ok_or_else(|| ApiError::not_found("an incentive plan"))?
                .id
        }
    };
    let report = s.store.incentive_report(plan_id, period).await?;
    Ok(Json(Incentives {
        report,
        formula_en: incentive::FORMULA_EN,
        formula_ja: incentive::FORMULA_JA,
    }))
}
