//! The outbox: e-mail templates, the e-mail log and queue, unsubscribes, webhooks and their
//! deliveries. Senders claim due rows with a lease (one conditional UPDATE per row, so two
//! instances never send the same row at once), then record success, or a failure with the next
//! attempt after a growing back-off.

use chrono::{DateTime, Duration, Utc};
use kizuna_domain::template::{EmailTemplateSpec, Locale};
use serde::{Deserialize, Serialize};

use crate::audit::{audit, Actor};
use crate::rows::clamp_limit;
use crate::{now, Result, Store, StoreError};

/// Attempts before a message is given up (failed).
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before attempt `n + 1` after `n` failures: 30 s, 1 min, 2 min … capped at 2 h.
pub fn backoff(failures: i64) -> Duration {
    let secs = 30i64 * (1i64 << failures.clamp(0, 12) as u32);
    Duration::seconds(secs.min(2 * 3600))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredTemplate {
    pub id: i64,
    #[serde(flatten)]
    pub spec: EmailTemplateSpec,
    pub updated_at: DateTime<Utc>,
}

/// One e-mail of the log.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailLog {
    pub id: i64,
    pub template_key: Option<String>,
    pub account_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub to_address: String,
    pub locale: String,
    pub subject: String,
    pub body: String,
    /// `queued`, `sent`, `failed` (gave up), `suppressed` (the address unsubscribed).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct EmailFilter {
    pub account_id: Option<i64>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// An e-mail claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEmail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredWebhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// `slack` (an incoming-webhook `{"text": …}`) or `generic` (signed JSON).
    pub format: String,
    /// Signs generic deliveries: `X-Kizuna-Signature: sha256=HMAC(secret, timestamp + "." + body)`.
    pub secret: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDraft {
    pub name: String,
    pub url: String,
    pub format: String,
    /// Made up when absent.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub payload: String,
    /// `queued`, `delivered`, `failed` (gave up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for sending, with what signing it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingWebhook {
    pub id: i64,
    pub url: String,
    pub format: String,
    pub secret: String,
    pub event: String,
    pub payload: String,
    pub attempts: i64,
}

type TemplateRow = (
    i64,
    String,
    String,
    bool,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
);

fn template(r: TemplateRow) -> StoredTemplate {
    StoredTemplate {
        id: r.0,
        spec: EmailTemplateSpec {
            key: r.1,
            name: r.2,
            customer_facing: r.3,
            subject_ja: r.4,
            body_ja: r.5,
            subject_en: r.6,
            body_en: r.7,
        },
        updated_at: r.8,
    }
}

const TEMPLATE_COLUMNS: &str =
    "id, key, name, customer_facing, subject_ja, body_ja, subject_en, body_en, updated_at";

impl Store {
    pub async fn list_templates(&self) -> Result<Vec<StoredTemplate>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM email_templates ORDER BY key");
        let rows: Vec<TemplateRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(template).collect())
    }

    pub async fn template(&self, key: &str) -> Result<StoredTemplate> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM email_templates WHERE key = $1");
        let row: Option<TemplateRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(key)
            .fetch_optional(pool)
            .await?);
        row.map(template)
            .ok_or_else(|| StoreError::not_found(format!("e-mail template `{key}`")))
    }

    /// Creates or replaces the template with this key.
    pub async fn put_template(
        &self,
        spec: EmailTemplateSpec,
        actor: &Actor,
    ) -> Result<StoredTemplate> {
        spec.validate()?;
        let at = now();
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO email_templates (key, name, customer_facing, subject_ja, body_ja, subject_en, body_en, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (key) DO UPDATE SET name = excluded.name, \
                 customer_facing = excluded.customer_facing, subject_ja = excluded.subject_ja, body_ja = excluded.body_ja, \
                 subject_en = excluded.subject_en, body_en = excluded.body_en, updated_at = excluded.updated_at",
            )
            .bind(&spec.key)
            .bind(&spec.name)
            .bind(spec.customer_facing)
            .bind(&spec.subject_ja)
            .bind(&spec.body_ja)
            .bind(&spec.subject_en)
            .bind(&spec.body_en)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "template.put",
                "email_template",
                None::<i64>,
                Some(spec.key.clone())
            );
        });
        self.template(&spec.key).await
    }

    pub async fn delete_template(&self, key: &str, actor: &Actor) -> Result<()> {
        self.template(key).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM email_templates WHERE key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "template.delete",
                "email_template",
                None::<i64>,
                Some(key.to_string())
            );
        });
        Ok(())
    }

    /// Renders a template for an account as its first recipient would get it, without queueing.
    pub async fn preview_template(
        &self,
        key: &str,
        account_id: i64,
        locale: Locale,
        ctx: &super::AutomationContext,
    ) -> Result<kizuna_domain::template::Rendered> {
        let t = self.template(key).await?;
        self.preview_spec(&t.spec, account_id, locale, ctx).await
    }

    /// Renders a template as written (saved or not) for an account's first contact.
    pub async fn preview_spec(
        &self,
        spec: &EmailTemplateSpec,
        account_id: i64,
        locale: Locale,
        ctx: &super::AutomationContext,
    ) -> Result<kizuna_domain::template::Rendered> {
        spec.validate()?;
        let a = self
            .account_info(account_id)
            .await?
            .ok_or_else(|| StoreError::invalid("account_id", format!("no account {account_id}")))?;
        let contact: Option<(Option<String>, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT name, email FROM contacts WHERE account_id = $1 AND left_at IS NULL AND email IS NOT NULL ORDER BY id LIMIT 1"
        )
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        });
        let owner: Option<(i64, String, String, String)> = match a.owner_id {
            Some(id) => on_pool!(self, |pool| sqlx::query_as(
                "SELECT id, name, email, locale FROM users WHERE id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await?),
            None => None,
        };
        let (name, address) = contact.unwrap_or((None, "customer@example.com".into()));
        let base = ctx.base_url.trim_end_matches('/');
        let vars = super::actions::template_vars(
            &a,
            name,
            &address,
            owner.as_ref(),
            Some(format!("{base}/s/preview")),
            spec.customer_facing.then(|| format!("{base}/u/preview")),
        );
        spec.render(locale, &vars)
            .map_err(|e| StoreError::invalid("template", e))
    }

    pub async fn list_emails(
        &self,
        f: &EmailFilter,
    ) -> Result<kizuna_domain::page::Page<EmailLog>> {
        let limit = clamp_limit(f.limit);
        let offset = f.offset.unwrap_or(0).max(0);
        let (rows, total): (Vec<EmailLog>, i64) = on_pool!(self, |pool| {
            let rows = sqlx::query_as(
                "SELECT id, template_key, account_id, contact_id, to_address, locale, subject, body, status, attempts, \
                 next_attempt_at, last_error, created_at, sent_at FROM emails \
                 WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR status = $2) \
                 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
            )
            .bind(f.account_id)
            .bind(&f.status)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM emails WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR status = $2)",
            )
            .bind(f.account_id)
            .bind(&f.status)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok(kizuna_domain::page::Page::new(rows, total, limit, offset))
    }

    /// Takes up to `limit` due e-mails for `lease` seconds.
    pub async fn claim_emails(&self, limit: i64, lease: i64) -> Result<Vec<OutgoingEmail>> {
        let at = now();
        let candidates: Vec<(i64, String, String, String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, to_address, subject, body, attempts FROM emails WHERE status = 'queued' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2"
        )
        .bind(at)
        .bind(limit)
        .fetch_all(pool)
        .await?
        });
        let mut out = Vec::new();
        for (id, to, subject, body, attempts) in candidates {
            let n = on_pool!(self, |pool| {
                sqlx::query(
                "UPDATE emails SET lease_until = $1 WHERE id = $2 AND status = 'queued' AND (lease_until IS NULL OR lease_until < $3)"
            )
            .bind(at + Duration::seconds(lease))
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
            });
            if n == 1 {
                out.push(OutgoingEmail {
                    id,
                    to,
                    subject,
                    body,
                    attempts,
                });
            }
        }
        Ok(out)
    }

    /// Records a send: `Ok` sent; `Err(reason)` failed, retried later unless `permanent` or out
    /// of attempts.
    pub async fn record_email(
        &self,
        id: i64,
        result: std::result::Result<(), (String, bool)>,
    ) -> Result<()> {
        let at = now();
        on_pool!(self, |pool| {
            match &result {
            Ok(()) => sqlx::query(
                "UPDATE emails SET status = 'sent', sent_at = $1, attempts = attempts + 1, lease_until = NULL, last_error = NULL WHERE id = $2"
            )
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected(),
            Err((reason, permanent)) => {
                let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM emails WHERE id = $1")
                    .bind(id)
                    .fetch_one(pool)
                    .await?;
                let give_up = *permanent || attempts + 1 >= MAX_ATTEMPTS;
                sqlx::query(
                    "UPDATE emails SET status = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, last_error = $3 WHERE id = $4"
                )
                .bind(if give_up { "failed" } else { "queued" })
                .bind(at + backoff(attempts))
                .bind(reason)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
            }
        }
        });
        Ok(())
    }

    /// Puts a failed e-mail back in the queue (an admin's retry).
    pub async fn retry_email(&self, id: i64) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE emails SET status = 'queued', next_attempt_at = $1, attempts = 0 WHERE id = $2 AND status = 'failed'"
        )
        .bind(now())
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::not_found(format!("failed e-mail {id}")));
        }
        Ok(())
    }

    pub async fn is_unsubscribed(&self, email: &str) -> Result<bool> {
        let n: Option<String> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT email FROM unsubscribes WHERE email = $1"
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(pool)
        .await?);
        Ok(n.is_some())
    }

    /// Records an unsubscribe; queued customer-facing mail to the address is suppressed.
    pub async fn unsubscribe(&self, email: &str) -> Result<()> {
        let email = email.trim().to_lowercase();
        in_tx!(self, |tx| {
            sqlx::query("INSERT INTO unsubscribes (email, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&email)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE emails SET status = 'suppressed' WHERE status = 'queued' AND lower(to_address) = $1 AND contact_id IS NOT NULL",
            )
            .bind(&email)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    pub async fn list_webhooks(&self) -> Result<Vec<StoredWebhook>> {
        self.webhooks_where("", None).await
    }

    pub(crate) async fn webhook_by_name(&self, name: &str) -> Result<Option<StoredWebhook>> {
        Ok(self
            .webhooks_where("WHERE name = $1", Some(name))
            .await?
            .pop())
    }

    async fn webhook(&self, id: i64) -> Result<StoredWebhook> {
        self.webhooks_where("WHERE id = CAST($1 AS BIGINT)", Some(&id.to_string()))
            .await?
            .pop()
            .ok_or_else(|| StoreError::not_found(format!("webhook {id}")))
    }

    async fn webhooks_where(&self, filter: &str, arg: Option<&str>) -> Result<Vec<StoredWebhook>> {
        let sql = format!(
            "SELECT id, name, url, format, secret, enabled, created_at FROM webhooks {filter} ORDER BY name"
        );
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, bool, DateTime<Utc>)> =
            on_pool!(self, |pool| {
                let mut q = sqlx::query_as(&sql);
                if let Some(arg) = arg {
                    q = q.bind(arg);
                }
                q.fetch_all(pool).await?
            });
        Ok(rows
            .into_iter()
            .map(|r| StoredWebhook {
                id: r.0,
                name: r.1,
                url: r.2,
                format: r.3,
                secret: r.4,
                enabled: r.5,
                created_at: r.6,
            })
            .collect())
    }

    pub async fn create_webhook(&self, d: WebhookDraft, actor: &Actor) -> Result<StoredWebhook> {
        if d.name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        let url = url::Url::parse(d.url.trim())
            .map_err(|e| StoreError::invalid("url", format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StoreError::invalid("url", "must be http:// or https://"));
        }
        if !matches!(d.format.as_str(), "slack" | "generic") {
            return Err(StoreError::invalid(
                "format",
                "must be `slack` or `generic`",
            ));
        }
        let secret = match d.secret {
            Some(s) if s.len() >= 16 => s,
            Some(_) => {
                return Err(StoreError::invalid(
                    "secret",
                    "must be at least 16 characters",
                ))
            }
            None => {
                use rand::RngCore;
                let mut b = [0u8; 24];
                rand::rngs::OsRng.fill_bytes(&mut b);
                hex::encode(b)
            }
        };
        let name = d.name.trim().to_string();
        let id: Option<i64> = in_tx!(self, |tx| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO webhooks (name, url, format, secret, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
            )
            .bind(&name)
            .bind(url.as_str())
            .bind(&d.format)
            .bind(&secret)
            .bind(d.enabled.unwrap_or(true))
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                audit!(
                    tx,
                    actor,
                    "webhook.create",
                    "webhook",
                    Some(id),
                    Some(url.to_string())
                );
            }
            id
        });
        let id = id.ok_or_else(|| StoreError::Conflict {
            field: "name".into(),
            message: format!("a webhook named `{name}` exists already"),
        })?;
        self.webhook(id).await
    }

    pub async fn delete_webhook(&self, id: i64, actor: &Actor) -> Result<()> {
        let n = in_tx!(self, |tx| {
            let n = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                audit!(
                    tx,
                    actor,
                    "webhook.delete",
                    "webhook",
                    Some(id),
                    None::<String>
                );
            }
            n
        });
        if n == 0 {
            return Err(StoreError::not_found(format!("webhook {id}")));
        }
        Ok(())
    }

    /// Queues a test delivery to a webhook.
    pub async fn test_webhook(&self, id: i64) -> Result<()> {
        let w = self.webhook(id).await?;
        let payload = if w.format == "slack" {
            serde_json::json!({"text": "Kizuna: test message"})
        } else {
            serde_json::json!({"event": "webhook.test", "webhook": w.name})
        };
        let at = now();
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, 'webhook.test', $2, 'queued', 0, $3, $3)"
        )
        .bind(id)
        .bind(payload.to_string())
        .bind(at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn webhook_deliveries(
        &self,
        webhook_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<kizuna_domain::page::Page<WebhookDelivery>> {
        let limit = clamp_limit(Some(limit));
        let (rows, total): (Vec<WebhookDelivery>, i64) = on_pool!(self, |pool| {
            let rows = sqlx::query_as(
                "SELECT id, webhook_id, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at \
                 FROM webhook_deliveries WHERE ($1 IS NULL OR webhook_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            )
            .bind(webhook_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE ($1 IS NULL OR webhook_id = $1)",
            )
            .bind(webhook_id)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok(kizuna_domain::page::Page::new(rows, total, limit, offset))
    }

    pub async fn claim_webhooks(&self, limit: i64, lease: i64) -> Result<Vec<OutgoingWebhook>> {
        let at = now();
        #[allow(clippy::type_complexity)]
        let candidates: Vec<(i64, String, String, String, String, String, i64)> = on_pool!(
            self,
            |pool| {
                sqlx::query_as(
            "SELECT d.id, w.url, w.format, w.secret, d.event, d.payload, d.attempts FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'queued' AND d.next_attempt_at <= $1 \
             AND (d.lease_until IS NULL OR d.lease_until < $1) ORDER BY d.next_attempt_at, d.id LIMIT $2"
        )
        .bind(at)
        .bind(limit)
        .fetch_all(pool)
        .await?
            }
        );
        let mut out = Vec::new();
        for c in candidates {
            let n = on_pool!(self, |pool| {
                sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 AND status = 'queued' AND (lease_until IS NULL OR lease_until < $3)"
            )
            .bind(at + Duration::seconds(lease))
            .bind(c.0)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
            });
            if n == 1 {
                out.push(OutgoingWebhook {
                    id: c.0,
                    url: c.1,
                    format: c.2,
                    secret: c.3,
                    event: c.4,
                    payload: c.5,
                    attempts: c.6,
                });
            }
        }
        Ok(out)
    }

    /// Records a delivery attempt: the HTTP status (if any answer came) and whether it succeeded.
    pub async fn record_webhook(
        &self,
        id: i64,
        status: Option<i64>,
        result: std::result::Result<(), String>,
    ) -> Result<()> {
        let at = now();
        on_pool!(self, |pool| {
            match &result {
            Ok(()) => sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $1, attempts = attempts + 1, lease_until = NULL, \
                 last_status = $2, last_error = NULL WHERE id = $3"
            )
            .bind(at)
            .bind(status)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected(),
            Err(reason) => {
                let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM webhook_deliveries WHERE id = $1")
                    .bind(id)
                    .fetch_one(pool)
                    .await?;
                let give_up = attempts + 1 >= MAX_ATTEMPTS;
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, \
                     last_status = $3, last_error = $4 WHERE id = $5"
                )
                .bind(if give_up { "failed" } else { "queued" })
                .bind(at + backoff(attempts))
                .bind(status)
                .bind(reason)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
            }
        }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(4).num_seconds(), 480);
        assert_eq!(backoff(20).num_seconds(), 7200);
    }
}
