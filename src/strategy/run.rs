//! The dispatch: [`Strategy::run`] starts the loop of the chosen strategy, [`Strategy::resume`]
//! continues one from its checkpoint (its own state typed by the strategy).

use super::books::Books;
use super::error::StrategyError;
use super::learner::Collector;
use super::merging::Merging;
use super::options::RunOptions;
use super::output::RunOutput;
use super::progress::Progress;
use super::ranks::Ranks;
use super::ric::{self, RicProgress};
use super::run_state::{self, RunState};
use super::settings::Strategy;
use super::{iterative_rs, morlhf, rewarded_soups};
use crate::policy::Policy;
use std::path::Path;

/// A run's progress, fresh or read from a checkpoint, with its strategy's own state.
enum Started<P: Policy> {
    /// An RL strategy's (no state of its own).
    Rl(Progress<P>),
    /// RiC's.
    Ric(RicProgress<P>),
}

impl Strategy {
    /// Run the strategy from `reference` (which is not modified).
    pub fn run<P: Policy, L: Collector<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
    ) -> Result<RunOutput<P>, StrategyError> {
        self.run_with(reference, learner, seed, &RunOptions::default())
    }

    /// [`Strategy::run`] with checkpoints, an early stop or step notifications.
    pub fn run_with<P: Policy, L: Collector<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
        options: &RunOptions,
    ) -> Result<RunOutput<P>, StrategyError> {
        options.validate()?;
        learner.validate(reference)?;
        if let Some(dir) = &options.checkpoint_dir
            && options.communicator.is_none_or(|c| c.rank() == 0)
        {
            crate::checkpoint::check_checkpoint_dir(dir)
                .map_err(|e| StrategyError::Checkpoint(e.to_string()))?;
        }
        let n = learner.objectives();
        let prefs = learner.preferences();
        if n == 0 || prefs.len() != n {
            return Err(StrategyError::BadConfig(format!(
                "{n} objectives with {} preference weights",
                prefs.len()
            )));
        }
        let started = match self {
            Self::Ric(_) => Started::Ric(Progress::start(reference, learner, 0, seed)?),
            _ => {
                let mut progress = Progress::start(reference, learner, self.experts(n), seed)?;
                if let Self::IterativeRs { per_block, .. } = self {
                    progress.current = iterative_rs::active_set(n, *per_block, seed, 0);
                }
                // Soups' experts advance together, one step at a time (in one process as on
                // ranks): a run stopped early holds experts trained alike, so its soup is a
                // Soups run at a smaller budget. (Checkpoints written before this continue
                // one expert after the other.)
                progress.step_major = true;
                Started::Rl(progress)
            }
        };
        self.continue_run(reference, learner, seed, started, options)
    }

    /// Continue a run from the checkpoint in `dir` (written by [`Strategy::run_with`] with
    /// [`RunOptions::checkpoint_dir`]). `reference` and `learner` must be set up as for the
    /// original run; the strategy (merge method included) and the seed come from the
    /// checkpoint.
    pub fn resume<P: Policy, L: Collector<P>>(
        dir: &Path,
        reference: &P,
        learner: &mut L,
        options: &RunOptions<'_>,
    ) -> Result<RunOutput<P>, StrategyError> {
        options.validate()?;
        learner.validate(reference)?;
        // Over several ranks, rank 0 reads first (it may finish an interrupted write of the
        // checkpoint, crate::checkpoint::recover_dir), then the others.
        let comm = options.communicator.filter(|c| c.size() > 1);
        let first = comm.is_none_or(|c| c.rank() == 0);
        let loaded = first.then(|| load(dir, reference, learner));
        if let Some(c) = comm {
            let mut ok = vec![u8::from(loaded.as_ref().is_none_or(|r| r.is_ok()))];
            c.broadcast(&mut ok, 0)?;
            if ok != [1] && !first {
                return Err(StrategyError::Rank {
                    rank: 0,
                    message: format!("could not resume from {}", dir.display()),
                });
            }
        }
        let (state, started) = match loaded {
            Some(r) => r?,
            None => load(dir, reference, learner)?,
        };
        (state.strategy).continue_run(reference, learner, state.seed, started, options)
    }

    /// Continue `started` (fresh or loaded from a checkpoint) to the end of the run.
    fn continue_run<P: Policy, L: Collector<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
        started: Started<P>,
        options: &RunOptions<'_>,
    ) -> Result<RunOutput<P>, StrategyError> {
        let placed = matches!(self, Self::IterativeRs { .. } | Self::RewardedSoups { .. })
            && options.communicator.is_some_and(|c| c.size() > 1);
        if placed && !learner.experts_independent() {
            return Err(StrategyError::BadConfig(format!(
                "{} over several ranks needs experts whose steps do not affect each other, but \
                 this learner shares state between them (e.g. a running reward normaliser): \
                 use fixed normalisers or none, or run in one process",
                self.name()
            )));
        }
        let progress = match started {
            Started::Ric(progress) => {
                let Self::Ric(cfg) = self else {
                    return Err(mismatch(self));
                };
                let books = Books::new(self, seed, reference, options, &progress)?;
                return ric::run(learner, seed, cfg, progress, books);
            }
            Started::Rl(progress) => progress,
        };
        let books = Books::new(self, seed, reference, options, &progress)?;
        let merging = |weights, method| Merging {
            weights,
            method,
            ranks: Ranks::new(options.communicator),
        };
        match self {
            Self::IterativeRs {
                steps,
                merge_every,
                per_block,
                merge_weights,
                merge,
                keep_optimizer,
            } => {
                let plan = iterative_rs::Plan {
                    steps: *steps,
                    merge_every: *merge_every,
                    per_block: *per_block,
                    keep_optimizer: *keep_optimizer,
                    seed,
                    merging: merging(merge_weights, merge),
                };
                iterative_rs::run(learner, plan, progress, books)
            }
            Self::Morlhf { steps } => morlhf::run(learner, *steps, progress, books),
            Self::RewardedSoups {
                steps,
                merge_weights,
                merge,
            } => {
                let merging = merging(merge_weights, merge);
                rewarded_soups::run(learner, *steps, merging, seed, progress, books)
            }
            Self::Ric(_) => Err(mismatch(self)),
        }
    }
}

/// A run state that is not of `strategy`'s kind.
fn mismatch(strategy: &Strategy) -> StrategyError {
    StrategyError::Checkpoint(format!(
        "a run state that does not belong to a {} run",
        strategy.name()
    ))
}

/// Read the checkpoint in `dir`: its state, and the run's progress with the strategy's own
/// state (RiC's merged policy has the conditioning tokens added to the vocabulary).
fn load<P: Policy, L: Collector<P>>(
    dir: &Path,
    reference: &P,
    learner: &mut L,
) -> Result<(RunState, Started<P>), StrategyError> {
    let state = RunState::read(dir)?;
    let started = match &state.strategy {
        Strategy::Ric(cfg) => {
            let extra = learner.objectives() * cfg.bins;
            let template = ric::extended(reference, state.seed, extra, learner.adapters())?;
            Started::Ric(run_state::load(dir, &state, reference, &template, learner)?)
        }
        _ => Started::Rl(run_state::load(dir, &state, reference, reference, learner)?),
    };
    Ok((state, started))
}
