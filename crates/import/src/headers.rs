//! Column names: what CRM and support tools (and Japanese spreadsheets) call each field.

use crate::Kind;

/// Lower case, without spaces, underscores, hyphens and dots, full-width letters folded:
/// `Account Name`, `account_name` and `ACCOUNT-NAME` are one name.
pub fn normalize(header: &str) -> String {
    crate::text::halfwidth(header.trim_start_matches('\u{feff}'))
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '　' | '(' | ')' | '（' | '）'))
        .collect()
}

/// (field, names it goes by), per kind. The first name is the canonical column name.
pub fn fields(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    const ACCOUNT_REF: &[&str] = &[
        "accountexternalid",
        "accountid",
        "companyid",
        "groupid",
        "取引先id",
        "顧客id",
        "会社id",
        "企業id",
        "顧客コード",
    ];
    const CONTACT_REF: &[&str] = &[
        "contactexternalid",
        "contactid",
        "userid",
        "ユーザーid",
        "取引先責任者id",
        "担当者id",
    ];
    match kind {
        Kind::Accounts => &[
            (
                "external_id",
                &[
                    "externalid",
                    "id",
                    "accountid",
                    "crmid",
                    "salesforceid",
                    "hubspotid",
                    "companyid",
                    "取引先id",
                    "顧客id",
                    "顧客コード",
                    "企業id",
                    "アカウントid",
                ],
            ),
            (
                "name",
                &[
                    "name",
                    "accountname",
                    "companyname",
                    "company",
                    "取引先名",
                    "会社名",
                    "企業名",
                    "顧客名",
                    "アカウント名",
                ],
            ),
            (
                "domain",
                &[
                    "domain",
                    "website",
                    "url",
                    "companydomain",
                    "ウェブサイト",
                    "ドメイン",
                    "ホームページ",
                ],
            ),
            ("industry", &["industry", "業種", "業界"]),
            (
                "employees",
                &[
                    "employees",
                    "numberofemployees",
                    "employeecount",
                    "従業員数",
                    "社員数",
                ],
            ),
            (
                "contract_value_tier",
                &["contractvaluetier", "segment", "セグメント", "契約規模"],
            ),
            (
                "growth_potential",
                &["growthpotential", "成長性", "成長ポテンシャル"],
            ),
            ("brand_value", &["brandvalue", "ブランド価値", "ブランド"]),
            ("referral_likelihood", &["referrallikelihood", "紹介可能性"]),
            (
                "coverage_tier",
                &[
                    "coveragetier",
                    "tier",
                    "touchmodel",
                    "ティア",
                    "タッチモデル",
                ],
            ),
            (
                "lifecycle_stage",
                &["lifecyclestage", "stage", "ステージ", "ライフサイクル"],
            ),
            (
                "owner",
                &[
                    "owner",
                    "owneremail",
                    "csm",
                    "csmemail",
                    "担当者",
                    "担当csm",
                    "担当者メール",
                ],
            ),
            (
                "parent_external_id",
                &[
                    "parentexternalid",
                    "parentid",
                    "parentaccountid",
                    "親会社id",
                    "親取引先id",
                ],
            ),
            ("currency", &["currency", "通貨"]),
        ],
        Kind::Contacts => &[
            (
                "external_id",
                &[
                    "externalid",
                    "id",
                    "contactid",
                    "userid",
                    "ユーザーid",
                    "取引先責任者id",
                    "担当者id",
                ],
            ),
            ("account_external_id", ACCOUNT_REF),
            (
                "name",
                &[
                    "name",
                    "fullname",
                    "contactname",
                    "氏名",
                    "名前",
                    "担当者名",
                ],
            ),
            ("first_name", &["firstname", "givenname", "名"]),
            ("last_name", &["lastname", "familyname", "surname", "姓"]),
            (
                "email",
                &["email", "emailaddress", "mail", "メール", "メールアドレス"],
            ),
            ("title", &["title", "jobtitle", "役職", "肩書き"]),
            ("roles", &["roles", "role", "役割"]),
            ("left_at", &["leftat", "退職日", "離任日"]),
        ],
        Kind::Subscriptions => &[
            (
                "external_id",
                &[
                    "externalid",
                    "id",
                    "subscriptionid",
                    "contractid",
                    "契約id",
                    "契約番号",
                ],
            ),
            ("account_external_id", ACCOUNT_REF),
            (
                "product",
                &["product", "productname", "製品", "プロダクト", "商品"],
            ),
            ("plan", &["plan", "planname", "プラン"]),
            (
                "mrr",
                &[
                    "mrr",
                    "monthlyrecurringrevenue",
                    "monthlyamount",
                    "月額",
                    "月額料金",
                    "月額費用",
                ],
            ),
            (
                "arr",
                &["arr", "annualrecurringrevenue", "年額", "年額料金"],
            ),
            ("currency", &["currency", "通貨"]),
            (
                "seats",
                &[
                    "seats",
                    "licenses",
                    "quantity",
                    "ライセンス数",
                    "シート数",
                    "数量",
                ],
            ),
            (
                "start_date",
                &["startdate", "start", "開始日", "契約開始日"],
            ),
            (
                "end_date",
                &[
                    "enddate",
                    "end",
                    "renewaldate",
                    "終了日",
                    "契約終了日",
                    "更新日",
                ],
            ),
            ("status", &["status", "ステータス", "状態"]),
        ],
        Kind::Tickets => &[
            (
                "external_id",
                &[
                    "externalid",
                    "id",
                    "ticketid",
                    "チケットid",
                    "問い合わせid",
                    "問い合わせ番号",
                ],
            ),
            ("account_external_id", ACCOUNT_REF),
            ("contact_external_id", CONTACT_REF),
            (
                "subject",
                &["subject", "title", "summary", "件名", "タイトル", "概要"],
            ),
            ("severity", &["severity", "priority", "優先度", "重要度"]),
            ("status", &["status", "ステータス", "状態"]),
            ("category", &["category", "type", "カテゴリ", "種別"]),
            (
                "opened_at",
                &[
                    "openedat",
                    "createdat",
                    "created",
                    "opened",
                    "作成日時",
                    "起票日",
                    "受付日時",
                ],
            ),
            (
                "solved_at",
                &[
                    "solvedat",
                    "resolvedat",
                    "closedat",
                    "solved",
                    "解決日時",
                    "完了日時",
                ],
            ),
        ],
        Kind::Nps => &[
            ("external_id", &["externalid", "id", "responseid", "回答id"]),
            ("account_external_id", ACCOUNT_REF),
            ("contact_external_id", CONTACT_REF),
            (
                "score",
                &[
                    "score",
                    "npsscore",
                    "nps",
                    "rating",
                    "スコア",
                    "推奨度",
                    "点数",
                ],
            ),
            (
                "comment",
                &[
                    "comment",
                    "comments",
                    "feedback",
                    "reason",
                    "コメント",
                    "自由回答",
                    "理由",
                ],
            ),
            (
                "responded_at",
                &[
                    "respondedat",
                    "date",
                    "submittedat",
                    "responsedate",
                    "回答日時",
                    "回答日",
                ],
            ),
            (
                "survey",
                &["survey", "surveyname", "アンケート", "アンケート名"],
            ),
        ],
        Kind::Touchpoints => &[
            ("external_id", &["externalid", "id", "activityid", "活動id"]),
            ("account_external_id", ACCOUNT_REF),
            ("contact_external_id", CONTACT_REF),
            (
                "kind",
                &["kind", "type", "activitytype", "種別", "種類", "活動種別"],
            ),
            ("subject", &["subject", "title", "件名", "タイトル"]),
            (
                "notes",
                &[
                    "notes",
                    "note",
                    "description",
                    "body",
                    "メモ",
                    "内容",
                    "議事録",
                ],
            ),
            ("sentiment", &["sentiment", "感触", "温度感"]),
            (
                "occurred_at",
                &[
                    "occurredat",
                    "date",
                    "activitydate",
                    "日時",
                    "実施日",
                    "活動日",
                ],
            ),
            (
                "duration_minutes",
                &[
                    "durationminutes",
                    "duration",
                    "minutes",
                    "所要時間",
                    "時間分",
                ],
            ),
            (
                "author",
                &["author", "owner", "csm", "担当者", "担当者メール"],
            ),
        ],
    }
}

/// Maps each column of a header row to its field, or `None` for a column Kizuna does not know
/// (kept as a custom trait for accounts and contacts). Fails when a column appears twice.
pub fn map(kind: Kind, header: &csv::StringRecord) -> Result<Vec<Option<&'static str>>, String> {
    let known = fields(kind);
    let mut out: Vec<Option<&'static str>> = Vec::with_capacity(header.len());
    for raw in header.iter() {
        let name = normalize(raw);
        let field = known
            .iter()
            .find(|(_, names)| names.contains(&name.as_str()))
            .map(|(f, _)| *f);
        if let Some(f) = field {
            if out.contains(&Some(f)) {
                return Err(format!("two columns mean `{f}` (the second is `{raw}`)"));
            }
        }
        out.push(field);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_common_exports_map() {
        let header = csv::StringRecord::from(vec![
            "\u{feff}Account ID",
            "取引先名",
            "Website",
            "従業員数",
            "Plan Notes",
        ]);
        assert_eq!(
            map(Kind::Accounts, &header).unwrap(),
            vec![
                Some("external_id"),
                Some("name"),
                Some("domain"),
                Some("employees"),
                None
            ]
        );
        let header = csv::StringRecord::from(vec!["id", "external_id"]);
        assert!(map(Kind::Accounts, &header)
            .unwrap_err()
            .contains("external_id"));
        assert_eq!(normalize("Ｅｍａｉｌ Address"), "emailaddress");
    }
}
