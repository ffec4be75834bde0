//! IterativeRS (the paper's Algorithm 1): `N` experts restart from a shared policy; every `m`
//! steps the `M` experts trained in the block are merged (weights renormalised over them, eq. 9)
//! and the next block's `M` experts restart from the merge; all `N` are merged at the end.
//!
//! [`run`] is the algorithm; [`Books`] keeps the compute spent, the log, the checks and the
//! checkpoints, [`merge_block`] is one merge round and [`active_set`] draws a block's
//! objectives.

use super::books::Books;
use super::error::StrategyError;
use super::learner::Collector;
use super::merging::Merging;
use super::output::RunOutput;
use super::progress::{Progress, adapter_seed, restart};
use crate::policy::Policy;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index::sample;

/// The fixed settings of an IterativeRS run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan<'a> {
    /// Total steps T.
    pub steps: usize,
    /// Merge period m.
    pub merge_every: usize,
    /// Objectives per block M.
    pub per_block: usize,
    /// Restarting experts keep their optimiser state.
    pub keep_optimizer: bool,
    pub seed: u64,
    pub merging: Merging<'a>,
}

impl Plan<'_> {
    /// Check the plan against `n` objectives.
    fn validate(&self, n: usize) -> Result<(), StrategyError> {
        if self.steps == 0 || self.merge_every == 0 || self.per_block == 0 || self.per_block > n {
            return Err(StrategyError::BadConfig(format!(
                "IterativeRS needs steps ≥ 1, merge_every ≥ 1 and 1 ≤ per_block ≤ {n} (got \
                 steps {}, merge_every {}, per_block {})",
                self.steps, self.merge_every, self.per_block
            )));
        }
        if self.merge_every > self.steps {
            return Err(StrategyError::BadConfig(format!(
                "IterativeRS's merge period m = {} is more than its T = {} steps, so it would \
                 never merge before the end: m ≥ T is Rewarded Soups (Strategy::rewarded_soups); \
                 choose m ≤ T",
                self.merge_every, self.steps
            )));
        }
        Ok(())
    }

    /// Seed of merge round `round`'s candidate selection (`None`: the final merge).
    fn selection_seed(&self, round: Option<usize>) -> u64 {
        match round {
            Some(r) => self.seed ^ r as u64,
            None => self.seed ^ u64::MAX,
        }
    }
}

/// Continue `run` to step T (or to an early stop of the run's options).
pub(super) fn run<P: Policy, L: Collector<P>>(
    learner: &mut L,
    plan: Plan<'_>,
    mut run: Progress<P>,
    mut books: Books<'_, '_, P>,
) -> Result<RunOutput<P>, StrategyError> {
    let n = learner.objectives();
    plan.validate(n)?;
    for t in run.done + 1..=plan.steps {
        // θ_i ← one PPO step on r_i, for each expert of the block (each on its rank).
        let block = run.current.clone();
        books.train_experts(&mut run, learner, &block, t)?;
        run.done = t;
        // Merge at the end of step t when m divides t, but not at t = T (the final merge of
        // all N follows the loop): m = T never merges here (Rewarded Soups), m = 1 merges
        // after every step (MORLHF under SGD).
        let merge_now = t % plan.merge_every == 0 && t < plan.steps;
        if merge_now {
            books.gather(&mut run, &block, learner)?;
            merge_block(&plan, &mut run, learner, books.reference())?;
        }
        if books.boundary(&mut run, learner, merge_now)? {
            // Stopped early: the merge the block would make now (its experts so far; right
            // after a merge, that merge), so that an evaluation between merges sees what the
            // run has learnt — with m = T, exactly Rewarded Soups' stopped soup.
            let policy = match merge_now {
                true => run.merged.take(),
                false => None,
            };
            let policy = match policy {
                Some(p) => p,
                None => {
                    let block = run.current.clone();
                    books.gather(&mut run, &block, learner)?;
                    let seed = plan.selection_seed(Some(run.round));
                    let reference = books.reference();
                    (plan.merging).merge(&run.experts, &block, reference, learner, seed, true)?
                }
            };
            return Ok(RunOutput::stopped(policy, run));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    books.gather(&mut run, &all, learner)?;
    let seed = plan.selection_seed(None);
    // The last block's experts share their base; all N do when every block holds all N.
    let shared = plan.per_block == n;
    let reference = books.reference();
    let policy = (plan.merging).merge(&run.experts, &all, reference, learner, seed, shared)?;
    run.spent.merges += 1;
    Ok(RunOutput::finished(policy, run))
}

/// One merge round: θ ← merge of the block's experts; the next block's objectives are drawn
/// and their experts restart from θ with fresh optimisers (or their own, with
/// `keep_optimizer`). When every merged expert restarts
/// (M = N, the paper's default), the merge takes their buffers.
fn merge_block<P: Policy, L: Collector<P>>(
    plan: &Plan<'_>,
    run: &mut Progress<P>,
    learner: &mut L,
    reference: &P,
) -> Result<(), StrategyError> {
    let seed = plan.selection_seed(Some(run.round));
    let next = active_set(
        learner.objectives(),
        plan.per_block,
        plan.seed,
        run.round + 1,
    );
    let members = std::mem::take(&mut run.current);
    let merged = if members.iter().all(|i| next.contains(i)) {
        (plan.merging).merge_taking(&mut run.experts, &members, reference, learner, seed)?
    } else {
        (plan.merging).merge(&run.experts, &members, reference, learner, seed, true)?
    };
    run.spent.merges += 1;
    run.round += 1;
    run.current = next;
    for &i in &run.current {
        let fresh = restart(&merged, learner, adapter_seed(plan.seed, run.round, i))?;
        if plan.keep_optimizer {
            run.experts[i].policy = fresh.policy;
        } else {
            run.experts[i] = fresh;
        }
    }
    run.merged = Some(merged);
    Ok(())
}

/// The objectives active in merge round `round` (M of N, sampled without replacement, seeded).
pub fn active_set(n: usize, m: usize, seed: u64, round: usize) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut rng = StdRng::seed_from_u64(seed ^ (round as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut picked = sample(&mut rng, n, m).into_vec();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_sets_are_seeded_subsets() {
        let a = active_set(5, 2, 7, 3);
        assert_eq!(a, active_set(5, 2, 7, 3));
        assert_eq!(a.len(), 2);
        assert!(a[0] < a[1] && a[1] < 5);
        assert_eq!(active_set(3, 3, 1, 0), vec![0, 1, 2]);
        let distinct: std::collections::HashSet<Vec<usize>> =
            (0..20).map(|r| active_set(4, 2, 1, r)).collect();
        assert!(distinct.len() > 1);
    }
}
