//! `Llama`: the Llama family of causal decoders — Hugging Face's `LlamaForCausalLM` and
//! `Qwen2ForCausalLM` (SmolLM2, TinyLlama, Qwen2.5 shapes): RMSNorm, rotary positions in the
//! `rotate_half` convention with base `rope_theta`, SwiGLU MLP, grouped- and multi-query
//! attention, tied or untied head, Qwen2's q/k/v biases — with an optional scalar value head.
//!
//! The modules are named as Hugging Face names its parameters (`model.layers.N.self_attn.q_proj`
//! …), so its checkpoints load with Burn's PyTorch adapter and no key map
//! ([`super::hf::llama`]). Reads top to bottom: config → layers (attention, MLP, layer) → model
//! forward → the [`CausalLm`] implementation.

use super::causal_lm::{AttnMask, CausalLm, KvCache, LmShape};
use super::hf::is_hf_dir;
use super::hf::llama::{self as hf_llama, LlamaConfig, LlamaKind};
use super::layers::{dense, dense_no_bias, embedding_table, grow, grow_rng};
use super::lm_policy::causal_lm_policy;
use super::{Policy, PolicyError};
use crate::checkpoint::CheckpointError;
use crate::host::decode::rope_inv_freq;
use crate::host::view::{HostBlock, HostMlp, HostModel, HostNorm, HostPositions};
use crate::tokenizer::{Specials, Tokenizer};
use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::silu;
use burn::tensor::module::{attention, embedding, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::Path;

impl LlamaConfig {
    /// Initialise with Hugging Face's scheme: N(0, 0.02) weights, zero biases, unit norms.
    ///
    /// # Panics
    /// If [`LlamaConfig::validate`] fails.
    pub fn init(&self, device: &Device) -> Llama {
        if let Err(e) = self.validate() {
            panic!("invalid LlamaConfig: {e}");
        }
        let std = 0.02;
        let (d, dh) = (self.hidden_size, self.head_dim);
        let linear = |i: usize, o: usize, bias: bool| match bias {
            true => dense(i, o, std, device),
            false => dense_no_bias(i, o, std, device),
        };
        let norm = || RmsNorm {
            gamma: Param::from_tensor(Tensor::ones([d], device)),
            epsilon: self.rms_norm_eps,
        };
        let (q, kv) = (self.num_attention_heads * dh, self.num_key_value_heads * dh);
        let layers = (0..self.num_hidden_layers)
            .map(|_| DecoderLayer {
                self_attn: SelfAttention {
                    q_proj: linear(d, q, self.qkv_bias()),
                    k_proj: linear(d, kv, self.qkv_bias()),
                    v_proj: linear(d, kv, self.qkv_bias()),
                    o_proj: linear(q, d, self.attention_bias),
                    n_head: self.num_attention_heads,
                    n_kv_head: self.num_key_value_heads,
                    head_dim: dh,
                },
                mlp: Mlp {
                    gate_proj: linear(d, self.intermediate_size, self.mlp_bias),
                    up_proj: linear(d, self.intermediate_size, self.mlp_bias),
                    down_proj: linear(self.intermediate_size, d, self.mlp_bias),
                },
                input_layernorm: norm(),
                post_attention_layernorm: norm(),
            })
            .collect();
        Llama {
            model: Body {
                embed_tokens: embedding_table(self.vocab_size, d, std, device),
                layers,
                norm: norm(),
            },
            lm_head: (!self.tie_word_embeddings).then(|| linear(d, self.vocab_size, false)),
            value_head: self.value_head.then(|| dense(d, 1, std, device)),
            config: self.clone(),
        }
    }
}

/// `x·cos + rotate_half(x)·sin` for `x` `[B, H, T, d_head]` and `cos`, `sin` `[B, 1, T, d_head]`.
fn rotate(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let half = x.dims()[3] / 2;
    let first = x.clone().narrow(3, 0, half);
    let second = x.clone().narrow(3, half, half);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos.clone() + rotated * sin.clone()
}

/// Causal self-attention with rotary positions and `n_head / n_kv_head` query heads per
/// key/value head.
#[derive(Module, Debug)]
struct SelfAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
}

impl SelfAttention {
    fn forward(
        &self,
        x: Tensor<3>,
        rope: &(Tensor<4>, Tensor<4>),
        mask: &AttnMask,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, g, dh) = (self.n_head, self.n_kv_head, self.head_dim);
        let heads = |y: Tensor<3>, n: usize| y.reshape([b, t, n, dh]).swap_dims(1, 2);
        let q = rotate(heads(self.q_proj.forward(x.clone()), h), &rope.0, &rope.1);
        let k = rotate(heads(self.k_proj.forward(x.clone()), g), &rope.0, &rope.1);
        let v = heads(self.v_proj.forward(x), g);
        let (k, v) = match cache {
            None => (k, v),
            Some((cache, layer)) => {
                let start = cache.len();
                cache.layer(layer).write(k, v, start)
            }
        };
        // Each key/value head serves `h / g` consecutive query heads.
        let repeat = |y: Tensor<4>| {
            if g == h {
                return y;
            }
            let [b, _, s, _] = y.dims();
            y.reshape([b, g, 1, s, dh])
                .expand([b, g, h / g, s, dh])
                .reshape([b, h, s, dh])
        };
        let options = AttentionModuleOptions {
            is_causal: mask.is_none(),
            ..Default::default()
        };
        let y = attention(q, repeat(k), repeat(v), mask.clone(), None, options);
        self.o_proj
            .forward(y.swap_dims(1, 2).reshape([b, t, h * dh]))
    }
}

/// SwiGLU: `down(SiLU(gate x) · up x)`.
#[derive(Module, Debug)]
struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

/// Pre-RMSNorm decoder layer.
#[derive(Module, Debug)]
struct DecoderLayer {
    self_attn: SelfAttention,
    mlp: Mlp,
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
}

/// Embeddings, layers and the final norm (Hugging Face's `model.`).
#[derive(Module, Debug)]
struct Body {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
}

/// A Llama-family causal decoder policy. See the module docs.
#[derive(Module, Debug)]
pub struct Llama {
    model: Body,
    lm_head: Option<Linear>,
    value_head: Option<Linear>,
    #[module(skip)]
    config: LlamaConfig,
}

impl Llama {
    /// The model's configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// With these special tokens (e.g. a Hugging Face tokenizer's).
    pub fn with_specials(mut self, specials: Specials) -> Self {
        self.config.specials = specials;
        self
    }

    /// The same model without its value head (what an export writes).
    pub(crate) fn without_value_head(&self) -> Self {
        let mut out = self.clone();
        out.value_head = None;
        out.config.value_head = false;
        out
    }

    /// `cos` and `sin` `[B, 1, T, d_head]` of the rotary angles at `positions` `[B, T]`.
    fn rope_tables(&self, positions: Tensor<2, Int>) -> (Tensor<4>, Tensor<4>) {
        let device = self.model.embed_tokens.weight.device();
        let [b, t] = positions.dims();
        let inv_freq = rope_inv_freq(self.config.rope_theta, self.config.head_dim);
        let half = inv_freq.len();
        let inv_freq = Tensor::<1>::from_data(TensorData::new(inv_freq, [half]), &device);
        let angles = positions.to_device(&device).float().reshape([b, t, 1])
            * inv_freq.reshape([1, 1, half]);
        let angles = Tensor::cat(vec![angles.clone(), angles], 2).reshape([b, 1, t, 2 * half]);
        (angles.clone().cos(), angles.sin())
    }
}

impl CausalLm for Llama {
    fn family(&self) -> &'static str {
        match self.config.kind {
            LlamaKind::Llama => "llama",
            LlamaKind::Qwen2 => "qwen2",
        }
    }

    fn shape(&self) -> LmShape {
        let c = &self.config;
        LmShape {
            vocab_size: c.vocab_size,
            max_len: c.max_position_embeddings,
            d_model: c.hidden_size,
            n_layer: c.num_hidden_layers,
            n_kv_head: c.num_key_value_heads,
            head_dim: c.head_dim,
        }
    }

    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mask: &AttnMask,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = self.model.embed_tokens.weight.device();
        let t = tokens.dims()[1];
        let rope = self.rope_tables(positions);
        let mut x = embedding(
            self.model.embed_tokens.weight.val(),
            tokens.to_device(&device),
        );
        for (i, layer) in self.model.layers.iter().enumerate() {
            let cached = cache.as_deref_mut().map(|c| (c, i));
            let a = layer.self_attn.forward(
                layer.input_layernorm.forward(x.clone()),
                &rope,
                mask,
                cached,
            );
            x = x + a;
            let h = layer.post_attention_layernorm.forward(x.clone());
            let gated = silu(layer.mlp.gate_proj.forward(h.clone())) * layer.mlp.up_proj.forward(h);
            x = x + layer.mlp.down_proj.forward(gated);
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        self.model.norm.forward(x)
    }

    fn logits(&self, h: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => linear(h, self.model.embed_tokens.weight.val().transpose(), None),
        }
    }

    fn value_head(&self) -> Option<&Linear> {
        self.value_head.as_ref()
    }

    fn with_value_head(&self) -> Self {
        if self.value_head.is_some() {
            return self.clone();
        }
        let training = Policy::device(self).is_autodiff();
        let mut out = self.valid();
        let device = Policy::device(&out);
        out.value_head = Some(dense(self.config.hidden_size, 1, 0.02, &device));
        out.config.value_head = true;
        if training { out.train() } else { out }
    }

    fn host_view(&self) -> Option<HostModel<'_>> {
        let eps = self.config.rms_norm_eps;
        Some(HostModel {
            embed: &self.model.embed_tokens.weight,
            positions: HostPositions::Rope {
                theta: self.config.rope_theta,
            },
            blocks: self
                .model
                .layers
                .iter()
                .map(|l| HostBlock {
                    norm_1: HostNorm::Rms(&l.input_layernorm, eps),
                    qkv: vec![
                        &l.self_attn.q_proj,
                        &l.self_attn.k_proj,
                        &l.self_attn.v_proj,
                    ],
                    out: &l.self_attn.o_proj,
                    norm_2: HostNorm::Rms(&l.post_attention_layernorm, eps),
                    mlp: HostMlp::SwiGlu {
                        gate: &l.mlp.gate_proj,
                        up: &l.mlp.up_proj,
                        down: &l.mlp.down_proj,
                    },
                })
                .collect(),
            final_norm: HostNorm::Rms(&self.model.norm, eps),
            lm_head: self.lm_head.as_ref(),
            n_head: self.config.num_attention_heads,
            n_kv_head: self.config.num_key_value_heads,
            head_dim: self.config.head_dim,
        })
    }
}

impl Policy for Llama {
    causal_lm_policy!();

    fn specials(&self) -> Specials {
        self.config.specials.clone()
    }

    fn with_extra_tokens(&self, extra: usize, seed: u64) -> Result<Self, PolicyError> {
        let copies = 1 + usize::from(self.lm_head.is_some());
        crate::limits::extra_tokens(
            self.config.vocab_size,
            extra,
            self.config.hidden_size,
            copies,
        )
        .map_err(PolicyError::Unsupported)?;
        let training = Policy::device(self).is_autodiff();
        let mut out = self.valid();
        let mut rng = grow_rng(seed);
        out.model.embed_tokens.weight = out
            .model
            .embed_tokens
            .weight
            .map(|w| grow(w, 0, extra, &mut rng));
        if let Some(head) = out.lm_head.as_mut() {
            head.weight = head.weight.clone().map(|w| grow(w, 1, extra, &mut rng));
        }
        out.config.vocab_size += extra;
        Ok(if training { out.train() } else { out })
    }

    fn architecture(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    fn save(&self, dir: &Path, tokenizer: &dyn Tokenizer) -> Result<(), CheckpointError> {
        let config = &self.config;
        hf_llama::save(&self.without_value_head(), config, dir, tokenizer)
    }

    fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        if !is_hf_dir(dir) {
            return Err(CheckpointError::BadConfig(format!(
                "{} is not a Hugging Face directory (config.json with a model_type and \
                 model.safetensors): a Llama is saved only in Hugging Face's format",
                dir.display()
            )));
        }
        let config = hf_llama::read_config(dir)?;
        hf_llama::load_weights(config.init(device), dir, &config)
    }

    fn device(&self) -> Device {
        self.model.embed_tokens.weight.device()
    }
}
