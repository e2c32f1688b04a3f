//! The report builder's queries and the saved reports.
//!
//! A report definition becomes one SQL text for both backends: every column, group and sort
//! expression comes from the catalogue below (keyed by the domain's field keys), and every value
//! a person typed is bound as a parameter. Dates are compared and grouped as their ISO text
//! (`substr(CAST(x AS TEXT), 1, 10)` reads `2026-04-01` from a SQLite text date, a PostgreSQL
//! `DATE` and a `TIMESTAMPTZ` in UTC alike), numbers as `DOUBLE PRECISION`, so one decoder reads
//! both backends. The row view is paged; a grouped result is capped at [`GROUP_CAP`] groups; a
//! CSV export reads the rows in pages of [`EXPORT_PAGE`], so memory stays bounded however many
//! rows there are.

use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use kizuna_domain::insight::report::{
    Aggregate, Cell, DateBucket, FieldType, Filter, FilterValue, Measure, Operator,
    ReportDefinition, ReportDraft, ReportResult, ResultRow, Scalar, SortTarget, Subject,
};
use serde::Serialize;
use sqlx::Row;

use crate::audit::{audit, Actor};
use crate::rows::clamp_limit;
use crate::sql::{bind_args, Arg, SqlBuilder};
use crate::{now, Result, Store, StoreError};

/// Most groups a grouped result returns.
pub const GROUP_CAP: i64 = 1000;
/// Rows read per query while exporting.
pub const EXPORT_PAGE: i64 = 5000;
/// Most rows one export writes.
pub const EXPORT_CAP: i64 = 1_000_000;
/// Largest page of the row view.
pub const MAX_PAGE: i64 = 500;

/// Amounts are kept in minor units; these currencies have none below the unit (checked against
/// the domain's currency table in a test).
const MINOR_PER_MAJOR: &str =
    "CASE WHEN s.currency IN ('JPY', 'KRW', 'VND') THEN 1.0 ELSE 100.0 END";

/// Where a subject's rows come from, with its owner joins, and the id that makes an order total.
fn source(subject: Subject) -> (&'static str, &'static str, &'static str) {
    match subject {
        Subject::Accounts => (
            "accounts a LEFT JOIN users u ON u.id = a.owner_id",
            "a.id",
            "a.currency",
        ),
        Subject::Contacts => (
            "contacts c JOIN accounts a ON a.id = c.account_id LEFT JOIN users u ON u.id = a.owner_id",
            "c.id",
            "a.currency",
        ),
        Subject::Subscriptions => (
            "subscriptions s JOIN accounts a ON a.id = s.account_id LEFT JOIN users u ON u.id = a.owner_id",
            "s.id",
            "s.currency",
        ),
        Subject::Tasks => (
            "tasks t JOIN accounts a ON a.id = t.account_id LEFT JOIN users u ON u.id = a.owner_id \
             LEFT JOIN users tu ON tu.id = t.owner_id",
            "t.id",
            "a.currency",
        ),
        Subject::Touchpoints => (
            "touchpoints p JOIN accounts a ON a.id = p.account_id LEFT JOIN users u ON u.id = a.owner_id \
             LEFT JOIN users pu ON pu.id = p.author_id",
            "p.id",
            "a.currency",
        ),
    }
}

/// The raw SQL of a catalogue field; `None` for a key the catalogue does not have.
fn raw_expr(subject: Subject, key: &str) -> Option<String> {
    let account = |k: &str| -> Option<&'static str> {
        Some(match k {
            "account_name" => "a.name",
            "account_segment" => "a.contract_value_tier",
            "account_tier" => "a.coverage_tier",
            "account_stage" => "a.lifecycle_stage",
            "account_owner" => "u.name",
            "account_health_score" => "a.health_score",
            "account_health_band" => "a.health_band",
            "account_arr" => "a.mrr * 12",
            _ => return None,
        })
    };
    let s: &str = match (subject, key) {
        (Subject::Accounts, "name") => "a.name",
        (Subject::Accounts, "industry") => "a.industry",
        (Subject::Accounts, "segment") => "a.contract_value_tier",
        (Subject::Accounts, "coverage_tier") => "a.coverage_tier",
        (Subject::Accounts, "lifecycle_stage") => "a.lifecycle_stage",
        (Subject::Accounts, "owner") => "u.name",
        (Subject::Accounts, "health_score") => "a.health_score",
        (Subject::Accounts, "health_band") => "a.health_band",
        (Subject::Accounts, "mrr") => "a.mrr",
        (Subject::Accounts, "arr") => "a.mrr * 12",
        (Subject::Accounts, "seats") => "a.seats",
        (Subject::Accounts, "employees") => "a.employees",
        (Subject::Accounts, "renewal_date") => "a.renewal_date",
        (Subject::Accounts, "created_on") => "a.created_at",
        (Subject::Accounts, "churned_on") => "a.churned_on",
        (Subject::Accounts, _) => return None,
        (Subject::Contacts, "name") => "c.name",
        (Subject::Contacts, "email") => "c.email",
        (Subject::Contacts, "title") => "c.title",
        (Subject::Contacts, "roles") => "c.roles",
        (Subject::Contacts, "first_seen") => "c.first_seen_at",
        (Subject::Contacts, "last_seen") => "c.last_seen_at",
        (Subject::Subscriptions, "product") => "s.product",
        (Subject::Subscriptions, "plan") => "s.plan",
        (Subject::Subscriptions, "status") => "s.status",
        (Subject::Subscriptions, "mrr") => {
            return Some(format!("s.mrr_minor / {MINOR_PER_MAJOR}"));
        }
        (Subject::Subscriptions, "arr") => {
            return Some(format!("s.mrr_minor * 12 / {MINOR_PER_MAJOR}"));
        }
        (Subject::Subscriptions, "seats") => "s.seats",
        (Subject::Subscriptions, "start_date") => "s.start_date",
        (Subject::Subscriptions, "end_date") => "s.end_date",
        (Subject::Tasks, "title") => "t.title",
        (Subject::Tasks, "kind") => "t.kind",
        (Subject::Tasks, "priority") => "t.priority",
        (Subject::Tasks, "status") => "t.status",
        (Subject::Tasks, "reason") => "t.reason",
        (Subject::Tasks, "outcome") => "t.outcome",
        (Subject::Tasks, "owner") => "tu.name",
        (Subject::Tasks, "due_on") => "t.due_on",
        (Subject::Tasks, "created_on") => "t.created_at",
        (Subject::Tasks, "closed_on") => "t.closed_at",
        (Subject::Touchpoints, "kind") => "p.kind",
        (Subject::Touchpoints, "subject") => "p.subject",
        (Subject::Touchpoints, "sentiment") => "p.sentiment",
        (Subject::Touchpoints, "occurred_on") => "p.occurred_at",
        (Subject::Touchpoints, "duration_minutes") => "p.duration_minutes",
        (Subject::Touchpoints, "author") => "pu.name",
        (_, k) => account(k)?,
    };
    Some(s.to_string())
}

/// A field's SQL, normalised by type: dates as ISO text, numbers as double precision.
fn expr(subject: Subject, key: &str, ty: FieldType) -> Result<String> {
    let raw = raw_expr(subject, key)
        .ok_or_else(|| StoreError::Corrupt(format!("report field {subject}.{key} has no SQL")))?;
    Ok(match ty {
        FieldType::Date => format!("substr(CAST({raw} AS TEXT), 1, 10)"),
        FieldType::Number | FieldType::Money => format!("CAST({raw} AS DOUBLE PRECISION)"),
        FieldType::Text | FieldType::Enum => raw,
    })
}

/// A grouped date: `2026-04-01`, `2026-04`, `2026-Q2` or `2026`.
fn bucketed(date: &str, bucket: DateBucket) -> String {
    match bucket {
        DateBucket::Day => date.to_string(),
        DateBucket::Month => format!("substr({date}, 1, 7)"),
        DateBucket::Year => format!("substr({date}, 1, 4)"),
        DateBucket::Quarter => format!(
            "substr({date}, 1, 4) || '-Q' || CAST((CAST(substr({date}, 6, 2) AS INTEGER) + 2) / 3 AS TEXT)"
        ),
    }
}

fn bind_scalar(b: &mut SqlBuilder, v: &Scalar, today: NaiveDate) {
    match v.resolve(today) {
        Scalar::Text(s) => b.arg(Arg::Text(s)),
        Scalar::Number(n) => b.arg(Arg::F64(n)),
        Scalar::Date(d) => b.arg(Arg::Text(d.to_string())),
        // `resolve` leaves no relative date behind.
        Scalar::DaysFromToday(n) => b.arg(Arg::I64(n)),
    };
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

fn push_filter(b: &mut SqlBuilder, subject: Subject, f: &Filter, today: NaiveDate) -> Result<()> {
    let e = expr(subject, f.field.key, f.field.ty)?;
    let textual = matches!(f.field.ty, FieldType::Text | FieldType::Enum);
    let one = |b: &mut SqlBuilder, sql: &str| -> Result<()> {
        let FilterValue::One(v) = &f.value else {
            return Err(StoreError::invalid(
                "filters",
                "a comparison needs one value",
            ));
        };
        b.push(sql);
        bind_scalar(b, v, today);
        Ok(())
    };
    b.push(" AND ");
    match f.op {
        Operator::Eq => one(b, &format!("{e} = "))?,
        Operator::Ne => {
            one(b, &format!("({e} IS NULL OR {e} <> "))?;
            b.push(")");
        }
        Operator::Lt => one(b, &format!("{e} < "))?,
        Operator::Le => one(b, &format!("{e} <= "))?,
        Operator::Gt => one(b, &format!("{e} > "))?,
        Operator::Ge => one(b, &format!("{e} >= "))?,
        Operator::Contains => {
            let FilterValue::One(Scalar::Text(t)) = &f.value else {
                return Err(StoreError::invalid("filters", "contains needs a text"));
            };
            b.push(&format!("LOWER({e}) LIKE "))
                .arg(Arg::Text(like_pattern(t)))
                .push(" ESCAPE '\\'");
        }
        Operator::In => {
            let FilterValue::Many(vs) = &f.value else {
                return Err(StoreError::invalid("filters", "in needs a list"));
            };
            b.push(&format!("{e} IN ("));
            for (n, v) in vs.iter().enumerate() {
                if n > 0 {
                    b.push(", ");
                }
                bind_scalar(b, v, today);
            }
            b.push(")");
        }
        Operator::Between => {
            let FilterValue::Range(lo, hi) = &f.value else {
                return Err(StoreError::invalid("filters", "between needs two bounds"));
            };
            b.push(&format!("{e} BETWEEN "));
            bind_scalar(b, lo, today);
            b.push(" AND ");
            bind_scalar(b, hi, today);
        }
        Operator::IsEmpty if textual => {
            b.push(&format!("({e} IS NULL OR {e} = '')"));
        }
        Operator::IsEmpty => {
            b.push(&format!("{e} IS NULL"));
        }
        Operator::NotEmpty if textual => {
            b.push(&format!("({e} IS NOT NULL AND {e} <> '')"));
        }
        Operator::NotEmpty => {
            b.push(&format!("{e} IS NOT NULL"));
        }
    }
    Ok(())
}

/// `FROM … WHERE …` with the definition's filters; deleted accounts (and their records) are
/// never reported.
fn from_where(def: &ReportDefinition, today: NaiveDate, b: &mut SqlBuilder) -> Result<()> {
    let (from, _, _) = source(def.subject);
    b.push(" FROM ")
        .push(from)
        .push(" WHERE a.deleted_at IS NULL");
    for f in &def.filters {
        push_filter(b, def.subject, f, today)?;
    }
    Ok(())
}

fn measure_sql(def: &ReportDefinition, m: &Measure) -> Result<String> {
    let Some(field) = m.field else {
        return Ok("COUNT(*)".into());
    };
    let e = expr(def.subject, field.key, field.ty)?;
    Ok(match m.func {
        Aggregate::Count => "COUNT(*)".into(),
        Aggregate::Sum => format!("SUM({e})"),
        Aggregate::Avg => format!("AVG({e})"),
        Aggregate::Min => format!("MIN({e})"),
        Aggregate::Max => format!("MAX({e})"),
    })
}

fn direction(desc: bool) -> &'static str {
    if desc {
        " DESC NULLS LAST"
    } else {
        " ASC NULLS LAST"
    }
}

/// The row view's query for one page.
fn rows_query(
    def: &ReportDefinition,
    today: NaiveDate,
    offset: i64,
    limit: i64,
) -> Result<SqlBuilder> {
    let (_, id, currency) = source(def.subject);
    let mut select = Vec::with_capacity(def.columns.len() + 1);
    for f in &def.columns {
        select.push(expr(def.subject, f.key, f.ty)?);
    }
    select.push(currency.to_string());
    let mut b = SqlBuilder::new(&format!("SELECT {}", select.join(", ")));
    from_where(def, today, &mut b)?;
    let mut order = Vec::new();
    for s in &def.sort {
        if let SortTarget::Field(f) = s.target {
            order.push(format!(
                "{}{}",
                expr(def.subject, f.key, f.ty)?,
                direction(s.desc)
            ));
        }
    }
    if order.is_empty() {
        if let Some(f) = def.columns.first() {
            order.push(format!(
                "{}{}",
                expr(def.subject, f.key, f.ty)?,
                direction(false)
            ));
        }
    }
    // The record id makes the order total, so pages neither repeat nor skip a row.
    order.push(id.to_string());
    b.push(" ORDER BY ").push(&order.join(", "));
    b.push(" LIMIT ")
        .arg(Arg::I64(limit))
        .push(" OFFSET ")
        .arg(Arg::I64(offset));
    Ok(b)
}

fn count_query(def: &ReportDefinition, today: NaiveDate) -> Result<SqlBuilder> {
    let mut b = SqlBuilder::new("SELECT COUNT(*)");
    from_where(def, today, &mut b)?;
    Ok(b)
}

/// The grouped query: group keys, aggregates, then the smallest and largest currency of the
/// group (equal when the group's amounts share one currency).
fn grouped_query(def: &ReportDefinition, today: NaiveDate) -> Result<SqlBuilder> {
    let (_, _, currency) = source(def.subject);
    let mut keys = Vec::new();
    for g in &def.group_by {
        let e = expr(def.subject, g.field.key, g.field.ty)?;
        keys.push(match g.bucket {
            Some(bucket) => bucketed(&e, bucket),
            // Wrapped so SQLite does not walk the column's index to group (a random read of
            // every row: 160 ms against 60 ms for a scan of 100,000 accounts); the same value
            // on both backends.
            None => format!("COALESCE({e}, NULL)"),
        });
    }
    let mut select = keys.clone();
    for m in &def.aggregates {
        select.push(measure_sql(def, m)?);
    }
    select.push(format!("MIN({currency})"));
    select.push(format!("MAX({currency})"));
    let mut b = SqlBuilder::new(&format!("SELECT {}", select.join(", ")));
    from_where(def, today, &mut b)?;
    if !keys.is_empty() {
        b.push(" GROUP BY ").push(&keys.join(", "));
        push_group_order(&mut b, def, keys.len());
    }
    Ok(b)
}

/// The columns of the SQLite `accounts_list` index over live accounts, in its order (migration
/// 0016 appends the currency).
const ACCOUNTS_LIST: &[&str] = &[
    "coverage_tier",
    "lifecycle_stage",
    "contract_value_tier",
    "health_band",
    "growth_potential",
    "brand_value",
    "referral_likelihood",
    "owner_id",
    "industry",
    "renewal_date",
    "mrr",
    "health_score",
    "name_lower",
    "created_at",
    "updated_at",
    "currency",
];

/// Group keys within this many leading columns of `accounts_list` are pre-aggregated: the
/// low-cardinality ones and the owner, so the index's groups are few.
const PREFIX_GROUP_LIMIT: usize = 8;

/// The `accounts` column an account report field reads (`owner` reads the owner's id and joins
/// the name after grouping); `None` for a field not in `accounts_list`.
fn list_column(key: &str) -> Option<&'static str> {
    Some(match key {
        "industry" => "industry",
        "segment" => "contract_value_tier",
        "coverage_tier" => "coverage_tier",
        "lifecycle_stage" => "lifecycle_stage",
        "owner" => "owner_id",
        "health_score" => "health_score",
        "health_band" => "health_band",
        "mrr" | "arr" => "mrr",
        "renewal_date" => "renewal_date",
        "created_on" => "created_at",
        _ => return None,
    })
}

/// SQLite groups by sorting every row (no hash aggregate): 160 ms for 100,000 accounts. When an
/// account report's group keys lie in the first [`PREFIX_GROUP_LIMIT`] columns of the covering
/// `accounts_list` index and its filters and measures read only that index, the accounts are
/// first aggregated in the index's own order (a streaming pass, no sort) by the shortest prefix
/// holding the keys, and those few partial groups regrouped by the keys — the same groups and
/// values (sums added in another order). `None` when the definition does not qualify.
fn prefix_grouped_query(def: &ReportDefinition, today: NaiveDate) -> Result<Option<SqlBuilder>> {
    if def.subject != Subject::Accounts || def.group_by.is_empty() {
        return Ok(None);
    }
    let position =
        |key: &str| list_column(key).and_then(|c| ACCOUNTS_LIST.iter().position(|x| *x == c));
    let mut prefix = 0;
    for g in &def.group_by {
        match position(g.field.key) {
            Some(p) if p < PREFIX_GROUP_LIMIT => prefix = prefix.max(p + 1),
            _ => return Ok(None),
        }
    }
    // Filters on the owner's name need the users table; everything else read must be indexed.
    if def
        .filters
        .iter()
        .any(|f| f.field.key == "owner" || position(f.field.key).is_none())
        || def.aggregates.iter().any(|m| {
            m.field
                .is_some_and(|f| f.key == "owner" || position(f.key).is_none())
        })
    {
        return Ok(None);
    }
    let columns = &ACCOUNTS_LIST[..prefix];
    let mut inner: Vec<String> = columns.iter().map(|c| format!("a.{c} AS {c}")).collect();
    let mut outer_measures = Vec::new();
    for (n, m) in def.aggregates.iter().enumerate() {
        let field = match m.field {
            Some(f) if m.func != Aggregate::Count => f,
            _ => {
                inner.push(format!("COUNT(*) AS m{n}"));
                outer_measures.push(format!("SUM(a.m{n})"));
                continue;
            }
        };
        let e = expr(def.subject, field.key, field.ty)?;
        match m.func {
            Aggregate::Count => unreachable!("handled above"),
            Aggregate::Sum => {
                inner.push(format!("SUM({e}) AS m{n}"));
                outer_measures.push(format!("SUM(a.m{n})"));
            }
            Aggregate::Min | Aggregate::Max => {
                let f = if m.func == Aggregate::Min {
                    "MIN"
                } else {
                    "MAX"
                };
                inner.push(format!("{f}({e}) AS m{n}"));
                outer_measures.push(format!("{f}(a.m{n})"));
            }
            Aggregate::Avg => {
                // SQLite gives NULL for a division by zero, as AVG of no values.
                inner.push(format!("SUM({e}) AS m{n}s, COUNT({e}) AS m{n}c"));
                outer_measures.push(format!("SUM(a.m{n}s) / SUM(a.m{n}c)"));
            }
        }
    }
    inner.push("MIN(a.currency) AS currency_lo, MAX(a.currency) AS currency_hi".into());
    let mut keys = Vec::new();
    for g in &def.group_by {
        let e = expr(def.subject, g.field.key, g.field.ty)?;
        keys.push(match g.bucket {
            Some(bucket) => bucketed(&e, bucket),
            None => format!("COALESCE({e}, NULL)"),
        });
    }
    let mut select = keys.clone();
    select.extend(outer_measures);
    select.push("MIN(a.currency_lo)".into());
    select.push("MAX(a.currency_hi)".into());
    let owner_join = if def.group_by.iter().any(|g| g.field.key == "owner") {
        " LEFT JOIN users u ON u.id = a.owner_id"
    } else {
        ""
    };
    let mut b = SqlBuilder::new(&format!(
        "SELECT {} FROM (SELECT {} FROM accounts a INDEXED BY accounts_list WHERE a.deleted_at IS NULL",
        select.join(", "),
        inner.join(", ")
    ));
    for f in &def.filters {
        push_filter(&mut b, def.subject, f, today)?;
    }
    b.push(&format!(
        " GROUP BY {}) a{owner_join} GROUP BY {}",
        columns
            .iter()
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        keys.join(", ")
    ));
    push_group_order(&mut b, def, keys.len());
    Ok(Some(b))
}

/// `ORDER BY` (the sorts asked for, then every remaining key) and the cap, by position.
fn push_group_order(b: &mut SqlBuilder, def: &ReportDefinition, keys: usize) {
    // Positions, not expressions: both dialects accept them and the text stays short.
    let mut order: Vec<String> = Vec::new();
    let mut used = Vec::new();
    for s in &def.sort {
        let pos = match s.target {
            SortTarget::Group(n) => n + 1,
            SortTarget::Measure(n) => keys + n + 1,
            SortTarget::Field(_) => continue,
        };
        used.push(pos);
        order.push(format!("{pos}{}", direction(s.desc)));
    }
    for pos in 1..=keys {
        if !used.contains(&pos) {
            order.push(format!("{pos}{}", direction(false)));
        }
    }
    b.push(" ORDER BY ").push(&order.join(", "));
    b.push(" LIMIT ").arg(Arg::I64(GROUP_CAP + 1));
}

/// Reads the cells of one result row in the result's column order.
fn read_cells<R>(row: &R, types: &[FieldType]) -> Result<Vec<Cell>>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut cells = Vec::with_capacity(types.len());
    for (n, ty) in types.iter().enumerate() {
        let cell = match ty {
            FieldType::Number | FieldType::Money => {
                match row.try_get::<Option<f64>, _>(n) {
                    Ok(v) => v.map(Cell::Number).unwrap_or(Cell::Null),
                    // A count comes back as an integer.
                    Err(_) => Cell::Number(row.try_get::<i64, _>(n)? as f64),
                }
            }
            _ => row
                .try_get::<Option<String>, _>(n)?
                .map(Cell::Text)
                .unwrap_or(Cell::Null),
        };
        cells.push(cell);
    }
    Ok(cells)
}

/// What a definition's SQL reads, column by column (the grouped keys' types as selected).
fn selected_types(def: &ReportDefinition) -> Vec<FieldType> {
    def.result_columns().iter().map(|c| c.ty).collect()
}

/// A saved report as listed and read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedReport {
    pub id: i64,
    pub name: String,
    /// The Japanese name of a report Kizuna ships.
    pub name_ja: Option<String>,
    pub definition: ReportDraft,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub shared: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SavedReport {
    pub fn display_name(&self, japanese: bool) -> &str {
        match (&self.name_ja, japanese) {
            (Some(ja), true) => ja,
            _ => &self.name,
        }
    }
}

/// A report to save: its name, definition and whether everyone sees it.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub name: String,
    pub definition: ReportDefinition,
    pub shared: bool,
}

/// Whose saved reports a list shows: shared ones, the user's own, or (`sees_all`) every one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportReader {
    pub user_id: Option<i64>,
    pub sees_all: bool,
}

type SavedRow = (
    i64,
    String,
    Option<String>,
    sqlx::types::Json<serde_json::Value>,
    Option<i64>,
    Option<String>,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
);

const SAVED_COLUMNS: &str = "r.id, r.name, r.name_ja, r.definition, r.owner_id, u.name, r.shared, r.created_at, r.updated_at \
     FROM reports r LEFT JOIN users u ON u.id = r.owner_id";

fn saved(row: SavedRow) -> Result<SavedReport> {
    let (id, name, name_ja, definition, owner_id, owner_name, shared, created_at, updated_at) = row;
    let definition: ReportDraft = serde_json::from_value(definition.0)
        .map_err(|e| StoreError::Corrupt(format!("reports.definition of {id}: {e}")))?;
    Ok(SavedReport {
        id,
        name,
        name_ja,
        definition,
        owner_id,
        owner_name,
        shared,
        created_at,
        updated_at,
    })
}

impl Store {
    /// Runs a definition: one page of the row view (with the number of matching records), or
    /// every group up to [`GROUP_CAP`] (`truncated` says when there were more). Relative dates
    /// are read against `today`.
    pub async fn run_report(
        &self,
        def: &ReportDefinition,
        today: NaiveDate,
        offset: i64,
        limit: Option<i64>,
    ) -> Result<ReportResult> {
        let limit = clamp_limit(limit).min(MAX_PAGE);
        let offset = offset.max(0);
        if def.is_grouped() {
            return self.grouped_report(def, today).await;
        }
        let (rows, total) = self.report_rows(def, today, offset, limit, true).await?;
        let next = offset + rows.len() as i64;
        Ok(ReportResult {
            grouped: false,
            columns: def.result_columns(),
            next_offset: (next < total && !rows.is_empty()).then_some(next),
            rows,
            total,
            truncated: false,
        })
    }

    async fn report_rows(
        &self,
        def: &ReportDefinition,
        today: NaiveDate,
        offset: i64,
        limit: i64,
        with_total: bool,
    ) -> Result<(Vec<ResultRow>, i64)> {
        let q = rows_query(def, today, offset, limit)?;
        let count = count_query(def, today)?;
        let types = selected_types(def);
        let n = types.len();
        on_pool!(self, |pool| {
            let total: i64 = if with_total {
                bind_args!(sqlx::query_scalar(&count.sql), &count.args)
                    .fetch_one(pool)
                    .await?
            } else {
                0
            };
            let raw = bind_args!(sqlx::query(&q.sql), &q.args)
                .fetch_all(pool)
                .await?;
            let mut rows = Vec::with_capacity(raw.len());
            for r in &raw {
                rows.push(ResultRow {
                    cells: read_cells(r, &types)?,
                    currency: r.try_get::<Option<String>, _>(n)?,
                });
            }
            Ok((rows, total))
        })
    }

    async fn grouped_report(
        &self,
        def: &ReportDefinition,
        today: NaiveDate,
    ) -> Result<ReportResult> {
        let prefixed = match self.backend() {
            crate::Backend::Sqlite => prefix_grouped_query(def, today)?,
            crate::Backend::Postgres => None,
        };
        let q = match prefixed {
            Some(q) => q,
            None => grouped_query(def, today)?,
        };
        let types = selected_types(def);
        let n = types.len();
        let mut rows: Vec<ResultRow> = on_pool!(self, |pool| {
            let raw = bind_args!(sqlx::query(&q.sql), &q.args)
                .fetch_all(pool)
                .await?;
            let mut rows = Vec::with_capacity(raw.len());
            for r in &raw {
                let lo: Option<String> = r.try_get(n)?;
                let hi: Option<String> = r.try_get(n + 1)?;
                rows.push(ResultRow {
                    cells: read_cells(r, &types)?,
                    currency: if lo == hi { lo } else { None },
                });
            }
            rows
        });
        let truncated = rows.len() as i64 > GROUP_CAP;
        rows.truncate(GROUP_CAP as usize);
        Ok(ReportResult {
            grouped: true,
            columns: def.result_columns(),
            total: rows.len() as i64,
            rows,
            next_offset: None,
            truncated,
        })
    }

    /// The report as CSV, in chunks: UTF-8 with a byte-order mark (so Excel opens Japanese text
    /// right), a header row in the chosen language, codes and ISO dates in the cells, and a
    /// currency column when the report has amounts. Rows are read [`EXPORT_PAGE`] at a time.
    pub fn report_csv(
        &self,
        def: ReportDefinition,
        today: NaiveDate,
        japanese: bool,
    ) -> impl Stream<Item = Result<Vec<u8>>> + Send + 'static {
        self.report_csv_in_pages(def, today, japanese, EXPORT_PAGE)
    }

    /// [`Store::report_csv`] reading `page` rows per query (tests use small pages).
    pub fn report_csv_in_pages(
        &self,
        def: ReportDefinition,
        today: NaiveDate,
        japanese: bool,
        page: i64,
    ) -> impl Stream<Item = Result<Vec<u8>>> + Send + 'static {
        let page = page.max(1);
        struct State {
            store: Store,
            def: ReportDefinition,
            offset: Option<i64>,
            header: bool,
        }
        let start = State {
            store: self.clone(),
            def,
            offset: Some(0),
            header: true,
        };
        futures::stream::try_unfold(start, move |mut st| async move {
            let Some(offset) = st.offset else {
                return Ok(None);
            };
            let columns = st.def.result_columns();
            let money = columns.iter().any(|c| c.ty == FieldType::Money);
            let mut buf = Vec::with_capacity(64 * 1024);
            if st.header {
                buf.extend_from_slice("\u{feff}".as_bytes());
            }
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(buf);
            let csv_err = |e: csv::Error| StoreError::Corrupt(format!("writing CSV: {e}"));
            if st.header {
                let mut head: Vec<&str> = columns.iter().map(|c| c.label(japanese)).collect();
                if money {
                    head.push(if japanese { "通貨" } else { "Currency" });
                }
                w.write_record(&head).map_err(csv_err)?;
                st.header = false;
            }
            let rows = if st.def.is_grouped() {
                st.offset = None;
                st.store.grouped_report(&st.def, today).await?.rows
            } else {
                let limit = page.min(EXPORT_CAP - offset);
                let (rows, _) = st
                    .store
                    .report_rows(&st.def, today, offset, limit, false)
                    .await?;
                let next = offset + rows.len() as i64;
                st.offset = (rows.len() as i64 == limit && next < EXPORT_CAP).then_some(next);
                rows
            };
            for r in &rows {
                let mut record: Vec<String> = r.cells.iter().map(Cell::plain).collect();
                if money {
                    record.push(r.currency.clone().unwrap_or_default());
                }
                w.write_record(&record).map_err(csv_err)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| StoreError::Corrupt(format!("writing CSV: {e}")))?;
            Ok(Some((bytes, st)))
        })
    }

    /// Saved reports a reader may see, shipped ones first, then by id.
    pub async fn list_reports(
        &self,
        reader: ReportReader,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<kizuna_domain::page::Page<SavedReport>> {
        let limit = clamp_limit(limit);
        let offset = offset.unwrap_or(0).max(0);
        let filter = "WHERE r.shared OR r.owner_id = $1 OR $2";
        let list = format!(
            "SELECT {SAVED_COLUMNS} {filter} ORDER BY (r.owner_id IS NULL) DESC, r.id LIMIT $3 OFFSET $4"
        );
        let count = format!("SELECT COUNT(*) FROM reports r {filter}");
        let (total, rows): (i64, Vec<SavedRow>) = on_pool!(self, |pool| {
            let total = sqlx::query_scalar(&count)
                .bind(reader.user_id)
                .bind(reader.sees_all)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(&list)
                .bind(reader.user_id)
                .bind(reader.sees_all)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            (total, rows)
        });
        let items = rows.into_iter().map(saved).collect::<Result<Vec<_>>>()?;
        Ok(kizuna_domain::page::Page::new(items, total, limit, offset))
    }

    /// One saved report, whoever owns it (the caller checks who may see it).
    pub async fn saved_report(&self, id: i64) -> Result<SavedReport> {
        let sql = format!("SELECT {SAVED_COLUMNS} WHERE r.id = $1");
        let row: Option<SavedRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        saved(row.ok_or_else(|| StoreError::not_found(format!("report {id}")))?)
    }

    pub async fn create_report(
        &self,
        input: &ReportInput,
        owner: Option<i64>,
        actor: &Actor,
    ) -> Result<SavedReport> {
        let definition = sqlx::types::Json(input.definition.to_draft());
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO reports (name, definition, owner_id, shared, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(&input.name)
            .bind(&definition)
            .bind(owner)
            .bind(input.shared)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "report.create",
                "report",
                Some(id),
                Some(input.name.clone())
            );
            id
        });
        self.saved_report(id).await
    }

    /// Replaces a saved report's name, definition and sharing. A shipped report renamed loses
    /// its Japanese name, which would no longer match.
    pub async fn update_report(
        &self,
        id: i64,
        input: &ReportInput,
        actor: &Actor,
    ) -> Result<SavedReport> {
        let definition = sqlx::types::Json(input.definition.to_draft());
        let changed: u64 = in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE reports SET name_ja = CASE WHEN name = $1 THEN name_ja ELSE NULL END, \
                 name = $1, definition = $2, shared = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(&input.name)
            .bind(&definition)
            .bind(input.shared)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                audit!(
                    tx,
                    actor,
                    "report.update",
                    "report",
                    Some(id),
                    Some(input.name.clone())
                );
            }
            n
        });
        if changed == 0 {
            return Err(StoreError::not_found(format!("report {id}")));
        }
        self.saved_report(id).await
    }

    pub async fn delete_report(&self, id: i64, actor: &Actor) -> Result<()> {
        let changed: u64 = in_tx!(self, |tx| {
            let n = sqlx::query("DELETE FROM reports WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                audit!(
                    tx,
                    actor,
                    "report.delete",
                    "report",
                    Some(id),
                    None::<String>
                );
            }
            n
        });
        if changed == 0 {
            return Err(StoreError::not_found(format!("report {id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kizuna_domain::money::Currency;

    #[test]
    fn every_catalogue_field_has_sql() {
        for s in Subject::ALL {
            for f in s.fields() {
                assert!(raw_expr(*s, f.key).is_some(), "{s}.{} has no SQL", f.key);
            }
        }
        assert!(raw_expr(Subject::Accounts, "account_name").is_none());
        assert!(raw_expr(Subject::Tasks, "password_hash").is_none());
    }

    #[test]
    fn the_minor_unit_table_matches_the_currencies() {
        for code in ["JPY", "KRW", "VND"] {
            assert_eq!(Currency::parse(code).unwrap().exponent(), 0, "{code}");
            assert!(MINOR_PER_MAJOR.contains(code));
        }
        for code in ["USD", "EUR", "GBP", "CNY", "TWD", "IDR", "THB"] {
            assert_eq!(Currency::parse(code).unwrap().exponent(), 2, "{code}");
            assert!(!MINOR_PER_MAJOR.contains(code));
        }
    }

    #[test]
    fn values_are_bound_never_written_into_the_text() {
        let draft: ReportDraft = serde_json::from_value(serde_json::json!({
            "subject": "accounts",
            "columns": ["name"],
            "filters": [{"field": "name", "op": "contains", "value": "x'; DROP TABLE accounts; --"},
                        {"field": "segment", "op": "in", "value": ["smb", "enterprise"]}]
        }))
        .unwrap();
        let def = ReportDefinition::parse(&draft).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let q = rows_query(&def, today, 0, 50).unwrap();
        assert!(!q.sql.to_lowercase().contains("drop table"), "{}", q.sql);
        assert!(
            q.sql.contains("LOWER(a.name) LIKE $1 ESCAPE '\\'"),
            "{}",
            q.sql
        );
        assert!(
            q.sql.contains("a.contract_value_tier IN ($2, $3)"),
            "{}",
            q.sql
        );
        assert_eq!(q.args.len(), 5);
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    fn definition(v: serde_json::Value) -> ReportDefinition {
        ReportDefinition::parse(&serde_json::from_value::<ReportDraft>(v).unwrap()).unwrap()
    }

    #[test]
    fn grouped_account_reports_on_indexed_fields_are_pre_aggregated() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let q = prefix_grouped_query(
            &definition(serde_json::json!({
                "subject": "accounts",
                "filters": [{"field": "segment", "op": "ne", "value": "smb"}],
                "group_by": [{"field": "owner"}, {"field": "health_band"}],
                "aggregates": [{"fn": "count"}, {"fn": "avg", "field": "health_score"}]
            })),
            today,
        )
        .unwrap()
        .expect("owner and band lie in the index's first columns");
        // Grouped first by the index's prefix up to the owner, in the index's order.
        assert!(
            q.sql.contains("INDEXED BY accounts_list")
                && q.sql.contains(
                    "GROUP BY a.coverage_tier, a.lifecycle_stage, a.contract_value_tier, a.health_band, \
                     a.growth_potential, a.brand_value, a.referral_likelihood, a.owner_id) a \
                     LEFT JOIN users u ON u.id = a.owner_id"
                ),
            "{}",
            q.sql
        );
        // Not for a key past the prefix, a field outside the index, or another subject.
        for v in [
            serde_json::json!({"subject": "accounts", "group_by": [{"field": "renewal_date", "bucket": "month"}]}),
            serde_json::json!({"subject": "accounts", "group_by": [{"field": "segment"}], "aggregates": [{"fn": "sum", "field": "seats"}]}),
            serde_json::json!({"subject": "accounts", "group_by": [{"field": "segment"}], "filters": [{"field": "owner", "op": "eq", "value": "Ben"}]}),
            serde_json::json!({"subject": "contacts", "group_by": [{"field": "account_segment"}]}),
            serde_json::json!({"subject": "accounts", "aggregates": [{"fn": "count"}]}),
        ] {
            assert!(
                prefix_grouped_query(&definition(v.clone()), today)
                    .unwrap()
                    .is_none(),
                "{v}"
            );
        }
    }
}
