//! Where a run stands: the experts being trained ([`Expert`]), the merged policy, the counters
//! and the log ([`Progress`]) — what a checkpoint holds. A strategy's own state (RiC's labelled
//! data) rides in the generic slot `own`; the shared machinery only saves and restores it.

use super::learner::Learner;
use super::step::{Spent, StepRecord};
use crate::policy::Policy;
use burn::optim::ModuleOptimizer;

/// A policy being trained with its optimiser state.
pub struct Expert<P: Policy> {
    /// The (autodiff) policy.
    pub policy: P,
    /// Its optimiser.
    pub optim: ModuleOptimizer,
}

/// An expert (re)starting from `policy`: a trainable copy and a fresh optimiser (the paper
/// restarts the experts from the merged policy; Adam's moments start again at zero).
pub(super) fn restart<P: Policy, L: Learner<P>>(policy: &P, learner: &L) -> Expert<P> {
    Expert {
        policy: policy.clone().train(),
        optim: learner.optimizer(),
    }
}

/// Where a run stands: what a checkpoint holds. `S` is the strategy's own state (`()` for
/// the RL strategies), serialised into the checkpoint beside the shared fields.
pub(super) struct Progress<P: Policy, S = ()> {
    /// The policies being trained, one per expert (MORLHF: one; RiC: none).
    pub experts: Vec<Expert<P>>,
    /// The last merged policy (IterativeRS), or RiC's fine-tuned policy.
    pub merged: Option<P>,
    /// Merge rounds completed (RiC: supervised rounds completed).
    pub round: usize,
    /// Objectives active in the current block (IterativeRS).
    pub current: Vec<usize>,
    /// Steps completed, counted as the strategy's loop counts them.
    pub done: usize,
    /// Compute spent so far.
    pub spent: Spent,
    /// Every learner step so far.
    pub log: Vec<StepRecord>,
    /// Rewarded Soups trains its experts one step each at a time (`done` counts steps of
    /// every expert) rather than one expert after the other (`done` counts learner steps):
    /// the schedule of a distributed run. The experts and the soup are the same either way.
    pub step_major: bool,
    /// The strategy's own state.
    pub own: S,
}

impl<P: Policy, S: Default> Progress<P, S> {
    /// A run at its start with `experts` fresh experts from `reference`.
    pub fn start<L: Learner<P>>(reference: &P, learner: &L, experts: usize) -> Self {
        Self {
            experts: (0..experts).map(|_| restart(reference, learner)).collect(),
            merged: None,
            round: 0,
            current: Vec::new(),
            done: 0,
            spent: Spent::default(),
            log: Vec::new(),
            step_major: false,
            own: S::default(),
        }
    }
}
