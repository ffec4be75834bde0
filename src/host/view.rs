//! How a model family describes its layers to the host decoding path: borrowed views of its
//! Burn modules ([`HostModel`] and its parts). Nothing here knows a model type.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear, RmsNorm};
use burn::tensor::Tensor;

/// A normalisation layer and its epsilon.
#[derive(Clone, Copy)]
pub enum HostNorm<'a> {
    /// LayerNorm (GPT-2, ours).
    Layer(&'a LayerNorm, f64),
    /// RMSNorm (Llama, Qwen2).
    Rms(&'a RmsNorm, f64),
}

/// How a family encodes positions.
#[derive(Clone, Copy)]
pub enum HostPositions<'a> {
    /// A learned table `[max_len, d]` added to the token embedding.
    Learned(&'a Param<Tensor<2>>),
    /// Rotary embedding of queries and keys in the `rotate_half` convention (Hugging Face's
    /// Llama) with base `theta`.
    Rope {
        /// The RoPE base (`rope_theta`).
        theta: f64,
    },
}

/// A block's MLP.
#[derive(Clone, Copy)]
pub enum HostMlp<'a> {
    /// `proj(GELU(fc x))`, GELU exact (`tanh: false`) or in its tanh form.
    Gelu {
        /// Input projection.
        fc: &'a Linear,
        /// Output projection.
        proj: &'a Linear,
        /// GELU in its tanh form (`gelu_new`).
        tanh: bool,
    },
    /// `down(SiLU(gate x) · up x)`.
    SwiGlu {
        /// Gate projection.
        gate: &'a Linear,
        /// Up projection.
        up: &'a Linear,
        /// Down projection.
        down: &'a Linear,
    },
}

/// One pre-norm block: `x + out(attn(qkv(norm_1 x)))`, then `x + mlp(norm_2 x)`.
pub struct HostBlock<'a> {
    /// The norm before attention.
    pub norm_1: HostNorm<'a>,
    /// Query, key and value projections: one fused layer (`[d, (H + 2·KV)·d_head]`) or three.
    pub qkv: Vec<&'a Linear>,
    /// Attention output projection.
    pub out: &'a Linear,
    /// The norm before the MLP.
    pub norm_2: HostNorm<'a>,
    /// The MLP.
    pub mlp: HostMlp<'a>,
}

/// A causal transformer's layers as the CPU decoding fast path reads them; a family returns it
/// from [`CausalLm::host_view`](crate::policy::CausalLm::host_view), or `None` to decode through
/// Burn.
pub struct HostModel<'a> {
    /// Token embedding `[vocab, d]`.
    pub embed: &'a Param<Tensor<2>>,
    /// Position encoding.
    pub positions: HostPositions<'a>,
    /// The blocks.
    pub blocks: Vec<HostBlock<'a>>,
    /// The final norm.
    pub final_norm: HostNorm<'a>,
    /// The LM head (`None`: tied to the token embedding).
    pub lm_head: Option<&'a Linear>,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_kv_head: usize,
    /// Width of a head.
    pub head_dim: usize,
}
