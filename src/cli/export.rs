//! `export`: any supported policy directory (ours, or Hugging Face's with a PEFT adapter folded
//! in) written as a Hugging Face directory that `transformers` loads.

use crate::checkpoint::Format;
use crate::policy::hf::peft::load_adapter;
use crate::policy::{AutoPolicy, CausalLm, Policy, lora};
use crate::tasks::load_tokenizer;
use clap::Parser;
use std::path::PathBuf;

/// The flags of `export`.
#[derive(Parser, Debug, Clone)]
#[command(about = "Export a policy directory as a Hugging Face directory")]
pub struct ExportArgs {
    /// The policy directory (ours or Hugging Face's).
    #[arg(long)]
    pub policy: PathBuf,
    /// Where to write the Hugging Face directory (replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// A PEFT LoRA adapter directory to fold into `--policy` before exporting.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// Also write our logits of the export for two prompts to this JSON file (`prompts`,
    /// `logits`, `[T][V]`), for `scripts/make-hf-fixtures.py --check-export OUT FILE`, which
    /// loads the export in transformers and compares.
    #[arg(long)]
    pub reference: Option<PathBuf>,
}

/// `{"prompts", "logits"}` of `policy` (as loaded back from the export) for two prompts: the
/// start token alone, and it followed by the first non-special ids.
fn reference_json(policy: &AutoPolicy) -> serde_json::Value {
    use burn::tensor::{Int, Tensor, TensorData};
    let specials = policy.specials();
    let content: Vec<u32> = (0..policy.vocab_size() as u32)
        .filter(|id| !specials.all.contains(id))
        .take(7)
        .collect();
    let prompts = [
        vec![specials.start()],
        [vec![specials.start()], content].concat(),
    ];
    let device = policy.device();
    let logits: Vec<Vec<Vec<f32>>> = prompts
        .iter()
        .map(|p| {
            let t = p.len();
            let ids = TensorData::new(p.iter().map(|&i| i as i64).collect(), [1, t]);
            let pos = TensorData::new((0..t as i64).collect(), [1, t]);
            let h = policy.hidden(
                Tensor::<2, Int>::from_data(ids, &device),
                Tensor::<2, Int>::from_data(pos, &device),
                &None,
                None,
            );
            let flat: Vec<f32> = policy.logits(h).into_data().iter::<f32>().collect();
            flat.chunks(policy.vocab_size())
                .map(<[f32]>::to_vec)
                .collect()
        })
        .collect();
    serde_json::json!({"prompts": prompts, "logits": logits})
}

/// Export `args.policy` (with `args.adapter` folded in) as a Hugging Face directory.
pub fn export(
    args: ExportArgs,
    device: burn::tensor::Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let policy = AutoPolicy::load(&args.policy, &device)?;
    let policy = match &args.adapter {
        Some(dir) => lora::fold(load_adapter(policy, dir, Some(&args.policy))?.0),
        None => policy,
    };
    let policy = match policy {
        AutoPolicy::Gpt(gpt) => AutoPolicy::Gpt(gpt.with_format(Format::HuggingFace)),
        other => other,
    };
    let tokenizer = load_tokenizer(&args.policy)?;
    if tokenizer.to_hf().is_none() {
        eprintln!("note: this tokenizer has no Hugging Face form; the export carries none");
    }
    policy.save(&args.out, tokenizer.as_ref())?;
    if let Some(path) = &args.reference {
        let back = AutoPolicy::load(&args.out, &device)?;
        std::fs::write(path, reference_json(&back).to_string())?;
    }
    println!(
        "exported a {} policy ({} parameters) to {}",
        policy.family(),
        burn::module::Module::num_params(&policy),
        args.out.display()
    );
    Ok(())
}
