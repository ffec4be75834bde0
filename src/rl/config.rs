//! PPO's settings ([`PpoConfig`], with the advantage [`Estimator`]) and what a step reports
//! ([`PpoStats`]).

use super::advantages::{GroupBaseline, KlEstimator};
use crate::limits::{Checks, SettingError, product};
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

impl PpoConfig {
    /// Check every setting without a policy: counts ≥ 1, coefficients finite and in range,
    /// the group size, and an iteration's work within [`crate::limits::MAX_ROWS`]. The error
    /// names the field. ([`crate::rl::Ppo`] also checks the sampling settings, the memory of a
    /// rollout for the policy's vocabulary and the value head, before every step.)
    pub fn validate(&self) -> Result<(), SettingError> {
        let c = Checks("PpoConfig");
        let samples = self.samples_per_step;
        c.at_least("samples_per_step", samples, 1, "samples per iteration")?;
        c.at_least("minibatches", self.minibatches, 1, "minibatches per epoch")?;
        c.at_least("epochs", self.epochs, 1, "epochs per iteration")?;
        if self.minibatches > samples {
            let m = self.minibatches;
            return Err(c.error(
                "minibatches",
                format!("is {m} but an iteration has only {samples} samples (samples_per_step)"),
            ));
        }
        c.positive("clip_ratio", self.clip_ratio, "the ratio clip ε")?;
        c.positive("clip_value", self.clip_value, "the value clip")?;
        c.non_negative("vf_coef", self.vf_coef, "the value-loss weight")?;
        c.unit("gamma", self.gamma, "the discount γ")?;
        c.unit("lam", self.lam, "GAE's λ")?;
        c.non_negative("kl_coef", self.kl_coef, "the KL coefficient β")?;
        if let Some(g) = self.max_grad_norm {
            let what = "the gradient-norm clip (None: no clipping)";
            c.positive("max_grad_norm", g, what)?;
        }
        if let Estimator::Group { size, .. } = self.estimator
            && (size < 2 || !samples.is_multiple_of(size))
        {
            return Err(c.error(
                "estimator",
                format!(
                    "has group size {size}; it must be ≥ 2 and divide samples_per_step {samples}"
                ),
            ));
        }
        let work = format!("{} epochs over {samples} samples", self.epochs);
        let field = match self.epochs > samples {
            true => "epochs",
            false => "samples_per_step",
        };
        c.work(field, product(&[samples, self.epochs]), &work)
    }

    /// [`PpoConfig::validate`], and a rollout's logits for a policy of `vocab` tokens fit in
    /// memory ([`crate::limits::memory`]).
    pub fn validate_for(&self, vocab: usize) -> Result<(), SettingError> {
        self.validate()?;
        let (samples, tokens) = (self.samples_per_step, self.sampling.max_new_tokens);
        let estimate = format!(
            "a rollout's logits ({samples} samples × {tokens} tokens × {vocab} vocabulary × 4 \
             bytes)"
        );
        let bytes = product(&[samples, tokens, vocab, 4]);
        Checks("PpoConfig").fits("samples_per_step", bytes, &estimate)
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
