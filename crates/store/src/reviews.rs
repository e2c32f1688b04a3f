//! Business reviews: the CSM's text (goals, value delivered, next steps) kept per account, and the
//! figures of the review's period gathered from the account's data when it is shown.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kizuna_domain::ids::AccountId;
use kizuna_domain::indicator::AdoptionSettings;
use kizuna_domain::review::{
    self, BusinessReview, Driver, FeatureUse, HealthPoint, MonthUsage, NewReview, NpsSummary,
    ReviewDraft, ReviewFacts, SupportSummary,
};
use kizuna_domain::survey::{NpsCategory, NpsScore};

use crate::audit::audit;
use crate::error::StoreError;
use crate::{now, Actor, Result, Store};

const REVIEW_COLUMNS: &str =
    "id, account_id, kind, period_from, period_to, title, goals, value_delivered, \
     next_steps, created_by, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    account_id: i64,
    kind: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    title: String,
    goals: String,
    value_delivered: String,
    next_steps: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ReviewRow> for BusinessReview {
    type Error = StoreError;

    fn try_from(r: ReviewRow) -> Result<Self> {
        Ok(BusinessReview {
            id: r.id,
            account_id: r.account_id,
            kind: r.kind.parse().map_err(|e: kizuna_domain::UnknownValue| {
                StoreError::Corrupt(format!("business_reviews.kind: {e}"))
            })?,
            period_from: r.period_from,
            period_to: r.period_to,
            title: r.title,
            goals: r.goals,
            value_delivered: r.value_delivered,
            next_steps: r.next_steps,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Who wrote a review, as a person reads it.
fn author(actor: &Actor) -> String {
    match actor {
        Actor::User { email, .. } => email.clone(),
        Actor::Token { name, .. } => format!("token {name}"),
        Actor::System(what) => (*what).to_string(),
    }
}

impl Store {
    /// An account's reviews, the latest period first.
    pub async fn list_reviews(&self, account: AccountId) -> Result<Vec<BusinessReview>> {
        self.account(account).await?;
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM business_reviews WHERE account_id = $1 \
             ORDER BY period_to DESC, id DESC LIMIT 200"
        );
        let rows: Vec<ReviewRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(account.0)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(BusinessReview::try_from).collect()
    }

    pub async fn review(&self, id: i64) -> Result<BusinessReview> {
        let sql = format!("SELECT {REVIEW_COLUMNS} FROM business_reviews WHERE id = $1");
        let row: Option<ReviewRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::not_found(format!("business review {id}")))?
            .try_into()
    }

    pub async fn create_review(
        &self,
        account: AccountId,
        draft: ReviewDraft,
        actor: &Actor,
    ) -> Result<BusinessReview> {
        self.account(account).await?;
        let r = NewReview::parse(draft)?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO business_reviews (account_id, kind, period_from, period_to, title, goals, \
                 value_delivered, next_steps, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(account.0)
            .bind(r.kind.as_str())
            .bind(r.period_from)
            .bind(r.period_to)
            .bind(&r.title)
            .bind(&r.goals)
            .bind(&r.value_delivered)
            .bind(&r.next_steps)
            .bind(author(actor))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "review.create",
                "account",
                Some(account.0),
                Some(r.title.clone())
            );
            id
        });
        self.review(id).await
    }

    /// Changes a review: the fields the patch carries, checked again as a whole.
    pub async fn update_review(
        &self,
        id: i64,
        patch: ReviewDraft,
        actor: &Actor,
    ) -> Result<BusinessReview> {
        let current = self.review(id).await?;
        let r = NewReview::parse(current.draft().overlay(patch))?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE business_reviews SET kind = $1, period_from = $2, period_to = $3, title = $4, \
                 goals = $5, value_delivered = $6, next_steps = $7, updated_at = $8 WHERE id = $9",
            )
            .bind(r.kind.as_str())
            .bind(r.period_from)
            .bind(r.period_to)
            .bind(&r.title)
            .bind(&r.goals)
            .bind(&r.value_delivered)
            .bind(&r.next_steps)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "review.update",
                "account",
                Some(current.account_id),
                Some(r.title.clone())
            );
        });
        self.review(id).await
    }

    pub async fn delete_review(&self, id: i64, actor: &Actor) -> Result<()> {
        let current = self.review(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM business_reviews WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "review.delete",
                "account",
                Some(current.account_id),
                Some(current.title.clone())
            );
        });
        Ok(())
    }

    /// A review with the figures of its period.
    pub async fn review_with_facts(
        &self,
        id: i64,
        adoption: &AdoptionSettings,
    ) -> Result<(BusinessReview, ReviewFacts)> {
        let review = self.review(id).await?;
        let facts = self
            .review_facts(
                AccountId(review.account_id),
                review.period_from,
                review.period_to,
                adoption,
            )
            .await?;
        Ok((review, facts))
    }

    /// The figures of an account over a period: usage per month and per feature (against the
    /// period before, of the same length), health at each month's end and what drives it now,
    /// support, NPS, touchpoints, revenue movements and the champions. Each part is one bounded
    /// query on the account's rows.
    pub async fn review_facts(
        &self,
        account: AccountId,
        from: NaiveDate,
        to: NaiveDate,
        adoption: &AdoptionSettings,
    ) -> Result<ReviewFacts> {
        let a = self.account(account).await?;
        let id = account.0;
        let (prev_from, prev_to) = review::previous_period(from, to);
        let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let end = (to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        type Features = Vec<(String, String, bool, i64, i64)>;
        type Tickets = Vec<(String, String, DateTime<Utc>, Option<DateTime<Utc>>)>;
        let (owner, days, previous_events, features, key_features, tickets, answers, touch, moves) = on_pool!(
            self,
            |pool| {
                let owner: Option<String> = sqlx::query_scalar(
                    "SELECT u.name FROM accounts a JOIN users u ON u.id = a.owner_id WHERE a.id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?;
                let days: Vec<(NaiveDate, i64, i64)> = sqlx::query_as(
                    "SELECT day, events, active_users FROM usage_account_daily \
                     WHERE account_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
                )
                .bind(id)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
                let previous: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(events) AS BIGINT) FROM usage_account_daily \
                     WHERE account_id = $1 AND day >= $2 AND day <= $3",
                )
                .bind(id)
                .bind(prev_from)
                .bind(prev_to)
                .fetch_one(pool)
                .await?;
                let features: Features = sqlx::query_as(
                    "SELECT f.key, COALESCE(f.display_name, f.key), f.is_key, \
                       CAST(SUM(CASE WHEN u.day >= $2 THEN u.events ELSE 0 END) AS BIGINT), \
                       CAST(SUM(CASE WHEN u.day < $2 THEN u.events ELSE 0 END) AS BIGINT) \
                     FROM usage_feature_daily u JOIN features f ON f.id = u.feature_id \
                     WHERE u.account_id = $1 AND u.day >= $3 AND u.day <= $4 \
                     GROUP BY f.key, f.display_name, f.is_key",
                )
                .bind(id)
                .bind(from)
                .bind(prev_from)
                .bind(to)
                .fetch_all(pool)
                .await?;
                let key_features: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM features WHERE is_key")
                        .fetch_one(pool)
                        .await?;
                let tickets: Tickets = sqlx::query_as(
                    "SELECT severity, status, opened_at, solved_at FROM tickets WHERE account_id = $1 \
                     AND (opened_at < $3 AND (solved_at IS NULL OR solved_at >= $2 \
                          OR status NOT IN ('solved', 'closed'))) LIMIT 10000",
                )
                .bind(id)
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?;
                let answers: Vec<(i64, Option<String>)> = sqlx::query_as(
                    "SELECT score, comment FROM survey_responses WHERE account_id = $1 \
                     AND responded_at >= $2 AND responded_at < $3 ORDER BY responded_at DESC LIMIT 10000",
                )
                .bind(id)
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?;
                let touch: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT kind, COUNT(*) FROM touchpoints WHERE account_id = $1 \
                     AND occurred_at >= $2 AND occurred_at < $3 GROUP BY kind ORDER BY kind",
                )
                .bind(id)
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?;
                let moves: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT kind, CAST(SUM(mrr_after_minor - mrr_before_minor) AS BIGINT) FROM revenue_movements \
                     WHERE account_id = $1 AND effective_on >= $2 AND effective_on <= $3 \
                     GROUP BY kind ORDER BY kind",
                )
                .bind(id)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
                (
                    owner,
                    days,
                    previous,
                    features,
                    key_features,
                    tickets,
                    answers,
                    touch,
                    moves,
                )
            }
        );

        // Usage per month.
        let mut months: BTreeMap<NaiveDate, MonthUsage> = BTreeMap::new();
        for (day, events, users) in &days {
            let month = day.with_day(1).unwrap_or(*day);
            let m = months.entry(month).or_insert(MonthUsage {
                month,
                events: 0,
                peak_active_users: 0,
                active_days: 0,
            });
            m.events += events;
            m.peak_active_users = m.peak_active_users.max(*users);
            if *events > 0 {
                m.active_days += 1;
            }
        }
        let events = days.iter().map(|d| d.1).sum();
        let mut features: Vec<FeatureUse> = features
            .into_iter()
            .map(|(key, name, is_key, events, previous_events)| FeatureUse {
                key,
                name,
                is_key,
                events,
                previous_events,
            })
            .collect();
        features.sort_by(|a, b| b.events.cmp(&a.events).then(a.key.cmp(&b.key)));
        let key_features_used = features.iter().filter(|f| f.is_key && f.events > 0).count() as i64;

        // Health at each month's end (the last snapshot of the month within the period).
        let snapshots = self.health_history(account, from).await?;
        let mut health: BTreeMap<(i32, u32), HealthPoint> = BTreeMap::new();
        let mut adoption_index = None;
        for s in snapshots.iter().filter(|s| s.day <= to) {
            health.insert(
                (s.day.year(), s.day.month()),
                HealthPoint {
                    day: s.day,
                    score: s.score,
                    band: s.band,
                },
            );
            adoption_index = s.adoption_index.or(adoption_index);
        }
        let explained = self.explain_account(account, adoption).await?;
        let mut drivers: Vec<Driver> = explained
            .iter()
            .flat_map(|e| e.health.groups.iter())
            .flat_map(|g| {
                g.measures.iter().map(move |m| Driver {
                    key: m.key.clone(),
                    name: m.name.clone(),
                    indicator: m.indicator.clone(),
                    raw: m.raw,
                    score: m.score,
                    points: m.contribution.unwrap_or(0.0),
                    max_points: m.share * g.share * 100.0,
                })
            })
            .filter(|d| d.max_points > 0.0)
            .collect();
        drivers.sort_by(|a, b| b.max_points.total_cmp(&a.max_points));

        // Support.
        let mut support = SupportSummary::default();
        let mut severity: BTreeMap<String, i64> = BTreeMap::new();
        let mut to_solve = Vec::new();
        for (sev, status, opened, solved) in &tickets {
            let in_period = |t: &DateTime<Utc>| Some(*t) >= start && Some(*t) < end;
            if in_period(opened) {
                support.opened += 1;
                *severity.entry(sev.clone()).or_default() += 1;
            }
            if let Some(s) = solved.as_ref().filter(|s| in_period(s)) {
                support.solved += 1;
                to_solve.push((*s - *opened).num_minutes() as f64 / 1440.0);
            }
            if !matches!(status.as_str(), "solved" | "closed") {
                support.open_now += 1;
            }
        }
        let order = ["urgent", "high", "normal", "low"];
        support.by_severity = order
            .iter()
            .filter_map(|s| severity.get(*s).map(|n| (s.to_string(), *n)))
            .collect();
        support.median_days_to_solve = review::median(to_solve);

        // NPS.
        let mut nps = NpsSummary {
            responses: answers.len() as i64,
            ..Default::default()
        };
        let scores: Vec<NpsScore> = answers
            .iter()
            .filter_map(|(s, _)| NpsScore::parse(*s).ok())
            .collect();
        for s in &scores {
            match s.category() {
                NpsCategory::Promoter => nps.promoters += 1,
                NpsCategory::Passive => nps.passives += 1,
                NpsCategory::Detractor => nps.detractors += 1,
            }
        }
        nps.nps = kizuna_domain::survey::net_promoter_score(scores);
        nps.comments = answers
            .iter()
            .filter_map(|(_, c)| c.as_deref().map(str::trim).filter(|c| !c.is_empty()))
            .take(3)
            .map(String::from)
            .collect();

        let champions = self
            .champions_of(id, to.min(now().date_naive()))
            .await?
            .into_iter()
            .filter(|c| c.is_champion())
            .take(3)
            .map(|c| {
                (
                    c.name
                        .or(c.email)
                        .unwrap_or_else(|| format!("#{}", c.contact_id)),
                    c.title,
                    c.score,
                )
            })
            .collect();

        Ok(ReviewFacts {
            account_name: a.name.clone(),
            owner_name: owner,
            currency: a.currency.code().to_string(),
            arr: a.arr,
            seats: a.seats,
            renewal_date: a.renewal_date,
            lifecycle_stage: a.lifecycle_stage.as_str().to_string(),
            usage: months.into_values().collect(),
            events,
            previous_events: previous_events.unwrap_or(0),
            features,
            key_features_used,
            key_features,
            adoption_index,
            health: health.into_values().collect(),
            health_now: a.health_score,
            band_now: a.health_band,
            drivers,
            support,
            nps,
            touchpoints: touch,
            revenue: moves
                .into_iter()
                .map(|(k, minor)| (k, a.currency.to_major(minor)))
                .collect(),
            champions,
        })
    }
}
