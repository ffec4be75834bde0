//! The one module that reaches into Burn's autodiff internals: the host GELU kernels
//! ([`super::gelu`]) as a Burn backend extension. `Flex` runs the kernels; `Autodiff` records a
//! backward node that calls [`GeluKernels::host_gelu_backward`].
//!
//! Burn does not promise these internals (`autodiff::ops`, `checkpoint`, `Dispatch`, the
//! `backend_extension` macro) across releases. A Burn upgrade that changes them fails here,
//! loudly: at compile time when a path or signature moves, or in
//! `host_gelu_matches_burn_in_value_and_gradient` below when the semantics move (a backward
//! node not called, a gradient not accumulated). Nothing else in the crate imports them.

use super::gelu::{gelu_backward_in_place, gelu_in_place};
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Value and gradient of `Σ w · GELU(x)` by the host kernels and by Burn's own GELU under
    /// autodiff, for a contiguous input and a transposed view (the fallback path).
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

    fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().iter::<f32>().collect()
    }
}
