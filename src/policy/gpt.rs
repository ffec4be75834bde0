//! `Gpt`: a GPT-2-style causal decoder (pre-LayerNorm, GELU exact or in its tanh form, learned
//! positions, optional weight tying) with an optional scalar value head — our own family, and
//! Hugging Face's `GPT2LMHeadModel` (same layers; [`super::hf::gpt2`] maps the names).
//!
//! Reads top to bottom: config → layers (attention, MLP, block) → model forward → the
//! [`CausalLm`] implementation (sampling and scoring come from [`super::generate`]).

use super::causal_lm::{AttnMask, CausalLm, KvCache, LmShape};
use super::gpt_config::{Activation, GptConfig};
use super::hf::{gpt2, is_hf_dir};
use super::layers::{dense, dense_no_bias, dropout, embedding_table, grow, grow_rng};
use super::lm_policy::causal_lm_policy;
use super::{Policy, PolicyError};
use crate::checkpoint::{self, CheckpointError, Format};
use crate::host::gelu::gelu;
use crate::host::view::{HostBlock, HostMlp, HostModel, HostNorm, HostPositions};
use crate::tokenizer::{Specials, Tokenizer};
use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::module::{attention, embedding, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor};
use std::path::Path;

impl GptConfig {
    /// Initialise a model with GPT-2's scheme: N(0, 0.02) weights, zero biases, residual
    /// projections scaled by 1/√(2·n_layer).
    ///
    /// # Panics
    /// If [`GptConfig::validate`] fails.
    pub fn init(&self, device: &Device) -> Gpt {
        if let Err(e) = self.validate() {
            panic!("invalid GptConfig: {e}");
        }
        let std = 0.02;
        let resid_std = std / (2.0 * self.n_layer as f64).sqrt();
        let blocks = (0..self.n_layer)
            .map(|_| Block {
                ln_1: self.layer_norm(device),
                attn: Attention {
                    qkv: dense(self.d_model, 3 * self.d_model, std, device),
                    proj: dense(self.d_model, self.d_model, resid_std, device),
                    n_head: self.n_head,
                },
                ln_2: self.layer_norm(device),
                fc: dense(self.d_model, self.d_ff, std, device),
                fc_proj: dense(self.d_ff, self.d_model, resid_std, device),
            })
            .collect();
        Gpt {
            tok_emb: embedding_table(self.vocab_size, self.d_model, std, device),
            pos_emb: embedding_table(self.max_len, self.d_model, std, device),
            blocks,
            ln_f: self.layer_norm(device),
            lm_head: (!self.tie_weights)
                .then(|| dense_no_bias(self.d_model, self.vocab_size, std, device)),
            value_head: self.value_head.then(|| dense(self.d_model, 1, std, device)),
            dropout: self.dropout,
            config: self.clone(),
        }
    }

    fn layer_norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.d_model)
            .with_epsilon(self.layer_norm_eps)
            .init(device)
    }
}

/// Multi-head causal self-attention with a fused q/k/v projection.
#[derive(Module, Debug)]
struct Attention {
    qkv: Linear,
    proj: Linear,
    n_head: usize,
}

impl Attention {
    /// `x` `[B, T, d]` → `[B, T, d]`. With a cache, the new keys/values are written at slots
    /// `start..start + T` and the queries attend to everything cached so far.
    fn forward(
        &self,
        x: Tensor<3>,
        mask: &AttnMask,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.n_head, d / self.n_head);
        let heads = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let mut qkv = self.qkv.forward(x).chunk(3, 2).into_iter().map(heads);
        let (q, k, v) = (
            qkv.next().unwrap(),
            qkv.next().unwrap(),
            qkv.next().unwrap(),
        );
        let (k, v) = match cache {
            None => (k, v),
            Some((cache, layer)) => {
                let start = cache.len();
                cache.layer(layer).write(k, v, start)
            }
        };
        let options = AttentionModuleOptions {
            is_causal: mask.is_none(),
            ..Default::default()
        };
        let y = attention(q, k, v, mask.clone(), None, options);
        self.proj.forward(y.swap_dims(1, 2).reshape([b, t, d]))
    }
}

/// Pre-LayerNorm transformer block: `x + attn(ln(x))`, then `x + mlp(ln(x))`.
#[derive(Module, Debug)]
struct Block {
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    fc: Linear,
    fc_proj: Linear,
}

impl Block {
    fn forward(
        &self,
        x: Tensor<3>,
        mask: &AttnMask,
        cache: Option<(&mut KvCache, usize)>,
        p: f64,
        activation: Activation,
    ) -> Tensor<3> {
        let a = self.attn.forward(self.ln_1.forward(x.clone()), mask, cache);
        let x = x + dropout(a, p);
        let pre = self.fc.forward(self.ln_2.forward(x.clone()));
        let hidden = match activation {
            Activation::Gelu => gelu(pre),
            Activation::GeluTanh => gelu_approximate(pre),
        };
        x + dropout(self.fc_proj.forward(hidden), p)
    }
}

/// GPT-2-style causal decoder policy. See the module docs.
#[derive(Module, Debug)]
pub struct Gpt {
    tok_emb: Embedding,
    pos_emb: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Option<Linear>,
    value_head: Option<Linear>,
    dropout: f64,
    #[module(skip)]
    config: GptConfig,
}

impl Gpt {
    /// The model's configuration.
    pub fn config(&self) -> &GptConfig {
        &self.config
    }

    /// The same weights with dropout switched off, as TRL's PPO does by default
    /// (`disable_dropout`): PPO's probability ratios then compare the policy with itself
    /// rather than with a randomly thinned copy.
    pub fn without_dropout(mut self) -> Self {
        self.dropout = 0.0;
        self.config.dropout = 0.0;
        self
    }

    /// The same model saved as `format` from now on (e.g. our GPT exported in GPT-2 layout).
    pub fn with_format(mut self, format: Format) -> Self {
        self.config.format = Some(format);
        self
    }

    /// With these special tokens (e.g. a Hugging Face tokenizer's).
    pub fn with_specials(mut self, specials: Specials) -> Self {
        self.config.specials = Some(specials);
        self
    }

    /// The same model without its value head (what an export writes).
    pub(crate) fn without_value_head(&self) -> Self {
        let mut out = self.clone();
        out.value_head = None;
        out.config.value_head = false;
        out
    }
}

impl CausalLm for Gpt {
    fn family(&self) -> &'static str {
        match self.config.format() {
            Format::Native => "gpt",
            Format::HuggingFace => "gpt2",
        }
    }

    fn shape(&self) -> LmShape {
        let c = &self.config;
        LmShape {
            vocab_size: c.vocab_size,
            max_len: c.max_len,
            d_model: c.d_model,
            n_layer: c.n_layer,
            n_kv_head: c.n_head,
            head_dim: c.d_model / c.n_head,
        }
    }

    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mask: &AttnMask,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = self.tok_emb.weight.device();
        let t = tokens.dims()[1];
        let tok = embedding(self.tok_emb.weight.val(), tokens.to_device(&device));
        let pos = embedding(self.pos_emb.weight.val(), positions.to_device(&device));
        let mut x = dropout(tok + pos, self.dropout);
        for (i, block) in self.blocks.iter().enumerate() {
            let layer = cache.as_deref_mut().map(|c| (c, i));
            x = block.forward(x, mask, layer, self.dropout, self.config.activation());
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        self.ln_f.forward(x)
    }

    fn logits(&self, h: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => linear(h, self.tok_emb.weight.val().transpose(), None),
        }
    }

    fn value_head(&self) -> Option<&Linear> {
        self.value_head.as_ref()
    }

    fn with_value_head(&self) -> Self {
        if self.value_head.is_some() {
            return self.clone();
        }
        let training = self.tok_emb.weight.device().is_autodiff();
        let mut out = self.valid();
        let device = out.tok_emb.weight.device();
        out.value_head = Some(dense(self.config.d_model, 1, 0.02, &device));
        out.config.value_head = true;
        if training { out.train() } else { out }
    }

    fn host_view(&self) -> Option<HostModel<'_>> {
        let eps = self.config.layer_norm_eps;
        let tanh = self.config.activation() == Activation::GeluTanh;
        Some(HostModel {
            embed: &self.tok_emb.weight,
            positions: HostPositions::Learned(&self.pos_emb.weight),
            blocks: self
                .blocks
                .iter()
                .map(|blk| HostBlock {
                    norm_1: HostNorm::Layer(&blk.ln_1, eps),
                    qkv: vec![&blk.attn.qkv],
                    out: &blk.attn.proj,
                    norm_2: HostNorm::Layer(&blk.ln_2, eps),
                    mlp: HostMlp::Gelu {
                        fc: &blk.fc,
                        proj: &blk.fc_proj,
                        tanh,
                    },
                })
                .collect(),
            final_norm: HostNorm::Layer(&self.ln_f, eps),
            lm_head: self.lm_head.as_ref(),
            n_head: self.config.n_head,
            n_kv_head: self.config.n_head,
            head_dim: self.config.d_model / self.config.n_head,
        })
    }
}

impl Policy for Gpt {
    causal_lm_policy!();

    fn specials(&self) -> Specials {
        self.config.specials()
    }

    fn with_extra_tokens(&self, extra: usize, seed: u64) -> Result<Self, PolicyError> {
        let copies = 1 + usize::from(self.lm_head.is_some());
        crate::limits::extra_tokens(self.config.vocab_size, extra, self.config.d_model, copies)
            .map_err(PolicyError::Unsupported)?;
        // Grow plain tensors (new leaves), then restore the original mode.
        let training = self.tok_emb.weight.device().is_autodiff();
        let mut out = self.valid();
        let mut rng = grow_rng(seed);
        out.tok_emb.weight = out.tok_emb.weight.map(|w| grow(w, 0, extra, &mut rng));
        if let Some(head) = out.lm_head.as_mut() {
            head.weight = head.weight.clone().map(|w| grow(w, 1, extra, &mut rng));
        }
        out.config.vocab_size += extra;
        Ok(if training { out.train() } else { out })
    }

    fn architecture(&self) -> serde_json::Value {
        // Everything that changes what the weights mean: not dropout, not the save format.
        let mut config = serde_json::to_value(&self.config).unwrap_or_default();
        if let Some(c) = config.as_object_mut() {
            c.remove("dropout");
            c.remove("format");
            c.insert(
                "activation".into(),
                serde_json::json!(self.config.activation()),
            );
            c.insert("specials".into(), serde_json::json!(self.config.specials()));
        }
        config
    }

    fn save(&self, dir: &Path, tokenizer: &dyn Tokenizer) -> Result<(), CheckpointError> {
        match self.config.format() {
            Format::Native => {
                checkpoint::save_module(dir, self.clone(), &self.config, Some(tokenizer))
            }
            Format::HuggingFace => {
                gpt2::save(&self.without_value_head(), &self.config, dir, tokenizer)
            }
        }
    }

    fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        if is_hf_dir(dir) {
            let config = gpt2::read_config(dir)?;
            return gpt2::load_weights(config.init(device), dir, &config);
        }
        let config: GptConfig = checkpoint::load_config(dir)?;
        config.validate().map_err(CheckpointError::BadConfig)?;
        checkpoint::check_weights_size(dir, config.num_params())?;
        checkpoint::load_weights(dir, config.init(device))
    }

    fn device(&self) -> Device {
        self.tok_emb.weight.device()
    }
}
