//! PPO's settings ([`PpoConfig`], with the advantage [`Estimator`]) and what a step reports
//! ([`PpoStats`]).

use super::advantages::{GroupBaseline, KlEstimator};
use crate::policy::SamplingConfig;

/// How advantages are estimated.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Estimator {
    /// GAE on the policy's value head (PPO as in TRL and the reference code).
    Gae,
    /// Sequence-level advantages from `size` samples per prompt (no value head); the KL penalty
    /// is subtracted from each sample's score.
    Group {
        /// Samples per prompt.
        size: usize,
        /// Leave-one-out (RLOO) or mean/std (GRPO) baseline.
        baseline: GroupBaseline,
    },
}

/// PPO settings. Defaults are the reference code's (TRL `PPOConfig`; docs/algorithms.md, "The
/// reference code's settings") except [`PpoConfig::train_critic`], on here (the reference never
/// trains its value model).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PpoConfig {
    /// Samples generated per PPO iteration (one algorithmic step).
    pub samples_per_step: usize,
    /// Minibatches per epoch.
    pub minibatches: usize,
    /// Passes over the rollout.
    pub epochs: usize,
    /// Policy ratio clip ε.
    pub clip_ratio: f32,
    /// Value clip around the rollout's values.
    pub clip_value: f32,
    /// Weight of the value loss.
    pub vf_coef: f32,
    /// Discount γ.
    pub gamma: f32,
    /// GAE λ.
    pub lam: f32,
    /// KL penalty coefficient β.
    pub kl_coef: f32,
    /// Per-token KL estimator.
    pub kl_estimator: KlEstimator,
    /// Whiten advantages over valid tokens.
    pub whiten_advantages: bool,
    /// Global gradient-norm clip (`None`: no clipping).
    pub max_grad_norm: Option<f32>,
    /// Train the value head (the reference code never does; `false` reproduces that).
    pub train_critic: bool,
    /// Advantage estimator.
    pub estimator: Estimator,
    /// Sampling for rollouts (temperature 0.7, 100 tokens); log-probs are recomputed at the
    /// same temperature.
    pub sampling: SamplingConfig,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            samples_per_step: 128,
            minibatches: 4,
            epochs: 4,
            clip_ratio: 0.2,
            clip_value: 0.2,
            vf_coef: 0.1,
            gamma: 1.0,
            lam: 0.95,
            kl_coef: 0.05,
            kl_estimator: KlEstimator::K1,
            whiten_advantages: true,
            max_grad_norm: Some(1.0),
            train_critic: true,
            estimator: Estimator::Gae,
            sampling: SamplingConfig::default(),
        }
    }
}

/// What one PPO iteration measured.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PpoStats {
    /// Mean sequence score (the optimised reward, before the KL penalty).
    pub score: f64,
    /// Mean over samples of the summed per-token KL to the reference.
    pub kl: f64,
    /// Mean response length in tokens (EOS included).
    pub response_len: f64,
    /// Mean policy loss over minibatch steps.
    pub pg_loss: f64,
    /// Mean value loss over minibatch steps (0 without a critic).
    pub vf_loss: f64,
    /// Fraction of valid tokens whose ratio was clipped.
    pub clipfrac: f64,
    /// Mean of ½(log π − log π_old)² over valid tokens.
    pub approx_kl: f64,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    /// Optimiser steps taken.
    pub updates: usize,
}
