//! Hugging Face's `GPT2LMHeadModel` as a [`Gpt`](crate::policy::Gpt): the same layers (fused q/k/v, learned
//! positions, pre-LayerNorm, tied head), named `transformer.h.N.attn.c_attn` … and stored in
//! Conv1D layout (`[in, out]`, Burn's own, so only an untied `lm_head` is transposed).
//! `activation_function` `gelu_new` (GPT-2's) and `gelu` (ours, exact) are both supported.

use super::{Fields, WeightFiles, bad_field, save_weights, specials, write_dir};
use crate::checkpoint::{CONFIG_FILE, CheckpointError, Format};
use crate::policy::gpt_config::{Activation, GptConfig};
use crate::tokenizer::Tokenizer;
use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    BurnToPyTorchAdapter, KeyRemapper, ModuleAdapter, ModuleContext, PyTorchToBurnAdapter,
};
use serde_json::json;
use std::path::Path;

/// Our parameter paths and Hugging Face's, as `(ours, theirs)` prefixes.
const NAMES: [(&str, &str); 9] = [
    ("tok_emb.", "transformer.wte."),
    ("pos_emb.", "transformer.wpe."),
    ("blocks.$1.ln_1.", "transformer.h.$1.ln_1."),
    ("blocks.$1.attn.qkv.", "transformer.h.$1.attn.c_attn."),
    ("blocks.$1.attn.proj.", "transformer.h.$1.attn.c_proj."),
    ("blocks.$1.ln_2.", "transformer.h.$1.ln_2."),
    ("blocks.$1.fc.", "transformer.h.$1.mlp.c_fc."),
    ("blocks.$1.fc_proj.", "transformer.h.$1.mlp.c_proj."),
    ("ln_f.", "transformer.ln_f."),
];

/// A key map between the two namings: `to_ours` maps Hugging Face's names onto ours.
fn remapper(to_ours: bool) -> KeyRemapper {
    let pattern = |prefix: &str| format!("^{}", regex::escape(prefix).replace(r"\$1", r"(\d+)"));
    let pairs = NAMES.iter().map(|&(ours, theirs)| match to_ours {
        true => (pattern(theirs), ours.to_string()),
        false => (pattern(ours), theirs.to_string()),
    });
    KeyRemapper::from_pattern_iter(pairs).expect("the GPT-2 name patterns are valid regexes")
}

/// Hugging Face's GPT-2 name of our module path (`blocks.0.attn.qkv` →
/// `transformer.h.0.attn.c_attn`); other paths unchanged.
pub(crate) fn hf_name(path: &str) -> String {
    let with_dot = format!("{path}.");
    let mapped = remapper(false)
        .patterns
        .iter()
        .fold(with_dot, |p, (re, to)| {
            re.replace(&p, to.as_str()).into_owned()
        });
    mapped.strip_suffix('.').unwrap_or(&mapped).to_string()
}

/// Burn's PyTorch adapter, except that GPT-2's Conv1D projections keep their layout: every
/// `Linear` but the LM head is already `[in, out]`.
#[derive(Debug, Clone)]
struct Conv1dLayout<A>(A);

impl<A: ModuleAdapter + Clone + 'static> ModuleAdapter for Conv1dLayout<A> {
    fn adapt(&self, tensor: PackTensor, ctx: ModuleContext<'_>) -> PackTensor {
        let conv1d =
            ctx.module_type() == Some("Struct:Linear") && !tensor.name.starts_with("lm_head");
        match conv1d {
            true => tensor,
            false => self.0.adapt(tensor, ctx),
        }
    }

    fn get_alternative_param_name(&self, param_name: &str, container_type: &str) -> Option<String> {
        self.0
            .get_alternative_param_name(param_name, container_type)
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// Read a GPT-2 `config.json` into our config (special tokens from the directory).
pub(crate) fn read_config(dir: &Path) -> Result<GptConfig, CheckpointError> {
    let c = Fields::read(&dir.join(CONFIG_FILE))?;
    let n_embd = c.usize("n_embd")?;
    let activation = match c.get("activation_function").and_then(|v| v.as_str()) {
        None | Some("gelu_new" | "gelu_pytorch_tanh" | "gelu_fast") => Activation::GeluTanh,
        Some("gelu") => Activation::Gelu,
        Some(other) => {
            return Err(bad_field(
                c.path(),
                "activation_function",
                format!("is {other:?}; supported: gelu_new, gelu_pytorch_tanh, gelu"),
            ));
        }
    };
    c.refuse_unless(
        "scale_attn_weights",
        |v| v == &json!(true),
        "attention scaled by 1/√d",
    )?;
    c.refuse_unless(
        "scale_attn_by_inverse_layer_idx",
        |v| v == &json!(false),
        "no per-layer attention scaling",
    )?;
    c.refuse_unless(
        "add_cross_attention",
        |v| v == &json!(false),
        "decoder only",
    )?;
    let vocab = c.usize("vocab_size")?;
    let config = GptConfig::new(
        c.usize("n_layer")?,
        c.usize("n_head")?,
        n_embd,
        c.usize_or("n_inner", 4 * n_embd)?,
        vocab,
        c.usize("n_positions")?,
    )
    .with_tie_weights(c.bool_or("tie_word_embeddings", true)?)
    .with_layer_norm_eps(c.f64_or("layer_norm_epsilon", 1e-5)?)
    .with_activation(Some(activation))
    .with_specials(Some(specials(dir, &c, vocab)?))
    .with_format(Some(Format::HuggingFace));
    config
        .validate()
        .map_err(|e| CheckpointError::BadConfig(format!("{}: {e}", c.path().display())))?;
    Ok(config)
}

/// Load a Hugging Face GPT-2 directory's weights into `model` (of `config`, read from it).
pub(crate) fn load_weights<M: Module>(
    model: M,
    dir: &Path,
    config: &GptConfig,
) -> Result<M, CheckpointError> {
    let files = WeightFiles::open(dir)?;
    // A tied head stored anyway (older transformers) is the embedding again.
    let ignored = match config.tie_weights {
        true => regex::Regex::new(r"^lm_head\.|\.attn\.(masked_)?bias$"),
        false => regex::Regex::new(r"\.attn\.(masked_)?bias$"),
    }
    .expect("valid regex");
    files.check_count(&dir.join(CONFIG_FILE), config.num_params(), &ignored)?;
    super::load_weights(
        model,
        &files,
        remapper(true),
        Conv1dLayout(PyTorchToBurnAdapter),
        &ignored,
    )
}

/// The `config.json` of `c` in GPT-2's naming.
fn hf_config(c: &GptConfig) -> serde_json::Value {
    let specials = c.specials();
    json!({
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": c.vocab_size,
        "n_positions": c.max_len,
        "n_ctx": c.max_len,
        "n_embd": c.d_model,
        "n_layer": c.n_layer,
        "n_head": c.n_head,
        "n_inner": c.d_ff,
        "activation_function": match c.activation() {
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_new",
        },
        "layer_norm_epsilon": c.layer_norm_eps,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "initializer_range": 0.02,
        "scale_attn_weights": true,
        "tie_word_embeddings": c.tie_weights,
        "use_cache": true,
        "bos_token_id": specials.bos.unwrap_or(specials.eos()),
        "eos_token_id": specials.eos(),
        "pad_token_id": specials.pad,
        "dtype": "float32",
    })
}

/// Save `model` (a GPT of `config`, without a value head: GPT-2 has no place for one) as a
/// Hugging Face GPT-2 directory.
pub(crate) fn save<M: Module>(
    model: &M,
    config: &GptConfig,
    dir: &Path,
    tokenizer: &dyn Tokenizer,
) -> Result<(), CheckpointError> {
    write_dir(
        dir,
        &hf_config(config),
        &config.specials(),
        config.max_len,
        tokenizer,
        |tmp| {
            save_weights(
                model,
                tmp,
                remapper(false),
                Conv1dLayout(BurnToPyTorchAdapter),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn our_paths_have_gpt2_names() {
        assert_eq!(
            super::hf_name("blocks.3.attn.qkv"),
            "transformer.h.3.attn.c_attn"
        );
        assert_eq!(
            super::hf_name("blocks.0.fc_proj"),
            "transformer.h.0.mlp.c_proj"
        );
        assert_eq!(super::hf_name("tok_emb"), "transformer.wte");
        assert_eq!(super::hf_name("lm_head"), "lm_head");
    }
}
