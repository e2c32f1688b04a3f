//! The scheduler and its jobs: daily rules, change-triggered rules, playbook steps, the
//! engagement cadence, and the outbox senders (SMTP e-mail through `lettre`, webhooks through
//! `reqwest`). Each job is claimed through the store's job table, so with several instances on
//! one PostgreSQL each due run happens once; a run that dies is taken up again when its lease
//! ends.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use hmac::{Hmac, Mac};
use kizuna_store::{AutomationContext, Store};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;

use crate::config::{AutomationConfig, SmtpConfig};
use crate::AppState;

/// When a job is due again.
#[derive(Debug, Clone, Copy)]
enum Every {
    Seconds(i64),
    /// Once a day at the configured hour (UTC).
    Day,
}

/// The jobs, their schedule and their lease (how long a claimed run may take before another
/// instance may take it up).
const JOBS: &[(&str, Every, i64)] = &[
    ("rules.daily", Every::Day, 1800),
    ("rules.changes", Every::Seconds(10), 300),
    ("playbooks.advance", Every::Seconds(60), 600),
    ("engagement.cadence", Every::Day, 1800),
    ("champions.daily", Every::Day, 1800),
    ("insight.precompute", Every::Seconds(300), 600),
    ("email.send", Every::Seconds(5), 300),
    ("webhooks.send", Every::Seconds(5), 300),
];

/// Names of every scheduled job.
pub fn job_names() -> Vec<&'static str> {
    JOBS.iter().map(|j| j.0).collect()
}

pub fn context(config: &AutomationConfig) -> AutomationContext {
    AutomationContext {
        base_url: config.base_url.clone(),
        default_locale: config
            .default_locale
            .parse()
            .unwrap_or(kizuna_domain::template::Locale::Ja),
    }
}

fn next_daily(after: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    let today = after.date_naive().and_time(time).and_utc();
    if today > after {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

/// Registers the jobs (each first due now) and the shipped defaults.
pub async fn prepare(store: &Store) -> kizuna_store::Result<()> {
    store.seed_automation_defaults().await?;
    let now = kizuna_store::now();
    for (name, _, _) in JOBS {
        store.ensure_job(name, now).await?;
    }
    Ok(())
}

/// A name for this process in the job table.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "kizuna".into());
    format!(
        "{host}:{}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Runs the scheduler until the task is dropped.
pub async fn run(state: AppState) {
    let config = state.config.automation.clone();
    if !config.scheduler {
        return;
    }
    if let Err(e) = prepare(&state.store).await {
        tracing::error!(error = %e, "cannot prepare the scheduler; automation is off");
        return;
    }
    let instance = instance_name();
    let tick = Duration::from_secs(config.tick_seconds.max(1));
    loop {
        tick_once(&state, &instance).await;
        tokio::time::sleep(tick).await;
    }
}

/// One look at every job: runs those that are due and that this instance claims.
pub async fn tick_once(state: &AppState, instance: &str) {
    for (name, every, lease) in JOBS {
        let due = match state.store.claim_job(name, instance, *lease).await {
            Ok(Some(due)) => due,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(job = name, error = %e, "cannot claim a job");
                continue;
            }
        };
        let started = kizuna_store::now();
        let outcome = run_job(state, name).await;
        let finished = kizuna_store::now();
        let next = match every {
            Every::Seconds(s) => {
                let n = due + chrono::Duration::seconds(*s);
                if n > finished {
                    n
                } else {
                    finished + chrono::Duration::seconds(*s)
                }
            }
            Every::Day => next_daily(finished, state.config.automation.daily_hour_utc),
        };
        // A failed run is tried again after a minute, not after a day.
        let next = if outcome.is_err() {
            next.min(finished + chrono::Duration::seconds(60))
        } else {
            next
        };
        match &outcome {
            Ok(detail) if !detail.is_empty() => {
                tracing::info!(job = name, detail = %detail, "job ran")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(job = name, error = %e, "job failed"),
        }
        if let Err(e) = state
            .store
            .finish_job(name, instance, due, started, next, outcome)
            .await
        {
            tracing::error!(job = name, error = %e, "cannot record a job run");
        }
    }
}

/// Runs one job now; the text says what it did (empty when there was nothing to do).
pub async fn run_job(state: &AppState, name: &str) -> Result<String, String> {
    let store = &state.store;
    let ctx = context(&state.config.automation);
    let today = Utc::now().date_naive();
    let e = |e: kizuna_store::StoreError| e.to_string();
    match name {
        "rules.daily" => {
            let r = store.run_daily_rules(today, &ctx).await.map_err(e)?;
            Ok(format!(
                "{} rules over {} accounts: {} matches, {} new firings, {} tasks, {} e-mails, {} playbooks in {:.2} s",
                r.rules, r.accounts_checked, r.matches, r.firings, r.effects.tasks_created,
                r.effects.emails_queued, r.effects.playbooks_started, r.seconds
            ))
        }
        "rules.changes" => {
            let r = store.run_change_rules(today, &ctx, 5000).await.map_err(e)?;
            Ok(if r.accounts_checked == 0 {
                String::new()
            } else {
                format!(
                    "{} accounts changed: {} new firings, {} tasks, {} e-mails",
                    r.accounts_checked, r.firings, r.effects.tasks_created, r.effects.emails_queued
                )
            })
        }
        "playbooks.advance" => {
            let c = store.advance_playbooks(today, &ctx).await.map_err(e)?;
            Ok(
                if c.tasks_created + c.emails_queued + c.problems.len() == 0 {
                    String::new()
                } else {
                    format!(
                        "{} tasks, {} e-mails{}",
                        c.tasks_created,
                        c.emails_queued,
                        if c.problems.is_empty() {
                            String::new()
                        } else {
                            format!("; problems: {}", c.problems.join("; "))
                        }
                    )
                },
            )
        }
        "engagement.cadence" => {
            let c = store.run_cadence(today).await.map_err(e)?;
            Ok(format!(
                "{} engagement tasks created, {} still open",
                c.tasks_created, c.tasks_already_open
            ))
        }
        "champions.daily" => {
            let p = store.run_champion_pass(today).await.map_err(e)?;
            Ok(format!(
                "{} accounts: {} champions ({} quiet, {} left), {} went quiet or left since the last pass",
                p.accounts, p.champions, p.quiet, p.left, p.changes
            ))
        }
        "insight.precompute" => crate::api::insight::precompute(state).await,
        "email.send" => send_emails(store, &state.config.automation.smtp).await,
        "webhooks.send" => send_webhooks(store).await,
        other => Err(format!("no job named `{other}`")),
    }
}

/// Builds the SMTP transport from the configuration.
pub fn smtp_transport(
    c: &SmtpConfig,
) -> Result<Option<AsyncSmtpTransport<Tokio1Executor>>, String> {
    let Some(host) = c.host.as_deref().filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let mut params = TlsParameters::builder(host.to_string());
    if let Some(file) = &c.ca_file {
        let pem = std::fs::read(file).map_err(|e| format!("smtp.ca_file `{file}`: {e}"))?;
        let cert =
            Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file `{file}`: {e}"))?;
        params = params.add_root_certificate(cert);
    }
    let tls = match c.tls.as_str() {
        "none" => Tls::None,
        "starttls" => Tls::Required(params.build().map_err(|e| format!("smtp TLS: {e}"))?),
        "tls" => Tls::Wrapper(params.build().map_err(|e| format!("smtp TLS: {e}"))?),
        other => return Err(format!("smtp.tls is `{other}`; use starttls, tls or none")),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(c.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(c.timeout_seconds.max(1))));
    if let (Some(u), Some(p)) = (&c.username, &c.password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(Some(b.build()))
}

async fn send_emails(store: &Store, c: &SmtpConfig) -> Result<String, String> {
    let transport = match smtp_transport(c)? {
        Some(t) => t,
        // No server configured: e-mail waits in the queue, visible in the log.
        None => return Ok(String::new()),
    };
    let from: Mailbox = c
        .from
        .parse()
        .map_err(|e| format!("smtp.from `{}` is not an address: {e}", c.from))?;
    let batch = store
        .claim_emails(50, 300)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sent, mut failed) = (0, 0);
    for m in batch {
        let result = match m.to.parse::<Mailbox>() {
            Err(e) => Err((format!("`{}` is not an e-mail address: {e}", m.to), true)),
            Ok(to) => match Message::builder()
                .from(from.clone())
                .to(to)
                .subject(m.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(m.body.clone())
            {
                Err(e) => Err((format!("cannot build the message: {e}"), true)),
                Ok(msg) => match transport.send(msg).await {
                    Ok(_) => Ok(()),
                    Err(e) => Err((format!("SMTP: {e}"), e.is_permanent())),
                },
            },
        };
        if result.is_ok() {
            sent += 1;
        } else {
            failed += 1;
        }
        store
            .record_email(m.id, result)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(if sent + failed == 0 {
        String::new()
    } else {
        format!("{sent} e-mails sent, {failed} failed")
    })
}

/// The signature header value of a generic webhook delivery.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send_webhooks(store: &Store) -> Result<String, String> {
    let batch = store
        .claim_webhooks(50, 300)
        .await
        .map_err(|e| e.to_string())?;
    if batch.is_empty() {
        return Ok(String::new());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let (mut ok, mut failed) = (0, 0);
    for d in batch {
        let ts = Utc::now().timestamp();
        let mut req = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("user-agent", "Kizuna-Webhook/1");
        if d.format != "slack" {
            req = req
                .header("x-kizuna-event", &d.event)
                .header("x-kizuna-delivery", d.id.to_string())
                .header("x-kizuna-timestamp", ts.to_string())
                .header(
                    "x-kizuna-signature",
                    webhook_signature(&d.secret, ts, &d.payload),
                );
        }
        let (status, result) = match req.body(d.payload.clone()).send().await {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i64), Ok(())),
            Ok(r) => (
                Some(r.status().as_u16() as i64),
                Err(format!("HTTP {}", r.status())),
            ),
            Err(e) => (None, Err(format!("cannot reach {}: {e}", d.url))),
        };
        if result.is_ok() {
            ok += 1;
        } else {
            failed += 1;
        }
        store
            .record_webhook(d.id, status, result)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(format!("{ok} webhook deliveries, {failed} failed"))
}
