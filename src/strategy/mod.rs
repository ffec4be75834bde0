//! The multi-reward strategies, interchangeable behind one enum: IterativeRS (experts merged
//! every `m` steps, `M` of `N` objectives per block), MORLHF (one policy on the weighted-sum
//! reward), Rewarded Soups (independent experts merged once, plus a λ sweep) and RiC
//! (reward-conditioned supervised fine-tuning).
//!
//! A strategy drives a [`Learner`] — "one algorithmic step of one policy on one objective".
//! [`PpoLearner`] is the real learner (PPO on a [`RewardSet`](crate::reward::RewardSet)); tests
//! plug in exact-gradient learners to check the special cases of docs/algorithms.md, "The
//! method" (m = 1 ⇔ MORLHF, m = T ⇔ Rewarded Soups). Strategies that merge carry their merge
//! method ([`MergeMethod`]) and coefficients ([`MergeWeights`]) in their settings.
//!
//! One file per loop (`iterative_rs`, `morlhf`, `rewarded_soups`, `ric`); the pieces they
//! share: `merging` (coefficients and the merge step), `progress` (where a run stands and its
//! bookkeeping), `run_state` (checkpoints), `learner` ([`PpoLearner`]).

mod iterative_rs;
mod learner;
mod merging;
mod morlhf;
mod progress;
mod ranks;
mod rewarded_soups;
mod ric;
mod run_state;

pub use learner::{OptimizerConfig, PpoLearner};
pub use merging::{MergeWeights, SelectionScore, selection_grid_3, simplex_grid, soup_front};
pub use ric::{RicConfig, RicOutcome, RicTarget};
pub use run_state::{RunState, STATE_FILE};

use crate::merge::MergeError;
pub use crate::merge::MergeMethod;
use crate::policy::{Policy, PolicyError};
use crate::reward::{RewardError, RewardStats};
use crate::rl::{PpoStats, RlError};
use burn::optim::ModuleOptimizer;
use merging::Merging;
use progress::{Books, Progress};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use thiserror::Error;

/// Errors from running a strategy.
#[derive(Debug, Error)]
pub enum StrategyError {
    /// An RL update failed.
    #[error(transparent)]
    Rl(#[from] RlError),
    /// Sampling failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A reward failed.
    #[error(transparent)]
    Reward(#[from] RewardError),
    /// Merging failed.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Writing or reading a run checkpoint failed.
    #[error("run checkpoint: {0}")]
    Checkpoint(String),
    /// The settings are inconsistent.
    #[error("bad strategy config: {0}")]
    BadConfig(String),
    /// A collective operation between ranks failed.
    #[error(transparent)]
    Comm(#[from] crate::distributed::CommError),
    /// Another rank of a distributed run failed; every rank stops.
    #[error("rank {rank} failed: {message}")]
    Rank {
        /// The rank that failed.
        rank: usize,
        /// Its error.
        message: String,
    },
    /// A step's reward, KL, loss or gradient norm, or a weight found when a checkpoint was
    /// due, is not finite; the run stopped and its last checkpoint (if any) is the last good
    /// state.
    #[error("{strategy} stopped at step {step}{}: the {what} became non-finite (NaN or ±∞); \
             lower the learning rate or check the rewards", expert.map_or(String::new(), |e| format!(" of expert {e}")))]
    NonFinite {
        /// The strategy's name.
        strategy: &'static str,
        /// The 1-based step.
        step: usize,
        /// The expert, if any.
        expert: Option<usize>,
        /// What became non-finite (e.g. "loss", "weights").
        what: &'static str,
    },
}

/// Where in a run a learner step happens (for seeding and logging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext {
    /// 1-based algorithmic step t.
    pub step: usize,
    /// Expert (objective index) being trained, `None` for a single-policy strategy.
    pub expert: Option<usize>,
    /// 0-based merge round.
    pub round: usize,
    /// The run's seed.
    pub seed: u64,
}

impl StepContext {
    /// A seed unique to this (run seed, step, expert).
    pub fn step_seed(&self) -> u64 {
        let e = self.expert.map_or(0, |e| e as u64 + 1);
        self.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((self.step as u64) << 8)
            .wrapping_add(e)
    }
}

/// What one learner step did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// Per-reward statistics of the step's samples.
    pub rewards: Vec<RewardStats>,
    /// Mean of the optimised scalar.
    pub optimised: f64,
    /// Mean summed KL to the reference (0 if the learner does not measure it).
    pub kl: f64,
    /// Samples generated.
    pub samples: usize,
    /// Optimiser updates taken.
    pub updates: usize,
    /// PPO diagnostics, when the learner is PPO.
    pub ppo: Option<PpoStats>,
}

/// One algorithmic step of one policy on one objective.
///
/// [`PpoLearner`] is the real one; a test or a new training method plugs in its own:
///
/// ```
/// use burn::optim::{ModuleOptimizer, SgdConfig};
/// use multireward::policy::{Gpt, GptConfig};
/// use multireward::strategy::{Learner, StepContext, StepReport, Strategy, StrategyError};
///
/// /// Leaves the policy as it is and reports the weights' sum as its reward.
/// struct Idle;
///
/// impl Learner<Gpt> for Idle {
///     fn objectives(&self) -> usize { 2 }
///     fn preferences(&self) -> Vec<f64> { vec![1.0, 1.0] }
///     fn optimizer(&self) -> ModuleOptimizer { SgdConfig::new().init() }
///     fn step(&mut self, policy: Gpt, _: &mut ModuleOptimizer, weights: &[f64], _: &StepContext)
///         -> Result<(Gpt, StepReport), StrategyError> {
///         Ok((policy, StepReport { optimised: weights.iter().sum(), ..Default::default() }))
///     }
/// }
///
/// let device = multireward::device::default_device().autodiff();
/// let reference = GptConfig::new(1, 2, 16, 32, 7, 16).init(&device);
/// let out = Strategy::Morlhf { steps: 3 }.run(&reference, &mut Idle, 0)?;
/// assert_eq!(out.budget.iterations, 3);
/// # Ok::<(), StrategyError>(())
/// ```
pub trait Learner<P: Policy> {
    /// Number of objectives `N` (rewards with positive weight).
    fn objectives(&self) -> usize;

    /// User preference weights over the objectives (eq. 9's `w`).
    fn preferences(&self) -> Vec<f64>;

    /// A fresh optimiser for a policy.
    fn optimizer(&self) -> ModuleOptimizer;

    /// The task's prompts (token ids, each starting with the tokenizer's BOS when it has
    /// one; default: unconditional generation with our tokenizers' BOS).
    fn prompts(&self) -> Vec<Vec<u32>> {
        vec![vec![crate::tokenizer::Specials::ours().start()]]
    }

    /// Sample one response per row of `rows` from `policy` (the learner's sampling settings,
    /// with `seed` and `vocab_limit`), decode and score it. `prompt_of[row]` is the index of
    /// the task prompt the row was built from (the rewards see that prompt's text). Returns
    /// the response ids (cut before EOS) and the objective values `[row][objective]`
    /// (transformed as for training; not applicable counts as 0). Running normalisers are not
    /// updated.
    fn collect(
        &mut self,
        _policy: &P,
        _rows: &[Vec<u32>],
        _prompt_of: &[usize],
        _seed: u64,
        _vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        Err(StrategyError::BadConfig(
            "this learner cannot sample and score policies".into(),
        ))
    }

    /// Objective values `[sample][objective]` of `samples` responses sampled from `policy`
    /// with the task prompts (used by merge-weight selection and evaluation).
    fn evaluate(
        &mut self,
        policy: &P,
        samples: usize,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>, StrategyError> {
        let prompts = self.prompts();
        let prompt_of: Vec<usize> = (0..samples).map(|i| i % prompts.len().max(1)).collect();
        let rows: Vec<Vec<u32>> = prompt_of.iter().map(|&i| prompts[i].clone()).collect();
        Ok(self.collect(policy, &rows, &prompt_of, seed, None)?.values)
    }

    /// Learner state a resumed run needs (e.g. running reward normalisers); `Null` if none.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restore what [`Learner::state`] returned.
    fn restore(&mut self, _state: &serde_json::Value) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Whether one expert's steps leave the others' unchanged (no learner state, such as a
    /// running reward normaliser, carries from one expert's step to another's). Experts are
    /// placed on ranks only when this holds; otherwise the result would depend on the number
    /// of ranks. Default: `true`.
    fn experts_independent(&self) -> bool {
        true
    }

    /// Improve `policy` on the objective with weights `weights` (length [`Learner::objectives`];
    /// one-hot for an expert).
    fn step(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
    ) -> Result<(P, StepReport), StrategyError>;

    /// [`Learner::step`] by every rank of `comm` together (MORLHF over several ranks): each
    /// rank may take a share of the work, and every rank must return the same policy and
    /// report. Default: every rank runs the whole step (the same result as one process).
    fn step_shared(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
        comm: &dyn crate::distributed::Communicator,
    ) -> Result<(P, StepReport), StrategyError> {
        let _ = comm;
        self.step(policy, optim, weights, ctx)
    }
}

/// Responses sampled and scored by [`Learner::collect`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Response ids per row, cut before EOS.
    pub responses: Vec<Vec<u32>>,
    /// Objective values `[row][objective]`.
    pub values: Vec<Vec<f64>>,
}

/// A policy being trained with its optimiser state.
pub struct Expert<P: Policy> {
    /// The (autodiff) policy.
    pub policy: P,
    /// Its optimiser.
    pub optim: ModuleOptimizer,
}

/// Compute spent by a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    /// Learner steps (PPO iterations), summed over experts.
    pub iterations: usize,
    /// Samples generated for training.
    pub samples: usize,
    /// Optimiser updates.
    pub updates: usize,
    /// Merges performed.
    pub merges: usize,
}

impl Budget {
    fn add(&mut self, r: &StepReport) {
        self.iterations += 1;
        self.samples += r.samples;
        self.updates += r.updates;
    }
}

/// One logged learner step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Where it happened.
    pub step: usize,
    /// Expert index, if any.
    pub expert: Option<usize>,
    /// Merge round.
    pub round: usize,
    /// What the learner reported.
    pub report: StepReport,
}

/// A strategy's result.
pub struct RunOutput<P: Policy> {
    /// The final policy (merged for IterativeRS and Rewarded Soups), in training mode.
    pub policy: P,
    /// The final experts (empty for MORLHF and RiC).
    pub experts: Vec<P>,
    /// Compute spent.
    pub budget: Budget,
    /// Every learner step.
    pub log: Vec<StepRecord>,
    /// RiC's reward conditioning (`None` for the RL strategies).
    pub ric: Option<RicOutcome>,
    /// `false` when the run stopped early ([`RunOptions`]); `policy` is then IterativeRS's last
    /// merged policy (the reference before the first merge), MORLHF's current one, Rewarded
    /// Soups' soup of its experts so far, or RiC's last fine-tuned one.
    pub completed: bool,
}

impl<P: Policy> RunOutput<P> {
    /// Tokens to place after BOS when sampling from [`RunOutput::policy`]: RiC's conditioning
    /// tokens, empty for the RL strategies.
    pub fn condition(&self) -> &[u32] {
        self.ric.as_ref().map_or(&[], |r| &r.condition)
    }

    /// A run that reached its end with final policy `policy`.
    fn finished(policy: P, run: Progress<P>) -> Self {
        Self {
            policy,
            experts: run.experts.into_iter().map(|e| e.policy).collect(),
            budget: run.budget,
            log: run.log,
            ric: run.ric.map(|r| r.outcome()),
            completed: true,
        }
    }

    /// A run stopped early by [`RunOptions`], with `policy` as its current policy.
    fn stopped(policy: P, run: Progress<P>) -> Self {
        Self {
            completed: false,
            ..Self::finished(policy, run)
        }
    }
}

/// Checkpointing, early stop and step notifications of a run. The default writes no
/// checkpoint and never stops early.
#[derive(Clone, Default)]
pub struct RunOptions<'a> {
    /// Write the run state here (atomically, replacing the previous one) after every merge
    /// round of IterativeRS, every round of RiC and every [`RunOptions::checkpoint_every`]
    /// learner steps of any strategy.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Also checkpoint after every this many learner steps (PPO iterations summed over experts;
    /// RiC: supervised rounds), at the next step boundary. `None`: merge rounds only.
    pub checkpoint_every: Option<usize>,
    /// Stop after this many merge rounds (IterativeRS) or supervised rounds (RiC; each is
    /// checkpointed), after their checkpoint; ≥ 1.
    pub stop_after_round: Option<usize>,
    /// Stop at the first checkpoint after this many learner steps (any strategy; ≥ 1).
    pub stop_after_iterations: Option<usize>,
    /// Called after every learner step with its record (progress bars, logging); in a
    /// distributed run, also for the steps of other ranks once they are exchanged.
    pub on_step: Option<&'a (dyn Fn(&StepRecord) + Sync)>,
    /// The ranks of a distributed run ([`crate::distributed`]): IterativeRS and Rewarded
    /// Soups place their experts on them; MORLHF and RiC run the same steps on every rank.
    /// Rank 0 writes the checkpoints. `None`: one process.
    pub communicator: Option<&'a dyn crate::distributed::Communicator>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("stop_after_round", &self.stop_after_round)
            .field("stop_after_iterations", &self.stop_after_iterations)
            .field("on_step", &self.on_step.map(|_| "callback"))
            .field(
                "communicator",
                &self
                    .communicator
                    .map(|c| format!("rank {} of {}", c.rank(), c.size())),
            )
            .finish()
    }
}

impl RunOptions<'_> {
    /// Check the options: every count ≥ 1.
    pub fn validate(&self) -> Result<(), StrategyError> {
        for (name, v) in [
            ("checkpoint_every", self.checkpoint_every),
            ("stop_after_round", self.stop_after_round),
            ("stop_after_iterations", self.stop_after_iterations),
        ] {
            if v == Some(0) {
                return Err(StrategyError::BadConfig(format!(
                    "RunOptions::{name} is 0; it must be at least 1 (or None)"
                )));
            }
        }
        Ok(())
    }
}

/// The strategies. Swapping is one line: build another variant and call [`Strategy::run`].
/// A strategy's settings are all a checkpoint needs to continue it ([`Strategy::resume`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Strategy {
    /// IterativeRS (the paper's Algorithm 1): `N` experts from the reference; every
    /// `merge_every` steps the `per_block` experts trained in the block are merged (weights
    /// renormalised over them) and the next block's `per_block` experts (sampled, seeded)
    /// restart from the merged policy; all `N` are merged at the end. Each step costs one
    /// learner step per expert of the block.
    IterativeRs {
        /// Total steps T.
        steps: usize,
        /// Merge period m (1 ⇒ MORLHF, T ⇒ Rewarded Soups).
        merge_every: usize,
        /// Objectives trained per block, the paper's M ≤ N.
        #[serde(alias = "active")]
        per_block: usize,
        /// How each merge's coefficients are chosen.
        merge_weights: MergeWeights,
        /// The merge method (default: linear, the paper's).
        #[serde(default)]
        merge: MergeMethod,
        /// Restarting experts keep their Adam moments across a merge (`false`, the default
        /// and the reference code's: a fresh optimiser every round).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_optimizer: bool,
    },
    /// MORLHF: one policy trained on the preference-weighted reward for `steps` steps.
    Morlhf {
        /// Total steps.
        steps: usize,
    },
    /// RiC: reward-conditioned supervised fine-tuning (the paper's supervised baseline).
    Ric(RicConfig),
    /// Rewarded Soups: `N` experts trained independently for `steps` steps each, merged once
    /// with the preference weights.
    RewardedSoups {
        /// Steps per expert.
        steps: usize,
        /// How the final merge's coefficients are chosen.
        merge_weights: MergeWeights,
        /// The merge method (default: linear, the paper's).
        #[serde(default)]
        merge: MergeMethod,
    },
}

impl Strategy {
    /// IterativeRS with `steps` steps T, merge period `merge_every` (m) and `per_block`
    /// objectives per block (M), merged linearly with the preference weights (eq. 9).
    pub fn iterative_rs(steps: usize, merge_every: usize, per_block: usize) -> Self {
        Self::IterativeRs {
            steps,
            merge_every,
            per_block,
            merge_weights: MergeWeights::Preferences,
            merge: MergeMethod::Linear,
            keep_optimizer: false,
        }
    }

    /// The same IterativeRS run with experts that keep (`true`) or reset (`false`, the
    /// default) their Adam moments at every merge; other strategies are returned unchanged.
    pub fn with_keep_optimizer(mut self, keep: bool) -> Self {
        if let Self::IterativeRs { keep_optimizer, .. } = &mut self {
            *keep_optimizer = keep;
        }
        self
    }

    /// Rewarded Soups with `steps` steps per expert, merged linearly with the preference
    /// weights.
    pub fn rewarded_soups(steps: usize) -> Self {
        Self::RewardedSoups {
            steps,
            merge_weights: MergeWeights::Preferences,
            merge: MergeMethod::Linear,
        }
    }

    /// The same strategy merging with `method` (IterativeRS and Rewarded Soups; the others do
    /// not merge and are returned unchanged).
    pub fn with_merge(mut self, method: MergeMethod) -> Self {
        if let Self::IterativeRs { merge, .. } | Self::RewardedSoups { merge, .. } = &mut self {
            *merge = method;
        }
        self
    }

    /// The same strategy choosing merge coefficients by `weights` (IterativeRS and Rewarded
    /// Soups; the others are returned unchanged).
    pub fn with_merge_weights(mut self, weights: MergeWeights) -> Self {
        if let Self::IterativeRs { merge_weights, .. } | Self::RewardedSoups { merge_weights, .. } =
            &mut self
        {
            *merge_weights = weights;
        }
        self
    }

    /// Short name for tables and plots.
    pub fn name(&self) -> &'static str {
        match self {
            Self::IterativeRs { .. } => "IterativeRS",
            Self::Morlhf { .. } => "MORLHF",
            Self::RewardedSoups { .. } => "Rewarded Soups",
            Self::Ric(_) => "RiC",
        }
    }

    /// Policies trained side by side with `n` objectives (a checkpoint holds one per expert).
    pub fn experts(&self, n: usize) -> usize {
        match self {
            Self::IterativeRs { .. } | Self::RewardedSoups { .. } => n,
            Self::Morlhf { .. } => 1,
            Self::Ric(_) => 0,
        }
    }

    /// Whether a run with `n` objectives can stand at `done` steps, `round` rounds and the
    /// active set `active` (a checkpoint's claims; the message says what is wrong).
    pub fn check_progress(
        &self,
        n: usize,
        done: usize,
        round: usize,
        active: &[usize],
    ) -> Result<(), String> {
        let (limit, unit) = match self {
            Self::IterativeRs { steps, .. } | Self::Morlhf { steps } => (*steps, "steps"),
            Self::RewardedSoups { steps, .. } => (steps * n, "expert steps"),
            Self::Ric(c) => (c.online_rounds + 1, "rounds"),
        };
        if done > limit {
            return Err(format!("{done} {unit} done of the {limit} planned"));
        }
        if let Self::IterativeRs {
            steps,
            merge_every,
            per_block,
            ..
        } = self
        {
            if round > steps / (*merge_every).max(1) {
                return Err(format!(
                    "{round} merge rounds exceed {steps} steps with merges every {merge_every}"
                ));
            }
            let mut seen = active.to_vec();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() != active.len()
                || active.iter().any(|&i| i >= n)
                || active.len() != (*per_block).min(n)
            {
                return Err(format!(
                    "active set {active:?} is not {} distinct objectives below {n}",
                    (*per_block).min(n)
                ));
            }
        }
        Ok(())
    }

    /// Learner steps (PPO iterations) the run will take with `n` objectives.
    pub fn iterations(&self, n: usize) -> usize {
        match *self {
            Self::IterativeRs {
                steps, per_block, ..
            } => steps * per_block.min(n),
            Self::Morlhf { steps } => steps,
            Self::RewardedSoups { steps, .. } => steps * n,
            Self::Ric(ref c) => c.online_rounds + 1,
        }
    }

    /// Run the strategy from `reference` (which is not modified).
    pub fn run<P: Policy, L: Learner<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
    ) -> Result<RunOutput<P>, StrategyError> {
        self.run_with(reference, learner, seed, &RunOptions::default())
    }

    /// [`Strategy::run`] with checkpoints, an early stop or step notifications.
    pub fn run_with<P: Policy, L: Learner<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
        options: &RunOptions,
    ) -> Result<RunOutput<P>, StrategyError> {
        let n = learner.objectives();
        let prefs = learner.preferences();
        if n == 0 || prefs.len() != n {
            return Err(StrategyError::BadConfig(format!(
                "{n} objectives with {} preference weights",
                prefs.len()
            )));
        }
        let mut progress = Progress::start(reference, learner, self.experts(n));
        if let Self::IterativeRs { per_block, .. } = self {
            progress.current = active_set(n, *per_block, seed, 0);
        }
        // Over several ranks, Soups' experts advance together, one step at a time.
        progress.step_major = options.communicator.is_some_and(|c| c.size() > 1);
        self.continue_run(reference, learner, seed, progress, options)
    }

    /// Continue a run from the checkpoint in `dir` (written by [`Strategy::run_with`] with
    /// [`RunOptions::checkpoint_dir`]). `reference` and `learner` must be set up as for the
    /// original run; the strategy (merge method included) and the seed come from the
    /// checkpoint.
    pub fn resume<P: Policy, L: Learner<P>>(
        dir: &std::path::Path,
        reference: &P,
        learner: &mut L,
        options: &RunOptions<'_>,
    ) -> Result<RunOutput<P>, StrategyError> {
        // Over several ranks, rank 0 reads first (it may finish an interrupted write of the
        // checkpoint, crate::checkpoint::recover_dir), then the others.
        let comm = options.communicator.filter(|c| c.size() > 1);
        let first = comm.is_none_or(|c| c.rank() == 0);
        let loaded = first.then(|| run_state::load(dir, reference, learner));
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
        let (state, progress) = match loaded {
            Some(r) => r?,
            None => run_state::load(dir, reference, learner)?,
        };
        state
            .strategy
            .continue_run(reference, learner, state.seed, progress, options)
    }

    /// Continue `progress` (fresh or loaded from a checkpoint) to the end of the run.
    fn continue_run<P: Policy, L: Learner<P>>(
        &self,
        reference: &P,
        learner: &mut L,
        seed: u64,
        progress: Progress<P>,
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
        let books = Books::new(self, seed, reference, options, &progress)?;
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
                    merging: Merging {
                        weights: merge_weights,
                        method: merge,
                        ranks: ranks::Ranks::new(options.communicator),
                    },
                };
                iterative_rs::run(learner, plan, progress, books)
            }
            Self::Morlhf { steps } => morlhf::run(learner, *steps, progress, books),
            Self::Ric(cfg) => ric::run(learner, seed, cfg, progress, books),
            Self::RewardedSoups {
                steps,
                merge_weights,
                merge,
            } => {
                let merging = Merging {
                    weights: merge_weights,
                    method: merge,
                    ranks: ranks::Ranks::new(options.communicator),
                };
                rewarded_soups::run(learner, *steps, merging, seed, progress, books)
            }
        }
    }
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

    #[test]
    fn budgets() {
        let s = Strategy::iterative_rs(10, 2, 2);
        assert_eq!(s.iterations(3), 20);
        assert_eq!(Strategy::rewarded_soups(10).iterations(3), 30);
        assert_eq!(Strategy::Morlhf { steps: 30 }.iterations(3), 30);
    }

    /// Checkpoints written before the field was renamed (`active`) and before the merge
    /// method was recorded still load, as linear merges.
    #[test]
    fn older_strategy_settings_load() {
        let old = r#"{"IterativeRs":{"steps":4,"merge_every":2,"active":3,"merge_weights":"Preferences"}}"#;
        let s: Strategy = serde_json::from_str(old).unwrap();
        assert_eq!(s, Strategy::iterative_rs(4, 2, 3));
        let method = MergeMethod::Ties(crate::merge::Ties {
            density: 0.5,
            scale: 1.0,
        });
        let s = Strategy::iterative_rs(4, 2, 3).with_merge(method);
        let back: Strategy = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
