//! Weight merging of same-architecture models, on device and without autodiff: weighted linear
//! average (Rewarded Soups / IterativeRS eq. 9), task arithmetic and TIES, plus the merge
//! coefficients of eq. 9 (user weights renormalised over the merged objectives).

use crate::policy::Policy;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;
use thiserror::Error;

mod adapters;
mod finite;
mod ties;

pub use adapters::AdapterFactors;
pub use ties::Ties;

/// Errors from merging.
#[derive(Debug, Error, PartialEq)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no models to merge")]
    Empty,
    /// Models differ in parameter names or shapes.
    #[error("architectures differ at `{path}`: {detail}")]
    ArchitectureMismatch {
        /// Parameter path where the models first differ.
        path: String,
        /// What differs.
        detail: String,
    },
    /// The weights are unusable.
    #[error("bad merge weights {weights:?}: {reason}")]
    BadWeights {
        /// The weights given.
        weights: Vec<f64>,
        /// Why they were rejected.
        reason: String,
    },
    /// A method setting is out of range.
    #[error("bad merge setting: {0}")]
    BadSetting(String),
    /// A model's parameter holds NaN or ±∞ (a diverged or damaged model).
    #[error(
        "{} has NaN or infinite values in `{parameter}`: a diverged or damaged model cannot be \
         merged; retrain it or load an earlier checkpoint",
        finite::describe(model)
    )]
    NonFiniteInput {
        /// Index of the model in the merge's `models`; `None` for the base model.
        model: Option<usize>,
        /// Path of the parameter.
        parameter: String,
    },
    /// Finite models merged into NaN or ±∞ (an overflow of f32).
    #[error(
        "the merged `{parameter}` overflows f32 (NaN or infinite values from finite models): \
         lower the method's scale or the weights"
    )]
    NonFiniteOutput {
        /// Path of the parameter.
        parameter: String,
    },
    /// A parameter's host buffer could not be read or written.
    #[error("parameter data: {0}")]
    Data(String),
}

/// One float parameter of a model, flattened, with its path and shape.
struct Flat {
    path: String,
    shape: Vec<usize>,
    values: Tensor<1>,
}

#[derive(Default)]
struct Collect {
    prefix: Vec<String>,
    out: Vec<Flat>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.prefix.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.prefix.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // The stored value: an adapted weight's base and its LoRA factors are parameters of
        // their own (merging them averages the factors; `policy::lora::merge_folded` merges
        // the updates exactly).
        let t = param.base();
        let shape = t.dims().to_vec();
        let n: usize = shape.iter().product();
        self.out.push(Flat {
            path: self.prefix.join("."),
            shape,
            values: t.reshape([n]),
        });
    }
}

fn flatten<M: Module>(model: &M) -> Vec<Flat> {
    let mut c = Collect::default();
    model.valid().visit(&mut c);
    c.out
}

/// Writes the merged tensors back, parameter by parameter, in traversal order.
struct Write {
    merged: std::vec::IntoIter<Tensor<1>>,
}

impl ModuleMapper for Write {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let next = self.merged.next().expect("one merged tensor per parameter");
        param.map(|old| next.reshape(old.dims()))
    }
}

/// Flatten every model and check that they share parameter paths and shapes.
fn flatten_all<M: Module>(models: &[&M]) -> Result<Vec<Vec<Flat>>, MergeError> {
    let flats: Vec<Vec<Flat>> = models.iter().map(|m| flatten(*m)).collect();
    let first = flats.first().ok_or(MergeError::Empty)?;
    for other in &flats[1..] {
        if other.len() != first.len() {
            return Err(MergeError::ArchitectureMismatch {
                path: String::new(),
                detail: format!("{} vs {} parameters", first.len(), other.len()),
            });
        }
        for (a, b) in first.iter().zip(other) {
            if a.path != b.path || a.shape != b.shape {
                return Err(MergeError::ArchitectureMismatch {
                    path: a.path.clone(),
                    detail: format!("{} {:?} vs {} {:?}", a.path, a.shape, b.path, b.shape),
                });
            }
        }
    }
    Ok(flats)
}

/// Rebuild a model shaped like `template` from merged flat parameters.
fn rebuild<M: Module>(template: &M, merged: Vec<Tensor<1>>) -> M {
    template.valid().map(&mut Write {
        merged: merged.into_iter(),
    })
}

fn check_finite(weights: &[f64]) -> Result<(), MergeError> {
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(MergeError::BadWeights {
            weights: weights.to_vec(),
            reason: "weights must be finite".into(),
        });
    }
    Ok(())
}

/// Check weights for a convex combination: one per model, finite, ≥ 0, summing to 1 (±1e-6).
pub fn check_convex(weights: &[f64], models: usize) -> Result<(), MergeError> {
    if models == 0 {
        return Err(MergeError::Empty);
    }
    let bad = |reason: String| MergeError::BadWeights {
        weights: weights.to_vec(),
        reason,
    };
    if weights.len() != models {
        return Err(bad(format!(
            "{} weights for {models} models",
            weights.len()
        )));
    }
    check_finite(weights)?;
    if weights.iter().any(|&w| w < 0.0) {
        return Err(bad("weights must be non-negative".into()));
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(bad(format!("weights sum to {sum}, not 1")));
    }
    Ok(())
}

/// Refuse to merge policies whose architectures differ in what their parameter shapes do not
/// show (e.g. GPTs with the same widths but other head counts; [`Policy::architecture`]).
/// The strategies check this before every merge; call it before [`Merger::merge`] on
/// policies of unknown origin.
///
/// # Errors
/// [`MergeError::Empty`]; [`MergeError::ArchitectureMismatch`] naming both architectures.
pub fn check_architectures<P: Policy>(models: &[&P]) -> Result<(), MergeError> {
    let first = models.first().ok_or(MergeError::Empty)?.architecture();
    for (i, m) in models.iter().enumerate().skip(1) {
        let other = m.architecture();
        if other != first {
            return Err(MergeError::ArchitectureMismatch {
                path: "architecture".into(),
                detail: format!("model 0 is {first}, model {i} is {other}"),
            });
        }
    }
    Ok(())
}

/// A way of combining same-architecture models.
///
/// Every method refuses models holding NaN or ±∞ ([`MergeError::NonFiniteInput`], naming the
/// model and the parameter) and a result that overflows ([`MergeError::NonFiniteOutput`]).
///
/// ```
/// use burn::module::Module;
/// use multireward::device::default_device;
/// use multireward::merge::{Linear, Merger};
/// use multireward::policy::GptConfig;
///
/// let config = GptConfig::new(1, 2, 16, 32, 7, 16);
/// let (a, b) = (config.init(&default_device()), config.init(&default_device()));
/// // The Rewarded Soups average 0.3·θ_a + 0.7·θ_b.
/// let soup = Linear.merge(&[&a, &b], &[0.3, 0.7], None)?;
/// assert_eq!(soup.num_params(), a.num_params());
/// // Linear weights must be convex.
/// assert!(Linear.merge(&[&a, &b], &[0.5, 0.6], None).is_err());
/// # Ok::<(), multireward::merge::MergeError>(())
/// ```
pub trait Merger {
    /// Merge `models` with `weights`. `base` is the model the experts were fine-tuned from
    /// (the reference policy); methods that work on task vectors need it.
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError>;

    /// [`Merger::merge`] of models the caller gives up (e.g. checkpoints just loaded, or experts
    /// about to be replaced), so a method may reuse their buffers. Same result; the default
    /// borrows them and calls [`Merger::merge`].
    fn merge_owned<M: Module>(
        &self,
        models: Vec<M>,
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        let refs: Vec<&M> = models.iter().collect();
        self.merge(&refs, weights, base)
    }
}

/// Weighted average `Σ w_k θ_k` (weights convex). The merge of Rewarded Soups and IterativeRS.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Linear;

impl Linear {
    /// `Σ w_k θ_k` of the stored parameters as they are (an adapted weight's base and its
    /// factors each averaged: [`AdapterFactors`] before the fold).
    fn merge_stored<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        _base: Option<&M>,
    ) -> Result<M, MergeError> {
        check_convex(weights, models.len())?;
        let flats = flatten_all(models)?;
        let merged = per_parameter(flats[0].len(), |p| {
            weighted_sum(flats.iter().map(|f| f[p].values.clone()), weights)
        });
        Ok(rebuild(models[0], finite::checked(merged, &flats, false)?))
    }
}

impl Merger for Linear {
    /// Of the effective weights: policies with LoRA adapters are folded first.
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        if let Some(folded) = adapters::folded(models) {
            return self.merge(&folded.iter().collect::<Vec<_>>(), weights, base);
        }
        self.merge_stored(models, weights, base)
    }

    /// On the CPU backend, one pass in place in the first model's buffers
    /// (`host::merge`); elsewhere the borrowed [`Merger::merge`]. The result is the
    /// same to the bit.
    fn merge_owned<M: Module>(
        &self,
        models: Vec<M>,
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        check_convex(weights, models.len())?;
        let paths: Vec<String> = {
            let refs: Vec<&M> = models.iter().collect();
            if let Some(folded) = adapters::folded(&refs) {
                return self.merge_owned(folded, weights, base);
            }
            let flats = flatten_all(&refs)?;
            let in_place = flats[0].iter().all(|f| {
                f.values.dtype() == DType::F32 && crate::host::enabled(&f.values.device())
            });
            if !in_place {
                return self.merge(&refs, weights, base);
            }
            flats[0].iter().map(|f| f.path.clone()).collect()
        };
        crate::host::merge::linear_in_place(models, weights)
            .map_err(|e| finite::in_place_error(e, &paths))
    }
}

/// `f(p)` for every parameter index `p < count`, in order, spread over the rayon pool: CPU
/// backends run element-wise kernels on one thread, so merging parameters in parallel uses
/// every core (the merge is memory-bound).
fn per_parameter(count: usize, f: impl Fn(usize) -> Tensor<1> + Sync + Send) -> Vec<Tensor<1>> {
    (0..count).into_par_iter().map(f).collect()
}

fn weighted_sum(tensors: impl Iterator<Item = Tensor<1>>, weights: &[f64]) -> Tensor<1> {
    tensors
        .zip(weights)
        .map(|(t, &w)| t * w)
        .reduce(|a, b| a + b)
        .expect("at least one model")
}

/// The merge methods a strategy can be configured with; part of the strategy's settings, so a
/// checkpoint records which one a run uses. Each variant is the [`Merger`] of the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MergeMethod {
    /// [`Linear`]: the weighted average of Rewarded Soups and IterativeRS (the paper's).
    #[default]
    Linear,
    /// [`TaskArithmetic`].
    TaskArithmetic(TaskArithmetic),
    /// [`Ties`].
    Ties(Ties),
    /// [`AdapterFactors`]: LoRA experts' factors averaged separately (Rewarded Soups' practice).
    AdapterFactors,
}

impl Merger for MergeMethod {
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        match self {
            Self::Linear => Linear.merge(models, weights, base),
            Self::TaskArithmetic(m) => m.merge(models, weights, base),
            Self::Ties(m) => m.merge(models, weights, base),
            Self::AdapterFactors => AdapterFactors.merge(models, weights, base),
        }
    }

    fn merge_owned<M: Module>(
        &self,
        models: Vec<M>,
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        match self {
            Self::Linear => Linear.merge_owned(models, weights, base),
            Self::TaskArithmetic(m) => m.merge_owned(models, weights, base),
            Self::Ties(m) => m.merge_owned(models, weights, base),
            Self::AdapterFactors => AdapterFactors.merge_owned(models, weights, base),
        }
    }
}

/// Task arithmetic: `θ_base + λ Σ w_k (θ_k − θ_base)` (weights finite, any sign).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskArithmetic {
    /// Scale λ of the summed task vectors.
    pub scale: f64,
}

impl Merger for TaskArithmetic {
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        if let Some(folded) = adapters::folded(models) {
            return self.merge(&folded.iter().collect::<Vec<_>>(), weights, base);
        }
        check_scale("task arithmetic", self.scale)?;
        let (base, flats) = with_base(models, weights, base, "task arithmetic")?;
        let merged = per_parameter(flats[0].len(), |p| {
            let b = flats[0][p].values.clone();
            let tau = weighted_sum(
                flats[1..].iter().map(|f| f[p].values.clone() - b.clone()),
                weights,
            );
            b + tau * self.scale
        });
        Ok(rebuild(base, finite::checked(merged, &flats, true)?))
    }
}

/// The base model and the checked, flattened parameters of `[base, models…]`, for methods
/// working on task vectors.
fn with_base<'a, M: Module>(
    models: &[&'a M],
    weights: &[f64],
    base: Option<&'a M>,
    method: &str,
) -> Result<(&'a M, Vec<Vec<Flat>>), MergeError> {
    let base =
        base.ok_or_else(|| MergeError::BadSetting(format!("{method} needs the base model")))?;
    check_weights_len(weights, models.len())?;
    let all: Vec<&M> = std::iter::once(base)
        .chain(models.iter().copied())
        .collect();
    Ok((base, flatten_all(&all)?))
}

/// A method's scale λ must be finite (a NaN or infinite one makes every parameter NaN).
fn check_scale(method: &str, scale: f64) -> Result<(), MergeError> {
    if scale.is_finite() {
        Ok(())
    } else {
        Err(MergeError::BadSetting(format!(
            "{method} scale must be finite, got {scale}"
        )))
    }
}

fn check_weights_len(weights: &[f64], models: usize) -> Result<(), MergeError> {
    if models == 0 {
        return Err(MergeError::Empty);
    }
    if weights.len() != models {
        return Err(MergeError::BadWeights {
            weights: weights.to_vec(),
            reason: format!("{} weights for {models} models", weights.len()),
        });
    }
    check_finite(weights)
}

/// Merge coefficients of eq. 9: the user's preference weights `w` renormalised over the
/// `active` objectives (uniform `w` gives `1/M`).
pub fn renormalised(preferences: &[f64], active: &[usize]) -> Result<Vec<f64>, MergeError> {
    let picked: Vec<f64> = active
        .iter()
        .map(|&i| preferences.get(i).copied().unwrap_or(f64::NAN))
        .collect();
    check_finite(&picked)?;
    let sum: f64 = picked.iter().sum();
    if picked.iter().any(|&w| w < 0.0) || sum <= 0.0 {
        return Err(MergeError::BadWeights {
            weights: picked,
            reason: "preferences of the active objectives must be ≥ 0 and not all 0".into(),
        });
    }
    Ok(picked.iter().map(|w| w / sum).collect())
}

#[cfg(test)]
mod tests;
