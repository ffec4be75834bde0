//! [`GptConfig`]: the shape of a [`Gpt`](super::Gpt) — ours, and Hugging Face's GPT-2 (whose
//! `config.json` [`super::hf::gpt2`] translates) — checked before anything is allocated.

use crate::checkpoint::Format;
use crate::tokenizer::Specials;
use burn::config::Config;

/// Largest single size (layers, heads, widths, vocabulary, context) a [`GptConfig`] accepts.
const MAX_SIZE: usize = 1 << 24;
/// Most parameters a [`GptConfig`] accepts (40 GB of f32): a mistyped size is refused instead
/// of aborting the process on allocation.
const MAX_PARAMS: f64 = 1e10;

/// Shape and regularisation of a [`Gpt`](super::Gpt).
#[derive(Config, Debug, PartialEq)]
pub struct GptConfig {
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Attention heads per block (`d_model` must be divisible by it).
    pub n_head: usize,
    /// Residual stream width.
    pub d_model: usize,
    /// Hidden width of the MLP.
    pub d_ff: usize,
    /// Vocabulary size, specials included.
    pub vocab_size: usize,
    /// Maximum context length (number of learned positions).
    pub max_len: usize,
    /// Dropout on embeddings, attention output and MLP output (active only under autodiff).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Share the token embedding with the LM head (GPT-2 does).
    #[config(default = true)]
    pub tie_weights: bool,
    /// Add a scalar value head (for PPO's critic).
    #[config(default = false)]
    pub value_head: bool,
    /// LayerNorm epsilon.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// The MLP's activation (`None`: exact GELU, ours; GPT-2's is its tanh form). Optional
    /// so that configurations written before it existed load unchanged.
    pub activation: Option<Activation>,
    /// Where BOS, EOS and PAD are (`None`: ours, [`Specials::ours`]).
    pub specials: Option<Specials>,
    /// The directory format [`Policy::save`](super::Policy::save) writes, the one the model was loaded from
    /// (`None`: ours).
    pub format: Option<Format>,
}

/// The MLP activation of a [`Gpt`](super::Gpt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// Exact GELU, `x Φ(x)` (ours; Hugging Face's `"gelu"`).
    Gelu,
    /// GELU in its tanh form (GPT-2's `"gelu_new"`, also `"gelu_pytorch_tanh"`).
    GeluTanh,
}

impl GptConfig {
    /// The MLP's activation.
    pub fn activation(&self) -> Activation {
        self.activation.unwrap_or(Activation::Gelu)
    }

    /// The special tokens.
    pub fn specials(&self) -> Specials {
        self.specials.clone().unwrap_or_else(Specials::ours)
    }

    /// The directory format saves write.
    pub fn format(&self) -> Format {
        self.format.unwrap_or_default()
    }

    /// The shipped small shape (4 layers, d 256, 4 heads, d_ff 1024) for a given vocabulary.
    pub fn small(vocab_size: usize, max_len: usize) -> Self {
        Self::new(4, 4, 256, 1024, vocab_size, max_len)
    }

    /// Check that the shape is usable.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            self.n_layer,
            self.n_head,
            self.d_model,
            self.d_ff,
            self.vocab_size,
            self.max_len,
        ];
        if positive.contains(&0) {
            return Err(format!("all sizes must be positive: {self:?}"));
        }
        if !self.d_model.is_multiple_of(self.n_head) {
            return Err(format!(
                "d_model {} is not divisible by n_head {}",
                self.d_model, self.n_head
            ));
        }
        if positive.iter().any(|&s| s > MAX_SIZE) {
            return Err(format!("every size must be at most {MAX_SIZE}: {self:?}"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        self.specials().validate(self.vocab_size)?;
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(format!(
                "layer_norm_eps must be finite and > 0, got {}",
                self.layer_norm_eps
            ));
        }
        // In f64: the exact count can overflow for sizes near MAX_SIZE.
        let (d, f, l) = (self.d_model as f64, self.d_ff as f64, self.n_layer as f64);
        let params = (self.vocab_size as f64 * 2.0 + self.max_len as f64) * d
            + l * (4.0 * d * d + 2.0 * d * f + 9.0 * d + f);
        if params > MAX_PARAMS {
            return Err(format!(
                "about {params:.2e} parameters exceed the {MAX_PARAMS:e} this library allocates: \
                 {self:?}"
            ));
        }
        Ok(())
    }

    /// Number of parameters a model of this shape has.
    pub fn num_params(&self) -> usize {
        let (d, f) = (self.d_model, self.d_ff);
        let block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d);
        let head = if self.tie_weights {
            0
        } else {
            d * self.vocab_size
        };
        let value = if self.value_head { d + 1 } else { 0 };
        (self.vocab_size + self.max_len) * d + self.n_layer * block + 2 * d + head + value
    }
}
