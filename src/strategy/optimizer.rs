//! [`OptimizerConfig`]: the RL experts' Adam, checked before a run starts.

use crate::limits::{Checks, SettingError};
use burn::config::Config;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};

/// Optimiser of the RL experts: Adam with coupled L2 weight decay, as the reference code
/// (lr 1.41e-5, weight decay 0.01).
#[derive(Config, Debug, Copy, PartialEq)]
pub struct OptimizerConfig {
    /// Learning rate.
    #[config(default = 1.41e-5)]
    pub lr: f64,
    /// Coupled L2 weight decay.
    #[config(default = 0.01)]
    pub weight_decay: f32,
}

impl Default for OptimizerConfig {
    /// [`OptimizerConfig::new`]: lr 1.41e-5, weight decay 0.01 (the reference code's).
    fn default() -> Self {
        Self::new()
    }
}

impl OptimizerConfig {
    /// Check the settings: a finite learning rate > 0, a finite weight decay ≥ 0; the error
    /// names the field.
    pub fn validate(&self) -> Result<(), SettingError> {
        let c = Checks("OptimizerConfig");
        c.positive("lr", self.lr, "the learning rate")?;
        c.non_negative("weight_decay", self.weight_decay, "the weight decay")
    }

    /// A fresh Adam (ε 1e-8) with this weight decay; the learning rate is given per step.
    pub fn init(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay)))
            .init()
    }
}
