//! Reading spreadsheet cells: numbers with separators and currency signs, dates as Japanese and
//! English exports write them, and closed vocabularies by their usual names in either language.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Full-width ASCII (digits, letters, signs, as Japanese spreadsheets often hold) to ASCII.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

/// `1,200,000`, `¥1,200,000`, `1200000円`, `$99.50` → the number.
pub fn number(raw: &str) -> Result<f64, String> {
    let cleaned: String = halfwidth(raw)
        .chars()
        .filter(|c| !matches!(c, ',' | '¥' | '￥' | '$' | '円' | ' ' | '_'))
        .collect();
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{raw}` is not a number"))
}

pub fn integer(raw: &str) -> Result<i64, String> {
    let n = number(raw)?;
    if n.fract() != 0.0 || n.abs() > 9.0e15 {
        return Err(format!("`{raw}` is not a whole number"));
    }
    Ok(n as i64)
}

/// `2026-11-01`, `2026/11/1`, `2026年11月1日`, `20261101`.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    let s = halfwidth(raw.trim());
    let s = s.replace(['年', '月', '/'], "-").replace('日', "");
    let s = s.split_whitespace().next().unwrap_or_default();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d);
    }
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y%m%d") {
            return Ok(d);
        }
    }
    Err(format!("`{raw}` is not a date; write YYYY-MM-DD"))
}

/// An ISO 8601 date-time, or a local `YYYY-MM-DD HH:MM[:SS]` / date read in Japan time (the time
/// zone of the exports Kizuna's teams import).
pub fn datetime(raw: &str) -> Result<DateTime<Utc>, String> {
    let s = halfwidth(raw.trim());
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(&s) {
        return Ok(t.with_timezone(&Utc));
    }
    let jst = FixedOffset::east_opt(9 * 3600).ok_or("time zone")?;
    let normalized = s.replace('/', "-").replace('T', " ");
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return jst
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("`{raw}` is ambiguous"));
        }
    }
    let d = date(&s).map_err(|_| format!("`{raw}` is not a date-time; write YYYY-MM-DD HH:MM"))?;
    let midnight = d.and_hms_opt(0, 0, 0).ok_or("midnight")?;
    jst.from_local_datetime(&midnight)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{raw}` is ambiguous"))
}

/// A closed vocabulary: the canonical spelling, or one of its aliases (case-insensitive).
pub fn choice<T: std::str::FromStr>(
    raw: &str,
    aliases: &[(&str, &str)],
    allowed: &[&str],
) -> Result<T, String> {
    let key = halfwidth(raw.trim())
        .to_lowercase()
        .replace([' ', '-'], "_");
    let canonical = aliases
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, c)| *c)
        .unwrap_or(key.as_str());
    canonical
        .parse()
        .map_err(|_| format!("`{raw}` is not one of {}", allowed.join(", ")))
}

pub const COVERAGE: &[(&str, &str)] = &[
    ("high", "high_touch"),
    ("hightouch", "high_touch"),
    ("ハイタッチ", "high_touch"),
    ("mid", "mid_touch"),
    ("midtouch", "mid_touch"),
    ("ミッドタッチ", "mid_touch"),
    ("tech", "tech_touch"),
    ("low", "tech_touch"),
    ("low_touch", "tech_touch"),
    ("techtouch", "tech_touch"),
    ("テックタッチ", "tech_touch"),
    ("ロータッチ", "tech_touch"),
];
pub const STAGE: &[(&str, &str)] = &[
    ("trial", "evaluation"),
    ("評価", "evaluation"),
    ("トライアル", "evaluation"),
    ("契約", "contract"),
    ("オンボーディング", "onboarding"),
    ("導入", "onboarding"),
    ("活用", "adoption"),
    ("定着", "adoption"),
    ("更新", "renewal"),
    ("拡大", "expansion"),
    ("アップセル", "expansion"),
    ("解約", "churned"),
    ("churn", "churned"),
];
pub const CONTRACT_VALUE: &[(&str, &str)] = &[
    ("エンタープライズ", "enterprise"),
    ("ent", "enterprise"),
    ("midmarket", "mid_market"),
    ("mid", "mid_market"),
    ("ミッドマーケット", "mid_market"),
    ("中堅", "mid_market"),
    ("中小", "smb"),
    ("small", "smb"),
];
pub const LEVEL: &[(&str, &str)] = &[
    ("高", "high"),
    ("中", "medium"),
    ("mid", "medium"),
    ("低", "low"),
];
pub const SEVERITY: &[(&str, &str)] = &[
    ("低", "low"),
    ("medium", "normal"),
    ("中", "normal"),
    ("通常", "normal"),
    ("高", "high"),
    ("critical", "urgent"),
    ("緊急", "urgent"),
    ("最高", "urgent"),
];
pub const TICKET_STATUS: &[(&str, &str)] = &[
    ("new", "open"),
    ("未対応", "open"),
    ("オープン", "open"),
    ("on_hold", "pending"),
    ("hold", "pending"),
    ("保留", "pending"),
    ("対応中", "pending"),
    ("resolved", "solved"),
    ("解決", "solved"),
    ("解決済み", "solved"),
    ("完了", "closed"),
    ("クローズ", "closed"),
];
pub const SUBSCRIPTION_STATUS: &[(&str, &str)] = &[
    ("有効", "active"),
    ("契約中", "active"),
    ("更新済み", "renewed"),
    ("cancelled", "churned"),
    ("canceled", "churned"),
    ("解約", "churned"),
];
pub const TOUCHPOINT_KIND: &[(&str, &str)] = &[
    ("会議", "meeting"),
    ("打ち合わせ", "meeting"),
    ("ミーティング", "meeting"),
    ("電話", "call"),
    ("メール", "email"),
    ("トレーニング", "training"),
    ("ウェビナー", "webinar"),
    ("アンケート", "survey"),
    ("メモ", "note"),
    ("ビジネスレビュー", "qbr"),
    ("ebr", "qbr"),
];
pub const SENTIMENT: &[(&str, &str)] = &[
    ("良い", "positive"),
    ("ポジティブ", "positive"),
    ("普通", "neutral"),
    ("ニュートラル", "neutral"),
    ("悪い", "negative"),
    ("ネガティブ", "negative"),
];
pub const ROLE: &[(&str, &str)] = &[
    ("チャンピオン", "champion"),
    ("決裁者", "decision_maker"),
    ("decisionmaker", "decision_maker"),
    ("エグゼクティブスポンサー", "executive_sponsor"),
    ("sponsor", "executive_sponsor"),
    ("管理者", "admin"),
    ("ユーザー", "user"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_spreadsheets_write_them() {
        assert_eq!(number("¥1,200,000"), Ok(1_200_000.0));
        assert_eq!(number("１２０００円"), Ok(12000.0));
        assert_eq!(number("$99.50"), Ok(99.5));
        assert!(number("abc").is_err());
        assert_eq!(integer("1,200"), Ok(1200));
        assert!(integer("1.5").is_err());
        let d = |s: &str| date(s).map(|d| d.to_string());
        assert_eq!(d("2026/1/5"), Ok("2026-01-05".into()));
        assert_eq!(d("2026年11月1日"), Ok("2026-11-01".into()));
        assert_eq!(d("20261101"), Ok("2026-11-01".into()));
        assert_eq!(d("2026-11-01 10:00"), Ok("2026-11-01".into()));
        assert!(d("next week").is_err());
        assert_eq!(
            datetime("2026-11-01 09:30").map(|t| t.to_rfc3339()),
            Ok("2026-11-01T00:30:00+00:00".into())
        );
        assert_eq!(
            datetime("2026-11-01T09:30:00Z").map(|t| t.to_rfc3339()),
            Ok("2026-11-01T09:30:00+00:00".into())
        );
        use kizuna_domain::account::CoverageTier;
        let tier = |s: &str| choice::<CoverageTier>(s, COVERAGE, CoverageTier::NAMES);
        assert_eq!(tier("High Touch"), Ok(CoverageTier::HighTouch));
        assert_eq!(tier("テックタッチ"), Ok(CoverageTier::TechTouch));
        assert!(tier("gold").unwrap_err().contains("high_touch"));
    }
}
