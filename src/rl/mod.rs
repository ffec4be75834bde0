//! Reinforcement learning on sequences: PPO with a frozen reference (TRL semantics), a group
//! baseline estimator, and the host-side advantage maths.

pub mod advantages;
mod config;
mod kl;
mod ppo;
mod shared;

pub use advantages::{GroupBaseline, KlEstimator};
pub use config::{Estimator, PpoConfig, PpoStats};
pub use kl::{kl_to_reference, select_rows};
pub use ppo::Ppo;

use crate::policy::PolicyError;
use thiserror::Error;

/// Errors from RL updates.
#[derive(Debug, Error)]
pub enum RlError {
    /// Sampling or scoring with the policy failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The settings are inconsistent.
    #[error("bad RL config: {0}")]
    BadConfig(String),
    /// A [`PpoConfig`] setting is out of range (the error names the field).
    #[error(transparent)]
    Setting(#[from] crate::limits::SettingError),
    /// GAE (the default [`PpoConfig::estimator`]) needs a value head and the policy has none.
    #[error(
        "PpoConfig's estimator is Estimator::Gae (the default), which needs a value head, and \
         the policy has none (nor do the shipped policies): set `estimator: Estimator::Group \
         {{ size, baseline: GroupBaseline::LeaveOneOut }}` in PpoConfig (RLOO, no critic), or \
         give the reference policy a fresh value head with `Gpt::with_value_head()`"
    )]
    NoValueHead,
    /// The scorer returned the wrong number of scores or a non-finite one.
    #[error("bad scores: {0}")]
    BadScores(String),
    /// The scorer failed (e.g. a reward raised an error).
    #[error("scoring failed: {0}")]
    Scorer(String),
}
