//! Supervised training: causal-LM pretraining / SFT, learning-rate schedules and global
//! gradient-norm clipping.

mod clip;
mod lm;
mod schedule;

pub use clip::{clip_global_norm, global_grad_norm};
pub use lm::{LmBatch, LmReport, LmTrainer, LmTrainingConfig, lm_loss};
pub use schedule::WarmupCosine;
