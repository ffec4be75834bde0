//! Hugging Face's `LlamaForCausalLM` and `Qwen2ForCausalLM` as a
//! [`Llama`](crate::policy::Llama): [`LlamaConfig`] (`config.json`'s fields) and the weights'
//! layout. Our modules carry
//! their parameter names, so Burn's PyTorch adapter (linear weights `[out, in]` ⇄ `[in, out]`,
//! norm `weight` ⇄ `gamma`) is the whole mapping. Settings we do not implement — `rope_scaling`
//! kinds, sliding-window attention, an activation other than SiLU, `pretraining_tp` > 1 — are
//! refused with the field named.

use super::{Fields, WeightFiles, bad_field, rope_theta, save_weights, specials, write_dir};
use crate::checkpoint::{CONFIG_FILE, CheckpointError};
use crate::tokenizer::{Specials, Tokenizer};
use burn::config::Config;
use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, KeyRemapper, PyTorchToBurnAdapter};
use serde_json::{Value, json};
use std::path::Path;

/// Largest single size a [`LlamaConfig`] accepts.
const MAX_SIZE: usize = 1 << 24;
/// Most parameters a [`LlamaConfig`] accepts (40 GB of f32).
const MAX_PARAMS: f64 = 1e10;

/// Which Hugging Face architecture a [`Llama`](crate::policy::Llama) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LlamaKind {
    /// `LlamaForCausalLM` (`model_type` `"llama"`).
    Llama,
    /// `Qwen2ForCausalLM` (`model_type` `"qwen2"`: q/k/v biases).
    Qwen2,
}

/// Shape of a [`Llama`](crate::policy::Llama), named as Hugging Face's `config.json` names it.
#[derive(Config, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Residual stream width.
    pub hidden_size: usize,
    /// Hidden width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (`num_attention_heads` for multi-head, 1 for multi-query attention).
    pub num_key_value_heads: usize,
    /// Width of a head (`hidden_size / num_attention_heads` unless set).
    pub head_dim: usize,
    /// Longest sequence.
    pub max_position_embeddings: usize,
    /// The architecture.
    #[config(default = "LlamaKind::Llama")]
    pub kind: LlamaKind,
    /// RMSNorm epsilon.
    #[config(default = 1e-6)]
    pub rms_norm_eps: f64,
    /// RoPE base.
    #[config(default = 10000.0)]
    pub rope_theta: f64,
    /// Share the token embedding with the LM head.
    #[config(default = false)]
    pub tie_word_embeddings: bool,
    /// Biases on q, k, v and o (Llama's `attention_bias`).
    #[config(default = false)]
    pub attention_bias: bool,
    /// Biases on the MLP's projections (`mlp_bias`).
    #[config(default = false)]
    pub mlp_bias: bool,
    /// Add a scalar value head (for PPO's critic).
    #[config(default = false)]
    pub value_head: bool,
    /// Where BOS, EOS and PAD are.
    #[config(default = "Specials::ours()")]
    pub specials: Specials,
}

impl LlamaConfig {
    /// A small Llama shape for `vocab_size` tokens of up to `max_len`: `layers` layers of width
    /// `d`, `heads` query heads sharing `kv_heads` key/value heads, MLP width `ff`.
    pub fn small(
        vocab_size: usize,
        max_len: usize,
        (layers, d, heads, kv_heads, ff): (usize, usize, usize, usize, usize),
    ) -> Self {
        Self::new(
            vocab_size,
            d,
            ff,
            layers,
            heads,
            kv_heads,
            d / heads.max(1),
            max_len,
        )
    }

    /// Whether q, k and v carry biases (Qwen2 always, Llama with `attention_bias`).
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias || self.kind == LlamaKind::Qwen2
    }

    /// Check that the shape is usable.
    pub fn validate(&self) -> Result<(), String> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0 || *v > MAX_SIZE) {
            return Err(format!("{name} must be in 1..={MAX_SIZE}: {self:?}"));
        }
        if !self
            .num_attention_heads
            .is_multiple_of(self.num_key_value_heads)
        {
            return Err(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(format!(
                "head_dim {} must be even for rotary positions",
                self.head_dim
            ));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return Err(format!(
                "rms_norm_eps must be finite and > 0, got {}",
                self.rms_norm_eps
            ));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return Err(format!(
                "rope_theta must be finite and > 1, got {}",
                self.rope_theta
            ));
        }
        self.specials.validate(self.vocab_size)?;
        let params = self.num_params() as f64;
        if params > MAX_PARAMS {
            return Err(format!(
                "about {params:.2e} parameters exceed the {MAX_PARAMS:e} this library allocates"
            ));
        }
        Ok(())
    }

    /// Number of parameters a model of this shape has (saturating).
    pub fn num_params(&self) -> usize {
        let (d, f, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let (q, kv) = (
            self.num_attention_heads * self.head_dim,
            self.num_key_value_heads * self.head_dim,
        );
        let attn = d * (q + 2 * kv) + q * d;
        let attn_bias =
            if self.qkv_bias() { q + 2 * kv } else { 0 } + if self.attention_bias { d } else { 0 };
        let mlp = 3 * d * f + if self.mlp_bias { 2 * f + d } else { 0 };
        let layer = attn + attn_bias + mlp + 2 * d;
        let head = if self.tie_word_embeddings { 0 } else { d * v };
        let value = if self.value_head { d + 1 } else { 0 };
        (v * d)
            .saturating_add(self.num_hidden_layers.saturating_mul(layer))
            .saturating_add(d + head + value)
    }
}

/// Read a Llama or Qwen2 `config.json` (special tokens from the directory).
pub(crate) fn read_config(dir: &Path) -> Result<LlamaConfig, CheckpointError> {
    let c = Fields::read(&dir.join(CONFIG_FILE))?;
    let kind = match c.string("model_type")?.as_str() {
        "llama" => LlamaKind::Llama,
        "qwen2" => LlamaKind::Qwen2,
        other => {
            return Err(bad_field(
                c.path(),
                "model_type",
                format!("is {other:?}, not a Llama-family model (llama, qwen2)"),
            ));
        }
    };
    c.refuse_unless(
        "hidden_act",
        |v| v == &json!("silu"),
        "SwiGLU with SiLU only",
    )?;
    c.refuse_unless(
        "pretraining_tp",
        |v| v == &json!(1),
        "pretraining_tp 1 only",
    )?;
    c.refuse_unless(
        "use_sliding_window",
        |v| v == &json!(false),
        "full attention only, no sliding window",
    )?;
    c.refuse_unless(
        "layer_types",
        |v| {
            v.as_array()
                .is_some_and(|a| a.iter().all(|t| t == "full_attention"))
        },
        "full attention in every layer",
    )?;
    let hidden = c.usize("hidden_size")?;
    let heads = c.usize("num_attention_heads")?;
    let vocab = c.usize("vocab_size")?;
    let config = LlamaConfig::new(
        vocab,
        hidden,
        c.usize("intermediate_size")?,
        c.usize("num_hidden_layers")?,
        heads,
        c.usize_or("num_key_value_heads", heads)?,
        c.usize_or("head_dim", hidden / heads)?,
        c.usize("max_position_embeddings")?,
    )
    .with_kind(kind)
    .with_rms_norm_eps(c.f64_or("rms_norm_eps", 1e-6)?)
    .with_rope_theta(rope_theta(&c)?)
    .with_tie_word_embeddings(c.bool_or("tie_word_embeddings", false)?)
    .with_attention_bias(c.bool_or("attention_bias", false)?)
    .with_mlp_bias(c.bool_or("mlp_bias", false)?)
    .with_specials(specials(dir, &c, vocab)?);
    config
        .validate()
        .map_err(|e| CheckpointError::BadConfig(format!("{}: {e}", c.path().display())))?;
    Ok(config)
}

/// Load a Hugging Face Llama or Qwen2 directory's weights into `model` (of `config`, read
/// from it).
pub(crate) fn load_weights<M: Module>(
    model: M,
    dir: &Path,
    config: &LlamaConfig,
) -> Result<M, CheckpointError> {
    let files = WeightFiles::open(dir)?;
    // RoPE tables some older checkpoints store, and a tied head stored anyway.
    let ignored = match config.tie_word_embeddings {
        true => regex::Regex::new(r"rotary_emb\.inv_freq$|^lm_head\."),
        false => regex::Regex::new(r"rotary_emb\.inv_freq$"),
    }
    .expect("valid regex");
    files.check_count(&dir.join(CONFIG_FILE), config.num_params(), &ignored)?;
    super::load_weights(
        model,
        &files,
        KeyRemapper::new(),
        PyTorchToBurnAdapter,
        &ignored,
    )
}

/// The `config.json` of `c` as transformers writes it (`rope_theta` both top-level and under
/// `rope_parameters`, for transformers 4 and 5).
fn hf_config(c: &LlamaConfig) -> Value {
    let (arch, model_type) = match c.kind {
        LlamaKind::Llama => ("LlamaForCausalLM", "llama"),
        LlamaKind::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
    };
    let mut config = json!({
        "architectures": [arch],
        "model_type": model_type,
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": c.head_dim,
        "max_position_embeddings": c.max_position_embeddings,
        "hidden_act": "silu",
        "rms_norm_eps": c.rms_norm_eps,
        "rope_theta": c.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_theta},
        "tie_word_embeddings": c.tie_word_embeddings,
        "attention_bias": c.attention_bias,
        "mlp_bias": c.mlp_bias,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": true,
        "bos_token_id": c.specials.bos,
        "eos_token_id": c.specials.eos(),
        "pad_token_id": c.specials.pad,
        "dtype": "float32",
    });
    if c.kind == LlamaKind::Qwen2 {
        config["use_sliding_window"] = json!(false);
        config["sliding_window"] = Value::Null;
        config["max_window_layers"] = json!(c.num_hidden_layers);
    }
    config
}

/// Save `model` (a Llama of `config`, without a value head) as a Hugging Face directory.
pub(crate) fn save<M: Module>(
    model: &M,
    config: &LlamaConfig,
    dir: &Path,
    tokenizer: &dyn Tokenizer,
) -> Result<(), CheckpointError> {
    write_dir(
        dir,
        &hf_config(config),
        &config.specials,
        config.max_position_embeddings,
        tokenizer,
        |tmp| save_weights(model, tmp, KeyRemapper::new(), BurnToPyTorchAdapter),
    )
}
