//! [`Comparison`]: a task's strategies × seeds under equal budgets, each run checkpointed and
//! resumable, each result evaluated and the report rewritten as it arrives. It holds the
//! pieces together and hands each plain values: the task, the plan, the [`Runner`], the
//! [`ResultsDir`], the observers.

use super::config::ComparisonConfig;
use super::error::{ExperimentError, io};
use super::observer::{Console, Observer};
use super::policies::{self, SavedPolicy};
use super::provenance::{self, Invocation};
use super::ranks::Ranks;
use super::report::StrategyResult;
use super::results_dir::{CHECKPOINTS_DIR, ResultsDir};
use super::runner::Runner;
use super::schedule::Schedule;
use super::task::Task;
use crate::distributed::Communicator;
use crate::eval::report::MARKDOWN_FILE;
use crate::policy::Policy;
use crate::rl::{Ppo, PpoConfig, RlError};
use crate::strategy::Strategy;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A comparison of strategies on a task: [`Comparison::new`] checks every setting,
/// [`Comparison::run`] trains and evaluates. Silent unless given an [`Observer`].
///
/// ```no_run
/// use multireward::experiment::{Budget, Comparison, ComparisonConfig, StrategyKind, Task};
/// use multireward::policy::{Gpt, Policy};
/// use multireward::reward::{FnReward, RewardSet, Sample};
/// use multireward::tasks::molecules::SmilesTokenizer;
///
/// let device = multireward::device::default_device();
/// let dir = multireward::assets::smiles_policy()?;
/// let reference = Gpt::load(&dir, &device)?;
/// let tokenizer = SmilesTokenizer::load(&multireward::checkpoint::tokenizer_path(&dir))?;
/// let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
/// let set = || RewardSet::builder()
///     .add(FnReward::new("nitrogen", count('N')), 1.0)
///     .add(FnReward::new("oxygen", count('O')), 1.0)
///     .build();
/// let task = Task::new(reference, &tokenizer, set()?, set()?);
/// let budget = Budget::new(4, 16).with_merge_every(2).with_max_new_tokens(24);
/// let config = ComparisonConfig::new(budget, 64)
///     .with_strategies(vec![StrategyKind::IterativeRs, StrategyKind::Morlhf]);
/// let outcome = Comparison::new(task, config)?
///     .with_progress(true)
///     .run(std::path::Path::new("results/mine"))?;
/// assert_eq!(outcome.results.len(), 3); // the pretrained policy and the two strategies
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Comparison<'a, P: Policy> {
    task: Task<'a, P>,
    config: ComparisonConfig,
    plan: Vec<Strategy>,
    runner: Runner<'a>,
    checkpoint_dir: Option<PathBuf>,
    resume: bool,
    observers: Vec<Box<dyn Observer + 'a>>,
}

/// What [`Comparison::run`] produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The pretrained policy's evaluation first, then one per (seed, strategy).
    pub results: Vec<StrategyResult>,
    /// The Markdown table written to `results.md`.
    pub table: String,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// The trained policies kept under `policies/` (see
    /// [`ComparisonConfig::save_policies`]), in run order.
    pub policies: Vec<SavedPolicy>,
}

impl<'a, P: Policy> Comparison<'a, P> {
    /// Check `config` against `task` (every setting, before anything is trained) and plan the
    /// strategies. Errors name the setting by its field.
    pub fn new(mut task: Task<'a, P>, config: ComparisonConfig) -> Result<Self, ExperimentError> {
        let n = task.fit(&config)?;
        let ppo = PpoConfig {
            samples_per_step: config.budget.samples,
            epochs: config.budget.epochs,
            minibatches: config.budget.minibatches,
            kl_coef: config.kl_coef,
            estimator: config.estimator.estimator(),
            sampling: task.sampling.clone(),
            ..Default::default()
        };
        Ppo::new(ppo.clone(), &task.reference)
            .validate(&task.reference)
            .map_err(ppo_setting)?;
        let trainable = match &config.lora {
            // Attaching once checks the settings and that every target names a projection.
            Some(lora) => {
                let adapted = (task.reference)
                    .with_lora(lora, 0)
                    .map_err(|e| ExperimentError::setting("lora", e.to_string()))?;
                let all = burn::module::Module::num_params(&task.reference);
                Some((crate::policy::lora::trainable_params(&adapted), all))
            }
            None => None,
        };
        let runner = Runner {
            ppo,
            weight_decay: config.weight_decay,
            checkpoint_every: config.checkpoint_every,
            ranks: Ranks::default(),
            adapters: config.lora.clone(),
            trainable,
            fresh_normalizers: task.rewards.normalizers(),
        };
        Ok(Self {
            plan: config.plan(n),
            task,
            config,
            runner,
            checkpoint_dir: None,
            resume: false,
            observers: Vec::new(),
        })
    }

    /// Keep run checkpoints in `dir` (default: `checkpoints/` in the results directory).
    pub fn with_checkpoint_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.checkpoint_dir = dir;
        self
    }

    /// Continue an earlier invocation with the same settings: finished runs keep their
    /// evaluations, an unfinished one continues from its last checkpoint. Without it the
    /// results directory's earlier report, runs and checkpoints are removed first.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Tell `observer` what the comparison does (observers are told in the order given).
    pub fn with_observer(mut self, observer: impl Observer + 'a) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// With `true`, the [`Console`] observer (bars on a terminal, a line every 10 learner
    /// steps otherwise); with `false`, nothing.
    pub fn with_progress(self, progress: bool) -> Self {
        match progress {
            true => self.with_observer(Console::new(10)),
            false => self,
        }
    }

    /// Run over the ranks of `communicator` (every rank calls [`Comparison::run`] with the
    /// same settings and results directory): IterativeRS and Rewarded Soups place their
    /// experts on the ranks; rank 0 decides what to resume, evaluates and writes the report and
    /// the checkpoints; the other ranks only train, and write nothing.
    pub fn with_communicator(mut self, communicator: &'a dyn Communicator) -> Self {
        self.runner.ranks = Ranks::new(Some(communicator));
        self
    }

    /// Adjust every planned strategy with `edit` (e.g. a domain's RiC fine-tuning settings);
    /// the edited plan is validated again and recorded in `results.json`.
    pub fn edit_plan(
        mut self,
        mut edit: impl FnMut(&mut Strategy),
    ) -> Result<Self, ExperimentError> {
        let n = self.task.oracles.names().len();
        for s in &mut self.plan {
            edit(s);
            if let Strategy::Ric(c) = s {
                c.validate(n)
                    .map_err(|e| ExperimentError::Task(format!("edited plan: {e}")))?;
            }
        }
        Ok(self)
    }

    /// Train every RL run from now on with KL coefficient `beta` (a β sweep runs the same
    /// comparison once per β, each into its own results directory).
    pub fn set_kl_coef(&mut self, beta: f32) -> Result<(), ExperimentError> {
        let config = self.config.clone().with_kl_coef(beta);
        config.validate(self.task.oracles.names().len())?;
        self.config = config;
        self.runner.ppo.kl_coef = beta;
        Ok(())
    }

    /// Train and judge every run from now on under preference `weights` (one per objective,
    /// each > 0: a zero weight would drop its objective's expert from the plan), scaled to the
    /// task's own weight sum so that the reward's scale, and so β's pull, stays the same. A
    /// preference sweep runs the same comparison once per weight vector.
    pub fn set_preferences(&mut self, weights: &[f64]) -> Result<(), ExperimentError> {
        let (training, oracles) = self.preferred(weights)?;
        let bad = |e: crate::reward::RewardError| {
            ExperimentError::setting("sweep_weights", e.to_string())
        };
        self.task.rewards.set_weights(&training).map_err(bad)?;
        if let Some(oracles) = oracles {
            self.task.oracles.set_weights(&oracles).map_err(bad)?;
        }
        Ok(())
    }

    /// Check that [`Comparison::set_preferences`] would take `weights` (changing nothing).
    pub fn check_preferences(&self, weights: &[f64]) -> Result<(), ExperimentError> {
        self.preferred(weights).map(|_| ())
    }

    /// The training rewards' and (when one per objective) the oracles' weights under
    /// preference `weights`.
    #[allow(clippy::type_complexity)]
    fn preferred(&self, weights: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>), ExperimentError> {
        let mut training = self.task.rewards.weights();
        // The objectives are the positively weighted training rewards (log-only ones keep 0).
        let columns: Vec<usize> = (0..training.len()).filter(|&i| training[i] > 0.0).collect();
        if weights.len() != columns.len() || !weights.iter().all(|w| w.is_finite() && *w > 0.0) {
            return Err(ExperimentError::setting(
                "sweep_weights",
                format!(
                    "has {weights:?}; give one finite weight > 0 per objective, {} in all ({})",
                    columns.len(),
                    self.task.objectives().join(", ")
                ),
            ));
        }
        let scale = columns.iter().map(|&i| training[i]).sum::<f64>() / weights.iter().sum::<f64>();
        let scaled: Vec<f64> = weights.iter().map(|w| w * scale).collect();
        for (&i, w) in columns.iter().zip(&scaled) {
            training[i] = *w;
        }
        let oracles = (self.task.oracles.weights().len() == scaled.len()).then_some(scaled);
        Ok((training, oracles))
    }

    /// The strategies as planned (equal budgets).
    pub fn plan(&self) -> &[Strategy] {
        &self.plan
    }

    /// The PPO settings every RL strategy uses.
    pub fn ppo(&self) -> &PpoConfig {
        &self.runner.ppo
    }

    /// Evaluate the pretrained policy, then train every planned strategy for every seed
    /// (resuming where a checkpoint exists), evaluate each final policy and rewrite the report
    /// in `out` after each. A failed run leaves the report of the finished ones and its last
    /// checkpoint; run again with [`Comparison::with_resume`] to continue.
    pub fn run(&mut self, out: &Path) -> Result<Outcome, ExperimentError> {
        let started = Instant::now();
        let mut results = ResultsDir::new(out, self.resume);
        let checkpoints =
            (self.checkpoint_dir.clone()).unwrap_or_else(|| out.join(CHECKPOINTS_DIR));
        let root = self.runner.ranks.is_root();
        let invocation = root.then(Invocation::now);
        let prepared = root.then(|| self.prepare(&mut results, &checkpoints));
        // The other ranks wait until rank 0 has prepared the directories (or failed to).
        let failed = prepared
            .as_ref()
            .map(|r| r.as_ref().err().map(|e| e.to_string()));
        if let Some(Some(message)) = self.runner.ranks.agree(failed)?
            && !root
        {
            return Err(ExperimentError::Task(format!("rank 0: {message}")));
        }
        prepared.transpose()?;
        if let Some(invocation) = &invocation {
            provenance::record(out, self.resume, invocation)?;
        }
        let mut schedule = Schedule {
            task: &mut self.task,
            config: &self.config,
            plan: &self.plan,
            runner: &self.runner,
            results: &results,
            checkpoints: &checkpoints,
            observer: &self.observers,
            trials: Vec::new(),
            provenance: invocation
                .as_ref()
                .map_or(Value::Null, Invocation::recorded),
        };
        let evaluated = schedule.run_all()?;
        let seconds = started.elapsed().as_secs_f64();
        if !root {
            let (results, table, policies) = (Vec::new(), String::new(), Vec::new());
            return Ok(Outcome {
                results,
                table,
                seconds,
                policies,
            });
        }
        let table = std::fs::read_to_string(out.join(MARKDOWN_FILE)).map_err(io(out))?;
        self.observers.finished(out, &table, seconds);
        Ok(Outcome {
            results: evaluated.into_iter().map(|r| r.result).collect(),
            table,
            seconds,
            policies: policies::read_index(out)?,
        })
    }
}

impl<P: Policy> Comparison<'_, P> {
    /// Before anything is trained (rank 0): the checkpoint folder created and writable, then
    /// the results directory locked and made ready (its manifest checked when resuming).
    fn prepare(
        &mut self,
        results: &mut ResultsDir,
        checkpoints: &Path,
    ) -> Result<(), ExperimentError> {
        let unwritable = |source| ExperimentError::CheckpointsUnwritable {
            path: checkpoints.to_path_buf(),
            source,
        };
        // The results directory's own checkpoint folder is made with it (after its checks).
        if !checkpoints.starts_with(&results.out) {
            crate::checkpoint::ensure_writable_dir(checkpoints).map_err(unwritable)?;
        }
        // The manifest records the training rewards as every run starts them.
        (self.task.rewards)
            .restore_normalizers(&self.runner.fresh_normalizers)
            .map_err(|e| ExperimentError::Task(e.to_string()))?;
        results.prepare(self.task.inputs(&self.config))?;
        crate::checkpoint::ensure_writable_dir(checkpoints).map_err(unwritable)?;
        // Every run's checkpoint folder is missing or a checkpoint, never a user's file.
        let labels = super::plan::labels(&self.plan);
        for seed in 0..self.config.seeds {
            for label in &labels {
                let dir =
                    checkpoints.join(format!("{}-seed{seed}", super::results_dir::slug(label)));
                crate::checkpoint::check_checkpoint_dir(&dir).map_err(|e| {
                    ExperimentError::CheckpointsUnwritable {
                        path: dir.clone(),
                        source: std::io::Error::other(e.to_string()),
                    }
                })?;
            }
        }
        Ok(())
    }
}

/// A PPO settings error as the comparison's setting it comes from.
fn ppo_setting(e: RlError) -> ExperimentError {
    let RlError::Setting(s) = &e else {
        return ExperimentError::Task(e.to_string());
    };
    let field = match s.field {
        "samples_per_step" => "budget.samples",
        "epochs" => "budget.epochs",
        "minibatches" => "budget.minibatches",
        "kl_coef" => "kl_coef",
        "estimator" => "estimator",
        _ => return ExperimentError::Task(e.to_string()),
    };
    ExperimentError::setting(field, s.message.clone())
}
