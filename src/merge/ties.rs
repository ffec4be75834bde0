//! TIES merging: trim each task vector, elect signs, average the agreeing entries.

use super::adapters;
use super::{
    MergeError, Merger, check_scale, finite, per_parameter, rebuild, weighted_sum, with_base,
};
use burn::module::Module;
use burn::tensor::Tensor;

/// TIES merging (Yadav et al., 2023): trim each task vector to its `density` largest-magnitude
/// entries (per parameter tensor), elect each entry's sign by weighted mass, average the
/// entries that agree with it (weighted), and add `scale ×` the result to the base.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ties {
    /// Fraction of each task vector kept, in (0, 1].
    pub density: f64,
    /// Scale λ of the merged task vector.
    pub scale: f64,
}

impl Merger for Ties {
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        if let Some(folded) = adapters::folded(models) {
            return self.merge(&folded.iter().collect::<Vec<_>>(), weights, base);
        }
        if !(self.density > 0.0 && self.density <= 1.0) {
            return Err(MergeError::BadSetting(format!(
                "TIES density must be in (0, 1], got {}",
                self.density
            )));
        }
        check_scale("TIES", self.scale)?;
        let (base, flats) = with_base(models, weights, base, "TIES")?;
        if weights.iter().any(|&w| w < 0.0) {
            return Err(MergeError::BadWeights {
                weights: weights.to_vec(),
                reason: "TIES weights must be non-negative".into(),
            });
        }
        // Trimming could drop a NaN unseen: the inputs are checked, not only the result.
        finite::check_inputs(&flats, true)?;
        let merged = per_parameter(flats[0].len(), |p| {
            let b = flats[0][p].values.clone();
            let taus: Vec<Tensor<1>> = flats[1..]
                .iter()
                .map(|f| trim(f[p].values.clone() - b.clone(), self.density))
                .collect();
            let elected = weighted_sum(taus.iter().cloned(), weights).sign();
            let (mut num, mut den) = (b.zeros_like(), b.zeros_like());
            for (tau, &w) in taus.into_iter().zip(weights) {
                let agree = tau.clone().sign().equal(elected.clone()).float()
                    * tau.clone().not_equal_elem(0.0).float();
                num = num + tau * agree.clone() * w;
                den = den + agree * w;
            }
            let tau = num / den.clamp_min(1e-12);
            b + tau * self.scale
        });
        Ok(rebuild(base, finite::checked(merged, &flats, true)?))
    }
}

/// Keep the `density` fraction of largest-magnitude entries of `tau`, zero the rest.
pub(super) fn trim(tau: Tensor<1>, density: f64) -> Tensor<1> {
    let n = tau.dims()[0];
    let keep = ((n as f64 * density).ceil() as usize).clamp(1, n);
    if keep == n {
        return tau;
    }
    let threshold = tau.clone().abs().sort_descending(0).narrow(0, keep - 1, 1);
    let small = tau.clone().abs().lower(threshold.expand([n]));
    tau.mask_fill(small, 0.0)
}
