//! `Gpt`: a GPT-2-style causal decoder (pre-LayerNorm, GELU, learned positions, optional weight
//! tying) with an optional scalar value head.
//!
//! Reads top to bottom: config → layers (attention, MLP, block) → model forward → the
//! [`Policy`] implementation. Sampling (prefill, key/value cache, decoding steps) is in
//! [`decode`].

use super::sampling::{SamplingConfig, check_temperature};
use super::sequences::{Rollout, Sequences};
use super::{Policy, PolicyError, ResponseScores};
use crate::checkpoint::{self, CheckpointError};
use crate::host::gelu::gelu;
use crate::tokenizer::{PAD, Tokenizer};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::log_softmax;
use burn::tensor::module::{attention, embedding, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor};
use decode::{Decoding, KvCache, LayerCache, apply};
use std::path::Path;

mod decode;

/// Largest single size (layers, heads, widths, vocabulary, context) a [`GptConfig`] accepts.
const MAX_SIZE: usize = 1 << 24;
/// Most parameters a [`GptConfig`] accepts (40 GB of f32): a mistyped size is refused instead
/// of aborting the process on allocation.
const MAX_PARAMS: f64 = 1e10;

/// Shape and regularisation of a [`Gpt`].
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
}

impl GptConfig {
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

fn normal(shape: [usize; 2], std: f64, device: &Device) -> Tensor<2> {
    Tensor::random(shape, Distribution::Normal(0.0, std), device)
}

fn dense(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(normal([d_in, d_out], std, device)),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

fn dense_no_bias(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(normal([d_in, d_out], std, device)),
        bias: None,
    }
}

fn embedding_table(n: usize, d: usize, std: f64, device: &Device) -> Embedding {
    Embedding {
        weight: Param::from_tensor(normal([n, d], std, device)),
    }
}

/// Dropout that is active only on an autodiff device (training), never in `valid()` copies.
fn dropout<const D: usize>(x: Tensor<D>, p: f64) -> Tensor<D> {
    if p == 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let keep = x.random_like(Distribution::Bernoulli(1.0 - p));
    x * keep / (1.0 - p)
}

/// Which keys each query may see: `None` is plain causal masking without padding (the fused
/// fast path); `Some` is an explicit `[B or 1, 1, Tq, Tk]` mask, `true` = hidden.
type AttnMask = Option<Tensor<4, Bool>>;

/// Multi-head causal self-attention with a fused q/k/v projection.
#[derive(Module, Debug)]
struct Attention {
    qkv: Linear,
    proj: Linear,
    n_head: usize,
}

impl Attention {
    /// `x` `[B, T, d]` → `[B, T, d]`. With a cache, the new keys/values are written at
    /// positions `start..start + T` and the queries attend to everything cached so far.
    fn forward(
        &self,
        x: Tensor<3>,
        mask: &AttnMask,
        cache: Option<(&mut LayerCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.n_head, d / self.n_head);
        let heads = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let weights = cache.as_ref().and_then(|(c, _)| c.weights.clone());
        let wt = |i: usize| weights.as_ref().map(|w| &w[i]);
        let mut qkv = apply(x, &self.qkv, wt(0))
            .chunk(3, 2)
            .into_iter()
            .map(heads);
        let (q, k, v) = (
            qkv.next().unwrap(),
            qkv.next().unwrap(),
            qkv.next().unwrap(),
        );
        let (k, v) = match cache {
            None => (k, v),
            Some((layer, start)) => {
                let end = start + t;
                // Written in place (the buffer is uniquely owned between steps); the queries
                // see the whole buffer and the mask hides the slots after `end`.
                let write = |slot: &mut Option<Tensor<4>>, new: Tensor<4>| {
                    let buf = slot.take().expect("cache buffer present");
                    let buf = buf.slice_assign([0..b, 0..h, start..end, 0..dh], new);
                    *slot = Some(buf.clone());
                    buf
                };
                (write(&mut layer.k, k), write(&mut layer.v, v))
            }
        };
        let options = AttentionModuleOptions {
            is_causal: mask.is_none(),
            ..Default::default()
        };
        let y = attention(q, k, v, mask.clone(), None, options);
        apply(y.swap_dims(1, 2).reshape([b, t, d]), &self.proj, wt(1))
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
        cache: Option<(&mut LayerCache, usize)>,
        p: f64,
    ) -> Tensor<3> {
        let weights = cache
            .as_ref()
            .and_then(|(c, _)| c.weights.as_ref())
            .map(|w| [w[2].clone(), w[3].clone()]);
        let wt = |i: usize| weights.as_ref().map(|w| &w[i]);
        let a = self.attn.forward(self.ln_1.forward(x.clone()), mask, cache);
        let x = x + dropout(a, p);
        let hidden = gelu(apply(self.ln_2.forward(x.clone()), &self.fc, wt(0)));
        let m = apply(hidden, &self.fc_proj, wt(1));
        x + dropout(m, p)
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

    /// Final hidden states `[B, T, d]` of `tokens` at `positions`.
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
        let start = cache.as_ref().map_or(0, |c| c.len);
        for (i, block) in self.blocks.iter().enumerate() {
            let layer = cache.as_deref_mut().map(|c| (&mut c.layers[i], start));
            x = block.forward(x, mask, layer, self.dropout);
        }
        if let Some(c) = cache {
            c.len += t;
        }
        self.ln_f.forward(x)
    }

    /// Next-token logits `[B, T, V]` from hidden states.
    fn logits(&self, h: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => linear(h, self.tok_emb.weight.val().transpose(), None),
        }
    }

    fn values(&self, h: Tensor<3>) -> Option<Tensor<2>> {
        self.value_head
            .as_ref()
            .map(|vh| vh.forward(h).squeeze_dim::<2>(2))
    }

    /// Mask for `t` queries at absolute positions `start..start + t` over `keys` key slots:
    /// causal (slot > query position is hidden), plus left-padding keys when `key_pad`
    /// (`[B, ≥keys]`) is given. Padded queries still see the earlier padding, so no row is fully
    /// masked. Without padding and with `keys == start + t` the fused causal path is used.
    fn attn_mask(
        key_pad: Option<&Tensor<2, Bool>>,
        start: usize,
        t: usize,
        keys: usize,
        device: &Device,
    ) -> AttnMask {
        if key_pad.is_none() && keys == start + t {
            return None;
        }
        let future =
            Tensor::<2, Bool>::tril_mask([t, keys], start as i64, device).reshape([1, 1, t, keys]);
        match key_pad {
            None => Some(future),
            Some(pad) => {
                let b = pad.dims()[0];
                let pad = pad.clone().to_device(device);
                let key = pad.clone().slice([0..b, 0..keys]).reshape([b, 1, 1, keys]);
                let query_real = pad
                    .slice([0..b, start..start + t])
                    .bool_not()
                    .reshape([b, 1, t, 1]);
                let hidden_pad = key
                    .expand([b, 1, t, keys])
                    .bool_and(query_real.expand([b, 1, t, keys]));
                Some(future.expand([b, 1, t, keys]).bool_or(hidden_pad))
            }
        }
    }

    /// A copy with a freshly initialised scalar value head (the critic PPO's GAE needs), or
    /// `self` unchanged if it already has one.
    pub fn with_value_head(&self) -> Self {
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

    /// Final-layer hidden state `[B, d_model]` at each row's last real token (`lens[b]` real
    /// tokens from the start of right-padded rows): the sequence embedding the reference
    /// code's reward heads read from the frozen policy backbone.
    pub fn embed(&self, tokens: &[Vec<u32>]) -> Result<Tensor<2>, PolicyError> {
        let device = self.tok_emb.weight.device();
        let lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let l = lens.iter().copied().max().unwrap_or(0);
        if l == 0 || lens.contains(&0) {
            return Err(PolicyError::EmptyPrompt);
        }
        if l > self.config.max_len {
            return Err(PolicyError::TooLong {
                prompt: l,
                response: 0,
                max_len: self.config.max_len,
            });
        }
        let prompts: Vec<Vec<u32>> = tokens.iter().map(|t| vec![t[0]]).collect();
        let rest: Vec<Vec<u32>> = tokens
            .iter()
            .map(|t| {
                let mut r = t[1..].to_vec();
                r.resize(l - 1, PAD);
                r
            })
            .collect();
        let seqs = Sequences::from_parts(&prompts, &rest, self.config.vocab_size, &device)?;
        let h = self.hidden(seqs.tokens, seqs.positions, &None, None);
        let last: Vec<i64> = lens.iter().map(|&n| n as i64 - 1).collect();
        let b = lens.len();
        let idx = Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(last, [b]), &device)
            .reshape([b, 1, 1])
            .expand([b, 1, self.config.d_model]);
        Ok(h.gather(1, idx).reshape([b, self.config.d_model]))
    }

    /// Full forward over `seqs`: logits `[B, L, V]` (and values `[B, L]` with a value head).
    pub fn forward(&self, seqs: &Sequences) -> (Tensor<3>, Option<Tensor<2>>) {
        let device = self.tok_emb.weight.device();
        let t = seqs.dims()[1];
        let mask = Self::attn_mask(seqs.key_pad.as_ref(), 0, t, t, &device);
        let h = self.hidden(seqs.tokens.clone(), seqs.positions.clone(), &mask, None);
        (self.logits(h.clone()), self.values(h))
    }
}

impl Policy for Gpt {
    fn sample(&self, prompts: &[Vec<u32>], cfg: &SamplingConfig) -> Result<Rollout, PolicyError> {
        let model = self.valid();
        let decoding = Decoding::choose(cfg, &model.device());
        model.generate(prompts, cfg, decoding)
    }

    fn score(&self, seqs: &Sequences, temperature: f32) -> Result<ResponseScores, PolicyError> {
        check_temperature(temperature)?;
        let device = self.tok_emb.weight.device();
        let [b, l] = seqs.dims();
        let p = seqs.prompt_len;
        if p == 0 || l <= p {
            return Err(PolicyError::BadConfig(format!(
                "sequences of {l} tokens with a {p}-token prompt: scoring needs at least one \
                 prompt token (BOS) and one response token"
            )));
        }
        if l > self.config.max_len {
            return Err(PolicyError::TooLong {
                prompt: p,
                response: l - p,
                max_len: self.config.max_len,
            });
        }
        let mask = Self::attn_mask(seqs.key_pad.as_ref(), 0, l, l, &device);
        let h = self.hidden(seqs.tokens.clone(), seqs.positions.clone(), &mask, None);
        // The state before response token j is position p - 1 + j.
        let h = h.narrow(1, p - 1, l - p);
        let logits = self.logits(h.clone()) / temperature;
        let targets = seqs.response().to_device(&device).reshape([b, l - p, 1]);
        let log_probs = log_softmax(logits, 2)
            .gather(2, targets)
            .squeeze_dim::<2>(2);
        Ok(ResponseScores {
            log_probs,
            values: self.values(h),
        })
    }

    fn has_value_head(&self) -> bool {
        self.value_head.is_some()
    }

    fn device(&self) -> Device {
        self.tok_emb.weight.device()
    }

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn max_len(&self) -> Option<usize> {
        Some(self.config.max_len)
    }

    fn architecture(&self) -> serde_json::Value {
        // Everything but dropout, which does not change what the weights mean.
        let mut config = serde_json::to_value(&self.config).unwrap_or_default();
        if let Some(c) = config.as_object_mut() {
            c.remove("dropout");
        }
        config
    }

    fn with_extra_tokens(&self, extra: usize) -> Self {
        // Grow plain tensors (new leaves), then restore the original mode.
        let training = self.device().is_autodiff();
        let mut out = self.valid();
        let device = out.device();
        let d = self.config.d_model;
        let grow = |w: Tensor<2>, dim: usize| {
            let mut shape = w.dims();
            shape[dim] = extra;
            Tensor::cat(vec![w, normal(shape, 0.02, &device)], dim)
        };
        out.tok_emb.weight = out.tok_emb.weight.map(|w| grow(w, 0));
        if let Some(head) = out.lm_head.as_mut() {
            head.weight = head.weight.clone().map(|w| grow(w, 1));
        }
        out.config.vocab_size += extra;
        debug_assert_eq!(out.tok_emb.weight.dims(), [out.config.vocab_size, d]);
        if training { out.train() } else { out }
    }

    fn save(&self, dir: &Path, tokenizer: &dyn Tokenizer) -> Result<(), CheckpointError> {
        checkpoint::save_module(dir, self.clone(), &self.config, Some(tokenizer))
    }

    fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let config: GptConfig = checkpoint::load_config(dir)?;
        config.validate().map_err(CheckpointError::BadConfig)?;
        checkpoint::check_weights_size(dir, config.num_params())?;
        checkpoint::load_weights(dir, config.init(device))
    }
}
