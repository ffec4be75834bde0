//! The experiment driver shared by the domain examples (molecules, DNA, text): the budget flags, the
//! four strategies under equal budgets, a progress bar per run, and the loop that trains every
//! strategy for every seed and hands each final policy to the domain's evaluation.

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use multireward::eval::report::PaperRow;
use multireward::experiment::{StrategyResult, write_report};
use multireward::merge::Linear;
use multireward::policy::{Gpt, Policy, SamplingConfig};
use multireward::reward::{RewardSet, Sample};
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig, kl_to_reference};
use multireward::strategy::{
    Collected, Learner, MergeWeights, OptimizerConfig, PpoLearner, RicConfig, RicTarget,
    StepContext, StepReport, Strategy, StrategyError,
};
use multireward::tokenizer::{BOS, Tokenizer};
use multireward::train::LmTrainingConfig;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Advantage estimator of the RL strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorArg {
    /// Leave-one-out group baseline (no value head; fastest on CPU).
    Rloo,
    /// GAE on a fresh value head (the reference code's PPO).
    Gae,
}

/// RiC's supervised learning rate when `--ric-lr` is absent (molecules, DNA).
pub const RIC_LR: f64 = 1e-3;

/// RiC's online rounds when `--ric-rounds` is absent (molecules, DNA).
pub const RIC_ROUNDS: usize = 1;

/// Budget, optimiser and strategy flags (flattened into each example's arguments).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Smoke run (≈ 1–2 min): tiny budget.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The reference code's budget: 25 rounds of m = 4 steps, 128 samples (hours on a CPU).
    #[arg(long)]
    pub full: bool,
    /// Seeds per strategy (the table shows mean ± std).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// PPO iterations per strategy (summed over experts); overrides the preset.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Samples per PPO iteration; overrides the preset.
    #[arg(long)]
    pub samples: Option<usize>,
    /// IterativeRS merge period m (steps per expert between merges); overrides the preset.
    #[arg(long)]
    pub merge_every: Option<usize>,
    /// Samples drawn from each final policy for evaluation; overrides the preset.
    #[arg(long)]
    pub eval_samples: Option<usize>,
    /// PPO epochs per iteration; overrides the preset (reference: 4).
    #[arg(long)]
    pub ppo_epochs: Option<usize>,
    /// PPO minibatches per epoch; overrides the preset (reference: 4).
    #[arg(long)]
    pub minibatches: Option<usize>,
    /// Adam learning rate of PPO (the reference uses 1.41e-5 for 25× our budget).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Adam learning rate of the IterativeRS and Rewarded Soups experts (default: `--lr`). Each
    /// expert's update reaches the merged policy with weight 1/N.
    #[arg(long)]
    pub expert_lr: Option<f64>,
    /// KL coefficient β.
    #[arg(long, default_value_t = 0.05)]
    pub kl_coef: f32,
    /// Advantage estimator.
    #[arg(long, value_enum, default_value_t = EstimatorArg::Rloo)]
    pub estimator: EstimatorArg,
    /// Strategies to run (comma-separated of iterativers, morlhf, soups, ric).
    #[arg(long, default_value = "iterativers,morlhf,soups,ric")]
    pub strategies: String,
    /// RiC: reward quantile bins per objective.
    #[arg(long, default_value_t = 4)]
    pub ric_bins: usize,
    /// RiC: online rounds after the offline one (the samples and updates are split evenly).
    /// Default [`RIC_ROUNDS`]; an example may choose its own when the flag is absent.
    #[arg(long)]
    pub ric_rounds: Option<usize>,
    /// RiC: condition on the top bins of all objectives (`top`, RiC's mapping of uniform
    /// preferences) or on the best bin combination holding ≥ 2 % of the offline data (`best`).
    #[arg(long, default_value = "top")]
    pub ric_target: String,
    /// RiC: supervised fine-tuning learning rate (the conditioning tokens start untrained).
    /// Default [`RIC_LR`]; an example may choose its own when the flag is absent.
    #[arg(long)]
    pub ric_lr: Option<f64>,
}

/// Budget and sizes of one run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Preset {
    /// PPO iterations per strategy, summed over experts.
    pub iterations: usize,
    /// Samples per PPO iteration.
    pub samples: usize,
    /// IterativeRS merge period m.
    pub merge_every: usize,
    /// Samples drawn from each final policy for evaluation.
    pub eval_samples: usize,
    /// Generated tokens per sample.
    pub max_new_tokens: usize,
    /// PPO epochs per iteration.
    pub epochs: usize,
    /// PPO minibatches per epoch.
    pub minibatches: usize,
}

impl RunArgs {
    /// The preset chosen by `--quick` / `--full` (else `default`), with the flags' overrides.
    pub fn preset(&self, default: Preset, quick: Preset, full: Preset) -> Preset {
        let base = if self.full {
            full
        } else if self.quick {
            quick
        } else {
            default
        };
        Preset {
            iterations: self.iterations.unwrap_or(base.iterations),
            samples: self.samples.unwrap_or(base.samples),
            merge_every: self.merge_every.unwrap_or(base.merge_every),
            eval_samples: self.eval_samples.unwrap_or(base.eval_samples),
            epochs: self.ppo_epochs.unwrap_or(base.epochs),
            minibatches: self.minibatches.unwrap_or(base.minibatches),
            ..base
        }
    }

    /// PPO settings for `sampling`, and the reference policy (with a fresh value head for
    /// GAE).
    pub fn ppo(
        &self,
        preset: &Preset,
        sampling: &SamplingConfig,
        reference: Gpt,
    ) -> (PpoConfig, Gpt) {
        let (estimator, reference) = match self.estimator {
            EstimatorArg::Rloo => (
                Estimator::Group {
                    size: 8,
                    baseline: GroupBaseline::LeaveOneOut,
                },
                reference,
            ),
            EstimatorArg::Gae => (Estimator::Gae, reference.with_value_head()),
        };
        let config = PpoConfig {
            samples_per_step: preset.samples,
            epochs: preset.epochs,
            minibatches: preset.minibatches,
            kl_coef: self.kl_coef,
            estimator,
            sampling: sampling.clone(),
            ..Default::default()
        };
        (config, reference)
    }

    /// The strategies of `--strategies` for `n` objectives with equal budgets: every RL
    /// strategy gets `iterations` PPO iterations of `samples` samples (IterativeRS and Rewarded
    /// Soups split them over the `n` experts); RiC gets as many generated samples and optimiser
    /// updates, split evenly over its offline round and its online rounds.
    pub fn plan(&self, preset: &Preset, n: usize) -> Result<Vec<Strategy>, String> {
        let per_expert = (preset.iterations / n).max(1);
        let updates_per_iteration = preset.epochs * preset.minibatches;
        self.strategies
            .split(',')
            .map(|s| {
                Ok(match s.trim() {
                    "iterativers" => Strategy::IterativeRs {
                        steps: per_expert,
                        merge_every: preset.merge_every.min(per_expert),
                        active: n,
                        merge_weights: MergeWeights::Preferences,
                    },
                    "morlhf" => Strategy::Morlhf {
                        steps: per_expert * n,
                    },
                    "soups" => Strategy::RewardedSoups {
                        steps: per_expert,
                        merge_weights: MergeWeights::Preferences,
                    },
                    "ric" => {
                        let online = self.ric_rounds.unwrap_or(RIC_ROUNDS);
                        let rounds = online + 1;
                        let total = per_expert * n * preset.samples;
                        let updates = per_expert * n * updates_per_iteration;
                        Strategy::Ric(RicConfig {
                            offline_samples: total / rounds,
                            online_samples: total / rounds,
                            online_rounds: online,
                            bins: self.ric_bins,
                            sft: LmTrainingConfig {
                                steps: (updates / rounds).max(1),
                                batch_size: 32,
                                lr: self.ric_lr.unwrap_or(RIC_LR),
                                warmup: 5,
                                eval_every: usize::MAX,
                                progress: false,
                                ..Default::default()
                            },
                            target: match self.ric_target.as_str() {
                                "top" => RicTarget::Top,
                                "best" => RicTarget::BestSupported { min_fraction: 0.02 },
                                other => return Err(format!("unknown RiC target {other:?}")),
                            },
                        })
                    }
                    other => return Err(format!("unknown strategy {other:?}")),
                })
            })
            .collect()
    }
}

/// A learner that ticks a progress bar on every step and shows the rewards' means and the KL.
pub struct Progress<L> {
    inner: L,
    bar: ProgressBar,
}

impl<P: Policy, L: Learner<P>> Learner<P> for Progress<L> {
    fn objectives(&self) -> usize {
        self.inner.objectives()
    }
    fn preferences(&self) -> Vec<f64> {
        self.inner.preferences()
    }
    fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        self.inner.optimizer()
    }
    fn prompts(&self) -> Vec<Vec<u32>> {
        self.inner.prompts()
    }
    fn collect(
        &mut self,
        policy: &P,
        rows: &[Vec<u32>],
        prompt_of: &[usize],
        seed: u64,
        vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        let out = self
            .inner
            .collect(policy, rows, prompt_of, seed, vocab_limit)?;
        self.bar.inc(rows.len() as u64);
        Ok(out)
    }
    fn state(&self) -> serde_json::Value {
        self.inner.state()
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), StrategyError> {
        self.inner.restore(state)
    }
    fn step(
        &mut self,
        policy: P,
        optim: &mut burn::optim::ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
    ) -> Result<(P, StepReport), StrategyError> {
        let (p, report) = self.inner.step(policy, optim, weights, ctx)?;
        let means: Vec<String> = report
            .rewards
            .iter()
            .map(|r| format!("{} {:.2}", r.name, r.raw_mean.unwrap_or(f64::NAN)))
            .collect();
        self.bar
            .set_message(format!("{} kl {:.2}", means.join(" "), report.kl));
        self.bar.inc(report.samples as u64);
        Ok((p, report))
    }
}

/// The prompts of a task: token rows (each starting with BOS) and the texts the rewards see.
#[derive(Debug, Clone)]
pub struct Prompts {
    /// Token ids, each row starting with BOS.
    pub ids: Vec<Vec<u32>>,
    /// The prompt texts, one per row.
    pub texts: Vec<String>,
}

impl Prompts {
    /// Unconditional generation: BOS alone, empty text.
    #[allow(dead_code)] // the prompted examples do not use it
    pub fn unconditional() -> Self {
        Self {
            ids: vec![vec![BOS]],
            texts: vec![String::new()],
        }
    }
}

/// How every final policy is evaluated: `samples` responses at the PPO sampling settings
/// (seed `seed` + the run's seed), cycling over `prompts`, scored by `oracles`.
pub struct EvalPlan<'a> {
    /// Responses per policy.
    pub samples: usize,
    /// The evaluation prompts.
    pub prompts: &'a Prompts,
    /// Base seed of the evaluation samples.
    pub seed: u64,
    /// The evaluation oracles, one per objective.
    pub oracles: &'a RewardSet,
}

/// Everything [`run_all`] produced.
pub struct Runs {
    /// The pretrained policy's evaluation first, then one per (seed, strategy).
    pub results: Vec<StrategyResult>,
    /// `{"strategy", "seed", "metrics"}` per evaluation, same order as `results`.
    pub metrics: Vec<serde_json::Value>,
    /// `{"strategy", "seed", "seconds"}` per run (training and evaluation).
    pub timings: Vec<serde_json::Value>,
}

/// Evaluate `reference`, then train every strategy of `plan` for `--seeds` seeds from it with
/// PPO learners on `rewards` and the training `prompts`, and evaluate each final policy as
/// `eval` says.
/// `describe(scored)` adds the domain's metrics (a JSON object, merged with the KL) and a
/// short console summary.
#[allow(clippy::too_many_arguments)]
pub fn run_all(
    args: &RunArgs,
    plan: &[Strategy],
    objectives: usize,
    reference: &Gpt,
    ppo: &PpoConfig,
    (rewards, prompts): (&mut RewardSet, &Prompts),
    tokenizer: &dyn Tokenizer,
    eval: &EvalPlan<'_>,
    mut describe: impl FnMut(&Scored) -> (serde_json::Value, String),
) -> Result<Runs, Box<dyn std::error::Error>> {
    let mut evaluate = |policy: &Gpt, condition: &[u32], seed: u64| {
        let scored = sample_and_score(
            (policy, condition),
            reference,
            &ppo.sampling,
            eval.prompts,
            eval.samples,
            eval.seed + seed,
            tokenizer,
            eval.oracles,
        )?;
        let (mut metrics, summary) = describe(&scored);
        metrics["kl"] = json!(scored.kl);
        let summary = format!(
            "oracle means {:.3?}, {summary}, KL {:.2}",
            means(&scored.scores, objectives),
            scored.kl
        );
        Ok::<_, Box<dyn std::error::Error>>((scored.scores, metrics, summary))
    };
    let (scores, metrics, summary) = evaluate(reference, &[], 0)?;
    println!("Pretrained: {summary}");
    let mut runs = Runs {
        results: vec![StrategyResult {
            name: "Pretrained".into(),
            scores,
            log: Vec::new(),
            budget: Default::default(),
        }],
        metrics: vec![json!({"strategy": "Pretrained", "seed": null, "metrics": metrics})],
        timings: Vec::new(),
    };
    for seed in 0..args.seeds as u64 {
        for strategy in plan {
            let started = Instant::now();
            let total = match strategy {
                Strategy::Ric(c) => c.offline_samples + c.online_rounds * c.online_samples,
                _ => strategy.iterations(objectives) * ppo.samples_per_step,
            } as u64;
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{prefix:>16} [{elapsed_precise}] {bar:30} {pos}/{len} samples {msg}",
                )
                .expect("valid template"),
            );
            bar.set_prefix(format!("{} s{seed}", strategy.name()));
            let mut learner = Progress {
                inner: PpoLearner {
                    ppo: Ppo::new(ppo.clone(), reference),
                    rewards: &mut *rewards,
                    tokenizer,
                    prompts: prompts.ids.clone(),
                    prompt_texts: prompts.texts.clone(),
                    optimizer: OptimizerConfig {
                        lr: args.lr_of(strategy),
                        weight_decay: 0.01,
                    },
                },
                bar,
            };
            let out = strategy.run(reference, &mut learner, &Linear, seed)?;
            learner.bar.finish();
            let policy = burn::module::Module::valid(&out.policy);
            let (scores, metrics, summary) = evaluate(&policy, &out.condition, seed)?;
            let secs = started.elapsed().as_secs_f64();
            println!("{} seed {seed}: {summary}, {secs:.0} s", strategy.name());
            runs.timings
                .push(json!({"strategy": strategy.name(), "seed": seed, "seconds": secs}));
            runs.metrics
                .push(json!({"strategy": strategy.name(), "seed": seed, "metrics": metrics}));
            runs.results.push(StrategyResult {
                name: strategy.name().into(),
                scores,
                log: out.log,
                budget: out.budget,
            });
        }
    }
    Ok(runs)
}

impl Runs {
    /// Write the results directory (`write_report`: table, JSON, step CSV, scatter plot) with
    /// `extra_md` appended to the table, print the table, and return nothing else. `config`
    /// and `metadata` are the domain's; timings, per-policy metrics and the total time since
    /// `started` are added to the metadata.
    #[allow(clippy::too_many_arguments)]
    pub fn write<S: AsRef<str>>(
        &self,
        out: &Path,
        objectives: &[S],
        config: serde_json::Value,
        mut metadata: serde_json::Value,
        paper: &[PaperRow],
        extra_md: &str,
        started: Instant,
    ) -> Result<(), Box<dyn std::error::Error>> {
        metadata["metrics"] = json!(self.metrics);
        metadata["timings"] = json!(self.timings);
        metadata["total_seconds"] = json!(started.elapsed().as_secs_f64());
        let (_, files) = write_report(
            out,
            objectives,
            &self.results,
            config,
            metadata,
            paper,
            None,
        )?;
        let table = std::fs::read_to_string(&files.markdown)?;
        std::fs::write(&files.markdown, format!("{table}\n{extra_md}"))?;
        println!("\n{table}\n{extra_md}");
        println!(
            "wrote {} ({:.0} s total)",
            out.display(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

impl RunArgs {
    /// PPO learning rate of `strategy`: `--expert-lr` for the merged experts of IterativeRS
    /// and Rewarded Soups when given, else `--lr`.
    pub fn lr_of(&self, strategy: &Strategy) -> f64 {
        match strategy {
            Strategy::IterativeRs { .. } | Strategy::RewardedSoups { .. } => {
                self.expert_lr.unwrap_or(self.lr)
            }
            _ => self.lr,
        }
    }

    /// The run's settings for `results.json` (the domain adds its own keys).
    pub fn config_json(
        &self,
        preset: &Preset,
        plan: &[Strategy],
        ppo: &PpoConfig,
    ) -> serde_json::Value {
        json!({
            "preset": preset, "seeds": self.seeds, "lr": self.lr,
            "expert_lr": self.expert_lr.unwrap_or(self.lr), "kl_coef": self.kl_coef,
            "estimator": format!("{:?}", self.estimator), "strategies": plan, "ppo": ppo,
        })
    }
}

/// Samples of one policy, their oracle scores and their KL to the reference.
pub struct Scored {
    /// Decoded responses (empty for undecodable ones).
    pub texts: Vec<String>,
    /// The prompt (index into the evaluation prompts) of each response.
    #[allow(dead_code)] // the unconditional examples do not read it
    pub prompt_of: Vec<usize>,
    /// Oracle scores (transformed) of the samples every oracle could score, `[sample][objective]`.
    pub scores: Vec<Vec<f64>>,
    /// Mean summed k1 KL to the reference at the sampling temperature (nats per sample).
    pub kl: f64,
}

/// Sample `n` responses from `policy`, cycling over `prompts` with RiC's `condition` tokens
/// after each prompt's BOS (kept out of responses), decode them, score them with `oracles`
/// and measure their KL to `reference` (given the plain prompts).
#[allow(clippy::too_many_arguments)]
pub fn sample_and_score(
    (policy, condition): (&Gpt, &[u32]),
    reference: &Gpt,
    sampling: &SamplingConfig,
    prompts: &Prompts,
    n: usize,
    seed: u64,
    tokenizer: &dyn Tokenizer,
    oracles: &RewardSet,
) -> Result<Scored, Box<dyn std::error::Error>> {
    let prompt_of: Vec<usize> = (0..n).map(|i| i % prompts.ids.len().max(1)).collect();
    let (mut texts, mut kls) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (k, chunk) in prompt_of.chunks(256).enumerate() {
        let plain: Vec<Vec<u32>> = chunk.iter().map(|&i| prompts.ids[i].clone()).collect();
        let rows: Vec<Vec<u32>> = plain
            .iter()
            .map(|p| {
                let mut row = p[..1].to_vec();
                row.extend_from_slice(condition);
                row.extend_from_slice(&p[1..]);
                row
            })
            .collect();
        let cfg = SamplingConfig {
            seed: Some(seed.wrapping_add(k as u64)),
            vocab_limit: (!condition.is_empty()).then(|| reference.vocab_size()),
            ..sampling.clone()
        };
        let rollout = policy.sample(&rows, &cfg)?;
        kls.extend(kl_to_reference(
            &rollout,
            reference,
            &plain,
            sampling.temperature,
        )?);
        for ids in rollout.response_ids() {
            texts.push(tokenizer.decode(&ids).unwrap_or_default());
        }
    }
    let samples: Vec<Sample<'_>> = prompt_of
        .iter()
        .zip(&texts)
        .map(|(&i, t)| Sample {
            prompt: &prompts.texts[i],
            completion: t,
        })
        .collect();
    let batch = oracles.score(&samples)?;
    let columns = batch.columns();
    let scores: Vec<Vec<f64>> = (0..texts.len())
        .filter_map(|j| columns.iter().map(|c| c.transformed[j]).collect())
        .collect();
    Ok(Scored {
        texts,
        prompt_of,
        scores,
        kl: kls.iter().sum::<f64>() / kls.len().max(1) as f64,
    })
}

/// Mean of each objective over scored samples.
pub fn means(scores: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| scores.iter().map(|r| r[i]).sum::<f64>() / scores.len().max(1) as f64)
        .collect()
}
