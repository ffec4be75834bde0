//! What a run hands back: [`RunOutput`] (the final policy, the experts, the compute spent, the
//! log) and, for a reward-conditioned policy, its [`Conditioning`].

use super::progress::Progress;
use super::step::{Spent, StepRecord};
use crate::policy::Policy;

/// How a reward-conditioned policy (RiC's) is sampled: conditioning tokens after BOS, one per
/// objective, each naming a reward bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditioning {
    /// The conditioning tokens to place after BOS when sampling (the target bins).
    pub tokens: Vec<u32>,
    /// Per-objective quantile bin edges of the offline rewards (the bins' meaning).
    pub edges: Vec<Vec<f64>>,
}

/// A strategy's result.
pub struct RunOutput<P: Policy> {
    /// The final policy (merged for IterativeRS and Rewarded Soups), in training mode.
    pub policy: P,
    /// The final experts (empty for MORLHF and RiC).
    pub experts: Vec<P>,
    /// Compute spent.
    pub spent: Spent,
    /// Every learner step.
    pub log: Vec<StepRecord>,
    /// How to condition `policy` when sampling (RiC); `None` for the RL strategies.
    pub conditioning: Option<Conditioning>,
    /// `false` when the run stopped early ([`RunOptions`](super::RunOptions)); `policy` is then
    /// IterativeRS's last merged policy (the reference before the first merge), MORLHF's
    /// current one, Rewarded Soups' soup of its experts so far, or RiC's last fine-tuned one.
    pub completed: bool,
}

impl<P: Policy> RunOutput<P> {
    /// Tokens to place after BOS when sampling from [`RunOutput::policy`]: RiC's conditioning
    /// tokens, empty for the RL strategies.
    pub fn condition(&self) -> &[u32] {
        self.conditioning.as_ref().map_or(&[], |c| &c.tokens)
    }

    /// A run that reached its end with final policy `policy`.
    pub(super) fn finished<S>(policy: P, run: Progress<P, S>) -> Self {
        Self {
            policy,
            experts: run.experts.into_iter().map(|e| e.policy).collect(),
            spent: run.spent,
            log: run.log,
            conditioning: None,
            completed: true,
        }
    }

    /// A run stopped early by its options, with `policy` as its current policy.
    pub(super) fn stopped<S>(policy: P, run: Progress<P, S>) -> Self {
        Self {
            completed: false,
            ..Self::finished(policy, run)
        }
    }

    /// The same output with `conditioning`.
    pub(super) fn conditioned(self, conditioning: Option<Conditioning>) -> Self {
        Self {
            conditioning,
            ..self
        }
    }
}
