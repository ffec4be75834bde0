//! Rewarded Soups: `N` experts trained independently from the reference, side by side (one
//! step of each, then the next; in a distributed run each on its rank), merged once with the
//! preference weights.

use super::books::Books;
use super::error::StrategyError;
use super::learner::Collector;
use super::merging::Merging;
use super::output::RunOutput;
use super::progress::Progress;
use crate::policy::Policy;

/// Continue `run` (`N` experts; expert `done / steps` is at its step `done % steps + 1`) to
/// the end: `steps` steps per expert, then one merge of all `N`.
pub(super) fn run<P: Policy, L: Collector<P>>(
    learner: &mut L,
    steps: usize,
    merging: Merging<'_>,
    seed: u64,
    mut run: Progress<P>,
    mut books: Books<'_, '_, P>,
) -> Result<RunOutput<P>, StrategyError> {
    if steps == 0 {
        return Err(StrategyError::BadConfig(
            "Rewarded Soups needs steps ≥ 1".into(),
        ));
    }
    let n = learner.objectives();
    let all: Vec<usize> = (0..n).collect();
    // The same selection seed as IterativeRS's final merge, so m = T reproduces this run.
    let reference = books.reference();
    let soup = |run: &Progress<P>, learner: &mut L| {
        merging.merge(
            &run.experts,
            &all,
            reference,
            learner,
            seed ^ u64::MAX,
            true,
        )
    };
    if run.step_major {
        // Every expert's step t (each on its rank), then step t + 1: `done` counts steps.
        for t in run.done + 1..=steps {
            books.train_experts(&mut run, learner, &all, t)?;
            run.done = t;
            if books.boundary(&mut run, learner, false)? {
                let policy = soup(&run, learner)?;
                return Ok(RunOutput::stopped(policy, run));
            }
        }
    } else {
        // One expert after the other, as checkpoints written before the side-by-side schedule
        // continue: `done` counts learner steps. (Resumed over several ranks, the expert's
        // owner trains it and every rank receives the step's record.)
        for k in run.done..n * steps {
            let (i, t) = (k / steps, k % steps + 1);
            books.train_experts(&mut run, learner, &[i], t)?;
            run.done = k + 1;
            if books.boundary(&mut run, learner, false)? {
                // Stopped early: the soup of the experts so far (those not trained yet are
                // still the reference).
                let policy = soup(&run, learner)?;
                return Ok(RunOutput::stopped(policy, run));
            }
        }
    }
    books.gather(&mut run, &all, learner)?;
    let policy = soup(&run, learner)?;
    run.spent.merges += 1;
    Ok(RunOutput::finished(policy, run))
}
