//! Kizuna's demo data: a reproducible customer base of a Japanese B2B SaaS vendor.
//!
//! Each account is planned first ([`plan::plan_account`]): size, latent health, contract history
//! and fate. Then its records are written through the same store calls the product uses, and its
//! product usage goes through the same ingestion path as Segment events. Accounts that leave drift
//! away in the months before their renewal (less usage, more tickets, a champion who leaves, lower
//! NPS), with noise, so later analysis has a truth to find. `docs/demo-data.md` tells the model.

mod names;
pub mod plan;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use kizuna_domain::account::{AccountDraft, CoverageTier, NewAccount};
use kizuna_domain::contact::{ContactDraft, ContactRole, NewContact};
use kizuna_domain::feature::FeatureChange;
use kizuna_domain::ids::AccountId;
use kizuna_domain::subscription::{NewSubscription, SubscriptionDraft};
use kizuna_domain::survey::{NewSurveyResponse, SurveyResponseDraft};
use kizuna_domain::ticket::{NewTicket, TicketDraft, TicketSeverity, TicketStatus};
use kizuna_domain::touchpoint::{NewTouchpoint, Sentiment, TouchpointDraft, TouchpointKind};
use kizuna_domain::usage::NewUsageEvent;
use kizuna_domain::user::{NewUser, Role, UserDraft};
use kizuna_domain::ValidationError;
use kizuna_store::{Actor, Store, StoreError};
use plan::{rng_for, AccountPlan};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal, Poisson};

const ACTOR: Actor = Actor::System("demo");

/// Weeks of weekly health snapshots the demo writes before today's.
pub const HEALTH_HISTORY_WEEKS: u32 = 12;

/// The demo product's features: (Segment event name, module, key for adoption, popularity).
pub const FEATURES: &[(&str, &str, bool, f64)] = &[
    ("Dashboard Viewed", "Analytics", true, 1.0),
    ("Report Created", "Analytics", true, 0.35),
    ("Report Exported", "Analytics", false, 0.2),
    ("Data Imported", "Data", true, 0.15),
    ("Integration Synced", "Data", true, 0.25),
    ("Alert Configured", "Automation", true, 0.08),
    ("Workflow Run", "Automation", true, 0.3),
    ("User Invited", "Admin", false, 0.03),
    ("API Called", "Data", false, 0.12),
    ("Mobile App Opened", "Collaboration", false, 0.2),
    ("Comment Posted", "Collaboration", true, 0.25),
    ("Search Performed", "Analytics", false, 0.4),
];

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub accounts: usize,
    /// Days of history, ending today.
    pub days: i64,
    pub seed: u64,
    /// The day the data ends; fixed for reproducible output.
    pub today: NaiveDate,
    /// Generate product usage (the bulk of the data). Off for large, account-only data sets.
    pub usage: bool,
    /// Generate contacts, tickets, NPS answers and touchpoints.
    pub timeline: bool,
}

impl DemoOptions {
    pub fn new(today: NaiveDate) -> Self {
        DemoOptions {
            accounts: 500,
            days: 400,
            seed: 42,
            today,
            usage: true,
            timeline: true,
        }
    }
}

/// What was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub csms: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub subscriptions: usize,
    /// Accounts that left inside the window.
    pub churned: usize,
    /// Accounts whose next renewal is planned to be lost (not yet visible as a churn).
    pub at_risk: usize,
    pub usage_events: usize,
    pub tickets: usize,
    pub survey_responses: usize,
    pub touchpoints: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo data is invalid (a bug in the generator): {0}")]
    Invalid(#[from] ValidationError),
    #[error("the database already holds accounts; load the demo into an empty database")]
    NotEmpty,
}

/// Progress reports while loading: (step, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Loads the demo data set into an empty store.
pub async fn load(
    store: &Store,
    options: &DemoOptions,
    progress: Progress<'_>,
) -> Result<DemoSummary, DemoError> {
    if !store.is_empty().await? {
        return Err(DemoError::NotEmpty);
    }
    let today = options.today;
    let mut summary = DemoSummary::default();
    let started = std::time::Instant::now();
    let lap = |step: &str| {
        tracing::debug!(
            step,
            seconds = started.elapsed().as_secs_f64(),
            "demo step done"
        )
    };

    let csm_ids = create_team(store, options.seed).await?;
    summary.csms = csm_ids.len();
    assess_team(store, &csm_ids, options.seed, today).await?;

    let plans: Vec<AccountPlan> = (0..options.accounts)
        .map(|i| plan::plan_account(options.seed, i, csm_ids.len(), today, options.days))
        .collect();
    summary.churned = plans.iter().filter(|p| p.churned_on.is_some()).count();
    summary.at_risk = plans
        .iter()
        .filter(|p| p.will_churn() && p.churned_on.is_none())
        .count();

    let mut account_ids = Vec::with_capacity(plans.len());
    for (n, chunk) in plans.chunks(2000).enumerate() {
        let rows = chunk
            .iter()
            .map(|p| account_row(p, &csm_ids))
            .collect::<Result<Vec<_>, _>>()?;
        account_ids.extend(store.create_accounts(rows, &ACTOR).await?);
        progress(
            "accounts",
            (n * 2000 + chunk.len()).min(plans.len()),
            plans.len(),
        );
    }
    summary.accounts = account_ids.len();
    lap("accounts");

    let mut contacts = Vec::new();
    let mut subscriptions = Vec::new();
    let mut tickets = Vec::new();
    let mut answers = Vec::new();
    let mut touchpoints = Vec::new();
    for (p, id) in plans.iter().zip(&account_ids) {
        if options.timeline {
            contacts.extend(contact_rows(p, *id, options.seed)?);
        }
        subscriptions.extend(subscription_rows(p, *id)?);
    }
    summary.contacts = contacts.len();
    summary.subscriptions = subscriptions.len();
    for chunk in contacts.chunks(5000) {
        store.create_contacts(chunk.to_vec(), &ACTOR).await?;
    }
    progress("contacts", contacts.len(), contacts.len());
    lap("contacts");
    for chunk in subscriptions.chunks(5000) {
        store
            .create_subscriptions(chunk.to_vec(), &ACTOR, today)
            .await?;
    }
    progress("subscriptions", subscriptions.len(), subscriptions.len());
    lap("subscriptions");

    for (p, id) in plans.iter().zip(&account_ids).filter(|_| options.timeline) {
        let window_start = today - Duration::days(options.days);
        tickets.extend(ticket_rows(p, *id, window_start, today, options.seed)?);
        answers.extend(survey_rows(p, *id, window_start, today, options.seed)?);
        touchpoints.extend(touchpoint_rows(
            p,
            *id,
            window_start,
            today,
            options.seed,
            &csm_ids,
        )?);
    }
    summary.tickets = tickets.len();
    summary.survey_responses = answers.len();
    summary.touchpoints = touchpoints.len();
    for chunk in tickets.chunks(5000) {
        store.create_tickets(chunk.to_vec(), &ACTOR).await?;
    }
    for chunk in answers.chunks(5000) {
        store
            .create_survey_responses(chunk.to_vec(), &ACTOR)
            .await?;
    }
    for chunk in touchpoints.chunks(5000) {
        store.create_touchpoints(chunk.to_vec(), &ACTOR).await?;
    }
    progress("tickets, NPS and touchpoints", 1, 1);
    lap("timeline");

    if options.usage && options.timeline {
        summary.usage_events = load_usage(store, &plans, options, progress).await?;
        curate_features(store).await?;
        lap("usage");
    }
    store.optimize().await?;
    // Health history: a snapshot a week for the last weeks, then today's scores.
    let adoption = kizuna_domain::indicator::AdoptionSettings::default();
    for week in (0..=HEALTH_HISTORY_WEEKS).rev() {
        let day = today - Duration::days(7 * i64::from(week));
        store.score_all(day, &adoption).await?;
        progress(
            "health scores",
            (HEALTH_HISTORY_WEEKS - week) as usize + 1,
            HEALTH_HISTORY_WEEKS as usize + 1,
        );
    }
    lap("health");
    Ok(summary)
}

async fn create_team(store: &Store, seed: u64) -> Result<Vec<i64>, DemoError> {
    let mut rng = rng_for(seed, usize::MAX, 7);
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    while ids.len() < 8 {
        n += 1;
        let japanese = ids.len() < 6;
        let (name, local) = names::person(&mut rng, japanese);
        if !seen.insert(local.clone()) {
            continue;
        }
        let user = NewUser::parse(UserDraft {
            email: Some(format!("{local}@kizuna-demo.example")),
            name: Some(name),
            role: Some(if n == 1 { Role::Manager } else { Role::Csm }),
            locale: Some(if japanese {
                kizuna_domain::user::Locale::Ja
            } else {
                kizuna_domain::user::Locale::En
            }),
            ..Default::default()
        })?;
        ids.push(store.create_user(user, None, &ACTOR).await?.id.0);
    }
    Ok(ids)
}

/// The team on the career ladder (the manager at the top, the CSMs spread over the other
/// steps), an assessment of most skills near what each one's step expects, and an incentive plan
/// for the last whole quarter.
async fn assess_team(
    store: &Store,
    ids: &[i64],
    seed: u64,
    today: NaiveDate,
) -> Result<(), DemoError> {
    use kizuna_domain::team::incentive::{previous_period, quarter_of, PlanDraft};
    use kizuna_store::AssessmentDraft;
    store.ensure_team_framework().await?;
    let ladder = store.list_career_levels().await?;
    let skills = store.list_skills().await?;
    if ladder.is_empty() {
        return Ok(());
    }
    let mut rng = rng_for(seed, usize::MAX, 11);
    for (n, id) in ids.iter().enumerate() {
        let step = if n == 0 {
            ladder.len() - 1
        } else {
            rng.gen_range(0..ladder.len().saturating_sub(1).max(1))
        };
        let level = &ladder[step];
        store.set_member_career(*id, Some(level.id), &ACTOR).await?;
        for s in &skills {
            if rng.gen_bool(0.1) {
                continue;
            }
            let expected = i64::from(level.expectations.get(&s.key).copied().unwrap_or(1));
            let assessed = (expected + rng.gen_range(-1..=1)).clamp(1, 4);
            store
                .record_assessment(
                    AssessmentDraft {
                        user_id: Some(*id),
                        skill_id: Some(s.id),
                        level: Some(assessed),
                        assessed_on: Some(today - Duration::days(rng.gen_range(7..180))),
                        ..Default::default()
                    },
                    today,
                    &ACTOR,
                )
                .await?;
        }
    }
    let q = previous_period(quarter_of(today));
    store
        .create_incentive_plan(
            PlanDraft {
                name: Some(format!("{} Q{}", q.from.year(), q.from.month0() / 3 + 1)),
                period_from: Some(q.from),
                period_to: Some(q.to),
                target_bonus: Some(600_000.0),
                nps_gate: Some(30.0),
                nps_fall_multiplier: Some(0.8),
                nnmrr_target: Some(300_000.0),
                nps_target: Some(40.0),
                ..Default::default()
            },
            &ACTOR,
        )
        .await?;
    Ok(())
}

fn account_row(p: &AccountPlan, csms: &[i64]) -> Result<NewAccount, ValidationError> {
    let tld = if p.japanese { "co.jp" } else { "com" };
    let mut traits = serde_json::Map::new();
    traits.insert(
        "plan".into(),
        p.terms.last().map_or("trial", |t| t.plan).into(),
    );
    traits.insert("region".into(), if p.japanese { "JP" } else { "US" }.into());
    NewAccount::parse(AccountDraft {
        external_id: Some(format!("acct-{:05}", p.index + 1)),
        name: Some(p.name.clone()),
        domain: Some(format!("{}{}.{tld}", p.slug, p.index + 1)),
        industry: Some(p.industry.to_string()),
        employees: Some(p.employees),
        contract_value_tier: Some(p.contract_value),
        growth_potential: Some(p.growth),
        brand_value: Some(p.brand),
        referral_likelihood: Some(p.referral),
        coverage_tier: Some(p.coverage),
        lifecycle_stage: Some(p.stage),
        stage_reason: Some("demo data".into()),
        owner_id: p
            .owner
            .and_then(|o| csms.get(o))
            .map(|id| kizuna_domain::ids::UserId(*id)),
        currency: Some("JPY".into()),
        traits: Some(traits),
        ..Default::default()
    })
}

/// The id Segment knows a demo user by.
fn user_id(p: &AccountPlan, n: usize) -> String {
    format!("u{:05}-{n:02}", p.index + 1)
}

fn contact_rows(
    p: &AccountPlan,
    account: AccountId,
    seed: u64,
) -> Result<Vec<NewContact>, ValidationError> {
    let mut rng = rng_for(seed, p.index, 2);
    let mut rows = Vec::with_capacity(p.users + 1);
    let domain = format!(
        "{}{}.{}",
        p.slug,
        p.index + 1,
        if p.japanese { "co.jp" } else { "com" }
    );
    let titles = if p.japanese {
        names::JP_TITLES
    } else {
        names::EN_TITLES
    };
    for n in 0..p.users {
        let (name, local) = names::person(&mut rng, p.japanese);
        let mut roles = vec![ContactRole::User];
        if n == 0 {
            roles.push(ContactRole::Champion);
        }
        if n == 1 {
            roles.push(ContactRole::Admin);
        }
        if n == 2 || (n == 0 && p.users < 3) {
            roles.push(ContactRole::DecisionMaker);
        }
        rows.push(NewContact::parse(
            ContactDraft {
                account_id: Some(account),
                external_id: Some(user_id(p, n)),
                name: Some(name),
                email: Some(format!("{local}{n}@{domain}")),
                title: titles.choose(&mut rng).map(|t| t.to_string()),
                roles: Some(roles),
                left_at: if n == 0 {
                    p.champion_left.map(|d| at(d, 10))
                } else {
                    None
                },
                traits: None,
            },
            None,
        )?);
    }
    if p.coverage != CoverageTier::TechTouch {
        let (name, local) = names::person(&mut rng, p.japanese);
        rows.push(NewContact::parse(
            ContactDraft {
                account_id: Some(account),
                name: Some(name),
                email: Some(format!("{local}.exec@{domain}")),
                title: Some(if p.japanese { "代表取締役" } else { "CEO" }.into()),
                roles: Some(vec![
                    ContactRole::ExecutiveSponsor,
                    ContactRole::DecisionMaker,
                ]),
                ..Default::default()
            },
            None,
        )?);
    }
    Ok(rows)
}

fn subscription_rows(
    p: &AccountPlan,
    account: AccountId,
) -> Result<Vec<NewSubscription>, ValidationError> {
    p.terms
        .iter()
        .map(|t| {
            NewSubscription::parse(
                SubscriptionDraft {
                    account_id: Some(account),
                    product: Some("Kizuna Cloud".into()),
                    plan: Some(t.plan.into()),
                    mrr: Some(t.mrr as f64),
                    currency: Some("JPY".into()),
                    seats: Some(t.seats),
                    start_date: Some(t.start),
                    end_date: Some(t.end),
                    status: Some(t.status),
                    ..Default::default()
                },
                None,
            )
        })
        .collect()
}

/// A moment on `day` at `hour` o'clock Japan time.
fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    let jst = day.and_hms_opt(hour.min(23), 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&(jst - Duration::hours(9)))
}

fn days_between(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// How strongly the account's trouble shows on `day`: 0 normally, up to 1 at a lost renewal.
fn trouble(p: &AccountPlan, day: NaiveDate) -> f64 {
    p.decline
        .filter(|d| d.depth > 0.3)
        .map_or(0.0, |d| d.progress(day))
}

fn ticket_rows(
    p: &AccountPlan,
    account: AccountId,
    window_start: NaiveDate,
    today: NaiveDate,
    seed: u64,
) -> Result<Vec<NewTicket>, ValidationError> {
    let mut rng = rng_for(seed, p.index, 3);
    let mut rows = Vec::new();
    let first = p.since.max(window_start);
    let last = p.active_until(today);
    let base = (0.25 + 0.9 * (1.0 - p.health)) * (1.0 + (p.users as f64) / 30.0) / 30.0;
    let subjects = if p.japanese {
        names::TICKET_SUBJECTS_JA
    } else {
        names::TICKET_SUBJECTS_EN
    };
    for day in days_between(first, last) {
        let t = trouble(p, day);
        if !rng.gen_bool((base * (1.0 + 2.5 * t)).min(0.9)) {
            continue;
        }
        let roll: f64 = rng.gen::<f64>() + 0.35 * t;
        let severity = match roll {
            x if x > 1.15 => TicketSeverity::Urgent,
            x if x > 0.85 => TicketSeverity::High,
            x if x > 0.3 => TicketSeverity::Normal,
            _ => TicketSeverity::Low,
        };
        let opened = at(day, rng.gen_range(9..18));
        let age = (today - day).num_days();
        let (status, solved_at) = if age > 14 || rng.gen_bool(0.6) {
            let solved = opened + Duration::hours(rng.gen_range(2..(24 * 10)));
            if solved <= at(today, 18) {
                (TicketStatus::Solved, Some(solved))
            } else {
                (TicketStatus::Open, None)
            }
        } else if rng.gen_bool(0.5) {
            (TicketStatus::Pending, None)
        } else {
            (TicketStatus::Open, None)
        };
        rows.push(NewTicket::parse(
            TicketDraft {
                account_id: Some(account),
                subject: subjects.choose(&mut rng).map(|s| s.to_string()),
                severity: Some(severity),
                status: Some(status),
                category: names::TICKET_CATEGORIES
                    .choose(&mut rng)
                    .map(|s| s.to_string()),
                opened_at: Some(opened),
                solved_at,
                ..Default::default()
            },
            None,
            opened,
        )?);
    }
    Ok(rows)
}

fn survey_rows(
    p: &AccountPlan,
    account: AccountId,
    window_start: NaiveDate,
    today: NaiveDate,
    seed: u64,
) -> Result<Vec<NewSurveyResponse>, ValidationError> {
    let mut rng = rng_for(seed, p.index, 4);
    let mut rows = Vec::new();
    // Survey waves every quarter; a few users answer each.
    let mut wave = today - Duration::days(10);
    while wave >= window_start {
        if wave >= p.since + Duration::days(30) && wave <= p.active_until(today) {
            for n in 0..p.users.min(4) {
                if !rng.gen_bool(0.35) {
                    continue;
                }
                if n == 0 && p.champion_left.is_some_and(|d| d <= wave) {
                    continue;
                }
                let mean = 4.8 + 4.5 * p.health - 4.0 * trouble(p, wave);
                let score = Normal::new(mean, 1.7_f64)
                    .map(|d| d.sample(&mut rng))
                    .unwrap_or(mean)
                    .round()
                    .clamp(0.0, 10.0) as i64;
                let day = wave + Duration::days(rng.gen_range(0..7));
                rows.push(NewSurveyResponse::parse(
                    SurveyResponseDraft {
                        account_id: Some(account),
                        external_id: Some(format!("nps-{}-{}-{n}", p.index + 1, wave)),
                        score: Some(score),
                        responded_at: Some(at(day.min(today), 11)),
                        ..Default::default()
                    },
                    None,
                    at(day, 11),
                )?);
            }
        }
        wave -= Duration::days(91);
    }
    Ok(rows)
}

fn touchpoint_rows(
    p: &AccountPlan,
    account: AccountId,
    window_start: NaiveDate,
    today: NaiveDate,
    seed: u64,
    csms: &[i64],
) -> Result<Vec<NewTouchpoint>, ValidationError> {
    let mut rng = rng_for(seed, p.index, 5);
    let mut rows = Vec::new();
    let (every, kinds): (i64, &[TouchpointKind]) = match p.coverage {
        CoverageTier::HighTouch => (
            14,
            &[
                TouchpointKind::Meeting,
                TouchpointKind::Call,
                TouchpointKind::Email,
            ],
        ),
        CoverageTier::MidTouch => (
            30,
            &[
                TouchpointKind::Call,
                TouchpointKind::Email,
                TouchpointKind::Meeting,
            ],
        ),
        CoverageTier::TechTouch => (60, &[TouchpointKind::Webinar, TouchpointKind::Email]),
    };
    let author = p.owner.and_then(|o| csms.get(o)).copied();
    let mut day = p.since.max(window_start) + Duration::days(rng.gen_range(0..every));
    let mut last_qbr = day;
    let last = p.active_until(today);
    while day <= last {
        let t = trouble(p, day);
        // Customers who are drifting away take fewer meetings.
        if rng.gen_bool((1.0 - 0.6 * t).max(0.1)) {
            let qbr_due =
                p.coverage == CoverageTier::HighTouch && (day - last_qbr).num_days() >= 90;
            let kind = if qbr_due {
                last_qbr = day;
                TouchpointKind::Qbr
            } else {
                kinds
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or(TouchpointKind::Call)
            };
            let sentiment = match rng.gen::<f64>() - 0.6 * t + 0.4 * (p.health - 0.5) {
                x if x > 0.45 => Sentiment::Positive,
                x if x > 0.1 => Sentiment::Neutral,
                _ => Sentiment::Negative,
            };
            let (subject_ja, subject_en, minutes) = match kind {
                TouchpointKind::Qbr => ("四半期ビジネスレビュー", "Quarterly business review", 90),
                TouchpointKind::Meeting => ("定例ミーティング", "Regular check-in meeting", 60),
                TouchpointKind::Call => ("活用状況の確認", "Usage check-in call", 30),
                TouchpointKind::Email => ("フォローアップメール", "Follow-up e-mail", 10),
                TouchpointKind::Webinar => ("活用ウェビナー参加", "Attended product webinar", 60),
                _ => ("メモ", "Note", 5),
            };
            rows.push(NewTouchpoint::parse(
                TouchpointDraft {
                    account_id: Some(account),
                    author_id: author.map(kizuna_domain::ids::UserId),
                    kind: Some(kind),
                    subject: Some(if p.japanese { subject_ja } else { subject_en }.to_string()),
                    sentiment: Some(sentiment),
                    occurred_at: Some(at(day, rng.gen_range(10..17))),
                    duration_minutes: Some(minutes),
                    ..Default::default()
                },
                None,
                at(day, 12),
            )?);
        }
        day += Duration::days(every + rng.gen_range(-3..4));
    }
    Ok(rows)
}

/// Generates every account's product usage as Segment-style track events and stores them through
/// the ingestion path, a batch at a time (memory stays bounded whatever the size).
async fn load_usage(
    store: &Store,
    plans: &[AccountPlan],
    options: &DemoOptions,
    progress: Progress<'_>,
) -> Result<usize, DemoError> {
    const BATCH: usize = 20_000;
    let today = options.today;
    let window_start = today - Duration::days(options.days);
    let mut batch = Vec::with_capacity(BATCH + 1000);
    let mut total = 0;
    for (n, p) in plans.iter().enumerate() {
        account_usage(p, window_start, today, options.seed, &mut batch);
        if batch.len() >= BATCH {
            total += store.record_usage(&batch).await?.stored;
            batch.clear();
            progress("usage", n + 1, plans.len());
        }
    }
    total += store.record_usage(&batch).await?.stored;
    progress("usage", plans.len(), plans.len());
    Ok(total)
}

fn account_usage(
    p: &AccountPlan,
    window_start: NaiveDate,
    today: NaiveDate,
    seed: u64,
    out: &mut Vec<NewUsageEvent>,
) {
    let mut rng = rng_for(seed, p.index, 6);
    let first = p.since.max(window_start);
    let last = p.active_until(today);
    if first > last {
        return;
    }
    let group = format!("acct-{:05}", p.index + 1);
    let propensity: Vec<f64> = (0..p.users)
        .map(|n| {
            if n == 0 {
                1.0
            } else {
                rng.gen_range(0.25..1.0)
            }
        })
        .collect();
    let base = 0.2 + 0.55 * p.health;
    let breadth = 0.3 + 0.7 * p.health;
    let extra_events = Poisson::new(0.15).ok();
    for day in days_between(first, last) {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let ramp = ((day - p.since).num_days() as f64 / 45.0 + 0.25).min(1.0);
        let decline = p.decline.map_or(1.0, |d| d.usage_factor(day));
        let dip = p
            .dip
            .map_or(1.0, |(s, e)| if day >= s && day <= e { 0.6 } else { 1.0 });
        let engagement = base * ramp * decline * dip * if weekday { 1.0 } else { 0.08 };
        let narrowing = 1.0 - 0.5 * p.decline.map_or(0.0, |d| d.depth * d.progress(day));
        for (n, pu) in propensity.iter().enumerate() {
            if n == 0 && p.champion_left.is_some_and(|left| day >= left) {
                continue;
            }
            if !rng.gen_bool((engagement * pu).clamp(0.0, 0.95)) {
                continue;
            }
            let user = user_id(p, n);
            for (f, (event, _, _, popularity)) in FEATURES.iter().enumerate() {
                let chance = if f == 0 {
                    1.0
                } else {
                    (0.6 * popularity * breadth * narrowing).min(1.0)
                };
                if !rng.gen_bool(chance) {
                    continue;
                }
                let count = 1 + extra_events
                    .as_ref()
                    .map_or(0, |d| d.sample(&mut rng) as usize);
                for k in 0..count {
                    let when = at(day, 9) + Duration::minutes(rng.gen_range(0..540));
                    out.push(NewUsageEvent {
                        message_id: format!(
                            "d{seed}-{}-{}-{n}-{f}-{k}",
                            p.index + 1,
                            day.num_days_from_ce()
                        ),
                        account_external_id: Some(group.clone()),
                        user_id: Some(user.clone()),
                        anonymous_id: None,
                        feature: (*event).to_string(),
                        occurred_at: when,
                        received_at: when,
                        properties: None,
                    });
                }
            }
        }
    }
}

/// Names the demo features' modules and marks the key ones, as an admin would.
async fn curate_features(store: &Store) -> Result<(), DemoError> {
    let features = store.list_features().await?;
    for f in features {
        if let Some((_, module, key, _)) = FEATURES.iter().find(|(name, ..)| *name == f.key) {
            let change = FeatureChange {
                display_name: None,
                module: Some((*module).to_string()),
                is_key: Some(*key),
                weight: None,
            };
            store.update_feature(f.id, change, &ACTOR).await?;
        }
    }
    Ok(())
}
