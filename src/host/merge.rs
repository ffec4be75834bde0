//! The linear merge `Σ w_k θ_k` in place on the host: the first model's buffers accumulate the
//! sum in cache-sized chunks, reading each expert once and allocating nothing (Burn's tensor
//! ops, [`crate::merge::Linear::merge`], make about three times the memory traffic). The
//! products and sums run in the order of the borrowed merge, so both agree to the bit.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DataError, Tensor, TensorData};
use rayon::prelude::*;

/// Why the in-place merge stopped.
pub(crate) enum InPlaceError {
    /// A parameter's host buffer could not be read or written as f32.
    Data(DataError),
    /// The merged parameter `parameter` (traversal order) is not finite: model `Some(k)` holds
    /// a NaN or ±∞ there, or (`None`) every model is finite there and the sum overflowed.
    NonFinite {
        parameter: usize,
        model: Option<usize>,
    },
}

/// `Σ w_k θ_k` of `models` (f32 parameters on the host backend; weights checked by the
/// caller), written into the first model's buffers when nothing else holds them. The same
/// pass checks that the result is finite (and the first model, whose values it overwrites);
/// the other models are read again only to name the culprit.
pub(crate) fn linear_in_place<M: Module>(
    models: Vec<M>,
    weights: &[f64],
) -> Result<M, InPlaceError> {
    let mut taken: Vec<(M, Vec<TensorData>)> = models.into_iter().map(take).collect();
    let (first, rest) = taken.split_at_mut(1);
    let sources: Vec<&Vec<TensorData>> = rest.iter().map(|(_, d)| d).collect();
    let w: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    let finite = first[0]
        .1
        .par_iter_mut()
        .enumerate()
        .map(|(p, acc)| -> Result<Finite, DataError> {
            let inputs = sources
                .iter()
                .map(|d| d[p].as_slice::<f32>())
                .collect::<Result<Vec<_>, _>>()?;
            let acc = acc.as_mut_slice::<f32>()?;
            Ok(accumulate(acc, &inputs, &w))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(InPlaceError::Data)?;
    if let Some(parameter) = finite.iter().position(|f| !f.merged) {
        let holds_non_finite = |d: &TensorData| {
            d.as_slice::<f32>()
                .is_ok_and(|x| x.iter().any(|v| !v.is_finite()))
        };
        let model = if finite[parameter].first {
            sources
                .iter()
                .position(|d| holds_non_finite(&d[parameter]))
                .map(|k| k + 1)
        } else {
            Some(0)
        };
        return Err(InPlaceError::NonFinite { parameter, model });
    }
    let (template, merged) = taken.swap_remove(0);
    Ok(template.map(&mut Put {
        data: merged.into_iter(),
    }))
}

/// Elements per chunk of the in-place merge (64 KiB of f32: stays in L2 across the passes).
const CHUNK: usize = 1 << 14;

/// A word whose top bit is set exactly when `x` is ±∞ or NaN (its exponent bits all ones):
/// `|x|`'s bits plus the lowest exponent bit carry into bit 31 only then. OR-ed over a chunk,
/// this vectorises with plain SSE2 integer ops (an unsigned maximum needs SSE4.1), and the
/// check rides along the passes the merge makes anyway: no extra pass over the data.
fn non_finite_bit(x: f32) -> u32 {
    (x.to_bits() & 0x7fff_ffff).wrapping_add(0x0080_0000)
}

/// The bit [`non_finite_bit`] sets.
const NON_FINITE: u32 = 0x8000_0000;

/// Whether the first model's values (before the merge) and the merged values are all finite.
#[derive(Clone, Copy)]
struct Finite {
    first: bool,
    merged: bool,
}

impl Finite {
    fn and(self, other: Self) -> Self {
        Self {
            first: self.first & other.first,
            merged: self.merged & other.merged,
        }
    }
}

/// `acc ← w[0]·acc + Σ_k w[k+1]·inputs[k]`, chunk by chunk on the rayon pool; the products
/// and sums in the order of [`weighted_sum`], so both merges agree to the bit. Reports whether
/// `acc` was and became finite (read while each chunk is in cache).
fn accumulate(acc: &mut [f32], inputs: &[&[f32]], w: &[f32]) -> Finite {
    acc.par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let start = c * CHUNK;
            let mut first = 0;
            for x in chunk.iter_mut() {
                first |= non_finite_bit(*x);
                *x *= w[0];
            }
            let mut merged = 0;
            for (k, (input, &wk)) in inputs.iter().zip(&w[1..]).enumerate() {
                let input = &input[start..start + chunk.len()];
                if k + 1 < inputs.len() {
                    for (x, &y) in chunk.iter_mut().zip(input) {
                        *x += y * wk;
                    }
                } else {
                    // The last pass also checks the result.
                    for (x, &y) in chunk.iter_mut().zip(input) {
                        *x += y * wk;
                        merged |= non_finite_bit(*x);
                    }
                }
            }
            if inputs.is_empty() {
                merged = chunk.iter().fold(0, |m, &x| m | non_finite_bit(x));
            }
            Finite {
                first: first & NON_FINITE == 0,
                merged: merged & NON_FINITE == 0,
            }
        })
        .reduce(
            || Finite {
                first: true,
                merged: true,
            },
            Finite::and,
        )
}

/// Takes a model's float parameters out as host data (traversal order), leaving empty
/// placeholders: after [`Module::valid`] and dropping the original, the buffers are usually
/// unowned by anything else, so reading them costs no copy.
fn take<M: Module>(model: M) -> (M, Vec<TensorData>) {
    let valid = model.valid();
    drop(model);
    let mut take = Take(Vec::new());
    let emptied = valid.map(&mut take);
    (emptied, take.0)
}

struct Take(Vec<TensorData>);

impl ModuleMapper for Take {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let device = t.device();
            self.0.push(t.into_data());
            Tensor::empty([0; D], &device)
        })
    }
}

/// Puts host data back as the parameters of a model emptied by [`take`].
struct Put {
    data: std::vec::IntoIter<TensorData>,
}

impl ModuleMapper for Put {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let data = self.data.next().expect("one buffer per parameter");
        param.map(|old| Tensor::from_data(data, &old.device()))
    }
}
