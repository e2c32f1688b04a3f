//! The Segment-compatible tracking API: `POST /v1/identify`, `/v1/group`, `/v1/track`,
//! `/v1/page`, `/v1/screen`, `/v1/alias`, `/v1/batch` (and `/v1/import`, its other name).
//!
//! Auth: a write-scope API token as the HTTP basic-auth user name (empty password), as Segment's
//! SDKs send their write key; or `writeKey` in the body; or a bearer token. Bodies may be gzip.
//! Limits: 32 KB a message, 500 KB a batch. A batch with bad messages stores the good ones and
//! answers 200 with the bad ones listed under `rejected` (index, messageId, field, reason); a
//! batch whose messages are all bad answers 400. `200 {"success": true}` means every accepted
//! event is committed. When the queue is full the answer is 429 with `Retry-After`.

pub mod committer;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::Utc;
use kizuna_domain::segment::{
    parse_message, GroupTraits, Message, MessageKind, PersonTraits, Refusal, MAX_FUTURE_SKEW,
};
use kizuna_domain::token::TokenScope;
use kizuna_domain::usage::NewUsageEvent;
use kizuna_store::StoreError;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower_http::decompression::RequestDecompressionLayer;

use crate::AppState;
use committer::SubmitError;

/// Largest message, as Segment's spec sets it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Largest batch, as Segment's spec sets it.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

pub fn routes() -> Router<AppState> {
    let single = |kind: MessageKind| {
        post(
            move |state: State<AppState>, headers: HeaderMap, body: Body| {
                single(state, headers, body, kind)
            },
        )
    };
    Router::new()
        .route("/v1/identify", single(MessageKind::Identify))
        .route("/v1/group", single(MessageKind::Group))
        .route("/v1/track", single(MessageKind::Track))
        .route("/v1/page", single(MessageKind::Page))
        .route("/v1/screen", single(MessageKind::Screen))
        .route("/v1/alias", single(MessageKind::Alias))
        .route("/v1/batch", post(batch))
        .route("/v1/import", post(batch))
        .layer(RequestDecompressionLayer::new())
}

/// Write keys verified lately, so a busy client is not checked against the database per request.
#[derive(Debug, Default)]
pub struct KeyCache(Mutex<HashMap<String, Instant>>);

impl KeyCache {
    fn fresh(&self, key: &str, ttl: Duration) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(key).copied())
            .is_some_and(|t| t.elapsed() < ttl)
    }

    fn remember(&self, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key.to_string(), Instant::now());
        }
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    reply(
        status,
        json!({"success": false, "error": {"code": code, "message": message.into()}}),
    )
}

/// The write key of a request: basic-auth user name, bearer token, or `writeKey` in the body.
fn write_key(headers: &HeaderMap, body_key: Option<&str>) -> Option<String> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(basic) = auth.and_then(|a| a.strip_prefix("Basic ")) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let user = text.split(':').next().unwrap_or_default();
        return (!user.is_empty()).then(|| user.to_string());
    }
    if let Some(bearer) = auth.and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(bearer.trim().to_string());
    }
    body_key.map(str::to_string)
}

async fn authorize(state: &AppState, key: Option<String>) -> Result<(), Response> {
    let Some(key) = key else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a write-scope API token as the basic-auth user name (Segment write key) or as writeKey",
        ));
    };
    let ttl = Duration::from_secs(state.config.segment.key_cache_seconds);
    if state.keys.fresh(&key, ttl) {
        return Ok(());
    }
    match state.store.authenticate_token(&key).await {
        Ok(Some(token)) if token.scope.allows(TokenScope::Write) => {
            state.keys.remember(&key);
            Ok(())
        }
        Ok(Some(token)) => Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this token has the `{}` scope; sending events needs `write`",
                token.scope
            ),
        )),
        Ok(None) => Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the write key is not valid or has been revoked",
        )),
        Err(e) => {
            tracing::error!(error = %e, "write key check failed");
            Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is not answering; retry",
            ))
        }
    }
}

async fn read_body(body: Body, limit: usize, what: &str) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum reports the limit only in the error's text.
        let too_large =
            e.to_string().contains("length limit") || format!("{e:?}").contains("LengthLimit");
        if too_large {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a {what} may be at most {} KB", limit / 1024),
            )
        } else {
            error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read the body: {e}"),
            )
        }
    })
}

/// A stable id for a message sent without `messageId`, so its retries still count once.
fn digest_id(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

/// One refused message of a batch.
struct Rejected {
    index: usize,
    message_id: Option<String>,
    field: String,
    reason: String,
}

impl Rejected {
    fn json(&self) -> Value {
        json!({"index": self.index, "messageId": self.message_id, "field": self.field, "reason": self.reason})
    }
}

fn refused(index: usize, raw: &Value, r: Refusal) -> Rejected {
    Rejected {
        index,
        message_id: raw
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_string),
        field: r.field.to_string(),
        reason: r.reason,
    }
}

async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
    kind: MessageKind,
) -> Response {
    let bytes = match read_body(body, MAX_MESSAGE_BYTES, "message").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not valid JSON: {e}"),
            )
        }
    };
    if let Err(r) = authorize(
        &state,
        write_key(&headers, value.get("writeKey").and_then(Value::as_str)),
    )
    .await
    {
        return r;
    }
    let received_at = kizuna_store::now();
    match parse_message(Some(kind), &value, received_at, None, || digest_id(&bytes)) {
        Ok(m) => match apply(&state, vec![m]).await {
            Ok(rejected) if rejected.is_empty() => reply(StatusCode::OK, json!({"success": true})),
            Ok(rejected) => {
                let r = &rejected[0].1;
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("{}: {}", r.field, r.reason),
                )
            }
            Err(r) => r,
        },
        Err(r) => error(StatusCode::BAD_REQUEST, "invalid", r.to_string()),
    }
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(rename = "sentAt")]
    sent_at: Option<String>,
    #[serde(rename = "writeKey")]
    write_key: Option<String>,
    #[serde(default)]
    context: Option<Value>,
}

/// A batch body read into messages: (accepted with their index, refused, write key, total).
pub struct ParsedBatch {
    messages: Vec<(usize, Message)>,
    rejected: Vec<Rejected>,
    write_key: Option<String>,
    total: usize,
}

impl ParsedBatch {
    pub fn accepted(&self) -> usize {
        self.messages.len()
    }
}

/// Reads a `/v1/batch` body: every message checked on its own, so bad ones are refused by index
/// and the good ones kept. Also what the ingestion benchmark's ceiling endpoint runs.
pub fn parse_batch(bytes: &[u8]) -> Result<ParsedBatch, Box<Response>> {
    let body: BatchBody = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        Err(e) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body must be JSON with a `batch` array of messages: {e}"),
            )))
        }
    };
    let received_at = kizuna_store::now();
    let sent_at = body
        .sent_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let mut rejected = Vec::new();
    let mut messages = Vec::with_capacity(body.batch.len());
    for (index, raw) in body.batch.iter().enumerate() {
        let text = raw.get();
        if text.len() > MAX_MESSAGE_BYTES {
            rejected.push(Rejected {
                index,
                message_id: None,
                field: "message".into(),
                reason: format!(
                    "is {} KB; a message may be at most 32 KB",
                    text.len() / 1024
                ),
            });
            continue;
        }
        let mut value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                rejected.push(Rejected {
                    index,
                    message_id: None,
                    field: "message".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        // A batch-level context applies to messages without one of their own.
        if let (Some(ctx), Some(obj)) = (&body.context, value.as_object_mut()) {
            obj.entry("context").or_insert_with(|| ctx.clone());
        }
        match parse_message(None, &value, received_at, sent_at, || {
            digest_id(text.as_bytes())
        }) {
            Ok(m) => messages.push((index, m)),
            Err(r) => rejected.push(refused(index, &value, r)),
        }
    }
    Ok(ParsedBatch {
        messages,
        rejected,
        write_key: body.write_key,
        total: body.batch.len(),
    })
}

async fn batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(body, MAX_BATCH_BYTES, "batch").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let parsed = match parse_batch(&bytes) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if let Err(r) = authorize(&state, write_key(&headers, parsed.write_key.as_deref())).await {
        return r;
    }
    let ParsedBatch {
        messages,
        mut rejected,
        total,
        ..
    } = parsed;
    let indexes: Vec<usize> = messages.iter().map(|(i, _)| *i).collect();
    match apply(&state, messages.into_iter().map(|(_, m)| m).collect()).await {
        Ok(more) => {
            for (pos, r) in more {
                rejected.push(Rejected {
                    index: indexes[pos],
                    ..r
                });
            }
        }
        Err(r) => return r,
    }
    rejected.sort_by_key(|r| r.index);
    if !rejected.is_empty() {
        tracing::info!(rejected = rejected.len(), total, "batch messages rejected");
    }
    if rejected.is_empty() {
        reply(StatusCode::OK, json!({"success": true}))
    } else if rejected.len() == total {
        reply(
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": {"code": "invalid", "message": "no message of the batch is valid"},
                   "rejected": rejected.iter().map(Rejected::json).collect::<Vec<_>>()}),
        )
    } else {
        reply(
            StatusCode::OK,
            json!({"success": true, "rejected": rejected.iter().map(Rejected::json).collect::<Vec<_>>()}),
        )
    }
}

/// Applies messages in order: who-is-who (`identify`, `group`, `alias`) first, each committed
/// on its own, then the usage events in one group commit. Returns the messages refused while
/// applying them (by position), or the response for a failure of the whole request.
async fn apply(
    state: &AppState,
    messages: Vec<Message>,
) -> Result<Vec<(usize, Rejected)>, Response> {
    let mut rejected = Vec::new();
    let mut events = Vec::new();
    let config = &state.config.segment;
    for (pos, m) in messages.into_iter().enumerate() {
        let outcome = match m.kind {
            MessageKind::Identify => match &m.user_id {
                Some(user) => state
                    .store
                    .apply_identify(
                        user,
                        m.context_group_id.as_deref(),
                        &PersonTraits::from_traits(&m.traits),
                    )
                    .await
                    .map(|_| ()),
                // Nothing to keep about a person known only by an anonymous id.
                None => Ok(()),
            },
            MessageKind::Group => match &m.group_id {
                Some(group) => state
                    .store
                    .apply_group(
                        group,
                        m.user_id.as_deref(),
                        &GroupTraits::from_traits(&m.traits, &config.group_traits),
                    )
                    .await
                    .map(|_| ()),
                None => Ok(()),
            },
            MessageKind::Alias => match (&m.previous_id, &m.user_id) {
                (Some(previous), Some(user)) => state.store.apply_alias(previous, user).await,
                _ => Ok(()),
            },
            MessageKind::Track | MessageKind::Page | MessageKind::Screen => {
                if let Some(feature) = m.feature(config.feature_property.as_deref()) {
                    let received_at = kizuna_store::now();
                    let occurred_at = if m.timestamp > received_at + MAX_FUTURE_SKEW {
                        received_at
                    } else {
                        m.timestamp
                    };
                    events.push(NewUsageEvent {
                        message_id: m.message_id.clone(),
                        account_external_id: m.context_group_id.clone(),
                        user_id: m.user_id.clone(),
                        anonymous_id: m.anonymous_id.clone(),
                        feature,
                        occurred_at,
                        received_at,
                        properties: (!m.properties.is_empty())
                            .then(|| Value::Object(m.properties.clone()).to_string()),
                    });
                }
                Ok(())
            }
        };
        match outcome {
            Ok(()) => {}
            Err(StoreError::Invalid(v)) => {
                let first = v.first();
                rejected.push((
                    pos,
                    Rejected {
                        index: pos,
                        message_id: Some(m.message_id.clone()),
                        field: first.field.clone(),
                        reason: first.message.clone(),
                    },
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, "applying a Segment message failed");
                return Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is not answering; retry",
                ));
            }
        }
    }
    match state.committer.submit(events).await {
        Ok(()) => Ok(rejected),
        Err(SubmitError::Overloaded) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "ingestion is at capacity; retry after a second",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(r)
        }
        Err(SubmitError::Failed(e)) => {
            tracing::error!(error = %e, "usage commit failed");
            Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the events could not be stored; retry",
            ))
        }
    }
}
