//! Gradients summed over the ranks of a data-parallel step ([`crate::distributed`]): every
//! rank computes the gradient of its share of a minibatch's loss, and each receives the sum.

use crate::distributed::{CommError, Communicator};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

/// Host copies of every float parameter's gradient (zeros where this rank has none), followed
/// by one flag per parameter: 1 when this rank has its gradient.
struct Flatten<'a> {
    grads: &'a mut GradientsParams,
    values: Vec<f32>,
    flags: Vec<f32>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match self.grads.remove::<D>(param.id) {
            Some(g) => {
                self.values.extend(g.into_data().iter::<f32>());
                self.flags.push(1.0);
            }
            None => {
                let n = param.val().shape().num_elements();
                self.values.extend(std::iter::repeat_n(0.0, n));
                self.flags.push(0.0);
            }
        }
    }
}

/// Registers the summed gradients of the parameters some rank had a gradient for.
struct Register<'a> {
    grads: &'a mut GradientsParams,
    values: &'a [f32],
    flags: &'a [f32],
    at: usize,
    param: usize,
}

impl ModuleVisitor for Register<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        let values = &self.values[self.at..self.at + n];
        if self.flags[self.param] > 0.0 {
            let data = TensorData::new(values.to_vec(), t.shape());
            self.grads
                .register(param.id, Tensor::<D>::from_data(data, &t.device()));
        }
        self.at += n;
        self.param += 1;
    }
}

/// The sum over ranks of every rank's `grads` of `module`'s parameters (one `all_reduce_sum`
/// of the flattened gradients through host memory). A rank with no share of the minibatch
/// passes empty gradients. A parameter no rank has a gradient for stays without one.
pub fn all_reduce_grads<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    comm: &dyn Communicator,
) -> Result<GradientsParams, CommError> {
    let mut flat = Flatten {
        grads: &mut grads,
        values: Vec::new(),
        flags: Vec::new(),
    };
    module.visit(&mut flat);
    let (mut values, flags) = (flat.values, flat.flags);
    let n = values.len();
    values.extend(flags);
    comm.all_reduce_sum(&mut values)?;
    let (values, flags) = values.split_at(n);
    let mut summed = GradientsParams::new();
    module.visit(&mut Register {
        grads: &mut summed,
        values,
        flags,
        at: 0,
        param: 0,
    });
    Ok(summed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;
    use crate::distributed::{InProcess, Local};
    use burn::nn::LinearConfig;

    #[test]
    fn gradients_of_shares_sum_to_the_gradient_of_the_whole() {
        let dev = default_device().autodiff();
        dev.seed(1);
        let lin = LinearConfig::new(3, 2).init(&dev);
        let rows = [[1.0f32, 2.0, 3.0], [-1.0, 0.5, 2.0], [0.0, 1.0, -1.0]];
        let grads_of = |rows: &[[f32; 3]]| {
            if rows.is_empty() {
                return GradientsParams::new();
            }
            let x = Tensor::<2>::from_data(TensorData::new(rows.concat(), [rows.len(), 3]), &dev);
            GradientsParams::from_grads(lin.forward(x).square().sum().backward(), &lin)
        };
        let whole = all_reduce_grads(&lin, grads_of(&rows), &Local).unwrap();
        let group = InProcess::group(3);
        // Rank 0 takes two rows, rank 1 one, rank 2 none.
        let shares = [&rows[..2], &rows[2..], &rows[3..]];
        let summed: Vec<GradientsParams> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .zip(shares)
                .map(|(c, share)| {
                    let g = grads_of(share);
                    let lin = lin.clone();
                    s.spawn(move || all_reduce_grads(&lin, g, c).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let w = |g: &GradientsParams| -> Vec<f32> {
            g.get::<2>(lin.weight.id)
                .unwrap()
                .into_data()
                .iter::<f32>()
                .collect()
        };
        for g in &summed {
            for (a, b) in w(&whole).iter().zip(w(g)) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            assert!(g.get::<1>(lin.bias.as_ref().unwrap().id).is_some());
        }
    }
}
