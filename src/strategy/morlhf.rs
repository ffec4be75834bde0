//! MORLHF: one policy trained on the preference-weighted sum of the rewards.

use super::books::Books;
use super::error::StrategyError;
use super::learner::Learner;
use super::output::RunOutput;
use super::progress::Progress;
use crate::merge::renormalised;
use crate::policy::Policy;

/// Continue `run` (one policy) to `steps` steps.
pub(super) fn run<P: Policy, L: Learner<P>>(
    learner: &mut L,
    steps: usize,
    mut run: Progress<P>,
    mut books: Books<'_, '_, P>,
) -> Result<RunOutput<P>, StrategyError> {
    if steps == 0 {
        return Err(StrategyError::BadConfig("MORLHF needs steps ≥ 1".into()));
    }
    let n = learner.objectives();
    let weights = renormalised(&learner.preferences(), &(0..n).collect::<Vec<_>>())?;
    for t in run.done + 1..=steps {
        books.train_policy(&mut run, learner, &weights, t)?;
        run.done = t;
        if books.boundary(&mut run, learner, false)? {
            let policy = run.experts[0].policy.clone();
            return Ok(RunOutput::stopped(policy, run));
        }
    }
    // MORLHF's one policy is its result, not an expert.
    let policy = run.experts.remove(0).policy;
    Ok(RunOutput::finished(policy, run))
}
