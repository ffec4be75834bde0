//! The main job: fine-tune the shipped SMILES policy on three molecular objectives with
//! IterativeRS, MORLHF, Rewarded Soups and RiC under equal budgets, evaluate each final policy
//! with independent oracles, and write the paper-style table and scatter plots.
//!
//! ```text
//! cargo run --release --example molecules                # ≈ 2.5 min on 2 cores
//! cargo run --release --example molecules -- --quick     # smoke run, ≈ 30 s
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

use burn::tensor::Device;
use clap::Parser;
use multireward::checkpoint::tokenizer_path;
use multireward::data::data_path;
use multireward::eval::report::PaperRow;
use multireward::eval::table::Format;
use multireward::experiment::{Budget, RicSettings, Task, decimals, metrics_table, percent};
use multireward::policy::{AutoPolicy, Gpt, Policy, SamplingConfig};
use multireward::reward::{RewardSet, Transform};
use multireward::tasks::load_tokenizer;
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::analytic::{Descriptor, DescriptorReward};
use multireward::tasks::molecules::load_qm9;
use multireward::tasks::molecules::qm9::{
    BackboneFeatures, MorganFeatures, Property, PropertyReward,
};
use multireward::tasks::molecules::regressor::Regressor;
use multireward::tasks::molecules::{canonical_smiles, sample_quality};
use serde_json::json;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/alloc.rs"]
mod alloc;

use multireward::cli::{Preset, RunArgs};

#[derive(Parser, Debug)]
#[command(about = "Multi-objective fine-tuning of the shipped SMILES policy")]
struct Args {
    /// Objectives: `alpha,gap,u0` (QM9 properties) or any of `qed,logp,sa`.
    #[arg(long, default_value = "alpha,gap,u0")]
    objectives: String,
    /// Budget, optimiser, strategies, checkpoints.
    #[command(flatten)]
    run: RunArgs,
    /// The pretrained policy: ours or a Hugging Face directory (GPT-2, Llama, Qwen2) whose
    /// tokenizer writes SMILES.
    #[arg(long, default_value = "assets/smiles-gpt")]
    policy: PathBuf,
    /// The frozen SMILES GPT whose features the QM9 training rewards read (the regressors were
    /// trained on it, whatever the policy).
    #[arg(long, default_value = "assets/smiles-gpt")]
    backbone: PathBuf,
    /// Trained QM9 reward and oracle regressors.
    #[arg(long, default_value = "assets/qm9-rewards")]
    rewards: PathBuf,
    /// Results directory.
    #[arg(long, default_value = "results/molecules")]
    out: PathBuf,
}

/// The presets for `n` objectives: default, `--quick`, `--full` (25 rounds × m = 4 steps × N
/// experts, 128 samples of 100 tokens).
fn presets(n: usize) -> [Preset; 3] {
    let default = Budget::new(10 * n, 64)
        .with_merge_every(2)
        .with_max_new_tokens(32)
        .with_updates(2, 2);
    let quick = Budget {
        iterations: 2 * n,
        samples: 32,
        merge_every: 1,
        ..default
    };
    let full = Budget::new(100 * n, 128);
    [
        Preset::new(default, 512),
        Preset::new(quick, 128),
        Preset::new(full, 1024),
    ]
}

/// The paper's QM9 table (docs/algorithms.md, "Metrics of the paper"; PAMNet-evaluated α,
/// gap, U0).
fn paper_rows() -> Vec<PaperRow> {
    let row = |m: &str, o: [f64; 3], avg, icv| PaperRow::new(m, &o, avg, icv);
    vec![
        row("MORLHF", [1.4229, 0.9355, 1.5146], 1.2910, 4.19),
        row("Rewarded Soups", [1.4134, 0.9589, 1.5464], 1.3062, 4.27),
        row("RiC", [0.5955, 0.6795, 0.7544], 0.6765, 3.75),
        row("IterativeRS", [1.5893, 0.9508, 1.6649], 1.4017, 3.59),
    ]
}

/// Training rewards, evaluation oracles and their description.
type RewardSets = (RewardSet, RewardSet, serde_json::Value);

/// Training rewards and evaluation oracles for the chosen objectives.
fn reward_sets(
    names: &[String],
    args: &Args,
    device: &Device,
) -> Result<RewardSets, Box<dyn std::error::Error>> {
    let device = device.clone();
    let backbone = Gpt::load(&args.backbone, &device)?;
    let tokenizer = SmilesTokenizer::load(&tokenizer_path(&args.backbone))?;
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
                    Box::new(BackboneFeatures::new(&backbone, tokenizer.clone())),
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

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    multireward::cli::main_with(run)
}

fn run(args: Args, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<String> = args
        .objectives
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect();
    let config = args
        .run
        .config(presets(names.len()), RicSettings::default())?;
    let reference = args.run.reference(AutoPolicy::load(&args.policy, &device)?);
    let tokenizer = load_tokenizer(&args.policy)?;
    let (train_rewards, eval_rewards, reward_meta) = reward_sets(&names, &args, &device)?;
    let corpus: HashSet<String> = load_qm9(&data_path("qm9_slim.csv.gz"))?
        .iter()
        .filter_map(|r| canonical_smiles(&r.smiles))
        .collect();
    let qm9 = names.iter().map(String::as_str).eq(["alpha", "gap", "u0"]);
    let task = Task::new(reference, tokenizer.as_ref(), train_rewards, eval_rewards)
        .with_sampling(SamplingConfig {
            stop_at_eos: true,
            ..Default::default()
        })
        .with_describe(|scored| {
            let quality = sample_quality(&scored.texts, Some(&corpus));
            let summary = format!("validity {:.1} %", 100.0 * quality.validity);
            (json!({ "quality": quality }), summary)
        })
        .with_markdown(quality_table)
        .with_headline_metric("Validity", "/quality/validity", Format::Percent(1))
        .with_paper(if qm9 { paper_rows() } else { Vec::new() })
        .with_info(match args.backbone == args.policy {
            true => json!({"objectives": names, "policy": args.policy, "rewards": reward_meta}),
            false => json!({"objectives": names, "policy": args.policy, "backbone": args.backbone,
                            "rewards": reward_meta}),
        });
    args.run.compare(task, config, &args.out)?;
    Ok(())
}

/// Markdown table of sample quality and KL per (strategy, seed).
fn quality_table(rows: &[serde_json::Value]) -> String {
    metrics_table(
        rows,
        &[
            ("Validity", |m| percent(&m["quality"]["validity"])),
            ("Uniqueness", |m| percent(&m["quality"]["uniqueness"])),
            ("Novelty", |m| percent(&m["quality"]["novelty"])),
            ("Int. diversity", |m| {
                decimals(&m["quality"]["internal_diversity"], 3)
            }),
        ],
        "KL to pretrained",
    )
}
