//! The report builder's vocabulary: what a person can report on (a subject and the catalogue of
//! its fields, each with a type and a Japanese and English label), and a report definition —
//! columns, filters, sort, group-by with aggregates and a chart — validated in one `parse` that
//! names every bad field.
//!
//! The catalogue is the only source of column names: the store maps each catalogue key to its
//! SQL, and a definition that exists refers to catalogue fields only, with values typed for their
//! field. Nothing a caller writes ever becomes SQL text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::{ContractValueTier, CoverageTier, LifecycleStage};
use crate::automation::{Reason, TaskKind, TaskOutcome, TaskPriority, TaskStatus};
use crate::error::{Collector, ValidationError};
use crate::health::HealthBand;
use crate::string_enum;
use crate::subscription::SubscriptionStatus;
use crate::touchpoint::{Sentiment, TouchpointKind};
use crate::user::Role;

/// Most columns a report shows.
pub const MAX_COLUMNS: usize = 30;
/// Most filters a report applies.
pub const MAX_FILTERS: usize = 20;
/// Most group-by fields (rows, then series).
pub const MAX_GROUP_BY: usize = 2;
/// Most aggregates a grouped report computes.
pub const MAX_AGGREGATES: usize = 6;
/// Most sort keys.
pub const MAX_SORT: usize = 3;
/// Most values in one `in` filter.
pub const MAX_IN_VALUES: usize = 100;
/// Longest text a filter compares with.
pub const MAX_TEXT_VALUE: usize = 200;

string_enum! {
    /// What a report counts: one row per account, contact, subscription, task or touchpoint.
    pub enum Subject {
        Accounts = "accounts",
        Contacts = "contacts",
        Subscriptions = "subscriptions",
        Tasks = "tasks",
        Touchpoints = "touchpoints",
    }
}

string_enum! {
    /// How a field's values are read, compared, summed and shown.
    pub enum FieldType {
        Text = "text",
        Number = "number",
        /// An amount in the major unit of the row's currency.
        Money = "money",
        Date = "date",
        /// One value of a closed vocabulary (segment, band, stage, …).
        Enum = "enum",
    }
}

string_enum! {
    /// A filter's comparison: = ≠ < ≤ > ≥, contains (text), in (a list), between (two bounds,
    /// both included), is empty, is not empty.
    pub enum Operator {
        Eq = "eq",
        Ne = "ne",
        Lt = "lt",
        Le = "le",
        Gt = "gt",
        Ge = "ge",
        Contains = "contains",
        In = "in",
        Between = "between",
        IsEmpty = "is_empty",
        NotEmpty = "not_empty",
    }
}

impl Operator {
    /// The sign shown in a filter row.
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "≠",
            Operator::Lt => "<",
            Operator::Le => "≤",
            Operator::Gt => ">",
            Operator::Ge => "≥",
            Operator::Contains => "∋",
            Operator::In => "∈",
            Operator::Between => "↔",
            Operator::IsEmpty => "∅",
            Operator::NotEmpty => "≠ ∅",
        }
    }

    /// Whether a field of type `ty` can be compared this way.
    pub fn applies_to(self, ty: FieldType) -> bool {
        use FieldType::*;
        match self {
            Operator::Eq | Operator::Ne | Operator::IsEmpty | Operator::NotEmpty => true,
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge | Operator::Between => {
                matches!(ty, Number | Money | Date)
            }
            Operator::Contains => ty == Text,
            Operator::In => matches!(ty, Text | Enum),
        }
    }
}

string_enum! {
    /// How dates are grouped.
    pub enum DateBucket {
        Day = "day",
        Month = "month",
        Quarter = "quarter",
        Year = "year",
    }
}

string_enum! {
    /// What a grouped report computes per group.
    pub enum Aggregate {
        Count = "count",
        Sum = "sum",
        Avg = "avg",
        Min = "min",
        Max = "max",
    }
}

string_enum! {
    /// How the grouped result is drawn.
    pub enum ChartKind {
        Bar = "bar",
        Line = "line",
        Pie = "pie",
    }
}

/// One reportable field of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Field {
    /// The name a definition uses (`arr`, `account_segment`).
    pub key: &'static str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub label_en: &'static str,
    pub label_ja: &'static str,
    /// The closed vocabulary of an enum field (`segment`, `band`, `stage`); empty otherwise.
    pub vocabulary: &'static str,
    /// Every value of an enum field; empty otherwise.
    pub values: &'static [&'static str],
}

impl Field {
    pub fn label(&self, japanese: bool) -> &'static str {
        if japanese {
            self.label_ja
        } else {
            self.label_en
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.ty, FieldType::Number | FieldType::Money)
    }
}

const fn text(key: &'static str, label_en: &'static str, label_ja: &'static str) -> Field {
    typed(key, FieldType::Text, label_en, label_ja)
}

const fn typed(
    key: &'static str,
    ty: FieldType,
    label_en: &'static str,
    label_ja: &'static str,
) -> Field {
    Field {
        key,
        ty,
        label_en,
        label_ja,
        vocabulary: "",
        values: &[],
    }
}

const fn vocab(
    key: &'static str,
    label_en: &'static str,
    label_ja: &'static str,
    vocabulary: &'static str,
    values: &'static [&'static str],
) -> Field {
    Field {
        key,
        ty: FieldType::Enum,
        label_en,
        label_ja,
        vocabulary,
        values,
    }
}

use FieldType::{Date, Money, Number};

/// The account fields every other subject carries through its account.
macro_rules! account_fields {
    () => {
        [
            text("account_name", "Account", "アカウント"),
            vocab(
                "account_segment",
                "Account segment",
                "アカウントのセグメント",
                "segment",
                ContractValueTier::NAMES,
            ),
            vocab(
                "account_tier",
                "Account coverage tier",
                "アカウントのカバレッジ",
                "tier",
                CoverageTier::NAMES,
            ),
            vocab(
                "account_stage",
                "Account stage",
                "アカウントのステージ",
                "stage",
                LifecycleStage::NAMES,
            ),
            text("account_owner", "Account owner", "アカウント担当"),
            typed(
                "account_health_score",
                Number,
                "Account health score",
                "アカウントのヘルススコア",
            ),
            vocab(
                "account_health_band",
                "Account health band",
                "アカウントのヘルス帯",
                "band",
                HealthBand::NAMES,
            ),
            typed("account_arr", Money, "Account ARR", "アカウントのARR"),
        ]
    };
}

const ACCOUNTS: &[Field] = &[
    text("name", "Name", "名前"),
    text("industry", "Industry", "業種"),
    vocab(
        "segment",
        "Segment",
        "セグメント",
        "segment",
        ContractValueTier::NAMES,
    ),
    vocab(
        "coverage_tier",
        "Coverage tier",
        "カバレッジ",
        "tier",
        CoverageTier::NAMES,
    ),
    vocab(
        "lifecycle_stage",
        "Stage",
        "ステージ",
        "stage",
        LifecycleStage::NAMES,
    ),
    text("owner", "Owner (CSM)", "担当CSM"),
    typed("health_score", Number, "Health score", "ヘルススコア"),
    vocab(
        "health_band",
        "Health band",
        "ヘルス帯",
        "band",
        HealthBand::NAMES,
    ),
    typed("mrr", Money, "MRR", "MRR"),
    typed("arr", Money, "ARR", "ARR"),
    typed("seats", Number, "Seats", "シート数"),
    typed("employees", Number, "Employees", "従業員数"),
    typed("renewal_date", Date, "Renewal date", "更新日"),
    typed("created_on", Date, "Created", "登録日"),
    typed("churned_on", Date, "Churned", "解約日"),
];

const CONTACTS: &[Field] = &{
    let a = account_fields!();
    [
        text("name", "Name", "名前"),
        text("email", "E-mail", "メール"),
        text("title", "Title", "役職"),
        text("roles", "Roles", "役割"),
        typed("first_seen", Date, "First seen", "初回利用日"),
        typed("last_seen", Date, "Last seen", "最終利用日"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        a[5],
        a[6],
        a[7],
    ]
};

const SUBSCRIPTIONS: &[Field] = &{
    let a = account_fields!();
    [
        text("product", "Product", "製品"),
        text("plan", "Plan", "プラン"),
        vocab(
            "status",
            "Status",
            "状態",
            "sub_status",
            SubscriptionStatus::NAMES,
        ),
        typed("mrr", Money, "MRR", "MRR"),
        typed("arr", Money, "ARR", "ARR"),
        typed("seats", Number, "Seats", "シート数"),
        typed("start_date", Date, "Start", "開始日"),
        typed("end_date", Date, "End (renewal)", "終了日（更新日）"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        a[5],
        a[6],
    ]
};

const TASKS: &[Field] = &{
    let a = account_fields!();
    [
        text("title", "Title", "件名"),
        vocab("kind", "Kind", "種類", "task_kind", TaskKind::NAMES),
        vocab(
            "priority",
            "Priority",
            "優先度",
            "priority",
            TaskPriority::NAMES,
        ),
        vocab("status", "Status", "状態", "task_status", TaskStatus::NAMES),
        vocab("reason", "Reason", "理由", "reason", Reason::NAMES),
        vocab("outcome", "Outcome", "結果", "outcome", TaskOutcome::NAMES),
        text("owner", "Task owner", "タスク担当"),
        typed("due_on", Date, "Due", "期限"),
        typed("created_on", Date, "Created", "作成日"),
        typed("closed_on", Date, "Closed", "完了日"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        a[5],
        a[6],
        a[7],
    ]
};

const TOUCHPOINTS: &[Field] = &{
    let a = account_fields!();
    [
        vocab("kind", "Type", "種類", "tp_kind", TouchpointKind::NAMES),
        text("subject", "Subject", "件名"),
        vocab(
            "sentiment",
            "Sentiment",
            "感触",
            "sentiment",
            Sentiment::NAMES,
        ),
        typed("occurred_on", Date, "Date", "日付"),
        typed("duration_minutes", Number, "Minutes", "所要時間（分）"),
        text("author", "Logged by", "記録者"),
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        a[5],
        a[6],
        a[7],
    ]
};

impl Subject {
    /// The subject's fields, in the order the builder shows them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Subject::Accounts => ACCOUNTS,
            Subject::Contacts => CONTACTS,
            Subject::Subscriptions => SUBSCRIPTIONS,
            Subject::Tasks => TASKS,
            Subject::Touchpoints => TOUCHPOINTS,
        }
    }

    pub fn field(self, key: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.key == key)
    }

    pub fn label(self, japanese: bool) -> &'static str {
        match (self, japanese) {
            (Subject::Accounts, false) => "Accounts",
            (Subject::Accounts, true) => "アカウント",
            (Subject::Contacts, false) => "Contacts",
            (Subject::Contacts, true) => "コンタクト",
            (Subject::Subscriptions, false) => "Subscriptions",
            (Subject::Subscriptions, true) => "契約",
            (Subject::Tasks, false) => "Tasks",
            (Subject::Tasks, true) => "タスク",
            (Subject::Touchpoints, false) => "Touchpoints",
            (Subject::Touchpoints, true) => "タッチポイント",
        }
    }
}

impl Aggregate {
    pub fn label(self, japanese: bool) -> &'static str {
        match (self, japanese) {
            (Aggregate::Count, false) => "Count",
            (Aggregate::Count, true) => "件数",
            (Aggregate::Sum, false) => "Sum",
            (Aggregate::Sum, true) => "合計",
            (Aggregate::Avg, false) => "Average",
            (Aggregate::Avg, true) => "平均",
            (Aggregate::Min, false) => "Minimum",
            (Aggregate::Min, true) => "最小",
            (Aggregate::Max, false) => "Maximum",
            (Aggregate::Max, true) => "最大",
        }
    }
}

impl DateBucket {
    pub fn label(self, japanese: bool) -> &'static str {
        match (self, japanese) {
            (DateBucket::Day, false) => "day",
            (DateBucket::Day, true) => "日",
            (DateBucket::Month, false) => "month",
            (DateBucket::Month, true) => "月",
            (DateBucket::Quarter, false) => "quarter",
            (DateBucket::Quarter, true) => "四半期",
            (DateBucket::Year, false) => "year",
            (DateBucket::Year, true) => "年",
        }
    }
}

// ---------------------------------------------------------------------------- the definition

/// A report definition as a caller writes it (JSON in the API, the saved form). Names are plain
/// strings so that `parse` can name every bad one instead of failing at the first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDraft {
    /// `accounts`, `contacts`, `subscriptions`, `tasks` or `touchpoints`.
    pub subject: Option<String>,
    /// Field keys shown as the row view's columns (ignored when grouping).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub filters: Vec<FilterDraft>,
    /// Sort keys: a column's key, or when grouping a group field's key or an aggregate's id
    /// (`count`, `sum_arr`).
    #[serde(default)]
    pub sort: Vec<SortDraft>,
    /// Up to two fields to group by; a date field can be grouped by day, month, quarter or year.
    #[serde(default)]
    pub group_by: Vec<GroupDraft>,
    /// What to compute per group; `count` when grouping without any.
    #[serde(default)]
    pub aggregates: Vec<AggregateDraft>,
    /// `bar`, `line` or `pie`, over the grouped result.
    pub chart: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilterDraft {
    pub field: Option<String>,
    /// `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `contains`, `in`, `between`, `is_empty`, `not_empty`.
    pub op: Option<String>,
    /// A string, number or `YYYY-MM-DD` date; a list for `in`; `[from, to]` for `between`;
    /// nothing for `is_empty` and `not_empty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SortDraft {
    pub field: Option<String>,
    #[serde(default)]
    pub desc: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDraft {
    pub field: Option<String>,
    /// For a date field: `day`, `month` (the default), `quarter` or `year`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AggregateDraft {
    /// `count`, `sum`, `avg`, `min` or `max`.
    #[serde(rename = "fn")]
    pub func: Option<String>,
    /// The numeric field (not for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// One value a filter compares with, typed for its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// A date relative to the day the report runs (`today`, `today+90`, `today-30`), so a saved
    /// report such as "renewals in the next 90 days" stays true.
    DaysFromToday(i64),
}

/// Most days a relative date reaches (ten years).
pub const MAX_RELATIVE_DAYS: i64 = 3660;

/// Reads `today`, `today+N` or `today-N`.
fn relative_date(raw: &str) -> Option<i64> {
    let rest = raw.trim().strip_prefix("today")?.trim();
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, digits) = match rest.split_at(1) {
        ("+", d) => (1, d),
        ("-", d) => (-1, d),
        _ => return None,
    };
    let n: i64 = digits.trim().parse().ok()?;
    (n <= MAX_RELATIVE_DAYS).then_some(sign * n)
}

impl Scalar {
    /// The date a relative date stands for on `today`; other values unchanged.
    pub fn resolve(&self, today: NaiveDate) -> Scalar {
        match self {
            Scalar::DaysFromToday(n) => Scalar::Date(today + chrono::Duration::days(*n)),
            other => other.clone(),
        }
    }
}

impl Scalar {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Text(s) => serde_json::Value::String(s.clone()),
            Scalar::Number(n) => serde_json::json!(n),
            Scalar::Date(d) => serde_json::Value::String(d.to_string()),
            Scalar::DaysFromToday(0) => serde_json::Value::String("today".into()),
            Scalar::DaysFromToday(n) => serde_json::Value::String(format!("today{n:+}")),
        }
    }
}

/// What a filter compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    None,
    One(Scalar),
    Many(Vec<Scalar>),
    Range(Scalar, Scalar),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: &'static Field,
    pub op: Operator,
    pub value: FilterValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grouping {
    pub field: &'static Field,
    /// Set for date fields only.
    pub bucket: Option<DateBucket>,
}

impl Grouping {
    pub fn label(&self, japanese: bool) -> String {
        match self.bucket {
            Some(b) if japanese => format!("{}（{}）", self.field.label_ja, b.label(true)),
            Some(b) => format!("{} ({})", self.field.label_en, b.label(false)),
            None => self.field.label(japanese).to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub func: Aggregate,
    /// `None` for a count.
    pub field: Option<&'static Field>,
}

impl Measure {
    /// The measure's column id: `count`, `sum_arr`.
    pub fn id(&self) -> String {
        match self.field {
            Some(f) => format!("{}_{}", self.func.as_str(), f.key),
            None => self.func.as_str().to_string(),
        }
    }

    pub fn label(&self, japanese: bool) -> String {
        match (self.field, japanese) {
            (None, _) => self.func.label(japanese).to_string(),
            (Some(f), true) => format!("{}の{}", f.label_ja, self.func.label(true)),
            (Some(f), false) => format!("{} of {}", self.func.label(false), f.label_en),
        }
    }

    /// Money stays money when summed, averaged or bounded; a count is a number.
    pub fn ty(&self) -> FieldType {
        match self.field {
            Some(f) if f.ty == FieldType::Money => FieldType::Money,
            _ => FieldType::Number,
        }
    }
}

/// What a sort key points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortTarget {
    /// A column of the row view.
    Field(&'static Field),
    /// The n-th group-by field.
    Group(usize),
    /// The n-th aggregate.
    Measure(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortKey {
    pub target: SortTarget,
    pub desc: bool,
}

/// A valid report definition: every name is in the subject's catalogue and every value is typed
/// for its field.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDefinition {
    pub subject: Subject,
    pub columns: Vec<&'static Field>,
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    pub group_by: Vec<Grouping>,
    pub aggregates: Vec<Measure>,
    pub chart: Option<ChartKind>,
}

impl ReportDefinition {
    /// Whether the result is grouped (group-by fields or aggregates) rather than one row per
    /// record.
    pub fn is_grouped(&self) -> bool {
        !self.group_by.is_empty() || !self.aggregates.is_empty()
    }

    /// Validates a draft, reporting every bad field with its path (`filters[1].value`).
    pub fn parse(draft: &ReportDraft) -> Result<ReportDefinition, ValidationError> {
        let mut c = Collector::new();
        let subject = match draft.subject.as_deref().map(str::trim) {
            None | Some("") => {
                c.add("subject", "choose what to report on");
                None
            }
            Some(s) => c.check("subject", s.parse::<Subject>()),
        };
        let Some(subject) = subject else {
            // Every other name depends on the subject's catalogue.
            return Err(c.finish().err().unwrap_or_else(|| {
                ValidationError::single("subject", "choose what to report on")
            }));
        };
        let field_of = |c: &mut Collector, path: &str, key: Option<&str>| match key.map(str::trim) {
            None | Some("") => {
                c.add(path, "choose a field");
                None
            }
            Some(k) => match subject.field(k) {
                Some(f) => Some(f),
                None => {
                    c.add(
                        path,
                        format!(
                            "`{k}` is not a field of {}; known fields: {}",
                            subject.as_str(),
                            subject
                                .fields()
                                .iter()
                                .map(|f| f.key)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    None
                }
            },
        };

        // Columns.
        if draft.columns.len() > MAX_COLUMNS {
            c.add("columns", format!("at most {MAX_COLUMNS} columns"));
        }
        let mut columns = Vec::new();
        for (n, key) in draft.columns.iter().enumerate() {
            let path = format!("columns[{n}]");
            if let Some(f) = field_of(&mut c, &path, Some(key)) {
                if columns.iter().any(|g: &&Field| g.key == f.key) {
                    c.add(&path, format!("`{}` is listed twice", f.key));
                } else {
                    columns.push(f);
                }
            }
        }

        // Filters.
        if draft.filters.len() > MAX_FILTERS {
            c.add("filters", format!("at most {MAX_FILTERS} filters"));
        }
        let mut filters = Vec::new();
        for (n, fd) in draft.filters.iter().enumerate() {
            let path = format!("filters[{n}]");
            let field = field_of(&mut c, &format!("{path}.field"), fd.field.as_deref());
            let op = match fd.op.as_deref().map(str::trim) {
                None | Some("") => {
                    c.add(&format!("{path}.op"), "choose a comparison");
                    None
                }
                Some(o) => c.check(&format!("{path}.op"), o.parse::<Operator>()),
            };
            let (Some(field), Some(op)) = (field, op) else {
                continue;
            };
            if !op.applies_to(field.ty) {
                c.add(
                    &format!("{path}.op"),
                    format!(
                        "`{}` does not apply to the {} field `{}`",
                        op.as_str(),
                        field.ty.as_str(),
                        field.key
                    ),
                );
                continue;
            }
            if let Some(value) = filter_value(
                &mut c,
                &format!("{path}.value"),
                field,
                op,
                fd.value.as_ref(),
            ) {
                filters.push(Filter { field, op, value });
            }
        }

        // Group-by and aggregates.
        if draft.group_by.len() > MAX_GROUP_BY {
            c.add("group_by", format!("at most {MAX_GROUP_BY} fields"));
        }
        let mut group_by = Vec::new();
        for (n, g) in draft.group_by.iter().take(MAX_GROUP_BY).enumerate() {
            let path = format!("group_by[{n}]");
            let Some(field) = field_of(&mut c, &format!("{path}.field"), g.field.as_deref()) else {
                continue;
            };
            if field.ty == FieldType::Money {
                c.add(
                    &format!("{path}.field"),
                    format!(
                        "`{}` is an amount; sum or average it instead of grouping by it",
                        field.key
                    ),
                );
                continue;
            }
            let bucket = match (field.ty, g.bucket.as_deref().map(str::trim)) {
                (FieldType::Date, None | Some("")) => Some(DateBucket::Month),
                (FieldType::Date, Some(b)) => {
                    match c.check(&format!("{path}.bucket"), b.parse::<DateBucket>()) {
                        Some(b) => Some(b),
                        None => continue,
                    }
                }
                (_, None | Some("")) => None,
                (_, Some(_)) => {
                    c.add(
                        &format!("{path}.bucket"),
                        format!("only a date field is grouped by day, month, quarter or year; `{}` is not a date", field.key),
                    );
                    continue;
                }
            };
            if group_by.iter().any(|o: &Grouping| o.field.key == field.key) {
                c.add(
                    &format!("{path}.field"),
                    format!("`{}` is listed twice", field.key),
                );
                continue;
            }
            group_by.push(Grouping { field, bucket });
        }
        if draft.aggregates.len() > MAX_AGGREGATES {
            c.add("aggregates", format!("at most {MAX_AGGREGATES} aggregates"));
        }
        let mut aggregates: Vec<Measure> = Vec::new();
        for (n, a) in draft.aggregates.iter().enumerate() {
            let path = format!("aggregates[{n}]");
            let func = match a.func.as_deref().map(str::trim) {
                None | Some("") => {
                    c.add(&format!("{path}.fn"), "choose count, sum, avg, min or max");
                    continue;
                }
                Some(f) => match c.check(&format!("{path}.fn"), f.parse::<Aggregate>()) {
                    Some(f) => f,
                    None => continue,
                },
            };
            let field = match (func, a.field.as_deref().map(str::trim)) {
                (Aggregate::Count, None | Some("")) => None,
                (Aggregate::Count, Some(_)) => {
                    c.add(
                        &format!("{path}.field"),
                        "a count counts rows; leave the field out",
                    );
                    continue;
                }
                (_, key) => {
                    let Some(f) = field_of(&mut c, &format!("{path}.field"), key) else {
                        continue;
                    };
                    if !f.is_numeric() {
                        c.add(
                            &format!("{path}.field"),
                            format!(
                                "`{}` is not a number or an amount; only those are summed, averaged or bounded",
                                f.key
                            ),
                        );
                        continue;
                    }
                    Some(f)
                }
            };
            let m = Measure { func, field };
            if aggregates.iter().any(|o| o.id() == m.id()) {
                c.add(&path, format!("`{}` is listed twice", m.id()));
                continue;
            }
            aggregates.push(m);
        }
        if !group_by.is_empty() && aggregates.is_empty() && draft.aggregates.is_empty() {
            aggregates.push(Measure {
                func: Aggregate::Count,
                field: None,
            });
        }
        let grouped = !draft.group_by.is_empty() || !draft.aggregates.is_empty();
        if !grouped && draft.columns.is_empty() {
            c.add("columns", "choose at least one column, or group the rows");
        }

        // Sort.
        if draft.sort.len() > MAX_SORT {
            c.add("sort", format!("at most {MAX_SORT} sort keys"));
        }
        let mut sort = Vec::new();
        for (n, s) in draft.sort.iter().enumerate() {
            let path = format!("sort[{n}].field");
            let key = s.field.as_deref().map(str::trim).unwrap_or("");
            let target = if grouped {
                group_by
                    .iter()
                    .position(|g| g.field.key == key)
                    .map(SortTarget::Group)
                    .or_else(|| {
                        aggregates
                            .iter()
                            .position(|m| m.id() == key)
                            .map(SortTarget::Measure)
                    })
            } else {
                columns
                    .iter()
                    .find(|f| f.key == key)
                    .map(|f| SortTarget::Field(f))
            };
            match target {
                Some(target) => sort.push(SortKey {
                    target,
                    desc: s.desc,
                }),
                None if grouped => c.add(
                    &path,
                    format!("`{key}` is neither a group-by field nor an aggregate of this report"),
                ),
                None => c.add(&path, format!("`{key}` is not one of the report's columns")),
            }
        }

        // Chart.
        let chart = match draft.chart.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => c.check("chart", k.parse::<ChartKind>()),
        };
        if let Some(kind) = chart {
            if draft.group_by.is_empty() {
                c.add(
                    "chart",
                    "a chart draws grouped rows; choose a field to group by",
                );
            } else if kind == ChartKind::Pie && draft.group_by.len() > 1 {
                c.add(
                    "chart",
                    "a pie chart shows one grouping; remove the second group-by field",
                );
            }
        }

        c.finish()?;
        Ok(ReportDefinition {
            subject,
            columns,
            filters,
            sort,
            group_by,
            aggregates,
            chart,
        })
    }

    /// The definition in its canonical written form (what is saved).
    pub fn to_draft(&self) -> ReportDraft {
        ReportDraft {
            subject: Some(self.subject.as_str().to_string()),
            columns: self.columns.iter().map(|f| f.key.to_string()).collect(),
            filters: self
                .filters
                .iter()
                .map(|f| FilterDraft {
                    field: Some(f.field.key.to_string()),
                    op: Some(f.op.as_str().to_string()),
                    value: match &f.value {
                        FilterValue::None => None,
                        FilterValue::One(v) => Some(v.to_json()),
                        FilterValue::Many(vs) => Some(serde_json::Value::Array(
                            vs.iter().map(Scalar::to_json).collect(),
                        )),
                        FilterValue::Range(a, b) => {
                            Some(serde_json::Value::Array(vec![a.to_json(), b.to_json()]))
                        }
                    },
                })
                .collect(),
            sort: self
                .sort
                .iter()
                .map(|s| SortDraft {
                    field: Some(match s.target {
                        SortTarget::Field(f) => f.key.to_string(),
                        SortTarget::Group(n) => self.group_by[n].field.key.to_string(),
                        SortTarget::Measure(n) => self.aggregates[n].id(),
                    }),
                    desc: s.desc,
                })
                .collect(),
            group_by: self
                .group_by
                .iter()
                .map(|g| GroupDraft {
                    field: Some(g.field.key.to_string()),
                    bucket: g.bucket.map(|b| b.as_str().to_string()),
                })
                .collect(),
            aggregates: self
                .aggregates
                .iter()
                .map(|m| AggregateDraft {
                    func: Some(m.func.as_str().to_string()),
                    field: m.field.map(|f| f.key.to_string()),
                })
                .collect(),
            chart: self.chart.map(|k| k.as_str().to_string()),
        }
    }

    /// The result's columns: the chosen columns, or the group fields then the aggregates.
    pub fn result_columns(&self) -> Vec<ResultColumn> {
        if self.is_grouped() {
            let groups = self.group_by.iter().map(|g| ResultColumn {
                key: g.field.key.to_string(),
                ty: if g.bucket.is_some_and(|b| b != DateBucket::Day) {
                    FieldType::Text
                } else {
                    g.field.ty
                },
                label_en: g.label(false),
                label_ja: g.label(true),
                vocabulary: g.field.vocabulary.to_string(),
            });
            let measures = self.aggregates.iter().map(|m| ResultColumn {
                key: m.id(),
                ty: m.ty(),
                label_en: m.label(false),
                label_ja: m.label(true),
                vocabulary: String::new(),
            });
            groups.chain(measures).collect()
        } else {
            self.columns
                .iter()
                .map(|f| ResultColumn {
                    key: f.key.to_string(),
                    ty: f.ty,
                    label_en: f.label_en.to_string(),
                    label_ja: f.label_ja.to_string(),
                    vocabulary: f.vocabulary.to_string(),
                })
                .collect()
        }
    }
}

fn scalar(c: &mut Collector, path: &str, field: &Field, raw: &serde_json::Value) -> Option<Scalar> {
    use serde_json::Value;
    match field.ty {
        FieldType::Number | FieldType::Money => match raw {
            Value::Number(n) => n.as_f64().map(Scalar::Number),
            Value::String(s) => match s.trim().replace(',', "").parse::<f64>() {
                Ok(v) if v.is_finite() => Some(Scalar::Number(v)),
                _ => {
                    c.add(path, format!("`{s}` is not a number"));
                    None
                }
            },
            _ => {
                c.add(path, "give a number");
                None
            }
        },
        FieldType::Date => match raw {
            Value::String(s) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => Some(Scalar::Date(d)),
                Err(_) => match relative_date(s) {
                    Some(n) => Some(Scalar::DaysFromToday(n)),
                    None => {
                        c.add(
                            path,
                            format!("`{s}` is not a date (YYYY-MM-DD, or today, today+N, today-N)"),
                        );
                        None
                    }
                },
            },
            _ => {
                c.add(path, "give a date as YYYY-MM-DD");
                None
            }
        },
        FieldType::Text => match raw {
            Value::String(s) if s.trim().is_empty() => {
                c.add(path, "give a text to compare with");
                None
            }
            Value::String(s) if s.chars().count() > MAX_TEXT_VALUE => {
                c.add(path, format!("at most {MAX_TEXT_VALUE} characters"));
                None
            }
            Value::String(s) => Some(Scalar::Text(s.trim().to_string())),
            Value::Number(n) => Some(Scalar::Text(n.to_string())),
            _ => {
                c.add(path, "give a text");
                None
            }
        },
        FieldType::Enum => match raw {
            Value::String(s) if field.values.contains(&s.trim()) => {
                Some(Scalar::Text(s.trim().to_string()))
            }
            Value::String(s) => {
                c.add(
                    path,
                    format!(
                        "`{s}` is not a value of `{}`; expected one of: {}",
                        field.key,
                        field.values.join(", ")
                    ),
                );
                None
            }
            _ => {
                c.add(path, format!("give one of: {}", field.values.join(", ")));
                None
            }
        },
    }
}

fn filter_value(
    c: &mut Collector,
    path: &str,
    field: &Field,
    op: Operator,
    raw: Option<&serde_json::Value>,
) -> Option<FilterValue> {
    use serde_json::Value;
    let raw = raw.filter(|v| !v.is_null());
    match op {
        Operator::IsEmpty | Operator::NotEmpty => match raw {
            None => Some(FilterValue::None),
            Some(_) => {
                c.add(path, format!("`{}` takes no value", op.as_str()));
                None
            }
        },
        Operator::In => match raw {
            Some(Value::Array(items)) if items.is_empty() => {
                c.add(path, "give at least one value");
                None
            }
            Some(Value::Array(items)) if items.len() > MAX_IN_VALUES => {
                c.add(path, format!("at most {MAX_IN_VALUES} values"));
                None
            }
            Some(Value::Array(items)) => {
                let values: Vec<Option<Scalar>> = items
                    .iter()
                    .enumerate()
                    .map(|(n, v)| scalar(c, &format!("{path}[{n}]"), field, v))
                    .collect();
                values
                    .into_iter()
                    .collect::<Option<Vec<Scalar>>>()
                    .map(FilterValue::Many)
            }
            Some(v) => scalar(c, path, field, v).map(|s| FilterValue::Many(vec![s])),
            None => {
                c.add(path, "give a list of values");
                None
            }
        },
        Operator::Between => match raw {
            Some(Value::Array(items)) if items.len() == 2 => {
                let from = scalar(c, &format!("{path}[0]"), field, &items[0]);
                let to = scalar(c, &format!("{path}[1]"), field, &items[1]);
                let (from, to) = (from?, to?);
                let reversed = match (&from, &to) {
                    (Scalar::Number(a), Scalar::Number(b)) => a > b,
                    (Scalar::Date(a), Scalar::Date(b)) => a > b,
                    (Scalar::DaysFromToday(a), Scalar::DaysFromToday(b)) => a > b,
                    _ => false,
                };
                if reversed {
                    c.add(path, "the first bound must not be above the second");
                    return None;
                }
                Some(FilterValue::Range(from, to))
            }
            _ => {
                c.add(path, "give two bounds: [from, to]");
                None
            }
        },
        _ => match raw {
            Some(Value::Array(_)) => {
                c.add(path, "give one value, not a list");
                None
            }
            Some(v) => scalar(c, path, field, v).map(FilterValue::One),
            None => {
                c.add(path, "give a value to compare with");
                None
            }
        },
    }
}

// ---------------------------------------------------------------------------- results

/// One column of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultColumn {
    pub key: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub label_en: String,
    pub label_ja: String,
    /// The closed vocabulary of an enum column (for its labels); empty otherwise.
    pub vocabulary: String,
}

impl ResultColumn {
    pub fn label(&self, japanese: bool) -> &str {
        if japanese {
            &self.label_ja
        } else {
            &self.label_en
        }
    }
}

/// One cell: text (also dates as `YYYY-MM-DD` and date groups as `2026-04`, `2026-Q2`, `2026`),
/// a number, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Cell {
    Number(f64),
    Text(String),
    Null,
}

impl Cell {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The cell as written in a CSV file: codes, ISO dates and plain numbers.
    pub fn plain(&self) -> String {
        match self {
            Cell::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", *n as i64)
                } else {
                    format!("{n}")
                }
            }
            Cell::Text(s) => s.clone(),
            Cell::Null => String::new(),
        }
    }
}

/// One row of a result, with the currency of its amounts (`None` when it has none, or when a
/// group mixes currencies).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultRow {
    pub cells: Vec<Cell>,
    pub currency: Option<String>,
}

/// A report's result: the columns, one page of rows (or every group), and how many there are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportResult {
    pub grouped: bool,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<ResultRow>,
    /// Matching records (row view) or groups (grouped view).
    pub total: i64,
    /// The offset of the next page of the row view, if there is one.
    pub next_offset: Option<i64>,
    /// Whether more groups matched than a grouped result returns.
    pub truncated: bool,
}

// ---------------------------------------------------------------------------- who may do what

/// Longest name of a saved report.
pub const MAX_NAME: usize = 120;

/// A saved report's name: trimmed, 1 to [`MAX_NAME`] characters.
pub fn parse_name(raw: Option<&str>) -> Result<String, ValidationError> {
    let name = raw.map(str::trim).unwrap_or("");
    if name.is_empty() {
        Err(ValidationError::single("name", "give the report a name"))
    } else if name.chars().count() > MAX_NAME {
        Err(ValidationError::single(
            "name",
            format!("at most {MAX_NAME} characters"),
        ))
    } else {
        Ok(name.to_string())
    }
}

/// Whether a user of `role` may see a saved report of `owner` (shared or not).
pub fn may_view(role: Role, user: Option<i64>, owner: Option<i64>, shared: bool) -> bool {
    shared || matches!(role, Role::Admin | Role::Manager) || (owner.is_some() && owner == user)
}

/// Whether a user of `role` may change or delete a saved report of `owner`: managers and admins
/// every report, a CSM their own, a viewer none.
pub fn may_edit(role: Role, user: Option<i64>, owner: Option<i64>) -> bool {
    match role {
        Role::Admin | Role::Manager => true,
        Role::Csm => owner.is_some() && owner == user,
        Role::Viewer => false,
    }
}

/// Whether a user of `role` may save reports at all.
pub fn may_save(role: Role) -> bool {
    role != Role::Viewer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(v: serde_json::Value) -> ReportDraft {
        serde_json::from_value(v).expect("draft")
    }

    fn fields_of(r: Result<ReportDefinition, ValidationError>) -> Vec<String> {
        match r {
            Ok(_) => vec![],
            Err(e) => e.errors.into_iter().map(|f| f.field).collect(),
        }
    }

    #[test]
    fn every_catalogue_is_well_formed() {
        for s in Subject::ALL {
            let mut keys: Vec<&str> = s.fields().iter().map(|f| f.key).collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), n, "{s} lists a key twice");
            for f in s.fields() {
                assert_eq!(
                    f.ty == FieldType::Enum,
                    !f.values.is_empty(),
                    "{s}.{}",
                    f.key
                );
                assert_eq!(
                    f.ty == FieldType::Enum,
                    !f.vocabulary.is_empty(),
                    "{s}.{}",
                    f.key
                );
                assert!(!f.label_ja.is_empty() && !f.label_en.is_empty());
            }
            if *s != Subject::Accounts {
                for joined in [
                    "account_name",
                    "account_segment",
                    "account_owner",
                    "account_health_band",
                ] {
                    assert!(s.field(joined).is_some(), "{s} lacks {joined}");
                }
            }
        }
    }

    #[test]
    fn a_good_grouped_definition_parses_and_round_trips() {
        let d = draft(json!({
            "subject": "accounts",
            "filters": [
                {"field": "arr", "op": "ge", "value": 1000},
                {"field": "segment", "op": "in", "value": ["enterprise", "smb"]},
                {"field": "renewal_date", "op": "between", "value": ["2026-01-01", "2026-03-31"]},
                {"field": "name", "op": "contains", "value": "Acme"},
                {"field": "churned_on", "op": "is_empty"}
            ],
            "group_by": [{"field": "segment"}, {"field": "renewal_date", "bucket": "quarter"}],
            "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "arr"}],
            "sort": [{"field": "sum_arr", "desc": true}],
            "chart": "bar"
        }));
        let def = ReportDefinition::parse(&d).expect("valid");
        assert!(def.is_grouped());
        assert_eq!(
            def.filters[0].value,
            FilterValue::One(Scalar::Number(1000.0))
        );
        assert_eq!(
            def.filters[2].value,
            FilterValue::Range(
                Scalar::Date(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
                Scalar::Date(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())
            )
        );
        assert_eq!(def.sort[0].target, SortTarget::Measure(1));
        assert_eq!(def.group_by[1].bucket, Some(DateBucket::Quarter));
        let keys: Vec<String> = def.result_columns().into_iter().map(|c| c.key).collect();
        assert_eq!(keys, ["segment", "renewal_date", "count", "sum_arr"]);
        assert_eq!(def.result_columns()[3].ty, FieldType::Money);
        assert_eq!(def.result_columns()[3].label_ja, "ARRの合計");
        // The canonical form parses to the same definition.
        assert_eq!(ReportDefinition::parse(&def.to_draft()).unwrap(), def);
    }

    #[test]
    fn grouping_without_aggregates_counts_and_dates_default_to_months() {
        let def = ReportDefinition::parse(&draft(json!({
            "subject": "touchpoints",
            "group_by": [{"field": "occurred_on"}, {"field": "kind"}]
        })))
        .unwrap();
        assert_eq!(
            def.aggregates,
            vec![Measure {
                func: Aggregate::Count,
                field: None
            }]
        );
        assert_eq!(def.group_by[0].bucket, Some(DateBucket::Month));
        assert_eq!(def.group_by[1].bucket, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let check = |v: serde_json::Value, expected: &[&str]| {
            assert_eq!(
                fields_of(ReportDefinition::parse(&draft(v.clone()))),
                expected,
                "{v}"
            );
        };
        check(json!({}), &["subject"]);
        check(json!({"subject": "invoices"}), &["subject"]);
        check(json!({"subject": "accounts"}), &["columns"]);
        check(
            json!({"subject": "accounts", "columns": ["name", "colour", "name"]}),
            &["columns[1]", "columns[2]"],
        );
        check(
            json!({
                "subject": "accounts",
                "columns": ["name"],
                "filters": [
                    {"field": "arr", "op": "gt", "value": "lots"},
                    {"field": "segment", "op": "eq", "value": "giant"},
                    {"field": "renewal_date", "op": "lt", "value": "2026-13-01"},
                    {"field": "name", "op": "lt", "value": "x"},
                    {"field": "name", "op": "like", "value": "x"},
                    {"field": "nope", "op": "eq", "value": 1},
                    {"field": "arr", "op": "between", "value": [5, 1]},
                    {"field": "segment", "op": "in", "value": ["smb", "huge"]},
                    {"field": "industry", "op": "is_empty", "value": "x"},
                    {"field": "industry", "op": "eq"}
                ]
            }),
            &[
                "filters[0].value",
                "filters[1].value",
                "filters[2].value",
                "filters[3].op",
                "filters[4].op",
                "filters[5].field",
                "filters[6].value",
                "filters[7].value[1]",
                "filters[8].value",
                "filters[9].value",
            ],
        );
        check(
            json!({
                "subject": "subscriptions",
                "group_by": [{"field": "arr"}, {"field": "product", "bucket": "month"}, {"field": "status"}],
                "aggregates": [{"fn": "sum", "field": "product"}, {"fn": "median", "field": "arr"}, {"fn": "count", "field": "arr"}],
                "chart": "donut"
            }),
            &[
                "group_by",
                "group_by[0].field",
                "group_by[1].bucket",
                "aggregates[0].field",
                "aggregates[1].fn",
                "aggregates[2].field",
                "chart",
            ],
        );
        check(
            json!({"subject": "tasks", "columns": ["title"], "chart": "bar", "sort": [{"field": "owner"}]}),
            &["sort[0].field", "chart"],
        );
        check(
            json!({"subject": "tasks", "group_by": [{"field": "owner"}, {"field": "status"}], "chart": "pie"}),
            &["chart"],
        );
    }

    #[test]
    fn operators_apply_by_type() {
        use FieldType::*;
        let check = |op: Operator, ty: FieldType, ok: bool| {
            assert_eq!(op.applies_to(ty), ok, "{op} on {ty}")
        };
        check(Operator::Contains, Text, true);
        check(Operator::Contains, Enum, false);
        check(Operator::Lt, Date, true);
        check(Operator::Lt, Enum, false);
        check(Operator::Between, Money, true);
        check(Operator::In, Enum, true);
        check(Operator::In, Number, false);
        check(Operator::IsEmpty, Number, true);
    }

    #[test]
    fn roles_decide_who_sees_and_changes_a_saved_report() {
        let (me, other) = (Some(1), Some(2));
        assert!(may_view(Role::Viewer, me, other, true));
        assert!(!may_view(Role::Viewer, me, other, false));
        assert!(!may_view(Role::Csm, me, other, false));
        assert!(may_view(Role::Csm, me, me, false));
        assert!(may_view(Role::Manager, me, other, false));
        assert!(may_edit(Role::Csm, me, me));
        assert!(!may_edit(Role::Csm, me, other));
        assert!(!may_edit(Role::Csm, me, None));
        assert!(!may_edit(Role::Viewer, me, me));
        assert!(may_edit(Role::Manager, me, None));
        assert!(!may_save(Role::Viewer));
        assert!(may_save(Role::Csm));
    }

    #[test]
    fn relative_dates_parse_and_resolve() {
        let def = ReportDefinition::parse(&draft(json!({
            "subject": "subscriptions",
            "columns": ["end_date"],
            "filters": [{"field": "end_date", "op": "between", "value": ["today", "today+90"]},
                        {"field": "start_date", "op": "ge", "value": "today-30"}]
        })))
        .unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let FilterValue::Range(a, b) = &def.filters[0].value else {
            panic!("a range")
        };
        assert_eq!(a.resolve(today), Scalar::Date(today));
        assert_eq!(
            b.resolve(today),
            Scalar::Date(NaiveDate::from_ymd_opt(2026, 5, 1).unwrap())
        );
        assert_eq!(
            def.filters[1].value,
            FilterValue::One(Scalar::DaysFromToday(-30))
        );
        assert_eq!(def.to_draft().filters[1].value, Some(json!("today-30")));
        assert_eq!(ReportDefinition::parse(&def.to_draft()).unwrap(), def);
        let bad = ReportDefinition::parse(&draft(json!({
            "subject": "subscriptions",
            "columns": ["end_date"],
            "filters": [{"field": "end_date", "op": "ge", "value": "today*2"},
                        {"field": "end_date", "op": "between", "value": ["today+5", "today"]}]
        })));
        assert_eq!(fields_of(bad), ["filters[0].value", "filters[1].value"]);
    }

    #[test]
    fn cells_are_written_plainly() {
        assert_eq!(Cell::Number(1200.0).plain(), "1200");
        assert_eq!(Cell::Number(99.5).plain(), "99.5");
        assert_eq!(Cell::Null.plain(), "");
        assert_eq!(Cell::Text("2026-Q1".into()).plain(), "2026-Q1");
    }
}
