//! Early warning and automation: rules and their firings, tasks, playbooks, e-mail (templates,
//! queue, log), webhooks, the engagement cadence, NPS surveys and the scheduler's job table.
//!
//! Every effect of a rule or a playbook step is a row written in the same transaction as the
//! record that it happened (a firing, a done step): a task, a queued e-mail, a queued webhook
//! delivery. Sending is the outbox's job (`outbox.rs`), retried with back-off, so a crash never
//! loses an effect nor makes one twice.

pub(crate) mod actions;
mod engagement;
mod outbox;
mod playbooks;
mod rules;
mod scheduler;
mod tasks;

use kizuna_domain::automation::{default_playbooks, default_rules};
use kizuna_domain::template::{default_templates, Locale};
use rand::RngCore;

pub use actions::EffectCounts;
pub use engagement::{
    CampaignRow, CoverageRow, CoverageSnapshot, NpsSelection, NpsSummary, NpsSummaryRow,
    SurveyInvitation,
};
pub use outbox::{
    EmailFilter, EmailLog, OutgoingEmail, OutgoingWebhook, StoredTemplate, StoredWebhook,
    WebhookDelivery, WebhookDraft,
};
pub use playbooks::{PlaybookRun, RunStep, StoredPlaybook};
pub use rules::{Firing, RuleRun, StoredRule};
pub use scheduler::{JobRun, JobState};
pub use tasks::{Task, TaskDraft, TaskFilter, TaskPatch, TaskSummary};

use crate::{now, Result, Store, StoreError};

/// What automation needs to know of the installation that is not in the database.
#[derive(Debug, Clone)]
pub struct AutomationContext {
    /// The address people reach Kizuna at (links in e-mail: survey answers, unsubscribe).
    pub base_url: String,
    /// The language of customer-facing mail when a contact has none (`traits.locale`).
    pub default_locale: Locale,
}

impl Default for AutomationContext {
    fn default() -> Self {
        AutomationContext {
            base_url: "http://127.0.0.1:8080".into(),
            default_locale: Locale::Ja,
        }
    }
}

const SEEDED_KEY: &str = "automation.seeded";
const SECRET_KEY: &str = "signing.secret";

impl Store {
    pub(crate) async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await?))
    }

    pub(crate) async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Creates the shipped rules, playbooks and e-mail templates the first time it runs; later
    /// calls do nothing (an admin who deleted a default does not see it come back).
    pub async fn seed_automation_defaults(&self) -> Result<()> {
        let claimed = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, '1', $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(SEEDED_KEY)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        if claimed == 0 {
            return Ok(());
        }
        let system = crate::Actor::System("defaults");
        for t in default_templates() {
            self.put_template(t, &system).await?;
        }
        for p in default_playbooks() {
            self.create_playbook(p, &system).await?;
        }
        for r in default_rules() {
            self.create_rule(r, &system).await?;
        }
        Ok(())
    }

    /// The installation's secret for signed links, made on first use.
    pub async fn signing_secret(&self) -> Result<Vec<u8>> {
        if let Some(s) = self.setting(SECRET_KEY).await? {
            return hex::decode(s.trim())
                .map_err(|e| StoreError::Corrupt(format!("signing secret: {e}")));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(SECRET_KEY)
        .bind(hex::encode(bytes))
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
        });
        // Another instance may have won the race: read what is stored.
        let stored = self
            .setting(SECRET_KEY)
            .await?
            .ok_or_else(|| StoreError::Corrupt("signing secret vanished".into()))?;
        hex::decode(stored.trim()).map_err(|e| StoreError::Corrupt(format!("signing secret: {e}")))
    }
}

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot write JSON: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
