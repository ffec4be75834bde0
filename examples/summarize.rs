//! Summarisation with three rewards: fine-tune the shipped summariser on faithfulness,
//! relevance and agreement with the human synopsis with IterativeRS, MORLHF, Rewarded Soups
//! and RiC under equal budgets, and write the paper-style table, scatter plots and example
//! summaries before and after.
//!
//! ```text
//! cargo run --release --example summarize                # ≈ 3.5 min on 2 cores
//! cargo run --release --example summarize -- --quick     # smoke run, ≈ 40 s
//! cargo run --release --example summarize -- --seeds 3   # mean ± std over seeds
//! ```
//!
//! Needs the corpus and MiniLM (neither is committed; the error says which is missing):
//! `apt-get update -o Acquire::Languages=en && python3 scripts/make-text-data.py` and
//! `scripts/fetch-minilm.sh`.
//!
//! Stand-in data (the paper's Reddit TL;DR posts and reward models are not obtainable
//! offline; `data/README.md`): prompts are Debian package long descriptions, references their
//! human-written synopses. The objectives, in the paper's column order:
//! - `faithful`: probability, under a head on MiniLM embeddings trained to tell true synopses
//!   from corrupted ones (`assets/text-rewards`), that the summary is the description's own;
//! - `relevance`: cosine of the MiniLM embeddings of description and summary (the paper's
//!   "summary" reward model is a different, learned score);
//! - `rougeL`: ROUGE-L F1 against the human synopsis (the paper's third reward is a DeBERTa
//!   reward model).
//!
//! Training prompts are validation-split descriptions (source packages the summariser's SFT
//! never trained on, so RL must generalise rather than sharpen memorised synopses); evaluation
//! uses the held-out test split (yet other source packages), scored by the same three
//! functions.
//!
//! The task itself is built by the library (`multireward::tasks::text::Text`), as any other
//! program builds it: this file maps flags onto its options.

use burn::tensor::Device;
use clap::Parser;
use multireward::tasks::text::{Text, TextOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/alloc.rs"]
mod alloc;

use multireward::cli::RunArgs;

#[derive(Parser, Debug)]
#[command(about = "Multi-objective fine-tuning of the shipped summariser (Debian synopses)")]
struct Args {
    /// Budget, optimiser and strategies.
    #[command(flatten)]
    run: RunArgs,
    /// Sampling temperature (training and evaluation).
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    /// Validation-split descriptions used as training prompts (a seeded sample; `--quick`: 64).
    #[arg(long)]
    train_prompts: Option<usize>,
    /// Test-split descriptions used as evaluation prompts (a seeded sample; `--quick`: 32).
    #[arg(long)]
    eval_prompts: Option<usize>,
    /// Description tokens kept in a prompt (as the summariser was trained).
    #[arg(long, default_value_t = 48)]
    prompt_tokens: usize,
    /// The shipped summariser.
    #[arg(long, default_value = "assets/summarizer-gpt")]
    policy: PathBuf,
    /// The trained faithfulness head (`faithfulness/`).
    #[arg(long, default_value = "assets/text-rewards")]
    rewards: PathBuf,
    /// MiniLM directory (from scripts/fetch-minilm.sh).
    #[arg(long, default_value = "data/minilm")]
    minilm: PathBuf,
    /// Results directory.
    #[arg(long, default_value = "results/summarize")]
    out: PathBuf,
}

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    multireward::cli::main_with(run)
}

fn run(args: Args, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let options = TextOptions {
        policy: args.policy.clone(),
        rewards: args.rewards.clone(),
        minilm: args.minilm.clone(),
        temperature: args.temperature,
        train_prompts: args.train_prompts,
        eval_prompts: args.eval_prompts,
        prompt_tokens: args.prompt_tokens,
    };
    let domain = Text::load(&options, args.run.quick, &device)?;
    let (n_train, n_eval) = domain.prompt_counts();
    println!("{n_train} training / {n_eval} evaluation prompts");
    let n = Text::DEFAULT.len();
    let config = args.run.config(domain.presets(n), domain.ric())?;
    let config = domain.configure(config);
    let reference = args.run.reference(domain.reference(&device)?);
    let objectives = Text::DEFAULT
        .iter()
        .map(|name| domain.objective(name, 1.0 / n as f64))
        .collect::<Result<Vec<_>, _>>()?;
    let (train, eval, info) = domain.reward_sets(objectives)?;
    let task = domain.task(reference, train, eval, info);
    args.run
        .compare_with(task, config, &args.out, |s| domain.edit(s))?;
    Ok(())
}
