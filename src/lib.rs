//! # multireward
//!
//! Fine-tuning generative transformers on several rewards at once (IterativeRS, MORLHF,
//! Rewarded Soups, RiC) on Burn, over any backend chosen at compile time.
//!
//! Floors, top to bottom; code on a floor uses only the floors below it (docs/architecture.md):
//! - `cli` (feature `cli`, default): the comparison's command line — run flags, presets, rank
//!   and device start-up — for programs built on the library;
//! - [`experiment`]: the comparison API (strategies × seeds under equal budgets, evaluation,
//!   checkpoints, resume, the report);
//! - [`strategy`]: IterativeRS, MORLHF, Rewarded Soups and RiC behind one [`strategy::Strategy`]
//!   value, the [`strategy::Learner`] they drive and checkpoints of every run;
//! - [`rl`]: PPO with TRL's semantics and group baselines; [`merge`]: weight merging;
//! - [`train`]: supervised causal-LM training (pretraining / SFT); [`reward`]: named,
//!   weighted, transformed and normalised rewards; [`eval`]: metrics and reports;
//! - [`policy`]: the [`policy::Policy`] trait and the [`policy::Gpt`] decoder;
//! - [`tokenizer`], [`data`], [`checksum`], [`checkpoint`], [`device`], [`distributed`] (how
//!   ranks talk), [`limits`] (what a setting may be: sizes bounded by memory):
//!   the ground floor; [`assets`]: where
//!   the shipped checkpoints (policies, reward models) are found on disk. Beside them, a private
//!   `host` module holds the CPU-only speed code (GELU kernels, decoding steps, in-place merge)
//!   the floors above switch to on the `flex` backend.
//!
//! Domain code (molecules, DNA, text: data, tokenizers, rewards, metrics) lives under [`tasks`].
#![warn(missing_docs)]

pub mod assets;
pub mod checkpoint;
pub mod checksum;
#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
pub mod device;
pub mod distributed;
pub mod eval;
pub mod experiment;
pub(crate) mod host;
pub mod limits;
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
