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
//!
//! The task itself is built by the library (`multireward::tasks::molecules::Molecules`), as
//! any other program builds it: this file maps flags onto its options.

use burn::tensor::Device;
use clap::Parser;
use multireward::tasks::molecules::{Molecules, MoleculesOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/alloc.rs"]
mod alloc;

use multireward::cli::RunArgs;

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

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    multireward::cli::main_with(run)
}

fn run(args: Args, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<&str> = args.objectives.split(',').collect();
    let options = MoleculesOptions {
        policy: args.policy.clone(),
        backbone: args.backbone.clone(),
        rewards: args.rewards.clone(),
    };
    let domain = Molecules::load(&options, args.run.quick, &device)?;
    let n = names.len();
    let config = args.run.config(domain.presets(n), domain.ric())?;
    let config = domain.configure(config);
    let reference = args.run.reference(domain.reference(&device)?);
    let objectives = names
        .iter()
        .map(|name| domain.objective(name, 1.0 / n as f64))
        .collect::<Result<Vec<_>, _>>()?;
    let (train, eval, info) = domain.reward_sets(objectives)?;
    let task = domain.task(reference, train, eval, info);
    args.run
        .compare_with(task, config, &args.out, |s| domain.edit(s))?;
    Ok(())
}
