//! Tests of reward sets: weights, transforms, normalisers, aggregation, errors.

use super::*;
use crate::reward::FnReward;

/// Returns fixed values per batch, ignoring the samples.
struct Fixed(&'static str, Vec<Option<f64>>);

impl Reward for Fixed {
    fn name(&self) -> &str {
        self.0
    }
    fn score(&self, _: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        Ok(self.1.clone())
    }
}

fn samples(texts: &[&'static str]) -> Vec<Sample<'static>> {
    texts
        .iter()
        .map(|&completion| Sample {
            prompt: "",
            completion,
        })
        .collect()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

fn two_rewards(aggregation: Aggregation) -> RewardSet {
    RewardSet::builder()
        .add(Fixed("a", vec![Some(1.0), Some(2.0), Some(3.0)]), 1.0)
        .add(Fixed("b", vec![Some(10.0), Some(10.0), Some(40.0)]), 0.5)
        .aggregation(aggregation)
        .build()
        .unwrap()
}

#[test]
fn weighted_sum_and_normalize_then_sum_hand_example() {
    let s = samples(&["x", "y", "z"]);
    let sum = two_rewards(Aggregation::WeightedSum)
        .score_and_update(&s)
        .unwrap();
    assert!(close(sum.total(), &[6.0, 7.0, 23.0]));
    // a: mean 2, std √(2/3) → z = [−√1.5, 0, √1.5]; b: mean 20, std √200 → [−√.5, −√.5, √2].
    let gdpo = two_rewards(Aggregation::NormalizeThenSum)
        .score_and_update(&s)
        .unwrap();
    let (r15, r05) = (1.5f64.sqrt(), 0.5f64.sqrt());
    assert!(close(
        gdpo.total(),
        &[-r15 - 0.5 * r05, -0.5 * r05, r15 + 0.5 * 2f64.sqrt()]
    ));
}

#[test]
fn geometric_mean_of_transformed_values() {
    let mut set = RewardSet::builder()
        .add(Fixed("qed", vec![Some(0.36), Some(0.5)]), 1.0)
        .add(Fixed("mw", vec![Some(300.0), Some(900.0)]), 1.0)
        .transform(Transform::Step {
            low: 200.0,
            high: 500.0,
        })
        .aggregation(Aggregation::WeightedGeometricMean)
        .build()
        .unwrap();
    let batch = set.score_and_update(&samples(&["a", "b"])).unwrap();
    assert!((batch.total()[0] - 0.6).abs() < 1e-12);
    assert!((batch.total()[1] - (0.5 * 1e-10f64).sqrt()).abs() < 1e-15);
    assert_eq!(
        batch.column("mw").unwrap().transformed,
        [Some(1.0), Some(0.0)]
    );
}

#[test]
fn na_penalty_and_log_only_reward() {
    let build = |with_log_only: bool| {
        let mut b = RewardSet::builder()
            .add(Fixed("valid", vec![Some(0.2), None, Some(0.8)]), 2.0)
            .na_penalty(-1.0);
        if with_log_only {
            b = b.add(Fixed("length", vec![None, Some(5.0), Some(7.0)]), 0.0);
        }
        b.build().unwrap()
    };
    let s = samples(&["a", "b", "c"]);
    let plain = build(false).score_and_update(&s).unwrap();
    let logged = build(true).score_and_update(&s).unwrap();
    assert!(close(plain.total(), &[0.4, -1.0, 1.6]));
    assert_eq!(plain.total(), logged.total());

    let stats = logged.stats();
    assert_eq!(stats.len(), 2);
    let length = &stats[1];
    assert_eq!((length.name.as_str(), length.weight), ("length", 0.0));
    assert_eq!((length.raw_mean, length.raw_std), (Some(6.0), Some(1.0)));
    assert_eq!((length.not_applicable, length.count), (1, 3));
    let valid = &stats[0];
    assert_eq!(valid.transformed_mean, Some(0.5));
    assert!((valid.transformed_std.unwrap() - 0.3).abs() < 1e-12);
}

#[test]
fn non_finite_value_reports_sample() {
    let mut set = RewardSet::builder()
        .add(
            FnReward::new("parse", |s| s.completion.parse::<f64>().ok()),
            1.0,
        )
        .build()
        .unwrap();
    let err = set
        .score_and_update(&samples(&["1.5", "inf", "x"]))
        .unwrap_err();
    match err {
        RewardError::NonFinite {
            reward,
            index,
            sample,
            value,
            stage,
        } => {
            assert_eq!(stage, Stage::Raw);
            assert_eq!(
                (reward.as_str(), index, sample.as_str()),
                ("parse", 1, "inf")
            );
            assert_eq!(value, f64::INFINITY);
        }
        other => panic!("unexpected {other}"),
    }
    let ok = set.score_and_update(&samples(&["1.5", "x"])).unwrap();
    assert_eq!(ok.column("parse").unwrap().raw, [Some(1.5), None]);
}

#[test]
fn wrong_length_and_failures_are_reported() {
    struct Failing;
    impl Reward for Failing {
        fn name(&self) -> &str {
            "oracle"
        }
        fn score(&self, _: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
            Err(RewardError::Failed {
                reward: "oracle".into(),
                message: "timeout".into(),
            })
        }
    }
    let mut short = RewardSet::builder()
        .add(Fixed("short", vec![Some(1.0)]), 1.0)
        .build()
        .unwrap();
    let err = short.score_and_update(&samples(&["a", "b"])).unwrap_err();
    assert!(matches!(
        err,
        RewardError::WrongLength { ref reward, expected: 2, got: 1 } if reward == "short"
    ));
    let mut failing = RewardSet::builder().add(Failing, 1.0).build().unwrap();
    let err = failing.score_and_update(&samples(&["a"])).unwrap_err();
    assert_eq!(err.to_string(), r#"reward "oracle" failed: timeout"#);
}

#[test]
fn invalid_configurations_are_rejected() {
    let one = |w: f64| RewardSet::builder().add(Fixed("a", vec![]), w).build();
    for w in [-1.0, f64::NAN, f64::INFINITY, 0.0] {
        assert!(
            matches!(one(w), Err(RewardError::InvalidWeights { .. })),
            "{w}"
        );
    }
    assert!(matches!(
        RewardSet::builder().build(),
        Err(RewardError::InvalidWeights { .. })
    ));
    let dup = RewardSet::builder()
        .add(Fixed("a", vec![]), 1.0)
        .add(Fixed("a", vec![]), 1.0)
        .build();
    assert!(matches!(dup, Err(RewardError::DuplicateName(n)) if n == "a"));
    let bad_transform = RewardSet::builder()
        .add(Fixed("a", vec![]), 1.0)
        .transform(Transform::Sigmoid {
            low: 2.0,
            high: 1.0,
            k: 0.25,
        })
        .build();
    assert!(matches!(
        bad_transform,
        Err(RewardError::InvalidTransform { ref reward, .. }) if reward == "a"
    ));
    let bad_penalty = RewardSet::builder()
        .add(Fixed("a", vec![]), 1.0)
        .na_penalty(f64::NEG_INFINITY)
        .build();
    assert!(matches!(bad_penalty, Err(RewardError::InvalidNaPenalty(_))));
}

#[test]
fn minimize_direction() {
    let len = |t: &Sample<'_>| Some(t.completion.len() as f64);
    let mut set = RewardSet::builder()
        .add(
            FnReward::new("neg", len).with_direction(Direction::Minimize),
            1.0,
        )
        .add(
            FnReward::new("clamped", len).with_direction(Direction::Minimize),
            0.0,
        )
        .transform(Transform::Clamp { min: 0.0, max: 3.0 })
        .add(
            FnReward::new("rev", len).with_direction(Direction::Minimize),
            0.0,
        )
        .transform(Transform::ReverseSigmoid {
            low: 0.0,
            high: 4.0,
            k: 0.25,
        })
        .build()
        .unwrap();
    let batch = set.score_and_update(&samples(&["ab", "abcde"])).unwrap();
    assert_eq!(batch.total(), [-2.0, -5.0]);
    assert_eq!(
        batch.column("clamped").unwrap().transformed,
        [Some(-2.0), Some(-3.0)]
    );
    let rev = &batch.column("rev").unwrap().transformed;
    assert_eq!(rev[0], Some(0.5));
    assert!(rev[1].unwrap() < 0.5);
}

#[test]
fn total_with_one_hot_is_the_single_reward() {
    for aggregation in [Aggregation::WeightedSum, Aggregation::WeightedGeometricMean] {
        let mut set = RewardSet::builder()
            .add(Fixed("a", vec![Some(0.3), Some(0.9), None]), 1.0)
            .add(Fixed("b", vec![Some(2.0), Some(8.0), Some(6.0)]), 1.0)
            .transform(Transform::Sigmoid {
                low: 0.0,
                high: 10.0,
                k: 0.5,
            })
            .aggregation(aggregation)
            .na_penalty(-2.0)
            .build()
            .unwrap();
        let batch = set.score_and_update(&samples(&["x", "y", "z"])).unwrap();
        let b = &batch.column("b").unwrap().transformed;
        let expert_b = batch.total_with(&[0.0, 1.0]).unwrap();
        assert!(close(
            &expert_b,
            &b.iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        ));
        let expert_a = batch.total_with(&[1.0, 0.0]).unwrap();
        assert!(close(&expert_a, &[0.3, 0.9, -2.0]));
        assert_eq!(batch.total()[2], -2.0);
    }
    let batch = two_rewards(Aggregation::WeightedSum)
        .score_and_update(&samples(&["x", "y", "z"]))
        .unwrap();
    assert!(matches!(
        batch.total_with(&[1.0]),
        Err(RewardError::InvalidWeights { .. })
    ));
}

#[test]
fn running_normalizer_and_metadata() {
    let mut set = RewardSet::builder()
        .add(Fixed("a", vec![Some(1.0), Some(3.0)]), 1.0)
        .normalizer(Normalizer::running())
        .add(Fixed("b", vec![Some(0.0), Some(0.0)]), 0.0)
        .na_penalty(-1.0)
        .build()
        .unwrap();
    let batch = set.score_and_update(&samples(&["x", "y"])).unwrap();
    assert_eq!(batch.total(), [-1.0, 1.0]);
    set.freeze_normalizers();
    set.score_and_update(&samples(&["x", "y"])).unwrap();

    let meta = set.metadata();
    assert_eq!(set.names(), ["a", "b"]);
    assert_eq!(set.weights(), [1.0, 0.0]);
    assert_eq!(
        meta["rewards"][0]["normalizer_constants"],
        json!([2.0, 1.0])
    );
    assert_eq!(meta["rewards"][0]["normalizer"]["frozen"], json!(true));
    assert_eq!(meta["rewards"][1]["normalizer_constants"], Value::Null);
    assert_eq!(meta["rewards"][1]["direction"], json!("maximize"));
    assert_eq!(meta["rewards"][1]["transform"], json!({"type": "identity"}));
    assert_eq!(meta["aggregation"], json!("weighted_sum"));
    assert_eq!(meta["na_penalty"], json!(-1.0));
}

#[test]
fn set_and_batch_are_send() {
    fn send<T: Send>() {}
    send::<RewardSet>();
    send::<RewardBatch>();
}
