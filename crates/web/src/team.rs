//! The team page (`/team`), in four tabs: the CSMs' workload (with the accounts without an
//! owner), the competency matrix (team heat map, one CSM's radar against their career level,
//! assessments and the framework), the career ladder (expectations per step, each CSM's gaps and
//! readiness for the next step), and the incentive calculator (plan, targets, each CSM's
//! components and payout, with the formula).
//!
//! Everyone signed in may read the tabs; admins and managers assess, edit the framework, the
//! ladder and the plans. Charts are drawn by ECharts from JSON embedded in the page.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use kizuna_domain::money::Currency;
use kizuna_domain::team::competency::{
    CareerLevelDraft, SkillCategory, SkillDraft, SkillLevelText,
};
use kizuna_domain::team::incentive::{self, PlanDraft, TargetDraft};
use kizuna_store::{AssessmentDraft, AssessmentFilter, CompetencyMatrix, IncentivePlan, Skill};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{csrf, empty, json_script, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Workload,
    Competency,
    Ladder,
    Incentives,
}

fn tabs(i: I18n, current: Tab) -> Markup {
    html! {
        nav.tabs {
            @for (tab, href, key) in [
                (Tab::Workload, "/team", "team.workload"),
                (Tab::Competency, "/team/competency", "team.competency"),
                (Tab::Ladder, "/team/ladder", "team.ladder"),
                (Tab::Incentives, "/team/incentives", "team.incentives"),
            ] {
                a href=(href) .current[tab == current] { (i.tr(key)) }
            }
        }
    }
}

use crate::insight::pct;

fn level_name(m: &CompetencyMatrix, level: Option<u8>, lang: &str) -> String {
    match level {
        None => "—".to_string(),
        Some(l) => m.scale.iter().find(|s| s.level == l).map_or_else(
            || l.to_string(),
            |s| {
                format!(
                    "{l} · {}",
                    if lang == "ja" { &s.name_ja } else { &s.name_en }
                )
            },
        ),
    }
}

/// The form fields of a request with repeated or numbered names, as pairs.
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn number(i: I18n, f: &Fields, name: &str) -> WebResult<Option<f64>> {
    match field(f, name) {
        None => Ok(None),
        Some(v) => v
            .replace(',', "")
            .parse::<f64>()
            .map(Some)
            .map_err(|_| WebError::Invalid(i.trf("team.bad_number", &[("field", name)]))),
    }
}

// ------------------------------------------------------------------------------ workload

/// The workload tab: every CSM's book and the accounts without an owner.
pub async fn workload_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let mut books = state.store.team_workload_ahead(ctx.today).await?;
    books.sort_by(|a, b| {
        b.owner_id
            .is_some()
            .cmp(&a.owner_id.is_some())
            .then(b.arr.total_cmp(&a.arr))
    });
    let cur = Currency::JPY;
    let name = |b: &kizuna_domain::insight::team::Workload| {
        b.owner_name
            .clone()
            .unwrap_or_else(|| i.tr("team.unowned").to_string())
    };
    let chart = json!({
        "names": books.iter().map(name).collect::<Vec<_>>(),
        "arr": books.iter().map(|b| b.arr.round()).collect::<Vec<_>>(),
        "at_risk_arr": books.iter().map(|b| b.at_risk_arr.round()).collect::<Vec<_>>(),
        "open_tasks": books.iter().map(|b| b.open_tasks).collect::<Vec<_>>(),
        "overdue_tasks": books.iter().map(|b| b.overdue_tasks).collect::<Vec<_>>(),
        "labels": {
            "arr": i.tr("accounts.arr"), "at_risk_arr": i.tr("team.at_risk_arr"),
            "open_tasks": i.tr("team.open_tasks"), "overdue_tasks": i.tr("team.overdue_tasks"),
            "tasks": i.tr("team.tasks"),
        },
    });
    let unowned = books.iter().find(|b| b.owner_id.is_none());
    let title = i.tr("team.title");
    let body = html! {
        h1 { (title) }
        (tabs(i, Tab::Workload))
        @if books.is_empty() {
            (empty(i, "team.workload_empty", "team.workload_empty_hint"))
        } @else {
            @if let Some(u) = unowned {
                @if u.accounts > 0 {
                    p.flash.warn #unowned-note { (i.trf("team.unowned_note", &[("n", &i.int(u.accounts)), ("arr", &i.money(u.arr, cur))])) }
                }
            }
            section.card {
                h2 { (i.tr("team.workload_chart")) }
                div.chart #team-workload-chart role="img" aria-label=(i.tr("team.workload_chart")) {}
                (json_script("team-workload-data", &chart))
            }
            section.card {
                h2 { (i.tr("team.workload")) }
                p.muted { (i.trf("team.workload_hint", &[("day", &i.date(ctx.today))])) }
                table.list #workload-table {
                    thead { tr {
                        th { (i.tr("team.csm")) } th.num { (i.tr("team.accounts")) } th.num { (i.tr("accounts.arr")) }
                        th.num { (i.tr("team.arr_share")) } th.num { (i.tr("team.at_risk_accounts")) } th.num { (i.tr("team.at_risk_share")) }
                        th.num { (i.tr("team.renewals_90d")) } th.num { (i.tr("team.open_tasks")) } th.num { (i.tr("team.overdue_tasks")) }
                        th.num { (i.tr("team.touchpoints_30d")) } th.num { (i.tr("team.minutes_30d")) }
                    } }
                    tbody {
                        @for b in &books {
                            tr.unowned[b.owner_id.is_none()] {
                                td { (name(b)) }
                                td.num { (i.int(b.accounts)) }
                                td.num { (i.money(b.arr, cur)) }
                                td.num { (pct(i, b.arr_share)) }
                                td.num { (i.int(b.at_risk_accounts)) }
                                td.num { (pct(i, b.at_risk_share)) }
                                td.num { (i.int(b.renewals_90d)) }
                                td.num { (i.int(b.open_tasks)) }
                                td.num .bad[b.overdue_tasks > 0] { (i.int(b.overdue_tasks)) }
                                td.num { (i.int(b.touchpoints_30d)) }
                                td.num { (i.int(b.minutes_30d)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Team, Scripts::Charts, body))
}

// ------------------------------------------------------------------------------ competency

#[derive(Debug, Default, Deserialize)]
pub struct CompetencyQuery {
    user: Option<i64>,
}

fn skill_editor(ctx: &Ctx, m: &CompetencyMatrix, s: Option<&Skill>) -> Markup {
    let i = ctx.i18n;
    let action = s.map_or_else(
        || "/team/skills".to_string(),
        |s| format!("/team/skills/{}", s.id),
    );
    html! {
        form.stack method="post" action=(action) {
            (csrf(ctx))
            div.row {
                label { (i.tr("team.skill_key")) input name="key" required value=(s.map_or("", |s| s.key.as_str())); }
                label { (i.tr("team.category"))
                    select name="category" {
                        @for c in SkillCategory::NAMES {
                            option value=(c) selected[s.is_some_and(|s| s.category.as_str() == *c)] { (i.label("skill_category", c)) }
                        }
                    }
                }
                label { (i.tr("team.position")) input.narrow type="number" name="position" value=(s.map_or(0, |s| s.position)); }
            }
            div.row {
                label.grow { (i.tr("team.name_ja")) input name="name_ja" required value=(s.map_or("", |s| s.name_ja.as_str())); }
                label.grow { (i.tr("team.name_en")) input name="name_en" required value=(s.map_or("", |s| s.name_en.as_str())); }
            }
            @for l in &m.scale {
                div.row {
                    label.grow { (i.trf("team.level_text_ja", &[("n", &l.level.to_string())]))
                        textarea name=(format!("level_{}_ja", l.level)) rows="2" { (s.map_or("", |s| s.level_text(l.level, "ja"))) } }
                    label.grow { (i.trf("team.level_text_en", &[("n", &l.level.to_string())]))
                        textarea name=(format!("level_{}_en", l.level)) rows="2" { (s.map_or("", |s| s.level_text(l.level, "en"))) } }
                }
            }
            div.row {
                button type="submit" { (i.tr(if s.is_some() { "team.save" } else { "team.add_skill" })) }
                @if s.is_some() {
                    button.danger type="submit" name="delete" value="1" data-confirm=(i.tr("team.confirm_delete")) { (i.tr("team.delete")) }
                }
            }
        }
    }
}

/// The competency tab: heat map, one member's radar and standings, assessing, the framework.
pub async fn competency_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<CompetencyQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let lang = i.lang();
    let m = state.store.competency_matrix().await?;
    let can = ctx.can_manage();
    let selected = q
        .user
        .and_then(|u| m.member(u))
        .or_else(|| m.member(ctx.user.id.0))
        .or_else(|| m.members.first());
    let history = match selected {
        Some(s) => {
            state
                .store
                .assessments(
                    AssessmentFilter {
                        user_id: Some(s.user_id),
                        skill_id: None,
                    },
                    Some(20),
                    None,
                )
                .await?
                .items
        }
        None => Vec::new(),
    };
    let skill_names: Vec<String> = m.skills.iter().map(|s| s.name(lang).to_string()).collect();
    let top = m.scale.len().max(1);
    // Heat map cells: [skill index, member index, level]; unassessed cells are left out.
    let cells: Vec<[i64; 3]> = m
        .members
        .iter()
        .enumerate()
        .flat_map(|(y, mem)| {
            mem.standings
                .iter()
                .enumerate()
                .filter_map(move |(x, s)| s.current.map(|c| [x as i64, y as i64, i64::from(c)]))
        })
        .collect();
    let heat = json!({
        "skills": skill_names,
        "members": m.members.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
        "cells": cells,
        "max": top,
        "labels": {"level": i.tr("team.level"), "skill": i.tr("team.skill"), "member": i.tr("team.csm")},
    });
    let radar = selected.map(|s| {
        let level = m.career_level(s.career_level_id);
        let next = m.career_level(s.next_career_level_id);
        json!({
            "indicators": m.skills.iter().map(|k| json!({"name": k.name(lang), "max": top})).collect::<Vec<_>>(),
            "current": s.standings.iter().map(|x| x.current.unwrap_or(0)).collect::<Vec<_>>(),
            "expected": level.map(|_| s.standings.iter().map(|x| x.expected.unwrap_or(0)).collect::<Vec<_>>()),
            "next": next.map(|_| s.standings.iter().map(|x| x.next_expected.unwrap_or(0)).collect::<Vec<_>>()),
            "labels": {
                "current": i.tr("team.current_level"),
                "expected": level.map_or_else(String::new, |l| i.trf("team.expected_of", &[("level", l.name(lang))])),
                "next": next.map_or_else(String::new, |l| i.trf("team.expected_of", &[("level", l.name(lang))])),
            },
        })
    });
    let skill_of: HashMap<i64, &Skill> = m.skills.iter().map(|s| (s.id, s)).collect();
    let title = i.tr("team.title");
    let body = html! {
        h1 { (title) }
        (tabs(i, Tab::Competency))
        @if m.members.is_empty() || m.skills.is_empty() {
            (empty(i, "team.members_empty", "team.members_empty_hint"))
        } @else {
            section.card {
                h2 { (i.tr("team.heatmap")) }
                p.muted { (i.tr("team.heatmap_hint")) }
                div.chart.tall #team-heatmap role="img" aria-label=(i.tr("team.heatmap")) {}
                (json_script("team-heatmap-data", &heat))
            }
            @if let Some(s) = selected {
                section.card #member-card {
                    form.filters method="get" action="/team/competency" {
                        label { (i.tr("team.csm"))
                            select name="user" data-autosubmit {
                                @for mem in &m.members {
                                    option value=(mem.user_id) selected[mem.user_id == s.user_id] { (mem.name) }
                                }
                            }
                        }
                    }
                    h2 { (s.name) " · " (m.career_level(s.career_level_id).map_or_else(|| i.tr("team.no_career_level").to_string(), |l| l.name(lang).to_string())) }
                    div.columns {
                        div {
                            div.chart #team-radar role="img" aria-label=(i.tr("team.radar")) {}
                            @if let Some(r) = &radar { (json_script("team-radar-data", r)) }
                        }
                        div {
                            table.list #standings {
                                thead { tr { th { (i.tr("team.skill")) } th { (i.tr("team.current_level")) } th { (i.tr("team.expected")) } th.num { (i.tr("team.gap")) } } }
                                tbody {
                                    @for (k, st) in m.skills.iter().zip(&s.standings) {
                                        tr {
                                            td { (k.name(lang)) }
                                            td title=(st.current.map_or("", |c| k.level_text(c, lang))) { (level_name(&m, st.current, lang)) }
                                            td { (level_name(&m, st.expected, lang)) }
                                            td.num .bad[st.gap > 0] { @if st.gap > 0 { "−" (st.gap) } @else { "✓" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if can {
                        h3 { (i.tr("team.assess")) }
                        form.row #assess-form method="post" action="/team/assessments" {
                            (csrf(&ctx))
                            input type="hidden" name="user_id" value=(s.user_id);
                            label { (i.tr("team.skill"))
                                select name="skill_id" {
                                    @for k in &m.skills { option value=(k.id) { (k.name(lang)) } }
                                }
                            }
                            label { (i.tr("team.level"))
                                select name="level" {
                                    @for l in &m.scale { option value=(l.level) { (level_name(&m, Some(l.level), lang)) } }
                                }
                            }
                            label { (i.tr("team.assessed_on")) input type="date" name="assessed_on" value=(ctx.today.to_string()) max=(ctx.today.to_string()); }
                            label.grow { (i.tr("team.note")) input name="note" maxlength="2000"; }
                            button type="submit" { (i.tr("team.record")) }
                        }
                    }
                    h3 { (i.tr("team.history")) }
                    @if history.is_empty() {
                        p.muted { (i.tr("team.history_empty")) }
                    } @else {
                        table.list #history {
                            thead { tr { th { (i.tr("team.assessed_on")) } th { (i.tr("team.skill")) } th { (i.tr("team.level")) } th { (i.tr("team.assessed_by")) } th { (i.tr("team.note")) } } }
                            tbody {
                                @for a in &history {
                                    tr {
                                        td { (i.date(a.assessed_on)) }
                                        td { (skill_of.get(&a.skill_id).map_or(a.skill_key.as_str(), |k| k.name(lang))) }
                                        td { (level_name(&m, Some(a.level), lang)) }
                                        td.muted { (a.assessed_by.splitn(3, ':').nth(2).unwrap_or(&a.assessed_by)) }
                                        td { (a.note.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #framework {
            h2 { (i.tr("team.framework")) }
            p.muted { (i.tr("team.framework_hint")) }
            table.list {
                thead { tr {
                    th { (i.tr("team.skill")) } th { (i.tr("team.category")) }
                    @for l in &m.scale { th { (level_name(&m, Some(l.level), lang)) } }
                } }
                tbody {
                    @for k in &m.skills {
                        tr {
                            td {
                                strong { (k.name(lang)) }
                                @if can {
                                    details.inline-edit {
                                        summary { (i.tr("team.edit")) }
                                        (skill_editor(&ctx, &m, Some(k)))
                                    }
                                }
                            }
                            td { (i.label("skill_category", k.category.as_str())) }
                            @for l in &m.scale { td.small { (k.level_text(l.level, lang)) } }
                        }
                    }
                }
            }
            @if can {
                details {
                    summary { (i.tr("team.add_skill")) }
                    (skill_editor(&ctx, &m, None))
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Team, Scripts::Charts, body))
}

/// Records an assessment (admins and managers).
pub async fn record_assessment(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let i = ctx.i18n;
    let int = |name: &str| -> WebResult<Option<i64>> {
        field(&f, name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| WebError::Invalid(i.trf("team.bad_number", &[("field", name)])))
            })
            .transpose()
    };
    let user_id = int("user_id")?;
    let assessed_on = match field(&f, "assessed_on") {
        None => None,
        Some(v) => Some(
            v.parse::<NaiveDate>()
                .map_err(|_| WebError::Invalid(i.tr("team.bad_date").to_string()))?,
        ),
    };
    state
        .store
        .record_assessment(
            AssessmentDraft {
                user_id,
                skill_id: int("skill_id")?,
                skill_key: None,
                level: int("level")?,
                assessed_on,
                note: field(&f, "note").map(str::to_string),
            },
            ctx.today,
            &ctx.actor(),
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/team/competency?user={}#member-card",
        user_id.unwrap_or(0)
    ))
    .into_response())
}

fn skill_draft(f: &Fields, scale: &[kizuna_domain::team::competency::ScaleLevel]) -> SkillDraft {
    SkillDraft {
        key: field(f, "key").map(str::to_string),
        category: field(f, "category").and_then(|c| c.parse().ok()),
        name_ja: field(f, "name_ja").map(str::to_string),
        name_en: field(f, "name_en").map(str::to_string),
        description_ja: None,
        description_en: None,
        position: field(f, "position").and_then(|p| p.parse().ok()),
        levels: Some(
            scale
                .iter()
                .filter_map(|l| {
                    let ja = field(f, &format!("level_{}_ja", l.level)).unwrap_or("");
                    let en = field(f, &format!("level_{}_en", l.level)).unwrap_or("");
                    (!ja.is_empty() || !en.is_empty()).then(|| SkillLevelText {
                        level: l.level,
                        description_ja: ja.to_string(),
                        description_en: en.to_string(),
                    })
                })
                .collect(),
        ),
    }
}

/// Adds a skill (admins and managers).
pub async fn create_skill(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    // The framework is written on first use; the form names a description per level.
    state.store.ensure_team_framework().await?;
    let scale = state.store.competency_scale().await?;
    state
        .store
        .create_skill(skill_draft(&f, &scale), &ctx.actor())
        .await?;
    Ok(Redirect::to("/team/competency#framework").into_response())
}

/// Changes or deletes a skill (admins and managers).
pub async fn update_skill(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    if field(&f, "delete").is_some() {
        state.store.delete_skill(id, &ctx.actor()).await?;
    } else {
        state.store.ensure_team_framework().await?;
        let scale = state.store.competency_scale().await?;
        state
            .store
            .update_skill(id, skill_draft(&f, &scale), &ctx.actor())
            .await?;
    }
    Ok(Redirect::to("/team/competency#framework").into_response())
}

// ------------------------------------------------------------------------------ ladder

/// The career ladder: what each step expects, and where each CSM stands.
pub async fn ladder_page(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let lang = i.lang();
    let m = state.store.competency_matrix().await?;
    let can = ctx.can_manage();
    let key_name: HashMap<&str, &str> = m
        .skills
        .iter()
        .map(|s| (s.key.as_str(), s.name(lang)))
        .collect();
    let title = i.tr("team.title");
    let body = html! {
        h1 { (title) }
        (tabs(i, Tab::Ladder))
        section.card #ladder-members {
            h2 { (i.tr("team.readiness")) }
            p.muted { (i.tr("team.readiness_hint")) }
            @if m.members.is_empty() {
                (empty(i, "team.members_empty", "team.members_empty_hint"))
            } @else {
                table.list {
                    thead { tr {
                        th { (i.tr("team.csm")) } th { (i.tr("team.career_level")) } th.num { (i.tr("team.gaps")) }
                        th { (i.tr("team.next_level")) } th.num { (i.tr("team.readiness_share")) } th { (i.tr("team.short_skills")) }
                    } }
                    tbody {
                        @for mem in &m.members {
                            tr {
                                td { a href=(format!("/team/competency?user={}", mem.user_id)) { (mem.name) } }
                                td {
                                    @if can {
                                        form.inline method="post" action=(format!("/team/members/{}/career", mem.user_id)) {
                                            (csrf(&ctx))
                                            select name="career_level_id" data-autosubmit aria-label=(i.tr("team.career_level")) {
                                                option value="" { (i.tr("team.no_career_level")) }
                                                @for l in &m.ladder {
                                                    option value=(l.id) selected[Some(l.id) == mem.career_level_id] { (l.name(lang)) }
                                                }
                                            }
                                        }
                                    } @else {
                                        (m.career_level(mem.career_level_id).map_or_else(|| i.tr("team.no_career_level").to_string(), |l| l.name(lang).to_string()))
                                    }
                                }
                                td.num .bad[mem.gaps > 0] { (i.int(mem.gaps as i64)) }
                                td { (m.career_level(mem.next_career_level_id).map_or("—", |l| l.name(lang))) }
                                td.num {
                                    (pct(i, mem.readiness.share))
                                    @if mem.readiness.ready { " " span.tag.ok { (i.tr("team.ready")) } }
                                }
                                td.small {
                                    @for k in &mem.readiness.short { span.tag { (key_name.get(k.as_str()).copied().unwrap_or(k)) } " " }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #ladder-levels {
            h2 { (i.tr("team.ladder")) }
            @if m.ladder.is_empty() {
                (empty(i, "team.ladder_empty", "team.ladder_empty_hint"))
            } @else {
                table.list {
                    thead { tr {
                        th { (i.tr("team.skill")) }
                        @for l in &m.ladder { th { (l.name(lang)) } }
                    } }
                    tbody {
                        @for k in &m.skills {
                            tr {
                                td { (k.name(lang)) }
                                @for l in &m.ladder { td { (level_name(&m, l.expectations.get(&k.key).copied(), lang)) } }
                            }
                        }
                        tr {
                            td.muted { (i.tr("team.description")) }
                            @for l in &m.ladder { td.small.muted { (if lang == "ja" { l.description_ja.as_deref() } else { l.description_en.as_deref() }.unwrap_or("")) } }
                        }
                    }
                }
                @if can {
                    @for l in &m.ladder {
                        details {
                            summary { (i.trf("team.edit_expectations", &[("level", l.name(lang))])) }
                            form.stack method="post" action=(format!("/team/ladder/{}", l.id)) {
                                (csrf(&ctx))
                                div.row {
                                    @for k in &m.skills {
                                        label { (k.name(lang))
                                            select name=(format!("expect_{}", k.key)) {
                                                option value="" { "—" }
                                                @for s in &m.scale {
                                                    option value=(s.level) selected[l.expectations.get(&k.key) == Some(&s.level)] { (level_name(&m, Some(s.level), lang)) }
                                                }
                                            }
                                        }
                                    }
                                }
                                button type="submit" { (i.tr("team.save")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Team, Scripts::Basic, body))
}

/// Puts a member on a step of the ladder (admins and managers).
pub async fn set_career(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(user_id): Path<i64>,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let level = field(&f, "career_level_id").and_then(|v| v.parse::<i64>().ok());
    state
        .store
        .set_member_career(user_id, level, &ctx.actor())
        .await?;
    Ok(Redirect::to("/team/ladder#ladder-members").into_response())
}

/// Changes what a step of the ladder expects (admins and managers).
pub async fn save_expectations(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let expectations: BTreeMap<String, u8> = f
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("expect_")?;
            let level = v.trim().parse::<u8>().ok()?;
            Some((key.to_string(), level))
        })
        .collect();
    state
        .store
        .update_career_level(
            id,
            CareerLevelDraft {
                expectations: Some(expectations),
                ..Default::default()
            },
            &ctx.actor(),
        )
        .await?;
    Ok(Redirect::to("/team/ladder#ladder-levels").into_response())
}

// ------------------------------------------------------------------------------ incentives

#[derive(Debug, Default, Deserialize)]
pub struct IncentiveQuery {
    plan: Option<i64>,
    period: Option<String>,
}

fn plan_editor(ctx: &Ctx, p: Option<&IncentivePlan>) -> Markup {
    let i = ctx.i18n;
    let d = p.map(IncentivePlan::draft).unwrap_or_else(|| {
        let q = incentive::quarter_of(ctx.today);
        PlanDraft {
            period_from: Some(q.from),
            period_to: Some(q.to),
            currency: Some("JPY".into()),
            target_bonus: Some(500_000.0),
            renewal_weight: Some(0.5),
            expansion_weight: Some(0.3),
            nps_weight: Some(0.2),
            attainment_floor: Some(0.5),
            attainment_cap: Some(1.5),
            nps_gate: Some(30.0),
            nps_fall_multiplier: Some(0.8),
            renewal_rate_target: Some(0.9),
            nps_target: Some(40.0),
            ..Default::default()
        }
    });
    let num = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
    let action = p.map_or_else(
        || "/team/plans".to_string(),
        |p| format!("/team/plans/{}", p.id),
    );
    html! {
        form.stack #plan-form method="post" action=(action) {
            (csrf(ctx))
            div.row {
                label.grow { (i.tr("team.plan_name")) input name="name" required value=(d.name.clone().unwrap_or_default()); }
                label { (i.tr("team.period_from")) input type="date" name="period_from" required value=(d.period_from.map_or_else(String::new, |x| x.to_string())); }
                label { (i.tr("team.period_to")) input type="date" name="period_to" required value=(d.period_to.map_or_else(String::new, |x| x.to_string())); }
                label { (i.tr("team.currency")) input.narrow name="currency" value=(d.currency.clone().unwrap_or_else(|| "JPY".into())); }
                label { (i.tr("team.target_bonus")) input type="number" step="any" min="0" name="target_bonus" value=(num(d.target_bonus)); }
            }
            div.row {
                @for (name, key, v) in [
                    ("renewal_weight", "team.renewal_weight", d.renewal_weight),
                    ("expansion_weight", "team.expansion_weight", d.expansion_weight),
                    ("nps_weight", "team.nps_weight", d.nps_weight),
                    ("attainment_floor", "team.floor", d.attainment_floor),
                    ("attainment_cap", "team.cap", d.attainment_cap),
                ] {
                    label { (i.tr(key)) input.narrow type="number" step="any" name=(name) value=(num(v)); }
                }
            }
            div.row {
                @for (name, key, v) in [
                    ("nps_gate", "team.nps_gate", d.nps_gate),
                    ("nps_fall_multiplier", "team.nps_fall_multiplier", d.nps_fall_multiplier),
                    ("renewal_rate_target", "team.renewal_rate_target", d.renewal_rate_target),
                    ("nnmrr_target", "team.nnmrr_target", d.nnmrr_target),
                    ("nps_target", "team.nps_target", d.nps_target),
                ] {
                    label { (i.tr(key)) input.narrow type="number" step="any" name=(name) value=(num(v)); }
                }
            }
            p.muted.small { (i.tr("team.plan_hint")) }
            button type="submit" { (i.tr(if p.is_some() { "team.save" } else { "team.create_plan" })) }
        }
    }
}

/// The incentive calculator.
pub async fn incentives_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<IncentiveQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let can = ctx.can_manage();
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(incentive::parse_period(p).map_err(WebError::Invalid)?),
    };
    let plans = state
        .store
        .list_incentive_plans(Some(100), None)
        .await?
        .items;
    let plan = match q.plan {
        Some(id) => Some(state.store.incentive_plan(id).await?),
        None => {
            state
                .store
                .incentive_plan_for(period.map_or(ctx.today, |p| p.from))
                .await?
        }
    };
    let report = match &plan {
        Some(p) => Some(state.store.incentive_report(p.id, period).await?),
        None => None,
    };
    let title = i.tr("team.title");
    let formula = if i.lang() == "ja" {
        incentive::FORMULA_JA
    } else {
        incentive::FORMULA_EN
    };
    let body = html! {
        h1 { (title) }
        (tabs(i, Tab::Incentives))
        @match (&plan, &report) {
            (Some(p), Some(r)) => {
                @let cur = Currency::parse(&p.currency).unwrap_or(Currency::JPY);
                form.filters method="get" action="/team/incentives" {
                    label { (i.tr("team.plan"))
                        select name="plan" {
                            @for x in &plans { option value=(x.id) selected[x.id == p.id] { (x.name) } }
                        }
                    }
                    label { (i.tr("team.period")) input name="period" placeholder="2026-Q2" value=(q.period.clone().unwrap_or_default()); }
                    button type="submit" { (i.tr("team.show")) }
                }
                p.muted {
                    (i.trf("team.period_line", &[("from", &i.date(r.period.from)), ("to", &i.date(r.period.to)), ("pfrom", &i.date(r.previous_period.from)), ("pto", &i.date(r.previous_period.to))]))
                }
                section.kpis {
                    div.kpi { span.label { (i.tr("team.total_target")) } span.n { (i.money(r.total_target_bonus, cur)) } }
                    div.kpi { span.label { (i.tr("team.total_payout")) } span.n #total-payout { (i.money(r.total_payout, cur)) } }
                    div.kpi { span.label { (i.tr("team.weights")) } span.n.small { (format!("{} / {} / {}", p.renewal_weight, p.expansion_weight, p.nps_weight)) } }
                    div.kpi { span.label { (i.tr("team.nps_gate")) } span.n.small { (p.nps_gate.map_or_else(|| "—".to_string(), |g| i.decimal(g, 0))) } }
                }
                section.card {
                    h2 { (i.tr("team.payouts")) }
                    p.formula #formula { strong { (i.tr("team.formula")) ": " } (formula) }
                    div.hscroll { table.list #payout-table {
                        thead { tr {
                            th { (i.tr("team.csm")) }
                            th.num { (i.tr("team.renewal_rate")) } th.num { (i.tr("team.renewal_attainment")) } th.num { (i.label("component", "renewal")) }
                            th.num { (i.tr("team.nnmrr")) } th.num { (i.tr("team.expansion_attainment")) } th.num { (i.label("component", "expansion")) }
                            th.num { "NPS" } th.num { (i.tr("team.previous_nps")) } th.num { (i.label("component", "nps")) }
                            th.num { (i.tr("team.multiplier")) } th.num { (i.tr("team.target_bonus")) } th.num { (i.tr("team.payout")) } th.num { (i.tr("team.share_of_target")) }
                        } }
                        tbody {
                            @for row in &r.rows {
                                @let c = &row.payout.components;
                                tr {
                                    td { (row.name) }
                                    td.num { (pct(i, row.renewal_rate)) }
                                    td.num { (pct(i, c[0].attainment)) }
                                    td.num { (i.money(c[0].payout, cur)) }
                                    td.num { (i.money(row.nnmrr, cur)) }
                                    td.num { (pct(i, c[1].attainment)) }
                                    td.num {
                                        (i.money(c[1].payout, cur))
                                        @if c[1].gated { " " span.tag.bad title=(i.tr("team.gated_hint")) { (i.tr("team.gated")) } }
                                    }
                                    td.num { (row.actuals.nps.map_or_else(|| "—".to_string(), |n| i.decimal(n, 1))) span.muted.small { " (" (i.int(row.actuals.nps_responses)) ")" } }
                                    td.num { (row.actuals.previous_nps.map_or_else(|| "—".to_string(), |n| i.decimal(n, 1))) }
                                    td.num { (i.money(c[2].payout, cur)) }
                                    td.num .bad[row.payout.multiplier < 1.0] { "×" (i.decimal(row.payout.multiplier, 2)) }
                                    td.num { (i.money(row.targets.target_bonus, cur)) }
                                    td.num { strong { (i.money(row.payout.total, cur)) } }
                                    td.num { (pct(i, row.payout.share_of_target)) }
                                }
                            }
                        }
                    } }
                }
                @if can {
                    section.card.targets #targets {
                        h2 { (i.tr("team.targets")) }
                        p.muted { (i.tr("team.targets_hint")) }
                        table.list {
                            thead { tr { th { (i.tr("team.csm")) } th { (i.tr("team.target_bonus")) } th { (i.tr("team.renewal_rate_target")) } th { (i.tr("team.nnmrr_target")) } th { (i.tr("team.nps_target")) } th {} } }
                            tbody {
                                @for row in &r.rows {
                                    tr {
                                        @let form_id = format!("target-{}", row.user_id);
                                        td { (row.name) }
                                        td { input form=(form_id) type="number" step="any" min="0" name="target_bonus" value=(row.targets.target_bonus); }
                                        td { input form=(form_id) type="number" step="any" name="renewal_rate" value=(row.targets.renewal_rate); }
                                        td { input form=(form_id) type="number" step="any" name="nnmrr" value=(row.targets.nnmrr.map_or_else(String::new, |x| x.to_string())); }
                                        td { input form=(form_id) type="number" step="any" name="nps" value=(row.targets.nps); }
                                        td {
                                            form.inline id=(form_id) method="post" action=(format!("/team/plans/{}/targets/{}", p.id, row.user_id)) {
                                                (csrf(&ctx))
                                                button.small type="submit" { (i.tr("team.save")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section.card {
                        details {
                            summary { (i.tr("team.edit_plan")) }
                            (plan_editor(&ctx, Some(p)))
                        }
                        details {
                            summary { (i.tr("team.new_plan")) }
                            (plan_editor(&ctx, None))
                        }
                    }
                }
            }
            _ => {
                (empty(i, "team.no_plan", "team.no_plan_hint"))
                @if can {
                    section.card {
                        h2 { (i.tr("team.new_plan")) }
                        (plan_editor(&ctx, None))
                    }
                }
            }
        }
    };
    Ok(page(&ctx, title, Nav::Team, Scripts::Basic, body))
}

fn plan_draft(i: I18n, f: &Fields) -> WebResult<PlanDraft> {
    let date = |name: &str| -> WebResult<Option<NaiveDate>> {
        field(f, name)
            .map(|v| {
                v.parse()
                    .map_err(|_| WebError::Invalid(i.tr("team.bad_date").to_string()))
            })
            .transpose()
    };
    Ok(PlanDraft {
        name: field(f, "name").map(str::to_string),
        period_from: date("period_from")?,
        period_to: date("period_to")?,
        currency: field(f, "currency").map(str::to_string),
        target_bonus: number(i, f, "target_bonus")?,
        renewal_weight: number(i, f, "renewal_weight")?,
        expansion_weight: number(i, f, "expansion_weight")?,
        nps_weight: number(i, f, "nps_weight")?,
        attainment_floor: number(i, f, "attainment_floor")?,
        attainment_cap: number(i, f, "attainment_cap")?,
        nps_gate: number(i, f, "nps_gate")?,
        nps_fall_multiplier: number(i, f, "nps_fall_multiplier")?,
        renewal_rate_target: number(i, f, "renewal_rate_target")?,
        nnmrr_target: number(i, f, "nnmrr_target")?,
        nps_target: number(i, f, "nps_target")?,
    })
}

/// Creates a plan (admins and managers).
pub async fn create_plan(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let p = state
        .store
        .create_incentive_plan(plan_draft(ctx.i18n, &f)?, &ctx.actor())
        .await?;
    Ok(Redirect::to(&format!("/team/incentives?plan={}", p.id)).into_response())
}

/// Changes a plan (admins and managers).
pub async fn update_plan(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    state
        .store
        .update_incentive_plan(id, plan_draft(ctx.i18n, &f)?, &ctx.actor())
        .await?;
    Ok(Redirect::to(&format!("/team/incentives?plan={id}")).into_response())
}

/// Sets one CSM's targets in a plan (admins and managers).
pub async fn set_target(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((id, user_id)): Path<(i64, i64)>,
    Form(f): Form<Fields>,
) -> WebResult<Response> {
    ctx.require_manage()?;
    let i = ctx.i18n;
    let t = TargetDraft {
        target_bonus: number(i, &f, "target_bonus")?,
        renewal_rate: number(i, &f, "renewal_rate")?,
        nnmrr: number(i, &f, "nnmrr")?,
        nps: number(i, &f, "nps")?,
    };
    state
        .store
        .set_incentive_target(id, user_id, t, &ctx.actor())
        .await?;
    Ok(Redirect::to(&format!("/team/incentives?plan={id}#targets")).into_response())
}
