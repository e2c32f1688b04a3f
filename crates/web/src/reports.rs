//! The report builder: the list of saved reports (mine and shared), and a builder that turns a
//! form — subject, columns, filter rows, group-by with aggregates, sort, chart — into a report
//! definition, runs it and shows a table and an ECharts chart, with save, share and CSV export.
//!
//! The builder's state is the page's query string (`/reports/new?subject=accounts&col=name…`),
//! so every report on screen is a link; a saved report keeps the definition as JSON. Everyone
//! signed in may build, run and export; saving follows the roles (a viewer saves nothing, a CSM
//! changes only their own reports, managers and admins every report).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use futures::TryStreamExt;
use kizuna_domain::insight::report::{
    self, AggregateDraft, Cell, ChartKind, DateBucket, FieldType, FilterDraft, GroupDraft,
    Operator, ReportDefinition, ReportDraft, ReportResult, ResultColumn, SortDraft, Subject,
};
use kizuna_domain::money::Currency;
use kizuna_store::{ReportInput, ReportReader, SavedReport};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{WebError, WebResult};
use crate::i18n::I18n;
use crate::layout::{csrf, empty, json_script, page, Nav, Scripts};
use crate::session::Ctx;
use crate::WebState;

/// Rows per page of the row view.
const PAGE_ROWS: i64 = 50;
/// Empty filter rows offered below the filled ones.
const SPARE_FILTERS: usize = 2;

fn japanese(i: I18n) -> bool {
    i.lang() == "ja"
}

fn reader(ctx: &Ctx) -> ReportReader {
    ReportReader {
        user_id: Some(ctx.user.id.0),
        sees_all: ctx.can_manage(),
    }
}

// ------------------------------------------------------------------ the query string ↔ a draft

/// Reads the builder's query string into a draft. Blank filter rows and group fields are left
/// out; a filter's value is split on commas for `in` and `between`.
pub fn draft_from_query(pairs: &[(String, String)]) -> ReportDraft {
    let all = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let one = |name: &str| -> Option<String> {
        all(name)
            .first()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (fields, ops, values) = (all("f_field"), all("f_op"), all("f_value"));
    let mut filters = Vec::new();
    for (n, field) in fields.iter().enumerate() {
        if field.trim().is_empty() {
            continue;
        }
        let op = ops.get(n).copied().unwrap_or("eq").trim().to_string();
        let raw = values.get(n).copied().unwrap_or("").trim();
        let value = match op.as_str() {
            "is_empty" | "not_empty" => None,
            "in" | "between" => Some(Value::Array(
                raw.split(',')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            )),
            _ => Some(Value::String(raw.to_string())),
        };
        filters.push(FilterDraft {
            field: Some(field.trim().to_string()),
            op: Some(op),
            value,
        });
    }
    // The bucket select is always on the form; it means something for date fields only.
    let subject: Option<Subject> = one("subject").and_then(|s| s.parse().ok());
    let is_date = |key: &str| {
        subject
            .and_then(|s| s.field(key))
            .is_some_and(|f| f.ty == FieldType::Date)
    };
    let mut group_by = Vec::new();
    for (g, b) in [("g1", "g1_bucket"), ("g2", "g2_bucket")] {
        if let Some(field) = one(g) {
            group_by.push(GroupDraft {
                bucket: if is_date(&field) { one(b) } else { None },
                field: Some(field),
            });
        }
    }
    let aggregates = all("agg")
        .into_iter()
        .filter(|a| !a.trim().is_empty())
        .map(|a| match a.split_once(':') {
            Some((f, field)) => AggregateDraft {
                func: Some(f.to_string()),
                field: Some(field.to_string()),
            },
            None => AggregateDraft {
                func: Some(a.to_string()),
                field: None,
            },
        })
        .collect();
    let sort = one("sort")
        .map(|field| {
            vec![SortDraft {
                field: Some(field),
                desc: one("desc").is_some(),
            }]
        })
        .unwrap_or_default();
    ReportDraft {
        subject: one("subject"),
        columns: all("col")
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .map(str::to_string)
            .collect(),
        filters,
        sort,
        group_by,
        aggregates,
        chart: one("chart"),
    }
}

fn value_text(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| value_text(&Some(x.clone())))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// The builder's query string for a draft (pager and export links, opening a saved report).
pub fn query_of(d: &ReportDraft) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = &d.subject {
        pairs.push(("subject", s.clone()));
    }
    for c in &d.columns {
        pairs.push(("col", c.clone()));
    }
    for f in &d.filters {
        pairs.push(("f_field", f.field.clone().unwrap_or_default()));
        pairs.push(("f_op", f.op.clone().unwrap_or_default()));
        pairs.push(("f_value", value_text(&f.value)));
    }
    for (n, g) in d.group_by.iter().enumerate().take(2) {
        let (gk, bk) = if n == 0 {
            ("g1", "g1_bucket")
        } else {
            ("g2", "g2_bucket")
        };
        pairs.push((gk, g.field.clone().unwrap_or_default()));
        if let Some(b) = &g.bucket {
            pairs.push((bk, b.clone()));
        }
    }
    for a in &d.aggregates {
        let func = a.func.clone().unwrap_or_default();
        pairs.push((
            "agg",
            match &a.field {
                Some(f) => format!("{func}:{f}"),
                None => func,
            },
        ));
    }
    if let Some(s) = d.sort.first() {
        pairs.push(("sort", s.field.clone().unwrap_or_default()));
        if s.desc {
            pairs.push(("desc", "1".into()));
        }
    }
    if let Some(c) = &d.chart {
        pairs.push(("chart", c.clone()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// A new report on a subject starts with its first four fields as columns.
fn starter(subject: Subject) -> ReportDraft {
    ReportDraft {
        subject: Some(subject.as_str().into()),
        columns: subject
            .fields()
            .iter()
            .take(4)
            .map(|f| f.key.to_string())
            .collect(),
        ..Default::default()
    }
}

// ------------------------------------------------------------------ formatting

fn format_cell(i: I18n, col: &ResultColumn, cell: &Cell, currency: Option<&str>) -> String {
    match (cell, col.ty) {
        (Cell::Null, _) => "—".into(),
        (Cell::Number(v), FieldType::Money) => match currency.and_then(|c| Currency::parse(c).ok())
        {
            Some(c) => i.money(*v, c),
            None => i.decimal(*v, if v.fract() == 0.0 { 0 } else { 2 }),
        },
        (Cell::Number(v), _) => i.decimal(*v, if v.fract() == 0.0 { 0 } else { 1 }),
        (Cell::Text(t), FieldType::Date) => match t.parse::<NaiveDate>() {
            Ok(d) => i.date(d),
            Err(_) => t.clone(),
        },
        (Cell::Text(t), FieldType::Enum) if !col.vocabulary.is_empty() => {
            i.label(&col.vocabulary, t)
        }
        (Cell::Text(t), _) => t.clone(),
    }
}

/// A group key as a chart label: the vocabulary's label, a formatted date, or "—".
fn key_label(i: I18n, col: &ResultColumn, cell: &Cell) -> String {
    format_cell(i, col, cell, None)
}

/// Health bands keep their colours in a chart, as everywhere else in the product.
fn band_colour(col: &ResultColumn, cell: &Cell) -> Option<&'static str> {
    if col.vocabulary != "band" {
        return None;
    }
    match cell {
        Cell::Text(t) if t == "red" => Some("#c0392b"),
        Cell::Text(t) if t == "yellow" => Some("#d4a017"),
        Cell::Text(t) if t == "green" => Some("#2e8b57"),
        _ => Some("#9aa5b1"),
    }
}

/// The chart's data: categories from the first group field, one series per value of the second
/// (or one series), values of the first aggregate.
fn chart_data(i: I18n, def: &ReportDefinition, result: &ReportResult) -> Option<Value> {
    let kind = def.chart?;
    let groups = def.group_by.len();
    if groups == 0 || result.rows.is_empty() {
        return None;
    }
    let measure_col = &result.columns[groups];
    let value = |r: &kizuna_domain::insight::report::ResultRow| r.cells[groups].as_f64();
    let mut categories: Vec<String> = Vec::new();
    for r in &result.rows {
        let k = key_label(i, &result.columns[0], &r.cells[0]);
        if !categories.contains(&k) {
            categories.push(k);
        }
    }
    let series: Vec<Value> = if groups == 1 {
        vec![json!({
            "name": measure_col.label(japanese(i)),
            "data": result.rows.iter().map(value).collect::<Vec<_>>(),
        })]
    } else {
        let mut names: Vec<(String, Option<&'static str>)> = Vec::new();
        for r in &result.rows {
            let k = key_label(i, &result.columns[1], &r.cells[1]);
            if !names.iter().any(|(n, _)| n == &k) {
                names.push((k, band_colour(&result.columns[1], &r.cells[1])));
            }
        }
        names
            .iter()
            .map(|(name, colour)| {
                let data: Vec<Option<f64>> = categories
                    .iter()
                    .map(|cat| {
                        result
                            .rows
                            .iter()
                            .find(|r| {
                                &key_label(i, &result.columns[0], &r.cells[0]) == cat
                                    && &key_label(i, &result.columns[1], &r.cells[1]) == name
                            })
                            .and_then(value)
                    })
                    .collect();
                json!({"name": name, "data": data, "color": colour})
            })
            .collect()
    };
    Some(json!({
        "kind": kind.as_str(),
        "categories": categories,
        "series": series,
        "x_name": result.columns[0].label(japanese(i)),
        "y_name": measure_col.label(japanese(i)),
        "stack": groups > 1 && kind == ChartKind::Bar,
    }))
}

// ------------------------------------------------------------------ pages

/// `/reports`: saved reports, the caller's own and the shared ones, and the way to a new one.
pub async fn list_handler(State(state): State<WebState>, ctx: Ctx) -> WebResult<Response> {
    let i = ctx.i18n;
    let ja = japanese(i);
    let reports = state
        .store
        .list_reports(reader(&ctx), Some(500), Some(0))
        .await?;
    let me = ctx.user.id.0;
    let (mine, others): (Vec<&SavedReport>, Vec<&SavedReport>) =
        reports.items.iter().partition(|r| r.owner_id == Some(me));
    let table = |list: &[&SavedReport]| {
        html! {
            table.list {
                thead { tr {
                    th { (i.tr("reports.name")) }
                    th { (i.tr("reports.subject")) }
                    th { (i.tr("reports.owner")) }
                    th { (i.tr("reports.visibility")) }
                    th { (i.tr("reports.updated")) }
                } }
                tbody {
                    @for r in list {
                        tr {
                            td { a href=(format!("/reports/{}", r.id)) { (r.display_name(ja)) } }
                            td { (r.definition.subject.as_deref().and_then(|s| s.parse::<Subject>().ok()).map(|s| s.label(ja)).unwrap_or("—")) }
                            td { (r.owner_name.clone().unwrap_or_else(|| i.tr("reports.shipped").to_string())) }
                            td { (i.tr(if r.shared { "reports.shared" } else { "reports.private" })) }
                            td { (i.date(r.updated_at.date_naive())) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        div.row.between {
            h1 { (i.tr("reports.title")) }
            a.button href="/reports/new" { (i.tr("reports.new")) }
        }
        section.card {
            h2 { (i.tr("reports.mine")) }
            @if mine.is_empty() {
                (empty(i, "reports.empty_mine", if report::may_save(ctx.user.role) { "reports.empty_mine_hint" } else { "reports.viewer_hint" }))
            } @else {
                (table(&mine))
            }
        }
        section.card {
            h2 { (i.tr("reports.shared_title")) }
            @if others.is_empty() {
                (empty(i, "reports.empty_shared", "reports.empty_shared_hint"))
            } @else {
                (table(&others))
            }
        }
    };
    Ok(page(
        &ctx,
        i.tr("reports.title"),
        Nav::Reports,
        Scripts::Basic,
        body,
    ))
}

/// `/reports/new`: the builder with an ad-hoc definition from the query string.
pub async fn new_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(pairs): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let draft = with_starter_columns(draft_from_query(&pairs));
    let offset = offset_of(&pairs);
    builder(&state, &ctx, None, draft, offset).await
}

/// `/reports/{id}`: a saved report, as saved or as changed in the builder since.
pub async fn saved_handler(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let saved = visible(&state, &ctx, id).await?;
    let changed = pairs.iter().any(|(k, _)| k == "subject");
    let draft = if changed {
        with_starter_columns(draft_from_query(&pairs))
    } else {
        saved.definition.clone()
    };
    let offset = offset_of(&pairs);
    builder(&state, &ctx, Some(saved), draft, offset).await
}

/// A draft that shows nothing (a subject just chosen) gets the subject's starter columns.
fn with_starter_columns(draft: ReportDraft) -> ReportDraft {
    if !draft.columns.is_empty() || !draft.group_by.is_empty() || !draft.aggregates.is_empty() {
        return draft;
    }
    let subject = draft
        .subject
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Subject::Accounts);
    ReportDraft {
        filters: draft.filters,
        ..starter(subject)
    }
}

fn offset_of(pairs: &[(String, String)]) -> i64 {
    pairs
        .iter()
        .find(|(k, _)| k == "offset")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0)
}

async fn visible(state: &WebState, ctx: &Ctx, id: i64) -> WebResult<SavedReport> {
    let r = state.store.saved_report(id).await?;
    if report::may_view(ctx.user.role, Some(ctx.user.id.0), r.owner_id, r.shared) {
        Ok(r)
    } else {
        Err(WebError::NotFound)
    }
}

fn field_options(
    i: I18n,
    subject: Subject,
    selected: &str,
    blank: bool,
    only: impl Fn(FieldType) -> bool,
) -> Markup {
    let ja = japanese(i);
    html! {
        @if blank { option value="" { "—" } }
        @for f in subject.fields().iter().filter(|f| only(f.ty)) {
            option value=(f.key) selected[f.key == selected] { (f.label(ja)) }
        }
    }
}

async fn builder(
    state: &WebState,
    ctx: &Ctx,
    saved: Option<SavedReport>,
    draft: ReportDraft,
    offset: i64,
) -> WebResult<Response> {
    let i = ctx.i18n;
    let ja = japanese(i);
    let subject: Subject = draft
        .subject
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(Subject::Accounts);
    let parsed = ReportDefinition::parse(&draft);
    let result = match &parsed {
        Ok(def) => Some(
            state
                .store
                .run_report(def, ctx.today, offset, Some(PAGE_ROWS))
                .await?,
        ),
        Err(_) => None,
    };
    let canonical = parsed
        .as_ref()
        .map(|d| d.to_draft())
        .unwrap_or(draft.clone());
    let query = query_of(&canonical);
    let action = match &saved {
        Some(r) => format!("/reports/{}", r.id),
        None => "/reports/new".to_string(),
    };
    let title = saved
        .as_ref()
        .map(|r| r.display_name(ja).to_string())
        .unwrap_or_else(|| i.tr("reports.new").to_string());
    let may_edit = saved
        .as_ref()
        .is_some_and(|r| report::may_edit(ctx.user.role, Some(ctx.user.id.0), r.owner_id));
    let grouped = !draft.group_by.is_empty() || !draft.aggregates.is_empty();
    let group = |n: usize| draft.group_by.get(n).cloned().unwrap_or_default();
    let (g1, g2) = (group(0), group(1));
    let agg_selected = |v: &str| {
        draft.aggregates.iter().any(|a| {
            let func = a.func.clone().unwrap_or_default();
            match &a.field {
                Some(f) => format!("{func}:{f}") == v,
                None => func == v,
            }
        })
    };
    let sort_field = draft
        .sort
        .first()
        .and_then(|s| s.field.clone())
        .unwrap_or_default();
    let sort_desc = draft.sort.first().is_some_and(|s| s.desc);
    let mut filter_rows = draft.filters.clone();
    filter_rows.extend(std::iter::repeat_n(FilterDraft::default(), SPARE_FILTERS));
    let numeric = |t: FieldType| matches!(t, FieldType::Number | FieldType::Money);
    let chart = match (&parsed, &result) {
        (Ok(def), Some(r)) => chart_data(i, def, r),
        _ => None,
    };

    let body = html! {
        nav.crumbs { a href="/reports" { (i.tr("reports.title")) } " › " (title) }
        h1 { (title) }
        // Changing the subject starts over: the other fields belong to the old subject.
        form.filters method="get" action=(action) {
            label.filter {
                span { (i.tr("reports.subject")) }
                select name="subject" data-autosubmit {
                    @for s in Subject::ALL {
                        option value=(s.as_str()) selected[*s == subject] { (s.label(ja)) }
                    }
                }
            }
            noscript { button type="submit" { (i.tr("filter.apply")) } }
        }
        form #builder method="get" action=(action) {
            input type="hidden" name="subject" value=(subject.as_str());
            section.card {
                h2 { (i.tr("reports.columns")) }
                p.muted { (i.tr("reports.columns_hint")) }
                div.row {
                    @for f in subject.fields() {
                        label.radio {
                            input type="checkbox" name="col" value=(f.key) checked[draft.columns.iter().any(|c| c == f.key)];
                            " " (f.label(ja))
                        }
                    }
                }
            }
            section.card {
                h2 { (i.tr("reports.filters")) }
                p.muted { (i.tr("reports.filters_hint")) }
                details.def-values {
                    summary { (i.tr("reports.values_help")) }
                    ul {
                        @for f in subject.fields().iter().filter(|f| f.ty == FieldType::Enum) {
                            li {
                                strong { (f.label(ja)) } ": "
                                @for (n, v) in f.values.iter().enumerate() {
                                    @if n > 0 { ", " }
                                    code { (v) } " (" (i.label(f.vocabulary, v)) ")"
                                }
                            }
                        }
                    }
                }
                @for (n, f) in filter_rows.iter().enumerate() {
                    div.row.filter-row data-filter-row=(n) {
                        label.filter {
                            span { (i.tr("reports.field")) }
                            select name="f_field" { (field_options(i, subject, f.field.as_deref().unwrap_or(""), true, |_| true)) }
                        }
                        label.filter {
                            span { (i.tr("reports.operator")) }
                            select name="f_op" {
                                @for op in Operator::ALL {
                                    option value=(op.as_str()) selected[f.op.as_deref() == Some(op.as_str())] {
                                        (op.symbol()) " " (i.label("report_op", op.as_str()))
                                    }
                                }
                            }
                        }
                        label.filter.grow {
                            span { (i.tr("reports.value")) }
                            input type="text" name="f_value" value=(value_text(&f.value)) placeholder=(i.tr("reports.value_placeholder"));
                        }
                    }
                }
            }
            section.card {
                h2 { (i.tr("reports.grouping")) }
                div.row {
                    @for (name, bucket_name, g, key) in [("g1", "g1_bucket", &g1, "reports.group_by"), ("g2", "g2_bucket", &g2, "reports.then_by")] {
                        label.filter {
                            span { (i.tr(key)) }
                            select name=(name) { (field_options(i, subject, g.field.as_deref().unwrap_or(""), true, |t| t != FieldType::Money)) }
                        }
                        label.filter {
                            span { (i.tr("reports.bucket")) }
                            select name=(bucket_name) {
                                @for b in DateBucket::ALL {
                                    option value=(b.as_str()) selected[g.bucket.as_deref().unwrap_or("month") == b.as_str()] { (b.label(ja)) }
                                }
                            }
                        }
                    }
                    label.filter {
                        span { (i.tr("reports.chart")) }
                        select name="chart" {
                            option value="" { (i.tr("reports.no_chart")) }
                            @for k in ChartKind::ALL {
                                option value=(k.as_str()) selected[draft.chart.as_deref() == Some(k.as_str())] { (i.label("report_chart", k.as_str())) }
                            }
                        }
                    }
                }
                h3 { (i.tr("reports.aggregates")) }
                div.row {
                    label.radio {
                        input type="checkbox" name="agg" value="count" checked[agg_selected("count")];
                        " " (report::Aggregate::Count.label(ja))
                    }
                    @for f in subject.fields().iter().filter(|f| numeric(f.ty)) {
                        @for func in [report::Aggregate::Sum, report::Aggregate::Avg, report::Aggregate::Min, report::Aggregate::Max] {
                            @let v = format!("{}:{}", func.as_str(), f.key);
                            label.radio {
                                input type="checkbox" name="agg" value=(v) checked[agg_selected(&v)];
                                " " (report::Measure { func, field: Some(f) }.label(ja))
                            }
                        }
                    }
                }
            }
            section.card {
                div.row {
                    label.filter {
                        span { (i.tr("reports.sort")) }
                        select name="sort" {
                            option value="" { "—" }
                            @if grouped {
                                @for g in &draft.group_by {
                                    @if let Some(k) = &g.field {
                                        option value=(k) selected[&sort_field == k] { (subject.field(k).map(|f| f.label(ja)).unwrap_or(k)) }
                                    }
                                }
                                @if let Ok(def) = &parsed {
                                    @for m in &def.aggregates {
                                        option value=(m.id()) selected[sort_field == m.id()] { (m.label(ja)) }
                                    }
                                }
                            } @else {
                                (field_options(i, subject, &sort_field, false, |_| true))
                            }
                        }
                    }
                    label.radio {
                        input type="checkbox" name="desc" value="1" checked[sort_desc];
                        " " (i.tr("reports.descending"))
                    }
                    button type="submit" #run-report { (i.tr("reports.run")) }
                }
            }
        }
        @match &parsed {
            Err(e) => {
                div.flash.error #report-errors role="alert" {
                    p { (i.tr("reports.invalid")) }
                    ul { @for fe in &e.errors { li { code { (fe.field) } " — " (fe.message) } } }
                }
            }
            Ok(_) => {}
        }
        @if let Some(r) = &result {
            (save_forms(ctx, saved.as_ref(), may_edit, &canonical))
            section.card #report-result {
                div.row.between {
                    h2 { (i.tr("reports.result")) }
                    a.button.secondary #report-csv href=(format!("/reports/export.csv?{query}")) download { (i.tr("reports.csv")) }
                }
                @if let Some(c) = &chart {
                    div.chart #report-chart role="img" aria-label=(i.tr("reports.chart")) {}
                    (json_script("report-chart-data", c))
                }
                (result_table(i, r))
                @if r.truncated {
                    p.warn { (i.trf("reports.truncated", &[("n", &i.int(kizuna_store::GROUP_CAP))])) }
                }
                @if !r.grouped && r.total > 0 {
                    nav.pager {
                        span.count { (i.trf("list.showing", &[("from", &i.int(offset + 1)), ("to", &i.int(offset + r.rows.len() as i64)), ("total", &i.int(r.total))])) }
                        @if offset > 0 {
                            a.button.secondary href=(format!("{action}?{query}&offset={}", (offset - PAGE_ROWS).max(0))) { (i.tr("list.previous")) }
                        }
                        @if let Some(next) = r.next_offset {
                            a.button.secondary href=(format!("{action}?{query}&offset={next}")) { (i.tr("list.next")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(ctx, &title, Nav::Reports, Scripts::Charts, body))
}

fn result_table(i: I18n, r: &ReportResult) -> Markup {
    let ja = japanese(i);
    html! {
        @if r.rows.is_empty() {
            (empty(i, "reports.no_rows", "reports.no_rows_hint"))
        } @else {
            table.list #report-table {
                thead { tr {
                    @for c in &r.columns {
                        th.num[matches!(c.ty, FieldType::Number | FieldType::Money)] { (c.label(ja)) }
                    }
                } }
                tbody {
                    @for row in &r.rows {
                        tr {
                            @for (c, cell) in r.columns.iter().zip(&row.cells) {
                                td.num[matches!(c.ty, FieldType::Number | FieldType::Money)] {
                                    (format_cell(i, c, cell, row.currency.as_deref()))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn save_forms(
    ctx: &Ctx,
    saved: Option<&SavedReport>,
    may_edit: bool,
    draft: &ReportDraft,
) -> Markup {
    let i = ctx.i18n;
    let def_json = serde_json::to_string(draft).unwrap_or_default();
    html! {
        @if report::may_save(ctx.user.role) {
            div.row {
                @if let (Some(r), true) = (saved, may_edit) {
                    form.saveview #update-report method="post" action=(format!("/reports/{}", r.id)) {
                        (csrf(ctx))
                        input type="hidden" name="definition" value=(def_json);
                        input type="text" name="name" required maxlength="120" value=(r.name) aria-label=(i.tr("reports.name"));
                        label.radio { input type="checkbox" name="shared" value="1" checked[r.shared]; " " (i.tr("reports.share")) }
                        button type="submit" { (i.tr("reports.save_changes")) }
                    }
                    form.inline method="post" action=(format!("/reports/{}/delete", r.id)) {
                        (csrf(ctx))
                        button.danger type="submit" { (i.tr("reports.delete")) }
                    }
                }
                form.saveview #save-report method="post" action="/reports" {
                    (csrf(ctx))
                    input type="hidden" name="definition" value=(def_json);
                    input type="text" name="name" required maxlength="120" placeholder=(i.tr("reports.name_placeholder")) aria-label=(i.tr("reports.name"));
                    label.radio { input type="checkbox" name="shared" value="1"; " " (i.tr("reports.share")) }
                    button.secondary type="submit" { (i.tr(if saved.is_some() { "reports.save_copy" } else { "reports.save" })) }
                }
            }
        } @else {
            p.muted { (i.tr("reports.viewer_hint")) }
        }
    }
}

// ------------------------------------------------------------------ actions

#[derive(Debug, Deserialize)]
pub struct SaveForm {
    name: Option<String>,
    definition: String,
    #[serde(default)]
    shared: Option<String>,
}

fn input_of(i: I18n, form: &SaveForm) -> WebResult<ReportInput> {
    let draft: ReportDraft = serde_json::from_str(&form.definition)
        .map_err(|_| WebError::Invalid(i.tr("reports.invalid").to_string()))?;
    let name = report::parse_name(form.name.as_deref())
        .map_err(|_| WebError::Invalid(i.tr("reports.name_required").to_string()))?;
    let definition =
        ReportDefinition::parse(&draft).map_err(|e| WebError::Invalid(e.to_string()))?;
    Ok(ReportInput {
        name,
        definition,
        shared: form.shared.is_some(),
    })
}

/// Saves the builder's report as a new one owned by the user.
pub async fn create(
    State(state): State<WebState>,
    ctx: Ctx,
    Form(form): Form<SaveForm>,
) -> WebResult<Response> {
    if !report::may_save(ctx.user.role) {
        return Err(WebError::Forbidden);
    }
    let input = input_of(ctx.i18n, &form)?;
    let saved = state
        .store
        .create_report(&input, Some(ctx.user.id.0), &ctx.actor())
        .await?;
    Ok(Redirect::to(&format!("/reports/{}", saved.id)).into_response())
}

/// Replaces a saved report (its owner, a manager or an admin).
pub async fn update(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<SaveForm>,
) -> WebResult<Response> {
    let current = visible(&state, &ctx, id).await?;
    if !report::may_edit(ctx.user.role, Some(ctx.user.id.0), current.owner_id) {
        return Err(WebError::Forbidden);
    }
    let input = input_of(ctx.i18n, &form)?;
    state.store.update_report(id, &input, &ctx.actor()).await?;
    Ok(Redirect::to(&format!("/reports/{id}")).into_response())
}

pub async fn delete(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let current = visible(&state, &ctx, id).await?;
    if !report::may_edit(ctx.user.role, Some(ctx.user.id.0), current.owner_id) {
        return Err(WebError::Forbidden);
    }
    state.store.delete_report(id, &ctx.actor()).await?;
    Ok(Redirect::to("/reports").into_response())
}

/// The builder's report as CSV (UTF-8 with a byte-order mark, the header in the user's
/// language), streamed a page of rows at a time.
pub async fn export_csv(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(pairs): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let draft = draft_from_query(&pairs);
    let def = ReportDefinition::parse(&draft).map_err(|e| WebError::Invalid(e.to_string()))?;
    let stream = state
        .store
        .report_csv(def, ctx.today, japanese(ctx.i18n))
        .map_ok(axum::body::Bytes::from)
        .inspect_err(|e| tracing::error!(error = %e, "report export failed midway"));
    let name = format!("kizuna-report-{}.csv", ctx.today);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn a_bucket_counts_for_date_fields_only() {
        let d = draft_from_query(&pairs(
            "subject=accounts&g1=segment&g1_bucket=month&g2=renewal_date&g2_bucket=year",
        ));
        assert_eq!(d.group_by[0].bucket, None);
        assert_eq!(d.group_by[1].bucket.as_deref(), Some("year"));
        assert!(ReportDefinition::parse(&d).is_ok());
    }

    #[test]
    fn the_query_string_round_trips_through_a_draft() {
        let q = "subject=accounts&col=name&col=arr&f_field=segment&f_op=in&f_value=smb%2Centerprise\
                 &f_field=&f_op=eq&f_value=&f_field=churned_on&f_op=is_empty&f_value=\
                 &g1=renewal_date&g1_bucket=quarter&agg=count&agg=sum%3Aarr&sort=sum_arr&desc=1&chart=bar";
        let d = draft_from_query(&pairs(q));
        assert_eq!(d.subject.as_deref(), Some("accounts"));
        assert_eq!(d.columns, ["name", "arr"]);
        assert_eq!(d.filters.len(), 2);
        assert_eq!(d.filters[0].value, Some(json!(["smb", "enterprise"])));
        assert_eq!(d.filters[1].value, None);
        assert_eq!(d.group_by[0].bucket.as_deref(), Some("quarter"));
        assert_eq!(d.aggregates[1].field.as_deref(), Some("arr"));
        assert!(d.sort[0].desc);
        let def = ReportDefinition::parse(&d).unwrap();
        assert_eq!(
            draft_from_query(&pairs(&query_of(&def.to_draft()))),
            def.to_draft()
        );
    }
}
