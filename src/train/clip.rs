//! Global gradient-norm clipping (PyTorch's `clip_grad_norm_`), which Burn lacks: its
//! `GradientClippingConfig::Norm` clips each parameter tensor separately.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g * self.factor);
        }
    }
}

/// L2 norm of all gradients of `module`'s parameters taken together (one host read).
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f32 {
    let mut v = SquaredNorm { grads, total: None };
    module.visit(&mut v);
    v.total.map_or(0.0, |t| t.into_scalar::<f32>().sqrt())
}

/// Scale all gradients so their global L2 norm is at most `max_norm`; returns the norm before
/// clipping. Non-finite norms leave the gradients untouched (the caller should skip the step).
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, f32) {
    let norm = global_grad_norm(module, &grads);
    if norm.is_finite() && norm > max_norm {
        let factor = max_norm / (norm + 1e-6);
        module.visit(&mut Scale {
            grads: &mut grads,
            factor,
        });
    }
    (grads, norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;
    use burn::nn::LinearConfig;

    #[test]
    fn clips_to_global_norm() {
        let dev = default_device().autodiff();
        let lin = LinearConfig::new(3, 2).init(&dev);
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &dev);
        let loss = lin.forward(x).sum() * 10.0;
        let grads = GradientsParams::from_grads(loss.backward(), &lin);
        let before = global_grad_norm(&lin, &grads);
        // d/dW = 10·x per output column (2 columns), d/db = 10 per output.
        let want = (2.0f32 * 100.0 * 14.0 + 2.0 * 100.0).sqrt();
        assert!((before - want).abs() < 1e-3, "{before} vs {want}");
        let (grads, reported) = clip_global_norm(&lin, grads, 1.0);
        assert_eq!(reported, before);
        let after = global_grad_norm(&lin, &grads);
        assert!((after - 1.0).abs() < 1e-4, "{after}");
    }
}
