//! Exact-erf GELU, `x · Φ(x) = x · ½ (1 + erf(x / √2))`, fast on the host CPU backend.
//!
//! Burn's `flex` backend evaluates GELU and its derivative one element at a time on one
//! thread with libm's `erff` and `expf`: 13 % of a training step at the shipped small shape
//! (docs/performance.md, Run I). Here both run branch-free (so the loops vectorise) on the
//! rayon pool, the derivative shares one exponential between `erf` and the normal density,
//! the forward pass overwrites its input when nothing else holds it (inference) and the
//! backward pass writes into the incoming gradient's buffer when it owns it. The
//! kernels plug into Burn's autograd as a backend extension with a hand-written backward
//! node; on every other backend [`gelu`] is Burn's own. Used by the policy (`Gpt`, its
//! decoding steps) and the MiniLM reward encoder.
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
    if crate::device::is_host(&x.device()) {
        return extension::gelu(x);
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

/// `grad ← grad · GELU′(x)` in place.
fn gelu_backward_in_place(x: &[f32], grad: &mut [f32]) {
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

/// The kernels as a Burn backend extension: `Flex` runs them, `Autodiff` records a backward
/// node that calls [`GeluKernels::host_gelu_backward`].
#[cfg(feature = "flex")]
mod extension {
    use super::{gelu_backward_in_place, gelu_in_place};
    use burn::backend::TensorMetadata;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::backend::flex::{FlexTensor, Layout};
    use burn::backend::ops::ActivationOps;
    use burn::backend::{Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
    use burn::tensor::{Bytes, DType, Tensor};

    /// GELU and its backward product as backend operations.
    #[backend_extension(Flex, Autodiff)]
    pub trait GeluKernels: Backend {
        /// Exact-erf GELU of `x`.
        fn host_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
        /// `grad · GELU′(x)`.
        fn host_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// GELU through the extension (CPU backend, with or without autodiff).
    pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
        Tensor::from_dispatch(Dispatch::host_gelu(x.into_dispatch()))
    }

    /// A contiguous f32 view of `t`, if it has one.
    fn f32_slice(t: &FlexTensor) -> Option<&[f32]> {
        (t.dtype() == DType::F32)
            .then(|| t.as_slice::<f32>())
            .flatten()
    }

    impl GeluKernels for Flex {
        fn host_gelu(mut x: FlexTensor) -> FlexTensor {
            if f32_slice(&x).is_none() {
                return Flex::gelu(x);
            }
            let (start, n) = (x.layout().start_offset(), x.shape().num_elements());
            if let Some(storage) = x.try_storage_mut::<f32>() {
                // In place when `x` owns its buffer (inference: nothing keeps the input).
                gelu_in_place(&mut storage[start..start + n]);
                return x;
            }
            let mut out = f32_slice(&x).map(<[f32]>::to_vec).unwrap_or_default();
            gelu_in_place(&mut out);
            FlexTensor::new(
                Bytes::from_elems(out),
                Layout::contiguous(x.shape()),
                DType::F32,
            )
        }

        fn host_gelu_backward(x: FlexTensor, mut grad: FlexTensor) -> FlexTensor {
            let fits = x.shape() == grad.shape() && f32_slice(&grad).is_some();
            let Some(xs) = f32_slice(&x).filter(|_| fits) else {
                return Flex::gelu_backward(x, grad);
            };
            // Copy-on-write: in place when `grad` owns its buffer.
            let start = grad.layout().start_offset();
            let g = &mut grad.storage_mut::<f32>()[start..start + xs.len()];
            gelu_backward_in_place(xs, g);
            grad
        }
    }

    impl<B: GeluKernels, C: CheckpointStrategy> GeluKernels for Autodiff<B, C> {
        fn host_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
            #[derive(Debug)]
            struct GeluBackward;

            impl<B: GeluKernels> Backward<B, 1> for GeluBackward {
                type State = NodeId;

                fn backward(
                    self,
                    ops: Ops<Self::State, 1>,
                    grads: &mut Gradients,
                    checkpointer: &mut Checkpointer,
                ) {
                    let input = checkpointer.retrieve_node_output(ops.state);
                    unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                        B::host_gelu_backward(input, grad)
                    });
                }
            }

            match GeluBackward
                .prepare::<C>([x.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = prep.checkpoint(&x);
                    prep.finish(state, B::host_gelu(x.primitive().clone()))
                }
                OpsKind::UnTracked(prep) => prep.finish(B::host_gelu(x.into_primitive())),
            }
        }

        fn host_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
            // First-order only: the product itself is not differentiated.
            let out = B::host_gelu_backward(x.into_primitive(), grad.into_primitive());
            <Self as burn::backend::AutodiffBackend>::from_inner(out)
        }
    }
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

    /// Value and gradient of `Σ w · GELU(x)` by the host kernels and by Burn's own GELU under
    /// autodiff, for a contiguous input and a transposed view (the fallback path).
    #[cfg(feature = "flex")]
    #[test]
    fn host_gelu_matches_burn_in_value_and_gradient() {
        use burn::tensor::{Distribution, Tensor};
        let device = crate::device::default_device().autodiff();
        device.seed(7);
        let x0 = Tensor::<2>::random([37, 301], Distribution::Normal(0.0, 2.5), &device);
        let w = Tensor::<2>::random([37, 301], Distribution::Normal(0.0, 1.0), &device);
        for transposed in [false, true] {
            let run = |f: fn(Tensor<2>) -> Tensor<2>| {
                let x = x0.clone().detach().require_grad();
                let input = if transposed {
                    x.clone().transpose()
                } else {
                    x.clone()
                };
                let y = f(input);
                let y = if transposed { y.transpose() } else { y };
                let grads = (y.clone() * w.clone()).sum().backward();
                let gx = x.grad(&grads).expect("x is tracked");
                (to_vec(y), to_vec(gx))
            };
            let (y_host, g_host) = run(gelu);
            let (y_burn, g_burn) = run(burn::tensor::activation::gelu);
            let xs = to_vec(x0.clone());
            let ws = to_vec(w.clone());
            for i in 0..xs.len() {
                let scale = xs[i].abs().max(1.0);
                assert!(
                    (y_host[i] - y_burn[i]).abs() <= 1e-6 * scale,
                    "value at {i}"
                );
                let g_scale = ws[i].abs().max(1.0);
                assert!(
                    (g_host[i] - g_burn[i]).abs() <= 2e-6 * g_scale,
                    "gradient at {i}"
                );
            }
        }
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
