//! A hand-computed portfolio of six accounts over the first quarter of 2026.
//!
//! | account | before the period | inside the period | end MRR | health | touchpoint |
//! | --- | --- | --- | --- | --- | --- |
//! | A | new 100 | expansion 100→150 (02-01) | 150 | green 80 | yes |
//! | B | new 200 | contraction 200→120 (01-15) | 120 | yellow 55 | no |
//! | C | new 300 | churn 300→0 (03-01) | 0 | red 20 | yes |
//! | D | — | new 50 (02-10) | 50 | green 90 | yes |
//! | E | new 100, churn (2025-10-01) | reactivation 80 (03-10) | 80 | none | no |
//! | F | new 400 | churn 400→0 (01-20), reactivation 100 (02-20) | 100 | red 30 | no |
//!
//! Cohort A, B, C, F: start 1000. Expansion 50 + 100 = 150, contraction 80, churn 300 + 400 =
//! 700. Net new −630, GRR 220/1000, NRR 370/1000; logo churn: C only, 1/4. New MRR (D, E) 130;
//! end MRR 500. Live at the end: A, B, D, E, F (ARR 1800, 1440, 600, 960, 1200); portfolio score
//! (80·1800 + 55·1440 + 90·600 + 30·1200) / 5040 = 313200 / 5040. Engaged live: A, D → 2/5.

use super::*;
use MovementKind::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn mv(on: &str, kind: MovementKind, before: f64, after: f64) -> Move {
    Move {
        on: d(on),
        kind,
        before,
        after,
    }
}

fn account(movements: Vec<Move>, band: Option<(HealthBand, f64)>, engaged: bool) -> AccountFacts {
    AccountFacts {
        movements,
        score: band.map(|b| b.1),
        band: band.map(|b| b.0),
        engaged,
    }
}

fn portfolio() -> Vec<(&'static str, AccountFacts)> {
    use HealthBand::*;
    vec![
        (
            "high",
            account(
                vec![
                    mv("2025-06-01", New, 0.0, 100.0),
                    mv("2026-02-01", Expansion, 100.0, 150.0),
                ],
                Some((Green, 80.0)),
                true,
            ),
        ),
        (
            "high",
            account(
                vec![
                    mv("2025-01-01", New, 0.0, 200.0),
                    mv("2026-01-15", Contraction, 200.0, 120.0),
                ],
                Some((Yellow, 55.0)),
                false,
            ),
        ),
        (
            "mid",
            account(
                vec![
                    mv("2025-03-01", New, 0.0, 300.0),
                    mv("2026-03-01", Churn, 300.0, 0.0),
                ],
                Some((Red, 20.0)),
                true,
            ),
        ),
        (
            "mid",
            account(
                vec![mv("2026-02-10", New, 0.0, 50.0)],
                Some((Green, 90.0)),
                true,
            ),
        ),
        (
            "tech",
            account(
                vec![
                    mv("2025-05-01", New, 0.0, 100.0),
                    mv("2025-10-01", Churn, 100.0, 0.0),
                    mv("2026-03-10", Reactivation, 0.0, 80.0),
                ],
                None,
                false,
            ),
        ),
        (
            "tech",
            account(
                vec![
                    mv("2025-02-01", New, 0.0, 400.0),
                    mv("2026-01-20", Churn, 400.0, 0.0),
                    mv("2026-02-20", Reactivation, 0.0, 100.0),
                ],
                Some((Red, 30.0)),
                false,
            ),
        ),
    ]
}

const Q1: Period = Period {
    from: match NaiveDate::from_ymd_opt(2026, 1, 1) {
        Some(x) => x,
        None => NaiveDate::MIN,
    },
    to: match NaiveDate::from_ymd_opt(2026, 3, 31) {
        Some(x) => x,
        None => NaiveDate::MIN,
    },
};

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn retention_over_the_quarter() {
    let p = portfolio();
    let all: Vec<&AccountFacts> = p.iter().map(|(_, a)| a).collect();
    let r = Retention::compute(all.iter().copied(), Q1);
    assert_eq!((r.accounts_at_start, r.churned_accounts), (4, 1));
    assert_eq!(
        (
            r.start_mrr,
            r.expansion_mrr,
            r.contraction_mrr,
            r.churned_mrr
        ),
        (1000.0, 150.0, 80.0, 700.0)
    );
    assert_eq!(r.net_new_mrr_existing, -630.0);
    close(r.grr, 0.22);
    close(r.nrr, 0.37);
    close(r.logo_churn, 0.25);
    assert_eq!((r.new_mrr, r.end_mrr), (130.0, 500.0));
    // The cohort's end MRR is its start plus its net new MRR.
    assert_eq!(r.start_mrr + r.net_new_mrr_existing + r.new_mrr, r.end_mrr);
}

#[test]
fn health_engagement_and_cost() {
    let p = portfolio();
    let all: Vec<&AccountFacts> = p.iter().map(|(_, a)| a).collect();
    let f = Figures::compute(&all, Q1, Some(100.0));
    let h = &f.health;
    assert_eq!((h.green.accounts, h.green.arr), (2, 2400.0));
    assert_eq!((h.yellow.accounts, h.yellow.arr), (1, 1440.0));
    assert_eq!((h.red.accounts, h.red.arr), (1, 1200.0));
    assert_eq!((h.unscored.accounts, h.unscored.arr), (1, 960.0));
    close(h.portfolio_score, 313_200.0 / 5_040.0);
    assert_eq!((f.live_accounts, f.engaged_accounts), (5, 2));
    close(f.engagement_coverage, 0.4);
    assert_eq!(f.retained_arr, 2640.0);
    let cost = 100.0 * 90.0 / (365.25 / 12.0);
    close(f.cs_cost, cost);
    close(f.retention_cost, cost / 2640.0);
    assert_eq!(Figures::compute(&all, Q1, None).retention_cost, None);
}

#[test]
fn monthly_trend_by_hand() {
    let p = portfolio();
    let all: Vec<&AccountFacts> = p.iter().map(|(_, a)| a).collect();
    let t = monthly_trend(&all, Q1);
    assert_eq!(t.len(), 3);
    assert_eq!(t[1].month, d("2026-02-01"));
    assert_eq!(t[1].period.to, d("2026-02-28"));
    // January: cohort A, B, C, F (1000); B −80, F −400 (a lost logo at the month's end).
    close(t[0].retention.nrr, 0.52);
    close(t[0].retention.logo_churn, 0.25);
    // February: cohort A 100, B 120, C 300 = 520; A +50; D and F's return are not the cohort's.
    assert_eq!(t[1].retention.start_mrr, 520.0);
    close(t[1].retention.nrr, 570.0 / 520.0);
    assert_eq!(t[1].retention.new_mrr, 150.0);
    // March: cohort A 150, B 120, C 300, D 50, F 100 = 720; C churns.
    assert_eq!(t[2].retention.start_mrr, 720.0);
    close(t[2].retention.grr, 420.0 / 720.0);
    close(t[2].retention.logo_churn, 0.2);
}

#[test]
fn breakdown_by_key() {
    let p = portfolio();
    let by = breakdown(p.iter().map(|(k, a)| (*k, a)), Q1);
    assert_eq!(by.len(), 3);
    // high: A and B, start 300, +50, −80.
    close(by["high"].retention.nrr, 270.0 / 300.0);
    // tech: only F is in the cohort (E had left); F lost 400 and came back with 100.
    let tech = &by["tech"].retention;
    assert_eq!(
        (tech.start_mrr, tech.churned_mrr, tech.expansion_mrr),
        (400.0, 400.0, 100.0)
    );
    assert_eq!(tech.churned_accounts, 0);
    assert_eq!(by["mid"].retention_cost, None);
}

#[test]
fn calendar_months_clip_to_the_period() {
    let p = Period {
        from: d("2026-01-15"),
        to: d("2026-03-10"),
    };
    let m = p.calendar_months();
    assert_eq!(m.len(), 3);
    assert_eq!((m[0].from, m[0].to), (d("2026-01-15"), d("2026-01-31")));
    assert_eq!((m[2].from, m[2].to), (d("2026-03-01"), d("2026-03-10")));
    assert_eq!(p.days(), 55);
}

#[test]
fn the_trend_scan_of_consecutive_months_equals_each_month_alone() {
    let p = portfolio();
    let all: Vec<&AccountFacts> = p.iter().map(|(_, a)| a).collect();
    // From the middle of a month, across 2025's churn of E and 2026's movements.
    let period = Period {
        from: d("2025-09-14"),
        to: d("2026-03-05"),
    };
    let trend = monthly_trend(&all, period);
    assert_eq!(trend.len(), 7);
    for point in &trend {
        assert_eq!(
            point.retention,
            Retention::compute(all.iter().copied(), point.period),
            "{}",
            point.month
        );
    }
}
