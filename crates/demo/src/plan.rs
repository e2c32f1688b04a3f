//! The hidden model behind the demo data: each account's size, latent health, contract history
//! and fate, decided before any record is written. See `docs/demo-data.md` for the story it tells.

use chrono::{Duration, NaiveDate};
use kizuna_domain::account::{ContractValueTier, CoverageTier, Level, LifecycleStage};
use kizuna_domain::subscription::SubscriptionStatus;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, LogNormal};

use crate::names;

/// A stream of random numbers of its own for each account and purpose, so account 17 is the same
/// whatever the number of accounts, and adding a kind of record does not change the others.
pub fn rng_for(seed: u64, account: usize, purpose: u64) -> ChaCha8Rng {
    use rand::SeedableRng;
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((account as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(purpose.wrapping_mul(0x1656_67B1_9E37_79F9));
    ChaCha8Rng::seed_from_u64(mixed)
}

#[derive(Debug, Clone)]
pub struct TermPlan {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub mrr: i64,
    pub seats: i64,
    pub status: SubscriptionStatus,
    pub plan: &'static str,
}

/// The months before a renewal in which a customer who will leave drifts away.
#[derive(Debug, Clone, Copy)]
pub struct Decline {
    pub start: NaiveDate,
    /// The renewal date the decline leads up to.
    pub renewal: NaiveDate,
    /// 0 (no visible decline: a surprise churn) to 1 (usage gone by the renewal).
    pub depth: f64,
}

impl Decline {
    /// How far into the decline `day` is: 0 before it starts, 1 at the renewal.
    pub fn progress(&self, day: NaiveDate) -> f64 {
        if day < self.start {
            return 0.0;
        }
        let total = (self.renewal - self.start).num_days().max(1) as f64;
        ((day - self.start).num_days() as f64 / total).clamp(0.0, 1.0)
    }

    /// The factor usage is multiplied by on `day`.
    pub fn usage_factor(&self, day: NaiveDate) -> f64 {
        1.0 - self.depth * self.progress(day).powf(0.8)
    }
}

#[derive(Debug, Clone)]
pub struct AccountPlan {
    pub index: usize,
    pub japanese: bool,
    pub name: String,
    pub slug: String,
    pub industry: &'static str,
    pub employees: i64,
    /// Latent health, 0 to 1. Never stored: the product has to infer it.
    pub health: f64,
    pub coverage: CoverageTier,
    pub contract_value: ContractValueTier,
    pub growth: Level,
    pub brand: Level,
    pub referral: Level,
    pub owner: Option<usize>,
    pub stage: LifecycleStage,
    /// First day as a paying customer (or of the trial, for evaluations).
    pub since: NaiveDate,
    pub terms: Vec<TermPlan>,
    /// The first day without revenue, for an account that left.
    pub churned_on: Option<NaiveDate>,
    /// Set when the account left, or will leave at its next renewal.
    pub decline: Option<Decline>,
    /// A passing dip in usage of an account that stays (noise, so a dip alone proves nothing).
    pub dip: Option<(NaiveDate, NaiveDate)>,
    /// Product users (the first is the champion).
    pub users: usize,
    pub champion_left: Option<NaiveDate>,
}

impl AccountPlan {
    /// Usage stops when the last paid day passes (or the trial ends).
    pub fn active_until(&self, today: NaiveDate) -> NaiveDate {
        self.churned_on.map_or(today, |c| c.min(today))
    }

    pub fn will_churn(&self) -> bool {
        self.decline.is_some()
    }
}

fn level(rng: &mut ChaCha8Rng, high_chance: f64) -> Level {
    let x: f64 = rng.gen();
    if x < high_chance {
        Level::High
    } else if x < high_chance + 0.4 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Probability of leaving at one renewal, from latent health: about 12 % on average.
fn churn_probability(health: f64) -> f64 {
    let risk = 1.0 - health;
    (0.03 + 1.3 * risk * risk).min(0.8)
}

fn price(seats: i64) -> (i64, &'static str) {
    if seats < 20 {
        (seats * 3_000, "starter")
    } else if seats < 60 {
        (seats * 5_000, "business")
    } else {
        (50_000 + seats * 8_000, "enterprise")
    }
}

pub fn plan_account(
    seed: u64,
    index: usize,
    csms: usize,
    today: NaiveDate,
    days: i64,
) -> AccountPlan {
    let mut rng = rng_for(seed, index, 1);
    let window_start = today - Duration::days(days);
    let japanese = rng.gen_bool(0.7);
    let (name, slug) = names::company(&mut rng, japanese);
    let industry = names::INDUSTRIES
        .choose(&mut rng)
        .copied()
        .unwrap_or("Manufacturing");
    let employees = LogNormal::new(5.7_f64, 1.1)
        .map(|d| d.sample(&mut rng))
        .unwrap_or(300.0)
        .clamp(10.0, 50_000.0) as i64;
    let health: f64 = Beta::new(5.0_f64, 2.0)
        .map(|d| d.sample(&mut rng))
        .unwrap_or(0.7);
    let mut seats = ((employees as f64) * rng.gen_range(0.03..0.15))
        .round()
        .clamp(5.0, 120.0) as i64;
    let (mrr, _) = price(seats);
    let contract_value = if mrr >= 500_000 {
        ContractValueTier::Enterprise
    } else if mrr >= 150_000 {
        ContractValueTier::MidMarket
    } else {
        ContractValueTier::Smb
    };
    let mut coverage = match contract_value {
        ContractValueTier::Enterprise => CoverageTier::HighTouch,
        ContractValueTier::MidMarket => CoverageTier::MidTouch,
        ContractValueTier::Smb => CoverageTier::TechTouch,
    };
    if rng.gen_bool(0.1) {
        coverage = *[
            CoverageTier::HighTouch,
            CoverageTier::MidTouch,
            CoverageTier::TechTouch,
        ]
        .choose(&mut rng)
        .unwrap_or(&coverage);
    }
    let owner = match coverage {
        CoverageTier::TechTouch if rng.gen_bool(0.6) => None,
        _ => Some(rng.gen_range(0..csms.max(1))),
    };
    let growth = level(&mut rng, 0.15 + 0.3 * health);
    let brand = level(
        &mut rng,
        if contract_value == ContractValueTier::Enterprise {
            0.5
        } else {
            0.15
        },
    );
    let referral = level(&mut rng, 0.1 + 0.5 * health);
    let users = ((seats as f64) * rng.gen_range(0.25..0.55))
        .round()
        .clamp(2.0, 20.0) as usize;

    // Where the account is in its life decides how its contract history is drawn.
    let roll: f64 = rng.gen();
    let (special, since) = if roll < 0.03 {
        (
            Some(LifecycleStage::Evaluation),
            today - Duration::days(rng.gen_range(3..25)),
        )
    } else if roll < 0.05 {
        (
            Some(LifecycleStage::Contract),
            today + Duration::days(rng.gen_range(3..30)),
        )
    } else if roll < 0.13 {
        (None, today - Duration::days(rng.gen_range(0..90)))
    } else {
        (None, today - Duration::days(rng.gen_range(90..1400)))
    };

    let mut plan = AccountPlan {
        index,
        japanese,
        name,
        slug,
        industry,
        employees,
        health,
        coverage,
        contract_value,
        growth,
        brand,
        referral,
        owner,
        stage: LifecycleStage::Adoption,
        since,
        terms: Vec::new(),
        churned_on: None,
        decline: None,
        dip: None,
        users,
        champion_left: None,
    };

    match special {
        Some(LifecycleStage::Evaluation) => {
            plan.stage = LifecycleStage::Evaluation;
            plan.users = plan.users.min(5);
            return plan;
        }
        Some(_) => {
            let (mrr, tier) = price(seats);
            plan.terms.push(TermPlan {
                start: since,
                end: since + Duration::days(364),
                mrr,
                seats,
                status: SubscriptionStatus::Active,
                plan: tier,
            });
            plan.stage = LifecycleStage::Contract;
            return plan;
        }
        None => {}
    }

    let p_churn = churn_probability(health);
    let mut start = since;
    let mut expanded_on: Option<NaiveDate> = None;
    loop {
        let end = start + Duration::days(364);
        let (mrr, tier) = price(seats);
        let mut term = TermPlan {
            start,
            end,
            mrr,
            seats,
            status: SubscriptionStatus::Active,
            plan: tier,
        };
        if end >= today {
            // The current term: its fate is drawn now and shows in the data before it happens.
            if rng.gen_bool(p_churn) {
                plan.decline = Some(draw_decline(&mut rng, end));
            }
            plan.terms.push(term);
            break;
        }
        let decided_in_window = end >= window_start;
        if decided_in_window && end >= today - Duration::days(14) && rng.gen_bool(0.5) {
            // Ended days ago; the renewal is not decided yet.
            if rng.gen_bool(p_churn) {
                plan.decline = Some(draw_decline(&mut rng, end));
            }
            plan.terms.push(term);
            break;
        }
        if decided_in_window && rng.gen_bool(p_churn) {
            term.status = SubscriptionStatus::Churned;
            plan.terms.push(term);
            plan.decline = Some(draw_decline(&mut rng, end));
            plan.churned_on = end.succ_opt();
            plan.stage = LifecycleStage::Churned;
            break;
        }
        term.status = SubscriptionStatus::Renewed;
        plan.terms.push(term);
        // Renewal price: healthy accounts grow, weak ones shrink.
        let x: f64 = rng.gen();
        if x < 0.30 * health {
            seats = ((seats as f64) * rng.gen_range(1.1..1.5)).round() as i64;
            expanded_on = end.succ_opt();
        } else if x > 1.0 - 0.25 * (1.0 - health) {
            seats = ((seats as f64) * rng.gen_range(0.7..0.9)).round().max(3.0) as i64;
        }
        start = end + Duration::days(1);
    }

    if plan.decline.is_none() && rng.gen_bool(0.12) {
        // Noise: a healthy account's passing dip.
        let start = today - Duration::days(rng.gen_range(30..days.max(31)));
        plan.dip = Some((start, start + Duration::days(rng.gen_range(14..45))));
    }
    plan.champion_left = match plan.decline {
        Some(d) if d.depth > 0.3 && rng.gen_bool(0.5) => {
            Some(d.renewal - Duration::days(rng.gen_range(60..130)))
        }
        _ if rng.gen_bool(0.05) => Some(today - Duration::days(rng.gen_range(10..days.max(11)))),
        _ => None,
    }
    .filter(|d| *d > since && *d < today);

    if plan.stage != LifecycleStage::Churned {
        let renewal = plan.terms.last().map(|t| t.end).unwrap_or(today);
        plan.stage = if since > today - Duration::days(90) {
            LifecycleStage::Onboarding
        } else if (renewal - today).num_days() <= 90 {
            LifecycleStage::Renewal
        } else if expanded_on.is_some_and(|d| d > today - Duration::days(120)) {
            LifecycleStage::Expansion
        } else {
            LifecycleStage::Adoption
        };
    }
    plan
}

fn draw_decline(rng: &mut ChaCha8Rng, renewal: NaiveDate) -> Decline {
    let lead = rng.gen_range(150..270);
    // One in five who leave give no warning in their usage (a budget cut, an acquisition).
    let depth = if rng.gen_bool(0.2) {
        rng.gen_range(0.05..0.15)
    } else {
        rng.gen_range(0.5..0.85)
    };
    Decline {
        start: renewal - Duration::days(lead),
        renewal,
        depth,
    }
}
