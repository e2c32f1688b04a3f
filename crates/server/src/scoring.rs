//! The background part of health scores: once a day every account is recomputed (claimed through
//! the database, so one instance does it however many share a PostgreSQL), and every few seconds
//! the accounts whose inputs changed are (the store's triggers queue them). After the daily
//! recompute, a churn model, once trained, is retrained on the renewals decided since.

use std::time::Duration;

use chrono::Utc;

use crate::AppState;

/// Accounts per pass over the change queue.
const QUEUE_BATCH: i64 = 2_000;

/// Runs until the task is dropped or aborted.
pub async fn run(state: AppState) {
    let config = state.config.health.clone();
    if config.queue_interval_seconds == 0 && !config.daily {
        return;
    }
    let interval = Duration::from_secs(config.queue_interval_seconds.max(1));
    loop {
        let today = Utc::now().date_naive();
        if config.daily {
            match state.store.claim_daily_job("health.recompute", today).await {
                Ok(true) => match state.store.score_all(today, &config.adoption).await {
                    Ok(run) => {
                        tracing::info!(
                            accounts = run.accounts,
                            scored = run.scored,
                            seconds = run.seconds,
                            "daily health recompute"
                        );
                        // Today's indicators are in: the churn model learns from the renewals
                        // decided since it was trained.
                        crate::api::insight::retrain_daily(&state).await;
                    }
                    Err(e) => tracing::error!(error = %e, "daily health recompute failed"),
                },
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "cannot claim the daily health recompute"),
            }
        }
        if config.queue_interval_seconds > 0 {
            loop {
                match state
                    .store
                    .drain_score_queue(QUEUE_BATCH, &config.adoption)
                    .await
                {
                    Ok(n) if n as i64 == QUEUE_BATCH => continue,
                    Ok(n) => {
                        if n > 0 {
                            tracing::debug!(accounts = n, "health rescored after changes");
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "health rescoring failed; retrying later");
                        break;
                    }
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}
