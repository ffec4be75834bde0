//! Rewards: the [`Reward`] trait and reward sets (weights, transforms, normalisation, aggregation).
//!
//! Modelled on TRL's GRPO reward API (named reward functions with weights, every one logged,
//! `None` = not applicable, weight 0 = log-only) and on REINVENT 4's score transforms and
//! arithmetic/geometric aggregation.
//!
//! Per reward and sample, a [`RewardSet`] computes
//! `raw` → [`Transform`] (+ [`Direction`]) → [`Normalizer`] → `transformed`, and then combines
//! the transformed values of the rewards with positive weight into one `total` by an
//! [`Aggregation`]. Everything lands in a [`RewardBatch`].

mod aggregate;
mod batch;
mod error;
mod external;
mod normalize;
mod set;
mod transform;

pub use aggregate::{Aggregation, GEOMETRIC_FLOOR};
pub use batch::{RewardBatch, RewardColumn, RewardStats};
pub use error::{RewardError, Stage};
pub use external::ExternalReward;
pub use normalize::{MIN_STD, Normalizer, RunningStats};
pub use set::{RewardSet, RewardSetBuilder};
pub use transform::Transform;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which raw values of a reward are better.
///
/// A [`RewardSet`] negates a `Minimize` reward after an order-preserving transform
/// ([`Transform::Identity`], [`Transform::Clamp`]): the value becomes `−t(x)`. The other
/// transforms are desirability functions that already say which values are good (choose e.g.
/// [`Transform::ReverseSigmoid`] for a `Minimize` reward) and are applied unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher raw values are better (the default).
    #[default]
    Maximize,
    /// Lower raw values are better.
    Minimize,
}

/// A decoded sample with its prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// The prompt the completion was generated from (empty for unconditional generation).
    pub prompt: &'a str,
    /// The generated text.
    pub completion: &'a str,
}

impl<'a> Sample<'a> {
    /// One sample per completion, with an empty prompt (unconditional generation).
    pub fn unprompted<S: AsRef<str>>(completions: &'a [S]) -> Vec<Self> {
        completions
            .iter()
            .map(|c| Sample {
                prompt: "",
                completion: c.as_ref(),
            })
            .collect()
    }
}

/// A named reward that scores a batch of samples. [`FnReward`] makes one from a closure.
///
/// ```
/// use multireward::reward::{Reward, RewardError, Sample};
///
/// /// Completion length in characters; `None` for an empty completion.
/// struct Length;
///
/// impl Reward for Length {
///     fn name(&self) -> &str {
///         "length"
///     }
///     fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
///         let len = |s: &Sample<'_>| s.completion.chars().count() as f64;
///         Ok(samples.iter().map(|s| Some(len(s)).filter(|&n| n > 0.0)).collect())
///     }
/// }
///
/// assert_eq!(Length.score(&Sample::unprompted(&["CCO", ""]))?, [Some(3.0), None]);
/// # Ok::<(), RewardError>(())
/// ```
pub trait Reward: Send + Sync {
    /// The reward's name (unique within a [`RewardSet`]; used for logging).
    fn name(&self) -> &str;

    /// Which raw values are better.
    fn direction(&self) -> Direction {
        Direction::Maximize
    }

    /// One value per sample, in order; `None` means "not applicable" (e.g. an invalid SMILES).
    ///
    /// # Errors
    /// [`RewardError::Failed`] when the batch cannot be scored (e.g. an oracle crashed).
    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError>;
}

impl fmt::Debug for dyn Reward + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reward")
            .field("name", &self.name())
            .field("direction", &self.direction())
            .finish()
    }
}

/// A [`Reward`] from a name and a per-sample closure.
pub struct FnReward<F> {
    name: String,
    direction: Direction,
    f: F,
}

impl<F> FnReward<F>
where
    F: Fn(&Sample<'_>) -> Option<f64> + Send + Sync,
{
    /// A maximised reward named `name` that scores each sample with `f`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            direction: Direction::Maximize,
            f,
        }
    }

    /// The same reward with another direction.
    #[must_use]
    pub fn with_direction(self, direction: Direction) -> Self {
        Self { direction, ..self }
    }
}

impl<F> Reward for FnReward<F>
where
    F: Fn(&Sample<'_>) -> Option<f64> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn direction(&self) -> Direction {
        self.direction
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        Ok(samples.iter().map(&self.f).collect())
    }
}

impl<F> fmt::Debug for FnReward<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnReward")
            .field("name", &self.name)
            .field("direction", &self.direction)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fn_reward_scores_each_sample_and_shows_its_name() {
        let r = FnReward::new("len", |s| Some(s.completion.len() as f64))
            .with_direction(Direction::Minimize);
        let samples = [
            Sample {
                prompt: "",
                completion: "CCO",
            },
            Sample {
                prompt: "p",
                completion: "C",
            },
        ];
        assert_eq!(r.score(&samples).unwrap(), vec![Some(3.0), Some(1.0)]);
        assert_eq!(r.direction(), Direction::Minimize);
        let boxed: Box<dyn Reward> = Box::new(r);
        assert_eq!(
            format!("{boxed:?}"),
            r#"Reward { name: "len", direction: Minimize }"#
        );
    }
}
