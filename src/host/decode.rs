//! One decoding step of a causal transformer on the host CPU, for sampling on the `flex`
//! backend. A model family describes its layers as borrowed views ([`HostModel`]: norms,
//! fused or split q/k/v, learned positions or RoPE, GELU or SwiGLU MLP, grouped-query heads);
//! nothing here knows a model type.
//!
//! A step of cached decoding multiplies `[B, d]` rows by every weight matrix once, attends over
//! the cached keys of each row and applies a handful of element-wise ops. Through Burn's CPU
//! backend that costs, besides the products, a gemm repacking of every weight per call (the
//! skinny left operand is too small to amortise it), two gemm calls per (row, head) over the
//! whole preallocated cache, and single-threaded element-wise kernels. Here the weights are
//! copied once per `sample` call into column panels that the `gemm` crate reads without
//! repacking (q/k/v and gate/up fused into one product each), attention reads only the filled
//! prefix, and the activations run vectorised on the rayon pool. The prompt (prefill) still
//! runs through Burn and hands over its keys and values.
//!
//! Same arithmetic as the Burn path up to float summation order and the activations' kernels
//! (≤ 1e-6): the tests draw the same tokens on both paths, log-probabilities within 1e-5 to
//! 1e-4.
use super::layers::{Dense, Mlp, Norm, host};
use super::view::{HostModel, HostPositions};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

struct Block {
    norm_1: Norm,
    qkv: Dense,
    out: Dense,
    norm_2: Norm,
    mlp: Mlp,
    /// Cached keys and values, `[B, KV, capacity, d_head]` each (empty until filled).
    k: Vec<f32>,
    v: Vec<f32>,
}

enum Positions {
    Learned(Vec<f32>),
    /// RoPE inverse frequencies, `d_head / 2` of them.
    Rope(Vec<f32>),
}

/// Host copy of a model's weights plus its key/value cache, for `[B, 1]` decoding steps.
pub(crate) struct HostDecoder {
    embed: Vec<f32>,
    positions: Positions,
    blocks: Vec<Block>,
    final_norm: Norm,
    head: Dense,
    batch: usize,
    capacity: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    d: usize,
}

/// One layer's prefill keys and values, `[B, KV, capacity, d_head]` each.
pub(crate) type LayerKv<'a> = (&'a mut Option<Tensor<4>>, &'a mut Option<Tensor<4>>);

/// RoPE inverse frequencies `1 / θ^(2j/d)`, `j < d/2`, in f32 as Hugging Face computes them.
pub(crate) fn rope_inv_freq(theta: f64, head_dim: usize) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|j| 1.0 / (theta as f32).powf((2 * j) as f32 / head_dim as f32))
        .collect()
}

/// Rotate one head `x` (`d_head` values) at `pos` in place: `x·cos + rotate_half(x)·sin`.
fn rotate(x: &mut [f32], inv_freq: &[f32], pos: f32) {
    let half = inv_freq.len();
    for (j, &f) in inv_freq.iter().enumerate() {
        let (sin, cos) = (pos * f).sin_cos();
        let (a, b) = (x[j], x[j + half]);
        x[j] = a * cos - b * sin;
        x[j + half] = b * cos + a * sin;
    }
}

impl HostDecoder {
    /// Copy `model`'s weights to the host and take over the prefill keys and values `kv` (one
    /// pair per block; `batch` rows, `capacity` slots). `None`, with `kv` untouched, when a
    /// parameter or cache buffer is not `f32`, a buffer is missing or the shapes disagree.
    pub(crate) fn new(
        model: &HostModel<'_>,
        mut kv: Vec<LayerKv<'_>>,
        batch: usize,
        capacity: usize,
    ) -> Option<Self> {
        let (h, g, dh) = (model.n_head, model.n_kv_head, model.head_dim);
        if g == 0 || h % g != 0 || kv.len() != model.blocks.len() {
            return None;
        }
        let mut blocks = Vec::with_capacity(model.blocks.len());
        for (blk, (k, v)) in model.blocks.iter().zip(&kv) {
            let f32_buffer =
                |t: &Option<Tensor<4>>| t.as_ref().is_some_and(|t| t.dtype() == DType::F32);
            if !(f32_buffer(k) && f32_buffer(v)) {
                return None;
            }
            let qkv = Dense::from_linears(&blk.qkv)?;
            if qkv.d_out != (h + 2 * g) * dh {
                return None;
            }
            blocks.push(Block {
                norm_1: Norm::new(blk.norm_1)?,
                qkv,
                out: Dense::from_linears(&[blk.out])?,
                norm_2: Norm::new(blk.norm_2)?,
                mlp: Mlp::new(blk.mlp)?,
                k: Vec::new(),
                v: Vec::new(),
            });
        }
        let embed = host(model.embed.val())?;
        let [vocab, d] = model.embed.val().dims();
        let head = match model.lm_head {
            Some(head) => Dense::from_linears(&[head])?,
            None => Dense::transposed(&embed, d, vocab),
        };
        let positions = match model.positions {
            HostPositions::Learned(table) => Positions::Learned(host(table.val())?),
            HostPositions::Rope { theta } => Positions::Rope(rope_inv_freq(theta, dh)),
        };
        let final_norm = Norm::new(model.final_norm)?;
        // Checked above: every buffer is present and f32, so the conversions cannot fail.
        for (blk, (k, v)) in blocks.iter_mut().zip(&mut kv) {
            blk.k = host(k.take()?)?;
            blk.v = host(v.take()?)?;
        }
        Some(Self {
            embed,
            positions,
            blocks,
            final_norm,
            head,
            batch,
            capacity,
            n_head: h,
            n_kv_head: g,
            head_dim: dh,
            d,
        })
    }

    /// Feed one token per row at cache slot `col` (`tokens[b]` at position `positions[b]`) and
    /// return the next-token logits `[B, V]`, row-major. `pad` (`[B, width]`, `true` = left
    /// padding) hides padded key slots, as the Burn path's mask.
    pub(crate) fn step(
        &mut self,
        tokens: &[i64],
        positions: &[i64],
        col: usize,
        pad: Option<(&[bool], usize)>,
    ) -> Vec<f32> {
        let (b, d) = (self.batch, self.d);
        assert!(col < self.capacity, "cache slot out of range");
        let mut x = vec![0.0f32; b * d];
        for (r, row) in x.chunks_exact_mut(d).enumerate() {
            row.copy_from_slice(&self.embed[tokens[r] as usize * d..][..d]);
            if let Positions::Learned(table) = &self.positions {
                let p = &table[positions[r] as usize * d..][..d];
                for (o, &p) in row.iter_mut().zip(p) {
                    *o += p;
                }
            }
        }
        let shape = Heads {
            h: self.n_head,
            g: self.n_kv_head,
            dh: self.head_dim,
            cap: self.capacity,
        };
        let (q_dim, kv_dim) = (shape.h * shape.dh, shape.g * shape.dh);
        let width = q_dim + 2 * kv_dim;
        for blk in &mut self.blocks {
            let mut qkv = blk.qkv.forward(&blk.norm_1.forward(&x), b);
            if let Positions::Rope(inv_freq) = &self.positions {
                for (r, row) in qkv.chunks_exact_mut(width).enumerate() {
                    for head in row[..q_dim + kv_dim].chunks_exact_mut(shape.dh) {
                        rotate(head, inv_freq, positions[r] as f32);
                    }
                }
            }
            for r in 0..b {
                for hd in 0..shape.g {
                    let slot = ((r * shape.g + hd) * shape.cap + col) * shape.dh;
                    let src = r * width + q_dim + hd * shape.dh;
                    blk.k[slot..slot + shape.dh].copy_from_slice(&qkv[src..src + shape.dh]);
                    let src = src + kv_dim;
                    blk.v[slot..slot + shape.dh].copy_from_slice(&qkv[src..src + shape.dh]);
                }
            }
            let y = attend(&qkv, &blk.k, &blk.v, &shape, col, pad, b);
            add(&mut x, &blk.out.forward(&y, b));
            let m = blk.mlp.forward(&blk.norm_2.forward(&x), b);
            add(&mut x, &m);
        }
        self.head.forward(&self.final_norm.forward(&x), b)
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Dot product with eight independent accumulators (vectorises without reassociation flags).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Head counts and cache capacity of attention.
struct Heads {
    /// Query heads.
    h: usize,
    /// Key/value heads.
    g: usize,
    dh: usize,
    cap: usize,
}

/// Attention of each row's query heads (the first `h·d_head` columns of `qkv`) over the cached
/// slots `0..=col` of their key/value head (`h / g` query heads share one), skipping padded
/// keys (a generated query is never padding, so every padded slot is hidden, as in the Burn
/// path's mask); returns `[B, h·d_head]` (heads side by side).
fn attend(
    qkv: &[f32],
    k: &[f32],
    v: &[f32],
    s: &Heads,
    col: usize,
    pad: Option<(&[bool], usize)>,
    b: usize,
) -> Vec<f32> {
    let (dh, q_dim) = (s.dh, s.h * s.dh);
    let width = q_dim + 2 * s.g * dh;
    let group = s.h / s.g;
    let scale = 1.0 / (dh as f32).sqrt();
    let mut y = vec![0.0f32; b * q_dim];
    y.par_chunks_mut(q_dim).enumerate().for_each(|(r, out)| {
        let hidden = |j: usize| pad.is_some_and(|(p, width)| p[r * width + j]);
        let mut w = vec![0.0f32; col + 1];
        for hd in 0..s.h {
            let q = &qkv[r * width + hd * dh..][..dh];
            let base = (r * s.g + hd / group) * s.cap * dh;
            let mut max = f32::NEG_INFINITY;
            for (j, score) in w.iter_mut().enumerate() {
                *score = if hidden(j) {
                    f32::NEG_INFINITY
                } else {
                    dot(q, &k[base + j * dh..][..dh]) * scale
                };
                max = max.max(*score);
            }
            let mut sum = 0.0;
            for score in w.iter_mut() {
                *score = (*score - max).exp();
                sum += *score;
            }
            let o = &mut out[hd * dh..(hd + 1) * dh];
            for (j, &score) in w.iter().enumerate() {
                let p = score / sum;
                for (o, &vv) in o.iter_mut().zip(&v[base + j * dh..][..dh]) {
                    *o += p * vv;
                }
            }
        }
    });
    y
}
