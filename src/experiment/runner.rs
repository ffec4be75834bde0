//! One training run of a comparison ([`Runner::train`]): a [`RunSpec`] says which planned
//! strategy, seed, checkpoint directory, stop and learning rate; the runner builds the PPO
//! learner on the task's training rewards and starts the run, or continues it from its
//! checkpoint.

use super::ranks::Ranks;
use super::task::Task;
use crate::policy::Policy;
use crate::rl::{Ppo, PpoConfig};
use crate::strategy::{
    OptimizerConfig, PpoLearner, RunOptions, RunOutput, RunState, STATE_FILE, StepRecord, Strategy,
    StrategyError,
};
use std::path::Path;

/// One training run: what to train and where it is kept.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunSpec<'s> {
    /// The planned strategy.
    pub strategy: &'s Strategy,
    /// The seed.
    pub seed: u64,
    /// The run's checkpoint directory.
    pub dir: &'s Path,
    /// Continue from the checkpoint in `dir` if there is one (else a checkpoint left there is
    /// removed and the run starts afresh).
    pub resume: bool,
    /// Stop at the first checkpoint after this many learner steps.
    pub stop: Option<usize>,
    /// Checkpoint every this many learner steps (curve points must fall on checkpoints);
    /// `None`: the comparison's period.
    pub checkpoint_every: Option<usize>,
    /// The PPO learning rate.
    pub lr: f64,
}

/// What every run of a comparison shares: the PPO settings, the optimiser's weight decay, the
/// checkpoint period and the ranks.
pub(super) struct Runner<'a> {
    /// The PPO settings of every RL strategy.
    pub ppo: PpoConfig,
    /// Adam's weight decay.
    pub weight_decay: f32,
    /// The comparison's checkpoint period.
    pub checkpoint_every: usize,
    /// The ranks the runs are trained over.
    pub ranks: Ranks<'a>,
    /// LoRA adapters instead of full fine-tuning.
    pub adapters: Option<crate::policy::lora::LoraConfig>,
    /// With adapters, `(trainable, all)` parameters of an expert.
    pub trainable: Option<(usize, usize)>,
    /// The training rewards' normaliser state before any run: every run that starts afresh
    /// starts from it (running statistics never carry over from one run to the next; a
    /// resumed run restores its own from its checkpoint).
    pub fresh_normalizers: Vec<crate::reward::Normalizer>,
}

impl Runner<'_> {
    /// Train `spec` on `task`'s training rewards, telling `on_step` of every learner step.
    pub fn train<P: Policy>(
        &self,
        task: &mut Task<'_, P>,
        spec: &RunSpec<'_>,
        on_step: &(dyn Fn(&StepRecord) + Sync),
    ) -> Result<RunOutput<P>, StrategyError> {
        let dir = spec.dir;
        let has_checkpoint = self.ranks.is_root() && dir.join(STATE_FILE).exists();
        if has_checkpoint && !spec.resume {
            std::fs::remove_dir_all(dir)
                .map_err(|e| StrategyError::Checkpoint(format!("{}: {e}", dir.display())))?;
        }
        // Every rank resumes when rank 0 found a checkpoint (after it removed a stale one).
        let has_checkpoint = (self.ranks)
            .agree(Some(has_checkpoint))
            .map_err(|e| StrategyError::Checkpoint(e.to_string()))?
            .unwrap_or(false);
        let options = RunOptions {
            checkpoint_dir: Some(dir.to_path_buf()),
            checkpoint_every: Some(spec.checkpoint_every.unwrap_or(self.checkpoint_every)),
            stop_after_iterations: spec.stop,
            on_step: Some(on_step),
            communicator: self.ranks.comm(),
            ..Default::default()
        };
        let reference = &task.reference;
        let mut learner = PpoLearner {
            ppo: Ppo::new(self.ppo.clone(), reference),
            rewards: &mut task.rewards,
            tokenizer: task.tokenizer,
            prompts: task.prompts.clone(),
            optimizer: OptimizerConfig::new()
                .with_lr(spec.lr)
                .with_weight_decay(self.weight_decay),
            adapters: self.adapters.clone(),
        };
        if !(has_checkpoint && spec.resume) {
            learner
                .rewards
                .restore_normalizers(&self.fresh_normalizers)?;
            return (spec.strategy).run_with(reference, &mut learner, spec.seed, &options);
        }
        if self.ranks.is_root() {
            let state = RunState::read(dir)?;
            if &state.strategy != spec.strategy || state.seed != spec.seed {
                return Err(StrategyError::Checkpoint(format!(
                    "{} holds a run of {} seed {}, not of {} seed {}; remove it or choose \
                     another checkpoint directory",
                    dir.display(),
                    state.strategy.name(),
                    state.seed,
                    spec.strategy.name(),
                    spec.seed
                )));
            }
        }
        Strategy::resume(dir, reference, &mut learner, &options)
    }
}
