//! Journeys and each account's progress on them. A milestone with a condition completes the first
//! time its condition is seen to hold (when progress is read); others are completed by hand.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kizuna_domain::condition::Condition;
use kizuna_domain::ids::AccountId;
use kizuna_domain::journey::{default_onboarding, progress, JourneyDef, JourneyProgress};
use kizuna_domain::scorecard::AccountAxes;
use kizuna_domain::ValidationError;
use serde::Serialize;

use crate::audit::{audit, Actor};
use crate::{now, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Journey {
    pub id: i64,
    #[serde(flatten)]
    pub definition: JourneyDef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One journey an account follows, with its progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountJourney {
    pub journey_id: i64,
    pub name: String,
    pub progress: JourneyProgress,
}

fn parse_def(text: &str, id: i64) -> Result<JourneyDef> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("journey {id}: {e}")))
}

fn to_text(def: &JourneyDef) -> Result<String> {
    serde_json::to_string(def).map_err(|e| StoreError::Corrupt(format!("cannot write JSON: {e}")))
}

impl Store {
    pub async fn list_journeys(&self) -> Result<Vec<Journey>> {
        self.journeys_where("", None).await
    }

    pub async fn journey(&self, id: i64) -> Result<Journey> {
        self.journeys_where("WHERE id = $1", Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found(format!("journey {id}")))
    }

    async fn journeys_where(&self, filter: &str, id: Option<i64>) -> Result<Vec<Journey>> {
        let sql = format!(
            "SELECT id, definition, created_at, updated_at FROM journeys {filter} ORDER BY id"
        );
        let rows: Vec<(i64, String, DateTime<Utc>, DateTime<Utc>)> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(&sql);
            if let Some(id) = id {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, d, created_at, updated_at)| {
                Ok(Journey {
                    id,
                    definition: parse_def(&d, id)?,
                    created_at,
                    updated_at,
                })
            })
            .collect()
    }

    /// Installs the shipped onboarding journey when there is no journey at all.
    pub async fn ensure_default_journey(&self) -> Result<()> {
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM journeys"
        )
        .fetch_one(pool)
        .await?);
        if n == 0 {
            // Two callers may find none and race to create it; the loser finds it made.
            match self
                .create_journey(default_onboarding(), &Actor::System("setup"))
                .await
            {
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub async fn create_journey(&self, def: JourneyDef, actor: &Actor) -> Result<Journey> {
        def.validate()?;
        let text = to_text(&def)?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO journeys (name, definition, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
            )
            .bind(&def.name)
            .bind(&text)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "journey.create",
                "journey",
                Some(id),
                Some(def.name.clone())
            );
            id
        });
        self.journey(id).await
    }

    pub async fn update_journey(&self, id: i64, def: JourneyDef, actor: &Actor) -> Result<Journey> {
        def.validate()?;
        self.journey(id).await?;
        let text = to_text(&def)?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE journeys SET name = $1, definition = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(&def.name)
            .bind(&text)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "journey.update",
                "journey",
                Some(id),
                Some(def.name.clone())
            );
        });
        self.journey(id).await
    }

    pub async fn delete_journey(&self, id: i64, actor: &Actor) -> Result<()> {
        self.journey(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM milestone_completions WHERE journey_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM journeys WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "journey.delete",
                "journey",
                Some(id),
                None::<String>
            );
        });
        Ok(())
    }

    /// Marks a milestone reached (by hand) on `on`, or clears it when `on` is `None`.
    pub async fn set_milestone(
        &self,
        account: AccountId,
        journey_id: i64,
        milestone: &str,
        on: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()> {
        let j = self.journey(journey_id).await?;
        if !j.definition.milestones.iter().any(|m| m.key == milestone) {
            return Err(ValidationError::single(
                "milestone",
                format!(
                    "journey `{}` has no milestone `{milestone}`",
                    j.definition.name
                ),
            )
            .into());
        }
        self.account(account).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM milestone_completions WHERE account_id = $1 AND journey_id = $2 AND milestone = $3")
                .bind(account.0)
                .bind(journey_id)
                .bind(milestone)
                .execute(&mut *tx)
                .await?;
            if let Some(day) = on {
                sqlx::query(
                    "INSERT INTO milestone_completions (account_id, journey_id, milestone, completed_on, completed_by) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(account.0)
                .bind(journey_id)
                .bind(milestone)
                .bind(day)
                .bind(actor.label())
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                if on.is_some() {
                    "milestone.complete"
                } else {
                    "milestone.clear"
                },
                "account",
                Some(account.0),
                Some(format!("{journey_id}:{milestone}"))
            );
        });
        Ok(())
    }

    /// The journeys an account follows and where it stands on each. Conditions that hold now
    /// complete their milestones (recorded with today's date).
    pub async fn account_journeys(&self, account: AccountId) -> Result<Vec<AccountJourney>> {
        self.ensure_default_journey().await?;
        let acc = self.account(account).await?;
        let today = now().date_naive();
        let axes = AccountAxes {
            coverage_tier: acc.coverage_tier,
            lifecycle_stage: acc.lifecycle_stage,
            contract_value_tier: acc.contract_value_tier,
        };
        let first_start: Option<NaiveDate> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT MIN(start_date) FROM subscriptions WHERE account_id = $1"
        )
        .bind(account.0)
        .fetch_one(pool)
        .await?);
        let started_on = first_start.unwrap_or_else(|| acc.created_at.date_naive());
        let facts = self
            .facts_range(account.0, account.0)
            .await?
            .into_iter()
            .next()
            .map(|f| f.1);
        let mut out = Vec::new();
        for j in self.list_journeys().await? {
            if !j.definition.applies_to.matches(&axes) {
                continue;
            }
            let rows: Vec<(String, NaiveDate, String)> = on_pool!(self, |pool| {
                sqlx::query_as(
                "SELECT milestone, completed_on, completed_by FROM milestone_completions WHERE account_id = $1 AND journey_id = $2"
            )
            .bind(account.0)
            .bind(j.id)
            .fetch_all(pool)
            .await?
            });
            let mut done: BTreeMap<String, (NaiveDate, String)> =
                rows.into_iter().map(|(m, d, by)| (m, (d, by))).collect();
            if let Some(f) = &facts {
                for m in &j.definition.milestones {
                    let Some(cond) = &m.condition else { continue };
                    if done.contains_key(&m.key) {
                        continue;
                    }
                    let Ok(c) = Condition::parse("condition", cond) else {
                        continue;
                    };
                    if c.matches(f) == Ok(true) {
                        self.set_milestone(
                            account,
                            j.id,
                            &m.key,
                            Some(today),
                            &Actor::System("condition"),
                        )
                        .await?;
                        done.insert(m.key.clone(), (today, Actor::System("condition").label()));
                    }
                }
            }
            out.push(AccountJourney {
                journey_id: j.id,
                name: j.definition.name.clone(),
                progress: progress(&j.definition, started_on, today, &done),
            });
        }
        Ok(out)
    }
}
