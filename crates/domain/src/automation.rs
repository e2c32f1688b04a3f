//! Early warning and automation: rules (a trigger, a CEL condition over an account, actions),
//! tasks (calls to action with a reason from the shared taxonomy), playbooks (templated steps on a
//! timeline) and the engagement cadence per coverage tier.
//!
//! Everything here is a definition and its validation; the store runs them and the server's
//! scheduler decides when.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::error::{Collector, ValidationError};
use crate::string_enum;
use crate::touchpoint::TouchpointKind;

string_enum! {
    /// What a call to action is about.
    pub enum TaskKind {
        Risk = "risk",
        Opportunity = "opportunity",
        Lifecycle = "lifecycle",
        Manual = "manual",
    }
}

string_enum! {
    pub enum TaskPriority {
        Low = "low",
        Medium = "medium",
        High = "high",
        Urgent = "urgent",
    }
}

string_enum! {
    /// A snoozed task is open again once its snooze date has come.
    pub enum TaskStatus {
        Open = "open",
        Snoozed = "snoozed",
        Closed = "closed",
    }
}

string_enum! {
    /// How a closed task ended.
    pub enum TaskOutcome {
        Resolved = "resolved",
        NoAction = "no_action",
        Escalated = "escalated",
        Lost = "lost",
        Won = "won",
    }
}

string_enum! {
    /// The shared taxonomy of why an account is at risk or ready to grow, so problem areas can be
    /// counted across the portfolio.
    pub enum Reason {
        Onboarding = "onboarding",
        Training = "training",
        Support = "support",
        ProductGap = "product_gap",
        Engagement = "engagement",
        Process = "process",
        Budget = "budget",
        Relationship = "relationship",
        Competition = "competition",
        Renewal = "renewal",
        Expansion = "expansion",
    }
}

string_enum! {
    /// Where a task came from.
    pub enum TaskSource {
        Rule = "rule",
        Playbook = "playbook",
        Cadence = "cadence",
        Person = "person",
    }
}

/// When a rule is looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Trigger {
    /// Every account, once a day; fires at most once a day per account.
    Daily,
    /// When an account's health band changes.
    HealthChange,
    /// When an account's lifecycle stage changes.
    LifecycleChange,
    /// When a usage event of this name arrives for the account (at most once a day per account).
    Event { event: String },
    /// When the next renewal is this many days away or closer; once per renewal date.
    Renewal { days: i64 },
    /// When an NPS answer arrives.
    NpsResponse,
    /// When one of the account's champions goes quiet or leaves (found by the daily champion
    /// pass).
    ChampionChange,
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Daily => "daily",
            Trigger::HealthChange => "health_change",
            Trigger::LifecycleChange => "lifecycle_change",
            Trigger::Event { .. } => "event",
            Trigger::Renewal { .. } => "renewal",
            Trigger::NpsResponse => "nps_response",
            Trigger::ChampionChange => "champion_change",
        }
    }

    /// Evaluated by the daily pass over every account (the others by the change pass).
    pub fn is_daily(&self) -> bool {
        matches!(self, Trigger::Daily | Trigger::Renewal { .. })
    }
}

/// Who receives an e-mail an action or a step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Recipient {
    /// The account's CSM.
    #[default]
    Owner,
    /// The account's champions (contacts with the champion role who have not left).
    Champion,
    /// Every contact of the account with an e-mail address who has not left.
    Contacts,
}

/// A task an action or a playbook step creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskTemplate {
    #[serde(default = "default_task_kind")]
    pub task_kind: TaskKind,
    #[serde(default = "default_priority")]
    pub priority: TaskPriority,
    /// The title in English.
    pub title: String,
    /// The title in Japanese; the English one is shown when absent.
    #[serde(default)]
    pub title_ja: Option<String>,
    pub reason: Reason,
    /// Due this many days after it is created.
    #[serde(default = "default_due")]
    pub due_in_days: i64,
}

fn default_task_kind() -> TaskKind {
    TaskKind::Risk
}
fn default_priority() -> TaskPriority {
    TaskPriority::Medium
}
fn default_due() -> i64 {
    3
}

/// The account fields an action may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SettableField {
    LifecycleStage,
    CoverageTier,
}

/// What a rule does for each account it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    /// Creates a task for the account's CSM, never a second open one from the same rule.
    CreateTask {
        #[serde(flatten)]
        task: TaskTemplate,
    },
    /// Starts a playbook (by key), unless it is already running for the account.
    StartPlaybook { playbook: String },
    /// Sends an e-mail template (by key).
    SendEmail {
        template: String,
        #[serde(default)]
        to: Recipient,
    },
    /// Posts to a webhook (by name).
    CallWebhook { webhook: String },
    /// Sets an account field.
    SetField { field: SettableField, value: String },
}

/// A rule as written (JSON or from the editor), before it is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSpec {
    /// Stable identifier: lower-case letters, digits and `_`.
    pub key: String,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: Trigger,
    /// A CEL condition over the account's fields and indicators (as in segments).
    pub condition: String,
    pub actions: Vec<Action>,
}

fn yes() -> bool {
    true
}

/// A checked rule, ready to evaluate.
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    pub condition: Condition,
}

fn check_key(c: &mut Collector, field: &str, key: &str) {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
    if !ok {
        c.add(
            field,
            "must be 1 to 64 characters of a–z, 0–9 and `_` (for example `health_red`)",
        );
    }
}

fn check_task(c: &mut Collector, field: &str, t: &TaskTemplate) {
    if t.title.trim().is_empty() {
        c.add(&format!("{field}.title"), "must not be empty");
    }
    if !(0..=365).contains(&t.due_in_days) {
        c.add(
            &format!("{field}.due_in_days"),
            "must be between 0 and 365 days",
        );
    }
}

impl RuleSpec {
    /// Checks every field; the condition is compiled, so a syntax error names its line and column
    /// and an unknown field lists the known ones (on the field `condition`).
    pub fn validate(self) -> Result<Rule, ValidationError> {
        let mut c = Collector::new();
        check_key(&mut c, "key", &self.key);
        if self.name.trim().is_empty() {
            c.add("name", "must not be empty");
        }
        match &self.trigger {
            Trigger::Event { event } if event.trim().is_empty() => {
                c.add("trigger.event", "must name a usage event")
            }
            Trigger::Renewal { days } if !(0..=730).contains(days) => {
                c.add("trigger.days", "must be between 0 and 730")
            }
            _ => {}
        }
        let condition = c.check("condition", Condition::parse("condition", &self.condition));
        if self.actions.is_empty() {
            c.add("actions", "a rule needs at least one action");
        }
        for (i, a) in self.actions.iter().enumerate() {
            let f = format!("actions[{i}]");
            match a {
                Action::CreateTask { task } => check_task(&mut c, &f, task),
                Action::StartPlaybook { playbook } => {
                    check_key(&mut c, &format!("{f}.playbook"), playbook)
                }
                Action::SendEmail { template, .. } => {
                    check_key(&mut c, &format!("{f}.template"), template)
                }
                Action::CallWebhook { webhook } if webhook.trim().is_empty() => {
                    c.add(&format!("{f}.webhook"), "must name a webhook")
                }
                Action::CallWebhook { .. } => {}
                Action::SetField { field, value } => {
                    let ok = match field {
                        SettableField::LifecycleStage => {
                            value.parse::<crate::account::LifecycleStage>().is_ok()
                        }
                        SettableField::CoverageTier => {
                            value.parse::<crate::account::CoverageTier>().is_ok()
                        }
                    };
                    if !ok {
                        c.add(
                            &format!("{f}.value"),
                            format!("`{value}` is not a value of this field"),
                        );
                    }
                }
            }
        }
        c.finish()?;
        match condition {
            Some(condition) => Ok(Rule {
                spec: self,
                condition,
            }),
            // `check` recorded the error, so `finish` returned it above.
            None => Err(ValidationError::single("condition", "is not valid")),
        }
    }
}

impl Rule {
    /// What identifies one firing of this rule for an account: the same occurrence never fires
    /// twice (a restart or a second instance repeating the pass changes nothing).
    pub fn occurrence(&self, today: NaiveDate, detail: &str) -> String {
        match &self.spec.trigger {
            Trigger::Daily | Trigger::Event { .. } => today.to_string(),
            Trigger::Renewal { .. } => format!("renewal:{detail}"),
            Trigger::HealthChange
            | Trigger::LifecycleChange
            | Trigger::NpsResponse
            | Trigger::ChampionChange => detail.to_string(),
        }
    }
}

fn task(
    kind: TaskKind,
    priority: TaskPriority,
    title: &str,
    title_ja: &str,
    reason: Reason,
    due: i64,
) -> Action {
    Action::CreateTask {
        task: TaskTemplate {
            task_kind: kind,
            priority,
            title: title.into(),
            title_ja: Some(title_ja.into()),
            reason,
            due_in_days: due,
        },
    }
}

/// The rules a new installation starts with.
pub fn default_rules() -> Vec<RuleSpec> {
    use TaskKind::*;
    use TaskPriority::*;
    vec![
        RuleSpec {
            key: "health_red".into(),
            name: "Health dropped to red".into(),
            enabled: true,
            trigger: Trigger::HealthChange,
            condition: "health_band == 'red'".into(),
            actions: vec![
                task(
                    Risk,
                    High,
                    "Health dropped to red: find out why and agree a plan",
                    "ヘルスが赤に低下：原因を確認し対策を合意する",
                    Reason::Engagement,
                    2,
                ),
                Action::StartPlaybook {
                    playbook: "risk_escalation".into(),
                },
            ],
        },
        RuleSpec {
            key: "usage_drop".into(),
            name: "Usage down 40% month over month".into(),
            enabled: true,
            trigger: Trigger::Daily,
            condition: "usage_trend <= -40.0".into(),
            actions: vec![task(
                Risk,
                High,
                "Usage fell by 40% or more over the last 30 days",
                "直近30日で利用が40%以上減少",
                Reason::Engagement,
                3,
            )],
        },
        RuleSpec {
            key: "champion_quiet_or_left".into(),
            name: "A champion went quiet or left".into(),
            enabled: true,
            trigger: Trigger::ChampionChange,
            condition: "true".into(),
            actions: vec![
                task(
                    Risk,
                    High,
                    "A champion has not used the product for 30 days, or left",
                    "チャンピオンが30日間利用していない、または退職した",
                    Reason::Relationship,
                    5,
                ),
                Action::StartPlaybook {
                    playbook: "champion_left".into(),
                },
            ],
        },
        RuleSpec {
            key: "renewal_at_risk".into(),
            name: "Renewal in 90 days, health not green".into(),
            enabled: true,
            trigger: Trigger::Renewal { days: 90 },
            condition: "health_band != 'green'".into(),
            actions: vec![task(
                Risk,
                Urgent,
                "Renewal within 90 days and health is not green",
                "90日以内に更新、ヘルスが緑ではない",
                Reason::Renewal,
                5,
            )],
        },
        RuleSpec {
            key: "seats_nearly_full".into(),
            name: "Seats nearly full (upsell)".into(),
            enabled: true,
            trigger: Trigger::Daily,
            condition: "seat_utilization >= 0.9".into(),
            actions: vec![task(
                Opportunity,
                Medium,
                "Seats are 90% used: talk about more licences",
                "ライセンスの90%を使用中：追加の提案",
                Reason::Expansion,
                7,
            )],
        },
        RuleSpec {
            key: "onboarding_started".into(),
            name: "Onboarding starts: run the onboarding playbook".into(),
            enabled: true,
            trigger: Trigger::LifecycleChange,
            condition: "lifecycle_stage == 'onboarding'".into(),
            actions: vec![Action::StartPlaybook {
                playbook: "onboarding".into(),
            }],
        },
        RuleSpec {
            key: "renewal_playbook".into(),
            name: "Renewal in 120 days: run the renewal playbook".into(),
            enabled: true,
            trigger: Trigger::Renewal { days: 120 },
            condition: "lifecycle_stage != 'churned'".into(),
            actions: vec![Action::StartPlaybook {
                playbook: "renewal".into(),
            }],
        },
        RuleSpec {
            key: "nps_detractor".into(),
            name: "NPS detractor".into(),
            enabled: true,
            trigger: Trigger::NpsResponse,
            condition: "nps_latest <= 6.0".into(),
            actions: vec![task(
                Risk,
                High,
                "A contact answered NPS as a detractor: call them back",
                "NPSで批判者の回答：折り返し連絡する",
                Reason::Relationship,
                2,
            )],
        },
    ]
}

/// What a playbook step's dates count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Anchor {
    /// The day the playbook starts.
    #[default]
    Start,
    /// The account's next renewal date (offsets are negative: −120 is four months before).
    Renewal,
}

/// What a step does when its day comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StepAction {
    Task {
        #[serde(flatten)]
        task: TaskTemplate,
    },
    Email {
        template: String,
        #[serde(default)]
        to: Recipient,
    },
    /// A touchpoint to schedule: a task for the owner to book it.
    Touchpoint {
        touchpoint: TouchpointKind,
        title: String,
        #[serde(default)]
        title_ja: Option<String>,
    },
}

string_enum! {
    /// The role that owns a step's task: the account's CSM, or the account owner's manager
    /// (the first manager, when the team has no hierarchy).
    pub enum OwnerRole {
        Csm = "csm",
        Manager = "manager",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookStep {
    /// Days from the anchor.
    pub offset_days: i64,
    #[serde(default = "default_role")]
    pub owner_role: OwnerRole,
    #[serde(flatten)]
    pub action: StepAction,
}

fn default_role() -> OwnerRole {
    OwnerRole::Csm
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookSpec {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub name_ja: Option<String>,
    #[serde(default)]
    pub anchor: Anchor,
    pub steps: Vec<PlaybookStep>,
}

/// A step whose day passed more than this long before the playbook started is skipped, not run
/// late (a renewal playbook started 60 days out skips its −120 and −90 steps).
pub const LATE_STEP_GRACE_DAYS: i64 = 7;

impl PlaybookSpec {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Collector::new();
        check_key(&mut c, "key", &self.key);
        if self.name.trim().is_empty() {
            c.add("name", "must not be empty");
        }
        if self.steps.is_empty() {
            c.add("steps", "a playbook needs at least one step");
        }
        if self.steps.len() > 50 {
            c.add("steps", "at most 50 steps");
        }
        for (i, s) in self.steps.iter().enumerate() {
            let f = format!("steps[{i}]");
            if !(-730..=730).contains(&s.offset_days) {
                c.add(&format!("{f}.offset_days"), "must be between −730 and 730");
            }
            match &s.action {
                StepAction::Task { task } => check_task(&mut c, &f, task),
                StepAction::Email { template, .. } => {
                    check_key(&mut c, &format!("{f}.template"), template)
                }
                StepAction::Touchpoint { title, .. } if title.trim().is_empty() => {
                    c.add(&format!("{f}.title"), "must not be empty")
                }
                StepAction::Touchpoint { .. } => {}
            }
        }
        c.finish()
    }

    /// Each step's day for a run started on `start`, with `renewal` the account's next renewal;
    /// `None` for a step to skip. A renewal-anchored playbook without a renewal date cannot start.
    pub fn schedule(
        &self,
        start: NaiveDate,
        renewal: Option<NaiveDate>,
    ) -> Result<Vec<Option<NaiveDate>>, ValidationError> {
        let anchor = match self.anchor {
            Anchor::Start => start,
            Anchor::Renewal => renewal.ok_or_else(|| {
                ValidationError::single(
                    "account",
                    "has no upcoming renewal date, which this playbook counts from",
                )
            })?,
        };
        Ok(self
            .steps
            .iter()
            .map(|s| {
                let day = anchor + chrono::Duration::days(s.offset_days);
                if (start - day).num_days() > LATE_STEP_GRACE_DAYS {
                    None
                } else {
                    Some(day.max(start))
                }
            })
            .collect())
    }
}

fn step_task(
    offset: i64,
    role: OwnerRole,
    kind: TaskKind,
    title: &str,
    title_ja: &str,
    reason: Reason,
) -> PlaybookStep {
    PlaybookStep {
        offset_days: offset,
        owner_role: role,
        action: StepAction::Task {
            task: TaskTemplate {
                task_kind: kind,
                priority: TaskPriority::Medium,
                title: title.into(),
                title_ja: Some(title_ja.into()),
                reason,
                due_in_days: 3,
            },
        },
    }
}

fn step_touch(offset: i64, kind: TouchpointKind, title: &str, title_ja: &str) -> PlaybookStep {
    PlaybookStep {
        offset_days: offset,
        owner_role: OwnerRole::Csm,
        action: StepAction::Touchpoint {
            touchpoint: kind,
            title: title.into(),
            title_ja: Some(title_ja.into()),
        },
    }
}

fn step_email(offset: i64, template: &str, to: Recipient) -> PlaybookStep {
    PlaybookStep {
        offset_days: offset,
        owner_role: OwnerRole::Csm,
        action: StepAction::Email {
            template: template.into(),
            to,
        },
    }
}

/// The playbooks a new installation starts with.
pub fn default_playbooks() -> Vec<PlaybookSpec> {
    use OwnerRole::*;
    use TaskKind::*;
    vec![
        PlaybookSpec {
            key: "onboarding".into(),
            name: "Onboarding".into(),
            name_ja: Some("オンボーディング".into()),
            anchor: Anchor::Start,
            steps: vec![
                step_email(0, "welcome", Recipient::Contacts),
                step_touch(
                    3,
                    TouchpointKind::Meeting,
                    "Hold the kickoff meeting",
                    "キックオフミーティングを実施",
                ),
                step_touch(
                    14,
                    TouchpointKind::Training,
                    "Run the first admin training",
                    "管理者向けトレーニングを実施",
                ),
                step_task(
                    30,
                    Csm,
                    Lifecycle,
                    "Confirm go-live and the first value milestone",
                    "本番稼働と最初の価値達成を確認",
                    Reason::Onboarding,
                ),
            ],
        },
        PlaybookSpec {
            key: "renewal".into(),
            name: "Renewal".into(),
            name_ja: Some("更新".into()),
            anchor: Anchor::Renewal,
            steps: vec![
                step_task(
                    -120,
                    Csm,
                    Lifecycle,
                    "Review health, usage and stakeholders before the renewal",
                    "更新前にヘルス・利用状況・関係者を確認",
                    Reason::Renewal,
                ),
                step_touch(
                    -90,
                    TouchpointKind::Qbr,
                    "Hold a business review that shows the value delivered",
                    "提供価値を示すビジネスレビューを実施",
                ),
                step_email(-30, "renewal_notice", Recipient::Champion),
                step_task(
                    -30,
                    Manager,
                    Lifecycle,
                    "Confirm the renewal decision and paperwork",
                    "更新の意思決定と手続きを確認",
                    Reason::Renewal,
                ),
            ],
        },
        PlaybookSpec {
            key: "risk_escalation".into(),
            name: "Risk escalation".into(),
            name_ja: Some("リスクエスカレーション".into()),
            anchor: Anchor::Start,
            steps: vec![
                step_task(
                    0,
                    Csm,
                    Risk,
                    "Call the customer and write down the root cause",
                    "顧客に連絡し根本原因を記録",
                    Reason::Engagement,
                ),
                step_task(
                    2,
                    Manager,
                    Risk,
                    "Agree a save plan with the CSM",
                    "CSMと挽回プランを合意",
                    Reason::Engagement,
                ),
                step_touch(
                    7,
                    TouchpointKind::Meeting,
                    "Meet the executive sponsor",
                    "エグゼクティブスポンサーと面談",
                ),
            ],
        },
        PlaybookSpec {
            key: "champion_left".into(),
            name: "Champion left".into(),
            name_ja: Some("チャンピオン離脱".into()),
            anchor: Anchor::Start,
            steps: vec![
                step_task(
                    0,
                    Csm,
                    Risk,
                    "Find out whether the champion left and who takes over",
                    "チャンピオンの離脱有無と後任を確認",
                    Reason::Relationship,
                ),
                step_touch(
                    7,
                    TouchpointKind::Meeting,
                    "Introduce yourself to the new champion",
                    "新しいチャンピオンと顔合わせ",
                ),
                step_touch(
                    21,
                    TouchpointKind::Training,
                    "Train the new champion",
                    "新しいチャンピオンへのトレーニング",
                ),
            ],
        },
        PlaybookSpec {
            key: "expansion".into(),
            name: "Expansion".into(),
            name_ja: Some("アップセル".into()),
            anchor: Anchor::Start,
            steps: vec![
                step_task(
                    0,
                    Csm,
                    Opportunity,
                    "Confirm the need for more seats or modules",
                    "追加ライセンス・モジュールのニーズを確認",
                    Reason::Expansion,
                ),
                step_touch(
                    7,
                    TouchpointKind::Meeting,
                    "Present the expansion proposal",
                    "拡張提案を実施",
                ),
            ],
        },
    ]
}

/// How often each kind of touchpoint is due, per coverage tier (days between them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cadence {
    /// Coverage tier → touchpoint kind → days.
    pub tiers: BTreeMap<crate::account::CoverageTier, BTreeMap<TouchpointKind, i64>>,
}

impl Default for Cadence {
    fn default() -> Self {
        use crate::account::CoverageTier;
        Cadence {
            tiers: BTreeMap::from([
                (
                    CoverageTier::HighTouch,
                    BTreeMap::from([(TouchpointKind::Qbr, 90), (TouchpointKind::Meeting, 30)]),
                ),
                (
                    CoverageTier::MidTouch,
                    BTreeMap::from([(TouchpointKind::Qbr, 180), (TouchpointKind::Call, 60)]),
                ),
                (
                    CoverageTier::TechTouch,
                    BTreeMap::from([(TouchpointKind::Webinar, 90)]),
                ),
            ]),
        }
    }
}

impl Cadence {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Collector::new();
        for (tier, kinds) in &self.tiers {
            for (kind, days) in kinds {
                if !(1..=730).contains(days) {
                    c.add(
                        &format!("tiers.{tier}.{kind}"),
                        "must be between 1 and 730 days",
                    );
                }
            }
        }
        c.finish()
    }

    /// The touchpoint kinds overdue for an account of `tier` on `today`, given the last day of
    /// each kind; `since` is when the account became a customer (nothing is overdue before the
    /// first interval has passed since then).
    pub fn overdue(
        &self,
        tier: crate::account::CoverageTier,
        last: &BTreeMap<TouchpointKind, NaiveDate>,
        since: NaiveDate,
        today: NaiveDate,
    ) -> Vec<(TouchpointKind, i64)> {
        let Some(kinds) = self.tiers.get(&tier) else {
            return Vec::new();
        };
        kinds
            .iter()
            .filter_map(|(kind, days)| {
                let from = last.get(kind).copied().unwrap_or(since).max(since);
                let late = (today - from).num_days() - days;
                (late > 0).then_some((*kind, late))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::CoverageTier;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn default_rules_and_playbooks_are_valid() {
        for r in default_rules() {
            let key = r.key.clone();
            r.validate().unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        for p in default_playbooks() {
            p.validate().unwrap_or_else(|e| panic!("{}: {e}", p.key));
        }
        Cadence::default().validate().unwrap();
    }

    #[test]
    fn a_bad_rule_names_each_field() {
        let spec: RuleSpec = serde_json::from_value(serde_json::json!({
            "key": "Bad Key", "name": "", "trigger": {"kind": "renewal", "days": 9999},
            "condition": "helth_score < 40.0",
            "actions": [{"kind": "create_task", "title": "", "reason": "support", "due_in_days": 900},
                        {"kind": "set_field", "field": "lifecycle_stage", "value": "asleep"}]
        }))
        .unwrap();
        let e = spec.validate().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "key",
                "name",
                "trigger.days",
                "condition",
                "actions[0].title",
                "actions[0].due_in_days",
                "actions[1].value"
            ]
        );
        assert!(e.errors[3].message.contains("unknown field `helth_score`"));
        let syntax: RuleSpec = serde_json::from_value(serde_json::json!({
            "key": "k", "name": "n", "trigger": {"kind": "daily"}, "condition": "health_score < ",
            "actions": [{"kind": "call_webhook", "webhook": "slack"}]
        }))
        .unwrap();
        let e = syntax.validate().unwrap_err();
        assert!(e.first().message.contains("column"), "{e}");
    }

    #[test]
    fn renewal_playbook_skips_steps_long_past() {
        let p = default_playbooks()
            .into_iter()
            .find(|p| p.key == "renewal")
            .unwrap();
        // Started 100 days before the renewal: −120 is 20 days late (skipped), −90 is in 10 days.
        let days = p.schedule(d("2026-01-01"), Some(d("2026-04-11"))).unwrap();
        assert_eq!(
            days,
            vec![
                None,
                Some(d("2026-01-11")),
                Some(d("2026-03-12")),
                Some(d("2026-03-12"))
            ]
        );
        // Started 3 days after a step's day: run now.
        let days = p.schedule(d("2026-01-04"), Some(d("2026-05-01"))).unwrap();
        assert_eq!(days[0], Some(d("2026-01-04")));
        assert!(p.schedule(d("2026-01-01"), None).is_err());
    }

    #[test]
    fn cadence_overdue_counts_from_the_last_touchpoint_or_the_start() {
        let c = Cadence::default();
        let last = BTreeMap::from([(TouchpointKind::Meeting, d("2026-03-01"))]);
        let got = c.overdue(
            CoverageTier::HighTouch,
            &last,
            d("2025-01-01"),
            d("2026-04-10"),
        );
        // Meeting every 30 days: 40 days since → 10 late. No QBR ever, customer since 2025-01-01.
        assert_eq!(
            got,
            vec![(TouchpointKind::Qbr, 374), (TouchpointKind::Meeting, 10)]
        );
        let fresh = c.overdue(
            CoverageTier::HighTouch,
            &BTreeMap::new(),
            d("2026-04-01"),
            d("2026-04-10"),
        );
        assert!(fresh.is_empty());
        assert!(c
            .overdue(
                CoverageTier::TechTouch,
                &last,
                d("2026-04-01"),
                d("2026-04-10")
            )
            .is_empty());
    }
}
