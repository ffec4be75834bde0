//! A weighted set of named rewards, each with its transform and normaliser.

use super::aggregate::{Aggregation, check_weights};
use super::batch::{RewardBatch, RewardColumn};
use super::normalize::Normalizer;
use super::transform::Transform;
use super::{Direction, Reward, RewardError, Sample};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The text of a panic's payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[derive(Debug)]
struct Entry {
    reward: Box<dyn Reward>,
    weight: f64,
    transform: Transform,
    normalizer: Normalizer,
}

impl Entry {
    /// The reward's raw values, checked for length and finiteness. A reward that panics is
    /// reported as [`RewardError::Panicked`] (naming the first sample that panics alone),
    /// not allowed to take the process down.
    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        let name = || self.reward.name().to_owned();
        let raw = match catch_unwind(AssertUnwindSafe(|| self.reward.score(samples))) {
            Ok(raw) => raw?,
            Err(payload) => {
                let culprit = (0..samples.len()).find(|&i| {
                    catch_unwind(AssertUnwindSafe(|| self.reward.score(&samples[i..=i]))).is_err()
                });
                return Err(RewardError::Panicked {
                    reward: name(),
                    index: culprit,
                    sample: culprit.map(|i| samples[i].completion.to_owned()),
                    message: panic_message(payload.as_ref()),
                });
            }
        };
        if raw.len() != samples.len() {
            return Err(RewardError::WrongLength {
                reward: name(),
                expected: samples.len(),
                got: raw.len(),
            });
        }
        if let Some((index, value)) = raw
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)))
        {
            return Err(RewardError::NonFinite {
                reward: name(),
                index,
                sample: samples[index].completion.to_owned(),
                value,
            });
        }
        Ok(raw)
    }

    /// Transformed and oriented raw values (a `Minimize` reward negated after an
    /// order-preserving transform), before normalisation; nothing is updated.
    fn oriented(&self, raw: &[Option<f64>]) -> Vec<Option<f64>> {
        let negate =
            self.reward.direction() == Direction::Minimize && self.transform.preserves_order();
        raw.iter()
            .map(|v| {
                v.map(|x| {
                    let y = self.transform.apply(x);
                    if negate { -y } else { y }
                })
            })
            .collect()
    }

    /// Feed a batch's applicable oriented values to a running normaliser.
    fn update(&mut self, oriented: &[Option<f64>]) {
        let applicable: Vec<f64> = oriented.iter().flatten().copied().collect();
        self.normalizer.update(&applicable);
    }

    fn column(&self, raw: Vec<Option<f64>>, oriented: &[Option<f64>]) -> RewardColumn {
        RewardColumn {
            name: self.reward.name().to_owned(),
            weight: self.weight,
            transformed: oriented
                .iter()
                .map(|v| v.map(|x| self.normalizer.apply(x)))
                .collect(),
            raw,
        }
    }
}

/// Named rewards with weights, transforms and normalisers, combined by an [`Aggregation`].
///
/// Per reward, `transformed = normalizer(orient(transform(raw)))`, where `orient` negates a
/// [`Direction::Minimize`] reward whose transform preserves order (`Identity`, `Clamp`). A
/// weight of 0 makes a reward log-only: scored and reported, never in the total.
#[derive(Debug)]
pub struct RewardSet {
    entries: Vec<Entry>,
    aggregation: Aggregation,
    na_penalty: f64,
}

/// Builds a [`RewardSet`]; see [`RewardSet::builder`].
#[derive(Debug, Default)]
pub struct RewardSetBuilder {
    entries: Vec<Entry>,
    aggregation: Aggregation,
    na_penalty: f64,
    /// A transform or normaliser set before any reward was added (reported by `build`).
    orphan: Option<&'static str>,
}

impl RewardSetBuilder {
    /// Adds a reward with its weight (0 = log-only), [`Transform::Identity`] and no normaliser.
    #[must_use]
    pub fn add(mut self, reward: impl Reward + 'static, weight: f64) -> Self {
        self.entries.push(Entry {
            reward: Box::new(reward),
            weight,
            transform: Transform::Identity,
            normalizer: Normalizer::None,
        });
        self
    }

    /// Sets the transform of the reward added last ([`RewardSetBuilder::build`] fails if no
    /// reward was added before).
    #[must_use]
    pub fn transform(mut self, transform: Transform) -> Self {
        match self.entries.last_mut() {
            Some(e) => e.transform = transform,
            None => self.orphan = Some("transform"),
        }
        self
    }

    /// Sets the normaliser of the reward added last ([`RewardSetBuilder::build`] fails if
    /// no reward was added before).
    #[must_use]
    pub fn normalizer(mut self, normalizer: Normalizer) -> Self {
        match self.entries.last_mut() {
            Some(e) => e.normalizer = normalizer,
            None => self.orphan = Some("normalizer"),
        }
        self
    }

    /// Sets how rewards are combined (default [`Aggregation::WeightedSum`]).
    #[must_use]
    pub fn aggregation(mut self, aggregation: Aggregation) -> Self {
        self.aggregation = aggregation;
        self
    }

    /// Sets the total of a sample for which a positively weighted reward is not applicable
    /// (default 0).
    #[must_use]
    pub fn na_penalty(mut self, na_penalty: f64) -> Self {
        self.na_penalty = na_penalty;
        self
    }

    /// Validates weights, names, transforms, normalisers and the penalty.
    ///
    /// # Errors
    /// [`RewardError::InvalidWeights`] (also for an empty set), [`RewardError::DuplicateName`],
    /// [`RewardError::InvalidTransform`], [`RewardError::InvalidNormalizer`] or
    /// [`RewardError::InvalidNaPenalty`].
    pub fn build(self) -> Result<RewardSet, RewardError> {
        if let Some(what) = self.orphan {
            return Err(RewardError::InvalidWeights {
                weights: Vec::new(),
                reason: format!(
                    "a {what} was set before any reward was added (add the reward first)"
                ),
            });
        }
        let weights: Vec<f64> = self.entries.iter().map(|e| e.weight).collect();
        check_weights(&weights, self.entries.len())?;
        if !self.na_penalty.is_finite() {
            return Err(RewardError::InvalidNaPenalty(self.na_penalty));
        }
        let mut names = HashSet::new();
        for e in &self.entries {
            let name = e.reward.name();
            if !names.insert(name) {
                return Err(RewardError::DuplicateName(name.to_owned()));
            }
            e.transform
                .check()
                .map_err(|reason| RewardError::InvalidTransform {
                    reward: name.to_owned(),
                    transform: e.transform,
                    reason,
                })?;
            e.normalizer
                .check()
                .map_err(|reason| RewardError::InvalidNormalizer {
                    reward: name.to_owned(),
                    normalizer: e.normalizer,
                    reason,
                })?;
        }
        Ok(RewardSet {
            entries: self.entries,
            aggregation: self.aggregation,
            na_penalty: self.na_penalty,
        })
    }
}

impl RewardSet {
    /// An empty builder.
    pub fn builder() -> RewardSetBuilder {
        RewardSetBuilder::default()
    }

    /// The rewards' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.reward.name()).collect()
    }

    /// The rewards' weights, in order.
    pub fn weights(&self) -> Vec<f64> {
        self.entries.iter().map(|e| e.weight).collect()
    }

    /// The normalisers' current state, in reward order (to checkpoint a run).
    pub fn normalizers(&self) -> Vec<Normalizer> {
        self.entries.iter().map(|e| e.normalizer).collect()
    }

    /// Restore normaliser state saved by [`RewardSet::normalizers`].
    ///
    /// # Errors
    /// [`RewardError::StateMismatch`] when the count differs from the number of rewards.
    pub fn restore_normalizers(&mut self, normalizers: &[Normalizer]) -> Result<(), RewardError> {
        if normalizers.len() != self.entries.len() {
            return Err(RewardError::StateMismatch(format!(
                "{} saved normalisers for {} rewards",
                normalizers.len(),
                self.entries.len()
            )));
        }
        // All checked before any is applied: a bad state changes nothing.
        for (e, n) in self.entries.iter().zip(normalizers) {
            n.check().map_err(|reason| {
                RewardError::StateMismatch(format!(
                    "saved normaliser of reward {:?} is unusable ({reason}): {n:?}",
                    e.reward.name()
                ))
            })?;
        }
        for (e, n) in self.entries.iter_mut().zip(normalizers) {
            e.normalizer = *n;
        }
        Ok(())
    }

    /// Stops every running normaliser from changing.
    pub fn freeze_normalizers(&mut self) {
        self.entries.iter_mut().for_each(|e| e.normalizer.freeze());
    }

    /// Scores `samples` with every reward once, then transforms, normalises and aggregates,
    /// and updates the running normalisers with the batch (training's path; [`RewardSet::score`]
    /// leaves them alone). Normalisers are updated only when every reward has scored.
    ///
    /// # Errors
    /// A reward's own error, [`RewardError::WrongLength`], [`RewardError::NonFinite`], or
    /// [`RewardError::OutOfRange`] under [`Aggregation::WeightedGeometricMean`].
    pub fn score_and_update(&mut self, samples: &[Sample<'_>]) -> Result<RewardBatch, RewardError> {
        let raws = self
            .entries
            .iter()
            .map(|e| e.score(samples))
            .collect::<Result<Vec<_>, _>>()?;
        let columns = self
            .entries
            .iter_mut()
            .zip(raws)
            .map(|(e, raw)| {
                let oriented = e.oriented(&raw);
                e.update(&oriented);
                e.column(raw, &oriented)
            })
            .collect();
        RewardBatch::new(columns, self.aggregation, self.na_penalty)
    }

    /// Like [`RewardSet::score_and_update`], but leaves running normalisers untouched (for
    /// evaluation and merge-weight selection, which must not steer training statistics).
    ///
    /// # Errors
    /// As [`RewardSet::score_and_update`].
    pub fn score(&self, samples: &[Sample<'_>]) -> Result<RewardBatch, RewardError> {
        let columns = self
            .entries
            .iter()
            .map(|e| {
                let raw = e.score(samples)?;
                let oriented = e.oriented(&raw);
                Ok(e.column(raw, &oriented))
            })
            .collect::<Result<Vec<_>, RewardError>>()?;
        RewardBatch::new(columns, self.aggregation, self.na_penalty)
    }

    /// The configuration for a run's metadata: per reward its name, weight, direction,
    /// transform, normaliser (with running state) and current normaliser constants
    /// (`[mean, std]` or null), plus the aggregation and the not-applicable penalty.
    pub fn metadata(&self) -> Value {
        let rewards: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                json!({
                    "name": e.reward.name(),
                    "weight": e.weight,
                    "direction": e.reward.direction(),
                    "transform": e.transform,
                    "normalizer": e.normalizer,
                    "normalizer_constants": e.normalizer.constants(),
                })
            })
            .collect();
        json!({
            "rewards": rewards,
            "aggregation": self.aggregation,
            "na_penalty": self.na_penalty,
        })
    }
}

#[cfg(test)]
mod tests {
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
            } => {
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
}
