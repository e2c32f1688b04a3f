//! E-mail templates in Japanese and English with account and contact variables, rendered by
//! `minijinja` (Jinja2 syntax: `{{ account.name }}`, `{% if contact.name %}…{% endif %}`), and
//! the signed links (unsubscribe, survey answer) that customer-facing mail carries.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Collector, ValidationError};
use crate::string_enum;

string_enum! {
    /// The two languages of the product.
    pub enum Locale {
        Ja = "ja",
        En = "en",
    }
}

/// One template: a subject and a plain-text body per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailTemplateSpec {
    pub key: String,
    pub name: String,
    /// Sent to customers (carries an unsubscribe link, skips unsubscribed addresses) rather than
    /// to the team.
    pub customer_facing: bool,
    pub subject_ja: String,
    pub body_ja: String,
    pub subject_en: String,
    pub body_en: String,
}

/// The variables a template sees. Missing values render as empty text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TemplateVars {
    pub account: AccountVars,
    pub contact: ContactVars,
    pub owner: OwnerVars,
    /// The answer link of an NPS survey e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survey_url: Option<String>,
    /// The unsubscribe link (customer-facing mail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountVars {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_band: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_renewal: Option<i64>,
    pub lifecycle_stage: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactVars {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OwnerVars {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env
}

fn check_source(c: &mut Collector, field: &str, source: &str) {
    if source.trim().is_empty() {
        c.add(field, "must not be empty");
        return;
    }
    if let Err(e) = env().template_from_str(source) {
        let at = e
            .line()
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        c.add(
            field,
            format!(
                "is not a valid template{at}: {}",
                e.detail().unwrap_or("syntax error")
            ),
        );
    }
}

impl EmailTemplateSpec {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Collector::new();
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 64
            && self
                .key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !key_ok {
            c.add("key", "must be 1 to 64 characters of a–z, 0–9 and `_`");
        }
        if self.name.trim().is_empty() {
            c.add("name", "must not be empty");
        }
        check_source(&mut c, "subject_ja", &self.subject_ja);
        check_source(&mut c, "body_ja", &self.body_ja);
        check_source(&mut c, "subject_en", &self.subject_en);
        check_source(&mut c, "body_en", &self.body_en);
        if self.subject_ja.contains('\n') || self.subject_en.contains('\n') {
            c.add("subject", "must be one line");
        }
        c.finish()
    }

    /// Renders the template in `locale`; customer-facing mail gets the unsubscribe line.
    pub fn render(&self, locale: Locale, vars: &TemplateVars) -> Result<Rendered, String> {
        let (subject, body) = match locale {
            Locale::Ja => (&self.subject_ja, &self.body_ja),
            Locale::En => (&self.subject_en, &self.body_en),
        };
        let env = env();
        let render = |src: &str| -> Result<String, String> {
            env.render_str(src, vars).map_err(|e| e.to_string())
        };
        let subject = render(subject)?.trim().to_string();
        let mut body = render(body)?;
        if self.customer_facing {
            if let Some(url) = &vars.unsubscribe_url {
                let line = match locale {
                    Locale::Ja => "今後このメールが不要な場合は、こちらから配信を停止できます：",
                    Locale::En => "To stop receiving these e-mails, unsubscribe here:",
                };
                body = format!("{}\n\n--\n{line}\n{url}\n", body.trim_end());
            }
        }
        Ok(Rendered { subject, body })
    }
}

/// The templates a new installation starts with (rules and playbooks refer to them by key).
pub fn default_templates() -> Vec<EmailTemplateSpec> {
    vec![
        EmailTemplateSpec {
            key: "welcome".into(),
            name: "Welcome (onboarding)".into(),
            customer_facing: true,
            subject_ja: "{{ account.name }} 様、ようこそ".into(),
            body_ja: "{% if contact.name %}{{ contact.name }} 様{% else %}ご担当者様{% endif %}\n\nご契約ありがとうございます。担当の{{ owner.name }}です。\nこれから導入を一緒に進めてまいります。キックオフの日程をご相談させてください。\n".into(),
            subject_en: "Welcome aboard, {{ account.name }}".into(),
            body_en: "Hello {{ contact.name or 'there' }},\n\nThank you for choosing us. I am {{ owner.name }}, your customer success manager,\nand I will guide your team through onboarding. Let us find a date for the kickoff.\n".into(),
        },
        EmailTemplateSpec {
            key: "low_usage".into(),
            name: "Low usage during onboarding".into(),
            customer_facing: true,
            subject_ja: "{{ account.name }} 様：ご利用状況のご確認".into(),
            body_ja: "{% if contact.name %}{{ contact.name }} 様{% else %}ご担当者様{% endif %}\n\n最近のご利用が少ないようです。操作でお困りのことがあれば、{{ owner.name }}までお気軽にご連絡ください。\n".into(),
            subject_en: "{{ account.name }}: how is it going?".into(),
            body_en: "Hello {{ contact.name or 'there' }},\n\nWe noticed your team has not used the product much lately. If anything is in the way,\nreply to this e-mail and {{ owner.name }} will help.\n".into(),
        },
        EmailTemplateSpec {
            key: "renewal_notice".into(),
            name: "Renewal notice".into(),
            customer_facing: true,
            subject_ja: "{{ account.name }} 様：ご契約更新のご案内".into(),
            body_ja: "{% if contact.name %}{{ contact.name }} 様{% else %}ご担当者様{% endif %}\n\nご契約は{{ account.renewal_date }}に更新日を迎えます。ご不明点は{{ owner.name }}までご連絡ください。\n".into(),
            subject_en: "{{ account.name }}: your renewal on {{ account.renewal_date }}".into(),
            body_en: "Hello {{ contact.name or 'there' }},\n\nYour subscription renews on {{ account.renewal_date }}. {{ owner.name }} is happy to answer any question.\n".into(),
        },
        EmailTemplateSpec {
            key: "nps_survey".into(),
            name: "NPS survey".into(),
            customer_facing: true,
            subject_ja: "{{ account.name }} 様：1分アンケートのお願い".into(),
            body_ja: "{% if contact.name %}{{ contact.name }} 様{% else %}ご担当者様{% endif %}\n\n当サービスを友人や同僚に薦める可能性はどのくらいありますか？\n以下のリンクから0〜10でお答えください（1分で終わります）。\n{{ survey_url }}\n".into(),
            subject_en: "{{ account.name }}: one question, one minute".into(),
            body_en: "Hello {{ contact.name or 'there' }},\n\nHow likely are you to recommend us to a friend or colleague?\nAnswer from 0 to 10 here (it takes a minute):\n{{ survey_url }}\n".into(),
        },
        EmailTemplateSpec {
            key: "csm_alert".into(),
            name: "Alert to the CSM".into(),
            customer_facing: false,
            subject_ja: "[Kizuna] {{ account.name }}：要対応".into(),
            body_ja: "{{ account.name }} のヘルスは {{ account.health_score }}（{{ account.health_band }}）です。タスクを確認してください。\n".into(),
            subject_en: "[Kizuna] {{ account.name }} needs attention".into(),
            body_en: "{{ account.name }} has health {{ account.health_score }} ({{ account.health_band }}). Please check its tasks.\n".into(),
        },
    ]
}

/// A signature over `purpose` and `payload` with the installation's secret, in URL-safe hex
/// (the first 32 hex digits of HMAC-SHA-256: 128 bits).
pub fn sign(secret: &[u8], purpose: &str, payload: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(payload.as_bytes());
    let full = hex::encode(mac.finalize().into_bytes());
    full[..32].to_string()
}

/// Whether `signature` is [`sign`]'s for this purpose and payload (compared in constant time).
pub fn verify(secret: &[u8], purpose: &str, payload: &str, signature: &str) -> bool {
    let want = sign(secret, purpose, payload);
    want.len() == signature.len()
        && want
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        TemplateVars {
            account: AccountVars {
                name: "Acme".into(),
                renewal_date: Some("2027-03-31".into()),
                ..Default::default()
            },
            contact: ContactVars {
                name: Some("Sato".into()),
                ..Default::default()
            },
            owner: OwnerVars {
                name: Some("Tanaka".into()),
                ..Default::default()
            },
            survey_url: None,
            unsubscribe_url: Some("https://cs.example.com/u/x".into()),
        }
    }

    #[test]
    fn renders_both_languages_with_variables_and_unsubscribe() {
        let t = default_templates()
            .into_iter()
            .find(|t| t.key == "renewal_notice")
            .unwrap();
        let en = t.render(Locale::En, &vars()).unwrap();
        assert_eq!(en.subject, "Acme: your renewal on 2027-03-31");
        assert!(en.body.starts_with("Hello Sato,"), "{}", en.body);
        assert!(en.body.contains("Tanaka is happy"));
        assert!(en
            .body
            .ends_with("unsubscribe here:\nhttps://cs.example.com/u/x\n"));
        let ja = t.render(Locale::Ja, &vars()).unwrap();
        assert!(ja.body.starts_with("Sato 様"), "{}", ja.body);
        assert!(ja.body.contains("2027-03-31に更新日"));
        let mut no_name = vars();
        no_name.contact.name = None;
        assert!(t
            .render(Locale::En, &no_name)
            .unwrap()
            .body
            .starts_with("Hello there,"));
    }

    #[test]
    fn defaults_are_valid_and_bad_templates_say_where() {
        for t in default_templates() {
            t.validate().unwrap_or_else(|e| panic!("{}: {e}", t.key));
        }
        let mut t = default_templates().remove(0);
        t.body_en = "Hello\n{% if x %}never closed".into();
        t.key = "Welcome!".into();
        let e = t.validate().unwrap_err();
        assert_eq!(e.errors[0].field, "key");
        assert_eq!(e.errors[1].field, "body_en");
        assert!(e.errors[1].message.contains("line"), "{e}");
    }

    #[test]
    fn signatures_verify_only_for_their_purpose_and_payload() {
        let s = sign(b"secret", "survey", "42");
        assert_eq!(s.len(), 32);
        assert!(verify(b"secret", "survey", "42", &s));
        assert!(!verify(b"secret", "survey", "43", &s));
        assert!(!verify(b"secret", "unsubscribe", "42", &s));
        assert!(!verify(b"other", "survey", "42", &s));
        assert!(!verify(b"secret", "survey", "42", &s[..31]));
    }
}
