//! Business reviews (QBR / EBR) of one account: the list with a form for a new one, the review
//! as a printable page, and the same review as a PDF. Both renderings come from one list of
//! [`Block`]s built by [`blocks`], so the page and the PDF always say the same thing; the
//! document's language is chosen per review (`?lang=ja|en`), whatever the reader's own.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, Months, NaiveDate};
use kizuna_domain::ids::AccountId;
use kizuna_domain::money::Currency;
use kizuna_domain::review::{self, BusinessReview, ReviewDraft, ReviewFacts, ReviewKind};
use kizuna_domain::user::Locale;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{csrf, empty, json_script, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

/// One piece of a review, rendered as HTML or PDF.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title(String),
    Subtitle(String),
    Heading(String),
    Paragraph(String),
    Bullets(Vec<String>),
    /// Label and value pairs, side by side.
    Figures(Vec<(String, String)>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
        /// Right-aligned (numeric) columns.
        numeric: Vec<bool>,
    },
    /// Bars per label (left axis), optionally with a line (right axis).
    Chart {
        id: String,
        title: String,
        labels: Vec<String>,
        bars: (String, Vec<f64>),
        line: Option<(String, Vec<Option<f64>>)>,
    },
}

/// The review's content in the language of `i`.
pub fn blocks(i: I18n, r: &BusinessReview, f: &ReviewFacts) -> Vec<Block> {
    let currency = Currency::parse(&f.currency).unwrap_or(Currency::JPY);
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{}{}%", if v > 0.0 { "+" } else { "" }, i.decimal(v, 0)))
            .unwrap_or_else(|| "—".into())
    };
    let opt = |v: Option<f64>, d: usize| v.map(|v| i.decimal(v, d)).unwrap_or_else(|| "—".into());
    let month = |d: NaiveDate| match i.locale {
        Locale::Ja => format!("{}年{}月", d.year(), d.month()),
        Locale::En => d.format("%b %Y").to_string(),
    };
    let text_or = |text: &str| -> Block {
        let lines: Vec<String> = review::lines(text).into_iter().map(String::from).collect();
        if lines.is_empty() {
            Block::Paragraph(i.tr("review.not_written").into())
        } else {
            Block::Bullets(lines)
        }
    };
    let mut b = vec![
        Block::Title(r.title.clone()),
        Block::Subtitle(format!(
            "{} · {} – {} · {}",
            i.label("review_kind", r.kind.as_str()),
            i.date(r.period_from),
            i.date(r.period_to),
            i.trf(
                "review.prepared_for",
                &[
                    ("account", &f.account_name),
                    ("owner", f.owner_name.as_deref().unwrap_or("—")),
                ],
            ),
        )),
        Block::Heading(i.tr("review.summary").into()),
        Block::Figures(vec![
            (i.tr("review.arr").into(), i.money(f.arr, currency)),
            (i.tr("review.renewal").into(), i.opt_date(f.renewal_date)),
            (
                i.tr("review.stage").into(),
                i.label("stage", &f.lifecycle_stage),
            ),
            (
                i.tr("review.health").into(),
                match (f.health_now, f.band_now) {
                    (Some(s), Some(band)) => {
                        format!("{} ({})", i.decimal(s, 0), i.label("band", band.as_str()))
                    }
                    (Some(s), None) => i.decimal(s, 0),
                    _ => "—".into(),
                },
            ),
            (i.tr("review.seats").into(), i.int(f.seats)),
        ]),
        Block::Heading(i.tr("review.goals").into()),
        text_or(&r.goals),
        Block::Heading(i.tr("review.usage").into()),
        Block::Paragraph(i.trf(
            "review.events_line",
            &[
                ("events", &i.int(f.events)),
                ("change", &pct(f.events_change_pct())),
            ],
        )),
        Block::Paragraph(i.trf(
            "review.key_features_line",
            &[
                ("used", &i.int(f.key_features_used)),
                ("total", &i.int(f.key_features)),
                ("index", &opt(f.adoption_index, 0)),
            ],
        )),
    ];
    if f.usage.is_empty() {
        b.push(Block::Paragraph(i.tr("review.nothing").into()));
    } else {
        b.push(Block::Chart {
            id: "review-usage".into(),
            title: i.tr("review.usage_chart").into(),
            labels: f.usage.iter().map(|m| month(m.month)).collect(),
            bars: (
                i.tr("review.events").into(),
                f.usage.iter().map(|m| m.events as f64).collect(),
            ),
            line: Some((
                i.tr("review.peak_users").into(),
                f.usage
                    .iter()
                    .map(|m| Some(m.peak_active_users as f64))
                    .collect(),
            )),
        });
    }
    if !f.features.is_empty() {
        b.push(Block::Table {
            head: vec![
                i.tr("review.feature").into(),
                i.tr("review.events").into(),
                i.tr("review.previous").into(),
                i.tr("review.change").into(),
            ],
            rows: f
                .features
                .iter()
                .take(8)
                .map(|x| {
                    vec![
                        if x.is_key {
                            format!("★ {}", x.name)
                        } else {
                            x.name.clone()
                        },
                        i.int(x.events),
                        i.int(x.previous_events),
                        pct(x.change_pct()),
                    ]
                })
                .collect(),
            numeric: vec![false, true, true, true],
        });
    }
    b.push(Block::Heading(i.tr("review.health_section").into()));
    if f.health.is_empty() {
        b.push(Block::Paragraph(i.tr("review.nothing").into()));
    } else {
        b.push(Block::Chart {
            id: "review-health".into(),
            title: i.tr("review.health_chart").into(),
            labels: f.health.iter().map(|h| month(h.day)).collect(),
            bars: (
                i.tr("review.score").into(),
                f.health.iter().map(|h| h.score.unwrap_or(0.0)).collect(),
            ),
            line: None,
        });
    }
    if !f.drivers.is_empty() {
        b.push(Block::Table {
            head: vec![
                i.tr("review.measure").into(),
                i.tr("review.score").into(),
                i.tr("review.points").into(),
                i.tr("review.of_max").into(),
            ],
            rows: f
                .drivers
                .iter()
                .map(|d| {
                    vec![
                        crate::health::measure_name(i, &d.key, &d.name),
                        opt(d.score, 0),
                        i.decimal(d.points, 1),
                        i.decimal(d.max_points, 1),
                    ]
                })
                .collect(),
            numeric: vec![false, true, true, true],
        });
    }
    b.push(Block::Heading(i.tr("review.support").into()));
    let s = &f.support;
    let mut figures = vec![
        (i.tr("review.opened").into(), i.int(s.opened)),
        (i.tr("review.solved").into(), i.int(s.solved)),
        (i.tr("review.open_now").into(), i.int(s.open_now)),
        (
            i.tr("review.median_days").into(),
            opt(s.median_days_to_solve, 1),
        ),
    ];
    for (sev, n) in &s.by_severity {
        figures.push((i.label("severity", sev), i.int(*n)));
    }
    b.push(Block::Figures(figures));
    b.push(Block::Heading(i.tr("review.nps_section").into()));
    let n = &f.nps;
    if n.responses == 0 {
        b.push(Block::Paragraph(i.tr("review.nothing").into()));
    } else {
        b.push(Block::Figures(vec![
            (i.tr("review.nps").into(), opt(n.nps, 0)),
            (i.tr("review.responses").into(), i.int(n.responses)),
            (i.tr("review.promoters").into(), i.int(n.promoters)),
            (i.tr("review.passives").into(), i.int(n.passives)),
            (i.tr("review.detractors").into(), i.int(n.detractors)),
        ]));
        if !n.comments.is_empty() {
            b.push(Block::Bullets(
                n.comments.iter().map(|c| format!("“{c}”")).collect(),
            ));
        }
    }
    b.push(Block::Heading(i.tr("review.engagement").into()));
    if f.touchpoints.is_empty() && f.champions.is_empty() {
        b.push(Block::Paragraph(i.tr("review.nothing").into()));
    }
    if !f.touchpoints.is_empty() {
        b.push(Block::Figures(
            f.touchpoints
                .iter()
                .map(|(k, n)| (i.label("tp_kind", k), i.int(*n)))
                .collect(),
        ));
    }
    if !f.champions.is_empty() {
        b.push(Block::Paragraph(i.tr("review.champions").into()));
        b.push(Block::Bullets(
            f.champions
                .iter()
                .map(|(name, title, score)| match title {
                    Some(t) => format!("{name} — {t} ({})", i.decimal(*score, 0)),
                    None => format!("{name} ({})", i.decimal(*score, 0)),
                })
                .collect(),
        ));
    }
    if !f.revenue.is_empty() {
        b.push(Block::Heading(i.tr("review.revenue").into()));
        b.push(Block::Figures(
            f.revenue
                .iter()
                .map(|(k, v)| {
                    let sign = if *v > 0.0 { "+" } else { "" };
                    (
                        i.label("movement", k),
                        format!("{sign}{} MRR", i.money(*v, currency)),
                    )
                })
                .collect(),
        ));
    }
    b.push(Block::Heading(i.tr("review.value_delivered").into()));
    b.push(text_or(&r.value_delivered));
    b.push(Block::Heading(i.tr("review.next_steps").into()));
    b.push(text_or(&r.next_steps));
    b
}

/// The JSON the page's combo chart draws: bars on the left axis, the line on the right.
fn chart_json(
    labels: &[String],
    bars: &(String, Vec<f64>),
    line: Option<&(String, Vec<Option<f64>>)>,
) -> serde_json::Value {
    let mut series = vec![json!({"name": bars.0, "type": "bar", "data": bars.1})];
    if let Some((name, data)) = line {
        series.push(json!({"name": name, "type": "line", "data": data, "y2": true}));
    }
    json!({"labels": labels, "x_name": "", "y_name": bars.0, "series": series})
}

fn html_of(blocks: &[Block]) -> Markup {
    html! {
        @for b in blocks {
            @match b {
                Block::Title(t) => h1 { (t) },
                Block::Subtitle(t) => p.muted { (t) },
                Block::Heading(t) => h2 { (t) },
                Block::Paragraph(t) => p { (t) },
                Block::Bullets(v) => ul { @for l in v { li { (l) } } },
                Block::Figures(v) => dl.kpis { @for (k, x) in v { div { dt { (k) } dd { (x) } } } },
                Block::Table { head, rows, numeric } => table.list {
                    thead { tr { @for (n, h) in head.iter().enumerate() { th.num[numeric.get(n) == Some(&true)] { (h) } } } }
                    tbody { @for r in rows { tr { @for (n, c) in r.iter().enumerate() { td.num[numeric.get(n) == Some(&true)] { (c) } } } } }
                },
                Block::Chart { id, title, labels, bars, line } => {
                    (json_script(id, &chart_json(labels, bars, line.as_ref())))
                    div.chart.review-chart data-combo-chart=(id) role="img" aria-label=(title) {}
                },
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub period_from: String,
    #[serde(default)]
    pub period_to: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub goals: String,
    #[serde(default)]
    pub value_delivered: String,
    #[serde(default)]
    pub next_steps: String,
}

impl ReviewForm {
    fn draft(&self, i: I18n) -> Result<ReviewDraft, WebError> {
        let date = |s: &str| -> Result<NaiveDate, WebError> {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| WebError::Invalid(i.tr("review.bad_date").into()))
        };
        Ok(ReviewDraft {
            kind: self.kind.parse().ok(),
            period_from: Some(date(&self.period_from)?),
            period_to: Some(date(&self.period_to)?),
            title: Some(self.title.clone()),
            goals: Some(self.goals.clone()),
            value_delivered: Some(self.value_delivered.clone()),
            next_steps: Some(self.next_steps.clone()),
        })
    }
}

/// The last full quarter before `today`.
fn last_quarter(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let q_start_month = (today.month0() / 3) * 3 + 1;
    let this_q = NaiveDate::from_ymd_opt(today.year(), q_start_month, 1).unwrap_or(today);
    let from = this_q - Months::new(3);
    (from, this_q - chrono::Duration::days(1))
}

fn form_fields(i: I18n, r: Option<&BusinessReview>, today: NaiveDate) -> Markup {
    let (from, to) = r.map_or_else(|| last_quarter(today), |r| (r.period_from, r.period_to));
    let quarter = (from.month0() / 3) + 1;
    let title = r.map_or_else(
        || {
            i.trf(
                "review.default_title",
                &[
                    ("year", &from.year().to_string()),
                    ("quarter", &quarter.to_string()),
                ],
            )
        },
        |r| r.title.clone(),
    );
    html! {
        div.form-row {
            label { (i.tr("review.kind")) " "
                select name="kind" {
                    @for k in ReviewKind::NAMES { option value=(k) selected[r.map(|r| r.kind.as_str()) == Some(*k)] { (i.label("review_kind", k)) } }
                }
            }
            label { (i.tr("review.period_from")) " " input type="date" name="period_from" value=(from) required; }
            label { (i.tr("review.period_to")) " " input type="date" name="period_to" value=(to) required; }
        }
        label.block { (i.tr("review.title")) input type="text" name="title" value=(title) required maxlength="200"; }
        @for (name, key) in [("goals", "review.goals"), ("value_delivered", "review.value_delivered"), ("next_steps", "review.next_steps")] {
            label.block { (i.tr(key)) " " span.muted.small { (i.tr("review.lines_hint")) }
                textarea name=(name) rows="4" {
                    @if let Some(r) = r {
                        (match name { "goals" => &r.goals, "value_delivered" => &r.value_delivered, _ => &r.next_steps })
                    }
                }
            }
        }
    }
}

/// An account's reviews and the form for a new one.
pub async fn list_page(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let account = state.store.account(AccountId(id)).await?;
    let reviews = state.store.list_reviews(AccountId(id)).await?;
    let title = i.trf("review.list_title", &[("account", &account.name)]);
    let body = html! {
        nav.crumbs {
            a href="/accounts" { (i.tr("nav.accounts")) } " / "
            a href=(format!("/accounts/{id}")) { (account.name) } " / "
        }
        h1 { (title) }
        section.card {
            @if reviews.is_empty() {
                (empty(i, "review.empty", "review.empty_hint"))
            } @else {
                table.list {
                    thead { tr { th { (i.tr("review.title")) } th { (i.tr("review.kind")) } th { (i.tr("review.period")) } th { (i.tr("review.author")) } } }
                    tbody {
                        @for r in &reviews {
                            tr {
                                td { a href=(format!("/accounts/{id}/reviews/{}", r.id)) { (r.title) } }
                                td { (i.label("review_kind", r.kind.as_str())) }
                                td { (i.date(r.period_from)) " – " (i.date(r.period_to)) }
                                td { (r.created_by) }
                            }
                        }
                    }
                }
            }
        }
        @if ctx.can_edit(&account) {
            section.card {
                h2 { (i.tr("review.new")) }
                form #new-review method="post" action=(format!("/accounts/{id}/reviews")) {
                    (csrf(&ctx))
                    (form_fields(i, None, ctx.today))
                    button type="submit" { (i.tr("review.create")) }
                }
            }
        }
    };
    Ok(page(&ctx, &title, Nav::Accounts, Scripts::Basic, body))
}

pub async fn create(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> WebResult<Response> {
    let account = state.store.account(AccountId(id)).await?;
    ctx.require_edit(&account)?;
    let draft = form.draft(ctx.i18n)?;
    let r = state
        .store
        .create_review(AccountId(id), draft, &ctx.actor())
        .await?;
    Ok(Redirect::to(&format!("/accounts/{id}/reviews/{}", r.id)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The document's language: `?lang=`, else the reader's.
fn doc_i18n(ctx: &Ctx, q: &LangQuery) -> I18n {
    match q.lang.as_deref().and_then(|l| l.parse::<Locale>().ok()) {
        Some(l) => I18n::new(l),
        None => ctx.i18n,
    }
}

async fn load(
    state: &WebState,
    id: i64,
    rid: i64,
) -> WebResult<(kizuna_domain::account::Account, BusinessReview, ReviewFacts)> {
    let account = state.store.account(AccountId(id)).await?;
    let (r, facts) = state
        .store
        .review_with_facts(rid, &state.config.adoption)
        .await?;
    if r.account_id != id {
        return Err(WebError::NotFound);
    }
    Ok((account, r, facts))
}

/// The review as a printable page, with its PDF and, for editors, a form to change the text.
pub async fn show(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((id, rid)): Path<(i64, i64)>,
    Query(q): Query<LangQuery>,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let (account, r, facts) = load(&state, id, rid).await?;
    let doc = doc_i18n(&ctx, &q);
    let content = blocks(doc, &r, &facts);
    let body = html! {
        nav.crumbs.no-print {
            a href="/accounts" { (i.tr("nav.accounts")) } " / "
            a href=(format!("/accounts/{id}")) { (account.name) } " / "
            a href=(format!("/accounts/{id}/reviews")) { (i.tr("review.list")) } " / "
        }
        div.toolbar.no-print {
            span { (i.tr("review.document_language")) " " }
            a href=(format!("?lang=ja")) aria-pressed=(doc.locale == Locale::Ja) { "日本語" } " · "
            a href=(format!("?lang=en")) aria-pressed=(doc.locale == Locale::En) { "English" }
            " "
            a.button href=(format!("/accounts/{id}/reviews/{rid}/pdf?lang={}", doc.lang())) download { (i.tr("review.pdf")) }
            " "
            button type="button" data-print { (i.tr("review.print")) }
        }
        article.review lang=(doc.lang()) {
            (html_of(&content))
            p.muted.small { (doc.trf("review.generated", &[("date", &doc.date(ctx.today))])) }
        }
        @if ctx.can_edit(&account) {
            details.card.no-print {
                summary { (i.tr("review.edit")) }
                form method="post" action=(format!("/accounts/{id}/reviews/{rid}")) {
                    (csrf(&ctx))
                    (form_fields(i, Some(&r), ctx.today))
                    button type="submit" { (i.tr("review.save")) }
                }
                form method="post" action=(format!("/accounts/{id}/reviews/{rid}/delete")) {
                    (csrf(&ctx))
                    button.danger type="submit" { (i.tr("review.delete")) }
                }
            }
        }
    };
    Ok(page(&ctx, &r.title, Nav::Accounts, Scripts::Charts, body))
}

/// Checks that review `rid` belongs to account `id` and that the user may change that account.
async fn editable_review(state: &WebState, ctx: &Ctx, id: i64, rid: i64) -> WebResult<()> {
    let account = state.store.account(AccountId(id)).await?;
    ctx.require_edit(&account)?;
    if state.store.review(rid).await?.account_id != id {
        return Err(WebError::NotFound);
    }
    Ok(())
}

pub async fn update(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((id, rid)): Path<(i64, i64)>,
    Form(form): Form<ReviewForm>,
) -> WebResult<Response> {
    editable_review(&state, &ctx, id, rid).await?;
    let draft = form.draft(ctx.i18n)?;
    state.store.update_review(rid, draft, &ctx.actor()).await?;
    Ok(Redirect::to(&format!("/accounts/{id}/reviews/{rid}")).into_response())
}

pub async fn delete(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((id, rid)): Path<(i64, i64)>,
) -> WebResult<Response> {
    editable_review(&state, &ctx, id, rid).await?;
    state.store.delete_review(rid, &ctx.actor()).await?;
    Ok(Redirect::to(&format!("/accounts/{id}/reviews")).into_response())
}

/// The review as a PDF download.
pub async fn pdf(
    State(state): State<WebState>,
    ctx: Ctx,
    Path((id, rid)): Path<(i64, i64)>,
    Query(q): Query<LangQuery>,
) -> WebResult<Response> {
    let (_, r, facts) = load(&state, id, rid).await?;
    let doc = doc_i18n(&ctx, &q);
    let bytes = pdf_of(doc, &r, &facts, ctx.today)?;
    Ok(pdf_response(bytes, &r, doc))
}

/// Renders a review to PDF bytes in the language of `i`.
pub fn pdf_of(
    i: I18n,
    r: &BusinessReview,
    f: &ReviewFacts,
    today: NaiveDate,
) -> Result<Vec<u8>, WebError> {
    let content = blocks(i, r, f);
    let footer = i.trf("review.generated", &[("date", &i.date(today))]);
    crate::pdf::render(&content, &r.title, i.lang(), &footer)
        .map_err(|e| WebError::Internal(format!("rendering the review as PDF: {e}")))
}

/// A PDF download response named after the review.
pub fn pdf_response(bytes: Vec<u8>, r: &BusinessReview, i: I18n) -> Response {
    let name = format!("review-{}-{}-{}.pdf", r.account_id, r.id, i.lang());
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
