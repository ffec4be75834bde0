//! Initialisers and dropout shared by the model families.

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Distribution, Tensor};

/// A `[rows, cols]` tensor of N(0, std²) values.
pub(super) fn normal(shape: [usize; 2], std: f64, device: &Device) -> Tensor<2> {
    Tensor::random(shape, Distribution::Normal(0.0, std), device)
}

/// A dense layer `[d_in, d_out]` with N(0, std²) weights and zero biases.
pub(super) fn dense(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(normal([d_in, d_out], std, device)),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

/// A dense layer `[d_in, d_out]` with N(0, std²) weights and no bias.
pub(super) fn dense_no_bias(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(normal([d_in, d_out], std, device)),
        bias: None,
    }
}

/// An embedding table `[n, d]` of N(0, std²) values.
pub(super) fn embedding_table(n: usize, d: usize, std: f64, device: &Device) -> Embedding {
    Embedding {
        weight: Param::from_tensor(normal([n, d], std, device)),
    }
}

/// Dropout that is active only on an autodiff device (training), never in `valid()` copies.
pub(super) fn dropout<const D: usize>(x: Tensor<D>, p: f64) -> Tensor<D> {
    if p == 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let keep = x.random_like(Distribution::Bernoulli(1.0 - p));
    x * keep / (1.0 - p)
}

/// A copy of `w` with `extra` fresh N(0, 0.02²) rows (`dim` 0) or columns (`dim` 1) appended.
pub(super) fn grow(w: Tensor<2>, dim: usize, extra: usize) -> Tensor<2> {
    let device = w.device();
    let mut shape = w.dims();
    shape[dim] = extra;
    Tensor::cat(vec![w, normal(shape, 0.02, &device)], dim)
}
