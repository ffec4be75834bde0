//! The dense layers shared by the task models' MLPs (the QM9 property regressors and the DNA
//! cell-type classifier heads).

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};

/// A `d_in → d_out` linear layer with He-normal weights (std √(2/d_in)) and zero bias.
pub(crate) fn he_linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let std = (2.0 / d_in as f64).sqrt();
    Linear {
        weight: Param::from_tensor(Tensor::random(
            [d_in, d_out],
            Distribution::Normal(0.0, std),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

/// He-initialised layers through the given widths (`widths[0]` in, `widths.last()` out).
pub(crate) fn he_layers(widths: &[usize], device: &Device) -> Vec<Linear> {
    widths
        .windows(2)
        .map(|w| he_linear(w[0], w[1], device))
        .collect()
}

/// `x` through `layers` with ReLU between them (none after the last).
pub(crate) fn relu_mlp(layers: &[Linear], x: Tensor<2>) -> Tensor<2> {
    let last = layers.len().saturating_sub(1);
    layers.iter().enumerate().fold(x, |h, (i, layer)| {
        let y = layer.forward(h);
        if i < last { relu(y) } else { y }
    })
}
