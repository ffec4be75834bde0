//! [`CausalLm`]: what a model family implements — a forward pass over tokens at positions with
//! an optional key/value cache, the LM head, and its checkpoint format. Sampling, scoring and
//! the [`Policy`](super::Policy) implementation come from the generic code
//! ([`super::generate`], [`super::lm_policy`]), so a family is one file with no sampling code.

use super::sequences::Sequences;
use super::{Policy, PolicyError};
use crate::host::view::HostModel;
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// Which keys each query may see: `None` is plain causal masking without padding (the fused
/// fast path); `Some` is an explicit `[B or 1, 1, Tq, Tk]` mask, `true` = hidden.
pub type AttnMask = Option<Tensor<4, Bool>>;

/// Mask for `t` queries at cache slots `start..start + t` over `keys` key slots: causal (slot >
/// query slot is hidden), plus left-padding keys when `key_pad` (`[B, ≥keys]`) is given.
/// Padded queries still see the earlier padding, so no row is fully masked. Without padding and
/// with `keys == start + t` the fused causal path is used.
pub fn attn_mask(
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

/// The sizes the generic sampling and scoring code needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LmShape {
    /// Token ids the model scores.
    pub vocab_size: usize,
    /// Longest sequence (prompt + response) the model accepts.
    pub max_len: usize,
    /// Residual stream width.
    pub d_model: usize,
    /// Transformer blocks (one cache layer each).
    pub n_layer: usize,
    /// Key/value heads per block.
    pub n_kv_head: usize,
    /// Width of a head.
    pub head_dim: usize,
}

/// Preallocated keys and values of one block, `[B, KV heads, capacity, d_head]` each.
pub struct LayerKv {
    pub(crate) k: Option<Tensor<4>>,
    pub(crate) v: Option<Tensor<4>>,
}

impl LayerKv {
    /// Write `k` and `v` (`[B, KV, t, d_head]`) at slots `start..start + t`, in place (the
    /// buffers are uniquely owned between steps), and return the whole buffers: queries attend
    /// over all of them and the mask hides the slots not written yet.
    pub fn write(&mut self, k: Tensor<4>, v: Tensor<4>, start: usize) -> (Tensor<4>, Tensor<4>) {
        let [b, h, t, dh] = k.dims();
        let put = |slot: &mut Option<Tensor<4>>, new: Tensor<4>| {
            let buf = slot.take().expect("cache buffer present");
            let buf = buf.slice_assign([0..b, 0..h, start..start + t, 0..dh], new);
            *slot = Some(buf.clone());
            buf
        };
        (put(&mut self.k, k), put(&mut self.v, v))
    }
}

/// Key/value cache for incremental decoding: one preallocated buffer pair per block, written
/// in place; the first `len` slots are filled.
pub struct KvCache {
    pub(crate) layers: Vec<LayerKv>,
    pub(crate) len: usize,
}

impl KvCache {
    /// Zeroed buffers for `batch` rows of up to `capacity` tokens.
    pub fn new(shape: &LmShape, batch: usize, capacity: usize, device: &Device) -> Self {
        let dims = [batch, shape.n_kv_head, capacity, shape.head_dim];
        Self {
            layers: (0..shape.n_layer)
                .map(|_| LayerKv {
                    k: Some(Tensor::zeros(dims, device)),
                    v: Some(Tensor::zeros(dims, device)),
                })
                .collect(),
            len: 0,
        }
    }

    /// Slots filled so far (where the next tokens' keys go).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Block `i`'s buffers.
    pub fn layer(&mut self, i: usize) -> &mut LayerKv {
        &mut self.layers[i]
    }

    /// Mark `t` more slots filled (after every block wrote them).
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }
}

/// A causal transformer family: what it implements for the generic sampling loop (prefill,
/// key/value cache, temperature, top-k/top-p, stop at EOS, log-probabilities) and scoring.
/// Our GPT ([`super::Gpt`], also Hugging Face's GPT-2) and the Llama family ([`super::Llama`],
/// also Qwen2) implement it.
///
/// A family is also a [`Policy`]: what is its own (device, special tokens, checkpoint format,
/// extra vocabulary) it writes, and sampling and scoring are one line each —
/// [`super::sample`] and [`super::score`] — as are `has_value_head`, `vocab_size` and `max_len`
/// from [`CausalLm::value_head`] and [`CausalLm::shape`].
pub trait CausalLm: Policy + Clone + std::fmt::Debug + Send + Sync {
    /// The family's name (`"gpt"`, `"gpt2"`, `"llama"`, `"qwen2"`).
    fn family(&self) -> &'static str;

    /// Sizes.
    fn shape(&self) -> LmShape;

    /// Final hidden states `[B, T, d]` (after the last norm) of `tokens` at `positions` (count
    /// real tokens: left padding does not shift them), attending as `mask` says. With a cache,
    /// the new keys and values go to slots `cache.len()..` and the cache advances by `T`.
    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mask: &AttnMask,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3>;

    /// Next-token logits `[B, T, V]` from hidden states.
    fn logits(&self, hidden: Tensor<3>) -> Tensor<3>;

    /// The scalar value head (PPO's critic), if any.
    fn value_head(&self) -> Option<&Linear>;

    /// A copy with a freshly initialised value head, or `self` if it has one.
    fn with_value_head(&self) -> Self;

    /// The layers as the CPU decoding fast path reads them (`None`: decode through Burn).
    fn host_view(&self) -> Option<HostModel<'_>> {
        None
    }

    /// Values `[B, T]` of hidden states, with a value head.
    fn values(&self, hidden: Tensor<3>) -> Option<Tensor<2>> {
        self.value_head()
            .map(|vh| vh.forward(hidden).squeeze_dim::<2>(2))
    }

    /// Full forward over `seqs`: logits `[B, L, V]` (and values `[B, L]` with a value head).
    fn forward(&self, seqs: &Sequences) -> (Tensor<3>, Option<Tensor<2>>) {
        let t = seqs.dims()[1];
        let mask = attn_mask(seqs.key_pad.as_ref(), 0, t, t, &self.device());
        let h = self.hidden(seqs.tokens.clone(), seqs.positions.clone(), &mask, None);
        (self.logits(h.clone()), self.values(h))
    }

    /// Final-layer hidden state `[B, d_model]` at each row's last token (rows of any length,
    /// unpadded): the sequence embedding a reward head can read from a frozen backbone.
    fn embed(&self, tokens: &[Vec<u32>]) -> Result<Tensor<2>, PolicyError> {
        let shape = self.shape();
        let device = self.device();
        let lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let l = lens.iter().copied().max().unwrap_or(0);
        if l == 0 || lens.contains(&0) {
            return Err(PolicyError::EmptyPrompt);
        }
        if l > shape.max_len {
            return Err(PolicyError::TooLong {
                prompt: l,
                response: 0,
                max_len: shape.max_len,
            });
        }
        let prompts: Vec<Vec<u32>> = tokens.iter().map(|t| vec![t[0]]).collect();
        let rest: Vec<Vec<u32>> = tokens
            .iter()
            .map(|t| {
                let mut r = t[1..].to_vec();
                r.resize(l - 1, self.specials().pad);
                r
            })
            .collect();
        let seqs = Sequences::from_parts(&prompts, &rest, shape.vocab_size, &device)?;
        let h = self.hidden(seqs.tokens, seqs.positions, &None, None);
        let last: Vec<i64> = lens.iter().map(|&n| n as i64 - 1).collect();
        let b = lens.len();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(last, [b]), &device)
            .reshape([b, 1, 1])
            .expand([b, 1, shape.d_model]);
        Ok(h.gather(1, idx).reshape([b, shape.d_model]))
    }
}
