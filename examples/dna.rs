//! Cell-type-specific enhancer design: fine-tune the shipped DNA policy on three objectives —
//! K562, HepG2 and SK-N-SH — with IterativeRS, MORLHF, Rewarded Soups and RiC under equal
//! budgets, evaluate each final policy with independent oracles, and write the paper-style
//! table, scatter plots and realism metrics.
//!
//! ```text
//! cargo run --release --example dna                # ≈ 3.3 min on 2 cores
//! cargo run --release --example dna -- --quick     # smoke run, ≈ 30 s
//! cargo run --release --example dna -- --seeds 3   # mean ± std over seeds
//! ```
//!
//! Stand-in data (no MPRA data is obtainable offline; `data/README.md`): the objectives are
//! **not** measured enhancer activity.
//! - K562, HepG2: training reward = log-odds of the cell type under a one-hot CNN trained on
//!   the ENCODE DHS training split (`assets/dna-rewards/classifier-reward`); evaluation oracle
//!   = the same log-odds under an independent 5-mer-spectrum MLP (other architecture and seed,
//!   `classifier-oracle`).
//! - SK-N-SH (no DHS data): training reward = log-sum-exp occupancy of the JASPAR 2024
//!   neuroblastoma core-circuit matrices (PHOX2B, HAND2, ASCL1, ISL1, GATA2) on both strands;
//!   evaluation oracle = the occupancy of independent JASPAR profiles of the same specificities
//!   (PHOX2A, Hand1::Tcf3, ASCL1 MA1631.2, ISL2, Gata3). Both are z-scores against the real
//!   DHS validation sequences.
//!
//! Every response is exactly 200 bp: 50 non-overlapping 4-mer tokens, with the tokenizer's
//! specials (EOS included) masked out of sampling.
//!
//! The task itself is built by the library (`multireward::tasks::dna::Dna`), as any other
//! program builds it: this file maps flags onto its options.

use burn::tensor::Device;
use clap::Parser;
use multireward::tasks::dna::{Dna, DnaOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/alloc.rs"]
mod alloc;

use multireward::cli::RunArgs;

#[derive(Parser, Debug)]
#[command(about = "Multi-objective fine-tuning of the shipped DNA policy (cell-type enhancers)")]
struct Args {
    /// Budget, optimiser and strategies.
    #[command(flatten)]
    run: RunArgs,
    /// Sampling temperature (training and evaluation).
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// The pretrained policy.
    #[arg(long, default_value = "assets/dna-gpt")]
    policy: PathBuf,
    /// The trained cell-type classifiers (`classifier-reward/`, `classifier-oracle/`).
    #[arg(long, default_value = "assets/dna-rewards")]
    rewards: PathBuf,
    /// Results directory.
    #[arg(long, default_value = "results/dna")]
    out: PathBuf,
}

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    multireward::cli::main_with(run)
}

fn run(args: Args, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let options = DnaOptions {
        policy: args.policy.clone(),
        rewards: args.rewards.clone(),
        temperature: args.temperature,
    };
    let domain = Dna::load(&options, args.run.quick, &device)?;
    let n = Dna::DEFAULT.len();
    let config = args.run.config(domain.presets(n), domain.ric())?;
    let config = domain.configure(config);
    let reference = args.run.reference(domain.reference(&device)?);
    let objectives = Dna::DEFAULT
        .iter()
        .map(|name| domain.objective(name, 1.0 / n as f64))
        .collect::<Result<Vec<_>, _>>()?;
    let (train, eval, info) = domain.reward_sets(objectives)?;
    println!(
        "real DHS test sequences: {}",
        json!(domain.real_test_realism())
    );
    println!("{}", domain.real_oracle_table(&eval)?);
    let task = domain.task(reference, train, eval, info);
    args.run
        .compare_with(task, config, &args.out, |s| domain.edit(s))?;
    Ok(())
}
