//! Exact-erf GELU, `x · Φ(x) = x · ½ (1 + erf(x / √2))`, fast on the host CPU backend.
//!
//! Burn's `flex` backend evaluates GELU and its derivative one element at a time on one
//! thread with libm's `erff` and `expf`: 13 % of a training step at the shipped small shape
//! (docs/performance.md, Run I). Here both run branch-free (so the loops vectorise) on the
//! rayon pool, the derivative shares one exponential between `erf` and the normal density,
//! the forward pass overwrites its input when nothing else holds it (inference) and the
//! backward pass writes into the incoming gradient's buffer when it owns it. The
//! kernels plug into Burn's autograd through [`super::burn_ext`] (a backend extension with a
//! hand-written backward node); on every other backend [`gelu`] is Burn's own. Used by the
//! policy (`Gpt`, its decoding steps) and the MiniLM reward encoder.
//!
//! Agreement with Burn's GELU is ≤ 6e-7 · max(|x|, 1) in value and ≤ 1e-6 in slope (erf by
//! Abramowitz & Stegun 7.1.26; tested against libm and against Burn's autodiff).

use burn::tensor::Tensor;
use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 8192;

/// `1 / √(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// GELU of `x`: the host kernels on the CPU backend, Burn's `gelu` elsewhere.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if super::enabled(&x.device()) {
        return super::burn_ext::gelu(x);
    }
    burn::tensor::activation::gelu(x)
}

/// GELU in place on host data.
pub(crate) fn gelu_in_place(x: &mut [f32]) {
    x.par_chunks_mut(CHUNK).for_each(|c| {
        for v in c {
            *v = gelu_one(*v);
        }
    });
}

/// GELU in its tanh form (`gelu_new`, GPT-2's) in place on host data:
/// `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, with `tanh u = sign(u) (1 − e)/(1 + e)`,
/// `e = e^{−2|u|}`, branch-free.
pub(crate) fn gelu_tanh_in_place(x: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    x.par_chunks_mut(CHUNK).for_each(|c| {
        for v in c {
            let x = *v;
            let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
            let e = exp_neg(-2.0 * u.abs());
            let t = ((1.0 - e) / (1.0 + e)).copysign(u);
            *v = 0.5 * x * (1.0 + t);
        }
    });
}

/// SwiGLU's gate in place: `gate ← SiLU(gate) · up` (`SiLU(x) = x σ(x)`), branch-free.
pub(crate) fn silu_mul_in_place(gate: &mut [f32], up: &[f32]) {
    gate.par_chunks_mut(CHUNK)
        .zip(up.par_chunks(CHUNK))
        .for_each(|(g, u)| {
            for (g, &u) in g.iter_mut().zip(u) {
                let x = *g;
                let e = exp_neg(-x.abs());
                let sigmoid = if x >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                *g = x * sigmoid * u;
            }
        });
}

/// `grad ← grad · GELU′(x)` in place.
pub(super) fn gelu_backward_in_place(x: &[f32], grad: &mut [f32]) {
    grad.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(g, x)| {
            for (g, &x) in g.iter_mut().zip(x) {
                *g *= gelu_slope(x);
            }
        });
}

#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    let e = exp_neg(-0.5 * x * x);
    0.5 * x * (1.0 + erf_with_exp(x * core::f32::consts::FRAC_1_SQRT_2, e))
}

/// `GELU′(x) = Φ(x) + x · φ(x)`, with `φ(x) = e^{−x²/2} / √(2π)`; the exponential is the
/// one inside `erf(x / √2)`.
#[inline(always)]
fn gelu_slope(x: f32) -> f32 {
    let e = exp_neg(-0.5 * x * x);
    0.5 * (1.0 + erf_with_exp(x * core::f32::consts::FRAC_1_SQRT_2, e)) + x * INV_SQRT_2PI * e
}

/// `e^x` for `x ≤ 0` (clamped at −87), relative error < 2e-7: `x = n·ln 2 + r` with
/// `|r| ≤ ½ ln 2`, a degree-6 Taylor polynomial in `r`, and `2^n` assembled in the exponent
/// bits. Branch-free so that loops over it vectorise (a libm call per element does not).
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer in f32 arithmetic.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.0);
    let n = (x * core::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The error function by Abramowitz & Stegun 7.1.26: absolute error ≤ 1.5e-7 in exact
/// arithmetic, ≤ 6e-7 against libm's `erff` in f32 (tested); branch-free, unlike `erff`.
/// The kernels call [`erf_with_exp`] directly.
#[cfg(test)]
fn erf(x: f32) -> f32 {
    erf_with_exp(x, exp_neg(-x * x))
}

/// The error function by Abramowitz & Stegun 7.1.26 given `e = e^{−x²}` (see [`exp_neg`]).
#[inline(always)]
fn erf_with_exp(x: f32, e: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_8,
        -1.453_152_1,
        1.061_405_4,
    ];
    let t = 1.0 / (1.0 + P * x.abs());
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    (1.0 - poly * e).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_erf_match_libm() {
        let mut worst_exp = 0.0f32;
        let mut worst_erf = 0.0f32;
        for i in 0..=200_000 {
            let x = -10.0 + i as f32 * 1e-4;
            let e = exp_neg(-x.abs() * 8.0);
            let reference = libm::expf(-x.abs() * 8.0);
            worst_exp = worst_exp.max((e - reference).abs() / reference);
            worst_erf = worst_erf.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst_exp < 3e-7, "exp relative error {worst_exp}");
        assert!(worst_erf < 6e-7, "erf absolute error {worst_erf}");
        assert!(erf(0.0).abs() < 1e-7);
        assert_eq!(erf(12.0), 1.0);
        assert_eq!(erf(-12.0), -1.0);
    }

    #[test]
    fn tanh_gelu_and_silu_match_libm_formulas() {
        let xs: Vec<f32> = (0..=40_000).map(|i| -20.0 + i as f32 * 1e-3).collect();
        let mut tanh_form = xs.clone();
        gelu_tanh_in_place(&mut tanh_form);
        let mut silu = xs.clone();
        silu_mul_in_place(&mut silu, &vec![1.0; xs.len()]);
        for ((&x, &g), &s) in xs.iter().zip(&tanh_form).zip(&silu) {
            let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
            let want = 0.5 * x * (1.0 + libm::tanhf(u));
            assert!(
                (g - want).abs() <= 1e-6 * x.abs().max(1.0),
                "gelu_tanh({x})"
            );
            let want = x / (1.0 + libm::expf(-x));
            assert!((s - want).abs() <= 1e-6 * x.abs().max(1.0), "silu({x})");
        }
    }

    #[test]
    fn gelu_and_slope_match_libm_formulas() {
        let (mut worst_value, mut worst_slope) = (0.0f32, 0.0f32);
        for i in 0..=40_000 {
            let x = -10.0 + i as f32 * 5e-4;
            let cdf = 0.5 * (1.0 + libm::erff(x / core::f32::consts::SQRT_2));
            let value = x * cdf;
            let slope = cdf + x * INV_SQRT_2PI * libm::expf(-0.5 * x * x);
            worst_value = worst_value.max((gelu_one(x) - value).abs() / x.abs().max(1.0));
            worst_slope = worst_slope.max((gelu_slope(x) - slope).abs());
        }
        assert!(worst_value < 6e-7, "GELU error {worst_value}");
        assert!(worst_slope < 1e-6, "GELU′ error {worst_slope}");
    }

    /// Without autodiff an input nobody else holds is overwritten in place; a shared one is
    /// left untouched.
    #[cfg(feature = "flex")]
    #[test]
    fn host_gelu_in_place_and_copied_match_burn() {
        use burn::tensor::{Distribution, Tensor, TensorData};
        let device = crate::device::default_device();
        device.seed(11);
        let x = Tensor::<2>::random([19, 517], Distribution::Normal(0.0, 2.5), &device);
        let xs = to_vec(x.clone());
        let expected = to_vec(burn::tensor::activation::gelu(x.clone()));
        let owned = Tensor::<2>::from_data(TensorData::new(xs.clone(), [19, 517]), &device);
        let shared = gelu(x.clone());
        for y in [to_vec(gelu(owned)), to_vec(shared)] {
            for i in 0..xs.len() {
                let scale = xs[i].abs().max(1.0);
                assert!((y[i] - expected[i]).abs() <= 1e-6 * scale, "value at {i}");
            }
        }
        assert_eq!(to_vec(x), xs, "a shared input is not overwritten");
    }

    #[cfg(feature = "flex")]
    fn to_vec<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f32> {
        t.into_data().iter::<f32>().collect()
    }
}
