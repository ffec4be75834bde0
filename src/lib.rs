//! # multireward
//!
//! Fine-tuning generative transformers on several rewards at once (IterativeRS, MORLHF,
//! Rewarded Soups, RiC) on Burn, over any backend chosen at compile time.
//!
//! Layers, top to bottom (no arrow points back up):
//! - [`train`]: supervised causal-LM training (pretraining / SFT);
//! - [`policy`]: the [`policy::Policy`] trait and the [`policy::Gpt`] decoder with KV-cache
//!   sampling;
//! - [`tokenizer`], [`data`], [`checkpoint`], [`device`]: the ground floor;
//! - [`assets`]: where the shipped checkpoints (policies, reward models) are found on disk.
//!
//! Domain code lives under [`tasks`].
#![warn(missing_docs)]

pub mod assets;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod eval;
pub mod experiment;
pub(crate) mod host;
pub mod merge;
pub mod policy;
pub mod reward;
pub mod rl;
pub mod strategy;
pub mod tasks;
pub mod tokenizer;
pub mod train;

/// The README's code blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
