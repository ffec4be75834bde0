//! One decoding step of a GPT (`policy::Gpt`) on the host CPU, for sampling on the `flex`
//! backend. The model hands over borrowed views of its layers ([`GptWeights`]); nothing here
//! knows the model type.
//!
//! A step of cached decoding multiplies `[B, d]` rows by every weight matrix once, attends over
//! the cached keys of each row and applies a handful of element-wise ops. Through Burn's CPU
//! backend that costs, besides the products, a gemm repacking of every weight per call (the
//! skinny left operand is too small to amortise it), two gemm calls per (row, head) over the
//! whole preallocated cache, and single-threaded element-wise kernels. Here the weights are
//! copied once per `sample` call into column panels that the `gemm` crate reads without
//! repacking, attention reads only the filled prefix, and GELU runs vectorised on the rayon
//! pool. The prompt (prefill) still runs through Burn and hands over its keys and values.
//!
//! Same arithmetic as the Burn path up to float summation order and GELU's erf (≤ 6e-7): the
//! tests draw the same tokens on both paths, log-probabilities within 1e-5 to 1e-4.

use super::gelu::gelu_in_place;
use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

/// Output columns per weight panel: each panel is a contiguous row-major `[d_in, PANEL]`
/// block, so a product reads it with unit stride and no packing (16 was fastest of 16–256 at
/// the QM9 shape on the 2-core bench machine).
const PANEL: usize = 16;

/// Rows per gemm call: above 48 (8 × its 6-column micro-tile) the `gemm` crate copies the
/// weight panel into a packed buffer on every call, which here is already the packed layout.
const ROWS: usize = 48;

/// The host values of a parameter, if it is `f32` (else the caller falls back to Burn).
fn host<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().ok()
}

/// A dense layer `x · W + b` with `W` (`[d_in, d_out]`) stored as column panels
/// `[⌈d_out / PANEL⌉, d_in, PANEL]` (the last panel zero-padded).
struct Dense {
    panels: Vec<f32>,
    bias: Option<Vec<f32>>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    /// From a row-major `[d_in, d_out]` weight.
    fn new(w: &[f32], bias: Option<Vec<f32>>, d_in: usize, d_out: usize) -> Self {
        Self::from_fn(d_in, d_out, bias, |k, n| w[k * d_out + n])
    }

    /// From a row-major `[d_out, d_in]` matrix used transposed (a tied LM head).
    fn transposed(wt: &[f32], d_in: usize, d_out: usize) -> Self {
        Self::from_fn(d_in, d_out, None, |k, n| wt[n * d_in + k])
    }

    fn from_fn(
        d_in: usize,
        d_out: usize,
        bias: Option<Vec<f32>>,
        w: impl Fn(usize, usize) -> f32,
    ) -> Self {
        let np = d_out.div_ceil(PANEL);
        let mut panels = vec![0.0; np * d_in * PANEL];
        for (j, panel) in panels.chunks_exact_mut(d_in * PANEL).enumerate() {
            for (k, row) in panel.chunks_exact_mut(PANEL).enumerate() {
                for (c, out) in row.iter_mut().enumerate() {
                    let n = j * PANEL + c;
                    if n < d_out {
                        *out = w(k, n);
                    }
                }
            }
        }
        Self {
            panels,
            bias,
            d_in,
            d_out,
        }
    }

    fn from_linear(layer: &Linear) -> Option<Self> {
        let [d_in, d_out] = layer.weight.dims();
        let w = host(layer.weight.val())?;
        let bias = match &layer.bias {
            Some(b) => Some(host(b.val())?),
            None => None,
        };
        Some(Self::new(&w, bias, d_in, d_out))
    }

    /// `out[r] = x[r] · W + b` for `rows` rows of `x` (`[rows, d_in]` row-major).
    fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let (k, n) = (self.d_in, self.d_out);
        assert_eq!(x.len(), rows * k, "dense input shape");
        let mut out = match &self.bias {
            Some(b) => b.repeat(rows),
            None => vec![0.0; rows * n],
        };
        let read_dst = self.bias.is_some();
        // Each task writes its own columns of `out`; the pointer crosses threads as an address.
        let dst = out.as_mut_ptr() as usize;
        let panels = n.div_ceil(PANEL);
        let chunks = rows.div_ceil(ROWS);
        (0..panels * chunks).into_par_iter().for_each(|task| {
            let (j, c) = (task / chunks, task % chunks);
            let width = PANEL.min(n - j * PANEL);
            let (r0, r1) = (c * ROWS, rows.min((c + 1) * ROWS));
            // SAFETY: `x` is `[rows, k]` and the panel `[k, PANEL]`, both row-major and in
            // bounds; the destination is the `[r1 − r0, width]` block at rows `r0..r1`, columns
            // `j·PANEL..j·PANEL + width` of `out` (`[rows, n]`), disjoint between tasks, and
            // `out` outlives the parallel loop.
            unsafe {
                gemm::gemm(
                    r1 - r0,
                    width,
                    k,
                    (dst as *mut f32).add(r0 * n + j * PANEL),
                    1,
                    n as isize,
                    read_dst,
                    x.as_ptr().add(r0 * k),
                    1,
                    k as isize,
                    self.panels.as_ptr().add(j * k * PANEL),
                    1,
                    PANEL as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
        out
    }
}

/// LayerNorm scale and shift.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn new(ln: &LayerNorm, eps: f64) -> Option<Self> {
        let gamma = host(ln.gamma.val())?;
        let beta = match &ln.beta {
            Some(b) => host(b.val())?,
            None => vec![0.0; gamma.len()],
        };
        Some(Self {
            gamma,
            beta,
            eps: eps as f32,
        })
    }

    /// Row-wise `(x − mean) / √(var + eps) · γ + β` (biased variance, as Burn).
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let d = self.gamma.len();
        let mut out = vec![0.0; x.len()];
        for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(&self.gamma).zip(&self.beta) {
                *o = (v - mean) * inv * g + b;
            }
        }
        out
    }
}

struct Block {
    ln_1: Norm,
    qkv: Dense,
    proj: Dense,
    ln_2: Norm,
    fc: Dense,
    fc_proj: Dense,
    /// Cached keys and values, `[B, H, capacity, d_head]` each (empty until filled).
    k: Vec<f32>,
    v: Vec<f32>,
}

/// Borrowed weights of one pre-LayerNorm block: `x + proj(attn(qkv(ln_1 x)))`, then
/// `x + fc_proj(GELU(fc(ln_2 x)))`.
pub(crate) struct BlockWeights<'a> {
    pub ln_1: &'a LayerNorm,
    pub qkv: &'a Linear,
    pub proj: &'a Linear,
    pub ln_2: &'a LayerNorm,
    pub fc: &'a Linear,
    pub fc_proj: &'a Linear,
}

/// Borrowed weights of a GPT: embeddings, blocks, final norm and LM head (`None`: tied to the
/// token embedding).
pub(crate) struct GptWeights<'a> {
    pub tok_emb: &'a Param<Tensor<2>>,
    pub pos_emb: &'a Param<Tensor<2>>,
    pub blocks: Vec<BlockWeights<'a>>,
    pub ln_f: &'a LayerNorm,
    pub lm_head: Option<&'a Linear>,
    pub n_head: usize,
    pub layer_norm_eps: f64,
}

/// Host copy of a GPT's weights plus its key/value cache, for `[B, 1]` decoding steps.
pub(crate) struct HostDecoder {
    tok_emb: Vec<f32>,
    pos_emb: Vec<f32>,
    blocks: Vec<Block>,
    ln_f: Norm,
    head: Dense,
    batch: usize,
    capacity: usize,
    n_head: usize,
    d: usize,
}

/// One layer's prefill keys and values, `[B, H, capacity, d_head]` each.
pub(crate) type LayerKv<'a> = (&'a mut Option<Tensor<4>>, &'a mut Option<Tensor<4>>);

impl HostDecoder {
    /// Copy `model`'s weights to the host and take over the prefill keys and values `kv` (one
    /// pair per block; `batch` rows, `capacity` slots). `None`, with `kv` untouched, when a
    /// parameter or cache buffer is not `f32` or a buffer is missing.
    pub(crate) fn new(
        model: &GptWeights<'_>,
        mut kv: Vec<LayerKv<'_>>,
        batch: usize,
        capacity: usize,
    ) -> Option<Self> {
        let eps = model.layer_norm_eps;
        let mut blocks = Vec::with_capacity(model.blocks.len());
        for (blk, (k, v)) in model.blocks.iter().zip(&kv) {
            let f32_buffer =
                |t: &Option<Tensor<4>>| t.as_ref().is_some_and(|t| t.dtype() == DType::F32);
            if !(f32_buffer(k) && f32_buffer(v)) {
                return None;
            }
            blocks.push(Block {
                ln_1: Norm::new(blk.ln_1, eps)?,
                qkv: Dense::from_linear(blk.qkv)?,
                proj: Dense::from_linear(blk.proj)?,
                ln_2: Norm::new(blk.ln_2, eps)?,
                fc: Dense::from_linear(blk.fc)?,
                fc_proj: Dense::from_linear(blk.fc_proj)?,
                k: Vec::new(),
                v: Vec::new(),
            });
        }
        let table = |p: &Param<Tensor<2>>| host(p.val());
        let tok_emb = table(model.tok_emb)?;
        let [vocab, d] = model.tok_emb.val().dims();
        let head = match model.lm_head {
            Some(head) => Dense::from_linear(head)?,
            None => Dense::transposed(&tok_emb, d, vocab),
        };
        let pos_emb = table(model.pos_emb)?;
        let ln_f = Norm::new(model.ln_f, eps)?;
        // Checked above: every buffer is present and f32, so the conversions cannot fail.
        for (blk, (k, v)) in blocks.iter_mut().zip(&mut kv) {
            blk.k = host(k.take()?)?;
            blk.v = host(v.take()?)?;
        }
        Some(Self {
            tok_emb,
            pos_emb,
            blocks,
            ln_f,
            head,
            batch,
            capacity,
            n_head: model.n_head,
            d,
        })
    }

    /// Feed one token per row at cache slot `col` (`tokens[b]` at learned position
    /// `positions[b]`) and return the next-token logits `[B, V]`, row-major. `pad`
    /// (`[B, width]`, `true` = left padding) hides padded key slots, as the Burn path's mask.
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
            let t = &self.tok_emb[tokens[r] as usize * d..][..d];
            let p = &self.pos_emb[positions[r] as usize * d..][..d];
            for ((o, &t), &p) in row.iter_mut().zip(t).zip(p) {
                *o = t + p;
            }
        }
        let (h, cap) = (self.n_head, self.capacity);
        for blk in &mut self.blocks {
            let qkv = blk.qkv.forward(&blk.ln_1.forward(&x), b);
            let dh = d / h;
            for r in 0..b {
                for hd in 0..h {
                    let slot = ((r * h + hd) * cap + col) * dh;
                    let src = r * 3 * d + hd * dh;
                    blk.k[slot..slot + dh].copy_from_slice(&qkv[src + d..src + d + dh]);
                    blk.v[slot..slot + dh].copy_from_slice(&qkv[src + 2 * d..src + 2 * d + dh]);
                }
            }
            let y = attend(&qkv, &blk.k, &blk.v, h, cap, col, pad, b, d);
            add(&mut x, &blk.proj.forward(&y, b));
            let mut f = blk.fc.forward(&blk.ln_2.forward(&x), b);
            gelu_in_place(&mut f);
            add(&mut x, &blk.fc_proj.forward(&f, b));
        }
        self.head.forward(&self.ln_f.forward(&x), b)
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

/// Attention of each row's query (the first `d` columns of `qkv`, `[B, 3d]`) over the cached
/// slots `0..=col`, skipping padded keys (a generated query is never padding, so every padded
/// slot is hidden, as in the Burn path's mask); returns `[B, d]` (heads side by side).
#[allow(clippy::too_many_arguments)]
fn attend(
    qkv: &[f32],
    k: &[f32],
    v: &[f32],
    h: usize,
    cap: usize,
    col: usize,
    pad: Option<(&[bool], usize)>,
    b: usize,
    d: usize,
) -> Vec<f32> {
    let dh = d / h;
    let scale = 1.0 / (dh as f32).sqrt();
    let mut y = vec![0.0f32; b * d];
    y.par_chunks_mut(d).enumerate().for_each(|(r, out)| {
        let hidden = |j: usize| pad.is_some_and(|(p, width)| p[r * width + j]);
        let mut w = vec![0.0f32; col + 1];
        for hd in 0..h {
            let q = &qkv[r * 3 * d + hd * dh..][..dh];
            let base = (r * h + hd) * cap * dh;
            let mut max = f32::NEG_INFINITY;
            for (j, s) in w.iter_mut().enumerate() {
                *s = if hidden(j) {
                    f32::NEG_INFINITY
                } else {
                    dot(q, &k[base + j * dh..][..dh]) * scale
                };
                max = max.max(*s);
            }
            let mut sum = 0.0;
            for s in w.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            let o = &mut out[hd * dh..(hd + 1) * dh];
            for (j, &s) in w.iter().enumerate() {
                let p = s / sum;
                for (o, &vv) in o.iter_mut().zip(&v[base + j * dh..][..dh]) {
                    *o += p * vv;
                }
            }
        }
    });
    y
}
