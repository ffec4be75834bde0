//! What can go wrong running a strategy: [`StrategyError`].

use crate::merge::MergeError;
use crate::policy::PolicyError;
use crate::reward::RewardError;
use crate::rl::RlError;
use thiserror::Error;

/// Errors from running a strategy.
#[derive(Debug, Error)]
pub enum StrategyError {
    /// An RL update failed.
    #[error(transparent)]
    Rl(#[from] RlError),
    /// Sampling failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A reward failed.
    #[error(transparent)]
    Reward(#[from] RewardError),
    /// Merging failed.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Writing or reading a run checkpoint failed.
    #[error("run checkpoint: {0}")]
    Checkpoint(String),
    /// The settings are inconsistent.
    #[error("bad strategy config: {0}")]
    BadConfig(String),
    /// A setting of a config (`RicConfig`, `RunOptions`, `OptimizerConfig`, …) is out of
    /// range; the error names the field.
    #[error(transparent)]
    Setting(#[from] crate::limits::SettingError),
    /// A collective operation between ranks failed.
    #[error(transparent)]
    Comm(#[from] crate::distributed::CommError),
    /// Another rank of a distributed run failed; every rank stops.
    #[error("rank {rank} failed: {message}")]
    Rank {
        /// The rank that failed.
        rank: usize,
        /// Its error.
        message: String,
    },
    /// A step's reward, KL, loss or gradient norm, or a weight found when a checkpoint was
    /// due, is not finite; the run stopped and its last checkpoint (if any) is the last good
    /// state.
    #[error("{strategy} stopped at step {step}{}: the {what} became non-finite (NaN or ±∞); \
             lower the learning rate or check the rewards", expert.map_or(String::new(), |e| format!(" of expert {e}")))]
    NonFinite {
        /// The strategy's name.
        strategy: &'static str,
        /// The 1-based step.
        step: usize,
        /// The expert, if any.
        expert: Option<usize>,
        /// What became non-finite (e.g. "loss", "weights").
        what: &'static str,
    },
}
