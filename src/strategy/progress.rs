//! Where a run stands: the experts being trained ([`Expert`]), the merged policy, the counters
//! and the log ([`Progress`]) — what a checkpoint holds. A strategy's own state (RiC's labelled
//! data) rides in the generic slot `own`; the shared machinery only saves and restores it.

use super::error::StrategyError;
use super::learner::Learner;
use super::step::{Spent, StepRecord};
use crate::policy::Policy;
use burn::optim::ModuleOptimizer;

/// What an adapted expert trains: its LoRA factors and a value head (paths of the saved
/// parameters; enum variants of a wrapping policy type come first).
pub(super) const TRAINABLE: &str = r"(^|\.)lora\.|(^|\.)value_head\.";

/// A policy being trained with its optimiser state.
pub struct Expert<P: Policy> {
    /// The (autodiff) policy.
    pub policy: P,
    /// Its optimiser.
    pub optim: ModuleOptimizer,
}

/// An expert (re)starting from `policy`: a trainable copy and a fresh optimiser (the paper
/// restarts the experts from the merged policy; Adam's moments start again at zero). With the
/// learner's LoRA adapters, the copy gets fresh ones on its frozen weights, drawn with `seed`.
pub(super) fn restart<P: Policy, L: Learner<P>>(
    policy: &P,
    learner: &L,
    seed: u64,
) -> Result<Expert<P>, StrategyError> {
    let policy = match learner.adapters() {
        None => policy.clone(),
        Some(cfg) => policy.with_lora(cfg, seed)?,
    };
    Ok(Expert {
        policy: policy.train(),
        optim: learner.optimizer(),
    })
}

/// The seed of expert `expert`'s fresh adapters when it (re)starts after merge round `round`
/// (0: the run's start).
pub(super) fn adapter_seed(seed: u64, round: usize, expert: usize) -> u64 {
    seed ^ 0x4C6F_5241_0000_0000 ^ ((round as u64) << 16) ^ expert as u64
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
    /// A run at its start with `experts` fresh experts from `reference` (adapters drawn from
    /// the run's `seed`).
    pub fn start<L: Learner<P>>(
        reference: &P,
        learner: &L,
        experts: usize,
        seed: u64,
    ) -> Result<Self, StrategyError> {
        Ok(Self {
            experts: (0..experts)
                .map(|k| restart(reference, learner, adapter_seed(seed, 0, k)))
                .collect::<Result<_, _>>()?,
            merged: None,
            round: 0,
            current: Vec::new(),
            done: 0,
            spent: Spent::default(),
            log: Vec::new(),
            step_major: false,
            own: S::default(),
        })
    }
}
