//! Finiteness of merges: a NaN or ±∞ parameter in any model (or the base) is refused, and so
//! is a result that overflows f32 from finite inputs (e.g. a task-arithmetic scale of 1e300).
//!
//! The cost is one sum per merged tensor (read once, in parallel) and one host read of all the
//! sums: a sum is finite only when every element is. Only where a sum is not finite are the
//! elements (and then the inputs, to name the culprit) checked one by one, so an overflowing
//! sum of finite values is not mistaken for a NaN.

use super::{Flat, MergeError};
use crate::host::merge::InPlaceError;
use burn::tensor::Tensor;
use rayon::prelude::*;

/// Which model an input of a merge is, for messages: `None` is the base model.
pub(super) fn describe(model: &Option<usize>) -> String {
    model.map_or_else(|| "the base model".into(), |k| format!("model {k}"))
}

/// Whether every element of `t` is finite (exact, one reduction).
fn all_finite(t: &Tensor<1>) -> bool {
    t.clone()
        .is_finite()
        .all()
        .into_data()
        .iter::<bool>()
        .all(|ok| ok)
}

/// Index of the first of `tensors` holding a NaN or ±∞: one parallel sum each, one host read.
fn first_non_finite(tensors: &[&Tensor<1>]) -> Option<usize> {
    if tensors.is_empty() {
        return None;
    }
    let sums: Vec<Tensor<1>> = tensors.par_iter().map(|t| (*t).clone().sum()).collect();
    let sums = Tensor::cat(sums, 0).into_data();
    sums.iter::<f32>()
        .enumerate()
        .find(|&(i, s)| !s.is_finite() && !all_finite(tensors[i]))
        .map(|(i, _)| i)
}

/// [`MergeError::NonFiniteInput`] for input `k` of `flats` (`[base, models…]` when
/// `with_base`) at parameter `p`.
fn input_error(flats: &[Vec<Flat>], with_base: bool, k: usize, p: usize) -> MergeError {
    MergeError::NonFiniteInput {
        model: if with_base { k.checked_sub(1) } else { Some(k) },
        parameter: flats[k][p].path.clone(),
    }
}

/// The first input of `flats` that is not finite at parameter `p`, as an error.
fn culprit(flats: &[Vec<Flat>], with_base: bool, p: usize) -> Option<MergeError> {
    let k = flats.iter().position(|f| !all_finite(&f[p].values))?;
    Some(input_error(flats, with_base, k, p))
}

/// Refuse a merge whose inputs hold a NaN or ±∞ (naming the model and the parameter): for
/// methods that could drop one unseen (TIES trims entries).
pub(super) fn check_inputs(flats: &[Vec<Flat>], with_base: bool) -> Result<(), MergeError> {
    let params = flats.first().map_or(0, Vec::len);
    let all: Vec<&Tensor<1>> = (0..params)
        .flat_map(|p| flats.iter().map(move |f| &f[p].values))
        .collect();
    match first_non_finite(&all) {
        Some(i) => Err(input_error(
            flats,
            with_base,
            i % flats.len(),
            i / flats.len(),
        )),
        None => Ok(()),
    }
}

/// `merged` if every tensor is finite; else the input that is not (naming the model and the
/// parameter), or [`MergeError::NonFiniteOutput`] when the inputs are finite and the merge
/// overflowed. For the linear methods a non-finite input always makes the output non-finite
/// (`NaN·w` and `∞·0` are NaN), so checking the output checks the inputs.
pub(super) fn checked(
    merged: Vec<Tensor<1>>,
    flats: &[Vec<Flat>],
    with_base: bool,
) -> Result<Vec<Tensor<1>>, MergeError> {
    let refs: Vec<&Tensor<1>> = merged.iter().collect();
    match first_non_finite(&refs) {
        None => Ok(merged),
        Some(p) => {
            Err(
                culprit(flats, with_base, p).unwrap_or_else(|| MergeError::NonFiniteOutput {
                    parameter: flats[0][p].path.clone(),
                }),
            )
        }
    }
}

/// The in-place linear merge's error, with the parameter's path.
pub(super) fn in_place_error(e: InPlaceError, paths: &[String]) -> MergeError {
    let path = |p: usize| paths.get(p).cloned().unwrap_or_default();
    match e {
        InPlaceError::Data(e) => MergeError::Data(e.to_string()),
        InPlaceError::NonFinite {
            parameter,
            model: Some(k),
        } => MergeError::NonFiniteInput {
            model: Some(k),
            parameter: path(parameter),
        },
        InPlaceError::NonFinite {
            parameter,
            model: None,
        } => MergeError::NonFiniteOutput {
            parameter: path(parameter),
        },
    }
}
