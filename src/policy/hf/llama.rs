//! Hugging Face's `LlamaForCausalLM` and `Qwen2ForCausalLM` as a [`Llama`]: our modules carry
//! their parameter names, so Burn's PyTorch adapter (linear weights `[out, in]` ⇄ `[in, out]`,
//! norm `weight` ⇄ `gamma`) is the whole mapping. Settings we do not implement — `rope_scaling`
//! kinds, sliding-window attention, an activation other than SiLU, `pretraining_tp` > 1 — are
//! refused with the field named.

use super::{
    Fields, WeightFiles, bad_field, load_weights, rope_theta, save_weights, specials, write_dir,
};
use crate::checkpoint::{CONFIG_FILE, CheckpointError};
use crate::policy::llama::{Llama, LlamaConfig, LlamaKind};
use crate::tokenizer::Tokenizer;
use burn::store::{BurnToPyTorchAdapter, KeyRemapper, PyTorchToBurnAdapter};
use burn::tensor::Device;
use serde_json::{Value, json};
use std::path::Path;

/// Read a Llama or Qwen2 `config.json` (special tokens from the directory).
fn read_config(dir: &Path) -> Result<LlamaConfig, CheckpointError> {
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

/// Load a Hugging Face Llama or Qwen2 directory onto `device`.
pub(crate) fn load(dir: &Path, device: &Device) -> Result<Llama, CheckpointError> {
    let config = read_config(dir)?;
    let files = WeightFiles::open(dir)?;
    // RoPE tables some older checkpoints store, and a tied head stored anyway.
    let ignored = match config.tie_word_embeddings {
        true => regex::Regex::new(r"rotary_emb\.inv_freq$|^lm_head\."),
        false => regex::Regex::new(r"rotary_emb\.inv_freq$"),
    }
    .expect("valid regex");
    files.check_count(&dir.join(CONFIG_FILE), config.num_params(), &ignored)?;
    load_weights(
        config.init(device),
        &files,
        KeyRemapper::new(),
        PyTorchToBurnAdapter,
        &ignored,
    )
}

/// The `config.json` of `llama` as transformers writes it (`rope_theta` both top-level and
/// under `rope_parameters`, for transformers 4 and 5).
fn hf_config(llama: &Llama) -> Value {
    let c = llama.config();
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

/// Save `llama` as a Hugging Face directory (the value head is left out).
pub(crate) fn save(
    llama: &Llama,
    dir: &Path,
    tokenizer: &dyn Tokenizer,
) -> Result<(), CheckpointError> {
    let model = llama.without_value_head();
    let c = llama.config();
    write_dir(
        dir,
        &hf_config(llama),
        &c.specials,
        c.max_position_embeddings,
        tokenizer,
        |tmp| save_weights(&model, tmp, KeyRemapper::new(), BurnToPyTorchAdapter),
    )
}
