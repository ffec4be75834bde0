//! [`LoraConfig`] (PEFT's settings) and [`LoraError`].

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of LoRA settings and adapters.
#[derive(Debug, Error)]
pub enum LoraError {
    /// A setting is out of range.
    #[error("LoRA setting {field} {why}")]
    BadSetting {
        /// The setting (PEFT's name).
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A target module name matches no 2-D weight of the policy.
    #[error(
        "LoRA target {target:?} matches no projection of this {family} policy; its projections \
         are named {available}"
    )]
    NoTarget {
        /// The target.
        target: String,
        /// The policy's family.
        family: &'static str,
        /// The names the policy's projections answer to.
        available: String,
    },
    /// The policy already carries adapters.
    #[error("the policy already carries LoRA adapters: fold them in first (lora::fold)")]
    AlreadyAdapted,
    /// A PEFT adapter directory that cannot be applied to this policy.
    #[error("PEFT adapter {path}: {why}")]
    Peft {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing an adapter directory failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

/// LoRA settings, named as PEFT's `LoraConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// Rank `r` of the factors.
    pub rank: usize,
    /// α: the update is scaled by α / r (α / √r with rsLoRA).
    pub alpha: f64,
    /// Dropout on the adapter path in training (see the module docs).
    #[serde(default)]
    pub dropout: f64,
    /// Module names whose weights get adapters (PEFT's `target_modules`): a projection matches
    /// when its path is the name or ends with `.name`; `all-linear` names every projection of
    /// the blocks (PEFT's shorthand). Families answer to Hugging Face's names
    /// (`q_proj` … `down_proj`; GPT-2's `c_attn`, `c_proj`, `c_fc`) and our GPT also to its own
    /// (`qkv`, `proj`, `fc`, `fc_proj`).
    pub targets: Vec<String>,
    /// rsLoRA: scale by α / √r.
    #[serde(default)]
    pub use_rslora: bool,
    /// Keep the token embedding and the LM head trainable beside the adapters (PEFT's
    /// `modules_to_save`): what new vocabulary, such as RiC's conditioning tokens, needs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub train_embeddings: bool,
}

impl LoraConfig {
    /// Rank `rank`, α `alpha` on `targets`; no dropout, plain scaling.
    pub fn new(rank: usize, alpha: f64, targets: &[&str]) -> Self {
        Self {
            rank,
            alpha,
            dropout: 0.0,
            targets: targets.iter().map(|t| t.to_string()).collect(),
            use_rslora: false,
            train_embeddings: false,
        }
    }

    /// With dropout `p` on the adapter path in training.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// With (or without) the token embedding and LM head trainable beside the adapters.
    pub fn with_train_embeddings(mut self, on: bool) -> Self {
        self.train_embeddings = on;
        self
    }

    /// With (or without) rsLoRA's α / √r scaling.
    pub fn with_rslora(mut self, on: bool) -> Self {
        self.use_rslora = on;
        self
    }

    /// The scale of the update: α / r, or α / √r with rsLoRA.
    pub fn scale(&self) -> f64 {
        match self.use_rslora {
            true => self.alpha / (self.rank as f64).sqrt(),
            false => self.alpha / self.rank as f64,
        }
    }

    /// Check the settings: rank ≥ 1, α finite and > 0, dropout in [0, 1), a target.
    pub fn validate(&self) -> Result<(), LoraError> {
        let bad = |field, why: String| Err(LoraError::BadSetting { field, why });
        if self.rank == 0 || self.rank > 1 << 16 {
            return bad("r", format!("is {}; use a rank in 1..=65536", self.rank));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad(
                "lora_alpha",
                format!("is {}; it must be finite and > 0", self.alpha),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "lora_dropout",
                format!("is {}; it must be in [0, 1)", self.dropout),
            );
        }
        if self.targets.is_empty() || self.targets.iter().any(|t| t.trim().is_empty()) {
            return bad(
                "target_modules",
                "is empty; name the projections to adapt".into(),
            );
        }
        Ok(())
    }
}
