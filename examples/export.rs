//! Export any supported policy directory — ours or a Hugging Face one — as a Hugging Face
//! directory that `transformers.AutoModelForCausalLM.from_pretrained` loads: our GPT in GPT-2
//! layout (`activation_function` `gelu`, exact as ours), Llama and Qwen2 as they came; the
//! tokenizer as `tokenizer.json` with its `tokenizer_config.json`.
//!
//! ```text
//! cargo run --release --example export -- --policy assets/smiles-gpt --out smiles-gpt-hf
//! python3 -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('smiles-gpt-hf')"
//! ```

#[path = "support/start.rs"]
mod start;

use clap::Parser;
use multireward::checkpoint::Format;
use multireward::policy::{AutoPolicy, Policy};
use multireward::tasks::load_tokenizer;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Export a policy directory as a Hugging Face directory")]
struct Args {
    /// The policy directory (ours or Hugging Face's).
    #[arg(long)]
    policy: PathBuf,
    /// Where to write the Hugging Face directory (replaced if it exists).
    #[arg(long)]
    out: PathBuf,
}

fn run(args: Args, device: burn::tensor::Device) -> Result<(), Box<dyn std::error::Error>> {
    let policy = match AutoPolicy::load(&args.policy, &device)? {
        AutoPolicy::Gpt(gpt) => AutoPolicy::Gpt(gpt.with_format(Format::HuggingFace)),
        other => other,
    };
    let tokenizer = load_tokenizer(&args.policy)?;
    if tokenizer.to_hf().is_none() {
        eprintln!("note: this tokenizer has no Hugging Face form; the export carries none");
    }
    policy.save(&args.out, tokenizer.as_ref())?;
    println!(
        "exported a {} policy ({} parameters) to {}",
        policy.family(),
        burn::module::Module::num_params(&policy),
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let result = start::start::<Args>()
        .map_err(Box::<dyn std::error::Error>::from)
        .and_then(|(args, device)| run(args, device));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
