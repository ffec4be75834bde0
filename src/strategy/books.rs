//! The bookkeeping every strategy's loop shares ([`Books`]): recording a learner step in the
//! compute spent and the log, refusing a non-finite step, telling the caller, placing experts
//! on ranks, and writing checkpoints when they are due (see [`RunOptions`]).

use super::error::StrategyError;
use super::learner::Learner;
use super::options::RunOptions;
use super::progress::Progress;
use super::ranks::Ranks;
use super::run_state;
use super::settings::Strategy;
use super::step::{StepContext, StepRecord, StepReport};
use crate::policy::Policy;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::Serialize;

/// The bookkeeping of one run: which strategy and seed, its reference policy, when the last
/// checkpoint was written, and (in a distributed run) which experts this rank trains.
pub(super) struct Books<'o, 'a, P: Policy> {
    strategy: &'o Strategy,
    /// The run's ranks.
    ranks: Ranks<'a>,
    /// The strategy's experts are placed on the ranks (IterativeRS and Rewarded Soups over
    /// several ranks); otherwise every rank runs every step.
    placed: bool,
    seed: u64,
    reference: &'o P,
    options: &'o RunOptions<'a>,
    /// `spent.iterations` at the last checkpoint (or the start).
    checkpointed_at: usize,
    /// The reference's weights digest, computed at the first checkpoint.
    reference_digest: std::cell::OnceCell<String>,
}

impl<'o, 'a, P: Policy> Books<'o, 'a, P> {
    /// Bookkeeping of `strategy` (seed `seed`, from `reference`) resuming at `progress`.
    pub fn new<S>(
        strategy: &'o Strategy,
        seed: u64,
        reference: &'o P,
        options: &'o RunOptions<'a>,
        progress: &Progress<P, S>,
    ) -> Result<Self, StrategyError> {
        options.validate()?;
        let ranks = Ranks::new(options.communicator);
        let placed = ranks.size() > 1
            && matches!(
                strategy,
                Strategy::IterativeRs { .. } | Strategy::RewardedSoups { .. }
            );
        Ok(Self {
            strategy,
            ranks,
            placed,
            seed,
            reference,
            options,
            checkpointed_at: progress.spent.iterations,
            reference_digest: std::cell::OnceCell::new(),
        })
    }

    /// The reference policy (the KL anchor and the experts' first start).
    pub fn reference(&self) -> &'o P {
        self.reference
    }

    /// One learner step of expert `i` on objective `i` alone at step `t`, checked and recorded
    /// (by the rank that owns expert `i`; other ranks do nothing).
    fn train_expert<S, L: Learner<P>>(
        &self,
        run: &mut Progress<P, S>,
        learner: &mut L,
        i: usize,
        t: usize,
    ) -> Result<(), StrategyError> {
        if self.placed && !self.ranks.owns(i) {
            return Ok(());
        }
        let n = learner.objectives();
        let one_hot: Vec<f64> = (0..n).map(|j| if j == i { 1.0 } else { 0.0 }).collect();
        self.step(run, learner, i, &one_hot, t, Some(i))
    }

    /// One learner step of the single policy on the weighted objective `weights` at step
    /// `t` (MORLHF), checked and recorded; over several ranks, taken by all of them together
    /// ([`Learner::step_shared`]: data-parallel PPO).
    pub fn train_policy<S, L: Learner<P>>(
        &self,
        run: &mut Progress<P, S>,
        learner: &mut L,
        weights: &[f64],
        t: usize,
    ) -> Result<(), StrategyError> {
        self.step(run, learner, 0, weights, t, None)
    }

    /// One learner step of `run.experts[slot]` towards `weights` (`expert`: the objective it
    /// trains, `None` for MORLHF). The expert's policy is moved into the step (the reference
    /// holds its place), so the step holds the only handle on its parameters and the
    /// optimiser updates them in place.
    fn step<S, L: Learner<P>>(
        &self,
        run: &mut Progress<P, S>,
        learner: &mut L,
        slot: usize,
        weights: &[f64],
        step: usize,
        expert: Option<usize>,
    ) -> Result<(), StrategyError> {
        let ctx = StepContext {
            step,
            expert,
            round: run.round,
            seed: self.seed,
        };
        let e = &mut run.experts[slot];
        let policy = std::mem::replace(&mut e.policy, self.reference.clone());
        let (policy, report) = match expert {
            None if self.ranks.size() > 1 => {
                learner.step_shared(policy, &mut e.optim, weights, &ctx, self.ranks.comm())?
            }
            _ => learner.step(policy, &mut e.optim, weights, &ctx)?,
        };
        run.experts[slot].policy = policy;
        self.record(run, &ctx, report)
    }

    /// Record a learner step: refuse it if its reward, KL, loss or gradient is not finite, add
    /// it to the budget and the log, and tell [`RunOptions::on_step`].
    pub fn record<S>(
        &self,
        run: &mut Progress<P, S>,
        ctx: &StepContext,
        report: StepReport,
    ) -> Result<(), StrategyError> {
        check_finite(self.strategy.name(), ctx, &report)?;
        run.spent.add(&report);
        let record = StepRecord {
            step: ctx.step,
            expert: ctx.expert,
            round: ctx.round,
            report,
        };
        if let Some(on_step) = self.options.on_step {
            on_step(&record);
        }
        run.log.push(record);
        Ok(())
    }

    /// One step `t` of the experts `experts` (each on its own objective), then the records
    /// exchanged between ranks ([`Ranks::sync_steps`]): every rank leaves with the same log.
    pub fn train_experts<S, L: Learner<P>>(
        &self,
        run: &mut Progress<P, S>,
        learner: &mut L,
        experts: &[usize],
        t: usize,
    ) -> Result<(), StrategyError> {
        let from = run.log.len();
        let result = experts
            .iter()
            .try_for_each(|&i| self.train_expert(run, learner, i, t));
        let on_step = self.options.on_step;
        (self.ranks).sync_steps(&mut run.log, &mut run.spent, from, result, on_step)
    }

    /// Give every rank the current weights of the experts `members` (before merging them).
    pub fn gather<S, L: Learner<P>>(
        &self,
        run: &mut Progress<P, S>,
        members: &[usize],
        learner: &L,
    ) -> Result<(), StrategyError> {
        if !self.placed {
            return Ok(());
        }
        let base = self.adapter_base(run.merged.as_ref(), learner);
        (self.ranks).gather(
            &mut run.experts,
            members,
            false,
            self.reference,
            base,
            learner,
        )
    }

    /// The shared base of LoRA experts (the last merged policy, or the reference), when the
    /// learner trains adapters and the strategy's experts share it: then only their adapters
    /// travel between ranks.
    fn adapter_base<'r, L: Learner<P>>(
        &'r self,
        merged: Option<&'r P>,
        learner: &L,
    ) -> Option<&'r P> {
        let shared = self.strategy.experts_share_base(learner.objectives());
        (learner.adapters().is_some() && shared).then(|| merged.unwrap_or(self.reference))
    }

    /// After a step boundary (and after a merge round when `merged` is true): write a
    /// checkpoint when one is due (rank 0, with every expert's weights and optimiser state
    /// gathered from its rank), and say whether the run must stop here.
    pub fn boundary<S: Serialize, L: Learner<P>>(
        &mut self,
        run: &mut Progress<P, S>,
        learner: &L,
        merged: bool,
    ) -> Result<bool, StrategyError> {
        let every = self.options.checkpoint_every;
        let due = merged || every.is_some_and(|k| run.spent.iterations >= self.checkpointed_at + k);
        if !due {
            return Ok(false);
        }
        if self.placed {
            let all: Vec<usize> = (0..run.experts.len()).collect();
            let base = self.adapter_base(run.merged.as_ref(), learner);
            (self.ranks).gather(&mut run.experts, &all, true, self.reference, base, learner)?;
        }
        // No checkpoint holds a non-finite weight. The weights are scanned here, once per
        // checkpoint period, not after every step: the step's own loss and gradient checks
        // catch a PPO update that goes bad at once.
        if let Some(last) = run.log.last()
            && !run
                .experts
                .iter()
                .map(|e| &e.policy)
                .chain(&run.merged)
                .all(weights_are_finite)
        {
            return Err(StrategyError::NonFinite {
                strategy: self.strategy.name(),
                step: last.step,
                expert: last.expert,
                what: "weights",
            });
        }
        if let Some(dir) = &self.options.checkpoint_dir
            && self.ranks.is_root()
        {
            let digest = self
                .reference_digest
                .get_or_init(|| crate::checkpoint::weights_digest(self.reference));
            run_state::save(dir, self.strategy, self.seed, digest, run, learner)?;
        }
        self.checkpointed_at = run.spent.iterations;
        let stop_round = merged && self.options.stop_after_round == Some(run.round);
        let stop_iterations = self
            .options
            .stop_after_iterations
            .is_some_and(|k| run.spent.iterations >= k);
        Ok(stop_round || stop_iterations)
    }
}

/// Refuse a step whose reward, KL, loss or gradient norm is not finite, naming the strategy and
/// the step.
fn check_finite(
    strategy: &'static str,
    ctx: &StepContext,
    report: &StepReport,
) -> Result<(), StrategyError> {
    let what = if !report.optimised.is_finite() {
        Some("optimised reward")
    } else if !report.kl.is_finite() {
        Some("KL to the reference")
    } else if report
        .ppo
        .as_ref()
        .is_some_and(|s| !(s.pg_loss.is_finite() && s.vf_loss.is_finite()))
    {
        Some("loss")
    } else if report
        .ppo
        .as_ref()
        .is_some_and(|s| !s.grad_norm.is_finite())
    {
        Some("gradient")
    } else {
        None
    };
    match what {
        None => Ok(()),
        Some(what) => Err(StrategyError::NonFinite {
            strategy,
            step: ctx.step,
            expert: ctx.expert,
            what,
        }),
    }
}

/// Whether every float parameter of `module` is finite.
fn weights_are_finite<M: Module>(module: &M) -> bool {
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.0 {
                self.0 = param.val().into_data().iter::<f32>().all(|x| x.is_finite());
            }
        }
    }
    let mut v = Finite(true);
    module.visit(&mut v);
    v.0
}
