//! MORLHF: one policy trained on the preference-weighted sum of the rewards.

use super::progress::{Books, Progress};
use super::{Learner, RunOptions, RunOutput, StepContext, Strategy, StrategyError};
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
        let ctx = StepContext {
            step: t,
            expert: None,
            round: 0,
            seed,
        };
        let e = &mut run.experts[0];
        let policy = std::mem::replace(&mut e.policy, reference.clone());
        let (policy, report) = learner.step(policy, &mut e.optim, &weights, &ctx)?;
        books.record(&mut run, &ctx, report, &policy)?;
        run.experts[0].policy = policy;
        run.done = t;
        if books.boundary(&run, learner, false)? {
            let policy = run.experts[0].policy.clone();
            return Ok(RunOutput::stopped(policy, run));
        }
    }
    let policy = run.experts.remove(0).policy;
    let mut out = RunOutput::finished(policy, run);
    out.experts.clear();
    Ok(out)
}
