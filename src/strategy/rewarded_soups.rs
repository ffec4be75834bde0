//! Rewarded Soups: `N` experts trained independently from the reference, one after the other,
//! merged once with the preference weights.

use super::progress::{Books, Progress};
use super::{
    Learner, MergeWeights, RunOptions, RunOutput, Strategy, StrategyError, merge_experts, one_hot,
};
use crate::merge::Merger;
use crate::policy::Policy;

/// A fresh Rewarded Soups run: `N` experts from `reference`.
pub(super) fn start<P: Policy, L: Learner<P>>(reference: &P, learner: &L) -> Progress<P> {
    Progress::start(reference, learner, learner.objectives())
}

/// Continue `run` (expert `done / steps`, its step `done % steps + 1`) to the end.
#[allow(clippy::too_many_arguments)]
pub(super) fn run<P: Policy, L: Learner<P>, G: Merger>(
    strategy: &Strategy,
    reference: &P,
    learner: &mut L,
    merger: &G,
    (steps, merge_weights): (usize, &MergeWeights),
    seed: u64,
    mut run: Progress<P>,
    options: &RunOptions<'_>,
) -> Result<RunOutput<P>, StrategyError> {
    if steps == 0 {
        return Err(StrategyError::BadConfig(
            "Rewarded Soups needs steps ≥ 1".into(),
        ));
    }
    let n = learner.objectives();
    let mut books = Books::new(strategy, seed, options, &run)?;
    for k in run.done..n * steps {
        let (i, t) = (k / steps, k % steps + 1);
        books.step(&mut run, learner, reference, i, &one_hot(n, i), t, Some(i))?;
        run.done = k + 1;
        if books.boundary(&run, learner, false)? {
            return Ok(RunOutput::stopped(reference.clone().train(), run));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let policy = merge_experts(
        merge_weights,
        merger,
        &run.experts,
        &all,
        reference,
        learner,
        seed ^ u64::MAX,
    )?;
    run.budget.merges += 1;
    Ok(RunOutput::finished(policy, run))
}
