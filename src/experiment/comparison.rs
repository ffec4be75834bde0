//! [`Comparison`]: a task's strategies × seeds under equal budgets, each run checkpointed and
//! resumable, each result evaluated and written as it arrives.
//!
//! The results directory holds the report ([`write_report`]: `results.md`, `results.json`,
//! `steps.csv`, `scatter.png`), `timings.json` (wall-clock seconds, kept out of
//! `results.json` so that a resumed run's report equals an uninterrupted one's byte for byte),
//! `runs/` (every finished run's evaluation, lossless, so a resumed comparison skips it) and,
//! by default, `checkpoints/` (the unfinished runs' [`RunOptions`] checkpoints).

use super::ExperimentError;
use super::ablation;
use super::config::{ComparisonConfig, EstimatorKind, SavePolicies};
use super::curve::{self, CurvePoint};
use super::evaluate::{Scored, means, sample_and_score};
use super::lr_selection;
use super::report::{StrategyResult, write_report};
use crate::distributed::Communicator;
use crate::eval::metrics::avg_reward;
use crate::eval::report::{MARKDOWN_FILE, PaperRow};
use crate::eval::write_atomic;
use crate::policy::{Policy, Prompts, SamplingConfig};
use crate::reward::RewardSet;
use crate::rl::{Ppo, PpoConfig};
use crate::strategy::{
    self, OptimizerConfig, PpoLearner, RunOptions, STATE_FILE, StepRecord, Strategy,
};
use crate::tokenizer::Tokenizer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Domain metrics of an evaluation: a JSON object merged into the run's metrics, and a short
/// console summary.
pub type Describe<'a> = Box<dyn FnMut(&Scored) -> (Value, String) + 'a>;

/// Extra Markdown appended to `results.md`, from every evaluation's
/// `{"strategy", "seed", "metrics"}` row (the pretrained policy first; `metrics` is the
/// [`Task::with_describe`] object plus `"kl"`).
pub type ExtraMarkdown<'a> = Box<dyn Fn(&[Value]) -> String + 'a>;

/// What a task supplies to a comparison: the reference policy and its tokenizer, the training
/// rewards (objectives = the rewards with positive weight, their weights the preferences), the
/// evaluation oracles (one per objective, same order), the prompts and the sampling settings.
pub struct Task<'a, P: Policy> {
    reference: P,
    tokenizer: &'a dyn Tokenizer,
    rewards: RewardSet,
    oracles: RewardSet,
    prompts: Prompts,
    eval_prompts: Option<Prompts>,
    sampling: SamplingConfig,
    describe: Option<Describe<'a>>,
    markdown: Option<ExtraMarkdown<'a>>,
    paper: Vec<PaperRow>,
    info: Value,
}

impl<'a, P: Policy> Task<'a, P> {
    /// A task of unconditional generation from `reference`, trained on `rewards` and judged by
    /// `oracles`, sampling at temperature 0.7 and stopping at EOS.
    pub fn new(
        reference: P,
        tokenizer: &'a dyn Tokenizer,
        rewards: RewardSet,
        oracles: RewardSet,
    ) -> Self {
        Self {
            reference,
            tokenizer,
            rewards,
            oracles,
            prompts: Prompts::unconditional(tokenizer.specials().start()),
            eval_prompts: None,
            sampling: SamplingConfig {
                stop_at_eos: true,
                ..Default::default()
            },
            describe: None,
            markdown: None,
            paper: Vec::new(),
            info: Value::Null,
        }
    }

    /// With training prompts (and, unless [`Task::with_eval_prompts`] is given, evaluation
    /// prompts).
    pub fn with_prompts(mut self, prompts: Prompts) -> Self {
        self.prompts = prompts;
        self
    }

    /// With separate evaluation prompts (e.g. a held-out split).
    pub fn with_eval_prompts(mut self, prompts: Prompts) -> Self {
        self.eval_prompts = Some(prompts);
        self
    }

    /// With these sampling settings (`max_new_tokens` is the budget's).
    pub fn with_sampling(mut self, sampling: SamplingConfig) -> Self {
        self.sampling = sampling;
        self
    }

    /// With domain metrics for every evaluation (e.g. validity of molecules).
    pub fn with_describe(mut self, describe: impl FnMut(&Scored) -> (Value, String) + 'a) -> Self {
        self.describe = Some(Box::new(describe));
        self
    }

    /// With extra Markdown (e.g. a sample-quality table) appended to `results.md`.
    pub fn with_markdown(mut self, markdown: impl Fn(&[Value]) -> String + 'a) -> Self {
        self.markdown = Some(Box::new(markdown));
        self
    }

    /// With published numbers shown beside ours.
    pub fn with_paper(mut self, rows: Vec<PaperRow>) -> Self {
        self.paper = rows;
        self
    }

    /// With the task's own settings, recorded under `"task"` in `results.json`'s config.
    pub fn with_info(mut self, info: Value) -> Self {
        self.info = info;
        self
    }

    /// The reference policy.
    pub fn reference(&self) -> &P {
        &self.reference
    }

    /// Objective names: the oracles' names.
    pub fn objectives(&self) -> Vec<String> {
        self.oracles.names().iter().map(|s| s.to_string()).collect()
    }
}

/// A comparison of strategies on a task: [`Comparison::new`] checks every setting,
/// [`Comparison::run`] trains and evaluates.
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
/// let config = ComparisonConfig::new(Budget::new(4, 16).with_max_new_tokens(24), 64)
///     .with_strategies(vec![StrategyKind::IterativeRs, StrategyKind::Morlhf]);
/// let outcome = Comparison::new(task, config)?.run(std::path::Path::new("results/mine"))?;
/// println!("{}", outcome.table);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Comparison<'a, P: Policy> {
    task: Task<'a, P>,
    config: ComparisonConfig,
    plan: Vec<Strategy>,
    ppo: PpoConfig,
    checkpoint_dir: Option<PathBuf>,
    resume: bool,
    progress: bool,
    communicator: Option<&'a dyn Communicator>,
    /// The learning-rate trials (`--select-lr`), once run or read back.
    lr_trials: Vec<lr_selection::Trial>,
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

/// A trained policy a comparison kept, as listed in `policies/index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPolicy {
    /// The strategy's label in the report.
    pub strategy: String,
    /// The seed.
    pub seed: u64,
    /// The policy directory (the reference policy's format: ours, or Hugging Face's).
    pub path: PathBuf,
    /// Tokens to place after BOS when sampling from it (RiC's conditioning; empty otherwise).
    pub condition: Vec<u32>,
}

/// A finished run's evaluation as kept in `runs/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedRun {
    #[serde(flatten)]
    result: StrategyResult,
    seed: Option<u64>,
    /// The planned strategy (`null` for the pretrained policy).
    plan: Value,
    metrics: Value,
    seconds: f64,
}

impl SavedRun {
    /// What ranks other than 0 hold in place of an evaluation (they evaluate nothing).
    fn placeholder() -> Self {
        Self {
            result: StrategyResult {
                name: String::new(),
                scores: Vec::new(),
                log: Vec::new(),
                budget: Default::default(),
            },
            seed: None,
            plan: Value::Null,
            metrics: Value::Null,
            seconds: 0.0,
        }
    }
}

/// Folder of the finished runs inside the results directory.
pub const RUNS_DIR: &str = "runs";
/// Folder of the kept trained policies inside the results directory.
pub const POLICIES_DIR: &str = "policies";
/// The list of kept policies inside [`POLICIES_DIR`].
const POLICY_INDEX_FILE: &str = "index.json";
/// Default checkpoint folder inside the results directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Wall-clock timings inside the results directory.
pub const TIMINGS_FILE: &str = "timings.json";
/// The settings a results directory was made with, inside [`RUNS_DIR`].
const SETTINGS_FILE: &str = "settings.json";
/// Files of a report, removed when a results directory is reused without resuming.
const REPORT_FILES: [&str; 8] = [
    MARKDOWN_FILE,
    crate::eval::report::JSON_FILE,
    super::report::STEPS_FILE,
    super::report::PLOT_FILE,
    TIMINGS_FILE,
    curve::CSV_FILE,
    curve::PLOT_FILE,
    ablation::PLOT_FILE,
];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s.into_bytes()
}

/// File-name form of a strategy name ("Rewarded Soups" → "rewarded-soups").
fn slug(name: &str) -> String {
    let dashed: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    dashed
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

impl<'a, P: Policy> Comparison<'a, P> {
    /// Check `config` against `task` (every setting, before anything is trained) and plan the
    /// strategies. Errors name the setting by its command-line flag.
    pub fn new(mut task: Task<'a, P>, config: ComparisonConfig) -> Result<Self, ExperimentError> {
        let (tokens, vocab) = (task.tokenizer.vocab_size(), task.reference.vocab_size());
        if tokens > vocab {
            return Err(ExperimentError::Task(format!(
                "the tokenizer has {tokens} tokens but the reference policy's vocabulary has \
                 {vocab}: they come from different checkpoints (load both from the same \
                 directory)"
            )));
        }
        // A vocabulary padded past the tokenizer (Hugging Face checkpoints often round it up):
        // the padding ids decode to nothing, so they are never sampled.
        if tokens < vocab {
            task.sampling.vocab_limit =
                Some(task.sampling.vocab_limit.unwrap_or(tokens).min(tokens));
        }
        let n = task.oracles.names().len();
        let objectives = task.rewards.weights().iter().filter(|w| **w > 0.0).count();
        if objectives == 0 || objectives != n {
            return Err(ExperimentError::Task(format!(
                "the training rewards have {objectives} objectives (positive weights) but there \
                 are {n} evaluation oracles; give one oracle per objective, in the same order"
            )));
        }
        config.validate(n)?;
        if config.estimator == EstimatorKind::Gae && !task.reference.has_value_head() {
            return Err(ExperimentError::setting(
                "estimator",
                "is gae, which needs a reference policy with a value head (e.g. \
                 Gpt::with_value_head); the shipped policies have none: use --estimator rloo"
                    .into(),
            ));
        }
        task.sampling.max_new_tokens = config.budget.max_new_tokens;
        task.sampling.seed = None;
        let eval_prompts = task.eval_prompts.as_ref().unwrap_or(&task.prompts);
        if let Some(max_len) = task.reference.max_len() {
            let longest = task
                .prompts
                .ids()
                .iter()
                .chain(eval_prompts.ids())
                .map(Vec::len)
                .max()
                .unwrap_or(1);
            // RiC adds one conditioning token per objective after BOS.
            let extra = if config
                .strategies
                .contains(&super::config::StrategyKind::Ric)
            {
                n
            } else {
                0
            };
            if longest + extra + config.budget.max_new_tokens > max_len {
                return Err(ExperimentError::setting(
                    "max-new-tokens",
                    format!(
                        "is {}, but with prompts of up to {} tokens{} a sequence would exceed the \
                         policy's context of {max_len} tokens",
                        config.budget.max_new_tokens,
                        longest,
                        if extra > 0 {
                            " and RiC's conditioning"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
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
            .map_err(|e| ExperimentError::Task(e.to_string()))?;
        let plan = config.plan(n);
        Ok(Self {
            task,
            config,
            plan,
            ppo,
            checkpoint_dir: None,
            resume: false,
            progress: true,
            communicator: None,
            lr_trials: Vec::new(),
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

    /// Draw progress bars and print a line per evaluation (default on).
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Run over the ranks of `communicator` (every rank calls [`Comparison::run`] with the
    /// same settings and results directory): IterativeRS and Rewarded Soups place their
    /// experts on the ranks; rank 0 decides what to resume, evaluates, prints and writes the
    /// report and the checkpoints; the other ranks only train, and write nothing.
    pub fn with_communicator(mut self, communicator: &'a dyn Communicator) -> Self {
        self.communicator = Some(communicator);
        self
    }

    /// Whether this rank evaluates and writes (rank 0, or the only process).
    fn is_root(&self) -> bool {
        self.communicator.is_none_or(|c| c.rank() == 0)
    }

    /// Rank 0's `value` on every rank (what it decided from the results directory), so that
    /// every rank takes the same path.
    fn agree<T: Serialize + serde::de::DeserializeOwned>(
        &self,
        value: Option<T>,
    ) -> Result<Option<T>, ExperimentError> {
        let Some(comm) = self.communicator.filter(|c| c.size() > 1) else {
            return Ok(value);
        };
        let mut bytes = match &value {
            Some(v) if comm.rank() == 0 => json_bytes(v),
            _ => Vec::new(),
        };
        comm.broadcast(&mut bytes, 0)
            .map_err(|e| ExperimentError::Task(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ExperimentError::Task(format!("rank 0's decision: {e}")))
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

    /// The strategies as planned (equal budgets).
    pub fn plan(&self) -> &[Strategy] {
        &self.plan
    }

    /// The PPO settings every RL strategy uses.
    pub fn ppo(&self) -> &PpoConfig {
        &self.ppo
    }

    /// What `results.json` records as the config.
    fn config_json(&self) -> Value {
        json!({
            "comparison": self.config,
            "plan": self.plan,
            "ppo": self.ppo,
            "task": self.task.info,
        })
    }

    /// Make `out` ready: writable, and emptied of an earlier invocation's files unless
    /// resuming (then checked to hold the same settings).
    fn prepare(&self, out: &Path) -> Result<(), ExperimentError> {
        let unwritable = |e: std::io::Error| {
            ExperimentError::setting("out", format!("{} cannot be written: {e}", out.display()))
        };
        std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(unwritable)?;
        let probe = out.join(format!(".write-test-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(unwritable)?;
        let _ = std::fs::remove_file(&probe);
        let settings_path = out.join(RUNS_DIR).join(SETTINGS_FILE);
        if self.resume {
            if let Ok(old) = std::fs::read(&settings_path) {
                // More or fewer seeds and strategies may be resumed; the rest must match.
                let comparable = |c: ComparisonConfig| ComparisonConfig {
                    seeds: 0,
                    strategies: Vec::new(),
                    ..c
                };
                let old = serde_json::from_slice(&old).ok().map(comparable);
                if old != Some(comparable(self.config.clone())) {
                    return Err(ExperimentError::Task(format!(
                        "--resume: {} was made with other settings ({}); rerun without --resume \
                         or choose another --out",
                        out.display(),
                        settings_path.display()
                    )));
                }
            }
        } else {
            for name in REPORT_FILES {
                let p = out.join(name);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(io(&p))?;
                }
            }
            for dir in [
                out.join(RUNS_DIR),
                out.join(CHECKPOINTS_DIR),
                out.join(POLICIES_DIR),
            ] {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
                }
            }
            std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(io(out))?;
        }
        Ok(write_atomic(&settings_path, &json_bytes(&self.config))?)
    }

    /// Evaluate the pretrained policy, then train every planned strategy for every seed
    /// (resuming where a checkpoint exists), evaluate each final policy and rewrite the report
    /// in `out` after each. A failed run leaves the report of the finished ones and its last
    /// checkpoint; run again with [`Comparison::with_resume`] to continue.
    pub fn run(&mut self, out: &Path) -> Result<Outcome, ExperimentError> {
        let started = Instant::now();
        let checkpoints = self
            .checkpoint_dir
            .clone()
            .unwrap_or_else(|| out.join(CHECKPOINTS_DIR));
        let root = self.is_root();
        if root {
            self.prepare(out)?;
        }
        // The other ranks wait until rank 0 has prepared the directory.
        self.agree(Some(()))?;
        let n = self.task.oracles.names().len();
        let bars = MultiProgress::with_draw_target(if self.progress && root {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let planned: Vec<u64> = self
            .plan
            .iter()
            .map(|s| (s.iterations(n) as u64).max(1))
            .collect();
        let overall = bars.add(ProgressBar::new(
            planned.iter().sum::<u64>() * self.config.seeds as u64,
        ));
        overall.set_style(style(
            "{prefix:>16} [{elapsed_precise}] {bar:30} {pos}/{len} iterations, eta {eta}",
        ));
        overall.set_prefix("all runs");
        let verbose = self.progress && root;
        // Lines go above the bars on a terminal, to stdout otherwise.
        let say = |line: String| {
            if verbose && bars.is_hidden() {
                println!("{line}");
            } else if verbose {
                let _ = bars.println(line);
            }
        };

        let mut saved: Vec<SavedRun> = Vec::new();
        let pretrained_path = out.join(RUNS_DIR).join("pretrained.json");
        let pretrained = match self.load_saved(&pretrained_path, &Value::Null, None)? {
            _ if !root => SavedRun::placeholder(),
            Some(run) => run,
            None => {
                let t0 = Instant::now();
                let reference = self.task.reference.clone();
                let (scores, metrics, summary) = self.evaluate(&reference, &[], 0)?;
                say(format!("Pretrained: {summary}"));
                let run = SavedRun {
                    result: StrategyResult {
                        name: "Pretrained".into(),
                        scores,
                        log: Vec::new(),
                        budget: Default::default(),
                    },
                    seed: None,
                    plan: Value::Null,
                    metrics,
                    seconds: t0.elapsed().as_secs_f64(),
                };
                write_atomic(&pretrained_path, &json_bytes(&run))?;
                run
            }
        };
        let mut curves = vec![curve_point(
            "Pretrained",
            None,
            &pretrained.result.budget,
            &pretrained.result.scores,
            &pretrained.metrics,
        )];
        saved.push(pretrained);
        if root {
            self.write(out, &saved, &curves)?;
        }

        let labels = labels(&self.plan);
        self.select_learning_rates(out, &labels, &checkpoints)?;
        if root && !self.lr_trials.is_empty() {
            self.write(out, &saved, &curves)?;
        }
        for seed in 0..self.config.seeds as u64 {
            for (k, strategy) in self.plan.clone().iter().enumerate() {
                let name = strategy.name();
                let label = labels[k].as_str();
                let key = format!("{}-seed{seed}", slug(label));
                let path = out.join(RUNS_DIR).join(format!("{key}.json"));
                let plan_json = serde_json::to_value(strategy).unwrap_or(Value::Null);
                let curve_path = out.join(RUNS_DIR).join(format!("{key}.curve.json"));
                let mut along: Vec<CurvePoint> = match root && self.resume && curve_path.exists() {
                    true => serde_json::from_slice(
                        &std::fs::read(&curve_path).map_err(io(&curve_path))?,
                    )
                    .map_err(|e| ExperimentError::Task(format!("{}: {e}", curve_path.display())))?,
                    false => Vec::new(),
                };
                let done = match root {
                    true => self.load_saved(&path, &plan_json, Some(seed))?,
                    false => None,
                };
                if self.agree(Some(done.is_some()))? == Some(true) {
                    overall.inc(planned[k]);
                    if let Some(run) = done {
                        curves.extend(along);
                        saved.push(run);
                        self.write(out, &saved, &curves)?;
                    }
                    continue;
                }
                let t0 = Instant::now();
                let bar = bars.add(ProgressBar::new(planned[k]));
                bar.set_style(style(
                    "{prefix:>16} [{elapsed_precise}] {bar:30} {pos}/{len} iterations {msg} (eta {eta})",
                ));
                bar.set_prefix(format!("{label} s{seed}"));
                let on_step = |rec: &StepRecord| {
                    let means: Vec<String> = rec
                        .report
                        .rewards
                        .iter()
                        .map(|r| format!("{} {:.2}", r.name, r.raw_mean.unwrap_or(f64::NAN)))
                        .collect();
                    bar.set_message(format!("{} kl {:.2}", means.join(" "), rec.report.kl));
                    bar.inc(1);
                    overall.inc(1);
                };
                let dir = checkpoints.join(&key);
                let failed = |source| ExperimentError::Run {
                    strategy: name,
                    seed,
                    checkpoint: dir.clone(),
                    source: Box::new(source),
                };
                // With curves, the run stops at each point (its checkpoint), is evaluated and
                // continues from the checkpoint: the same run, bit for bit (tests/resume.rs).
                let stops: Vec<usize> = if self.config.curve {
                    curve::points(strategy, n, self.curve_spacing(n))
                        .into_iter()
                        .filter(|&i| along.iter().all(|p| p.iterations < i))
                        .collect()
                } else {
                    Vec::new()
                };
                let stops = self.agree(Some(stops))?.unwrap_or_default();
                let spacing = self.config.curve.then(|| self.curve_spacing(n));
                let mut continuing = false;
                for stop in stops {
                    let output = self
                        .train(
                            strategy,
                            seed,
                            &dir,
                            &on_step,
                            Some(stop),
                            continuing,
                            spacing,
                            self.lr_for(label, strategy),
                        )
                        .map_err(failed)?;
                    continuing = true;
                    if output.completed {
                        break;
                    }
                    if !root {
                        continue;
                    }
                    let policy = burn::module::Module::valid(&output.policy);
                    let (scores, metrics, summary) =
                        self.evaluate(&policy, output.condition(), seed)?;
                    say(format!(
                        "{label} seed {seed} at {} iterations: {summary}",
                        output.budget.iterations
                    ));
                    along.push(curve_point(
                        label,
                        Some(seed),
                        &output.budget,
                        &scores,
                        &metrics,
                    ));
                    write_atomic(&curve_path, &json_bytes(&along))?;
                }
                let lr = self.lr_for(label, strategy);
                let output = self
                    .train(
                        strategy, seed, &dir, &on_step, None, continuing, spacing, lr,
                    )
                    .map_err(failed)?;
                bar.finish_and_clear();
                if !root {
                    continue;
                }
                let policy = burn::module::Module::valid(&output.policy);
                let condition = output.condition().to_vec();
                let (scores, metrics, summary) = self.evaluate(&policy, &condition, seed)?;
                let seconds = t0.elapsed().as_secs_f64();
                say(format!("{label} seed {seed}: {summary}, {seconds:.0} s"));
                let run = SavedRun {
                    result: StrategyResult {
                        name: label.into(),
                        scores,
                        log: output.log,
                        budget: output.budget,
                    },
                    seed: Some(seed),
                    plan: plan_json,
                    metrics,
                    seconds,
                };
                if self.config.save_policies == SavePolicies::Final {
                    self.keep_policy(out, &key, label, seed, &policy, &condition)?;
                }
                write_atomic(&path, &json_bytes(&run))?;
                if self.config.curve {
                    along.push(curve_point(
                        label,
                        Some(seed),
                        &run.result.budget,
                        &run.result.scores,
                        &run.metrics,
                    ));
                    write_atomic(&curve_path, &json_bytes(&along))?;
                    curves.extend(along);
                }
                saved.push(run);
                self.write(out, &saved, &curves)?;
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
                }
            }
        }
        overall.finish_and_clear();
        if !root {
            return Ok(Outcome {
                results: Vec::new(),
                table: String::new(),
                seconds: started.elapsed().as_secs_f64(),
                policies: Vec::new(),
            });
        }
        let table = std::fs::read_to_string(out.join(MARKDOWN_FILE)).map_err(io(out))?;
        let seconds = started.elapsed().as_secs_f64();
        say(format!(
            "\n{table}\nwrote {} ({seconds:.0} s)",
            out.display()
        ));
        Ok(Outcome {
            results: saved.into_iter().map(|r| r.result).collect(),
            table,
            seconds,
            policies: read_policy_index(out)?,
        })
    }

    /// Save the final `policy` of a run as `policies/<key>` (the reference's format, the
    /// task's tokenizer) and list it in `policies/index.json`.
    fn keep_policy(
        &self,
        out: &Path,
        key: &str,
        label: &str,
        seed: u64,
        policy: &P,
        condition: &[u32],
    ) -> Result<(), ExperimentError> {
        let dir = out.join(POLICIES_DIR).join(key);
        policy
            .save(&dir, self.task.tokenizer)
            .map_err(|e| ExperimentError::Task(format!("saving {label} seed {seed}: {e}")))?;
        let mut index = read_policy_index(out)?;
        index.retain(|p| p.path != dir);
        index.push(SavedPolicy {
            strategy: label.into(),
            seed,
            path: dir,
            condition: condition.to_vec(),
        });
        Ok(write_atomic(
            &out.join(POLICIES_DIR).join(POLICY_INDEX_FILE),
            &json_bytes(&index),
        )?)
    }

    /// Train `strategy` (seed `seed`), from its checkpoint in `dir` when resuming (or
    /// `continuing` a run stopped for a curve point) and one exists; stop at the first
    /// checkpoint after `stop` iterations if given. `checkpoint_every` overrides the
    /// comparison's period (curve points must fall on checkpoints).
    #[allow(clippy::too_many_arguments)]
    fn train(
        &mut self,
        strategy: &Strategy,
        seed: u64,
        dir: &Path,
        on_step: &(dyn Fn(&StepRecord) + Sync),
        stop: Option<usize>,
        continuing: bool,
        checkpoint_every: Option<usize>,
        lr: f64,
    ) -> Result<strategy::RunOutput<P>, strategy::StrategyError> {
        let resume = self.resume || continuing;
        let has_checkpoint = match self.is_root() {
            true => dir.join(STATE_FILE).exists(),
            false => false,
        };
        if has_checkpoint && !resume {
            std::fs::remove_dir_all(dir).map_err(|e| {
                strategy::StrategyError::Checkpoint(format!("{}: {e}", dir.display()))
            })?;
        }
        // Every rank resumes when rank 0 found a checkpoint (after it removed a stale one).
        let has_checkpoint = self
            .agree(Some(has_checkpoint))
            .map_err(|e| strategy::StrategyError::Checkpoint(e.to_string()))?
            .unwrap_or(false);
        let options = RunOptions {
            checkpoint_dir: Some(dir.to_path_buf()),
            checkpoint_every: Some(checkpoint_every.unwrap_or(self.config.checkpoint_every)),
            stop_after_iterations: stop,
            on_step: Some(on_step),
            communicator: self.communicator,
            ..Default::default()
        };
        let root = self.is_root();
        let reference = &self.task.reference;
        let mut learner = PpoLearner {
            ppo: Ppo::new(self.ppo.clone(), reference),
            rewards: &mut self.task.rewards,
            tokenizer: self.task.tokenizer,
            prompts: self.task.prompts.clone(),
            optimizer: OptimizerConfig {
                lr,
                weight_decay: self.config.weight_decay,
            },
        };
        if has_checkpoint && resume {
            let state = match root {
                true => Some(strategy::RunState::read(dir)?),
                false => None,
            };
            if let Some(state) = state
                && (&state.strategy != strategy || state.seed != seed)
            {
                return Err(strategy::StrategyError::Checkpoint(format!(
                    "{} holds a run of {} seed {}, not of {} seed {seed}; remove it or choose \
                     another --checkpoint-dir",
                    dir.display(),
                    state.strategy.name(),
                    state.seed,
                    strategy.name()
                )));
            }
            Strategy::resume(dir, reference, &mut learner, &options)
        } else {
            strategy.run_with(reference, &mut learner, seed, &options)
        }
    }

    /// The learning rate of the strategy labelled `label`: the chosen candidate when
    /// `--select-lr` ran, else the configured rate.
    fn lr_for(&self, label: &str, strategy: &Strategy) -> f64 {
        self.lr_trials
            .iter()
            .find(|t| t.chosen && t.strategy == label)
            .map_or_else(|| self.config.lr_of(strategy), |t| t.lr)
    }

    /// `--select-lr`: train every RL strategy once per candidate learning rate on the tuning
    /// seed, score each final policy with the training rewards (rank 0; the others take its
    /// choice), and keep the trials (in `runs/`, read back on `--resume`).
    fn select_learning_rates(
        &mut self,
        out: &Path,
        labels: &[String],
        checkpoints: &Path,
    ) -> Result<(), ExperimentError> {
        if self.config.lr_candidates.is_empty() {
            return Ok(());
        }
        let root = self.is_root();
        let path = out.join(RUNS_DIR).join(lr_selection::FILE);
        let saved: Option<Vec<lr_selection::Trial>> = match root && self.resume && path.exists() {
            true => Some(
                serde_json::from_slice(&std::fs::read(&path).map_err(io(&path))?)
                    .map_err(|e| ExperimentError::Task(format!("{}: {e}", path.display())))?,
            ),
            false => None,
        };
        if let Some(trials) = self.agree(Some(saved))?.flatten() {
            self.lr_trials = trials;
            return Ok(());
        }
        let seed = lr_selection::TUNING_SEED;
        let mut trials = Vec::new();
        for (k, strategy) in self.plan.clone().iter().enumerate() {
            if matches!(strategy, Strategy::Ric(_)) {
                continue;
            }
            let mut scored = Vec::new();
            for lr in self.config.lr_candidates.clone() {
                let dir = checkpoints.join(format!("lr-{}-{lr:e}", slug(&labels[k])));
                let output = self
                    .train(strategy, seed, &dir, &|_| {}, None, false, None, lr)
                    .map_err(|source| ExperimentError::Run {
                        strategy: strategy.name(),
                        seed,
                        checkpoint: dir.clone(),
                        source: Box::new(source),
                    })?;
                let (training_reward, kl) = match root {
                    true => self.training_score(&burn::module::Module::valid(&output.policy))?,
                    false => (0.0, 0.0),
                };
                if root && dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
                }
                if self.progress && root {
                    println!(
                        "{} at lr {lr:e}: training reward {training_reward:.4}, KL {kl:.2}",
                        labels[k]
                    );
                }
                scored.push(lr_selection::Trial {
                    strategy: labels[k].clone(),
                    lr,
                    training_reward,
                    kl,
                    chosen: false,
                });
            }
            let best = self.agree(lr_selection::best(&scored))?;
            if let Some(i) = best {
                scored[i].chosen = true;
            }
            trials.extend(scored);
        }
        if root {
            write_atomic(&path, &json_bytes(&trials))?;
        }
        self.lr_trials = trials;
        Ok(())
    }

    /// The mean preference-weighted *training* reward of `policy`'s samples (the evaluation
    /// plan's sample count and prompts, the tuning seed) and their KL to the reference.
    fn training_score(&mut self, policy: &P) -> Result<(f64, f64), ExperimentError> {
        let task = &self.task;
        let prompts = task.eval_prompts.as_ref().unwrap_or(&task.prompts);
        let scored = sample_and_score(
            (policy, &[]),
            &task.reference,
            &task.sampling,
            prompts,
            self.config.eval.samples,
            lr_selection::TUNING_SEED,
            task.tokenizer,
            &task.rewards,
        )?;
        Ok((
            lr_selection::weighted_mean(&scored.scores, &task.rewards.weights()),
            scored.kl,
        ))
    }

    /// Iterations between the curve points of MORLHF and Rewarded Soups: one step of all `n`
    /// IterativeRS experts (MORLHF drifts fast; coarser points would leave its curve at low
    /// KL to interpolation).
    fn curve_spacing(&self, n: usize) -> usize {
        n.max(1)
    }

    /// A finished run kept in `path`, if any and if it is of `plan` and `seed`.
    fn load_saved(
        &self,
        path: &Path,
        plan: &Value,
        seed: Option<u64>,
    ) -> Result<Option<SavedRun>, ExperimentError> {
        if !self.resume || !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(path).map_err(io(path))?;
        let run: SavedRun = serde_json::from_slice(&bytes).map_err(|e| {
            ExperimentError::Task(format!(
                "--resume: {} is not a saved run: {e}",
                path.display()
            ))
        })?;
        if !same_plan(&run.plan, plan) || run.seed != seed {
            return Err(ExperimentError::Task(format!(
                "--resume: {} holds a run with other settings; rerun without --resume",
                path.display()
            )));
        }
        Ok(Some(run))
    }

    /// Oracle scores, metrics and a console summary of `policy` (with RiC's `condition`).
    fn evaluate(
        &mut self,
        policy: &P,
        condition: &[u32],
        seed: u64,
    ) -> Result<(Vec<Vec<f64>>, Value, String), ExperimentError> {
        let task = &mut self.task;
        let prompts = task.eval_prompts.as_ref().unwrap_or(&task.prompts);
        let scored = sample_and_score(
            (policy, condition),
            &task.reference,
            &task.sampling,
            prompts,
            self.config.eval.samples,
            self.config.eval.seed.wrapping_add(seed),
            task.tokenizer,
            &task.oracles,
        )?;
        let (mut metrics, summary) = match &mut task.describe {
            Some(describe) => describe(&scored),
            None => (json!({}), String::new()),
        };
        if !metrics.is_object() {
            metrics = json!({ "task": metrics });
        }
        metrics["kl"] = json!(scored.kl);
        let n = task.oracles.names().len();
        let summary = format!(
            "oracle means {:.3?}{}{summary}, KL {:.2}",
            means(&scored.scores, n),
            if summary.is_empty() { "" } else { ", " },
            scored.kl
        );
        Ok((scored.scores, metrics, summary))
    }

    /// Rewrite the report and the timings from the runs so far (and the curves, when
    /// evaluated along the runs).
    fn write(
        &self,
        out: &Path,
        saved: &[SavedRun],
        curves: &[CurvePoint],
    ) -> Result<(), ExperimentError> {
        let results: Vec<StrategyResult> = saved.iter().map(|r| r.result.clone()).collect();
        let metrics: Vec<Value> = saved
            .iter()
            .map(|r| json!({"strategy": r.result.name, "seed": r.seed, "metrics": r.metrics}))
            .collect();
        let metadata = json!({
            "evaluation": "oracle scores of the samples every oracle could score; KL = mean \
                           summed k1 KL to the pretrained policy at the sampling temperature",
            "metrics": metrics,
            "lr_selection": self.lr_trials,
        });
        let objectives = self.task.objectives();
        write_report(
            out,
            &objectives,
            &results,
            self.config_json(),
            metadata,
            &self.task.paper,
            None,
        )?;
        if let Some(markdown) = &self.task.markdown {
            let path = out.join(MARKDOWN_FILE);
            let table = std::fs::read_to_string(&path).map_err(io(&path))?;
            write_atomic(&path, format!("{table}\n{}", markdown(&metrics)).as_bytes())?;
        }
        let n = objectives.len();
        let mut section = format!(
            "\nBudget accounting: {}.\n",
            self.config
                .accounting
                .describe(self.config.steps_per_expert(n), n)
        );
        if !self.lr_trials.is_empty() {
            section.push_str(&lr_selection::section(
                &self.lr_trials,
                self.config.eval.samples,
            ));
        }
        if self.config.curve {
            section.push_str(&curve::write(out, &objectives, curves)?);
        }
        if !self.config.sweep_m.is_empty() {
            let plans: Vec<Option<Strategy>> = saved
                .iter()
                .map(|r| serde_json::from_value(r.plan.clone()).ok())
                .collect();
            let runs: Vec<ablation::Run<'_>> = saved
                .iter()
                .zip(&plans)
                .filter_map(|(r, plan)| {
                    let avg = avg_reward(&r.result.scores).unwrap_or(f64::NAN);
                    plan.as_ref().map(|plan| ablation::Run { plan, avg })
                })
                .collect();
            section.push_str(&ablation::write(out, &runs)?);
        }
        let path = out.join(MARKDOWN_FILE);
        let table = std::fs::read_to_string(&path).map_err(io(&path))?;
        write_atomic(&path, format!("{table}{section}").as_bytes())?;
        let timings: Vec<Value> = saved
            .iter()
            .map(|r| json!({"strategy": r.result.name, "seed": r.seed, "seconds": r.seconds}))
            .collect();
        Ok(write_atomic(
            &out.join(TIMINGS_FILE),
            &json_bytes(&timings),
        )?)
    }
}

/// The policies listed in `out`'s `policies/index.json` (none when there is no index).
fn read_policy_index(out: &Path) -> Result<Vec<SavedPolicy>, ExperimentError> {
    let path = out.join(POLICIES_DIR).join(POLICY_INDEX_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ExperimentError::Task(format!("{}: {e}", path.display())))
}

/// The report's label of each planned strategy: its name, with its merge period when the plan
/// holds several runs of the same strategy (an m sweep).
fn labels(plan: &[Strategy]) -> Vec<String> {
    plan.iter()
        .map(|s| {
            let twins = plan.iter().filter(|o| o.name() == s.name()).count();
            match s {
                Strategy::IterativeRs { merge_every, .. } if twins > 1 => {
                    format!("{} (m = {merge_every})", s.name())
                }
                _ => s.name().to_string(),
            }
        })
        .collect()
}

/// Whether two recorded plans are the same strategy (compared as settings, so a plan written
/// before a field was added or renamed still matches).
fn same_plan(saved: &Value, plan: &Value) -> bool {
    match (
        serde_json::from_value::<Strategy>(saved.clone()),
        serde_json::from_value::<Strategy>(plan.clone()),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => saved == plan,
    }
}

/// The curve point of a finished evaluation `run`.
fn curve_point(
    name: &str,
    seed: Option<u64>,
    budget: &strategy::Budget,
    scores: &[Vec<f64>],
    metrics: &Value,
) -> CurvePoint {
    let per_objective = crate::eval::metrics::objective_stats(scores).unwrap_or_default();
    CurvePoint {
        strategy: name.into(),
        seed,
        iterations: budget.iterations,
        samples: budget.samples,
        kl: metrics["kl"].as_f64().unwrap_or(f64::NAN),
        means: per_objective.iter().map(|s| s.mean).collect(),
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
