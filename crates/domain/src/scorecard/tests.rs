//! Table-driven checks of the scorecard arithmetic: weights, missing values, bands, manual scores
//! with expiry, validation messages and explanations.

use super::*;
use crate::indicator::Indicators;

fn measure(key: &str, indicator: &str, weight: f64, linear: (f64, f64)) -> MeasureDef {
    MeasureDef {
        key: key.into(),
        name: key.into(),
        indicator: indicator.into(),
        weight,
        linear: Some(Linear {
            from: linear.0,
            to: linear.1,
        }),
        thresholds: vec![],
        otherwise: None,
    }
}

fn card(groups: Vec<(f64, Vec<MeasureDef>)>) -> Scorecard {
    Scorecard::parse(ScorecardDef {
        name: "t".into(),
        description: None,
        is_default: true,
        priority: 0,
        applies_to: Criteria::default(),
        bands: default_bands(),
        trend_threshold: 2.0,
        groups: groups
            .into_iter()
            .enumerate()
            .map(|(i, (weight, measures))| GroupDef {
                key: format!("g{i}"),
                name: format!("g{i}"),
                weight,
                measures,
            })
            .collect(),
    })
    .unwrap()
}

/// Breadth and seat utilisation map 0 … 1 straight onto 0 … 100 in these tests.
fn indicators(breadth: Option<f64>, seats: Option<f64>, nps: Option<f64>) -> Indicators {
    Indicators {
        breadth,
        seat_utilization: seats,
        nps_latest: nps,
        ..Default::default()
    }
}

#[test]
fn weighted_means_and_missing_values() {
    // (breadth, seats, nps) → expected score
    type Case = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);
    let cases: &[Case] = &[
        // group 0: breadth w1, seats w3 → (100·1 + 50·3)/4 = 62.5; group 1: nps 100.
        // overall: (62.5·2 + 100·1)/3 = 75
        (Some(1.0), Some(0.5), Some(10.0), Some(75.0)),
        // seats missing: its weight goes to breadth → group 0 = 100; overall (100·2+100)/3
        (Some(1.0), None, Some(10.0), Some(100.0)),
        // group 1 has no value at all: left out, group 0 alone
        (Some(1.0), Some(0.5), None, Some(62.5)),
        // one measure at 0
        (Some(0.0), Some(0.0), Some(0.0), Some(0.0)),
        // nothing at all: no score
        (None, None, None, None),
        // values beyond the linear range are clamped
        (
            Some(2.0),
            Some(-1.0),
            Some(10.0),
            Some((25.0 * 2.0 + 100.0) / 3.0),
        ),
    ];
    let c = card(vec![
        (
            2.0,
            vec![
                measure("b", "breadth", 1.0, (0.0, 1.0)),
                measure("s", "seat_utilization", 3.0, (0.0, 1.0)),
            ],
        ),
        (1.0, vec![measure("n", "nps_latest", 1.0, (0.0, 10.0))]),
    ]);
    for (i, (b, s, n, want)) in cases.iter().enumerate() {
        let h = c.score(&indicators(*b, *s, *n), &BTreeMap::new());
        let want = want.map(|w| (w * 10.0_f64).round() / 10.0);
        assert_eq!(h.score, want, "case {i}");
        // Contributions add up to the score (to rounding).
        if let Some(score) = h.score {
            let sum: f64 = h.measures().filter_map(|m| m.contribution).sum();
            assert!((sum - score).abs() < 0.1, "case {i}: {sum} vs {score}");
        }
    }
}

#[test]
fn bands_read_the_rounded_score() {
    let c = card(vec![(1.0, vec![measure("b", "breadth", 1.0, (0.0, 1.0))])]);
    let cases = [
        (0.0, HealthBand::Red),
        (40.0, HealthBand::Red),
        (40.4, HealthBand::Red),
        (40.5, HealthBand::Yellow),
        (70.0, HealthBand::Yellow),
        (70.5, HealthBand::Green),
        (100.0, HealthBand::Green),
    ];
    for (score, band) in cases {
        assert_eq!(c.band(score), band, "{score}");
    }
}

#[test]
fn thresholds_first_match_wins_and_otherwise() {
    let m = MeasureDef {
        key: "d".into(),
        name: "d".into(),
        indicator: "days_since_activity".into(),
        weight: 1.0,
        linear: None,
        thresholds: vec![
            Step {
                op: StepOp::Lte,
                value: 3.0,
                score: 100.0,
            },
            Step {
                op: StepOp::Lte,
                value: 14.0,
                score: 50.0,
            },
        ],
        otherwise: Some(5.0),
    };
    for (raw, want) in [
        (0.0, 100.0),
        (3.0, 100.0),
        (4.0, 50.0),
        (14.0, 50.0),
        (15.0, 5.0),
    ] {
        assert_eq!(map_raw(&m, raw), want, "{raw}");
    }
    // A linear map from high to low: lower raw is better.
    let l = measure("x", "days_since_touchpoint", 1.0, (90.0, 0.0));
    assert_eq!(map_raw(&l, 0.0), 100.0);
    assert_eq!(map_raw(&l, 45.0), 50.0);
    assert_eq!(map_raw(&l, 120.0), 0.0);
}

#[test]
fn manual_scores_override_and_expire() {
    let c = card(vec![(
        1.0,
        vec![
            measure("b", "breadth", 1.0, (0.0, 1.0)),
            MeasureDef {
                key: "csm".into(),
                name: "csm".into(),
                indicator: MANUAL.into(),
                weight: 1.0,
                linear: None,
                thresholds: vec![],
                otherwise: None,
            },
        ],
    )]);
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let scores = vec![
        ManualScore {
            measure: "csm".into(),
            score: 20.0,
            expires_on: Some(day("2026-12-01")),
        },
        ManualScore {
            measure: "b".into(),
            score: 0.0,
            expires_on: Some(day("2026-11-25")),
        },
    ];
    let ind = indicators(Some(1.0), None, None);
    // (day, expected score): both in force; the breadth override expired; both expired.
    let cases = [
        ("2026-11-24", 10.0),
        ("2026-11-25", 60.0),
        ("2026-12-01", 100.0),
    ];
    for (on, want) in cases {
        let manual = manual_in_force(&scores, day(on));
        let h = c.score(&ind, &manual);
        assert_eq!(h.score, Some(want), "{on}");
    }
    let h = c.score(&ind, &manual_in_force(&scores, day("2026-11-24")));
    let b = h.measures().find(|m| m.key == "b").unwrap();
    assert!(b.manual);
    assert_eq!(
        b.raw,
        Some(1.0),
        "the computed value stays visible beside the override"
    );
}

#[test]
fn validation_names_the_field() {
    let good = default_scorecard();
    assert!(Scorecard::parse(good.clone()).is_ok());
    type Edit = fn(&mut ScorecardDef);
    let cases: &[(Edit, &str, &str)] = &[
        (
            |d| d.groups[0].measures[1].weight = -1.0,
            "groups[0].measures[1].weight",
            "≥ 0",
        ),
        (|d| d.groups[1].weight = f64::NAN, "groups[1].weight", "≥ 0"),
        (
            |d| d.groups[0].measures[0].indicator = "bredth".into(),
            "groups[0].measures[0].indicator",
            "unknown indicator",
        ),
        (|d| d.bands[1].min = 35, "bands[1].min", "overlaps"),
        (|d| d.bands[1].min = 45, "bands[1].min", "without a band"),
        (|d| d.bands[2].max = 90, "bands", "no band"),
        (
            |d| {
                d.groups[0].measures[0].thresholds = vec![Step {
                    op: StepOp::Gte,
                    value: 1.0,
                    score: 50.0,
                }]
            },
            "groups[0].measures[0]",
            "not both",
        ),
        (
            |d| d.groups[0].measures[2].key = "depth".into(),
            "groups[0].measures[2].key",
            "used twice",
        ),
        (
            |d| d.groups[1].measures[0].thresholds[0].score = 120.0,
            "groups[1].measures[0].thresholds[0].score",
            "between 0 and 100",
        ),
        (|d| d.groups.clear(), "groups", "at least one"),
        (|d| d.name = " ".into(), "name", "empty"),
    ];
    for (edit, field, words) in cases {
        let mut d = good.clone();
        edit(&mut d);
        let err = Scorecard::parse(d).unwrap_err();
        assert!(
            err.errors
                .iter()
                .any(|e| e.field == *field && e.message.contains(words)),
            "expected {field}: …{words}…, got {err}"
        );
    }
}

#[test]
fn trend_and_changes_explain_the_move() {
    let c = card(vec![(
        1.0,
        vec![
            measure("b", "breadth", 1.0, (0.0, 1.0)),
            measure("s", "seat_utilization", 1.0, (0.0, 1.0)),
        ],
    )]);
    let before = c.score(&indicators(Some(0.8), Some(0.5), None), &BTreeMap::new());
    let after = c.score(&indicators(Some(0.2), Some(0.5), None), &BTreeMap::new());
    assert_eq!(before.score, Some(65.0));
    assert_eq!(after.score, Some(35.0));
    assert_eq!(c.trend(before.score, after.score), Some(Trend::Down));
    assert_eq!(c.trend(Some(35.0), Some(36.5)), Some(Trend::Flat));
    assert_eq!(c.trend(None, after.score), None);
    let moved = changes(&before.points(), &after.points());
    assert_eq!(moved.len(), 1, "only breadth moved: {moved:?}");
    assert_eq!(moved[0].key, "b");
    assert_eq!(moved[0].contribution_delta, -30.0);
    assert!(moved[0].reason.contains("0.8 → 0.2"), "{}", moved[0].reason);
}

#[test]
fn selection_prefers_matching_priority_then_default() {
    use crate::account::{CoverageTier as T, LifecycleStage as S};
    let mut onboarding = default_scorecard();
    onboarding.is_default = false;
    onboarding.priority = 5;
    onboarding.applies_to.lifecycle_stages = vec![S::Onboarding];
    let mut high = default_scorecard();
    high.is_default = false;
    high.priority = 1;
    high.applies_to.coverage_tiers = vec![T::HighTouch];
    let cards = vec![
        (1, Scorecard::parse(default_scorecard()).unwrap()),
        (2, Scorecard::parse(high).unwrap()),
        (3, Scorecard::parse(onboarding).unwrap()),
    ];
    let axes = |t, s| AccountAxes {
        coverage_tier: t,
        lifecycle_stage: s,
        contract_value_tier: None,
    };
    assert_eq!(select(&cards, &axes(T::HighTouch, S::Onboarding)), Some(2));
    assert_eq!(select(&cards, &axes(T::HighTouch, S::Adoption)), Some(1));
    assert_eq!(select(&cards, &axes(T::TechTouch, S::Adoption)), Some(0));
}

#[test]
fn definitions_read_from_toml_and_json() {
    let toml_text = r#"
name = "Tech touch"
priority = 3
[applies_to]
coverage_tiers = ["tech_touch"]
[[groups]]
key = "usage"
name = "Usage"
weight = 1
[[groups.measures]]
key = "breadth"
name = "Breadth"
indicator = "breadth"
weight = 1
linear = { from = 0.0, to = 1.0 }
"#;
    let def: ScorecardDef = toml::from_str(toml_text).unwrap();
    let c = Scorecard::parse(def).unwrap();
    assert_eq!(c.def().bands, default_bands());
    let json = serde_json::to_string(c.def()).unwrap();
    let back: ScorecardDef = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, c.def());
}
