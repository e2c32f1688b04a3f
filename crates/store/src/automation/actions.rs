//! The effects of rules and playbook steps: planned by reading (outside any transaction), then
//! written by [`write_effects!`] inside the transaction that records why they happen.

use chrono::NaiveDate;
use kizuna_domain::automation::{
    OwnerRole, PlaybookSpec, Recipient, SettableField, TaskSource, TaskTemplate,
};
use kizuna_domain::template::{
    sign, AccountVars, ContactVars, EmailTemplateSpec, Locale, OwnerVars, TemplateVars,
};
use serde::Serialize;

use super::AutomationContext;
use crate::{Result, Store};

#[derive(Debug, Clone)]
pub(crate) struct NewTask {
    pub account_id: i64,
    pub template: TaskTemplate,
    pub evidence: String,
    pub owner_id: Option<i64>,
    pub due_on: NaiveDate,
    pub source: TaskSource,
    pub source_id: Option<i64>,
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct NewEmail {
    pub template_key: Option<String>,
    pub account_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub user_id: Option<i64>,
    pub to: String,
    pub locale: Locale,
    pub subject: String,
    pub body: String,
    /// `queued`, or `suppressed` for an unsubscribed address.
    pub status: &'static str,
    pub dedup_key: String,
}

#[derive(Debug, Clone)]
pub(crate) struct NewDelivery {
    pub webhook_id: i64,
    pub event: String,
    pub payload: String,
    pub dedup_key: String,
}

#[derive(Debug, Clone)]
pub(crate) struct NewRun {
    pub playbook_id: i64,
    pub account_id: i64,
    pub started_on: NaiveDate,
    pub started_by: String,
    pub steps: Vec<Option<NaiveDate>>,
}

/// Everything one firing or one step does.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effects {
    pub tasks: Vec<NewTask>,
    pub emails: Vec<NewEmail>,
    pub deliveries: Vec<NewDelivery>,
    pub runs: Vec<NewRun>,
    pub fields: Vec<(i64, SettableField, String)>,
    /// What could not be done, in words (an unknown template, no recipient …).
    pub problems: Vec<String>,
}

/// What writing effects did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectCounts {
    pub tasks_created: usize,
    /// Tasks not created because the same source already has an open one for the account.
    pub tasks_already_open: usize,
    pub emails_queued: usize,
    pub emails_suppressed: usize,
    pub webhooks_queued: usize,
    pub playbooks_started: usize,
    pub playbooks_already_running: usize,
    pub fields_set: usize,
    pub problems: Vec<String>,
    #[serde(skip)]
    pub task_ids: Vec<i64>,
    #[serde(skip)]
    pub email_ids: Vec<i64>,
}

impl EffectCounts {
    pub(crate) fn add(&mut self, o: &EffectCounts) {
        self.tasks_created += o.tasks_created;
        self.tasks_already_open += o.tasks_already_open;
        self.emails_queued += o.emails_queued;
        self.emails_suppressed += o.emails_suppressed;
        self.webhooks_queued += o.webhooks_queued;
        self.playbooks_started += o.playbooks_started;
        self.playbooks_already_running += o.playbooks_already_running;
        self.fields_set += o.fields_set;
        self.problems.extend(o.problems.iter().cloned());
    }
}

/// Writes planned effects inside a transaction; evaluates to an [`EffectCounts`].
macro_rules! write_effects {
    ($tx:ident, $effects:expr) => {{
        let fx: &$crate::automation::actions::Effects = $effects;
        let at = $crate::now();
        let mut counts = $crate::automation::actions::EffectCounts::default();
        counts.problems = fx.problems.clone();
        for t in &fx.tasks {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO tasks (account_id, kind, priority, title, title_ja, reason, evidence, owner_id, due_on, \
                 status, source, source_id, dedup_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $13) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(t.account_id)
            .bind(t.template.task_kind.as_str())
            .bind(t.template.priority.as_str())
            .bind(&t.template.title)
            .bind(&t.template.title_ja)
            .bind(t.template.reason.as_str())
            .bind(&t.evidence)
            .bind(t.owner_id)
            .bind(t.due_on)
            .bind(t.source.as_str())
            .bind(t.source_id)
            .bind(&t.dedup_key)
            .bind(at)
            .fetch_optional(&mut *$tx)
            .await?;
            match id {
                Some(id) => {
                    counts.tasks_created += 1;
                    counts.task_ids.push(id);
                }
                None => counts.tasks_already_open += 1,
            }
        }
        for e in &fx.emails {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO emails (template_key, account_id, contact_id, user_id, to_address, locale, subject, body, \
                 status, attempts, next_attempt_at, dedup_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $10) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&e.template_key)
            .bind(e.account_id)
            .bind(e.contact_id)
            .bind(e.user_id)
            .bind(&e.to)
            .bind(e.locale.as_str())
            .bind(&e.subject)
            .bind(&e.body)
            .bind(e.status)
            .bind(at)
            .bind(&e.dedup_key)
            .fetch_optional(&mut *$tx)
            .await?;
            if let Some(id) = id {
                counts.email_ids.push(id);
                if e.status == "queued" {
                    counts.emails_queued += 1;
                } else {
                    counts.emails_suppressed += 1;
                }
            }
        }
        for d in &fx.deliveries {
            let n = sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, payload, status, attempts, next_attempt_at, dedup_key, created_at) \
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $4) ON CONFLICT DO NOTHING",
            )
            .bind(d.webhook_id)
            .bind(&d.event)
            .bind(&d.payload)
            .bind(at)
            .bind(&d.dedup_key)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            counts.webhooks_queued += n as usize;
        }
        for r in &fx.runs {
            let run: Option<i64> = sqlx::query_scalar(
                "INSERT INTO playbook_runs (playbook_id, account_id, status, started_on, started_by, started_at) \
                 VALUES ($1, $2, 'active', $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(r.playbook_id)
            .bind(r.account_id)
            .bind(r.started_on)
            .bind(&r.started_by)
            .bind(at)
            .fetch_optional(&mut *$tx)
            .await?;
            match run {
                Some(run) => {
                    counts.playbooks_started += 1;
                    for (i, day) in r.steps.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO playbook_steps (run_id, step, due_on, status) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(run)
                        .bind(i as i64)
                        .bind(*day)
                        .bind(if day.is_some() { "pending" } else { "skipped" })
                        .execute(&mut *$tx)
                        .await?;
                    }
                }
                None => counts.playbooks_already_running += 1,
            }
        }
        for (account, field, value) in &fx.fields {
            let sql = match field {
                kizuna_domain::automation::SettableField::LifecycleStage => {
                    "UPDATE accounts SET lifecycle_stage = $1, updated_at = $2 WHERE id = $3 AND lifecycle_stage <> $1"
                }
                kizuna_domain::automation::SettableField::CoverageTier => {
                    "UPDATE accounts SET coverage_tier = $1, updated_at = $2 WHERE id = $3 AND coverage_tier <> $1"
                }
            };
            let n = sqlx::query(sql)
                .bind(value)
                .bind(at)
                .bind(account)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            counts.fields_set += n as usize;
        }
        counts
    }};
}
pub(crate) use write_effects;

/// What templates and steps need to know of an account.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountInfo {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub health_score: Option<f64>,
    pub health_band: Option<String>,
    pub lifecycle_stage: String,
    pub renewal_date: Option<NaiveDate>,
}

type AccountRow = (
    i64,
    String,
    Option<i64>,
    Option<f64>,
    Option<String>,
    String,
    Option<NaiveDate>,
);

impl Store {
    pub(crate) async fn account_info(&self, id: i64) -> Result<Option<AccountInfo>> {
        let row: Option<AccountRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, name, owner_id, health_score, health_band, lifecycle_stage, renewal_date \
             FROM accounts WHERE id = $1 AND deleted_at IS NULL"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        });
        Ok(row.map(|r| AccountInfo {
            id: r.0,
            name: r.1,
            owner_id: r.2,
            health_score: r.3,
            health_band: r.4,
            lifecycle_stage: r.5,
            renewal_date: r.6,
        }))
    }

    /// The owner of a step's task: the account's CSM, or the first active manager (then admin).
    pub(crate) async fn owner_for(&self, a: &AccountInfo, role: OwnerRole) -> Result<Option<i64>> {
        match role {
            OwnerRole::Csm => Ok(a.owner_id),
            OwnerRole::Manager => Ok(on_pool!(self, |pool| sqlx::query_scalar(
                "SELECT id FROM users WHERE active AND role IN ('manager', 'admin') \
                 ORDER BY CASE role WHEN 'manager' THEN 0 ELSE 1 END, id LIMIT 1"
            )
            .fetch_optional(pool)
            .await?)
            .or(a.owner_id)),
        }
    }

    /// Plans an e-mail from a template to the account's recipients. Problems (no template, no
    /// recipient) go into `fx.problems`; nothing fails.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn plan_email(
        &self,
        fx: &mut Effects,
        template_key: &str,
        to: Recipient,
        a: &AccountInfo,
        dedup_prefix: &str,
        ctx: &AutomationContext,
        survey_url: Option<String>,
    ) -> Result<()> {
        let Some(t) = self.template_spec(template_key).await? else {
            fx.problems
                .push(format!("e-mail template `{template_key}` does not exist"));
            return Ok(());
        };
        let owner: Option<(i64, String, String, String)> = match a.owner_id {
            Some(id) => on_pool!(self, |pool| sqlx::query_as(
                "SELECT id, name, email, locale FROM users WHERE id = $1 AND active"
            )
            .bind(id)
            .fetch_optional(pool)
            .await?),
            None => None,
        };
        // (contact id, user id, name, address, locale)
        #[allow(clippy::type_complexity)]
        let mut recipients: Vec<(
            Option<i64>,
            Option<i64>,
            Option<String>,
            String,
            Locale,
        )> = Vec::new();
        match to {
            Recipient::Owner => {
                if let Some((id, name, email, locale)) = &owner {
                    recipients.push((
                        None,
                        Some(*id),
                        Some(name.clone()),
                        email.clone(),
                        locale.parse().unwrap_or(ctx.default_locale),
                    ));
                }
            }
            Recipient::Champion | Recipient::Contacts => {
                let champions_only = to == Recipient::Champion;
                let rows: Vec<(i64, Option<String>, String, String, String)> = on_pool!(
                    self,
                    |pool| {
                        sqlx::query_as(
                        "SELECT id, name, email, roles, CAST(traits AS TEXT) FROM contacts \
                         WHERE account_id = $1 AND left_at IS NULL AND email IS NOT NULL AND email <> '' \
                         ORDER BY id LIMIT 200"
                    )
                    .bind(a.id)
                    .fetch_all(pool)
                    .await?
                    }
                );
                for (id, name, email, roles, traits) in rows {
                    if champions_only && !roles.split(',').any(|r| r.trim() == "champion") {
                        continue;
                    }
                    let locale = contact_locale(&traits).unwrap_or(ctx.default_locale);
                    recipients.push((Some(id), None, name, email, locale));
                }
            }
        }
        if recipients.is_empty() {
            fx.problems.push(format!(
                "e-mail `{template_key}`: account {} has no {} with an e-mail address",
                a.id,
                match to {
                    Recipient::Owner => "owner",
                    Recipient::Champion => "champion",
                    Recipient::Contacts => "contact",
                }
            ));
            return Ok(());
        }
        let secret = if t.customer_facing {
            Some(self.signing_secret().await?)
        } else {
            None
        };
        for (contact_id, user_id, name, address, locale) in recipients {
            let unsubscribed = t.customer_facing && self.is_unsubscribed(&address).await?;
            let unsubscribe_url = secret.as_ref().map(|s| {
                let who = hex::encode(address.to_lowercase());
                format!(
                    "{}/u/{who}.{}",
                    ctx.base_url.trim_end_matches('/'),
                    sign(s, "unsubscribe", &address.to_lowercase())
                )
            });
            let vars = template_vars(
                a,
                name,
                &address,
                owner.as_ref(),
                survey_url.clone(),
                unsubscribe_url,
            );
            match t.render(locale, &vars) {
                Ok(r) => fx.emails.push(NewEmail {
                    template_key: Some(template_key.to_string()),
                    account_id: Some(a.id),
                    contact_id,
                    user_id,
                    to: address.clone(),
                    locale,
                    subject: r.subject,
                    body: r.body,
                    status: if unsubscribed { "suppressed" } else { "queued" },
                    dedup_key: format!("{dedup_prefix}:{}", address.to_lowercase()),
                }),
                Err(e) => fx
                    .problems
                    .push(format!("e-mail `{template_key}` cannot be rendered: {e}")),
            }
        }
        Ok(())
    }

    /// Plans a playbook start for an account (its steps' days from the playbook's anchor).
    pub(crate) async fn plan_playbook(
        &self,
        fx: &mut Effects,
        key: &str,
        a: &AccountInfo,
        today: NaiveDate,
        started_by: &str,
    ) -> Result<()> {
        let Some((id, spec)) = self.playbook_spec(key).await? else {
            fx.problems.push(format!("playbook `{key}` does not exist"));
            return Ok(());
        };
        match spec.schedule(today, a.renewal_date.filter(|d| *d >= today)) {
            Ok(steps) => fx.runs.push(NewRun {
                playbook_id: id,
                account_id: a.id,
                started_on: today,
                started_by: started_by.to_string(),
                steps,
            }),
            Err(e) => fx
                .problems
                .push(format!("playbook `{key}` cannot start: {e}")),
        }
        Ok(())
    }

    pub(crate) async fn plan_webhook(
        &self,
        fx: &mut Effects,
        name: &str,
        event: &str,
        generic: serde_json::Value,
        slack_text: String,
        dedup_key: String,
    ) -> Result<()> {
        let Some(w) = self.webhook_by_name(name).await? else {
            fx.problems.push(format!("webhook `{name}` does not exist"));
            return Ok(());
        };
        if !w.enabled {
            fx.problems.push(format!("webhook `{name}` is disabled"));
            return Ok(());
        }
        let payload = match w.format.as_str() {
            "slack" => serde_json::json!({ "text": slack_text }),
            _ => generic,
        };
        fx.deliveries.push(NewDelivery {
            webhook_id: w.id,
            event: event.to_string(),
            payload: payload.to_string(),
            dedup_key,
        });
        Ok(())
    }

    /// The template with this key; `None` when there is none (a database error is an error).
    pub(crate) async fn template_spec(&self, key: &str) -> Result<Option<EmailTemplateSpec>> {
        missing_as_none(self.template(key).await).map(|t| t.map(|t| t.spec))
    }

    pub(crate) async fn playbook_spec(&self, key: &str) -> Result<Option<(i64, PlaybookSpec)>> {
        missing_as_none(self.playbook_by_key(key).await).map(|p| p.map(|p| (p.id, p.spec)))
    }
}

fn missing_as_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(crate::StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A contact's language from its traits (`locale`: `ja`, `en-US` …), if it names one Kizuna writes.
pub(crate) fn contact_locale(traits: &str) -> Option<Locale> {
    let t: serde_json::Value = serde_json::from_str(traits).ok()?;
    t.get("locale")?.as_str()?.get(..2)?.parse().ok()
}

pub(crate) fn template_vars(
    a: &AccountInfo,
    contact_name: Option<String>,
    address: &str,
    owner: Option<&(i64, String, String, String)>,
    survey_url: Option<String>,
    unsubscribe_url: Option<String>,
) -> TemplateVars {
    let today = crate::now().date_naive();
    TemplateVars {
        account: AccountVars {
            name: a.name.clone(),
            health_score: a.health_score,
            health_band: a.health_band.clone(),
            renewal_date: a.renewal_date.map(|d| d.to_string()),
            days_to_renewal: a.renewal_date.map(|d| (d - today).num_days()),
            lifecycle_stage: a.lifecycle_stage.clone(),
        },
        contact: ContactVars {
            name: contact_name,
            email: Some(address.to_string()),
            title: None,
        },
        owner: OwnerVars {
            name: owner.map(|o| o.1.clone()),
            email: owner.map(|o| o.2.clone()),
        },
        survey_url,
        unsubscribe_url,
    }
}
