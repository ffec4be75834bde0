//! Initialisers and dropout shared by the model families.

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

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

/// A copy of `w` with `extra` fresh N(0, 0.02²) rows (`dim` 0) or columns (`dim` 1) appended,
/// drawn from `rng` on the host (never from the device's global generator, which other runs
/// on the same device may be using).
pub(super) fn grow(w: Tensor<2>, dim: usize, extra: usize, rng: &mut StdRng) -> Tensor<2> {
    let device = w.device();
    let mut shape = w.dims();
    shape[dim] = extra;
    let values: Vec<f32> = (0..shape[0] * shape[1])
        .map(|_| (0.02 * standard_normal(rng)) as f32)
        .collect();
    let fresh = Tensor::from_data(TensorData::new(values, shape), &device);
    Tensor::cat(vec![w, fresh], dim)
}

/// The host generator [`grow`] draws from for a run seeded by `seed`.
pub(super) fn grow_rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ 0x5249_4320_5449_4B53)
}

/// One N(0, 1) draw (Box–Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
