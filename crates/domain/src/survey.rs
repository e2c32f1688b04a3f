//! Survey answers; NPS first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Collector, ValidationError};
use crate::ids::{AccountId, ContactId, SurveyResponseId};
use crate::string_enum;
use crate::text;

/// An NPS answer: 0 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
pub struct NpsScore(u8);

impl NpsScore {
    pub fn parse(score: i64) -> Result<Self, String> {
        if (0..=10).contains(&score) {
            Ok(NpsScore(score as u8))
        } else {
            Err(format!("{score} is not an NPS score; it must be 0 to 10"))
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn category(self) -> NpsCategory {
        match self.0 {
            9..=10 => NpsCategory::Promoter,
            7..=8 => NpsCategory::Passive,
            _ => NpsCategory::Detractor,
        }
    }
}

impl TryFrom<i64> for NpsScore {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        NpsScore::parse(v)
    }
}

impl From<NpsScore> for i64 {
    fn from(s: NpsScore) -> Self {
        i64::from(s.0)
    }
}

string_enum! {
    pub enum NpsCategory {
        Promoter = "promoter",
        Passive = "passive",
        Detractor = "detractor",
    }
}

/// Net Promoter Score of a set of answers: % promoters − % detractors, −100 to 100.
pub fn net_promoter_score(scores: impl IntoIterator<Item = NpsScore>) -> Option<f64> {
    let (mut n, mut promoters, mut detractors) = (0u32, 0u32, 0u32);
    for s in scores {
        n += 1;
        match s.category() {
            NpsCategory::Promoter => promoters += 1,
            NpsCategory::Detractor => detractors += 1,
            NpsCategory::Passive => {}
        }
    }
    (n > 0).then(|| 100.0 * (f64::from(promoters) - f64::from(detractors)) / f64::from(n))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyResponse {
    pub id: SurveyResponseId,
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    /// Which survey: `nps` unless told otherwise.
    pub survey: String,
    pub score: NpsScore,
    pub category: NpsCategory,
    pub comment: Option<String>,
    pub responded_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyResponseDraft {
    pub account_id: Option<AccountId>,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    pub survey: Option<String>,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub responded_at: Option<DateTime<Utc>>,
}

crate::overlay!(SurveyResponseDraft {
    account_id,
    contact_id,
    external_id,
    survey,
    score,
    comment,
    responded_at
});

#[derive(Debug, Clone, PartialEq)]
pub struct NewSurveyResponse {
    pub account_id: AccountId,
    pub contact_id: Option<ContactId>,
    pub external_id: Option<String>,
    pub survey: String,
    pub score: NpsScore,
    pub comment: Option<String>,
    pub responded_at: DateTime<Utc>,
}

impl NewSurveyResponse {
    pub fn parse(
        draft: SurveyResponseDraft,
        account_id: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let mut c = Collector::new();
        let account_id = draft.account_id.or(account_id);
        if account_id.is_none() {
            c.add("account_id", "is required");
        }
        let external_id = c.check(
            "external_id",
            text::external_id(draft.external_id.as_deref()),
        );
        let survey = c.check(
            "survey",
            text::required(draft.survey.as_deref().or(Some("nps")), 100),
        );
        let score = match draft.score {
            None => {
                c.add("score", "is required");
                None
            }
            Some(s) => c.check("score", NpsScore::parse(s)),
        };
        let comment = c.check("comment", text::bounded(draft.comment.as_deref(), 5000));
        c.finish()?;
        Ok(NewSurveyResponse {
            account_id: account_id.unwrap_or(AccountId(0)),
            contact_id: draft.contact_id,
            external_id: external_id.flatten(),
            survey: survey.unwrap_or_default(),
            score: score.unwrap_or(NpsScore(0)),
            comment: comment.flatten(),
            responded_at: draft.responded_at.unwrap_or(now),
        })
    }
}

impl From<&SurveyResponse> for SurveyResponseDraft {
    fn from(r: &SurveyResponse) -> Self {
        SurveyResponseDraft {
            account_id: Some(r.account_id),
            contact_id: r.contact_id,
            external_id: r.external_id.clone(),
            survey: Some(r.survey.clone()),
            score: Some(i64::from(r.score)),
            comment: r.comment.clone(),
            responded_at: Some(r.responded_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_scores_and_categories() {
        let check = |raw: i64, expected: Option<NpsCategory>| {
            assert_eq!(
                NpsScore::parse(raw).ok().map(NpsScore::category),
                expected,
                "score {raw}"
            );
        };
        check(-1, None);
        check(0, Some(NpsCategory::Detractor));
        check(6, Some(NpsCategory::Detractor));
        check(7, Some(NpsCategory::Passive));
        check(8, Some(NpsCategory::Passive));
        check(9, Some(NpsCategory::Promoter));
        check(10, Some(NpsCategory::Promoter));
        check(11, None);
    }

    #[test]
    fn net_promoter_score_is_promoters_minus_detractors() {
        let s = |v: &[i64]| net_promoter_score(v.iter().map(|x| NpsScore::parse(*x).unwrap()));
        assert_eq!(s(&[]), None);
        assert_eq!(s(&[10, 9, 8, 3]), Some(25.0));
        assert_eq!(s(&[0, 0]), Some(-100.0));
    }

    #[test]
    fn response_needs_a_valid_score() {
        let now = Utc::now();
        let err = NewSurveyResponse::parse(
            SurveyResponseDraft {
                score: Some(12),
                ..Default::default()
            },
            Some(AccountId(1)),
            now,
        )
        .unwrap_err();
        assert_eq!(err.first().field, "score");
        assert!(err.first().message.contains("0 to 10"));
    }
}
