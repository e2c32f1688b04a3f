//! Message catalogues and the formats of each language.
//!
//! Every label the UI shows comes from `i18n/{ja,en}.toml` (embedded in the binary), looked up by
//! a dotted key (`nav.accounts`). Dates, numbers and money follow the user's language:
//! `2026年11月22日` / `Nov 22, 2026`, `¥1,200,000` / `$12,000`. Tests check that both catalogues
//! have the same keys and that every key the code names exists.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kizuna_domain::money::Currency;
use kizuna_domain::user::Locale;

const JA: &str = include_str!("../i18n/ja.toml");
const EN: &str = include_str!("../i18n/en.toml");

type Catalogue = HashMap<String, String>;

/// Flattens nested TOML tables into dotted keys.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalogue) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// Parses one catalogue; a broken catalogue is a build mistake caught by the tests, so at run
/// time it degrades to showing keys rather than failing requests.
pub(crate) fn parse_catalogue(text: &str) -> Result<Catalogue, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    Ok(out)
}

fn catalogue(locale: Locale) -> &'static Catalogue {
    static JA_CAT: OnceLock<Catalogue> = OnceLock::new();
    static EN_CAT: OnceLock<Catalogue> = OnceLock::new();
    let (cell, text) = match locale {
        Locale::Ja => (&JA_CAT, JA),
        Locale::En => (&EN_CAT, EN),
    };
    cell.get_or_init(|| {
        parse_catalogue(text).unwrap_or_else(|e| {
            tracing::error!(error = %e, %locale, "message catalogue does not parse");
            HashMap::new()
        })
    })
}

/// The language of one response, with its formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I18n {
    pub locale: Locale,
}

impl I18n {
    pub fn new(locale: Locale) -> I18n {
        I18n { locale }
    }

    /// The `lang` attribute of the page.
    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }

    /// The message for `key`; the key itself when the catalogue lacks it (a test forbids that).
    pub fn tr<'a>(&self, key: &'a str) -> &'a str {
        match catalogue(self.locale).get(key) {
            Some(s) => s.as_str(),
            None => {
                tracing::warn!(key, locale = %self.locale, "message key missing");
                key
            }
        }
    }

    /// The message for `key` with `{name}` placeholders filled in.
    pub fn trf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.tr(key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// The label of a closed vocabulary value: `label("stage", "adoption")` reads `stage.adoption`.
    pub fn label(&self, vocabulary: &str, value: &str) -> String {
        let key = format!("{vocabulary}.{value}");
        self.tr(&key).to_string()
    }

    pub fn date(&self, d: NaiveDate) -> String {
        match self.locale {
            Locale::Ja => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Locale::En => d.format("%b %-d, %Y").to_string(),
        }
    }

    pub fn opt_date(&self, d: Option<NaiveDate>) -> String {
        d.map(|d| self.date(d)).unwrap_or_else(|| "—".into())
    }

    /// A moment, to the minute, in UTC.
    pub fn datetime(&self, t: DateTime<Utc>) -> String {
        format!("{} {} UTC", self.date(t.date_naive()), t.format("%H:%M"))
    }

    /// Thousands separated by commas (both languages write them so).
    pub fn int(&self, n: i64) -> String {
        group_digits(n.unsigned_abs(), n < 0)
    }

    /// A number with `decimals` fractional digits, thousands grouped.
    pub fn decimal(&self, v: f64, decimals: usize) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        let text = format!("{:.*}", decimals, v.abs());
        let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
        let whole: u64 = int_part.parse().unwrap_or(0);
        let negative = v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
        let mut s = group_digits(whole, negative);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        s
    }

    /// An amount in major units: `¥1,200,000`, `$12,000`, `$12,000.50`, `EUR 900`.
    pub fn money(&self, amount: f64, currency: Currency) -> String {
        let whole = (amount.fract()).abs() < 1e-9;
        let decimals = if whole {
            0
        } else {
            currency.exponent() as usize
        };
        let number = self.decimal(amount.abs(), decimals);
        let sign = if amount < 0.0 { "-" } else { "" };
        match currency.code() {
            "JPY" => format!("{sign}¥{number}"),
            "USD" => format!("{sign}${number}"),
            "EUR" => format!("{sign}€{number}"),
            "GBP" => format!("{sign}£{number}"),
            code => format!("{sign}{code} {number}"),
        }
    }
}

fn group_digits(n: u64, negative: bool) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The language a browser asks for in `Accept-Language`: the first of Japanese or English by
/// preference; Japanese (the product's default) when it names neither.
pub fn from_accept_language(header: Option<&str>) -> Locale {
    let Some(header) = header else {
        return Locale::default();
    };
    let mut best: Option<(f32, usize, Locale)> = None;
    for (pos, part) in header.split(',').enumerate() {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let locale = match tag.split('-').next() {
            Some("ja") => Locale::Ja,
            Some("en") => Locale::En,
            _ => continue,
        };
        let better = match best {
            None => true,
            Some((bq, bpos, _)) => q > bq || (q == bq && pos < bpos),
        };
        if q > 0.0 && better {
            best = Some((q, pos, locale));
        }
    }
    best.map(|(_, _, l)| l).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(text: &str) -> BTreeSet<String> {
        parse_catalogue(text)
            .expect("catalogue parses")
            .into_keys()
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let ja = keys(JA);
        let en = keys(EN);
        let only_ja: Vec<_> = ja.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&ja).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "keys only in ja.toml: {only_ja:?}; keys only in en.toml: {only_en:?}"
        );
    }

    #[test]
    fn no_message_is_empty() {
        for (name, text) in [("ja", JA), ("en", EN)] {
            for (k, v) in parse_catalogue(text).expect("parses") {
                assert!(!v.trim().is_empty(), "{name}: `{k}` is empty");
            }
        }
    }

    #[test]
    fn placeholders_agree_between_languages() {
        let ja = parse_catalogue(JA).expect("parses");
        let en = parse_catalogue(EN).expect("parses");
        let names = |s: &str| -> BTreeSet<String> {
            s.split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                .collect()
        };
        for (k, v) in &ja {
            if let Some(e) = en.get(k) {
                assert_eq!(names(v), names(e), "placeholders differ in `{k}`");
            }
        }
    }

    /// Every `tr("…")`, `trf("…"` and `label("…", …)` in the code names a key of both catalogues.
    #[test]
    fn every_key_the_code_uses_exists() {
        let ja = keys(JA);
        let en = keys(EN);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut used = 0;
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("src readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                for key in literal_keys(&text) {
                    used += 1;
                    if !ja.contains(&key) || !en.contains(&key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(
            used > 100,
            "the scan found only {used} keys; is it still matching the code?"
        );
        assert!(
            missing.is_empty(),
            "keys missing from a catalogue: {missing:#?}"
        );
    }

    /// The message keys named in the code: the first argument of `tr(` and `trf(`, and every
    /// string literal shaped like a key of a catalogue section (`"portfolio.empty"` passed to
    /// `empty(…)`, filter labels in tables of options).
    fn literal_keys(text: &str) -> Vec<String> {
        const SECTIONS: &[&str] = &[
            "app",
            "nav",
            "signin",
            "portfolio",
            "accounts",
            "account",
            "chart",
            "contact",
            "subscription",
            "movement",
            "ticket",
            "timeline",
            "touchpoint",
            "filter",
            "list",
            "views",
            "csv",
            "health",
            "settings",
            "features",
            "users",
            "tokens",
            "error",
            "tasks",
            "automation",
            "survey",
            "scorecards",
            "insight",
            "team",
            "reports",
            "report_op",
            "report_chart",
        ];
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('"') {
            rest = &rest[start + 1..];
            let Some(end) = rest.find('"') else { break };
            let literal = &rest[..end];
            rest = &rest[end + 1..];
            let shaped = literal.contains('.')
                && literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
                && !literal.ends_with(".js")
                && !literal.ends_with(".css")
                && !literal.ends_with(".csv");
            let section = literal.split('.').next().unwrap_or("");
            if shaped && SECTIONS.contains(&section) {
                out.push(literal.to_string());
            }
        }
        out
    }

    /// Every value of every vocabulary the UI labels has a message.
    #[test]
    fn every_vocabulary_value_has_a_label() {
        use kizuna_domain::account::{ContractValueTier, CoverageTier, Level, LifecycleStage};
        use kizuna_domain::contact::ContactRole;
        use kizuna_domain::health::{HealthBand, Trend};
        use kizuna_domain::revenue::MovementKind;
        use kizuna_domain::subscription::SubscriptionStatus;
        use kizuna_domain::ticket::{TicketSeverity, TicketStatus};
        use kizuna_domain::token::TokenScope;
        use kizuna_domain::touchpoint::{Sentiment, TouchpointKind};
        use kizuna_domain::user::Role;
        let vocabularies: &[(&str, &[&str])] = &[
            ("tier", CoverageTier::NAMES),
            ("stage", LifecycleStage::NAMES),
            ("segment", ContractValueTier::NAMES),
            ("level", Level::NAMES),
            ("band", HealthBand::NAMES),
            ("trend", Trend::NAMES),
            ("contact_role", ContactRole::NAMES),
            ("movement", MovementKind::NAMES),
            ("sub_status", SubscriptionStatus::NAMES),
            ("severity", TicketSeverity::NAMES),
            ("ticket_status", TicketStatus::NAMES),
            ("scope", TokenScope::NAMES),
            ("sentiment", Sentiment::NAMES),
            ("tp_kind", TouchpointKind::NAMES),
            ("role", Role::NAMES),
            ("locale", Locale::NAMES),
            ("nps", &["promoter", "passive", "detractor"]),
            ("task_kind", crate::automation::VOCABULARIES[0].1),
            ("priority", crate::automation::VOCABULARIES[1].1),
            ("reason", crate::automation::VOCABULARIES[2].1),
            ("outcome", crate::automation::VOCABULARIES[3].1),
            ("task_status", crate::automation::VOCABULARIES[4].1),
            ("trigger", crate::automation::VOCABULARIES[5].1),
            ("action", crate::automation::VOCABULARIES[6].1),
            ("step", crate::automation::VOCABULARIES[7].1),
            ("owner_role", crate::automation::VOCABULARIES[8].1),
            ("email_status", crate::automation::VOCABULARIES[9].1),
            (
                "journey_status",
                kizuna_domain::journey::ProgressStatus::NAMES,
            ),
            (
                "moment",
                &[
                    "touchpoint",
                    "lifecycle",
                    "revenue",
                    "ticket",
                    "nps",
                    "usage",
                ],
            ),
            ("band", &["none"]),
            ("call", kizuna_domain::insight::renewals::RenewalCall::NAMES),
            (
                "direction",
                kizuna_domain::insight::drivers::Direction::NAMES,
            ),
            ("indicator", kizuna_domain::indicator::Indicator::NAMES),
            ("review_kind", kizuna_domain::review::ReviewKind::NAMES),
            (
                "champion_status",
                kizuna_domain::champion::ChampionStatus::NAMES,
            ),
            (
                "skill_category",
                kizuna_domain::team::competency::SkillCategory::NAMES,
            ),
            (
                "component",
                kizuna_domain::team::incentive::Component::NAMES,
            ),
            ("report_op", kizuna_domain::insight::report::Operator::NAMES),
            (
                "report_chart",
                kizuna_domain::insight::report::ChartKind::NAMES,
            ),
        ];
        // The report builder labels enum fields by their vocabulary.
        let report_fields: Vec<(&str, &[&str])> = kizuna_domain::insight::report::Subject::ALL
            .iter()
            .flat_map(|s| s.fields())
            .filter(|f| !f.vocabulary.is_empty())
            .map(|f| (f.vocabulary, f.values))
            .collect();
        let vocabularies: Vec<(&str, &[&str])> =
            vocabularies.iter().copied().chain(report_fields).collect();
        for (name, text) in [("ja", JA), ("en", EN)] {
            let cat = parse_catalogue(text).expect("parses");
            for (vocab, values) in &vocabularies {
                for v in *values {
                    let key = format!("{vocab}.{v}");
                    assert!(cat.contains_key(&key), "{name}.toml lacks `{key}`");
                }
            }
        }
    }

    #[test]
    fn dates_numbers_and_money_follow_the_language() {
        let ja = I18n::new(Locale::Ja);
        let en = I18n::new(Locale::En);
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        assert_eq!(ja.date(d), "2026年11月22日");
        assert_eq!(en.date(d), "Nov 22, 2026");
        assert_eq!(ja.money(1_200_000.0, Currency::JPY), "¥1,200,000");
        assert_eq!(en.money(12_000.0, Currency::USD), "$12,000");
        assert_eq!(en.money(12_000.5, Currency::USD), "$12,000.50");
        assert_eq!(en.money(-5_000.0, Currency::JPY), "-¥5,000");
        assert_eq!(ja.int(0), "0");
        assert_eq!(ja.int(999), "999");
        assert_eq!(ja.int(1000), "1,000");
        assert_eq!(en.int(-1_234_567), "-1,234,567");
        assert_eq!(en.decimal(72.456, 1), "72.5");
    }

    #[test]
    fn accept_language_picks_the_preferred_known_language() {
        let check =
            |h: Option<&str>, want: Locale| assert_eq!(from_accept_language(h), want, "{h:?}");
        check(None, Locale::Ja);
        check(Some("en-US,en;q=0.9"), Locale::En);
        check(Some("ja,en-US;q=0.8"), Locale::Ja);
        check(Some("fr-FR,en;q=0.5,ja;q=0.7"), Locale::Ja);
        check(Some("de"), Locale::Ja);
        check(Some("en;q=0.9,ja;q=0.1"), Locale::En);
    }
}
