//! A weighted set of named rewards, each with its transform and normaliser.

use super::aggregate::{Aggregation, check_weights};
use super::batch::{RewardBatch, RewardColumn};
use super::normalize::Normalizer;
use super::transform::Transform;
use super::{Direction, Reward, RewardError, Sample, Stage};
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
        finite::check(self.reward.name(), &raw, samples, Stage::Raw)?;
        Ok(raw)
    }

    /// Transformed and oriented raw values (a `Minimize` reward negated after an
    /// order-preserving transform), before normalisation, checked finite; nothing is updated.
    fn oriented(
        &self,
        raw: &[Option<f64>],
        samples: &[Sample<'_>],
    ) -> Result<Vec<Option<f64>>, RewardError> {
        let negate =
            self.reward.direction() == Direction::Minimize && self.transform.preserves_order();
        let oriented: Vec<Option<f64>> = raw
            .iter()
            .map(|v| {
                v.map(|x| {
                    let y = self.transform.apply(x);
                    if negate { -y } else { y }
                })
            })
            .collect();
        finite::check(self.reward.name(), &oriented, samples, Stage::Transformed)?;
        Ok(oriented)
    }

    /// The normaliser after a batch's applicable oriented values (a copy: the entry's own
    /// changes only once the whole batch has scored).
    fn updated(&self, oriented: &[Option<f64>]) -> Result<Normalizer, RewardError> {
        let applicable: Vec<f64> = oriented.iter().flatten().copied().collect();
        let mut normalizer = self.normalizer;
        normalizer
            .update(&applicable)
            .map_err(|value| RewardError::NormalizerOverflow {
                reward: self.reward.name().to_owned(),
                value,
            })?;
        Ok(normalizer)
    }

    /// The batch's column, standardised by `normalizer` and checked finite.
    fn column(
        &self,
        raw: Vec<Option<f64>>,
        oriented: &[Option<f64>],
        normalizer: &Normalizer,
        samples: &[Sample<'_>],
    ) -> Result<RewardColumn, RewardError> {
        let transformed: Vec<Option<f64>> = oriented
            .iter()
            .map(|v| v.map(|x| normalizer.apply(x)))
            .collect();
        finite::check(
            self.reward.name(),
            &transformed,
            samples,
            Stage::Transformed,
        )?;
        Ok(RewardColumn {
            name: self.reward.name().to_owned(),
            weight: self.weight,
            transformed,
            raw,
        })
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
    pub fn add(self, reward: impl Reward + 'static, weight: f64) -> Self {
        self.add_boxed(Box::new(reward), weight)
    }

    /// [`RewardSetBuilder::add`] for a reward already boxed (e.g. chosen at run time).
    #[must_use]
    pub fn add_boxed(mut self, reward: Box<dyn Reward>, weight: f64) -> Self {
        self.entries.push(Entry {
            reward,
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

    /// Re-weight the rewards (a preference sweep trains the same set under several weight
    /// vectors).
    ///
    /// # Errors
    /// [`RewardError::InvalidWeights`] when `weights` is not one finite, non-negative weight
    /// per reward with at least one positive; nothing changes then.
    pub fn set_weights(&mut self, weights: &[f64]) -> Result<(), RewardError> {
        check_weights(weights, self.entries.len())?;
        for (e, w) in self.entries.iter_mut().zip(weights) {
            e.weight = *w;
        }
        Ok(())
    }

    /// What a sample's total is when a positively weighted reward cannot score it (also the
    /// score an evaluation gives such a sample when invalid ones are counted).
    pub fn na_penalty(&self) -> f64 {
        self.na_penalty
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
    /// leaves them alone). Normalisers are updated only when the whole batch has scored.
    ///
    /// # Errors
    /// A reward's own error, [`RewardError::WrongLength`], [`RewardError::NonFinite`] (a raw
    /// value, a transformed one or a total that is NaN or ±∞),
    /// [`RewardError::NormalizerOverflow`], or [`RewardError::OutOfRange`] under
    /// [`Aggregation::WeightedGeometricMean`]. On any error nothing changes.
    pub fn score_and_update(&mut self, samples: &[Sample<'_>]) -> Result<RewardBatch, RewardError> {
        let raws = self
            .entries
            .iter()
            .map(|e| e.score(samples))
            .collect::<Result<Vec<_>, _>>()?;
        let mut normalizers = Vec::with_capacity(raws.len());
        let mut columns = Vec::with_capacity(raws.len());
        for (e, raw) in self.entries.iter().zip(raws) {
            let oriented = e.oriented(&raw, samples)?;
            let normalizer = e.updated(&oriented)?;
            columns.push(e.column(raw, &oriented, &normalizer, samples)?);
            normalizers.push(normalizer);
        }
        let batch = RewardBatch::new(columns, self.aggregation, self.na_penalty)
            .map_err(|e| finite::with_sample(e, samples))?;
        for (e, n) in self.entries.iter_mut().zip(normalizers) {
            e.normalizer = n;
        }
        Ok(batch)
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
                let oriented = e.oriented(&raw, samples)?;
                e.column(raw, &oriented, &e.normalizer, samples)
            })
            .collect::<Result<Vec<_>, RewardError>>()?;
        RewardBatch::new(columns, self.aggregation, self.na_penalty)
            .map_err(|e| finite::with_sample(e, samples))
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

mod finite;

#[cfg(test)]
mod tests;
