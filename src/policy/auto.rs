//! [`AutoPolicy`]: one entry point that loads any supported policy directory — ours or Hugging
//! Face's — and says which family it found.

use super::causal_lm::{AttnMask, CausalLm, KvCache, LmShape};
use super::gpt::Gpt;
use super::llama::Llama;
use super::lm_policy::causal_lm_policy;
use super::{Policy, PolicyError};
use crate::checkpoint::{CheckpointError, WEIGHTS_FILE};
use crate::host::view::HostModel;
use crate::tokenizer::{Specials, Tokenizer};
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor};
use std::path::Path;

/// The `model_type`s [`AutoPolicy::load`] reads from a Hugging Face `config.json`.
pub const SUPPORTED_MODEL_TYPES: [&str; 3] = ["gpt2", "llama", "qwen2"];

/// A policy of any supported family, as [`AutoPolicy::load`] found it.
///
/// ```no_run
/// use multireward::policy::{AutoPolicy, CausalLm};
///
/// let device = multireward::device::default_device();
/// let policy = AutoPolicy::load("my-smollm2".as_ref(), &device)?;
/// println!("a {} policy of {} tokens", policy.family(), policy.shape().vocab_size);
/// # Ok::<(), multireward::checkpoint::CheckpointError>(())
/// ```
#[derive(Module, Debug)]
pub enum AutoPolicy {
    /// Our GPT, or Hugging Face's GPT-2.
    Gpt(Gpt),
    /// Hugging Face's Llama or Qwen2.
    Llama(Llama),
}

/// `$body` with `$m` bound to the inner model, whichever the family.
macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            AutoPolicy::Gpt($m) => $body,
            AutoPolicy::Llama($m) => $body,
        }
    };
}

/// `$body` (a model of the same family) wrapped back into its variant.
macro_rules! each_into {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            AutoPolicy::Gpt($m) => AutoPolicy::Gpt($body),
            AutoPolicy::Llama($m) => AutoPolicy::Llama($body),
        }
    };
}

impl From<Gpt> for AutoPolicy {
    fn from(m: Gpt) -> Self {
        Self::Gpt(m)
    }
}

impl From<Llama> for AutoPolicy {
    fn from(m: Llama) -> Self {
        Self::Llama(m)
    }
}

impl CausalLm for AutoPolicy {
    fn family(&self) -> &'static str {
        each!(self, m => m.family())
    }

    fn shape(&self) -> LmShape {
        each!(self, m => m.shape())
    }

    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mask: &AttnMask,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        each!(self, m => m.hidden(tokens, positions, mask, cache))
    }

    fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        each!(self, m => m.logits(hidden))
    }

    fn value_head(&self) -> Option<&Linear> {
        each!(self, m => m.value_head())
    }

    fn with_value_head(&self) -> Self {
        each_into!(self, m => m.with_value_head())
    }

    fn host_view(&self) -> Option<HostModel<'_>> {
        each!(self, m => m.host_view())
    }
}

impl Policy for AutoPolicy {
    causal_lm_policy!();

    fn specials(&self) -> Specials {
        each!(self, m => m.specials())
    }

    fn with_extra_tokens(&self, extra: usize, seed: u64) -> Result<Self, PolicyError> {
        Ok(each_into!(self, m => m.with_extra_tokens(extra, seed)?))
    }

    fn architecture(&self) -> serde_json::Value {
        serde_json::json!({ "family": self.family(), "config": each!(self, m => m.architecture()) })
    }

    fn save(&self, dir: &Path, tokenizer: &dyn Tokenizer) -> Result<(), CheckpointError> {
        each!(self, m => m.save(dir, tokenizer))
    }

    /// Load `dir`: our own checkpoint (`model.bpk`), or a Hugging Face directory whose
    /// `config.json` names a supported `model_type` ([`SUPPORTED_MODEL_TYPES`]).
    fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        if dir.join(WEIGHTS_FILE).exists() || !super::hf::is_hf_dir(dir) {
            return Gpt::load(dir, device).map(Self::Gpt);
        }
        let model_type = super::hf::model_type(dir)?;
        match model_type.as_str() {
            "gpt2" => Gpt::load(dir, device).map(Self::Gpt),
            "llama" | "qwen2" => Llama::load(dir, device).map(Self::Llama),
            other => Err(super::hf::bad_field(
                &dir.join(crate::checkpoint::CONFIG_FILE),
                "model_type",
                format!(
                    "is {other:?}, which this library cannot load (supported: {})",
                    SUPPORTED_MODEL_TYPES.join(", ")
                ),
            )),
        }
    }

    fn device(&self) -> Device {
        each!(self, m => m.device())
    }
}

impl AutoPolicy {
    /// Load any supported directory: our own checkpoint (`model.bpk`), or a Hugging Face
    /// directory whose `config.json` names a supported `model_type` ([`SUPPORTED_MODEL_TYPES`]).
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        <Self as Policy>::load(dir, device)
    }

    /// The family's name (`gpt`, `gpt2`, `llama`, `qwen2`).
    pub fn family(&self) -> &'static str {
        CausalLm::family(self)
    }

    /// The same weights with dropout switched off (only our GPT family has dropout).
    pub fn without_dropout(self) -> Self {
        match self {
            Self::Gpt(m) => Self::Gpt(m.without_dropout()),
            other => other,
        }
    }
}
