//! Export any supported policy directory — ours or a Hugging Face one — as a Hugging Face
//! directory that `transformers.AutoModelForCausalLM.from_pretrained` loads: our GPT in GPT-2
//! layout (`activation_function` `gelu`, exact as ours), Llama and Qwen2 as they came; the
//! tokenizer as `tokenizer.json` with its `tokenizer_config.json`.
//!
//! With `--adapter DIR` a PEFT LoRA adapter is folded in first (`W + s·B·A`).
//!
//! ```text
//! cargo run --release --example export -- --policy assets/smiles-gpt --out smiles-gpt-hf
//! python3 -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('smiles-gpt-hf')"
//! ```

#[path = "support/start.rs"]
mod start;

use multireward::cli::{ExportArgs, export};
use std::process::ExitCode;

fn main() -> ExitCode {
    start::run_main::<ExportArgs>(export)
}
