//! Settings: one's own password and language; for admins the feature catalogue, users and API
//! tokens. Everyone may read the feature catalogue; only admins change it.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kizuna_domain::feature::{FeatureChange, FeatureDraft};
use kizuna_domain::ids::{FeatureId, TokenId, UserId};
use kizuna_domain::token::TokenScope;
use kizuna_domain::user::{Locale, NewUser, Password, Role, UserDraft};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::layout::{csrf, empty, page, Nav, Scripts};
use crate::session::{hash_password, verify_password, Ctx};
use crate::WebState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Profile,
    Features,
    Scorecards,
    Segments,
    Users,
    Tokens,
}

fn tabs(ctx: &Ctx, current: Tab) -> Markup {
    let i = ctx.i18n;
    html! {
        nav.tabs {
            a href="/settings" .current[current == Tab::Profile] { (i.tr("settings.profile")) }
            a href="/settings/features" .current[current == Tab::Features] { (i.tr("settings.features")) }
            a href="/settings/scorecards" .current[current == Tab::Scorecards] { (i.tr("settings.scorecards")) }
            a href="/settings/segments" .current[current == Tab::Segments] { (i.tr("settings.segments")) }
            @if ctx.is_admin() {
                a href="/settings/users" .current[current == Tab::Users] { (i.tr("settings.users")) }
                a href="/settings/tokens" .current[current == Tab::Tokens] { (i.tr("settings.tokens")) }
            }
        }
    }
}

fn settings_page(ctx: &Ctx, tab: Tab, flash: Option<(&str, &str)>, body: Markup) -> Response {
    let i = ctx.i18n;
    page(
        ctx,
        i.tr("nav.settings"),
        Nav::Settings,
        Scripts::Basic,
        html! {
            h1 { (i.tr("nav.settings")) }
            (tabs(ctx, tab))
            @if let Some((class, text)) = flash { p class=(format!("flash {class}")) role="status" { (text) } }
            (body)
        },
    )
}

fn profile_body(ctx: &Ctx) -> Markup {
    let i = ctx.i18n;
    html! {
        div.columns {
            section.card {
                h2 { (i.tr("settings.password")) }
                form.stack method="post" action="/settings/password" {
                    (csrf(ctx))
                    label { (i.tr("settings.current_password")) input type="password" name="current" required autocomplete="current-password"; }
                    label { (i.tr("settings.new_password")) input type="password" name="new" required minlength="10" autocomplete="new-password"; }
                    label { (i.tr("settings.repeat_password")) input type="password" name="repeat" required minlength="10" autocomplete="new-password"; }
                    button type="submit" { (i.tr("settings.change_password")) }
                }
            }
            section.card {
                h2 { (i.tr("nav.language")) }
                form.stack method="post" action="/settings/locale" {
                    (csrf(ctx))
                    @for l in Locale::ALL {
                        label.radio { input type="radio" name="locale" value=(l.as_str()) checked[*l == ctx.user.locale]; " " (i.label("locale", l.as_str())) }
                    }
                    button type="submit" { (i.tr("settings.save")) }
                }
                p.muted { (i.trf("settings.signed_in_as", &[("email", ctx.user.email.as_str()), ("role", &i.label("role", ctx.user.role.as_str()))])) }
            }
        }
    }
}

pub async fn profile(ctx: Ctx) -> Response {
    settings_page(&ctx, Tab::Profile, None, profile_body(&ctx))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    repeat: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let stored = state.store.user_with_hash(ctx.user.id).await?;
    let fail = |key: &str| {
        Ok(settings_page(
            &ctx,
            Tab::Profile,
            Some(("error", i.tr(key))),
            profile_body(&ctx),
        ))
    };
    if !stored
        .password_hash
        .as_deref()
        .is_some_and(|h| verify_password(&form.current, h))
    {
        return fail("settings.wrong_password");
    }
    if form.new != form.repeat {
        return fail("settings.passwords_differ");
    }
    if Password::parse(&form.new).is_err() {
        return fail("settings.password_rule");
    }
    let hash = hash_password(&form.new)?;
    state
        .store
        .update_user(ctx.user.id, UserDraft::default(), Some(hash), &ctx.actor())
        .await?;
    // Other browsers signed in with the old password are signed out.
    state
        .store
        .delete_user_web_sessions(ctx.user.id, Some(&ctx.session_secret))
        .await?;
    Ok(settings_page(
        &ctx,
        Tab::Profile,
        Some(("ok", i.tr("settings.password_changed"))),
        profile_body(&ctx),
    ))
}

#[derive(Debug, Deserialize)]
pub struct LocaleForm {
    locale: String,
}

/// Changes the user's language and goes back to the page they were on.
pub async fn change_locale(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LocaleForm>,
) -> WebResult<Response> {
    let locale: Locale = form
        .locale
        .parse()
        .map_err(|_| WebError::Invalid("locale".into()))?;
    state
        .store
        .update_user(
            ctx.user.id,
            UserDraft {
                locale: Some(locale),
                ..Default::default()
            },
            None,
            &ctx.actor(),
        )
        .await?;
    // Back to the same page, when the browser says which one (same site only).
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let rest = r.split_once("://")?.1;
            let path = rest.strip_prefix(host)?;
            path.starts_with('/').then(|| path.to_string())
        })
        .unwrap_or_else(|| "/".into());
    Ok(Redirect::to(&back).into_response())
}

pub async fn features(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let list = state.store.list_features().await?;
    let admin = ctx.is_admin();
    let body = html! {
        section.card {
            h2 { (i.tr("settings.features")) }
            p.muted { (i.tr("features.intro")) }
            @if list.is_empty() {
                (empty(i, "features.empty", "features.empty_hint"))
            } @else {
                table.list {
                    thead { tr {
                        th { (i.tr("features.key")) } th { (i.tr("features.name")) } th { (i.tr("features.module")) }
                        th { (i.tr("features.is_key")) } th.num { (i.tr("features.weight")) }
                        @if admin { th {} }
                    } }
                    tbody {
                        @for f in &list {
                            @if admin {
                                tr {
                                    td { code { (f.key) } }
                                    td { input form=(format!("f{}", f.id)) type="text" name="display_name" value=(f.display_name) required aria-label=(i.tr("features.name")); }
                                    td { input form=(format!("f{}", f.id)) type="text" name="module" value=(f.module.as_deref().unwrap_or("")) aria-label=(i.tr("features.module")); }
                                    td { input form=(format!("f{}", f.id)) type="checkbox" name="is_key" value="true" checked[f.is_key] aria-label=(i.tr("features.is_key")); }
                                    td.num { input.narrow form=(format!("f{}", f.id)) type="number" step="0.1" min="0" name="weight" value=(f.weight) aria-label=(i.tr("features.weight")); }
                                    td {
                                        form id=(format!("f{}", f.id)) method="post" action=(format!("/settings/features/{}", f.id)) {
                                            (csrf(&ctx))
                                            button.small type="submit" { (i.tr("settings.save")) }
                                        }
                                    }
                                }
                            } @else {
                                tr {
                                    td { code { (f.key) } }
                                    td { (f.display_name) }
                                    td { (f.module.as_deref().unwrap_or("—")) }
                                    td { @if f.is_key { "✓" } @else { "—" } }
                                    td.num { (i.decimal(f.weight, 1)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(settings_page(&ctx, Tab::Features, None, body))
}

#[derive(Debug, Deserialize)]
pub struct FeatureForm {
    display_name: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    is_key: Option<String>,
    #[serde(default)]
    weight: String,
}

pub async fn update_feature(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FeatureForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let weight = match form.weight.trim() {
        "" => None,
        w => Some(
            w.parse::<f64>()
                .map_err(|_| WebError::Invalid(ctx.i18n.tr("features.bad_weight").to_string()))?,
        ),
    };
    let change = FeatureChange::parse(FeatureDraft {
        display_name: Some(form.display_name),
        module: Some(form.module.trim().to_string()),
        is_key: Some(form.is_key.is_some()),
        weight,
    })
    .map_err(|e| WebError::Invalid(e.to_string()))?;
    state
        .store
        .update_feature(FeatureId(id), change, &ctx.actor())
        .await?;
    Ok(Redirect::to("/settings/features").into_response())
}

fn users_body(ctx: &Ctx, users: &[kizuna_domain::user::User]) -> Markup {
    let i = ctx.i18n;
    html! {
        section.card {
            h2 { (i.tr("settings.users")) }
            table.list {
                thead { tr { th { (i.tr("users.name")) } th { (i.tr("users.email")) } th { (i.tr("users.role")) } th { (i.tr("users.active")) } th {} } }
                tbody {
                    @for u in users {
                        tr {
                            td { (u.name) }
                            td { (u.email.as_str()) }
                            td {
                                select form=(format!("u{}", u.id)) name="role" aria-label=(i.tr("users.role")) {
                                    @for r in Role::ALL { option value=(r.as_str()) selected[*r == u.role] { (i.label("role", r.as_str())) } }
                                }
                            }
                            td { input form=(format!("u{}", u.id)) type="checkbox" name="active" value="true" checked[u.active] aria-label=(i.tr("users.active")); }
                            td {
                                form id=(format!("u{}", u.id)) method="post" action=(format!("/settings/users/{}", u.id)) {
                                    (csrf(ctx))
                                    button.small type="submit" { (i.tr("settings.save")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("users.add")) }
            form.stack method="post" action="/settings/users" {
                (csrf(ctx))
                div.row {
                    label { (i.tr("users.name")) input type="text" name="name" required maxlength="200"; }
                    label { (i.tr("users.email")) input type="email" name="email" required; }
                    label { (i.tr("users.role"))
                        select name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[*r == Role::Csm] { (i.label("role", r.as_str())) } } }
                    }
                    label { (i.tr("nav.language"))
                        select name="locale" { @for l in Locale::ALL { option value=(l.as_str()) { (i.label("locale", l.as_str())) } } }
                    }
                }
                label { (i.tr("users.password")) input type="password" name="password" required minlength="10" autocomplete="new-password"; }
                p.muted { (i.tr("users.password_hint")) }
                button type="submit" { (i.tr("users.create")) }
            }
        }
    }
}

pub async fn users(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    ctx.require_admin()?;
    let list = state.store.list_users().await?;
    Ok(settings_page(
        &ctx,
        Tab::Users,
        None,
        users_body(&ctx, &list),
    ))
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    name: String,
    email: String,
    role: String,
    locale: String,
    password: String,
}

pub async fn create_user(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(form): Form<NewUserForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let i = ctx.i18n;
    let new = NewUser::parse(UserDraft {
        email: Some(form.email.trim().to_string()),
        name: Some(form.name.trim().to_string()),
        role: form.role.parse().ok(),
        locale: form.locale.parse().ok(),
        active: Some(true),
        password: Some(form.password.clone()),
    })
    .map_err(|e| WebError::Invalid(e.to_string()))?;
    let hash = hash_password(&form.password)?;
    let created = state
        .store
        .create_user(new, Some(hash), &ctx.actor())
        .await?;
    let list = state.store.list_users().await?;
    let text = i.trf("users.created", &[("email", created.email.as_str())]);
    Ok(settings_page(
        &ctx,
        Tab::Users,
        Some(("ok", &text)),
        users_body(&ctx, &list),
    ))
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    role: String,
    #[serde(default)]
    active: Option<String>,
}

pub async fn update_user(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<UserForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let role: Role = form
        .role
        .parse()
        .map_err(|_| WebError::Invalid("role".into()))?;
    let active = form.active.is_some();
    let id = UserId(id);
    // An admin cannot lock themself out.
    if id == ctx.user.id && (role != Role::Admin || !active) {
        return Err(WebError::Invalid(
            ctx.i18n.tr("users.not_yourself").to_string(),
        ));
    }
    state
        .store
        .update_user(
            id,
            UserDraft {
                role: Some(role),
                active: Some(active),
                ..Default::default()
            },
            None,
            &ctx.actor(),
        )
        .await?;
    if !active {
        state.store.delete_user_web_sessions(id, None).await?;
    }
    Ok(Redirect::to("/settings/users").into_response())
}

fn tokens_body(
    ctx: &Ctx,
    tokens: &[kizuna_domain::token::ApiToken],
    secret: Option<&str>,
) -> Markup {
    let i = ctx.i18n;
    html! {
        @if let Some(s) = secret {
            section.card.secret {
                h2 { (i.tr("tokens.new_secret")) }
                p { (i.tr("tokens.shown_once")) }
                pre #token-secret { code { (s) } }
            }
        }
        section.card {
            h2 { (i.tr("settings.tokens")) }
            @if tokens.is_empty() {
                (empty(i, "tokens.empty", "tokens.empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("tokens.name")) } th { (i.tr("tokens.scope")) } th { (i.tr("tokens.prefix")) } th { (i.tr("tokens.created")) } th { (i.tr("tokens.last_used")) } th {} } }
                    tbody {
                        @for t in tokens {
                            tr.revoked[t.revoked_at.is_some()] {
                                td { (t.name) }
                                td { (i.label("scope", t.scope.as_str())) }
                                td { code { (t.prefix) "…" } }
                                td { (i.date(t.created_at.date_naive())) }
                                td { @match t.last_used_at { Some(d) => (i.date(d.date_naive())), None => "—" } }
                                td {
                                    @if t.revoked_at.is_some() { span.muted { (i.tr("tokens.revoked")) } }
                                    @else {
                                        form method="post" action=(format!("/settings/tokens/{}/revoke", t.id)) {
                                            (csrf(ctx))
                                            button.small.danger type="submit" { (i.tr("tokens.revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (i.tr("tokens.create")) }
            form.row method="post" action="/settings/tokens" {
                (csrf(ctx))
                label { (i.tr("tokens.name")) input type="text" name="name" required maxlength="100"; }
                label { (i.tr("tokens.scope"))
                    select name="scope" { @for s in TokenScope::ALL { option value=(s.as_str()) { (i.label("scope", s.as_str())) } } }
                }
                button type="submit" { (i.tr("tokens.create")) }
            }
        }
    }
}

pub async fn tokens(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    ctx.require_admin()?;
    let list = state.store.list_tokens().await?;
    Ok(settings_page(
        &ctx,
        Tab::Tokens,
        None,
        tokens_body(&ctx, &list, None),
    ))
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    scope: String,
}

pub async fn create_token(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(form): Form<TokenForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let scope: TokenScope = form
        .scope
        .parse()
        .map_err(|_| WebError::Invalid("scope".into()))?;
    let issued = state
        .store
        .issue_token(form.name.trim(), scope, &ctx.actor())
        .await?;
    let list = state.store.list_tokens().await?;
    let mut resp = settings_page(
        &ctx,
        Tab::Tokens,
        None,
        tokens_body(&ctx, &list, Some(&issued.secret)),
    );
    // The secret must not linger in caches.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

pub async fn revoke_token(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    state.store.revoke_token(TokenId(id), &ctx.actor()).await?;
    Ok(Redirect::to("/settings/tokens").into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct ScorecardQuery {
    pub id: Option<i64>,
}

/// Scorecards: each one's definition as TOML (measures, weights, groups, bands, which accounts it
/// applies to); admins edit it, preview how the change moves accounts, and save.
pub async fn scorecards(
    State(state): State<WebState>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<ScorecardQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    state.store.ensure_default_scorecard().await?;
    let cards = state.store.list_scorecards().await?;
    let current =
        q.id.and_then(|id| cards.iter().find(|c| c.id == id))
            .or(cards.first());
    let body = html! {
        p.muted { (i.tr("scorecards.intro")) }
        nav.tabs.sub {
            @for c in &cards {
                a href=(format!("/settings/scorecards?id={}", c.id)) .current[current.is_some_and(|x| x.id == c.id)] { (c.definition.name) }
            }
        }
        @if let Some(c) = current {
            section.card #scorecard {
                h2 { (c.definition.name) }
                @let text = toml::to_string_pretty(&c.definition).unwrap_or_default();
                form.stack method="post" action=(format!("/settings/scorecards/{}", c.id)) {
                    (csrf(&ctx))
                    textarea.code name="definition" rows="28" spellcheck="false" readonly[!ctx.is_admin()] aria-label=(i.tr("scorecards.definition")) { (text) }
                    div.row {
                        button.secondary type="submit" formaction="/settings/scorecards/preview" hx-post="/settings/scorecards/preview" hx-target="#scorecard-preview" { (i.tr("scorecards.preview")) }
                        @if ctx.is_admin() { button type="submit" { (i.tr("settings.save")) } }
                    }
                }
                div #scorecard-preview aria-live="polite" {}
            }
        } @else {
            (empty(i, "scorecards.empty", "scorecards.empty_hint"))
        }
    };
    Ok(settings_page(&ctx, Tab::Scorecards, None, body))
}

#[derive(Debug, Deserialize)]
pub struct ScorecardForm {
    pub definition: String,
}

fn parse_scorecard(
    i: crate::i18n::I18n,
    text: &str,
) -> Result<kizuna_domain::scorecard::Scorecard, WebError> {
    let def: kizuna_domain::scorecard::ScorecardDef = toml::from_str(text).map_err(|e| {
        WebError::Invalid(i.trf("scorecards.bad_toml", &[("error", &e.to_string())]))
    })?;
    kizuna_domain::scorecard::Scorecard::parse(def).map_err(|e| WebError::Invalid(e.to_string()))
}

/// The preview fragment: accounts per band now and with the draft, and the biggest moves.
pub async fn preview_scorecard(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<ScorecardForm>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let body = match parse_scorecard(i, &f.definition) {
        Err(WebError::Invalid(msg)) => html! { p.flash.error role="alert" { (msg) } },
        Err(e) => return Err(e),
        Ok(card) => {
            let p = state.store.preview_scorecard(&card, ctx.today).await?;
            let band = |b: &str| {
                if b == "none" {
                    i.tr("scorecards.no_score").to_string()
                } else {
                    i.label("band", b)
                }
            };
            html! {
                p.flash.ok role="status" {
                    (i.trf("scorecards.preview_result", &[("applies", &i.int(p.applies as i64)), ("moved", &i.int(p.moved as i64)),
                        ("better", &i.int(p.better as i64)), ("worse", &i.int(p.worse as i64))]))
                }
                div.columns {
                    table.list {
                        thead { tr { th { (i.tr("scorecards.now")) } th { (i.tr("scorecards.draft")) } th.num { (i.tr("scorecards.accounts")) } } }
                        tbody { @for t in &p.transitions { tr.moved[t.from != t.to] { td { (band(&t.from)) } td { (band(&t.to)) } td.num { (i.int(t.accounts as i64)) } } } }
                    }
                    @if !p.examples.is_empty() {
                        table.list {
                            thead { tr { th { (i.tr("accounts.name")) } th.num { (i.tr("scorecards.now")) } th.num { (i.tr("scorecards.draft")) } } }
                            tbody {
                                @for e in &p.examples {
                                    tr {
                                        td { a href=(format!("/accounts/{}", e.id)) { (e.name) } }
                                        td.num { (e.score_now.map(|s| format!("{s:.0}")).unwrap_or_else(|| "—".into())) }
                                        td.num { (e.score_draft.map(|s| format!("{s:.0}")).unwrap_or_else(|| "—".into())) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(axum::response::Html(body.into_string()).into_response())
}

pub async fn save_scorecard(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ScorecardForm>,
) -> WebResult<Response> {
    ctx.require_admin()?;
    let card = parse_scorecard(ctx.i18n, &f.definition)?;
    state.store.update_scorecard(id, card, &ctx.actor()).await?;
    Ok(Redirect::to(&format!("/settings/scorecards?id={id}")).into_response())
}

/// Saved segments (CEL conditions) with a form to preview and save a new one (admins and
/// managers), and the journeys with their milestones.
pub async fn segments(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<JourneyQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    state.store.ensure_default_journey().await?;
    let (segments, journeys) =
        futures::try_join!(state.store.list_segments(), state.store.list_journeys())?;
    let can_write = ctx.can_manage();
    // The journey editor: a journey as JSON (name, applies_to, milestones with stage, target
    // days and an optional CEL condition).
    let editing: Option<(Option<i64>, String)> = if !can_write {
        None
    } else if let Some(id) = q.edit_journey {
        let j = state.store.journey(id).await?;
        Some((
            Some(id),
            serde_json::to_string_pretty(&j.definition).unwrap_or_default(),
        ))
    } else if q.new_journey.is_some() {
        let example = serde_json::json!({
            "name": "Enterprise onboarding",
            "applies_to": {"contract_value_tiers": ["enterprise"]},
            "milestones": [
                {"key": "kickoff", "name": "Kick-off held", "stage": "onboarding", "target_days": 14},
                {"key": "first_report", "name": "First report created", "stage": "onboarding", "target_days": 30,
                 "condition": "breadth >= 0.3", "first_value": true},
                {"key": "team_active", "name": "Half the seats active", "stage": "adoption", "target_days": 90,
                 "condition": "seat_utilization >= 0.5"}
            ]
        });
        Some((
            None,
            serde_json::to_string_pretty(&example).unwrap_or_default(),
        ))
    } else {
        None
    };
    let body = html! {
        section.card #segments {
            h2 { (i.tr("settings.segments")) }
            p.muted { (i.tr("segments.intro")) }
            @if segments.is_empty() {
                (empty(i, "segments.empty", "segments.empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("segments.name")) } th { (i.tr("segments.expression")) } th { (i.tr("segments.created_by")) } } }
                    tbody {
                        @for sg in &segments {
                            tr {
                                td { (sg.name) @if let Some(d) = &sg.description { div.muted.small { (d) } } }
                                td { code { (sg.expression) } }
                                td.small { (sg.created_by) }
                            }
                        }
                    }
                }
            }
            @if can_write {
                h3 { (i.tr("segments.new")) }
                form.stack method="post" action="/settings/segments" {
                    (csrf(&ctx))
                    label { (i.tr("segments.name")) input name="name" required; }
                    label { (i.tr("segments.expression"))
                        textarea.code name="expression" rows="3" required spellcheck="false" placeholder="coverage_tier == 'high_touch' && health_band == 'red'" {}
                    }
                    div.row {
                        button.secondary type="submit" formaction="/settings/segments/preview" hx-post="/settings/segments/preview" hx-target="#segment-preview" { (i.tr("segments.preview")) }
                        button type="submit" { (i.tr("settings.save")) }
                    }
                }
                div #segment-preview aria-live="polite" {}
            }
        }
        @if let Some((id, text)) = &editing {
            (crate::automation::json_editor(&ctx, crate::automation::Editor {
                id: *id,
                text,
                title: if id.is_some() { "segments.edit_journey" } else { "segments.new_journey" },
                hint: "segments.journey_hint",
                action: "/settings/journeys",
                cancel: "/settings/segments#journeys",
                preview: None,
            }))
            @if let Some(id) = id {
                form method="post" action=(format!("/settings/journeys/{id}/delete")) {
                    (csrf(&ctx))
                    button.danger type="submit" { (i.tr("segments.delete_journey")) }
                }
            }
        }
        section.card #journeys {
            div.row.between {
                h2 { (i.tr("segments.journeys")) }
                @if can_write && editing.is_none() { a.button href="/settings/segments?new_journey=1#editor" { (i.tr("segments.new_journey")) } }
            }
            @for j in &journeys {
                details.playbook open {
                    summary {
                        strong { (j.definition.name) }
                        @if can_write { " " a.small href=(format!("/settings/segments?edit_journey={}#editor", j.id)) { (i.tr("segments.edit_journey")) } }
                    }
                    table.list {
                        thead { tr { th { (i.tr("segments.milestone")) } th { (i.tr("accounts.stage")) } th.num { (i.tr("segments.target_days")) } th { (i.tr("segments.completed_by")) } } }
                        tbody {
                            @for m in &j.definition.milestones {
                                tr {
                                    td { (m.name) }
                                    td { (i.label("stage", m.stage.as_str())) }
                                    td.num { (m.target_days) }
                                    td { @match &m.condition { Some(c) => code { (c) }, None => (i.tr("segments.by_hand")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(settings_page(&ctx, Tab::Segments, None, body))
}

#[derive(Debug, Deserialize, Default)]
pub struct JourneyQuery {
    pub edit_journey: Option<i64>,
    pub new_journey: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct JourneyForm {
    pub spec: String,
}

/// Saves a journey written as JSON (admins and managers); a new one without an id.
pub async fn save_journey(
    State(state): State<WebState>,
    ctx: Ctx,
    id: Option<Path<i64>>,
    Form(f): Form<JourneyForm>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let def: kizuna_domain::journey::JourneyDef = serde_json::from_str(&f.spec).map_err(|e| {
        WebError::Invalid(
            ctx.i18n
                .trf("automation.bad_json", &[("error", &e.to_string())]),
        )
    })?;
    match id {
        Some(Path(id)) => state.store.update_journey(id, def, &ctx.actor()).await?,
        None => state.store.create_journey(def, &ctx.actor()).await?,
    };
    Ok(Redirect::to("/settings/segments#journeys").into_response())
}

pub async fn delete_journey(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    state.store.delete_journey(id, &ctx.actor()).await?;
    Ok(Redirect::to("/settings/segments#journeys").into_response())
}

#[derive(Debug, Deserialize)]
pub struct SegmentForm {
    pub name: Option<String>,
    pub expression: String,
}

pub async fn preview_segment(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SegmentForm>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let body = match kizuna_domain::condition::Condition::parse("expression", &f.expression) {
        Err(e) => html! { p.flash.error role="alert" { (e.to_string()) } },
        Ok(c) => {
            let m = state.store.match_condition(&c, 20).await?;
            html! {
                p.flash.ok role="status" { (i.trf("segments.preview_result", &[("n", &i.int(m.count as i64)), ("checked", &i.int(m.accounts_checked as i64))])) }
                @if !m.account_ids.is_empty() { p { @for id in &m.account_ids { a href=(format!("/accounts/{id}")) { "#" (id) } " " } } }
            }
        }
    };
    Ok(axum::response::Html(body.into_string()).into_response())
}

pub async fn create_segment(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SegmentForm>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    state
        .store
        .create_segment(
            kizuna_store::SegmentDraft {
                name: f.name,
                description: None,
                expression: Some(f.expression),
            },
            &ctx.actor(),
        )
        .await?;
    Ok(Redirect::to("/settings/segments").into_response())
}
