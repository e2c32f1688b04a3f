//! Segment's tracking-API messages (`identify`, `group`, `track`, `page`, `screen`, `alias`), read
//! into what Kizuna does with them. Pure: the server hands in the JSON and the time it was
//! received; this module says what the message means, or why it is refused.
//!
//! The field names and the clock-skew rule follow Segment's public HTTP tracking API spec:
//! `timestamp = receivedAt − (sentAt − originalTimestamp)` when the client says when it sent.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Map, Value};

use crate::string_enum;

string_enum! {
    /// The kinds of message the tracking API takes.
    pub enum MessageKind {
        Identify = "identify",
        Group = "group",
        Track = "track",
        Page = "page",
        Screen = "screen",
        Alias = "alias",
    }
}

/// A message Kizuna understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: MessageKind,
    /// The client's id for the message; retries carry the same one.
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// `group`: the account's external id.
    pub group_id: Option<String>,
    /// The account a `track`/`page`/`screen`/`identify` belongs to, from `context.groupId`.
    pub context_group_id: Option<String>,
    /// `alias`: the id being merged into `user_id`.
    pub previous_id: Option<String>,
    /// `track`: the event name; `page`/`screen`: the page or screen name.
    pub event: Option<String>,
    pub traits: Map<String, Value>,
    pub properties: Map<String, Value>,
    /// When it happened, corrected for the client's clock.
    pub timestamp: DateTime<Utc>,
}

/// Why a message is refused: names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Refusal {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        field,
        reason: reason.into(),
    }
}

/// A string id: Segment ids may arrive as strings or numbers.
fn id_field(obj: &Map<String, Value>, key: &'static str) -> Result<Option<String>, Refusal> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 200 => {
            Err(refuse(key, "is longer than 200 characters"))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(refuse(key, "must be a string")),
    }
}

fn time_field(
    obj: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<DateTime<Utc>>, Refusal> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::<FixedOffset>::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| refuse(key, format!("`{s}` is not an ISO 8601 date-time"))),
        Some(_) => Err(refuse(key, "must be an ISO 8601 string")),
    }
}

fn object_field(
    obj: &Map<String, Value>,
    key: &'static str,
) -> Result<Map<String, Value>, Refusal> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(refuse(key, "must be an object")),
    }
}

/// The corrected time of a message: `receivedAt − (sentAt − originalTimestamp)` when the client
/// said when it sent the message, its own timestamp when not, the arrival time when it gave none.
pub fn corrected_timestamp(
    original: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
) -> DateTime<Utc> {
    match (original, sent_at) {
        (Some(original), Some(sent)) => received_at - (sent - original),
        (Some(original), None) => original,
        (None, _) => received_at,
    }
}

/// Reads one message. `kind` comes from the endpoint (`/v1/track`) or, in a batch, from the
/// message's `type`. `batch_sent_at` is the batch's `sentAt`. `fallback_id` identifies a message
/// that carries no `messageId` (a digest of its text, so a retry of it still counts once).
pub fn parse_message(
    kind: Option<MessageKind>,
    value: &Value,
    received_at: DateTime<Utc>,
    batch_sent_at: Option<DateTime<Utc>>,
    fallback_id: impl FnOnce() -> String,
) -> Result<Message, Refusal> {
    let Value::Object(obj) = value else {
        return Err(refuse("message", "must be a JSON object"));
    };
    let kind = match (kind, obj.get("type")) {
        (Some(k), _) => k,
        (None, Some(Value::String(t))) => t.parse().map_err(|_| {
            refuse(
                "type",
                format!("`{t}` is not one of {}", MessageKind::NAMES.join(", ")),
            )
        })?,
        (None, _) => return Err(refuse("type", "is required in a batch")),
    };
    let user_id = id_field(obj, "userId")?;
    let anonymous_id = id_field(obj, "anonymousId")?;
    let previous_id = id_field(obj, "previousId")?;
    if kind == MessageKind::Alias {
        if user_id.is_none() {
            return Err(refuse("userId", "is required for alias"));
        }
        if previous_id.is_none() {
            return Err(refuse("previousId", "is required for alias"));
        }
    } else if user_id.is_none() && anonymous_id.is_none() {
        return Err(refuse(
            "userId",
            "a message needs a userId or an anonymousId",
        ));
    }
    let group_id = id_field(obj, "groupId")?;
    if kind == MessageKind::Group && group_id.is_none() {
        return Err(refuse("groupId", "is required for group"));
    }
    let context = object_field(obj, "context")?;
    let context_group_id = id_field(&context, "groupId")?;
    let properties = object_field(obj, "properties")?;
    let mut traits = object_field(obj, "traits")?;
    if traits.is_empty() {
        // Older clients put identify traits in the context.
        traits = object_field(&context, "traits")?;
    }
    let event = match kind {
        MessageKind::Track => match obj.get("event") {
            Some(Value::String(e)) if !e.trim().is_empty() => Some(e.trim().to_string()),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(refuse("event", "is required for track"))
            }
            Some(_) => return Err(refuse("event", "must be a string")),
        },
        MessageKind::Page | MessageKind::Screen => {
            let name = id_field(obj, "name")?
                .or_else(|| {
                    properties
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| {
                    properties
                        .get("path")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
            Some(name.unwrap_or_else(|| {
                if kind == MessageKind::Page {
                    "Page Viewed"
                } else {
                    "Screen Viewed"
                }
                .into()
            }))
        }
        _ => None,
    };
    if let Some(e) = &event {
        if e.chars().count() > 200 {
            return Err(refuse("event", "is longer than 200 characters"));
        }
    }
    let original = match time_field(obj, "originalTimestamp")? {
        Some(t) => Some(t),
        None => time_field(obj, "timestamp")?,
    };
    let sent_at = time_field(obj, "sentAt")?.or(batch_sent_at);
    let message_id = id_field(obj, "messageId")?.unwrap_or_else(fallback_id);
    Ok(Message {
        kind,
        message_id,
        user_id,
        anonymous_id,
        group_id,
        context_group_id,
        previous_id,
        event,
        traits,
        properties,
        timestamp: corrected_timestamp(original, sent_at, received_at),
    })
}

impl Message {
    /// The feature a usage message counts toward: the event (or page) name, or the value of a
    /// configured property such as `module` when the message carries it.
    pub fn feature(&self, feature_property: Option<&str>) -> Option<String> {
        let from_property = feature_property
            .and_then(|p| self.properties.get(p))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.chars().count() <= 200)
            .map(str::to_string);
        from_property.or_else(|| self.event.clone())
    }

    /// Whether the message is product usage (as opposed to who-is-who).
    pub fn is_usage(&self) -> bool {
        matches!(
            self.kind,
            MessageKind::Track | MessageKind::Page | MessageKind::Screen
        )
    }
}

/// How traits of `group` calls map onto account fields; the rest go to the account's traits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupTraitMapping {
    pub name: Vec<String>,
    pub industry: Vec<String>,
    pub employees: Vec<String>,
    pub domain: Vec<String>,
}

impl Default for GroupTraitMapping {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        GroupTraitMapping {
            name: v(&["name", "company_name"]),
            industry: v(&["industry"]),
            employees: v(&["employees", "employee_count", "size"]),
            domain: v(&["website", "domain"]),
        }
    }
}

/// What a `group` call says about an account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupTraits {
    pub name: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub domain: Option<String>,
    /// Every trait not mapped to a field (plan, region, ...).
    pub other: Map<String, Value>,
}

fn first_text(traits: &Map<String, Value>, keys: &[String]) -> Option<String> {
    keys.iter().find_map(|k| match traits.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl GroupTraits {
    pub fn from_traits(traits: &Map<String, Value>, mapping: &GroupTraitMapping) -> Self {
        let mapped: Vec<&String> = mapping
            .name
            .iter()
            .chain(&mapping.industry)
            .chain(&mapping.employees)
            .chain(&mapping.domain)
            .collect();
        let employees = first_text(traits, &mapping.employees)
            .and_then(|s| s.replace(',', "").parse::<f64>().ok());
        GroupTraits {
            name: first_text(traits, &mapping.name),
            industry: first_text(traits, &mapping.industry),
            employees: employees
                .filter(|e| e.is_finite() && *e >= 0.0)
                .map(|e| e as i64),
            domain: first_text(traits, &mapping.domain),
            other: traits
                .iter()
                .filter(|(k, _)| !mapped.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// What an `identify` call says about a person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonTraits {
    pub name: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub other: Map<String, Value>,
}

impl PersonTraits {
    pub fn from_traits(traits: &Map<String, Value>) -> Self {
        let text = |k: &str| {
            traits
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let name = text("name").or_else(|| match (text("firstName"), text("lastName")) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.or(l),
        });
        const KNOWN: &[&str] = &["name", "firstName", "lastName", "email", "title"];
        PersonTraits {
            name,
            email: text("email"),
            title: text("title"),
            other: traits
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// How far in the future a corrected timestamp may lie before it is clamped to the arrival time.
pub const MAX_FUTURE_SKEW: Duration = Duration::hours(24);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn parse(kind: Option<MessageKind>, v: Value) -> Result<Message, Refusal> {
        parse_message(kind, &v, t("2026-11-24T10:00:00Z"), None, || {
            "generated".into()
        })
    }

    #[test]
    fn clock_skew_is_corrected_as_segment_does() {
        // The client's clock runs 5 minutes fast: it says it sent at 10:05 an event of 10:04.
        let m = parse(
            Some(MessageKind::Track),
            json!({"userId": "u1", "event": "Report Created", "timestamp": "2026-11-24T10:04:00Z", "sentAt": "2026-11-24T10:05:00Z"}),
        )
        .unwrap();
        assert_eq!(m.timestamp, t("2026-11-24T09:59:00Z"));
        let check = |original: Option<&str>, sent: Option<&str>, expected: &str| {
            assert_eq!(
                corrected_timestamp(original.map(t), sent.map(t), t("2026-11-24T10:00:00Z")),
                t(expected)
            );
        };
        check(
            Some("2026-11-24T08:00:00+09:00"),
            None,
            "2026-11-23T23:00:00Z",
        );
        check(None, Some("2026-11-24T10:05:00Z"), "2026-11-24T10:00:00Z");
        check(
            Some("2026-11-24T09:00:00Z"),
            Some("2026-11-24T09:00:30Z"),
            "2026-11-24T09:59:30Z",
        );
    }

    #[test]
    fn messages_are_refused_naming_the_field() {
        let field = |kind, v| parse(kind, v).unwrap_err().field;
        assert_eq!(
            field(Some(MessageKind::Track), json!({"event": "x"})),
            "userId"
        );
        assert_eq!(
            field(Some(MessageKind::Track), json!({"userId": "u"})),
            "event"
        );
        assert_eq!(
            field(
                Some(MessageKind::Track),
                json!({"userId": "u", "event": ""})
            ),
            "event"
        );
        assert_eq!(
            field(Some(MessageKind::Group), json!({"userId": "u"})),
            "groupId"
        );
        assert_eq!(
            field(Some(MessageKind::Alias), json!({"userId": "u"})),
            "previousId"
        );
        assert_eq!(field(None, json!({"userId": "u"})), "type");
        assert_eq!(
            field(None, json!({"type": "purchase", "userId": "u"})),
            "type"
        );
        assert_eq!(
            field(
                Some(MessageKind::Track),
                json!({"userId": "u", "event": "e", "timestamp": "yesterday"})
            ),
            "timestamp"
        );
        assert_eq!(
            field(
                Some(MessageKind::Track),
                json!({"userId": {"a": 1}, "event": "e"})
            ),
            "userId"
        );
        assert_eq!(field(Some(MessageKind::Track), json!([1, 2])), "message");
    }

    #[test]
    fn ids_features_and_traits_are_read() {
        let m = parse(
            None,
            json!({"type": "track", "anonymousId": 42, "event": "Report Created", "messageId": "m-1",
                   "context": {"groupId": "acct-1"}, "properties": {"module": "Reports"}}),
        )
        .unwrap();
        assert_eq!(m.anonymous_id.as_deref(), Some("42"));
        assert_eq!(m.context_group_id.as_deref(), Some("acct-1"));
        assert_eq!(m.message_id, "m-1");
        assert_eq!(m.feature(None).as_deref(), Some("Report Created"));
        assert_eq!(m.feature(Some("module")).as_deref(), Some("Reports"));
        assert_eq!(
            m.feature(Some("missing")).as_deref(),
            Some("Report Created")
        );
        let page = parse(
            Some(MessageKind::Page),
            json!({"userId": "u", "properties": {"path": "/settings"}}),
        )
        .unwrap();
        assert_eq!(page.event.as_deref(), Some("/settings"));
        assert_eq!(page.message_id, "generated");

        let g = GroupTraits::from_traits(
            json!({"name": "Acme", "employees": "1,200", "website": "https://acme.com", "plan": "enterprise"}).as_object().unwrap(),
            &GroupTraitMapping::default(),
        );
        assert_eq!(
            (g.name.as_deref(), g.employees, g.domain.as_deref()),
            (Some("Acme"), Some(1200), Some("https://acme.com"))
        );
        assert_eq!(g.other.get("plan"), Some(&json!("enterprise")));
        let p = PersonTraits::from_traits(
            json!({"firstName": "Hanako", "lastName": "Sato", "email": "h@x.jp", "role": "admin"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(p.name.as_deref(), Some("Hanako Sato"));
        assert_eq!(p.other.len(), 1);
    }
}
