//! RiC's settings ([`RicConfig`], [`RicTarget`]), checked against the number of objectives
//! before a run starts. The loop that uses them is `ric.rs`.

use super::error::StrategyError;
use crate::limits::{Checks, MAX_VOCAB, product};
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

    /// Check the settings against `n` objectives: counts ≥ 1 (bins ≥ 2, at most one per
    /// offline sample, `n × bins` conditioning tokens within the `u32` ids), the fine-tuning's
    /// rates finite and in range, the rounds' work within [`crate::limits::MAX_ROWS`], the
    /// target among the bins. The error names the field.
    pub fn validate(&self, n: usize) -> Result<(), StrategyError> {
        let c = Checks("RicConfig");
        let (bins, offline) = (self.bins, self.offline_samples);
        c.at_least("offline_samples", offline, 1, "RiC's offline samples")?;
        c.at_least("bins", bins, 2, "RiC's bins per objective")?;
        if bins > offline {
            return Err(c
                .error(
                    "bins",
                    format!(
                        "is {bins} but there are only {offline} offline samples to bin: a \
                         quantile bin needs at least one sample; lower bins"
                    ),
                )
                .into());
        }
        let tokens = product(&[n, bins]).filter(|&t| t < MAX_VOCAB);
        if tokens.is_none() {
            return Err(c
                .error(
                    "bins",
                    format!(
                        "is {bins}: {n} objectives × {bins} bins conditioning tokens exceed the \
                         {MAX_VOCAB} token ids there are; lower bins"
                    ),
                )
                .into());
        }
        if self.online_rounds > 0 {
            c.at_least("online_samples", self.online_samples, 1, "online samples")?;
        }
        let sft = &self.sft;
        c.at_least("sft.steps", sft.steps, 1, "fine-tuning steps per round")?;
        c.at_least("sft.batch_size", sft.batch_size, 1, "the fine-tuning batch")?;
        c.positive("sft.lr", sft.lr, "the fine-tuning learning rate")?;
        c.positive("sft.grad_clip", sft.grad_clip, "the gradient-norm clip")?;
        c.non_negative("sft.weight_decay", sft.weight_decay, "the weight decay")?;
        c.unit(
            "sft.min_lr_ratio",
            sft.min_lr_ratio,
            "the final learning-rate ratio",
        )?;
        // Every round fine-tunes; the online ones sample too.
        let rounds = self.online_rounds.checked_add(1);
        let per_round = product(&[sft.steps, sft.batch_size])
            .and_then(|t| t.checked_add(self.online_samples as u64));
        let rows = rounds
            .zip(per_round)
            .and_then(|(r, p)| p.checked_mul(r as u64))
            .and_then(|r| r.checked_add(offline as u64));
        let work = format!(
            "{} rounds of {} fine-tuning steps × {} rows and {} samples",
            self.online_rounds as u128 + 1,
            sft.steps,
            sft.batch_size,
            self.online_samples
        );
        c.work("online_rounds", rows, &work)?;
        if let RicTarget::Bins(t) = &self.target
            && (t.len() != n || t.iter().any(|&b| b >= bins))
        {
            let message = format!("is {t:?}; it needs {n} bins below {bins}");
            return Err(c.error("target", message).into());
        }
        if let RicTarget::BestSupported { min_fraction } = self.target {
            c.unit("target", min_fraction, "BestSupported's min_fraction")?;
        }
        Ok(())
    }
}
