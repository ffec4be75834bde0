//! The host copies of a model's layers for decoding steps: dense layers stored as `gemm` column
//! panels (several layers side by side as one product), LayerNorm/RMSNorm, and the GELU and
//! SwiGLU MLPs, each computing what Burn's layer computes.

use super::gelu::{gelu_in_place, gelu_tanh_in_place, silu_mul_in_place};
use super::view::{HostMlp, HostNorm};
use burn::nn::Linear;
use burn::tensor::Tensor;
use rayon::prelude::*;

/// Output columns per weight panel: each panel is a contiguous row-major `[d_in, PANEL]`
/// block, so a product reads it with unit stride and no packing (16 was fastest of 16–256 at
/// the QM9 shape on the 2-core bench machine).
const PANEL: usize = 16;

/// Rows per gemm call: above 48 (8 × its 6-column micro-tile) the `gemm` crate copies the
/// weight panel into a packed buffer on every call, which here is already the packed layout.
const ROWS: usize = 48;

/// The host values of a parameter, if it is `f32` (else the caller falls back to Burn).
pub(super) fn host<const D: usize>(t: Tensor<D>) -> Option<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().ok()
}

/// A dense layer `x · W + b` with `W` (`[d_in, d_out]`) stored as column panels
/// `[⌈d_out / PANEL⌉, d_in, PANEL]` (the last panel zero-padded).
pub(super) struct Dense {
    panels: Vec<f32>,
    bias: Option<Vec<f32>>,
    pub(super) d_in: usize,
    pub(super) d_out: usize,
}

impl Dense {
    /// From a row-major `[d_out, d_in]` matrix used transposed (a tied LM head).
    pub(super) fn transposed(wt: &[f32], d_in: usize, d_out: usize) -> Self {
        Self::from_fn(d_in, d_out, None, |k, n| wt[n * d_in + k])
    }

    pub(super) fn from_fn(
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

    /// The layers side by side (their outputs concatenated), e.g. q, k and v as one product.
    pub(super) fn from_linears(layers: &[&Linear]) -> Option<Self> {
        let d_in = layers.first()?.weight.dims()[0];
        let mut weights = Vec::with_capacity(layers.len());
        let mut bias = Vec::new();
        let any_bias = layers.iter().any(|l| l.bias.is_some());
        for layer in layers {
            let [k, n] = layer.weight.dims();
            if k != d_in {
                return None;
            }
            weights.push((host(layer.weight.val())?, n));
            match &layer.bias {
                Some(b) => bias.extend(host(b.val())?),
                None => bias.extend(std::iter::repeat_n(0.0, n)),
            }
        }
        let d_out = weights.iter().map(|(_, n)| n).sum();
        // Column n of the whole lies in layer `part` at column `n - offset`.
        let mut columns = Vec::with_capacity(d_out);
        for (part, (_, n)) in weights.iter().enumerate() {
            columns.extend((0..*n).map(|c| (part, c)));
        }
        Some(Self::from_fn(
            d_in,
            d_out,
            any_bias.then_some(bias),
            |k, n| {
                let (part, c) = columns[n];
                let (w, width) = &weights[part];
                w[k * width + c]
            },
        ))
    }

    /// `out[r] = x[r] · W + b` for `rows` rows of `x` (`[rows, d_in]` row-major).
    pub(super) fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
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

/// A norm's scale (and shift), as Burn computes it.
pub(super) struct Norm {
    gamma: Vec<f32>,
    /// `None`: RMSNorm.
    beta: Option<Vec<f32>>,
    eps: f32,
}

impl Norm {
    pub(super) fn new(norm: HostNorm<'_>) -> Option<Self> {
        match norm {
            HostNorm::Layer(ln, eps) => {
                let gamma = host(ln.gamma.val())?;
                let beta = match &ln.beta {
                    Some(b) => host(b.val())?,
                    None => vec![0.0; gamma.len()],
                };
                Some(Self {
                    gamma,
                    beta: Some(beta),
                    eps: eps as f32,
                })
            }
            HostNorm::Rms(rms, eps) => Some(Self {
                gamma: host(rms.gamma.val())?,
                beta: None,
                eps: eps as f32,
            }),
        }
    }

    /// Row-wise LayerNorm `(x − mean) / √(var + eps) · γ + β` (biased variance, as Burn) or
    /// RMSNorm `x / √(mean(x²) + eps) · γ`.
    pub(super) fn forward(&self, x: &[f32]) -> Vec<f32> {
        let d = self.gamma.len();
        let mut out = vec![0.0; x.len()];
        for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            match &self.beta {
                Some(beta) => {
                    let mean = row.iter().sum::<f32>() / d as f32;
                    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
                    let inv = 1.0 / (var + self.eps).sqrt();
                    for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(&self.gamma).zip(beta) {
                        *o = (v - mean) * inv * g + b;
                    }
                }
                None => {
                    let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
                    let rms = (ms + self.eps).sqrt();
                    for ((o, &v), &g) in o.iter_mut().zip(row).zip(&self.gamma) {
                        *o = v / rms * g;
                    }
                }
            }
        }
        out
    }
}

pub(super) enum Mlp {
    /// `fc` then GELU (tanh form or exact), then `proj`.
    Gelu { fc: Dense, proj: Dense, tanh: bool },
    /// `[gate | up]` as one product, then `down`.
    SwiGlu { gate_up: Dense, down: Dense },
}

impl Mlp {
    pub(super) fn new(mlp: HostMlp<'_>) -> Option<Self> {
        Some(match mlp {
            HostMlp::Gelu { fc, proj, tanh } => Self::Gelu {
                fc: Dense::from_linears(&[fc])?,
                proj: Dense::from_linears(&[proj])?,
                tanh,
            },
            HostMlp::SwiGlu { gate, up, down } => Self::SwiGlu {
                gate_up: Dense::from_linears(&[gate, up])?,
                down: Dense::from_linears(&[down])?,
            },
        })
    }

    pub(super) fn forward(&self, x: &[f32], b: usize) -> Vec<f32> {
        match self {
            Self::Gelu { fc, proj, tanh } => {
                let mut f = fc.forward(x, b);
                if *tanh {
                    gelu_tanh_in_place(&mut f);
                } else {
                    gelu_in_place(&mut f);
                }
                proj.forward(&f, b)
            }
            Self::SwiGlu { gate_up, down } => {
                let both = gate_up.forward(x, b);
                let f = gate_up.d_out / 2;
                let (mut gate, mut up) = (Vec::with_capacity(b * f), Vec::with_capacity(b * f));
                for row in both.chunks_exact(2 * f) {
                    gate.extend_from_slice(&row[..f]);
                    up.extend_from_slice(&row[f..]);
                }
                silu_mul_in_place(&mut gate, &up);
                drop(up);
                down.forward(&gate, b)
            }
        }
    }
}
