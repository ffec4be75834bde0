//! Errors of rewards and reward sets.

use super::{Normalizer, Transform};
use std::process::ExitStatus;
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

/// The end of an external scorer's stderr, for an error message ("" when it wrote nothing).
fn stderr_tail(stderr: &str) -> String {
    if stderr.is_empty() {
        " (its stderr was empty)".into()
    } else {
        format!("; its stderr ends:\n{stderr}")
    }
}

/// How an external scorer ended, for [`RewardError::ExternalExited`].
fn exit_text(status: &Option<ExitStatus>) -> String {
    status.map_or_else(|| "with an unknown status".into(), |s| format!("({s})"))
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
    /// An [`ExternalReward`](crate::reward::ExternalReward)'s command could not be started.
    #[error(
        "reward {reward:?} could not start its scorer `{command}`: {source}; check that the \
         program exists and is executable (on PATH, or as a path from the working directory)"
    )]
    ExternalStart {
        /// The reward's name.
        reward: String,
        /// The command line.
        command: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// An external scorer exited, closed its stdout or stopped reading its stdin before
    /// answering a batch. The next batch starts the command afresh.
    #[error(
        "the scorer `{command}` of reward {reward:?} exited {} at batch {batch} before \
         answering: fix the scorer and resume the run from its last checkpoint (the next batch \
         starts it afresh){}",
        exit_text(status),
        stderr_tail(stderr)
    )]
    ExternalExited {
        /// The reward's name.
        reward: String,
        /// The command line.
        command: String,
        /// The batch's number (from 0, counted by the reward).
        batch: u64,
        /// How the process ended (`None` if it could not be reaped).
        status: Option<ExitStatus>,
        /// The last lines the scorer wrote to stderr (up to 20 lines, 4 KiB).
        stderr: Box<str>,
    },
    /// An external scorer did not answer a batch in time; it was killed, and the next batch
    /// starts it afresh.
    #[error(
        "the scorer `{command}` of reward {reward:?} did not answer batch {batch} within \
         {seconds} s and was killed: make it answer each batch with one line and flush stdout, \
         or raise the timeout (ExternalReward::with_timeout){}",
        stderr_tail(stderr)
    )]
    ExternalTimeout {
        /// The reward's name.
        reward: String,
        /// The command line.
        command: String,
        /// The batch's number.
        batch: u64,
        /// The timeout in seconds.
        seconds: f64,
        /// The last lines the scorer wrote to stderr (up to 20 lines, 4 KiB).
        stderr: Box<str>,
    },
    /// An external scorer answered a batch with a line that is not a valid answer; it was
    /// killed, and the next batch starts it afresh.
    #[error(
        "the scorer `{command}` of reward {reward:?} answered batch {batch} with {line:?}: \
         {reason}; answer each batch with one JSON line, {{\"batch\": k, \"scores\": [...]}} \
         or [...], one number or null per sample, and write logs to stderr{}",
        stderr_tail(stderr)
    )]
    ExternalGarbage {
        /// The reward's name.
        reward: String,
        /// The command line.
        command: String,
        /// The batch's number.
        batch: u64,
        /// The line (its first 200 characters).
        line: String,
        /// What is wrong with it.
        reason: String,
        /// The last lines the scorer wrote to stderr (up to 20 lines, 4 KiB).
        stderr: Box<str>,
    },
    /// An external scorer answered a batch with a different number of scores than samples;
    /// it was killed, and the next batch starts it afresh.
    #[error(
        "the scorer `{command}` of reward {reward:?} answered batch {batch} with {got} scores \
         for {expected} samples: answer one number or null per sample, in order{}",
        stderr_tail(stderr)
    )]
    ExternalWrongCount {
        /// The reward's name.
        reward: String,
        /// The command line.
        command: String,
        /// The batch's number.
        batch: u64,
        /// The number of samples sent.
        expected: usize,
        /// The number of scores received.
        got: usize,
        /// The last lines the scorer wrote to stderr (up to 20 lines, 4 KiB).
        stderr: Box<str>,
    },
}
