//! IterativeRS (the paper's Algorithm 1): `N` experts restart from a shared policy; every `m`
//! steps the `M` experts trained in the block are merged (weights renormalised over them, eq. 9)
//! and the next block's `M` experts restart from the merge; all `N` are merged at the end.

use super::progress::{Books, Progress, expert};
use super::{
    Learner, MergeWeights, RunOptions, RunOutput, Strategy, StrategyError, active_set,
    merge_experts, one_hot,
};
use crate::merge::Merger;
use crate::policy::Policy;

/// The fixed settings of an IterativeRS run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan<'a> {
    pub steps: usize,
    pub merge_every: usize,
    pub active: usize,
    pub seed: u64,
    pub merge_weights: &'a MergeWeights,
}

impl Plan<'_> {
    /// Check the plan against `n` objectives.
    pub fn validate(&self, n: usize) -> Result<(), StrategyError> {
        if self.steps == 0 || self.merge_every == 0 || self.active == 0 || self.active > n {
            return Err(StrategyError::BadConfig(format!(
                "IterativeRS needs steps ≥ 1, merge_every ≥ 1 and 1 ≤ active ≤ {n} (got steps \
                 {}, merge_every {}, active {})",
                self.steps, self.merge_every, self.active
            )));
        }
        Ok(())
    }
}

/// A fresh IterativeRS run: `N` experts from `reference`, the first block's active set.
pub(super) fn start<P: Policy, L: Learner<P>>(
    reference: &P,
    learner: &L,
    plan: &Plan<'_>,
) -> Progress<P> {
    let n = learner.objectives();
    let mut run = Progress::start(reference, learner, n);
    run.current = active_set(n, plan.active, plan.seed, 0);
    run
}

/// Continue `run` to the end of `plan` (or to an early stop of `options`).
pub(super) fn run<P: Policy, L: Learner<P>, G: Merger>(
    strategy: &Strategy,
    reference: &P,
    learner: &mut L,
    merger: &G,
    plan: Plan<'_>,
    mut run: Progress<P>,
    options: &RunOptions<'_>,
) -> Result<RunOutput<P>, StrategyError> {
    let n = learner.objectives();
    plan.validate(n)?;
    let mut books = Books::new(strategy, plan.seed, options, &run)?;
    for t in run.done + 1..=plan.steps {
        for i in run.current.clone() {
            books.step(&mut run, learner, reference, i, &one_hot(n, i), t, Some(i))?;
        }
        run.done = t;
        // Merge at the end of step t when m divides t, except at t = T (the final merge of all
        // N follows the loop): so m = T never merges inside the loop (Rewarded Soups) and m = 1
        // merges after every step (MORLHF under SGD).
        let merge_now = t % plan.merge_every == 0 && t < plan.steps;
        if merge_now {
            let merged = merge_experts(
                plan.merge_weights,
                merger,
                &run.experts,
                &run.current,
                reference,
                learner,
                plan.seed ^ run.round as u64,
            )?;
            run.budget.merges += 1;
            run.round += 1;
            run.current = active_set(n, plan.active, plan.seed, run.round);
            for &i in &run.current {
                run.experts[i] = expert(&merged, learner);
            }
            run.merged = Some(merged);
        }
        if books.boundary(&run, learner, merge_now)? {
            // Stopped early: the last merged policy (the reference before the first merge).
            let policy = run
                .merged
                .take()
                .unwrap_or_else(|| reference.clone().train());
            return Ok(RunOutput::stopped(policy, run));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let policy = merge_experts(
        plan.merge_weights,
        merger,
        &run.experts,
        &all,
        reference,
        learner,
        plan.seed ^ u64::MAX,
    )?;
    run.budget.merges += 1;
    Ok(RunOutput::finished(policy, run))
}
