//! LoRA adapters on any model family: trainable rank-`r` factors on named projections of a
//! frozen base, through Burn's parameter reparameterization (`Module::apply_reparameterization`,
//! the mechanism behind Burn's own `apply_lora`). The adapted weight is
//! `W + s · A·B` (`A` `[in, r]`, `B` `[r, out]`, `s` = α/r, or α/√r with rsLoRA), composed
//! when the weight is read, so no model file changes; the host decoding path reads the composed
//! weight too. Our factors add what Burn's `Lora` lacks: PEFT's initialisation (Kaiming-uniform
//! `A`, zero `B`) and dropout on the adapter path in training.
//!
//! Dropout: PEFT drops elements of the adapter's *input* per token; a composed weight cannot,
//! so here a training forward pass drops input features of the adapter (rows of `A`) with one
//! mask per pass. Off in `valid()` copies, as PEFT's is in eval mode.

mod attach;
mod config;
mod factors;
mod merge;

pub(crate) use attach::attach_factors;
pub use attach::{ALL_LINEAR, attach, fold, is_adapted, trainable_params};
pub use config::{LoraConfig, LoraError};
pub use factors::LoraFactors;
pub(crate) use merge::factors;
pub use merge::merge_folded;
