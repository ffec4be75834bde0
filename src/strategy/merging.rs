//! How strategies merge: the shared merge step ([`Merging`]: the coefficients of
//! [`MergeWeights`], eq. 9 or the reference code's candidate selection, and the merge method),
//! and Rewarded Soups' λ sweep over the simplex ([`soup_front`], [`simplex_grid`]).

use super::error::StrategyError;
use super::learner::Collector;
use super::progress::Expert;
use super::ranks::Ranks;
use super::settings::{MergeWeights, SelectionScore};
use crate::merge::{MergeMethod, Merger, check_architectures, renormalised};
use crate::policy::{Policy, lora};

/// How a strategy merges experts: the coefficients ([`MergeWeights`]) and the method
/// ([`MergeMethod`]), both from the strategy's settings, and the run's ranks (rank 0 scores
/// selection candidates for all of them).
#[derive(Debug, Clone, Copy)]
pub(super) struct Merging<'a> {
    pub weights: &'a MergeWeights,
    pub method: &'a MergeMethod,
    pub ranks: Ranks<'a>,
}

impl Merging<'_> {
    /// Merge `members` of `experts` (fine-tuned from `reference`), in training mode. With
    /// [`MergeWeights::Select`] each candidate's merge is sampled through `learner` with
    /// `seed`. `shared`: the members restarted from one policy (with LoRA adapters, their
    /// updates then merge into its base without folding every expert).
    pub fn merge<P: Policy, L: Collector<P>>(
        &self,
        experts: &[Expert<P>],
        members: &[usize],
        reference: &P,
        learner: &mut L,
        seed: u64,
        shared: bool,
    ) -> Result<P, StrategyError> {
        let weights =
            self.checked_coefficients(experts, members, reference, learner, seed, shared)?;
        let models: Vec<&P> = members.iter().map(|&i| &experts[i].policy).collect();
        Ok(self.combine(&models, &weights, reference, shared)?.train())
    }

    /// `models` merged with `weights` by the method; LoRA experts that share their base with
    /// the linear method: their updates folded into it ([`lora::merge_folded`], the same
    /// policy as merging their folded weights, without a full copy per expert).
    fn combine<P: Policy>(
        &self,
        models: &[&P],
        weights: &[f64],
        reference: &P,
        shared: bool,
    ) -> Result<P, StrategyError> {
        let adapted = models.first().is_some_and(|m| lora::is_adapted(*m));
        if shared && adapted && *self.method == MergeMethod::Linear {
            return Ok(lora::merge_folded(models, weights));
        }
        Ok(self.method.merge(models, weights, Some(reference))?)
    }

    /// [`Merging::merge`] of experts about to restart from the result: their policies are
    /// taken out (the reference holds their places), so the merge may reuse their buffers
    /// ([`Merger::merge_owned`]; in place on the CPU backend). The same result to the bit.
    pub fn merge_taking<P: Policy, L: Collector<P>>(
        &self,
        experts: &mut [Expert<P>],
        members: &[usize],
        reference: &P,
        learner: &mut L,
        seed: u64,
    ) -> Result<P, StrategyError> {
        let weights =
            self.checked_coefficients(experts, members, reference, learner, seed, true)?;
        let models: Vec<P> = members
            .iter()
            .map(|&i| std::mem::replace(&mut experts[i].policy, reference.clone()))
            .collect();
        if models.first().is_some_and(lora::is_adapted) {
            let refs: Vec<&P> = models.iter().collect();
            return Ok(self.combine(&refs, &weights, reference, true)?.train());
        }
        let merged = self.method.merge_owned(models, &weights, Some(reference))?;
        Ok(merged.train())
    }

    /// The coefficients of merging `members`: eq. 9, or the best-scoring candidate; first,
    /// the members must share the reference's architecture ([`check_architectures`]).
    fn checked_coefficients<P: Policy, L: Collector<P>>(
        &self,
        experts: &[Expert<P>],
        members: &[usize],
        reference: &P,
        learner: &mut L,
        seed: u64,
        shared: bool,
    ) -> Result<Vec<f64>, StrategyError> {
        let models: Vec<&P> = members.iter().map(|&i| &experts[i].policy).collect();
        check_architectures(&[&[reference][..], &models].concat())?;
        match self.weights {
            MergeWeights::Preferences => Ok(renormalised(&learner.preferences(), members)?),
            MergeWeights::Select { .. } if self.ranks.size() > 1 => {
                // Rank 0 samples and scores the candidates; the others take its choice.
                let chosen = match self.ranks.is_root() {
                    true => Some(self.select(&models, reference, learner, seed, shared)),
                    false => None,
                };
                self.ranks.agree_with_root(chosen)
            }
            MergeWeights::Select { .. } => self.select(&models, reference, learner, seed, shared),
        }
    }

    /// The candidate of [`MergeWeights::Select`] whose merge of `models` scores best.
    fn select<P: Policy, L: Collector<P>>(
        &self,
        models: &[&P],
        reference: &P,
        learner: &mut L,
        seed: u64,
        shared: bool,
    ) -> Result<Vec<f64>, StrategyError> {
        let members = models.len();
        match self.weights {
            MergeWeights::Preferences => Err(StrategyError::BadConfig(
                "selection without candidates".into(),
            )),
            MergeWeights::Select {
                candidates,
                samples,
                score,
            } => {
                let mut best: Option<(f64, Vec<f64>)> = None;
                for w in candidates.iter().filter(|w| w.len() == members) {
                    let merged = self.combine(models, w, reference, shared)?;
                    let values = learner.evaluate(&merged, *samples, seed)?;
                    let s = selection_score(&values, *score);
                    if best.as_ref().is_none_or(|(b, _)| s > *b) {
                        best = Some((s, w.clone()));
                    }
                }
                let (_, w) = best.ok_or_else(|| {
                    StrategyError::BadConfig(format!(
                        "no selection candidate has {members} weights"
                    ))
                })?;
                Ok(w)
            }
        }
    }
}

/// Score of a candidate's `[sample][objective]` values.
fn selection_score(values: &[Vec<f64>], score: SelectionScore) -> f64 {
    let rows: Vec<&Vec<f64>> = match score {
        SelectionScore::Mean => values.iter().collect(),
        SelectionScore::ParetoMean => crate::eval::metrics::pareto_front(values)
            .unwrap_or_default()
            .into_iter()
            .map(|i| &values[i])
            .collect(),
    };
    let n: usize = rows.iter().map(|r| r.len()).sum();
    if n == 0 {
        return f64::NEG_INFINITY;
    }
    rows.iter().flat_map(|r| r.iter()).sum::<f64>() / n as f64
}

/// Rewarded Soups' λ sweep: merge `experts` with every weight vector of `grid` (each convex),
/// returning `(λ, merged policy)` pairs, e.g. to evaluate the whole front.
pub fn soup_front<P: Policy, G: Merger>(
    experts: &[P],
    grid: &[Vec<f64>],
    merger: &G,
    reference: &P,
) -> Result<Vec<(Vec<f64>, P)>, StrategyError> {
    let models: Vec<&P> = experts.iter().collect();
    check_architectures(&[&[reference][..], &models].concat())?;
    grid.iter()
        .map(|w| Ok((w.clone(), merger.merge(&models, w, Some(reference))?)))
        .collect()
}

/// Every weight vector on the simplex of `n` objectives with step `1/divisions`
/// (e.g. `n = 2, divisions = 4`: (0,1), (¼,¾), …, (1,0)).
pub fn simplex_grid(n: usize, divisions: usize) -> Vec<Vec<f64>> {
    fn rec(n: usize, left: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if prefix.len() + 1 == n {
            prefix.push(left);
            out.push(prefix.clone());
            prefix.pop();
            return;
        }
        for k in 0..=left {
            prefix.push(k);
            rec(n, left - k, prefix, out);
            prefix.pop();
        }
    }
    if n == 0 || divisions == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    rec(n, divisions, &mut Vec::new(), &mut out);
    out.into_iter()
        .map(|v| v.into_iter().map(|k| k as f64 / divisions as f64).collect())
        .collect()
}

/// The reference code's selection grid for 3 objectives (docs/algorithms.md, "The reference
/// code's settings"; the DNA and text tasks): uniform, and the permutations of
/// (1/6, 5/12, 5/12), (1/6, 1/6, 2/3) and (1/2, 1/4, 1/4) — 10 candidates.
pub fn selection_grid_3() -> Vec<Vec<f64>> {
    let mut grid = vec![vec![1.0 / 3.0; 3]];
    // (odd one out, the value appearing twice); each placed at the three positions.
    for (odd, pair) in [(1.0 / 6.0, 5.0 / 12.0), (2.0 / 3.0, 1.0 / 6.0), (0.5, 0.25)] {
        for k in 0..3 {
            let mut w = vec![pair; 3];
            w[k] = odd;
            grid.push(w);
        }
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplex() {
        let g = simplex_grid(3, 2);
        assert_eq!(g.len(), 6);
        assert!(
            g.iter()
                .all(|w| (w.iter().sum::<f64>() - 1.0).abs() < 1e-12)
        );
        assert_eq!(simplex_grid(2, 4)[1], vec![0.25, 0.75]);
        let grid = selection_grid_3();
        assert_eq!(grid.len(), 10);
        for w in &grid {
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{w:?}");
        }
        assert!(grid.contains(&vec![2.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0]));
        assert!(grid.contains(&vec![5.0 / 12.0, 1.0 / 6.0, 5.0 / 12.0]));
        assert!(grid.contains(&vec![0.25, 0.25, 0.5]));
    }
}
