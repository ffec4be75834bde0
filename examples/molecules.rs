//! The main job: fine-tune the shipped SMILES policy on three molecular objectives with
//! IterativeRS, MORLHF, Rewarded Soups and RiC under equal budgets, evaluate each final policy
//! with independent oracles, and write the paper-style table and scatter plots.
//!
//! ```text
//! cargo run --release --example molecules                # ≈ 10 min on 2 cores
//! cargo run --release --example molecules -- --quick     # smoke run, ≈ 2 min
//! cargo run --release --example molecules -- --seeds 3   # mean ± std over seeds
//! cargo run --release --example molecules -- --full      # the reference's budget (hours)
//! cargo run --release --example molecules -- --objectives qed,logp,sa
//! ```
//!
//! Objectives `alpha,gap,u0` (default, the paper's QM9 set): training rewards are regressors on
//! the frozen policy backbone, evaluation oracles are independent regressors on Morgan counts
//! (different split and seed), both under `assets/qm9-rewards/`. `qed,logp,sa`: exact
//! descriptors (logP scored by a 1–3 window), the same functions for training and evaluation.
//!
//! Budget: every strategy gets the same number of PPO iterations (`--iterations`, summed over
//! experts) of `--samples` samples each; RiC gets the same number of generated samples and
//! optimiser updates. Results go to `--out` (default `results/molecules/`).

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use multireward::checkpoint::tokenizer_path;
use multireward::data::{data_path, load_qm9};
use multireward::device::device_from_env;
use multireward::eval::report::PaperRow;
use multireward::experiment::{StrategyResult, write_report};
use multireward::merge::Linear;
use multireward::policy::{Gpt, Policy, SamplingConfig};
use multireward::reward::{RewardSet, Sample, Transform};
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig, kl_to_reference};
use multireward::strategy::{
    Collected, Learner, MergeWeights, OptimizerConfig, PpoLearner, RicConfig, RicTarget,
    StepContext, StepReport, Strategy, StrategyError,
};
use multireward::tasks::molecules::analytic::{Descriptor, DescriptorReward};
use multireward::tasks::molecules::qm9::{
    BackboneFeatures, MorganFeatures, Property, PropertyReward,
};
use multireward::tasks::molecules::regressor::Regressor;
use multireward::tasks::molecules::{SampleQuality, canonical_smiles, sample_quality};
use multireward::tokenizer::{BOS, SmilesTokenizer, Tokenizer};
use multireward::train::LmTrainingConfig;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "support/alloc.rs"]
mod alloc;

/// Advantage estimator of the RL strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EstimatorArg {
    /// Leave-one-out group baseline (no value head; fastest on CPU).
    Rloo,
    /// GAE on a fresh value head (the reference code's PPO).
    Gae,
}

#[derive(Parser, Debug)]
#[command(about = "Multi-objective fine-tuning of the shipped SMILES policy")]
struct Args {
    /// Objectives: `alpha,gap,u0` (QM9 properties) or any of `qed,logp,sa`.
    #[arg(long, default_value = "alpha,gap,u0")]
    objectives: String,
    /// Smoke run (≈ 2 min): tiny budget.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The reference code's budget: 25 rounds of m = 4 steps, 128 samples, 100 tokens.
    #[arg(long)]
    full: bool,
    /// Seeds per strategy (the table shows mean ± std).
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// PPO iterations per strategy (summed over experts); overrides the preset.
    #[arg(long)]
    iterations: Option<usize>,
    /// Samples per PPO iteration; overrides the preset.
    #[arg(long)]
    samples: Option<usize>,
    /// IterativeRS merge period m (steps per expert between merges); overrides the preset.
    #[arg(long)]
    merge_every: Option<usize>,
    /// Samples drawn from each final policy for evaluation; overrides the preset.
    #[arg(long)]
    eval_samples: Option<usize>,
    /// PPO epochs per iteration; overrides the preset (reference: 4).
    #[arg(long)]
    ppo_epochs: Option<usize>,
    /// PPO minibatches per epoch; overrides the preset (reference: 4).
    #[arg(long)]
    minibatches: Option<usize>,
    /// Adam learning rate of the RL experts (the reference uses 1.41e-5 for 25× our budget).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// KL coefficient β.
    #[arg(long, default_value_t = 0.05)]
    kl_coef: f32,
    /// Advantage estimator.
    #[arg(long, value_enum, default_value_t = EstimatorArg::Rloo)]
    estimator: EstimatorArg,
    /// Strategies to run (comma-separated of iterativers, morlhf, soups, ric).
    #[arg(long, default_value = "iterativers,morlhf,soups,ric")]
    strategies: String,
    /// RiC: reward quantile bins per objective.
    #[arg(long, default_value_t = 4)]
    ric_bins: usize,
    /// RiC: online rounds after the offline one (the samples and updates are split evenly).
    #[arg(long, default_value_t = 1)]
    ric_rounds: usize,
    /// RiC: condition on the top bins of all objectives (`top`, RiC's mapping of uniform
    /// preferences) or on the best bin combination holding ≥ 2 % of the offline data (`best`).
    #[arg(long, default_value = "top")]
    ric_target: String,
    /// RiC: supervised fine-tuning learning rate (the conditioning tokens start untrained).
    #[arg(long, default_value_t = 1e-3)]
    ric_lr: f64,
    /// The pretrained policy.
    #[arg(long, default_value = "assets/smiles-gpt")]
    policy: PathBuf,
    /// Trained QM9 reward and oracle regressors.
    #[arg(long, default_value = "assets/qm9-rewards")]
    rewards: PathBuf,
    /// Results directory.
    #[arg(long, default_value = "results/molecules")]
    out: PathBuf,
}

/// Budget and sizes of one run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Preset {
    iterations: usize,
    samples: usize,
    merge_every: usize,
    eval_samples: usize,
    max_new_tokens: usize,
    epochs: usize,
    minibatches: usize,
}

impl Args {
    fn preset(&self, n: usize) -> Preset {
        let base = if self.full {
            // 25 rounds × m = 4 steps × N experts, 128 samples of 100 tokens.
            Preset {
                iterations: 100 * n,
                samples: 128,
                merge_every: 4,
                eval_samples: 1024,
                max_new_tokens: 100,
                epochs: 4,
                minibatches: 4,
            }
        } else if self.quick {
            Preset {
                iterations: 2 * n,
                samples: 32,
                merge_every: 1,
                eval_samples: 128,
                max_new_tokens: 32,
                epochs: 2,
                minibatches: 2,
            }
        } else {
            Preset {
                iterations: 10 * n,
                samples: 64,
                merge_every: 2,
                eval_samples: 512,
                max_new_tokens: 32,
                epochs: 2,
                minibatches: 2,
            }
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
}

/// The paper's QM9 table (METHOD.md §4; PAMNet-evaluated α, gap, U0).
fn paper_rows() -> Vec<PaperRow> {
    let row = |m: &str, o: [f64; 3], avg, icv| PaperRow {
        method: m.into(),
        objectives: o.to_vec(),
        avg,
        icv,
    };
    vec![
        row("MORLHF", [1.4229, 0.9355, 1.5146], 1.2910, 4.19),
        row("Rewarded Soups", [1.4134, 0.9589, 1.5464], 1.3062, 4.27),
        row("RiC", [0.5955, 0.6795, 0.7544], 0.6765, 3.75),
        row("IterativeRS", [1.5893, 0.9508, 1.6649], 1.4017, 3.59),
    ]
}

/// Training rewards and evaluation oracles for the chosen objectives.
fn reward_sets(
    names: &[String],
    args: &Args,
    reference: &Gpt,
    tokenizer: &SmilesTokenizer,
) -> Result<(RewardSet, RewardSet, serde_json::Value), Box<dyn std::error::Error>> {
    let device = reference.device();
    let w = 1.0 / names.len() as f64;
    // Invalid molecules get a total below any typical valid one (objectives are ~z-scores).
    let (mut train, mut eval) = (RewardSet::builder().na_penalty(-2.0), RewardSet::builder());
    let mut meta = serde_json::Map::new();
    for name in names {
        if let Some(p) = Property::ALL.iter().find(|p| p.name() == name) {
            let load =
                |role: &str| Regressor::load(&args.rewards.join(format!("{name}-{role}")), &device);
            let (reward, oracle) = (load("reward")?, load("oracle")?);
            let bits = oracle.config().d_in;
            train = train.add(
                PropertyReward::new(
                    name.as_str(),
                    *p,
                    Box::new(BackboneFeatures::new(reference, tokenizer.clone())),
                    reward,
                ),
                w,
            );
            eval = eval.add(
                PropertyReward::new(name.as_str(), *p, Box::new(MorganFeatures { bits }), oracle),
                w,
            );
            meta.insert(
                name.clone(),
                json!({"reward": "backbone regressor", "oracle": format!("Morgan-{bits} regressor")}),
            );
        } else {
            let d = match name.as_str() {
                "qed" => Descriptor::Qed,
                "logp" => Descriptor::LogP,
                "sa" => Descriptor::Sa,
                other => return Err(format!("unknown objective {other:?}").into()),
            };
            train = train.add(DescriptorReward(d), w);
            eval = eval.add(DescriptorReward(d), w);
            if d == Descriptor::LogP {
                train = train.transform(Transform::double_sigmoid(1.0, 3.0));
                eval = eval.transform(Transform::double_sigmoid(1.0, 3.0));
            }
            meta.insert(
                name.clone(),
                json!({"reward": "exact descriptor", "oracle": "same"}),
            );
        }
    }
    Ok((
        train.build()?,
        eval.build()?,
        serde_json::Value::Object(meta),
    ))
}

/// A learner that ticks a progress bar on every step.
struct Progress<L> {
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

/// What the evaluation of one policy measured.
struct Evaluation {
    /// Oracle scores of the valid samples, `[sample][objective]`.
    scores: Vec<Vec<f64>>,
    quality: SampleQuality,
    kl: f64,
}

/// Sample `n` molecules from `policy` (after BOS and `condition`), score them with the
/// oracles, and measure quality and KL to the reference.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    policy: &Gpt,
    condition: &[u32],
    reference: &Gpt,
    sampling: &SamplingConfig,
    n: usize,
    seed: u64,
    tokenizer: &SmilesTokenizer,
    oracles: &RewardSet,
    corpus: &HashSet<String>,
) -> Result<Evaluation, Box<dyn std::error::Error>> {
    let mut prompt = vec![BOS];
    prompt.extend_from_slice(condition);
    let (mut texts, mut kls) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (k, start) in (0..n).step_by(256).enumerate() {
        let b = 256.min(n - start);
        let cfg = SamplingConfig {
            seed: Some(seed.wrapping_add(k as u64)),
            vocab_limit: (!condition.is_empty()).then(|| reference.vocab_size()),
            ..sampling.clone()
        };
        let rollout = policy.sample(&vec![prompt.clone(); b], &cfg)?;
        kls.extend(kl_to_reference(
            &rollout,
            reference,
            &vec![vec![BOS]; b],
            sampling.temperature,
        )?);
        for ids in rollout.response_ids() {
            texts.push(tokenizer.decode(&ids).unwrap_or_default());
        }
    }
    let samples: Vec<Sample<'_>> = texts
        .iter()
        .map(|t| Sample {
            prompt: "",
            completion: t,
        })
        .collect();
    let batch = oracles.score(&samples)?;
    let columns = batch.columns();
    let scores: Vec<Vec<f64>> = (0..texts.len())
        .filter_map(|j| columns.iter().map(|c| c.transformed[j]).collect())
        .collect();
    Ok(Evaluation {
        scores,
        quality: sample_quality(&texts, Some(corpus)),
        kl: kls.iter().sum::<f64>() / kls.len().max(1) as f64,
    })
}

fn strategies(
    args: &Args,
    preset: &Preset,
    n: usize,
) -> Result<Vec<Strategy>, Box<dyn std::error::Error>> {
    let list = &args.strategies;
    let per_expert = (preset.iterations / n).max(1);
    let updates_per_iteration = preset.epochs * preset.minibatches;
    list.split(',')
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
                    // Same samples and optimiser updates as the RL strategies, split evenly
                    // over the offline round and the online rounds.
                    let rounds = args.ric_rounds + 1;
                    let total = per_expert * n * preset.samples;
                    let updates = per_expert * n * updates_per_iteration;
                    Strategy::Ric(RicConfig {
                        offline_samples: total / rounds,
                        online_samples: total / rounds,
                        online_rounds: args.ric_rounds,
                        bins: args.ric_bins,
                        sft: LmTrainingConfig {
                            steps: (updates / rounds).max(1),
                            batch_size: 32,
                            lr: args.ric_lr,
                            warmup: 5,
                            eval_every: usize::MAX,
                            progress: false,
                            ..Default::default()
                        },
                        target: match args.ric_target.as_str() {
                            "top" => RicTarget::Top,
                            "best" => RicTarget::BestSupported { min_fraction: 0.02 },
                            other => return Err(format!("unknown RiC target {other:?}").into()),
                        },
                    })
                }
                other => return Err(format!("unknown strategy {other:?}").into()),
            })
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    alloc::keep_freed_memory();
    let args = Args::parse();
    let t0 = Instant::now();
    let device = device_from_env()?;
    let names: Vec<String> = args
        .objectives
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect();
    let n = names.len();
    let preset = args.preset(n);
    let reference = Gpt::load(&args.policy, &device)?;
    let tokenizer = SmilesTokenizer::load(&tokenizer_path(&args.policy))?;
    let (mut train_rewards, eval_rewards, reward_meta) =
        reward_sets(&names, &args, &reference, &tokenizer)?;
    let corpus: HashSet<String> = load_qm9(&data_path("qm9_slim.csv.gz"))?
        .iter()
        .filter_map(|r| canonical_smiles(&r.smiles))
        .collect();
    let sampling = SamplingConfig {
        max_new_tokens: preset.max_new_tokens,
        stop_at_eos: true,
        ..Default::default()
    };
    let (estimator, reference) = match args.estimator {
        EstimatorArg::Rloo => (
            Estimator::Group {
                size: 8,
                baseline: GroupBaseline::LeaveOneOut,
            },
            reference,
        ),
        EstimatorArg::Gae => (Estimator::Gae, reference.with_value_head()),
    };
    let ppo_config = PpoConfig {
        samples_per_step: preset.samples,
        epochs: preset.epochs,
        minibatches: preset.minibatches,
        kl_coef: args.kl_coef,
        estimator,
        sampling: sampling.clone(),
        ..Default::default()
    };
    let plan = strategies(&args, &preset, n)?;
    println!(
        "objectives {names:?}; {} PPO iterations × {} samples per strategy, m = {}, {} seed(s); \
         {} evaluation samples per policy",
        preset.iterations, preset.samples, preset.merge_every, args.seeds, preset.eval_samples
    );

    let mut results = Vec::new();
    let mut quality = Vec::new();
    let eval_seed = 1_000_003;
    let base = evaluate(
        &reference,
        &[],
        &reference,
        &sampling,
        preset.eval_samples,
        eval_seed,
        &tokenizer,
        &eval_rewards,
        &corpus,
    )?;
    quality.push(
        json!({"strategy": "Pretrained", "seed": null, "quality": base.quality, "kl": base.kl}),
    );
    results.push(StrategyResult {
        name: "Pretrained".into(),
        scores: base.scores,
        log: Vec::new(),
        budget: Default::default(),
    });
    let mut timings = Vec::new();
    for seed in 0..args.seeds as u64 {
        for strategy in &plan {
            let started = Instant::now();
            let total = match strategy {
                Strategy::Ric(c) => c.offline_samples + c.online_rounds * c.online_samples,
                _ => strategy.iterations(n) * preset.samples,
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
                    ppo: Ppo::new(ppo_config.clone(), &reference),
                    rewards: &mut train_rewards,
                    tokenizer: &tokenizer,
                    prompts: vec![vec![BOS]],
                    prompt_texts: vec![String::new()],
                    optimizer: OptimizerConfig {
                        lr: args.lr,
                        weight_decay: 0.01,
                    },
                },
                bar,
            };
            let out = strategy.run(&reference, &mut learner, &Linear, seed)?;
            learner.bar.finish();
            let policy = burn::module::Module::valid(&out.policy);
            let ev = evaluate(
                &policy,
                &out.condition,
                &reference,
                &sampling,
                preset.eval_samples,
                eval_seed + seed,
                &tokenizer,
                &eval_rewards,
                &corpus,
            )?;
            let secs = started.elapsed().as_secs_f64();
            timings.push(json!({"strategy": strategy.name(), "seed": seed, "seconds": secs}));
            quality.push(json!({"strategy": strategy.name(), "seed": seed, "quality": ev.quality, "kl": ev.kl}));
            let means: Vec<f64> = (0..n)
                .map(|i| {
                    ev.scores.iter().map(|r| r[i]).sum::<f64>() / ev.scores.len().max(1) as f64
                })
                .collect();
            println!(
                "{} seed {seed}: oracle means {means:.3?}, validity {:.1} %, KL {:.2}, {secs:.0} s",
                strategy.name(),
                100.0 * ev.quality.validity,
                ev.kl
            );
            results.push(StrategyResult {
                name: strategy.name().into(),
                scores: ev.scores,
                log: out.log,
                budget: out.budget,
            });
        }
    }

    let qm9 = names.iter().map(String::as_str).eq(["alpha", "gap", "u0"]);
    let paper = if qm9 { paper_rows() } else { Vec::new() };
    let config = json!({
        "objectives": names, "preset": preset, "seeds": args.seeds, "lr": args.lr,
        "kl_coef": args.kl_coef, "estimator": format!("{:?}", args.estimator),
        "strategies": plan, "ppo": ppo_config, "policy": args.policy, "rewards": reward_meta,
    });
    let metadata = json!({
        "sample_quality": quality, "timings": timings,
        "total_seconds": t0.elapsed().as_secs_f64(),
        "evaluation": "oracle scores of the valid samples; quality over all samples; KL = mean summed k1 KL to the pretrained policy at the sampling temperature",
    });
    let (_, files) = write_report(&args.out, &names, &results, config, metadata, &paper, None)?;
    let table = std::fs::read_to_string(&files.markdown)?;
    let quality_md = quality_table(&quality);
    std::fs::write(&files.markdown, format!("{table}\n{quality_md}"))?;
    println!("\n{table}\n{quality_md}");
    println!(
        "wrote {} ({:.0} s total)",
        Path::new(&args.out).display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Markdown table of sample quality and KL per (strategy, seed).
fn quality_table(rows: &[serde_json::Value]) -> String {
    let mut md = String::from(
        "| Policy | Seed | Validity | Uniqueness | Novelty | Int. diversity | KL to pretrained |\n|---|---|---|---|---|---|---|\n",
    );
    let pct = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("n/a".into(), |x| format!("{:.1} %", 100.0 * x))
    };
    for r in rows {
        let q = &r["quality"];
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} |\n",
            r["strategy"].as_str().unwrap_or_default(),
            r["seed"].as_u64().map_or("–".into(), |s| s.to_string()),
            pct(&q["validity"]),
            pct(&q["uniqueness"]),
            pct(&q["novelty"]),
            q["internal_diversity"]
                .as_f64()
                .map_or("n/a".into(), |x| format!("{x:.3}")),
            r["kl"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    md
}
