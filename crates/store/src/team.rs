//! Team reads and writes: the competency framework (scale, skills with a description per level),
//! the career ladder and each CSM's step on it, skill assessments (all kept; the latest per CSM
//! and skill is the current level), incentive plans with per-CSM targets, and the actuals the
//! incentive calculator needs for a period.
//!
//! The arithmetic (gaps, readiness, payouts) lives in `kizuna_domain::team`; the revenue actuals
//! reuse the dashboard's per-account facts and the decided renewals of `insight.rs`, so a CSM's
//! net new MRR here is the dashboard's figure for their accounts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use kizuna_domain::insight::dashboard::{Figures, Period};
use kizuna_domain::insight::renewals::Decided;
use kizuna_domain::money::Currency;
use kizuna_domain::page::Page;
use kizuna_domain::survey::{net_promoter_score, NpsScore};
use kizuna_domain::team::competency::{
    self, check_level, check_scale, default_framework, CareerLevelDraft, NewCareerLevel, NewSkill,
    Readiness, ScaleLevel, SkillCategory, SkillDraft, SkillLevelText, SkillStanding,
};
use kizuna_domain::team::incentive::{
    self, previous_period, Actuals, NewPlan, Payout, PlanDraft, PlanRules, TargetDraft, Targets,
};
use kizuna_domain::user::Role;
use kizuna_domain::ValidationError;
use serde::{Deserialize, Serialize};

use crate::audit::{audit, Actor};
use crate::rows::{clamp_limit, parse};
use crate::{now, Result, Store, StoreError};

/// Set once the shipped framework has been written, so that deleting it does not bring it back.
const SEEDED_KEY: &str = "team.framework_seeded";

/// A skill of the framework.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skill {
    pub id: i64,
    pub key: String,
    pub category: SkillCategory,
    pub name_ja: String,
    pub name_en: String,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    pub position: i32,
    /// What each level of the scale looks like for this skill.
    pub levels: Vec<SkillLevelText>,
    pub updated_at: DateTime<Utc>,
}

impl Skill {
    pub fn name(&self, lang: &str) -> &str {
        if lang == "ja" {
            &self.name_ja
        } else {
            &self.name_en
        }
    }

    /// The description of one level in a language ("" when none).
    pub fn level_text(&self, level: u8, lang: &str) -> &str {
        self.levels
            .iter()
            .find(|l| l.level == level)
            .map_or("", |l| {
                if lang == "ja" {
                    &l.description_ja
                } else {
                    &l.description_en
                }
            })
    }
}

/// A step of the career ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CareerLevel {
    pub id: i64,
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    pub rank: i32,
    /// Expected level per skill key.
    pub expectations: BTreeMap<String, u8>,
    pub updated_at: DateTime<Utc>,
}

impl CareerLevel {
    pub fn name(&self, lang: &str) -> &str {
        if lang == "ja" {
            &self.name_ja
        } else {
            &self.name_en
        }
    }
}

/// One assessment of one CSM's skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    pub id: i64,
    pub user_id: i64,
    pub skill_id: i64,
    pub skill_key: String,
    pub level: u8,
    pub assessed_on: NaiveDate,
    /// The person who assessed (when a signed-in user did), and who recorded it.
    pub assessor_id: Option<i64>,
    pub assessed_by: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An assessment as a caller sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssessmentDraft {
    pub user_id: Option<i64>,
    /// The skill by id, or by `skill_key`.
    pub skill_id: Option<i64>,
    pub skill_key: Option<String>,
    pub level: Option<i64>,
    /// Default today.
    pub assessed_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Which assessments to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssessmentFilter {
    pub user_id: Option<i64>,
    pub skill_id: Option<i64>,
}

/// A CSM against the framework: their step on the ladder, each skill's standing, and readiness
/// for the next step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStanding {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub career_level_id: Option<i64>,
    pub next_career_level_id: Option<i64>,
    /// One per skill, in framework order.
    pub standings: Vec<SkillStanding>,
    /// Skills below their career level's expectation.
    pub gaps: usize,
    pub readiness: Readiness,
    /// The latest assessment of any skill.
    pub last_assessed_on: Option<NaiveDate>,
}

/// The whole framework and every CSM's standing on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompetencyMatrix {
    pub scale: Vec<ScaleLevel>,
    pub skills: Vec<Skill>,
    /// Lowest rank first.
    pub ladder: Vec<CareerLevel>,
    /// Every active CSM and manager, by name.
    pub members: Vec<MemberStanding>,
}

impl CompetencyMatrix {
    pub fn career_level(&self, id: Option<i64>) -> Option<&CareerLevel> {
        id.and_then(|id| self.ladder.iter().find(|l| l.id == id))
    }

    pub fn member(&self, user_id: i64) -> Option<&MemberStanding> {
        self.members.iter().find(|m| m.user_id == user_id)
    }
}

/// An incentive plan as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncentivePlan {
    pub id: i64,
    pub name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub currency: String,
    pub target_bonus: f64,
    pub renewal_weight: f64,
    pub expansion_weight: f64,
    pub nps_weight: f64,
    pub attainment_floor: f64,
    pub attainment_cap: f64,
    pub nps_gate: Option<f64>,
    pub nps_fall_multiplier: Option<f64>,
    pub renewal_rate_target: f64,
    pub nnmrr_target: Option<f64>,
    pub nps_target: f64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IncentivePlan {
    pub fn period(&self) -> Period {
        Period {
            from: self.period_from,
            to: self.period_to,
        }
    }

    pub fn rules(&self) -> PlanRules {
        PlanRules {
            renewal_weight: self.renewal_weight,
            expansion_weight: self.expansion_weight,
            nps_weight: self.nps_weight,
            attainment_floor: self.attainment_floor,
            attainment_cap: self.attainment_cap,
            nps_gate: self.nps_gate,
            nps_fall_multiplier: self.nps_fall_multiplier,
        }
    }

    /// The plan as the domain checks it (for the targets' defaults).
    pub fn as_new(&self) -> NewPlan {
        NewPlan {
            name: self.name.clone(),
            period: self.period(),
            currency: Currency::parse(&self.currency).unwrap_or(Currency::JPY),
            target_bonus: self.target_bonus,
            rules: self.rules(),
            renewal_rate_target: self.renewal_rate_target,
            nnmrr_target: self.nnmrr_target,
            nps_target: self.nps_target,
        }
    }

    /// The plan as a draft (what an editor starts from).
    pub fn draft(&self) -> PlanDraft {
        PlanDraft {
            name: Some(self.name.clone()),
            period_from: Some(self.period_from),
            period_to: Some(self.period_to),
            currency: Some(self.currency.clone()),
            target_bonus: Some(self.target_bonus),
            renewal_weight: Some(self.renewal_weight),
            expansion_weight: Some(self.expansion_weight),
            nps_weight: Some(self.nps_weight),
            attainment_floor: Some(self.attainment_floor),
            attainment_cap: Some(self.attainment_cap),
            nps_gate: self.nps_gate,
            nps_fall_multiplier: self.nps_fall_multiplier,
            renewal_rate_target: Some(self.renewal_rate_target),
            nnmrr_target: self.nnmrr_target,
            nps_target: Some(self.nps_target),
        }
    }
}

/// One CSM's own targets in a plan (absent values come from the plan).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncentiveTarget {
    pub plan_id: i64,
    pub user_id: i64,
    #[serde(flatten)]
    pub target: TargetDraft,
    pub updated_at: DateTime<Utc>,
}

/// One CSM's line of the calculator.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsmPayout {
    pub user_id: i64,
    pub name: String,
    pub targets: Targets,
    pub actuals: Actuals,
    /// Net new MRR from existing customers: expansion − contraction − churn.
    pub nnmrr: f64,
    pub renewal_rate: Option<f64>,
    pub payout: Payout,
}

/// The calculator's answer for a plan and a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncentiveReport {
    pub plan: IncentivePlan,
    pub period: Period,
    /// The period the NPS is compared with.
    pub previous_period: Period,
    pub rows: Vec<CsmPayout>,
    pub total_target_bonus: f64,
    pub total_payout: f64,
}

type SkillRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i32,
    DateTime<Utc>,
);
/// A skill's level description: skill id, level, Japanese, English.
type LevelTextRow = (i64, i32, String, String);
type LevelRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i32,
    DateTime<Utc>,
);
type AssessmentRow = (
    i64,
    i64,
    i64,
    String,
    i32,
    NaiveDate,
    Option<i64>,
    String,
    Option<String>,
    DateTime<Utc>,
);
#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    name: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    currency: String,
    target_bonus_minor: i64,
    renewal_weight: f64,
    expansion_weight: f64,
    nps_weight: f64,
    attainment_floor: f64,
    attainment_cap: f64,
    nps_gate: Option<f64>,
    nps_fall_multiplier: Option<f64>,
    renewal_rate_target: f64,
    nnmrr_target_minor: Option<i64>,
    nps_target: f64,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const PLAN_COLUMNS: &str = "id, name, period_from, period_to, currency, target_bonus_minor, renewal_weight, \
     expansion_weight, nps_weight, attainment_floor, attainment_cap, nps_gate, nps_fall_multiplier, \
     renewal_rate_target, nnmrr_target_minor, nps_target, created_by, created_at, updated_at";

fn plan_of(r: PlanRow) -> Result<IncentivePlan> {
    let c = Currency::parse(&r.currency).map_err(StoreError::Corrupt)?;
    Ok(IncentivePlan {
        id: r.id,
        name: r.name,
        period_from: r.period_from,
        period_to: r.period_to,
        currency: c.code().to_string(),
        target_bonus: c.to_major(r.target_bonus_minor),
        renewal_weight: r.renewal_weight,
        expansion_weight: r.expansion_weight,
        nps_weight: r.nps_weight,
        attainment_floor: r.attainment_floor,
        attainment_cap: r.attainment_cap,
        nps_gate: r.nps_gate,
        nps_fall_multiplier: r.nps_fall_multiplier,
        renewal_rate_target: r.renewal_rate_target,
        nnmrr_target: r.nnmrr_target_minor.map(|m| c.to_major(m)),
        nps_target: r.nps_target,
        created_by: r.created_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn minor(c: Currency, field: &str, major: f64) -> Result<i64> {
    c.to_minor(major).map_err(|e| StoreError::invalid(field, e))
}

fn level_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// How old a result computed ahead may be and still be used.
const PRECOMPUTED_MINUTES: i64 = 15;

fn actuals_key(period: Period) -> String {
    format!("incentive_actuals|{}|{}", period.from, period.to)
}

fn workload_key(today: NaiveDate) -> String {
    format!("team_workload|{today}")
}

impl Store {
    // ---------------------------------------------------------------- framework

    /// Writes the shipped framework (scale, skills, ladder) the first time the team area is used;
    /// afterwards, never again (an admin may have deleted parts of it on purpose).
    pub async fn ensure_team_framework(&self) -> Result<()> {
        let seeded: Option<String> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(SEEDED_KEY)
        .fetch_optional(pool)
        .await?);
        if seeded.is_some() {
            return Ok(());
        }
        let f = default_framework();
        let skills: Vec<NewSkill> = f
            .skills
            .into_iter()
            .map(|s| s.parse(competency::DEFAULT_SCALE))
            .collect::<std::result::Result<_, _>>()?;
        let ladder: Vec<NewCareerLevel> = f
            .ladder
            .into_iter()
            .map(|l| l.parse(competency::DEFAULT_SCALE))
            .collect::<std::result::Result<_, _>>()?;
        let at = now();
        in_tx!(self, |tx| {
            // Whoever inserts the marker writes the framework; a second instance finds it taken.
            let claimed = sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            )
            .bind(SEEDED_KEY)
            .bind("1")
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 1 {
                for l in &f.scale {
                    sqlx::query(
                        "INSERT INTO competency_scale (level, name_ja, name_en) VALUES ($1, $2, $3) \
                         ON CONFLICT (level) DO NOTHING",
                    )
                    .bind(i32::from(l.level))
                    .bind(&l.name_ja)
                    .bind(&l.name_en)
                    .execute(&mut *tx)
                    .await?;
                }
                let mut ids: HashMap<String, i64> = HashMap::new();
                for s in &skills {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO skills (key, category, name_ja, name_en, description_ja, description_en, position, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                    )
                    .bind(&s.key)
                    .bind(s.category.as_str())
                    .bind(&s.name_ja)
                    .bind(&s.name_en)
                    .bind(&s.description_ja)
                    .bind(&s.description_en)
                    .bind(s.position)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    for l in &s.levels {
                        sqlx::query(
                            "INSERT INTO skill_levels (skill_id, level, description_ja, description_en) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id)
                        .bind(i32::from(l.level))
                        .bind(&l.description_ja)
                        .bind(&l.description_en)
                        .execute(&mut *tx)
                        .await?;
                    }
                    ids.insert(s.key.clone(), id);
                }
                for l in &ladder {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO career_levels (key, name_ja, name_en, description_ja, description_en, rank, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(&l.key)
                    .bind(&l.name_ja)
                    .bind(&l.name_en)
                    .bind(&l.description_ja)
                    .bind(&l.description_en)
                    .bind(l.rank)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    for (k, v) in &l.expectations {
                        if let Some(sid) = ids.get(k) {
                            sqlx::query(
                                "INSERT INTO career_expectations (career_level_id, skill_id, level) VALUES ($1, $2, $3)",
                            )
                            .bind(id)
                            .bind(*sid)
                            .bind(i32::from(*v))
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                audit!(
                    tx,
                    Actor::System("team"),
                    "team.framework.seed",
                    "settings",
                    None::<i64>,
                    None::<String>
                );
            }
        });
        Ok(())
    }

    /// The scale's levels, 1 first.
    pub async fn competency_scale(&self) -> Result<Vec<ScaleLevel>> {
        let rows: Vec<(i32, String, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT level, name_ja, name_en FROM competency_scale ORDER BY level"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(level, name_ja, name_en)| ScaleLevel {
                level: level_u8(level),
                name_ja,
                name_en,
            })
            .collect())
    }

    async fn scale_size(&self) -> Result<u8> {
        let n = self.competency_scale().await?.len();
        Ok(if n == 0 {
            competency::DEFAULT_SCALE
        } else {
            n as u8
        })
    }

    /// Replaces the scale. Refused when a level that would go away is still described, expected
    /// or assessed.
    pub async fn set_competency_scale(&self, levels: &[ScaleLevel], actor: &Actor) -> Result<()> {
        check_scale(levels)?;
        let top = levels.len() as i32;
        let in_use: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM skill_levels WHERE level > $1 AND (description_ja <> '' OR description_en <> '')) \
             + (SELECT COUNT(*) FROM career_expectations WHERE level > $1) \
             + (SELECT COUNT(*) FROM skill_assessments WHERE level > $1)"
        )
        .bind(top)
        .fetch_one(pool)
        .await?
        });
        if in_use > 0 {
            return Err(StoreError::invalid(
                "levels",
                format!("levels above {top} are still described, expected or assessed; lower those first"),
            ));
        }
        let detail = serde_json::to_string(levels).unwrap_or_default();
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM competency_scale")
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM skill_levels WHERE level > $1")
                .bind(top)
                .execute(&mut *tx)
                .await?;
            for l in levels {
                sqlx::query(
                    "INSERT INTO competency_scale (level, name_ja, name_en) VALUES ($1, $2, $3)",
                )
                .bind(i32::from(l.level))
                .bind(l.name_ja.trim())
                .bind(l.name_en.trim())
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                "team.scale.set",
                "competency_scale",
                None::<i64>,
                Some(detail.clone())
            );
        });
        Ok(())
    }

    // ---------------------------------------------------------------- skills

    /// Every skill, in framework order (position, then name).
    pub async fn list_skills(&self) -> Result<Vec<Skill>> {
        self.skills_where(None).await
    }

    pub async fn skill(&self, id: i64) -> Result<Skill> {
        self.skills_where(Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found(format!("skill {id}")))
    }

    async fn skills_where(&self, id: Option<i64>) -> Result<Vec<Skill>> {
        let filter = if id.is_some() { "WHERE id = $1" } else { "" };
        let sql = format!(
            "SELECT id, key, category, name_ja, name_en, description_ja, description_en, position, updated_at \
             FROM skills {filter} ORDER BY position, key"
        );
        let lsql = format!(
            "SELECT skill_id, level, description_ja, description_en FROM skill_levels {} ORDER BY skill_id, level",
            if id.is_some() { "WHERE skill_id = $1" } else { "" }
        );
        let (rows, levels): (Vec<SkillRow>, Vec<LevelTextRow>) = on_pool!(self, |pool| {
            let mut q = sqlx::query_as::<_, SkillRow>(&sql);
            let mut l = sqlx::query_as::<_, LevelTextRow>(&lsql);
            if let Some(id) = id {
                q = q.bind(id);
                l = l.bind(id);
            }
            futures::try_join!(q.fetch_all(pool), l.fetch_all(pool))?
        });
        let mut by_skill: HashMap<i64, Vec<SkillLevelText>> = HashMap::new();
        for (sid, level, ja, en) in levels {
            by_skill.entry(sid).or_default().push(SkillLevelText {
                level: level_u8(level),
                description_ja: ja,
                description_en: en,
            });
        }
        rows.into_iter()
            .map(
                |(id, key, category, name_ja, name_en, dja, den, position, updated_at)| {
                    Ok(Skill {
                        id,
                        key,
                        category: parse(&category, "category")?,
                        name_ja,
                        name_en,
                        description_ja: dja,
                        description_en: den,
                        position,
                        levels: by_skill.remove(&id).unwrap_or_default(),
                        updated_at,
                    })
                },
            )
            .collect()
    }

    pub async fn create_skill(&self, draft: SkillDraft, actor: &Actor) -> Result<Skill> {
        let s = draft.parse(self.scale_size().await?)?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO skills (key, category, name_ja, name_en, description_ja, description_en, position, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&s.key)
            .bind(s.category.as_str())
            .bind(&s.name_ja)
            .bind(&s.name_en)
            .bind(&s.description_ja)
            .bind(&s.description_en)
            .bind(s.position)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            for l in &s.levels {
                sqlx::query(
                    "INSERT INTO skill_levels (skill_id, level, description_ja, description_en) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(i32::from(l.level))
                .bind(&l.description_ja)
                .bind(&l.description_en)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                "skill.create",
                "skill",
                Some(id),
                Some(s.key.clone())
            );
            id
        });
        self.skill(id).await
    }

    /// Changes the fields the draft carries; `levels`, when given, replaces every description.
    pub async fn update_skill(&self, id: i64, draft: SkillDraft, actor: &Actor) -> Result<Skill> {
        let cur = self.skill(id).await?;
        let merged = SkillDraft {
            key: draft.key.or(Some(cur.key)),
            category: draft.category.or(Some(cur.category)),
            name_ja: draft.name_ja.or(Some(cur.name_ja)),
            name_en: draft.name_en.or(Some(cur.name_en)),
            description_ja: draft.description_ja.or(cur.description_ja),
            description_en: draft.description_en.or(cur.description_en),
            position: draft.position.or(Some(cur.position)),
            levels: draft.levels.or(Some(cur.levels)),
        };
        let s = merged.parse(self.scale_size().await?)?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE skills SET key = $1, category = $2, name_ja = $3, name_en = $4, description_ja = $5, \
                 description_en = $6, position = $7, updated_at = $8 WHERE id = $9",
            )
            .bind(&s.key)
            .bind(s.category.as_str())
            .bind(&s.name_ja)
            .bind(&s.name_en)
            .bind(&s.description_ja)
            .bind(&s.description_en)
            .bind(s.position)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM skill_levels WHERE skill_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for l in &s.levels {
                sqlx::query(
                    "INSERT INTO skill_levels (skill_id, level, description_ja, description_en) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(i32::from(l.level))
                .bind(&l.description_ja)
                .bind(&l.description_en)
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                "skill.update",
                "skill",
                Some(id),
                Some(s.key.clone())
            );
        });
        self.skill(id).await
    }

    /// Deletes a skill with its descriptions, expectations and assessments.
    pub async fn delete_skill(&self, id: i64, actor: &Actor) -> Result<()> {
        let s = self.skill(id).await?;
        in_tx!(self, |tx| {
            // Removed explicitly as well: a PostgreSQL cascade and SQLite's both apply, but the
            // order keeps the audit entry last.
            sqlx::query("DELETE FROM skill_assessments WHERE skill_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM career_expectations WHERE skill_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM skill_levels WHERE skill_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM skills WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "skill.delete",
                "skill",
                Some(id),
                Some(s.key.clone())
            );
        });
        Ok(())
    }

    // ---------------------------------------------------------------- career ladder

    /// The ladder, lowest rank first.
    pub async fn list_career_levels(&self) -> Result<Vec<CareerLevel>> {
        let (rows, exps): (Vec<LevelRow>, Vec<(i64, String, i32)>) = on_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, LevelRow>(
                "SELECT id, key, name_ja, name_en, description_ja, description_en, rank, updated_at \
                 FROM career_levels ORDER BY rank",
            )
            .fetch_all(pool);
            let exps = sqlx::query_as::<_, (i64, String, i32)>(
                "SELECT e.career_level_id, s.key, e.level FROM career_expectations e JOIN skills s ON s.id = e.skill_id",
            )
            .fetch_all(pool);
            futures::try_join!(rows, exps)?
        });
        let mut by_level: HashMap<i64, BTreeMap<String, u8>> = HashMap::new();
        for (lid, key, level) in exps {
            by_level
                .entry(lid)
                .or_default()
                .insert(key, level_u8(level));
        }
        Ok(rows
            .into_iter()
            .map(
                |(id, key, name_ja, name_en, description_ja, description_en, rank, updated_at)| {
                    CareerLevel {
                        id,
                        key,
                        name_ja,
                        name_en,
                        description_ja,
                        description_en,
                        rank,
                        expectations: by_level.remove(&id).unwrap_or_default(),
                        updated_at,
                    }
                },
            )
            .collect())
    }

    pub async fn career_level(&self, id: i64) -> Result<CareerLevel> {
        self.list_career_levels()
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| StoreError::not_found(format!("career level {id}")))
    }

    /// Skill ids for the expectations' keys; an unknown key is an error naming it.
    async fn expectation_ids(&self, l: &NewCareerLevel) -> Result<Vec<(i64, u8)>> {
        let skills: HashMap<String, i64> = self
            .list_skills()
            .await?
            .into_iter()
            .map(|s| (s.key, s.id))
            .collect();
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        for (k, v) in &l.expectations {
            match skills.get(k) {
                Some(id) => out.push((*id, *v)),
                None => unknown.push(kizuna_domain::FieldError::new(
                    format!("expectations.{k}"),
                    "is not a skill of the framework",
                )),
            }
        }
        if unknown.is_empty() {
            Ok(out)
        } else {
            Err(ValidationError { errors: unknown }.into())
        }
    }

    pub async fn create_career_level(
        &self,
        draft: CareerLevelDraft,
        actor: &Actor,
    ) -> Result<CareerLevel> {
        let l = draft.parse(self.scale_size().await?)?;
        let exps = self.expectation_ids(&l).await?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO career_levels (key, name_ja, name_en, description_ja, description_en, rank, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(&l.key)
            .bind(&l.name_ja)
            .bind(&l.name_en)
            .bind(&l.description_ja)
            .bind(&l.description_en)
            .bind(l.rank)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            for (sid, v) in &exps {
                sqlx::query(
                    "INSERT INTO career_expectations (career_level_id, skill_id, level) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(*sid)
                .bind(i32::from(*v))
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                "career_level.create",
                "career_level",
                Some(id),
                Some(l.key.clone())
            );
            id
        });
        self.career_level(id).await
    }

    /// Changes the fields the draft carries; `expectations`, when given, replaces them all.
    pub async fn update_career_level(
        &self,
        id: i64,
        draft: CareerLevelDraft,
        actor: &Actor,
    ) -> Result<CareerLevel> {
        let cur = self.career_level(id).await?;
        let merged = CareerLevelDraft {
            key: draft.key.or(Some(cur.key)),
            name_ja: draft.name_ja.or(Some(cur.name_ja)),
            name_en: draft.name_en.or(Some(cur.name_en)),
            description_ja: draft.description_ja.or(cur.description_ja),
            description_en: draft.description_en.or(cur.description_en),
            rank: draft.rank.or(Some(cur.rank)),
            expectations: draft.expectations.or(Some(cur.expectations)),
        };
        let l = merged.parse(self.scale_size().await?)?;
        let exps = self.expectation_ids(&l).await?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE career_levels SET key = $1, name_ja = $2, name_en = $3, description_ja = $4, description_en = $5, \
                 rank = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(&l.key)
            .bind(&l.name_ja)
            .bind(&l.name_en)
            .bind(&l.description_ja)
            .bind(&l.description_en)
            .bind(l.rank)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM career_expectations WHERE career_level_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (sid, v) in &exps {
                sqlx::query(
                    "INSERT INTO career_expectations (career_level_id, skill_id, level) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(*sid)
                .bind(i32::from(*v))
                .execute(&mut *tx)
                .await?;
            }
            audit!(
                tx,
                actor,
                "career_level.update",
                "career_level",
                Some(id),
                Some(l.key.clone())
            );
        });
        self.career_level(id).await
    }

    /// Deletes a career level nobody is on.
    pub async fn delete_career_level(&self, id: i64, actor: &Actor) -> Result<()> {
        let l = self.career_level(id).await?;
        let members: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM member_careers WHERE career_level_id = $1"
        )
        .bind(id)
        .fetch_one(pool)
        .await?);
        if members > 0 {
            return Err(StoreError::Conflict {
                field: "career_level_id".into(),
                message: format!(
                    "{members} team member(s) are on this career level; move them first"
                ),
            });
        }
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM career_expectations WHERE career_level_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM career_levels WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "career_level.delete",
                "career_level",
                Some(id),
                Some(l.key.clone())
            );
        });
        Ok(())
    }

    /// Puts a team member on a career level (`None` takes them off the ladder).
    pub async fn set_member_career(
        &self,
        user_id: i64,
        career_level_id: Option<i64>,
        actor: &Actor,
    ) -> Result<()> {
        self.user(kizuna_domain::ids::UserId(user_id)).await?;
        if let Some(l) = career_level_id {
            self.career_level(l).await.map_err(|e| match e {
                StoreError::NotFound(_) => {
                    StoreError::invalid("career_level_id", "is not a career level")
                }
                e => e,
            })?;
        }
        let at = now();
        in_tx!(self, |tx| {
            match career_level_id {
                Some(l) => {
                    sqlx::query(
                        "INSERT INTO member_careers (user_id, career_level_id, set_by, set_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id) DO UPDATE SET career_level_id = excluded.career_level_id, \
                         set_by = excluded.set_by, set_at = excluded.set_at",
                    )
                    .bind(user_id)
                    .bind(l)
                    .bind(actor.label())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM member_careers WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            audit!(
                tx,
                actor,
                "team.career.set",
                "user",
                Some(user_id),
                career_level_id.map(|l| l.to_string())
            );
        });
        Ok(())
    }

    // ---------------------------------------------------------------- assessments

    /// Records an assessment; earlier ones stay as history.
    pub async fn record_assessment(
        &self,
        draft: AssessmentDraft,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<Assessment> {
        let mut c = kizuna_domain::error::Collector::new();
        let scale = self.scale_size().await?;
        let user_id = match draft.user_id {
            None => {
                c.add("user_id", "is required");
                None
            }
            Some(u) => match self.user(kizuna_domain::ids::UserId(u)).await {
                Ok(_) => Some(u),
                Err(StoreError::NotFound(_)) => {
                    c.add("user_id", "is not a team member");
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let skills = self.list_skills().await?;
        let skill = match (draft.skill_id, draft.skill_key.as_deref()) {
            (Some(id), _) => {
                let s = skills.iter().find(|s| s.id == id);
                if s.is_none() {
                    c.add("skill_id", "is not a skill of the framework");
                }
                s
            }
            (None, Some(k)) => {
                let s = skills.iter().find(|s| s.key == k);
                if s.is_none() {
                    c.add("skill_key", "is not a skill of the framework");
                }
                s
            }
            (None, None) => {
                c.add("skill_id", "is required (or skill_key)");
                None
            }
        };
        let level = match draft.level {
            None => {
                c.add("level", "is required");
                None
            }
            Some(l) => c.check("level", check_level(l, scale)),
        };
        let assessed_on = draft.assessed_on.unwrap_or(today);
        if assessed_on > today {
            c.add("assessed_on", "must not be in the future");
        }
        let note = c
            .check(
                "note",
                kizuna_domain::text::bounded(draft.note.as_deref(), 2000),
            )
            .flatten();
        c.finish()?;
        let (Some(user_id), Some(skill), Some(level)) = (user_id, skill, level) else {
            return Err(StoreError::invalid("level", "is required"));
        };
        let at = now();
        let skill_id = skill.id;
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO skill_assessments (user_id, skill_id, level, assessed_on, assessor_id, assessed_by, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(user_id)
            .bind(skill_id)
            .bind(i32::from(level))
            .bind(assessed_on)
            .bind(actor.user_id())
            .bind(actor.label())
            .bind(&note)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "skill_assessment.create",
                "user",
                Some(user_id),
                Some(format!("{}={level}", skill.key))
            );
            id
        });
        Ok(Assessment {
            id,
            user_id,
            skill_id,
            skill_key: skill.key.clone(),
            level,
            assessed_on,
            assessor_id: actor.user_id(),
            assessed_by: actor.label(),
            note,
            created_at: at,
        })
    }

    /// Assessments, newest first.
    pub async fn assessments(
        &self,
        filter: AssessmentFilter,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<Assessment>> {
        let limit = clamp_limit(limit);
        let offset = offset.unwrap_or(0).max(0);
        let mut conds = Vec::new();
        if filter.user_id.is_some() {
            conds.push(format!("a.user_id = ${}", conds.len() + 1));
        }
        if filter.skill_id.is_some() {
            conds.push(format!("a.skill_id = ${}", conds.len() + 1));
        }
        let where_ = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let n = conds.len();
        let sql = format!(
            "SELECT a.id, a.user_id, a.skill_id, s.key, a.level, a.assessed_on, a.assessor_id, a.assessed_by, a.note, a.created_at \
             FROM skill_assessments a JOIN skills s ON s.id = a.skill_id {where_} \
             ORDER BY a.assessed_on DESC, a.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let count_sql = format!("SELECT COUNT(*) FROM skill_assessments a {where_}");
        let (rows, total): (Vec<AssessmentRow>, i64) = on_pool!(self, |pool| {
            let mut q = sqlx::query_as::<_, AssessmentRow>(&sql);
            let mut cq = sqlx::query_scalar::<_, i64>(&count_sql);
            for v in [filter.user_id, filter.skill_id].into_iter().flatten() {
                q = q.bind(v);
                cq = cq.bind(v);
            }
            q = q.bind(limit).bind(offset);
            futures::try_join!(q.fetch_all(pool), cq.fetch_one(pool))?
        });
        let items = rows
            .into_iter()
            .map(
                |(
                    id,
                    user_id,
                    skill_id,
                    skill_key,
                    level,
                    assessed_on,
                    assessor_id,
                    assessed_by,
                    note,
                    created_at,
                )| {
                    Assessment {
                        id,
                        user_id,
                        skill_id,
                        skill_key,
                        level: level_u8(level),
                        assessed_on,
                        assessor_id,
                        assessed_by,
                        note,
                        created_at,
                    }
                },
            )
            .collect();
        Ok(Page::new(items, total, limit, offset))
    }

    /// The framework with every active CSM's and manager's standing on it.
    pub async fn competency_matrix(&self) -> Result<CompetencyMatrix> {
        self.ensure_team_framework().await?;
        let scale = self.competency_scale().await?;
        let skills = self.list_skills().await?;
        let ladder = self.list_career_levels().await?;
        type Latest = (i64, i64, i32, NaiveDate);
        let (latest, careers): (Vec<Latest>, Vec<(i64, i64)>) = on_pool!(self, |pool| {
            // The latest assessment per CSM and skill: the one no later one outranks.
            let latest = sqlx::query_as::<_, Latest>(
                "SELECT a.user_id, a.skill_id, a.level, a.assessed_on FROM skill_assessments a \
                 WHERE NOT EXISTS (SELECT 1 FROM skill_assessments b WHERE b.user_id = a.user_id AND b.skill_id = a.skill_id \
                 AND (b.assessed_on > a.assessed_on OR (b.assessed_on = a.assessed_on AND b.id > a.id)))",
            )
            .fetch_all(pool);
            let careers = sqlx::query_as::<_, (i64, i64)>(
                "SELECT user_id, career_level_id FROM member_careers",
            )
            .fetch_all(pool);
            futures::try_join!(latest, careers)?
        });
        let users = self.list_users().await?;
        let key_of: HashMap<i64, &str> = skills.iter().map(|s| (s.id, s.key.as_str())).collect();
        let mut current: HashMap<i64, (HashMap<String, u8>, Option<NaiveDate>)> = HashMap::new();
        for (uid, sid, level, on) in latest {
            let Some(k) = key_of.get(&sid) else { continue };
            let e = current.entry(uid).or_default();
            e.0.insert((*k).to_string(), level_u8(level));
            e.1 = e.1.max(Some(on));
        }
        let careers: HashMap<i64, i64> = careers.into_iter().collect();
        let keys: Vec<&str> = skills.iter().map(|s| s.key.as_str()).collect();
        let ranked: Vec<(i32, &CareerLevel)> = ladder.iter().map(|l| (l.rank, l)).collect();
        let empty = (HashMap::new(), None);
        let members = users
            .iter()
            .filter(|u| u.active && matches!(u.role, Role::Csm | Role::Manager))
            .map(|u| {
                let level = careers
                    .get(&u.id.0)
                    .and_then(|id| ladder.iter().find(|l| l.id == *id));
                let next = match level {
                    Some(l) => competency::next_level(&ranked, l.rank).copied(),
                    None => competency::next_level(&ranked, i32::MIN).copied(),
                };
                let (cur, last) = current.get(&u.id.0).unwrap_or(&empty);
                let standings = competency::standings(
                    &keys,
                    cur,
                    level.map(|l| &l.expectations),
                    next.map(|l| &l.expectations),
                );
                MemberStanding {
                    user_id: u.id.0,
                    name: u.name.clone(),
                    role: u.role,
                    career_level_id: level.map(|l| l.id),
                    next_career_level_id: next.map(|l| l.id),
                    gaps: standings.iter().filter(|s| s.gap > 0).count(),
                    readiness: competency::readiness(&standings),
                    standings,
                    last_assessed_on: *last,
                }
            })
            .collect();
        Ok(CompetencyMatrix {
            scale,
            skills,
            ladder,
            members,
        })
    }

    // ---------------------------------------------------------------- incentive plans

    pub async fn list_incentive_plans(
        &self,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Page<IncentivePlan>> {
        let limit = clamp_limit(limit);
        let offset = offset.unwrap_or(0).max(0);
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM incentive_plans ORDER BY period_from DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let (rows, total): (Vec<PlanRow>, i64) = on_pool!(self, |pool| {
            let rows = sqlx::query_as::<_, PlanRow>(&sql)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool);
            let total = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM incentive_plans")
                .fetch_one(pool);
            futures::try_join!(rows, total)?
        });
        let items = rows.into_iter().map(plan_of).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, total, limit, offset))
    }

    pub async fn incentive_plan(&self, id: i64) -> Result<IncentivePlan> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM incentive_plans WHERE id = $1");
        let row: Option<PlanRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        plan_of(row.ok_or_else(|| StoreError::not_found(format!("incentive plan {id}")))?)
    }

    /// The latest plan whose period contains `day`, else the latest plan.
    pub async fn incentive_plan_for(&self, day: NaiveDate) -> Result<Option<IncentivePlan>> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM incentive_plans \
             ORDER BY CASE WHEN period_from <= $1 AND period_to >= $1 THEN 0 ELSE 1 END, period_from DESC, id DESC LIMIT 1"
        );
        let row: Option<PlanRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(day)
            .fetch_optional(pool)
            .await?);
        row.map(plan_of).transpose()
    }

    pub async fn create_incentive_plan(
        &self,
        draft: PlanDraft,
        actor: &Actor,
    ) -> Result<IncentivePlan> {
        let p = draft.parse()?;
        let bonus = minor(p.currency, "target_bonus", p.target_bonus)?;
        let nnmrr = p
            .nnmrr_target
            .map(|v| minor(p.currency, "nnmrr_target", v))
            .transpose()?;
        let at = now();
        let id: i64 = in_tx!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO incentive_plans (name, period_from, period_to, currency, target_bonus_minor, renewal_weight, \
                 expansion_weight, nps_weight, attainment_floor, attainment_cap, nps_gate, nps_fall_multiplier, \
                 renewal_rate_target, nnmrr_target_minor, nps_target, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
            )
            .bind(&p.name)
            .bind(p.period.from)
            .bind(p.period.to)
            .bind(p.currency.code())
            .bind(bonus)
            .bind(p.rules.renewal_weight)
            .bind(p.rules.expansion_weight)
            .bind(p.rules.nps_weight)
            .bind(p.rules.attainment_floor)
            .bind(p.rules.attainment_cap)
            .bind(p.rules.nps_gate)
            .bind(p.rules.nps_fall_multiplier)
            .bind(p.renewal_rate_target)
            .bind(nnmrr)
            .bind(p.nps_target)
            .bind(actor.label())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "incentive_plan.create",
                "incentive_plan",
                Some(id),
                Some(p.name.clone())
            );
            id
        });
        self.incentive_plan(id).await
    }

    /// Replaces a plan's terms (what the draft leaves out takes the defaults, as on creation).
    pub async fn update_incentive_plan(
        &self,
        id: i64,
        draft: PlanDraft,
        actor: &Actor,
    ) -> Result<IncentivePlan> {
        self.incentive_plan(id).await?;
        let p = draft.parse()?;
        let bonus = minor(p.currency, "target_bonus", p.target_bonus)?;
        let nnmrr = p
            .nnmrr_target
            .map(|v| minor(p.currency, "nnmrr_target", v))
            .transpose()?;
        in_tx!(self, |tx| {
            sqlx::query(
                "UPDATE incentive_plans SET name = $1, period_from = $2, period_to = $3, currency = $4, target_bonus_minor = $5, \
                 renewal_weight = $6, expansion_weight = $7, nps_weight = $8, attainment_floor = $9, attainment_cap = $10, \
                 nps_gate = $11, nps_fall_multiplier = $12, renewal_rate_target = $13, nnmrr_target_minor = $14, nps_target = $15, \
                 updated_at = $16 WHERE id = $17",
            )
            .bind(&p.name)
            .bind(p.period.from)
            .bind(p.period.to)
            .bind(p.currency.code())
            .bind(bonus)
            .bind(p.rules.renewal_weight)
            .bind(p.rules.expansion_weight)
            .bind(p.rules.nps_weight)
            .bind(p.rules.attainment_floor)
            .bind(p.rules.attainment_cap)
            .bind(p.rules.nps_gate)
            .bind(p.rules.nps_fall_multiplier)
            .bind(p.renewal_rate_target)
            .bind(nnmrr)
            .bind(p.nps_target)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "incentive_plan.update",
                "incentive_plan",
                Some(id),
                Some(p.name.clone())
            );
        });
        self.incentive_plan(id).await
    }

    pub async fn delete_incentive_plan(&self, id: i64, actor: &Actor) -> Result<()> {
        let p = self.incentive_plan(id).await?;
        in_tx!(self, |tx| {
            sqlx::query("DELETE FROM incentive_targets WHERE plan_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM incentive_plans WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit!(
                tx,
                actor,
                "incentive_plan.delete",
                "incentive_plan",
                Some(id),
                Some(p.name.clone())
            );
        });
        Ok(())
    }

    /// The CSMs' own targets in a plan.
    pub async fn incentive_targets(&self, plan_id: i64) -> Result<Vec<IncentiveTarget>> {
        let plan = self.incentive_plan(plan_id).await?;
        let c = Currency::parse(&plan.currency).map_err(StoreError::Corrupt)?;
        type Row = (
            i64,
            Option<i64>,
            Option<f64>,
            Option<i64>,
            Option<f64>,
            DateTime<Utc>,
        );
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT user_id, target_bonus_minor, renewal_rate, nnmrr_minor, nps, updated_at \
             FROM incentive_targets WHERE plan_id = $1 ORDER BY user_id"
        )
        .bind(plan_id)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(
                |(user_id, bonus, rate, nnmrr, nps, updated_at)| IncentiveTarget {
                    plan_id,
                    user_id,
                    target: TargetDraft {
                        target_bonus: bonus.map(|b| c.to_major(b)),
                        renewal_rate: rate,
                        nnmrr: nnmrr.map(|n| c.to_major(n)),
                        nps,
                    },
                    updated_at,
                },
            )
            .collect())
    }

    /// Sets one CSM's targets in a plan (replacing what they had).
    pub async fn set_incentive_target(
        &self,
        plan_id: i64,
        user_id: i64,
        target: TargetDraft,
        actor: &Actor,
    ) -> Result<IncentiveTarget> {
        let plan = self.incentive_plan(plan_id).await?;
        target.check()?;
        match self.user(kizuna_domain::ids::UserId(user_id)).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                return Err(StoreError::invalid("user_id", "is not a team member"))
            }
            Err(e) => return Err(e),
        }
        let c = Currency::parse(&plan.currency).map_err(StoreError::Corrupt)?;
        let bonus = target
            .target_bonus
            .map(|v| minor(c, "target_bonus", v))
            .transpose()?;
        let nnmrr = target.nnmrr.map(|v| minor(c, "nnmrr", v)).transpose()?;
        let at = now();
        in_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO incentive_targets (plan_id, user_id, target_bonus_minor, renewal_rate, nnmrr_minor, nps, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plan_id, user_id) DO UPDATE SET \
                 target_bonus_minor = excluded.target_bonus_minor, renewal_rate = excluded.renewal_rate, \
                 nnmrr_minor = excluded.nnmrr_minor, nps = excluded.nps, updated_at = excluded.updated_at",
            )
            .bind(plan_id)
            .bind(user_id)
            .bind(bonus)
            .bind(target.renewal_rate)
            .bind(nnmrr)
            .bind(target.nps)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            audit!(
                tx,
                actor,
                "incentive_target.set",
                "incentive_plan",
                Some(plan_id),
                Some(format!("user {user_id}"))
            );
        });
        Ok(IncentiveTarget {
            plan_id,
            user_id,
            target: TargetDraft {
                target_bonus: bonus.map(|b| c.to_major(b)),
                nnmrr: nnmrr.map(|n| c.to_major(n)),
                ..target
            },
            updated_at: at,
        })
    }

    pub async fn delete_incentive_target(
        &self,
        plan_id: i64,
        user_id: i64,
        actor: &Actor,
    ) -> Result<()> {
        self.incentive_plan(plan_id).await?;
        in_tx!(self, |tx| {
            let n =
                sqlx::query("DELETE FROM incentive_targets WHERE plan_id = $1 AND user_id = $2")
                    .bind(plan_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if n == 0 {
                return Err(StoreError::not_found(format!(
                    "a target for user {user_id} in plan {plan_id}"
                )));
            }
            audit!(
                tx,
                actor,
                "incentive_target.delete",
                "incentive_plan",
                Some(plan_id),
                Some(format!("user {user_id}"))
            );
        });
        Ok(())
    }

    // ---------------------------------------------------------------- incentive actuals

    /// Per account owner, what the incentive calculator measures over `period`: the renewals
    /// decided in it (ARR up and kept), net new MRR from existing customers (the dashboard's
    /// figures over the owner's accounts), and the NPS of the answers in it and in the period
    /// before. Accounts without an owner are left out.
    /// What each CSM's accounts did in the period: computed ahead by the scheduler for every
    /// plan's period (see [`Store::precompute_team`]) when that was done in the last 15 minutes,
    /// else computed now.
    pub async fn incentive_actuals(&self, period: Period) -> Result<HashMap<i64, Actuals>> {
        let newer_than = now() - chrono::Duration::minutes(PRECOMPUTED_MINUTES);
        if let Some(text) = self.precomputed(&actuals_key(period), newer_than).await? {
            if let Ok(actuals) = serde_json::from_str(&text) {
                return Ok(actuals);
            }
        }
        self.compute_incentive_actuals(period).await
    }

    /// Computes ahead what the team pages read from the whole book: the incentive actuals of the
    /// ten newest plans' periods and today's workload. Returns how many results it kept.
    pub async fn precompute_team(&self, today: NaiveDate) -> Result<usize> {
        let mut kept = 0;
        for plan in self.list_incentive_plans(Some(10), None).await?.items {
            let period = plan.period();
            let actuals = self.compute_incentive_actuals(period).await?;
            let text =
                serde_json::to_string(&actuals).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.put_precomputed(&actuals_key(period), &text).await?;
            kept += 1;
        }
        let books = self.team_workload(today).await?;
        let text = serde_json::to_string(&books).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put_precomputed(&workload_key(today), &text).await?;
        Ok(kept + 1)
    }

    /// Today's workload per CSM as computed ahead in the last 15 minutes, else computed now.
    pub async fn team_workload_ahead(
        &self,
        today: NaiveDate,
    ) -> Result<Vec<kizuna_domain::insight::team::Workload>> {
        let newer_than = now() - chrono::Duration::minutes(PRECOMPUTED_MINUTES);
        if let Some(text) = self.precomputed(&workload_key(today), newer_than).await? {
            if let Ok(books) = serde_json::from_str(&text) {
                return Ok(books);
            }
        }
        self.team_workload(today).await
    }

    async fn compute_incentive_actuals(&self, period: Period) -> Result<HashMap<i64, Actuals>> {
        let (accounts, _) = self.dashboard_accounts(period, Default::default()).await?;
        let decided = self.decided_renewals(period.from, period.to).await?;
        let prev = previous_period(period);
        let rows: Vec<(Option<i64>, i64, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT a.owner_id, r.score, r.responded_at FROM survey_responses r JOIN accounts a ON a.id = r.account_id \
             WHERE a.deleted_at IS NULL AND r.survey = 'nps' AND r.responded_at >= $1 AND r.responded_at < $2"
        )
        .bind(start_of(prev.from))
        .bind(start_of(period.to + Days::new(1)))
        .fetch_all(pool)
        .await?
        });
        let owner_of: HashMap<i64, i64> = accounts
            .iter()
            .filter_map(|a| a.owner_id.map(|o| (a.id, o)))
            .collect();
        let mut out: HashMap<i64, Actuals> = HashMap::new();
        let mut facts: HashMap<i64, Vec<&kizuna_domain::insight::dashboard::AccountFacts>> =
            HashMap::new();
        for a in &accounts {
            if let Some(o) = a.owner_id {
                facts.entry(o).or_default().push(&a.facts);
            }
        }
        for (owner, f) in facts {
            let r = Figures::compute(&f, period, None).retention;
            let e = out.entry(owner).or_default();
            e.expansion_mrr = r.expansion_mrr;
            e.contraction_mrr = r.contraction_mrr;
            e.churned_mrr = r.churned_mrr;
        }
        for d in &decided {
            let Some(owner) = owner_of.get(&d.account_id) else {
                continue;
            };
            let x = Decided::new(d.mrr, d.next_mrr, d.outcome);
            let e = out.entry(*owner).or_default();
            e.renewing_arr += x.arr_up;
            e.renewed_arr += x.arr_after.min(x.arr_up);
            e.renewals += 1;
        }
        let mut now_scores: HashMap<i64, Vec<NpsScore>> = HashMap::new();
        let mut prev_scores: HashMap<i64, Vec<NpsScore>> = HashMap::new();
        let period_start = start_of(period.from);
        for (owner, score, at) in rows {
            let (Some(owner), Ok(s)) = (owner, NpsScore::parse(score)) else {
                continue;
            };
            if at >= period_start {
                now_scores.entry(owner).or_default().push(s);
            } else {
                prev_scores.entry(owner).or_default().push(s);
            }
        }
        for (owner, scores) in now_scores {
            let e = out.entry(owner).or_default();
            e.nps_responses = scores.len() as i64;
            e.nps = net_promoter_score(scores);
        }
        for (owner, scores) in prev_scores {
            out.entry(owner).or_default().previous_nps = net_promoter_score(scores);
        }
        Ok(out)
    }

    /// The calculator: every active CSM's (and manager's) payout under a plan over a period (the
    /// plan's own by default).
    pub async fn incentive_report(
        &self,
        plan_id: i64,
        period: Option<Period>,
    ) -> Result<IncentiveReport> {
        let plan = self.incentive_plan(plan_id).await?;
        let period = period.unwrap_or_else(|| plan.period());
        let targets: HashMap<i64, TargetDraft> = self
            .incentive_targets(plan_id)
            .await?
            .into_iter()
            .map(|t| (t.user_id, t.target))
            .collect();
        let actuals = self.incentive_actuals(period).await?;
        let new_plan = plan.as_new();
        let rules = plan.rules();
        let rows: Vec<CsmPayout> = self
            .list_users()
            .await?
            .into_iter()
            .filter(|u| {
                (u.active && matches!(u.role, Role::Csm | Role::Manager))
                    || targets.contains_key(&u.id.0)
            })
            .map(|u| {
                let t = targets
                    .get(&u.id.0)
                    .copied()
                    .unwrap_or_default()
                    .resolve(&new_plan);
                let a = actuals.get(&u.id.0).copied().unwrap_or_default();
                CsmPayout {
                    user_id: u.id.0,
                    name: u.name,
                    targets: t,
                    nnmrr: a.nnmrr(),
                    renewal_rate: a.renewal_rate(),
                    payout: incentive::compute(&rules, &t, &a),
                    actuals: a,
                }
            })
            .collect();
        Ok(IncentiveReport {
            total_target_bonus: rows.iter().map(|r| r.targets.target_bonus).sum(),
            total_payout: rows.iter().map(|r| r.payout.total).sum(),
            previous_period: previous_period(period),
            plan,
            period,
            rows,
        })
    }
}
