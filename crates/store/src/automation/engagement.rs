//! The engagement model (a cadence of touchpoints per coverage tier, overdue engagements as
//! tasks, coverage per CSM) and NPS surveys (invitations with signed answer links, answers stored
//! once, NPS by month, tier and segment).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kizuna_domain::account::CoverageTier;
use kizuna_domain::automation::{
    Cadence, Reason, TaskKind, TaskPriority, TaskSource, TaskTemplate,
};
use kizuna_domain::condition::Condition;
use kizuna_domain::template::{sign, Locale};
use kizuna_domain::touchpoint::TouchpointKind;
use serde::{Deserialize, Serialize};

use super::actions::{template_vars, write_effects, EffectCounts, Effects, NewEmail, NewTask};
use super::{from_json, json_text, AutomationContext};
use crate::audit::{audit, Actor};
use crate::{now, Result, Store, StoreError};

const CADENCE_KEY: &str = "engagement.cadence";
const COVERAGE_KEY: &str = "engagement.coverage";

/// Coverage per CSM as of a cadence pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageSnapshot {
    pub computed_at: DateTime<Utc>,
    pub rows: Vec<CoverageRow>,
}

/// Engagement coverage of one CSM's accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageRow {
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    /// Accounts in a tier with a cadence.
    pub accounts: i64,
    /// Of those, accounts with every engagement on time.
    pub covered: i64,
    /// covered / accounts (0–1); absent without accounts.
    pub coverage: Option<f64>,
    /// Engagements overdue, over all the owner's accounts.
    pub overdue: i64,
    /// Touchpoints logged in the last 90 days, and the minutes they took.
    pub touchpoints_90d: i64,
    pub minutes_90d: i64,
}

/// Who gets an NPS survey: contacts with an e-mail address of the accounts matching every given
/// filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NpsSelection {
    /// A saved segment's id.
    pub segment_id: Option<i64>,
    pub lifecycle_stage: Option<String>,
    pub coverage_tier: Option<String>,
    pub account_ids: Option<Vec<i64>>,
    /// Only contacts with this role (e.g. `decision_maker`).
    pub role: Option<String>,
    /// Names the send: a contact is invited once per campaign (default `nps-YYYY-MM`).
    pub campaign: Option<String>,
}

/// An invitation as the public answer page needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyInvitation {
    pub id: i64,
    pub account_name: String,
    pub contact_name: Option<String>,
    pub locale: Locale,
    pub answered_at: Option<DateTime<Utc>>,
    pub score: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NpsSummaryRow {
    /// A month (`2026-11`), a coverage tier or a segment name.
    pub group: String,
    pub responses: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// % promoters − % detractors, −100 to 100; absent without responses.
    pub nps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NpsSummary {
    /// The last 12 months' answers.
    pub overall: NpsSummaryRow,
    pub by_month: Vec<NpsSummaryRow>,
    pub by_tier: Vec<NpsSummaryRow>,
    pub by_segment: Vec<NpsSummaryRow>,
    /// Invitations sent and answered per campaign.
    pub campaigns: Vec<CampaignRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignRow {
    pub campaign: String,
    pub invited: i64,
    pub answered: i64,
}

fn nps_row(group: String, scores: &[i64]) -> NpsSummaryRow {
    let promoters = scores.iter().filter(|s| **s >= 9).count() as i64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as i64;
    let responses = scores.len() as i64;
    NpsSummaryRow {
        group,
        responses,
        promoters,
        passives: responses - promoters - detractors,
        detractors,
        nps: (responses > 0)
            .then(|| ((promoters - detractors) as f64 * 1000.0 / responses as f64).round() / 10.0),
    }
}

impl Store {
    pub async fn cadence(&self) -> Result<Cadence> {
        match self.setting(CADENCE_KEY).await? {
            Some(t) => from_json(&t, "engagement cadence"),
            None => Ok(Cadence::default()),
        }
    }

    pub async fn set_cadence(&self, c: &Cadence, actor: &Actor) -> Result<()> {
        c.validate()?;
        let text = json_text(c)?;
        self.put_setting(CADENCE_KEY, &text).await?;
        in_tx!(self, |tx| {
            audit!(
                tx,
                actor,
                "engagement.cadence",
                "settings",
                None::<i64>,
                Some(text.clone())
            );
        });
        Ok(())
    }

    /// Per live customer account: the last day of each touchpoint kind, its tier, owner and
    /// customer-since day.
    #[allow(clippy::type_complexity)]
    async fn engagement_state(
        &self,
    ) -> Result<
        Vec<(
            i64,
            CoverageTier,
            Option<i64>,
            NaiveDate,
            BTreeMap<TouchpointKind, NaiveDate>,
        )>,
    > {
        let accounts: Vec<(i64, String, Option<i64>, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, coverage_tier, owner_id, created_at FROM accounts WHERE deleted_at IS NULL \
             AND lifecycle_stage NOT IN ('evaluation', 'churned') ORDER BY id"
        )
        .fetch_all(pool)
        .await?
        });
        let last: Vec<(i64, String, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT account_id, kind, MAX(occurred_at) FROM touchpoints GROUP BY account_id, kind"
        )
        .fetch_all(pool)
        .await?
        });
        let mut by_account: HashMap<i64, BTreeMap<TouchpointKind, NaiveDate>> = HashMap::new();
        for (a, kind, at) in last {
            if let Ok(k) = kind.parse() {
                by_account.entry(a).or_default().insert(k, at.date_naive());
            }
        }
        Ok(accounts
            .into_iter()
            .filter_map(|(id, tier, owner, created)| {
                let tier = tier.parse().ok()?;
                Some((
                    id,
                    tier,
                    owner,
                    created.date_naive(),
                    by_account.remove(&id).unwrap_or_default(),
                ))
            })
            .collect())
    }

    /// Makes a task for every overdue engagement (once while it stays open) and closes the
    /// engagement tasks that a logged touchpoint has made unnecessary.
    pub async fn run_cadence(&self, today: NaiveDate) -> Result<EffectCounts> {
        let cadence = self.cadence().await?;
        let state = self.engagement_state().await?;
        let mut fx = Effects::default();
        let mut wanted: HashSet<String> = HashSet::new();
        for (id, tier, owner, since, last) in &state {
            for (kind, late) in cadence.overdue(*tier, last, *since, today) {
                let key = format!("cadence:{id}:{kind}");
                wanted.insert(key.clone());
                let days = cadence
                    .tiers
                    .get(tier)
                    .and_then(|k| k.get(&kind))
                    .copied()
                    .unwrap_or(0);
                fx.tasks.push(NewTask {
                    account_id: *id,
                    template: TaskTemplate {
                        task_kind: TaskKind::Lifecycle,
                        priority: if late > 30 { TaskPriority::High } else { TaskPriority::Medium },
                        title: format!("Engagement overdue: {} (every {days} days)", kind_en(kind)),
                        title_ja: Some(format!("エンゲージメント期限超過：{}（{days}日ごと）", kind_ja(kind))),
                        reason: Reason::Engagement,
                        due_in_days: 7,
                    },
                    evidence: serde_json::json!({"touchpoint": kind, "every_days": days, "days_late": late,
                        "last": last.get(&kind)}).to_string(),
                    owner_id: *owner,
                    due_on: today + Duration::days(7),
                    source: TaskSource::Cadence,
                    source_id: None,
                    dedup_key: Some(key),
                });
            }
        }
        let open: Vec<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, dedup_key FROM tasks WHERE source = 'cadence' AND status <> 'closed' AND dedup_key IS NOT NULL"
        )
        .fetch_all(pool)
        .await?
        });
        let resolved: Vec<i64> = open
            .into_iter()
            .filter(|(_, k)| !wanted.contains(k))
            .map(|(id, _)| id)
            .collect();
        let mut counts = EffectCounts::default();
        for chunk in fx.tasks.chunks(1000) {
            let part = Effects {
                tasks: chunk.to_vec(),
                ..Default::default()
            };
            let c = in_tx!(self, |tx| write_effects!(tx, &part));
            counts.add(&c);
        }
        for id in resolved {
            on_pool!(self, |pool| {
                sqlx::query(
                "UPDATE tasks SET status = 'closed', outcome = 'resolved', outcome_note = $1, closed_at = $2, updated_at = $2 \
                 WHERE id = $3 AND status <> 'closed'"
            )
            .bind("the engagement took place")
            .bind(now())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
            });
        }
        // What the coverage page shows comes from this pass (computing it per view reads every
        // account); the API's coverage is computed live.
        let rows = self.engagement_coverage(today).await?;
        let snapshot = CoverageSnapshot {
            computed_at: now(),
            rows,
        };
        self.put_setting(COVERAGE_KEY, &json_text(&snapshot)?)
            .await?;
        Ok(counts)
    }

    /// The coverage the last cadence pass computed, if any.
    pub async fn coverage_snapshot(&self) -> Result<Option<CoverageSnapshot>> {
        match self.setting(COVERAGE_KEY).await? {
            Some(t) => Ok(Some(from_json(&t, "engagement coverage")?)),
            None => Ok(None),
        }
    }

    /// Engagement coverage per CSM.
    pub async fn engagement_coverage(&self, today: NaiveDate) -> Result<Vec<CoverageRow>> {
        let cadence = self.cadence().await?;
        let state = self.engagement_state().await?;
        let mut rows: BTreeMap<Option<i64>, CoverageRow> = BTreeMap::new();
        for (_, tier, owner, since, last) in &state {
            if !cadence.tiers.contains_key(tier) {
                continue;
            }
            let r = rows.entry(*owner).or_insert(CoverageRow {
                owner_id: *owner,
                owner_name: None,
                accounts: 0,
                covered: 0,
                coverage: None,
                overdue: 0,
                touchpoints_90d: 0,
                minutes_90d: 0,
            });
            let overdue = cadence.overdue(*tier, last, *since, today).len() as i64;
            r.accounts += 1;
            r.overdue += overdue;
            if overdue == 0 {
                r.covered += 1;
            }
        }
        let from = today - Duration::days(90);
        let work: Vec<(Option<i64>, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT a.owner_id, COUNT(*), CAST(COALESCE(SUM(t.duration_minutes), 0) AS BIGINT) FROM touchpoints t \
             JOIN accounts a ON a.id = t.account_id WHERE t.occurred_at >= $1 GROUP BY a.owner_id"
        )
        .bind(from.and_hms_opt(0, 0, 0).map(|d| d.and_utc()))
        .fetch_all(pool)
        .await?
        });
        for (owner, n, minutes) in work {
            if let Some(r) = rows.get_mut(&owner) {
                r.touchpoints_90d = n;
                r.minutes_90d = minutes;
            }
        }
        let names: Vec<(i64, String)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT id, name FROM users")
                .fetch_all(pool)
                .await?);
        let names: HashMap<i64, String> = names.into_iter().collect();
        Ok(rows
            .into_values()
            .map(|mut r| {
                r.owner_name = r.owner_id.and_then(|id| names.get(&id).cloned());
                r.coverage = (r.accounts > 0).then(|| r.covered as f64 / r.accounts as f64);
                r
            })
            .collect())
    }

    /// Invites the selected contacts to an NPS survey: one invitation and one e-mail (template
    /// `nps_survey`) per contact and campaign. Returns how many were invited now.
    pub async fn send_nps(
        &self,
        sel: &NpsSelection,
        ctx: &AutomationContext,
        actor: &Actor,
    ) -> Result<EffectCounts> {
        let mut accounts: Option<HashSet<i64>> = sel
            .account_ids
            .as_ref()
            .map(|v| v.iter().copied().collect());
        if let Some(seg) = sel.segment_id {
            let s = self.segment(seg).await?;
            let c = Condition::parse("segment_id", &s.expression)?;
            let m = self.match_condition(&c, usize::MAX).await?;
            let ids: HashSet<i64> = m.account_ids.into_iter().collect();
            accounts = Some(match accounts {
                Some(a) => a.intersection(&ids).copied().collect(),
                None => ids,
            });
        }
        if let Some(st) = &sel.lifecycle_stage {
            st.parse::<kizuna_domain::account::LifecycleStage>()
                .map_err(|e| StoreError::invalid("lifecycle_stage", e.to_string()))?;
        }
        if let Some(t) = &sel.coverage_tier {
            t.parse::<CoverageTier>()
                .map_err(|e| StoreError::invalid("coverage_tier", e.to_string()))?;
        }
        let template = self.template_spec("nps_survey").await?.ok_or_else(|| {
            StoreError::invalid("template", "the e-mail template `nps_survey` is missing")
        })?;
        let campaign = sel
            .campaign
            .clone()
            .unwrap_or_else(|| format!("nps-{}", now().format("%Y-%m")));
        #[allow(clippy::type_complexity)]
        let contacts: Vec<(i64, i64, Option<String>, String, String, String)> = on_pool!(
            self,
            |pool| {
                sqlx::query_as(
            "SELECT c.id, c.account_id, c.name, c.email, c.roles, CAST(c.traits AS TEXT) FROM contacts c JOIN accounts a ON a.id = c.account_id \
             WHERE a.deleted_at IS NULL AND c.left_at IS NULL AND c.email IS NOT NULL AND c.email <> '' \
             AND ($1 IS NULL OR a.lifecycle_stage = $1) AND ($2 IS NULL OR a.coverage_tier = $2) ORDER BY c.id"
        )
        .bind(&sel.lifecycle_stage)
        .bind(&sel.coverage_tier)
        .fetch_all(pool)
        .await?
            }
        );
        let secret = self.signing_secret().await?;
        let base = ctx.base_url.trim_end_matches('/').to_string();
        let mut total = EffectCounts::default();
        for (contact_id, account_id, name, email, roles, traits) in contacts {
            if accounts.as_ref().is_some_and(|a| !a.contains(&account_id)) {
                continue;
            }
            if let Some(role) = &sel.role {
                if !roles.split(',').any(|r| r.trim() == role) {
                    continue;
                }
            }
            let locale = super::actions::contact_locale(&traits).unwrap_or(ctx.default_locale);
            let Some(a) = self.account_info(account_id).await? else {
                continue;
            };
            let unsubscribed = self.is_unsubscribed(&email).await?;
            let counts: Option<EffectCounts> = in_tx!(self, |tx| {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO survey_invitations (account_id, contact_id, email, locale, campaign, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(account_id)
                .bind(contact_id)
                .bind(&email)
                .bind(locale.as_str())
                .bind(&campaign)
                .bind(now())
                .fetch_optional(&mut *tx)
                .await?;
                match id {
                    None => None,
                    Some(id) => {
                        let link =
                            format!("{base}/s/{id}.{}", sign(&secret, "survey", &id.to_string()));
                        let unsub = format!(
                            "{base}/u/{}.{}",
                            hex::encode(email.to_lowercase()),
                            sign(&secret, "unsubscribe", &email.to_lowercase())
                        );
                        let vars =
                            template_vars(&a, name.clone(), &email, None, Some(link), Some(unsub));
                        let r = template
                            .render(locale, &vars)
                            .map_err(|e| StoreError::invalid("template", e))?;
                        let fx = Effects {
                            emails: vec![NewEmail {
                                template_key: Some("nps_survey".into()),
                                account_id: Some(account_id),
                                contact_id: Some(contact_id),
                                user_id: None,
                                to: email.clone(),
                                locale,
                                subject: r.subject,
                                body: r.body,
                                status: if unsubscribed { "suppressed" } else { "queued" },
                                dedup_key: format!("survey:{id}"),
                            }],
                            ..Default::default()
                        };
                        let c = write_effects!(tx, &fx);
                        sqlx::query("UPDATE survey_invitations SET email_id = $1 WHERE id = $2")
                            .bind(c.email_ids.first().copied())
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        Some(c)
                    }
                }
            });
            if let Some(c) = counts {
                total.add(&c);
            }
        }
        in_tx!(self, |tx| {
            audit!(
                tx,
                actor,
                "survey.send",
                "survey",
                None::<i64>,
                Some(format!("{campaign}: {} e-mails", total.emails_queued))
            );
        });
        Ok(total)
    }

    /// The invitation a signed link names.
    pub async fn survey_invitation(&self, id: i64) -> Result<SurveyInvitation> {
        #[allow(clippy::type_complexity)]
        let row: Option<(
            i64,
            String,
            Option<String>,
            String,
            Option<DateTime<Utc>>,
            Option<i64>,
        )> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT i.id, a.name, c.name, i.locale, i.answered_at, i.score FROM survey_invitations i \
                 JOIN accounts a ON a.id = i.account_id JOIN contacts c ON c.id = i.contact_id WHERE i.id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let r = row.ok_or_else(|| StoreError::not_found(format!("survey invitation {id}")))?;
        Ok(SurveyInvitation {
            id: r.0,
            account_name: r.1,
            contact_name: r.2,
            locale: r.3.parse().unwrap_or(Locale::Ja),
            answered_at: r.4,
            score: r.5,
        })
    }

    /// Stores an answer once: `false` when the invitation was answered before (nothing changes).
    pub async fn answer_survey(
        &self,
        id: i64,
        score: i64,
        comment: Option<String>,
    ) -> Result<bool> {
        if !(0..=10).contains(&score) {
            return Err(StoreError::invalid(
                "score",
                "must be a whole number from 0 to 10",
            ));
        }
        let comment = comment
            .map(|c| c.trim().chars().take(4000).collect::<String>())
            .filter(|c| !c.is_empty());
        let at = now();
        Ok(in_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE survey_invitations SET answered_at = $1, score = $2, comment = $3 WHERE id = $4 AND answered_at IS NULL",
            )
            .bind(at)
            .bind(score)
            .bind(&comment)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                let response: i64 = sqlx::query_scalar(
                    "INSERT INTO survey_responses (account_id, contact_id, external_id, survey, score, comment, responded_at, created_at) \
                     SELECT account_id, contact_id, 'invitation:' || CAST(id AS TEXT), 'nps', $1, $2, $3, $3 FROM survey_invitations WHERE id = $4 \
                     RETURNING id",
                )
                .bind(score)
                .bind(&comment)
                .bind(at)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE survey_invitations SET response_id = $1 WHERE id = $2")
                    .bind(response)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                true
            } else {
                false
            }
        }))
    }

    /// NPS over the last 12 months: overall, by month, by coverage tier and by saved segment.
    pub async fn nps_summary(&self, today: NaiveDate) -> Result<NpsSummary> {
        let from = (today - Duration::days(365))
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc());
        let rows: Vec<(i64, String, i64, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT r.account_id, a.coverage_tier, r.score, r.responded_at FROM survey_responses r \
             JOIN accounts a ON a.id = r.account_id WHERE r.responded_at >= $1"
        )
        .bind(from)
        .fetch_all(pool)
        .await?
        });
        let all: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let mut months: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut tiers: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (_, tier, score, at) in &rows {
            months
                .entry(at.format("%Y-%m").to_string())
                .or_default()
                .push(*score);
            tiers.entry(tier.clone()).or_default().push(*score);
        }
        let mut by_segment = Vec::new();
        for seg in self.list_segments().await? {
            let Ok(c) = Condition::parse("expression", &seg.expression) else {
                continue;
            };
            let ids: HashSet<i64> = self
                .match_condition(&c, usize::MAX)
                .await?
                .account_ids
                .into_iter()
                .collect();
            let scores: Vec<i64> = rows
                .iter()
                .filter(|r| ids.contains(&r.0))
                .map(|r| r.2)
                .collect();
            by_segment.push(nps_row(seg.name, &scores));
        }
        let campaigns: Vec<(String, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT campaign, COUNT(*), CAST(SUM(CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) FROM survey_invitations \
             GROUP BY campaign ORDER BY MIN(created_at) DESC"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(NpsSummary {
            overall: nps_row("all".into(), &all),
            by_month: months.into_iter().map(|(k, v)| nps_row(k, &v)).collect(),
            by_tier: tiers.into_iter().map(|(k, v)| nps_row(k, &v)).collect(),
            by_segment,
            campaigns: campaigns
                .into_iter()
                .map(|(campaign, invited, answered)| CampaignRow {
                    campaign,
                    invited,
                    answered,
                })
                .collect(),
        })
    }
}

fn kind_en(k: TouchpointKind) -> &'static str {
    match k {
        TouchpointKind::Qbr => "business review (QBR)",
        TouchpointKind::Meeting => "meeting",
        TouchpointKind::Call => "call",
        TouchpointKind::Email => "e-mail",
        TouchpointKind::Training => "training",
        TouchpointKind::Webinar => "webinar",
        TouchpointKind::Survey => "survey",
        TouchpointKind::AdvisoryBoard => "advisory board",
        TouchpointKind::Note => "note",
    }
}

fn kind_ja(k: TouchpointKind) -> &'static str {
    match k {
        TouchpointKind::Qbr => "ビジネスレビュー（QBR）",
        TouchpointKind::Meeting => "ミーティング",
        TouchpointKind::Call => "電話",
        TouchpointKind::Email => "メール",
        TouchpointKind::Training => "トレーニング",
        TouchpointKind::Webinar => "ウェビナー",
        TouchpointKind::Survey => "アンケート",
        TouchpointKind::AdvisoryBoard => "アドバイザリーボード",
        TouchpointKind::Note => "メモ",
    }
}
