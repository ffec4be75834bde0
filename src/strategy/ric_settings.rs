//! RiC's settings ([`RicConfig`], [`RicTarget`]), checked against the number of objectives
//! before a run starts. The loop that uses them is `ric.rs`.

use super::error::StrategyError;
use crate::train::LmTrainingConfig;
use burn::config::Config;

/// RiC settings.
#[derive(Config, Debug, PartialEq)]
pub struct RicConfig {
    /// Samples drawn from the reference policy and labelled (the offline data).
    #[config(default = 512)]
    pub offline_samples: usize,
    /// Quantile bins per objective (conditioning tokens per objective).
    #[config(default = 5)]
    pub bins: usize,
    /// Supervised fine-tuning on the labelled data, per round.
    #[config(default = "RicConfig::default_sft()")]
    pub sft: LmTrainingConfig,
    /// Online rounds after the offline one.
    #[config(default = 1)]
    pub online_rounds: usize,
    /// Samples generated per online round (their Pareto front joins the data).
    #[config(default = 256)]
    pub online_samples: usize,
    /// The bins to condition on when sampling.
    #[config(default = "RicTarget::Top")]
    pub target: RicTarget,
}

/// Which reward bins a RiC policy is conditioned on when sampling.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RicTarget {
    /// The top bin of every objective: RiC's preference-to-reward mapping for uniform
    /// preferences ("as good as possible on all").
    #[default]
    Top,
    /// Fixed bins, one per objective.
    Bins(Vec<usize>),
    /// The bin combination whose offline samples have the best mean objective average, among
    /// combinations holding at least this fraction of the offline samples. With conflicting
    /// objectives the all-top combination is rare or absent, and conditioning on it asks the
    /// model to extrapolate; this conditions on the best region the data supports.
    BestSupported {
        /// Minimum fraction of the offline samples in the chosen combination (e.g. 0.02).
        min_fraction: f64,
    },
}

impl Default for RicConfig {
    /// [`RicConfig::new`]: 512 offline samples, 5 bins, 100 fine-tuning steps of 32 rows at lr
    /// 1e-4, one online round of 256 samples, the top bins.
    fn default() -> Self {
        Self::new()
    }
}

impl RicConfig {
    /// The supervised fine-tuning of each round by default: 100 steps of 32 rows, lr 1e-4,
    /// 10 warmup steps, no progress bar.
    fn default_sft() -> LmTrainingConfig {
        LmTrainingConfig {
            steps: 100,
            batch_size: 32,
            lr: 1e-4,
            warmup: 10,
            eval_every: 100,
            progress: false,
            ..Default::default()
        }
    }

    /// Check the settings against `n` objectives.
    pub fn validate(&self, n: usize) -> Result<(), StrategyError> {
        if self.bins < 2 || self.offline_samples == 0 {
            return Err(StrategyError::BadConfig(format!(
                "RiC needs bins ≥ 2 and offline_samples ≥ 1 (got bins {}, offline_samples {})",
                self.bins, self.offline_samples
            )));
        }
        if self.online_rounds > 0 && self.online_samples == 0 {
            return Err(StrategyError::BadConfig(
                "RiC's online rounds need online_samples ≥ 1".into(),
            ));
        }
        if self.sft.steps == 0
            || self.sft.batch_size == 0
            || !self.sft.lr.is_finite()
            || self.sft.lr <= 0.0
        {
            return Err(StrategyError::BadConfig(format!(
                "RiC's fine-tuning needs steps ≥ 1, batch_size ≥ 1 and a positive finite \
                 learning rate (got steps {}, batch_size {}, lr {})",
                self.sft.steps, self.sft.batch_size, self.sft.lr
            )));
        }
        if let RicTarget::Bins(t) = &self.target
            && (t.len() != n || t.iter().any(|&b| b >= self.bins))
        {
            return Err(StrategyError::BadConfig(format!(
                "target {t:?} needs {n} bins below {}",
                self.bins
            )));
        }
        if let RicTarget::BestSupported { min_fraction } = self.target
            && !(0.0..=1.0).contains(&min_fraction)
        {
            return Err(StrategyError::BadConfig(format!(
                "RiC's min_fraction {min_fraction} is not in [0, 1]"
            )));
        }
        Ok(())
    }
}
