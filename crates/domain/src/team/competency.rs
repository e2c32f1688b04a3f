//! The competency framework and the career ladder.
//!
//! A framework is a scale of levels (1 to N, four by default, each named) and skills, each with
//! a description of what every level of it looks like. A career level (Associate CSM, CSM, …)
//! expects a level of some skills. A CSM's current level of a skill is their latest assessment of
//! it; an unassessed skill counts as level 0, below every expectation. A gap is a skill whose
//! current level is below what the CSM's career level expects; readiness for the next career level
//! is the share of that level's expectations the CSM already meets.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::string_enum;
use crate::text;

/// Levels a scale may have at most.
pub const MAX_SCALE: u8 = 10;
/// Levels a scale has unless configured otherwise.
pub const DEFAULT_SCALE: u8 = 4;

string_enum! {
    /// What area of the job a skill belongs to.
    pub enum SkillCategory {
        Customer = "customer",
        Product = "product",
        Commercial = "commercial",
        Program = "program",
        Analytics = "analytics",
        Leadership = "leadership",
        Personal = "personal",
    }
}

/// One step of the scale, named in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScaleLevel {
    pub level: u8,
    pub name_ja: String,
    pub name_en: String,
}

/// Checks a scale: levels 1, 2, … N in order (2 ≤ N ≤ [`MAX_SCALE`]), each named.
pub fn check_scale(levels: &[ScaleLevel]) -> Result<(), ValidationError> {
    let mut c = Collector::new();
    if levels.len() < 2 || levels.len() > MAX_SCALE as usize {
        c.add("levels", format!("must have 2 to {MAX_SCALE} levels"));
    }
    for (n, l) in levels.iter().enumerate() {
        if usize::from(l.level) != n + 1 {
            c.add(
                &format!("levels[{n}].level"),
                format!("must be {} (levels are numbered 1, 2, … in order)", n + 1),
            );
        }
        c.check(
            &format!("levels[{n}].name_ja"),
            text::required(Some(&l.name_ja), 100),
        );
        c.check(
            &format!("levels[{n}].name_en"),
            text::required(Some(&l.name_en), 100),
        );
    }
    c.finish()
}

/// What one level of one skill looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SkillLevelText {
    pub level: u8,
    #[serde(default)]
    pub description_ja: String,
    #[serde(default)]
    pub description_en: String,
}

/// A skill as a caller sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SkillDraft {
    /// Stable identifier: lower-case letters, digits and `_`, starting with a letter.
    pub key: Option<String>,
    pub category: Option<SkillCategory>,
    pub name_ja: Option<String>,
    pub name_en: Option<String>,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    /// Where the skill comes in lists (smaller first).
    pub position: Option<i32>,
    /// A description per level of the scale; levels not given have none.
    pub levels: Option<Vec<SkillLevelText>>,
}

/// A valid skill.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSkill {
    pub key: String,
    pub category: SkillCategory,
    pub name_ja: String,
    pub name_en: String,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    pub position: i32,
    pub levels: Vec<SkillLevelText>,
}

/// Checks a key: `^[a-z][a-z0-9_]{0,39}$`.
pub fn parse_key(raw: Option<&str>) -> Result<String, String> {
    let k = raw.map(str::trim).unwrap_or_default();
    let ok = !k.is_empty()
        && k.len() <= 40
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(k.to_string())
    } else {
        Err("must be 1 to 40 lower-case letters, digits or `_`, starting with a letter".into())
    }
}

impl SkillDraft {
    /// Validates the draft against a scale of `scale` levels; every problem is named.
    pub fn parse(self, scale: u8) -> Result<NewSkill, ValidationError> {
        let mut c = Collector::new();
        let key = c.check("key", parse_key(self.key.as_deref()));
        let category = self.category;
        if category.is_none() {
            c.add(
                "category",
                format!("is required; one of: {}", SkillCategory::NAMES.join(", ")),
            );
        }
        let name_ja = c.check("name_ja", text::required(self.name_ja.as_deref(), 200));
        let name_en = c.check("name_en", text::required(self.name_en.as_deref(), 200));
        let description_ja = c
            .check(
                "description_ja",
                text::bounded(self.description_ja.as_deref(), 2000),
            )
            .flatten();
        let description_en = c
            .check(
                "description_en",
                text::bounded(self.description_en.as_deref(), 2000),
            )
            .flatten();
        let mut levels = self.levels.unwrap_or_default();
        levels.sort_by_key(|l| l.level);
        for (n, l) in levels.iter().enumerate() {
            if l.level < 1 || l.level > scale {
                c.add(
                    &format!("levels[{n}].level"),
                    format!("must be between 1 and {scale}"),
                );
            }
            if n > 0 && levels[n - 1].level == l.level {
                c.add(
                    &format!("levels[{n}].level"),
                    format!("level {} is described twice", l.level),
                );
            }
            for (field, t) in [
                ("description_ja", &l.description_ja),
                ("description_en", &l.description_en),
            ] {
                if t.chars().count() > 2000 {
                    c.add(
                        &format!("levels[{n}].{field}"),
                        "must be at most 2000 characters",
                    );
                }
            }
        }
        c.finish()?;
        Ok(NewSkill {
            key: key.unwrap_or_default(),
            category: category.unwrap_or(SkillCategory::Customer),
            name_ja: name_ja.unwrap_or_default(),
            name_en: name_en.unwrap_or_default(),
            description_ja,
            description_en,
            position: self.position.unwrap_or(0),
            levels: levels
                .into_iter()
                .map(|l| SkillLevelText {
                    level: l.level,
                    description_ja: l.description_ja.trim().to_string(),
                    description_en: l.description_en.trim().to_string(),
                })
                .collect(),
        })
    }
}

/// A career level as a caller sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CareerLevelDraft {
    pub key: Option<String>,
    pub name_ja: Option<String>,
    pub name_en: Option<String>,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    /// Order on the ladder: 1 is the first step; higher is more senior. Unique.
    pub rank: Option<i32>,
    /// The level of each skill (by key) this career level expects.
    pub expectations: Option<BTreeMap<String, u8>>,
}

/// A valid career level (skill keys are checked against the framework by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCareerLevel {
    pub key: String,
    pub name_ja: String,
    pub name_en: String,
    pub description_ja: Option<String>,
    pub description_en: Option<String>,
    pub rank: i32,
    pub expectations: BTreeMap<String, u8>,
}

impl CareerLevelDraft {
    pub fn parse(self, scale: u8) -> Result<NewCareerLevel, ValidationError> {
        let mut c = Collector::new();
        let key = c.check("key", parse_key(self.key.as_deref()));
        let name_ja = c.check("name_ja", text::required(self.name_ja.as_deref(), 200));
        let name_en = c.check("name_en", text::required(self.name_en.as_deref(), 200));
        let description_ja = c
            .check(
                "description_ja",
                text::bounded(self.description_ja.as_deref(), 2000),
            )
            .flatten();
        let description_en = c
            .check(
                "description_en",
                text::bounded(self.description_en.as_deref(), 2000),
            )
            .flatten();
        let rank = match self.rank {
            Some(r) if (1..=100).contains(&r) => r,
            Some(_) => {
                c.add("rank", "must be between 1 and 100");
                0
            }
            None => {
                c.add("rank", "is required (1 is the first step of the ladder)");
                0
            }
        };
        let expectations = self.expectations.unwrap_or_default();
        for (k, v) in &expectations {
            if *v < 1 || *v > scale {
                c.add(
                    &format!("expectations.{k}"),
                    format!("must be between 1 and {scale}"),
                );
            }
        }
        c.finish()?;
        Ok(NewCareerLevel {
            key: key.unwrap_or_default(),
            name_ja: name_ja.unwrap_or_default(),
            name_en: name_en.unwrap_or_default(),
            description_ja,
            description_en,
            rank,
            expectations,
        })
    }
}

/// Checks an assessed level against the scale.
pub fn check_level(level: i64, scale: u8) -> Result<u8, String> {
    if (1..=i64::from(scale)).contains(&level) {
        Ok(level as u8)
    } else {
        Err(format!("must be between 1 and {scale}"))
    }
}

/// Where a CSM stands on one skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkillStanding {
    pub skill: String,
    /// The latest assessed level; `None` when never assessed.
    pub current: Option<u8>,
    /// What the CSM's career level expects; `None` when it expects nothing of this skill.
    pub expected: Option<u8>,
    /// What the next career level expects.
    pub next_expected: Option<u8>,
    /// Levels short of the expectation (0 when met or nothing is expected).
    pub gap: u8,
    /// Levels short of the next career level's expectation.
    pub next_gap: u8,
}

/// How far a CSM is from the next career level.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// Skills the next level expects something of.
    pub required: usize,
    /// Of those, the ones the CSM already meets.
    pub met: usize,
    /// met / required; `None` when there is no next level (or it expects nothing).
    pub share: Option<f64>,
    /// Every expectation of the next level is met.
    pub ready: bool,
    /// Skills below the next level's expectation, by key, in framework order.
    pub short: Vec<String>,
}

/// Each skill's standing, in the order of `skills`.
pub fn standings(
    skills: &[&str],
    current: &HashMap<String, u8>,
    expected: Option<&BTreeMap<String, u8>>,
    next: Option<&BTreeMap<String, u8>>,
) -> Vec<SkillStanding> {
    skills
        .iter()
        .map(|k| {
            let cur = current.get(*k).copied();
            let exp = expected.and_then(|e| e.get(*k)).copied();
            let nxt = next.and_then(|e| e.get(*k)).copied();
            let have = cur.unwrap_or(0);
            SkillStanding {
                skill: (*k).to_string(),
                current: cur,
                expected: exp,
                next_expected: nxt,
                gap: exp.map_or(0, |e| e.saturating_sub(have)),
                next_gap: nxt.map_or(0, |e| e.saturating_sub(have)),
            }
        })
        .collect()
}

/// Readiness for the next career level, from the standings.
pub fn readiness(standings: &[SkillStanding]) -> Readiness {
    let required: Vec<&SkillStanding> = standings
        .iter()
        .filter(|s| s.next_expected.is_some())
        .collect();
    let met = required.iter().filter(|s| s.next_gap == 0).count();
    Readiness {
        required: required.len(),
        met,
        share: (!required.is_empty()).then(|| met as f64 / required.len() as f64),
        ready: !required.is_empty() && met == required.len(),
        short: required
            .iter()
            .filter(|s| s.next_gap > 0)
            .map(|s| s.skill.clone())
            .collect(),
    }
}

/// The career level above `rank` on a ladder given as (rank, value) pairs: the one with the
/// smallest rank greater than it.
pub fn next_level<T>(ladder: &[(i32, T)], rank: i32) -> Option<&T> {
    ladder
        .iter()
        .filter(|(r, _)| *r > rank)
        .min_by_key(|(r, _)| *r)
        .map(|(_, t)| t)
}

/// The shipped framework: the scale, the skills a CS team hires and grows for, and a four-step
/// ladder.
pub struct DefaultFramework {
    pub scale: Vec<ScaleLevel>,
    pub skills: Vec<SkillDraft>,
    pub ladder: Vec<CareerLevelDraft>,
}

/// (key, category, name ja, name en, [level 1..4 ja], [level 1..4 en], expected level per
/// career step: associate, CSM, senior, principal)
type SkillRow = (
    &'static str,
    SkillCategory,
    &'static str,
    &'static str,
    [&'static str; 4],
    [&'static str; 4],
    [u8; 4],
);

const SKILLS: &[SkillRow] = &[
    (
        "relationship",
        SkillCategory::Customer,
        "顧客コミュニケーションと関係構築",
        "Customer communication and relationship building",
        [
            "担当者と定期的に連絡を取り、依頼に迅速に応える。",
            "複数の関係者と信頼関係を築き、顧客の目標を把握している。",
            "チャンピオンを育て、組織的な関係を計画的に広げる。",
            "難しい顧客とも長期的な関係を築き、他のメンバーに手本を示す。",
        ],
        [
            "Keeps in regular touch with the main contact and answers requests promptly.",
            "Builds trust with several stakeholders and knows the customer's goals.",
            "Develops champions and widens the relationship across the organisation on purpose.",
            "Builds lasting relationships with the hardest customers; others learn from how.",
        ],
        [2, 3, 3, 4],
    ),
    (
        "difficult_situations",
        SkillCategory::Customer,
        "困難な状況への対応",
        "Managing difficult situations",
        [
            "問題を把握し、適切な相手にすぐエスカレーションする。",
            "不満を持つ顧客と冷静に話し、解決まで追跡する。",
            "重大なエスカレーションを主導し、社内外の利害を調整する。",
            "解約危機の顧客を立て直し、再発を防ぐ仕組みを作る。",
        ],
        [
            "Recognises a problem and escalates it to the right person quickly.",
            "Talks calmly with an unhappy customer and follows the issue to its resolution.",
            "Leads serious escalations, balancing the customer's and the company's interests.",
            "Turns around customers about to churn and builds what prevents a repeat.",
        ],
        [1, 2, 3, 4],
    ),
    (
        "enablement",
        SkillCategory::Leadership,
        "ナレッジ共有と他者の育成",
        "Sharing knowledge and enabling others",
        [
            "学んだことをチームの資料に残す。",
            "ベストプラクティスを共有し、新人の立ち上がりを手伝う。",
            "研修やプレイブックを作り、チームの水準を上げる。",
            "メンターとして複数のCSMを育て、組織の学習文化を作る。",
        ],
        [
            "Writes down what they learn in the team's documentation.",
            "Shares good practice and helps new colleagues get started.",
            "Builds trainings and playbooks that raise the whole team's standard.",
            "Mentors several CSMs and shapes how the organisation learns.",
        ],
        [1, 2, 3, 4],
    ),
    (
        "product_depth",
        SkillCategory::Product,
        "製品・技術の知識",
        "Product and technical depth",
        [
            "主要機能を説明し、よくある質問に答えられる。",
            "顧客の業務に合わせた製品の使い方を提案できる。",
            "連携や設定など技術的な課題を顧客と一緒に解決する。",
            "顧客の声を製品ロードマップに反映させ、専門家として頼られる。",
        ],
        [
            "Explains the main features and answers common questions.",
            "Proposes how the product fits the customer's own processes.",
            "Solves technical questions (integrations, configuration) with the customer.",
            "Brings the customer's voice into the product roadmap; the go-to expert.",
        ],
        [2, 2, 3, 4],
    ),
    (
        "onboarding",
        SkillCategory::Program,
        "オンボーディングと活用推進",
        "Onboarding and adoption programs",
        [
            "決められたオンボーディング手順を実行する。",
            "マイルストーンを管理し、価値実現までの期間を短くする。",
            "セグメントごとの活用プログラムを設計し、改善する。",
            "全社のジャーニーとプロセスを設計し、成果で評価する。",
        ],
        [
            "Runs the standard onboarding steps.",
            "Manages milestones and shortens the time to first value.",
            "Designs and improves adoption programs per segment.",
            "Designs the company's journeys and processes and measures them by their results.",
        ],
        [2, 3, 3, 4],
    ),
    (
        "internal_alignment",
        SkillCategory::Leadership,
        "社内ステークホルダーとの連携",
        "Aligning internal stakeholders",
        [
            "営業やサポートに必要な情報を渡す。",
            "営業・サポート・製品チームと協力して顧客の課題を進める。",
            "部門をまたぐ取り組みを調整し、顧客の代弁者となる。",
            "経営層と部門の優先順位を顧客成功の視点でそろえる。",
        ],
        [
            "Hands sales and support the information they need.",
            "Works with sales, support and product to move a customer's issue forward.",
            "Coordinates cross-team efforts and speaks for the customer inside the company.",
            "Aligns leadership and departments on priorities from the customer's success.",
        ],
        [1, 2, 3, 4],
    ),
    (
        "commercial",
        SkillCategory::Commercial,
        "商談力（更新とアップセル）",
        "Commercial sense: renewals and expansion",
        [
            "更新日と契約内容を把握している。",
            "更新を計画的に進め、拡大の機会を見つけて営業につなぐ。",
            "価値に基づく提案で更新と拡大を主導し、予測を外さない。",
            "複雑な大型更新を成功させ、チームの収益戦略を作る。",
        ],
        [
            "Knows the renewal dates and the terms of the contracts.",
            "Runs renewals to a plan and spots expansion opportunities for sales.",
            "Leads renewals and expansion with value-based proposals; forecasts accurately.",
            "Wins complex, large renewals and shapes the team's revenue strategy.",
        ],
        [1, 2, 3, 4],
    ),
    (
        "data_analysis",
        SkillCategory::Analytics,
        "データとヘルス分析",
        "Data and health analysis",
        [
            "ヘルススコアと利用状況を確認し、変化に気づく。",
            "指標から原因を読み取り、次の行動を決める。",
            "ポートフォリオ全体を分析し、リスクと機会に優先順位をつける。",
            "ヘルススコアや予測モデルを改善し、意思決定の質を上げる。",
        ],
        [
            "Reads health scores and usage and notices when they change.",
            "Reads the cause from the indicators and decides what to do next.",
            "Analyses the whole portfolio and ranks its risks and opportunities.",
            "Improves the health score and the prediction models behind the team's decisions.",
        ],
        [1, 2, 3, 3],
    ),
    (
        "executive_communication",
        SkillCategory::Customer,
        "経営層とのコミュニケーション",
        "Executive communication",
        [
            "上長の支援を受けて役員向けの資料を準備する。",
            "ビジネスレビュー（QBR）を成果に沿って進行する。",
            "顧客の経営層と戦略的な対話を行い、ROIを示す。",
            "経営層の信頼できる助言者として関係を主導する。",
        ],
        [
            "Prepares material for executives with a senior colleague's help.",
            "Runs business reviews (QBRs) around the customer's outcomes.",
            "Holds strategic conversations with the customer's executives and shows ROI.",
            "Leads the relationship as a trusted advisor to executives.",
        ],
        [1, 2, 3, 4],
    ),
    (
        "resilience",
        SkillCategory::Personal,
        "レジリエンス",
        "Resilience",
        [
            "困難な日でも落ち着いて仕事を進める。",
            "失敗から学び、優先順位を立て直す。",
            "プレッシャーの下でも判断がぶれず、周囲を支える。",
            "変化の中でチームを安定させ、前向きな文化を作る。",
        ],
        [
            "Stays composed and keeps working on a hard day.",
            "Learns from setbacks and resets priorities.",
            "Keeps sound judgement under pressure and supports others.",
            "Steadies the team through change and builds a positive culture.",
        ],
        [1, 2, 3, 3],
    ),
];

/// (key, name ja, name en, description ja, description en)
const LADDER: &[(&str, &str, &str, &str, &str)] = &[
    (
        "associate",
        "アソシエイトCSM",
        "Associate CSM",
        "少数の顧客を上長の支援を受けて担当する。",
        "Looks after a few customers with a senior colleague's support.",
    ),
    (
        "csm",
        "CSM",
        "CSM",
        "自分のポートフォリオを自律的に担当する。",
        "Owns a portfolio independently.",
    ),
    (
        "senior",
        "シニアCSM",
        "Senior CSM",
        "重要顧客と難しい案件を担当し、チームを支える。",
        "Owns key accounts and hard cases; supports the team.",
    ),
    (
        "principal",
        "プリンシパルCSM",
        "Principal CSM",
        "戦略顧客と組織の仕組みづくりを主導する。",
        "Leads strategic accounts and how the organisation works.",
    ),
];

/// The framework Kizuna ships.
pub fn default_framework() -> DefaultFramework {
    let scale = [
        ("基礎", "Foundation"),
        ("実践", "Practitioner"),
        ("熟達", "Advanced"),
        ("指導", "Expert"),
    ]
    .iter()
    .enumerate()
    .map(|(n, (ja, en))| ScaleLevel {
        level: n as u8 + 1,
        name_ja: (*ja).to_string(),
        name_en: (*en).to_string(),
    })
    .collect();
    let skills = SKILLS
        .iter()
        .enumerate()
        .map(|(n, (key, cat, ja, en, lja, len, _))| SkillDraft {
            key: Some((*key).to_string()),
            category: Some(*cat),
            name_ja: Some((*ja).to_string()),
            name_en: Some((*en).to_string()),
            description_ja: None,
            description_en: None,
            position: Some(n as i32 + 1),
            levels: Some(
                (0..4)
                    .map(|l| SkillLevelText {
                        level: l as u8 + 1,
                        description_ja: lja[l].to_string(),
                        description_en: len[l].to_string(),
                    })
                    .collect(),
            ),
        })
        .collect();
    let ladder = LADDER
        .iter()
        .enumerate()
        .map(|(step, (key, ja, en, dja, den))| CareerLevelDraft {
            key: Some((*key).to_string()),
            name_ja: Some((*ja).to_string()),
            name_en: Some((*en).to_string()),
            description_ja: Some((*dja).to_string()),
            description_en: Some((*den).to_string()),
            rank: Some(step as i32 + 1),
            expectations: Some(
                SKILLS
                    .iter()
                    .map(|s| (s.0.to_string(), s.6[step]))
                    .collect(),
            ),
        })
        .collect();
    DefaultFramework {
        scale,
        skills,
        ladder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, u8)]) -> BTreeMap<String, u8> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
    }

    #[test]
    fn standings_and_readiness_by_hand() {
        let skills = ["a", "b", "c", "d"];
        // Assessed: a 3, b 1, c 2; d never assessed.
        let current: HashMap<String, u8> = [("a", 3), ("b", 1), ("c", 2)]
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect();
        let expected = map(&[("a", 2), ("b", 2), ("d", 1)]);
        let next = map(&[("a", 3), ("b", 3), ("c", 2), ("d", 2)]);
        let s = standings(&skills, &current, Some(&expected), Some(&next));
        let gaps: Vec<u8> = s.iter().map(|x| x.gap).collect();
        let next_gaps: Vec<u8> = s.iter().map(|x| x.next_gap).collect();
        // a meets 2; b is one short of 2; c has no expectation; d (level 0) is one short of 1.
        assert_eq!(gaps, vec![0, 1, 0, 1]);
        // Next level: a 3 met, b 1 → 3 short 2, c 2 met, d 0 → 2 short 2.
        assert_eq!(next_gaps, vec![0, 2, 0, 2]);
        assert_eq!(s[3].current, None);
        assert_eq!(s[2].expected, None);
        let r = readiness(&s);
        assert_eq!((r.required, r.met), (4, 2));
        assert_eq!(r.share, Some(0.5));
        assert!(!r.ready);
        assert_eq!(r.short, vec!["b".to_string(), "d".to_string()]);
    }

    #[test]
    fn ready_when_every_next_expectation_is_met_and_none_without_a_next_level() {
        let current: HashMap<String, u8> = [("a".to_string(), 4)].into_iter().collect();
        let s = standings(&["a"], &current, None, Some(&map(&[("a", 4)])));
        let r = readiness(&s);
        assert!(r.ready);
        assert_eq!(r.share, Some(1.0));
        let top = readiness(&standings(&["a"], &current, Some(&map(&[("a", 4)])), None));
        assert_eq!(top.share, None);
        assert!(!top.ready);
    }

    #[test]
    fn next_level_is_the_smallest_rank_above() {
        let ladder = [
            (1, "associate"),
            (3, "senior"),
            (2, "csm"),
            (4, "principal"),
        ];
        assert_eq!(next_level(&ladder, 1), Some(&"csm"));
        assert_eq!(next_level(&ladder, 2), Some(&"senior"));
        assert_eq!(next_level(&ladder, 4), None);
        assert_eq!(next_level(&ladder, 0), Some(&"associate"));
    }

    #[test]
    fn a_bad_skill_names_every_field() {
        let err = SkillDraft {
            key: Some("Bad Key".into()),
            name_ja: Some(" ".into()),
            name_en: Some("ok".into()),
            levels: Some(vec![
                SkillLevelText {
                    level: 5,
                    description_ja: String::new(),
                    description_en: String::new(),
                },
                SkillLevelText {
                    level: 1,
                    description_ja: String::new(),
                    description_en: String::new(),
                },
                SkillLevelText {
                    level: 1,
                    description_ja: String::new(),
                    description_en: String::new(),
                },
            ]),
            ..Default::default()
        }
        .parse(4)
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "key",
                "category",
                "name_ja",
                "levels[1].level",
                "levels[2].level"
            ]
        );
    }

    #[test]
    fn scales_are_numbered_in_order() {
        let lvl = |n: u8| ScaleLevel {
            level: n,
            name_ja: "x".into(),
            name_en: "x".into(),
        };
        assert!(check_scale(&[lvl(1), lvl(2), lvl(3)]).is_ok());
        let e = check_scale(&[lvl(1), lvl(3)]).unwrap_err();
        assert_eq!(e.errors[0].field, "levels[1].level");
        assert_eq!(
            check_scale(&[lvl(1)]).unwrap_err().errors[0].field,
            "levels"
        );
        assert_eq!(check_level(4, 4), Ok(4));
        assert!(check_level(0, 4).is_err());
        assert!(check_level(5, 4).is_err());
    }

    #[test]
    fn the_default_framework_is_valid_and_its_ladder_rises() {
        let f = default_framework();
        check_scale(&f.scale).unwrap();
        assert!(f.skills.len() >= 8);
        for s in f.skills.clone() {
            let parsed = s.parse(DEFAULT_SCALE).unwrap();
            assert_eq!(parsed.levels.len(), 4, "{}", parsed.key);
        }
        let ladder: Vec<NewCareerLevel> = f
            .ladder
            .into_iter()
            .map(|l| l.parse(DEFAULT_SCALE).unwrap())
            .collect();
        assert_eq!(ladder.len(), 4);
        for pair in ladder.windows(2) {
            for (k, v) in &pair[1].expectations {
                assert!(
                    *v >= pair[0].expectations[k],
                    "{k} falls from {} to {}",
                    pair[0].key,
                    pair[1].key
                );
            }
        }
    }
}
