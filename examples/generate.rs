//! Sample from any supported policy directory — ours or a Hugging Face one (GPT-2, Llama,
//! Qwen2) — and print the text, or with `--json` one object per sample with the generated ids
//! and their log-probabilities.
//!
//! ```text
//! cargo run --release --example generate -- --policy assets/smiles-gpt --samples 4
//! cargo run --release --example generate -- --policy my-smollm2 --prompt "Hello" --greedy
//! cargo run --release --example generate -- --policy DIR --prompt-ids 1,5,9 --json
//! ```

#[path = "support/start.rs"]
mod start;

use multireward::cli::{GenerateArgs, generate};
use std::process::ExitCode;

fn main() -> ExitCode {
    start::run_main::<GenerateArgs>(generate)
}
