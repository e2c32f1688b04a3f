//! Rows to validated records: cells to drafts, references resolved, merged over what is stored.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use kizuna_domain::account::{
    Account, AccountDraft, ContractValueTier, CoverageTier, Level, LifecycleStage, NewAccount,
};
use kizuna_domain::contact::{Contact, ContactDraft, ContactRole, NewContact};
use kizuna_domain::ids::{
    ContactId, SubscriptionId, SurveyResponseId, TicketId, TouchpointId, UserId,
};
use kizuna_domain::subscription::{NewSubscription, SubscriptionDraft, SubscriptionStatus};
use kizuna_domain::survey::{NewSurveyResponse, SurveyResponseDraft};
use kizuna_domain::ticket::{NewTicket, TicketDraft, TicketSeverity, TicketStatus};
use kizuna_domain::touchpoint::{NewTouchpoint, Sentiment, TouchpointDraft, TouchpointKind};
use kizuna_domain::user::User;
use kizuna_domain::ValidationError;
use kizuna_store::{AccountUpsert, Actor, Store, StoreError};
use serde_json::{Map, Value};

use crate::text::{self, choice};
use crate::{Kind, Row, RowError};

/// What stays the same across the chunks of one import.
pub(crate) struct Context {
    users: HashMap<String, User>,
    user_ids: HashSet<i64>,
    /// Hashes of the external ids seen so far, with their line, to refuse duplicates.
    pub seen: HashMap<u64, u64>,
}

impl Context {
    pub async fn load(store: &Store, _kind: Kind) -> Result<Context, StoreError> {
        let users = store.users_by_email().await?;
        let user_ids = users.values().map(|u| u.id.0).collect();
        Ok(Context {
            users,
            user_ids,
            seen: HashMap::new(),
        })
    }

    fn user(&self, raw: &str) -> Result<UserId, String> {
        if let Ok(id) = raw.trim().parse::<i64>() {
            return if self.user_ids.contains(&id) {
                Ok(UserId(id))
            } else {
                Err(format!("no team member has id {id}"))
            };
        }
        self.users
            .get(&raw.trim().to_lowercase())
            .map(|u| u.id)
            .ok_or_else(|| format!("no team member has the e-mail `{raw}`"))
    }
}

/// A row ready to write.
pub(crate) enum Prepared {
    Account(AccountUpsert),
    Contact(Result<NewContact, (ContactId, ContactDraft)>),
    Subscription(Result<NewSubscription, (SubscriptionId, SubscriptionDraft)>),
    Ticket(Result<NewTicket, (TicketId, TicketDraft)>),
    Survey(Result<NewSurveyResponse, (SurveyResponseId, SurveyResponseDraft)>),
    Touchpoint(Result<NewTouchpoint, (TouchpointId, TouchpointDraft)>),
}

/// Collects a row's problems.
struct Check<'a> {
    row: &'a Row,
    errors: Vec<RowError>,
}

impl<'a> Check<'a> {
    fn new(row: &'a Row) -> Self {
        Check {
            row,
            errors: Vec::new(),
        }
    }

    fn cell(&self, field: &str) -> Option<String> {
        self.row.cells.get(field).cloned()
    }

    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            line: self.row.line,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// A cell read by `parse`, or `None` (recorded) when it does not read.
    fn parsed<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.cell(field)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(field, e);
                None
            }
        }
    }

    fn validation(&mut self, e: ValidationError) {
        for f in e.errors {
            self.fail(&f.field, f.message);
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<RowError>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ if self.errors.is_empty() => Err(vec![RowError {
                line: self.row.line,
                field: "row".into(),
                message: "is incomplete".into(),
            }]),
            _ => Err(self.errors),
        }
    }
}

fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn extras_as_traits(row: &Row) -> Option<Map<String, Value>> {
    (!row.extra.is_empty()).then(|| {
        row.extra
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    })
}

fn external_ids(rows: &[Row], field: &str) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.cells.get(field).cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Checks a chunk of rows and resolves what they refer to.
pub(crate) async fn prepare(
    store: &Store,
    kind: Kind,
    ctx: &mut Context,
    rows: Vec<Row>,
) -> Result<Vec<(u64, Result<Prepared, Vec<RowError>>)>, StoreError> {
    let mut account_refs = external_ids(&rows, "account_external_id");
    account_refs.extend(external_ids(&rows, "parent_external_id"));
    if kind == Kind::Accounts {
        account_refs.extend(external_ids(&rows, "external_id"));
    }
    let accounts: HashMap<String, Account> = store.accounts_by_external_ids(&account_refs).await?;
    let mut contact_refs = external_ids(&rows, "contact_external_id");
    if kind == Kind::Contacts {
        contact_refs.extend(external_ids(&rows, "external_id"));
    }
    let contacts: HashMap<String, Contact> = store.contacts_by_external_ids(&contact_refs).await?;
    let own = external_ids(&rows, "external_id");
    let existing: HashMap<String, i64> = match kind {
        Kind::Subscriptions => store
            .subscription_ids_by_external_ids(&own)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
        Kind::Tickets => store
            .ticket_ids_by_external_ids(&own)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
        Kind::Nps => store
            .survey_response_ids_by_external_ids(&own)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
        Kind::Touchpoints => store
            .touchpoint_ids_by_external_ids(&own)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
        _ => HashMap::new(),
    };
    let deleted: HashSet<String> = if kind == Kind::Accounts {
        store
            .deleted_account_external_ids(&own)
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };

    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut check = Check::new(row);
        if let Some(ext) = check.cell("external_id") {
            if let Some(first) = ctx.seen.insert(hash(&ext), row.line) {
                check.fail(
                    "external_id",
                    format!("`{ext}` appears again (first on line {first})"),
                );
            }
        }
        let account_of = |check: &mut Check, required: bool| -> Option<&Account> {
            match check.cell("account_external_id") {
                Some(ext) => match accounts.get(&ext) {
                    Some(a) => Some(a),
                    None => {
                        check.fail(
                            "account_external_id",
                            format!("no account has external_id `{ext}`"),
                        );
                        None
                    }
                },
                None if required => {
                    check.fail(
                        "account_external_id",
                        "is required: the account the row belongs to",
                    );
                    None
                }
                None => None,
            }
        };
        let contact_of = |check: &mut Check, account: Option<&Account>| -> Option<ContactId> {
            let ext = check.cell("contact_external_id")?;
            match contacts.get(&ext) {
                Some(c) if account.is_some_and(|a| a.id != c.account_id) => {
                    check.fail(
                        "contact_external_id",
                        format!("contact `{ext}` belongs to another account"),
                    );
                    None
                }
                Some(c) => Some(c.id),
                None => {
                    check.fail(
                        "contact_external_id",
                        format!("no contact has external_id `{ext}`"),
                    );
                    None
                }
            }
        };
        let prepared = match kind {
            Kind::Accounts => {
                let value = account_row(&mut check, ctx, &accounts, &deleted);
                check.finish(value).map(Prepared::Account)
            }
            Kind::Contacts => {
                let existing = check.cell("external_id").and_then(|e| contacts.get(&e));
                let account = account_of(&mut check, existing.is_none());
                let value = contact_row(&mut check, existing, account);
                check.finish(value).map(Prepared::Contact)
            }
            Kind::Subscriptions => {
                let existing = check
                    .cell("external_id")
                    .and_then(|e| existing.get(&e))
                    .map(|id| SubscriptionId(*id));
                let account = account_of(&mut check, existing.is_none());
                let value = subscription_row(&mut check, store, existing, account).await?;
                check.finish(value).map(Prepared::Subscription)
            }
            Kind::Tickets => {
                let existing = check
                    .cell("external_id")
                    .and_then(|e| existing.get(&e))
                    .map(|id| TicketId(*id));
                let account = account_of(&mut check, existing.is_none());
                let contact = contact_of(&mut check, account);
                let value = ticket_row(&mut check, store, existing, account, contact).await?;
                check.finish(value).map(Prepared::Ticket)
            }
            Kind::Nps => {
                let existing = check
                    .cell("external_id")
                    .and_then(|e| existing.get(&e))
                    .map(|id| SurveyResponseId(*id));
                let account = account_of(&mut check, existing.is_none());
                let contact = contact_of(&mut check, account);
                let value = survey_row(&mut check, store, existing, account, contact).await?;
                check.finish(value).map(Prepared::Survey)
            }
            Kind::Touchpoints => {
                let existing = check
                    .cell("external_id")
                    .and_then(|e| existing.get(&e))
                    .map(|id| TouchpointId(*id));
                let account = account_of(&mut check, existing.is_none());
                let contact = contact_of(&mut check, account);
                let value =
                    touchpoint_row(&mut check, store, ctx, existing, account, contact).await?;
                check.finish(value).map(Prepared::Touchpoint)
            }
        };
        out.push((row.line, prepared));
    }
    Ok(out)
}

fn account_row(
    check: &mut Check,
    ctx: &Context,
    accounts: &HashMap<String, Account>,
    deleted: &HashSet<String>,
) -> Option<AccountUpsert> {
    let Some(external_id) = check.cell("external_id") else {
        check.fail(
            "external_id",
            "is required: imported accounts are matched on it",
        );
        return None;
    };
    if deleted.contains(&external_id) {
        check.fail(
            "external_id",
            format!("`{external_id}` belongs to a deleted account"),
        );
        return None;
    }
    let parent_id = check
        .cell("parent_external_id")
        .and_then(|p| match accounts.get(&p) {
            Some(a) => Some(a.id),
            None => {
                check.fail(
                    "parent_external_id",
                    format!("no account has external_id `{p}`"),
                );
                None
            }
        });
    let owner_id = match check.cell("owner") {
        Some(raw) => match ctx.user(&raw) {
            Ok(id) => Some(id),
            Err(e) => {
                check.fail("owner", e);
                None
            }
        },
        None => None,
    };
    let existing = accounts.get(&external_id);
    let traits = extras_as_traits(check.row).map(|extra| {
        let mut t = existing.map(|a| a.traits.clone()).unwrap_or_default();
        t.extend(extra);
        t
    });
    let patch = AccountDraft {
        external_id: Some(external_id.clone()),
        name: check.cell("name"),
        domain: check.cell("domain"),
        industry: check.cell("industry"),
        employees: check.parsed("employees", text::integer),
        contract_value_tier: check.parsed("contract_value_tier", |s| {
            choice::<ContractValueTier>(s, text::CONTRACT_VALUE, ContractValueTier::NAMES)
        }),
        growth_potential: check.parsed("growth_potential", |s| {
            choice::<Level>(s, text::LEVEL, Level::NAMES)
        }),
        brand_value: check.parsed("brand_value", |s| {
            choice::<Level>(s, text::LEVEL, Level::NAMES)
        }),
        referral_likelihood: check.parsed("referral_likelihood", |s| {
            choice::<Level>(s, text::LEVEL, Level::NAMES)
        }),
        coverage_tier: check.parsed("coverage_tier", |s| {
            choice::<CoverageTier>(s, text::COVERAGE, CoverageTier::NAMES)
        }),
        lifecycle_stage: check.parsed("lifecycle_stage", |s| {
            choice::<LifecycleStage>(s, text::STAGE, LifecycleStage::NAMES)
        }),
        stage_reason: None,
        owner_id,
        parent_id,
        currency: check.cell("currency"),
        traits,
    };
    let draft = match existing {
        Some(a) => AccountDraft::from(a).overlay(patch),
        None => patch,
    };
    match NewAccount::parse(draft) {
        Ok(new) => Some(AccountUpsert {
            new,
            existing: existing.map(|a| a.id),
        }),
        Err(e) => {
            check.validation(e);
            None
        }
    }
}

fn contact_row(
    check: &mut Check,
    existing: Option<&Contact>,
    account: Option<&Account>,
) -> Option<Result<NewContact, (ContactId, ContactDraft)>> {
    let name =
        check.cell("name").or_else(
            || match (check.cell("first_name"), check.cell("last_name")) {
                // Japanese names read family name first.
                (Some(f), Some(l)) if !l.is_ascii() || !f.is_ascii() => Some(format!("{l} {f}")),
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (f, l) => f.or(l),
            },
        );
    let roles = check.parsed("roles", |s| {
        s.split([',', ';', '、', '/', '|'])
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| choice::<ContactRole>(r, text::ROLE, ContactRole::NAMES))
            .collect::<Result<Vec<_>, _>>()
    });
    let patch = ContactDraft {
        account_id: account.map(|a| a.id),
        external_id: check.cell("external_id"),
        name,
        email: check.cell("email"),
        title: check.cell("title"),
        roles,
        traits: extras_as_traits(check.row).map(|extra| {
            let mut t = existing.map(|c| c.traits.clone()).unwrap_or_default();
            t.extend(extra);
            t
        }),
        left_at: check.parsed("left_at", text::datetime),
    };
    match existing {
        Some(c) => match NewContact::parse(ContactDraft::from(c).overlay(patch.clone()), None) {
            Ok(_) => Some(Err((c.id, patch))),
            Err(e) => {
                check.validation(e);
                None
            }
        },
        None => match NewContact::parse(patch, None) {
            Ok(n) => Some(Ok(n)),
            Err(e) => {
                check.validation(e);
                None
            }
        },
    }
}

async fn subscription_row(
    check: &mut Check<'_>,
    store: &Store,
    existing: Option<SubscriptionId>,
    account: Option<&Account>,
) -> Result<Option<Result<NewSubscription, (SubscriptionId, SubscriptionDraft)>>, StoreError> {
    let currency = check
        .cell("currency")
        .or_else(|| account.map(|a| a.currency.code().to_string()));
    let mrr = match (
        check.parsed("mrr", text::number),
        check.parsed("arr", text::number),
    ) {
        (Some(m), _) => Some(m),
        // From an annual figure, rounded to what the currency can hold.
        (None, Some(arr)) => {
            let exponent = currency
                .as_deref()
                .and_then(|c| kizuna_domain::money::Currency::parse(c).ok())
                .map_or(0, |c| c.exponent());
            let scale = 10f64.powi(exponent as i32);
            Some((arr / 12.0 * scale).round() / scale)
        }
        (None, None) => None,
    };
    let patch = SubscriptionDraft {
        account_id: account.map(|a| a.id),
        external_id: check.cell("external_id"),
        product: check.cell("product"),
        plan: check.cell("plan"),
        mrr,
        currency,
        seats: check.parsed("seats", text::integer),
        start_date: check.parsed("start_date", text::date),
        end_date: check.parsed("end_date", text::date),
        status: check.parsed("status", |s| {
            choice::<SubscriptionStatus>(s, text::SUBSCRIPTION_STATUS, SubscriptionStatus::NAMES)
        }),
        renews_id: None,
        effective_date: None,
    };
    Ok(match existing {
        Some(id) => {
            let current = store.subscription(id).await?;
            match NewSubscription::parse(
                SubscriptionDraft::from(&current).overlay(patch.clone()),
                None,
            ) {
                Ok(_) => Some(Err((
                    id,
                    SubscriptionDraft {
                        account_id: None,
                        ..patch
                    },
                ))),
                Err(e) => {
                    check.validation(e);
                    None
                }
            }
        }
        None => match NewSubscription::parse(patch, None) {
            Ok(n) => Some(Ok(n)),
            Err(e) => {
                check.validation(e);
                None
            }
        },
    })
}

async fn ticket_row(
    check: &mut Check<'_>,
    store: &Store,
    existing: Option<TicketId>,
    account: Option<&Account>,
    contact: Option<ContactId>,
) -> Result<Option<Result<NewTicket, (TicketId, TicketDraft)>>, StoreError> {
    let patch = TicketDraft {
        account_id: account.map(|a| a.id),
        contact_id: contact,
        external_id: check.cell("external_id"),
        subject: check.cell("subject"),
        severity: check.parsed("severity", |s| {
            choice::<TicketSeverity>(s, text::SEVERITY, TicketSeverity::NAMES)
        }),
        status: check.parsed("status", |s| {
            choice::<TicketStatus>(s, text::TICKET_STATUS, TicketStatus::NAMES)
        }),
        category: check.cell("category"),
        opened_at: check.parsed("opened_at", text::datetime),
        solved_at: check.parsed("solved_at", text::datetime),
    };
    Ok(match existing {
        Some(id) => {
            let current = store.ticket(id).await?;
            match NewTicket::parse(
                TicketDraft::from(&current).overlay(patch.clone()),
                None,
                current.opened_at,
            ) {
                Ok(_) => Some(Err((id, patch))),
                Err(e) => {
                    check.validation(e);
                    None
                }
            }
        }
        None => match NewTicket::parse(patch, None, kizuna_store::now()) {
            Ok(n) => Some(Ok(n)),
            Err(e) => {
                check.validation(e);
                None
            }
        },
    })
}

async fn survey_row(
    check: &mut Check<'_>,
    store: &Store,
    existing: Option<SurveyResponseId>,
    account: Option<&Account>,
    contact: Option<ContactId>,
) -> Result<Option<Result<NewSurveyResponse, (SurveyResponseId, SurveyResponseDraft)>>, StoreError>
{
    let patch = SurveyResponseDraft {
        account_id: account.map(|a| a.id),
        contact_id: contact,
        external_id: check.cell("external_id"),
        survey: check.cell("survey"),
        score: check.parsed("score", text::integer),
        comment: check.cell("comment"),
        responded_at: check.parsed("responded_at", text::datetime),
    };
    Ok(match existing {
        Some(id) => {
            let current = store.survey_response(id).await?;
            match NewSurveyResponse::parse(
                SurveyResponseDraft::from(&current).overlay(patch.clone()),
                None,
                current.responded_at,
            ) {
                Ok(_) => Some(Err((id, patch))),
                Err(e) => {
                    check.validation(e);
                    None
                }
            }
        }
        None => match NewSurveyResponse::parse(patch, None, kizuna_store::now()) {
            Ok(n) => Some(Ok(n)),
            Err(e) => {
                check.validation(e);
                None
            }
        },
    })
}

async fn touchpoint_row(
    check: &mut Check<'_>,
    store: &Store,
    ctx: &Context,
    existing: Option<TouchpointId>,
    account: Option<&Account>,
    contact: Option<ContactId>,
) -> Result<Option<Result<NewTouchpoint, (TouchpointId, TouchpointDraft)>>, StoreError> {
    let author_id = check.parsed("author", |s| ctx.user(s));
    let patch = TouchpointDraft {
        account_id: account.map(|a| a.id),
        contact_id: contact,
        author_id,
        external_id: check.cell("external_id"),
        kind: check.parsed("kind", |s| {
            choice::<TouchpointKind>(s, text::TOUCHPOINT_KIND, TouchpointKind::NAMES)
        }),
        subject: check.cell("subject"),
        notes: check.cell("notes"),
        sentiment: check.parsed("sentiment", |s| {
            choice::<Sentiment>(s, text::SENTIMENT, Sentiment::NAMES)
        }),
        occurred_at: check.parsed("occurred_at", text::datetime),
        duration_minutes: check.parsed("duration_minutes", text::integer),
    };
    Ok(match existing {
        Some(id) => {
            let current = store.touchpoint(id).await?;
            match NewTouchpoint::parse(
                TouchpointDraft::from(&current).overlay(patch.clone()),
                None,
                current.occurred_at,
            ) {
                Ok(_) => Some(Err((id, patch))),
                Err(e) => {
                    check.validation(e);
                    None
                }
            }
        }
        None => match NewTouchpoint::parse(patch, None, kizuna_store::now()) {
            Ok(n) => Some(Ok(n)),
            Err(e) => {
                check.validation(e);
                None
            }
        },
    })
}

/// Writes a chunk of checked rows; returns (inserted, updated).
pub(crate) async fn write(
    store: &Store,
    kind: Kind,
    rows: Vec<Prepared>,
    actor: &Actor,
) -> Result<(u64, u64), StoreError> {
    macro_rules! split {
        ($variant:ident) => {{
            let mut fresh = Vec::new();
            let mut known = Vec::new();
            for r in rows {
                if let Prepared::$variant(r) = r {
                    match r {
                        Ok(n) => fresh.push(n),
                        Err(u) => known.push(u),
                    }
                }
            }
            (fresh, known)
        }};
    }
    if rows.is_empty() {
        return Ok((0, 0));
    }
    let counts = match kind {
        Kind::Accounts => {
            let upserts: Vec<AccountUpsert> = rows
                .into_iter()
                .filter_map(|r| {
                    if let Prepared::Account(a) = r {
                        Some(a)
                    } else {
                        None
                    }
                })
                .collect();
            let (i, u) = store.upsert_accounts(&upserts, actor).await?;
            (i, u)
        }
        Kind::Contacts => {
            let (fresh, known) = split!(Contact);
            let n = fresh.len();
            store.create_contacts(fresh, actor).await?;
            for (id, patch) in &known {
                store.update_contact(*id, patch.clone(), actor).await?;
            }
            (n, known.len())
        }
        Kind::Subscriptions => {
            let (fresh, known) = split!(Subscription);
            let n = fresh.len();
            store
                .create_subscriptions(fresh, actor, chrono::Utc::now().date_naive())
                .await?;
            for (id, patch) in &known {
                store.update_subscription(*id, patch.clone(), actor).await?;
            }
            (n, known.len())
        }
        Kind::Tickets => {
            let (fresh, known) = split!(Ticket);
            let n = fresh.len();
            store.create_tickets(fresh, actor).await?;
            for (id, patch) in &known {
                store.update_ticket(*id, patch.clone(), actor).await?;
            }
            (n, known.len())
        }
        Kind::Nps => {
            let (fresh, known) = split!(Survey);
            let n = fresh.len();
            store.create_survey_responses(fresh, actor).await?;
            for (id, patch) in &known {
                store
                    .update_survey_response(*id, patch.clone(), actor)
                    .await?;
            }
            (n, known.len())
        }
        Kind::Touchpoints => {
            let (fresh, known) = split!(Touchpoint);
            let n = fresh.len();
            store.create_touchpoints(fresh, actor).await?;
            for (id, patch) in &known {
                store.update_touchpoint(*id, patch.clone(), actor).await?;
            }
            (n, known.len())
        }
    };
    Ok((counts.0 as u64, counts.1 as u64))
}
