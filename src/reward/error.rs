//! Errors of rewards and reward sets.

use super::{Normalizer, Transform};
use thiserror::Error;

/// Where a value of [`RewardError::NonFinite`] became NaN or ±∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The reward returned it.
    Raw,
    /// The reward's transform or normaliser made it so (from a finite raw value).
    Transformed,
    /// A sample's total overflowed when the reward's weighted value was added.
    Total,
}

/// The message of [`RewardError::NonFinite`]: what became non-finite and what to do.
fn non_finite(reward: &str, index: usize, sample: &str, value: f64, stage: Stage) -> String {
    match stage {
        Stage::Raw => format!(
            "reward {reward:?} returned {value:?} for sample {index} ({sample:?}): a reward must \
             return a finite value, or None where it does not apply"
        ),
        Stage::Transformed => format!(
            "reward {reward:?} is {value:?} for sample {index} ({sample:?}) after its transform \
             and normaliser: choose parameters that keep every value finite (e.g. a gentler \
             slope, or a Clamp of the raw value)"
        ),
        Stage::Total => format!(
            "the total of sample {index} ({sample:?}) is {value:?} once reward {reward:?} is added \
             with its weight: the weighted values overflow f64; scale the reward down (a \
             transform or normaliser) or lower its weight"
        ),
    }
}

/// Errors from scoring samples or configuring a [`RewardSet`](crate::reward::RewardSet).
#[derive(Debug, Error)]
pub enum RewardError {
    /// A reward could not score the batch.
    #[error("reward {reward:?} failed: {message}")]
    Failed {
        /// The reward's name.
        reward: String,
        /// What went wrong.
        message: String,
    },
    /// A reward returned a different number of values than samples.
    #[error("reward {reward:?} returned {got} values for {expected} samples")]
    WrongLength {
        /// The reward's name.
        reward: String,
        /// The number of samples.
        expected: usize,
        /// The number of values returned.
        got: usize,
    },
    /// A value is NaN or ±∞: as the reward returned it, after its transform and normaliser,
    /// or in a sample's total once this reward's weighted value is added ([`Stage`]).
    #[error("{}", non_finite(reward, *index, sample, *value, *stage))]
    NonFinite {
        /// The reward's name.
        reward: String,
        /// The sample's index in the batch.
        index: usize,
        /// The sample's completion text (empty from [`super::RewardBatch::total_with`], which
        /// no longer has the samples).
        sample: String,
        /// The offending value.
        value: f64,
        /// Where the value became non-finite.
        stage: Stage,
    },
    /// A running normaliser's statistics would overflow f64 (values so large that their
    /// variance is not representable, around 1e154 and beyond); the normaliser is unchanged.
    #[error(
        "the running normaliser of reward {reward:?} overflows at value {value:?} (the variance \
         of values this large is not representable in f64): bring the reward into a moderate \
         range (a Clamp or sigmoid transform, or a smaller scale) or use a fixed normaliser"
    )]
    NormalizerOverflow {
        /// The reward's name.
        reward: String,
        /// The value whose addition overflowed the statistics.
        value: f64,
    },
    /// A reward panicked. `index` and `sample` name the first sample of the batch that panics
    /// when scored alone (`None` if only the whole batch does).
    #[error("reward {reward:?} panicked{}: {message}", match (index, sample) {
        (Some(i), Some(s)) => format!(" on sample {i} ({s:?})"),
        _ => String::new(),
    })]
    Panicked {
        /// The reward's name.
        reward: String,
        /// The first sample that panics alone.
        index: Option<usize>,
        /// That sample's completion text.
        sample: Option<String>,
        /// The panic's message.
        message: String,
    },
    /// [`Aggregation::WeightedGeometricMean`](crate::reward::Aggregation::WeightedGeometricMean) met a transformed value outside [0, 1].
    #[error("reward {reward:?} has transformed value {value} outside [0, 1] for sample {index}")]
    OutOfRange {
        /// The reward's name.
        reward: String,
        /// The sample's index in the batch.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Weights are not finite, negative, all zero, or not one per reward.
    #[error("invalid reward weights {weights:?}: {reason}")]
    InvalidWeights {
        /// The weights given.
        weights: Vec<f64>,
        /// Why they are rejected.
        reason: String,
    },
    /// A transform's parameters are invalid.
    #[error("invalid transform {transform:?} for reward {reward:?}: {reason}")]
    InvalidTransform {
        /// The reward's name.
        reward: String,
        /// The transform.
        transform: Transform,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// Saved state does not fit this reward set.
    #[error("reward-set state does not match: {0}")]
    StateMismatch(String),
    /// A normaliser's parameters are invalid.
    #[error("invalid normalizer {normalizer:?} for reward {reward:?}: {reason}")]
    InvalidNormalizer {
        /// The reward's name.
        reward: String,
        /// The normaliser.
        normalizer: Normalizer,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// Two rewards in a set share a name.
    #[error("two rewards are named {0:?}")]
    DuplicateName(String),
    /// The not-applicable penalty is NaN or infinite.
    #[error("the not-applicable penalty must be finite, got {0}")]
    InvalidNaPenalty(f64),
}
