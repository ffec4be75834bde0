//! MORLHF: one policy trained on the preference-weighted sum of the rewards.

use super::progress::{Books, Progress};
use super::{Learner, RunOptions, RunOutput, Strategy, StrategyError};
use crate::merge::renormalised;
use crate::policy::Policy;

/// A fresh MORLHF run: one policy from `reference`.
pub(super) fn start<P: Policy, L: Learner<P>>(reference: &P, learner: &L) -> Progress<P> {
    Progress::start(reference, learner, 1)
}

/// Continue `run` to `steps` steps.
pub(super) fn run<P: Policy, L: Learner<P>>(
    strategy: &Strategy,
    reference: &P,
    learner: &mut L,
    steps: usize,
    seed: u64,
    mut run: Progress<P>,
    options: &RunOptions<'_>,
) -> Result<RunOutput<P>, StrategyError> {
    if steps == 0 {
        return Err(StrategyError::BadConfig("MORLHF needs steps ≥ 1".into()));
    }
    let n = learner.objectives();
    let weights = renormalised(&learner.preferences(), &(0..n).collect::<Vec<_>>())?;
    let mut books = Books::new(strategy, seed, options, &run)?;
    for t in run.done + 1..=steps {
        books.step(&mut run, learner, reference, 0, &weights, t, None)?;
        run.done = t;
        if books.boundary(&run, learner, false)? {
            let policy = run.experts[0].policy.clone();
            return Ok(RunOutput::stopped(policy, run));
        }
    }
    // MORLHF's one policy is its result, not an expert.
    let policy = run.experts.remove(0).policy;
    Ok(RunOutput::finished(policy, run))
}
