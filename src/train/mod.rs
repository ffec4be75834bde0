//! Supervised training: causal-LM pretraining / SFT, learning-rate schedules, global
//! gradient-norm clipping, and gradients summed over ranks.

mod clip;
mod grad_sum;
mod lm;
mod schedule;

pub use clip::{clip_global_norm, global_grad_norm};
pub use grad_sum::all_reduce_grads;
pub use lm::{LmBatch, LmReport, LmTrainer, LmTrainingConfig, lm_loss};
pub use schedule::WarmupCosine;
