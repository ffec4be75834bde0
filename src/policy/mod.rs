//! Generative policies: the [`Policy`] trait the RL strategies drive, the batch types it speaks,
//! and the model families.
//!
//! A family implements [`CausalLm`] (a forward pass with a key/value cache, the LM head, its
//! checkpoint format) in one file; the generic code samples ([`generate`]), scores and makes it
//! a [`Policy`]. Families: [`Gpt`] (ours, and Hugging Face's GPT-2) and [`Llama`] (Hugging
//! Face's Llama and Qwen2). [`AutoPolicy`] loads any supported directory and says which family
//! it found.

mod auto;
mod causal_lm;
mod generate;
mod gpt;
mod gpt_config;
pub mod hf;
mod layers;
mod llama;
mod lm_policy;
pub mod lora;
mod prompts;
mod sampling;
mod sequences;

pub use crate::host::view::{HostBlock, HostMlp, HostModel, HostNorm, HostPositions};
pub use auto::{AutoPolicy, SUPPORTED_MODEL_TYPES};
pub use causal_lm::{AttnMask, CausalLm, KvCache, LayerKv, LmShape, attn_mask};
pub use generate::{Decoding, generate};
pub use gpt::Gpt;
pub use gpt_config::{Activation, GptConfig};
pub use hf::llama::{LlamaConfig, LlamaKind};
pub use llama::Llama;
pub use lm_policy::{sample, score};
pub use prompts::Prompts;
pub use sampling::{
    BatchPart, MIN_TEMPERATURE, SamplingConfig, check_temperature, sample_next, uniform_draws,
};
pub use sequences::{Rollout, Sequences, response_mask};

use crate::checkpoint::CheckpointError;
use crate::tokenizer::{Specials, Tokenizer};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use std::path::Path;
use thiserror::Error;

/// Errors from sampling and scoring.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolicyError {
    /// Prompt plus response would exceed the policy's maximum context length.
    #[error("prompt ({prompt}) + response ({response}) tokens exceed the context length {max_len}")]
    TooLong {
        /// Longest prompt in the batch, in tokens.
        prompt: usize,
        /// Requested response length, in tokens.
        response: usize,
        /// The policy's maximum context length.
        max_len: usize,
    },
    /// No prompts, or an empty prompt (every prompt needs at least BOS).
    #[error("empty batch or empty prompt: every prompt needs at least one token (BOS)")]
    EmptyPrompt,
    /// A prompt token is outside the vocabulary.
    #[error("token id {id} is outside the vocabulary of {vocab} tokens")]
    BadToken {
        /// The offending id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// A token id of [`Sequences`] is outside the policy's vocabulary (negative ids included).
    #[error(
        "token id {id} at row {row}, column {col} is outside the policy's vocabulary of {vocab} \
         tokens: make the sequences for this policy (`Sequences::from_parts` with \
         `policy.vocab_size()`)"
    )]
    TokenOutOfRange {
        /// The offending id.
        id: i64,
        /// Its row.
        row: usize,
        /// Its column.
        col: usize,
        /// The policy's vocabulary size.
        vocab: usize,
    },
    /// A position of [`Sequences`] is outside the policy's context.
    #[error(
        "position {position} at row {row}, column {col} is outside the policy's context of \
         {max_len} tokens: positions count each row's real tokens from 0 (as \
         `Sequences::from_parts` makes them)"
    )]
    PositionOutOfRange {
        /// The offending position.
        position: i64,
        /// Its row.
        row: usize,
        /// Its column.
        col: usize,
        /// The policy's context length.
        max_len: usize,
    },
    /// A part of [`Sequences`] is not shaped like its tokens.
    #[error(
        "`{part}` has shape {got:?} but the tokens are {expected:?}: every part of `Sequences` \
         is [batch, length]"
    )]
    ShapeMismatch {
        /// The part (`positions` or `key_pad`).
        part: &'static str,
        /// The tokens' shape.
        expected: [usize; 2],
        /// The part's shape.
        got: Vec<usize>,
    },
    /// A sampling setting is out of range.
    #[error("bad sampling config: {0}")]
    BadConfig(String),
    /// The policy does not offer an optional capability (e.g. extra vocabulary for RiC).
    #[error("the policy does not support {0}")]
    Unsupported(String),
    /// LoRA adapters could not be attached (the settings or targets are wrong).
    #[error("{0}")]
    Lora(String),
}

/// Log-probabilities (and value estimates) of the response part of [`Sequences`].
#[derive(Debug, Clone)]
pub struct ResponseScores {
    /// `[B, R]` log π(token | prefix) of each response token, at the given temperature.
    pub log_probs: Tensor<2>,
    /// `[B, R]` value estimate of the state before each response token, if the policy has a
    /// value head.
    pub values: Option<Tensor<2>>,
}

/// What any generative policy offers the RL strategies.
///
/// A policy is a Burn [`Module`]: it is cloned, moved between devices, merged (parameter
/// traversal) and turned into a frozen inference copy with [`Module::valid`]. Whether
/// [`Policy::score`] records an autodiff graph depends only on the device of the policy's
/// parameters: call it on the training copy for gradients and on `valid()` for none.
///
/// ```
/// use multireward::device::default_device;
/// use multireward::policy::{GptConfig, Policy, SamplingConfig};
///
/// let policy = GptConfig::new(1, 2, 16, 32, 7, 16).init(&default_device());
/// let cfg = SamplingConfig { max_new_tokens: 5, seed: Some(0), ..Default::default() };
/// let start = policy.specials().start();
/// let rollout = policy.sample(&vec![vec![start]; 3], &cfg)?;
/// assert_eq!(rollout.response_ids().len(), 3);
/// // Scoring the sampled tokens again gives the rollout's log-probabilities.
/// let scores = policy.score(&rollout.sequences, cfg.temperature)?;
/// assert_eq!(scores.log_probs.dims(), rollout.log_probs.dims());
/// assert!(scores.values.is_none() && !policy.has_value_head());
/// # Ok::<(), multireward::policy::PolicyError>(())
/// ```
pub trait Policy: Module {
    /// Sample one response per prompt. Prompts are token ids (at least one); they are
    /// left-padded to a common length. Sampling always runs on a non-autodiff copy. The
    /// rollout's `log_probs` must equal what `valid().score` gives for the same tokens at
    /// `cfg.temperature`: PPO's group estimator uses them as the old policy's log-probabilities.
    fn sample(&self, prompts: &[Vec<u32>], cfg: &SamplingConfig) -> Result<Rollout, PolicyError>;

    /// Log-probabilities of the response tokens of `seqs` (every token after the prompt) at
    /// `temperature` (logits are divided by it, as when sampling), plus values if available.
    ///
    /// # Errors
    /// [`PolicyError::BadConfig`] for a temperature that is not finite or below
    /// [`MIN_TEMPERATURE`], or sequences without a prompt or a response token;
    /// [`PolicyError::TooLong`] for sequences longer than the policy's context; the errors of
    /// [`Sequences::check`] for ids, positions or part shapes that do not fit the policy.
    fn score(&self, seqs: &Sequences, temperature: f32) -> Result<ResponseScores, PolicyError>;

    /// Whether [`Policy::score`] returns value estimates.
    fn has_value_head(&self) -> bool;

    /// The device holding the parameters.
    fn device(&self) -> Device;

    /// Number of token ids the policy models.
    fn vocab_size(&self) -> usize;

    /// Where BOS, EOS and PAD are (default: our tokenizers' layout, [`Specials::ours`]).
    fn specials(&self) -> Specials {
        Specials::ours()
    }

    /// What a merge must agree on beyond parameter names and shapes (e.g. a GPT's head
    /// count): two policies with different architectures must not be merged. `Null` (the
    /// default) when the shapes say everything.
    fn architecture(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Longest sequence (prompt + response, in tokens) the policy can score, if bounded.
    fn max_len(&self) -> Option<usize> {
        None
    }

    /// A copy with `extra` new token ids appended to the vocabulary (e.g. reward-conditioning
    /// tokens), initialised from `seed` (the same seed, the same weights); existing weights
    /// are unchanged. An optional capability (RiC needs it): the default is
    /// [`PolicyError::Unsupported`].
    fn with_extra_tokens(&self, extra: usize, seed: u64) -> Result<Self, PolicyError>
    where
        Self: Sized,
    {
        let _ = (extra, seed);
        Err(PolicyError::Unsupported(
            "extra vocabulary (reward-conditioning tokens)".into(),
        ))
    }

    /// A copy with fresh LoRA adapters ([`lora::attach`]) on its frozen weights, drawn from
    /// `seed`. An optional capability (LoRA experts need it): the default is
    /// [`PolicyError::Unsupported`].
    fn with_lora(&self, cfg: &lora::LoraConfig, seed: u64) -> Result<Self, PolicyError>
    where
        Self: Sized,
    {
        let _ = (cfg, seed);
        Err(PolicyError::Unsupported("LoRA adapters".into()))
    }

    /// Save weights, configuration and tokenizer into the directory `dir` (written atomically).
    fn save(&self, dir: &Path, tokenizer: &dyn Tokenizer) -> Result<(), CheckpointError>;

    /// Load a policy written by [`Policy::save`] onto `device`.
    fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError>
    where
        Self: Sized;
}
