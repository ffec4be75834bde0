//! `generate`: sample from any supported policy directory — ours or a Hugging Face one
//! (GPT-2, Llama, Qwen2) — and print the text, or with `--json` one object per sample with the
//! generated ids and their log-probabilities.

use crate::policy::hf::peft::load_adapter;
use crate::policy::{AutoPolicy, Policy, Prompts, SamplingConfig};
use crate::tasks::load_tokenizer;
use clap::Parser;
use serde_json::json;
use std::path::PathBuf;

/// The flags of `generate`.
#[derive(Parser, Debug, Clone)]
#[command(about = "Sample from a policy directory (ours or Hugging Face's)")]
pub struct GenerateArgs {
    /// The policy directory.
    #[arg(long)]
    pub policy: PathBuf,
    /// Prompt text (encoded with the directory's tokenizer; BOS first where it has one).
    #[arg(long, conflicts_with = "prompt_ids")]
    pub prompt: Option<String>,
    /// Prompt token ids, comma-separated (default: the unconditional start token).
    #[arg(long, value_delimiter = ',')]
    pub prompt_ids: Vec<u32>,
    /// Tokens to generate (generation stops earlier at EOS).
    #[arg(long, default_value_t = 32)]
    pub max_new_tokens: usize,
    /// Take the most likely token at every step.
    #[arg(long, conflicts_with = "temperature")]
    pub greedy: bool,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Keep only the k most likely tokens.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Nucleus sampling: keep the most likely tokens up to this probability mass.
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Samples to draw.
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object per sample: {"ids", "logprobs", "text"}.
    #[arg(long)]
    pub json: bool,
    /// A PEFT LoRA adapter directory (`adapter_config.json`, `adapter_model.safetensors`) to
    /// apply on top of `--policy`.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
}

/// Sample from `args.policy` and print the text, or one JSON object per sample.
pub fn generate(
    args: GenerateArgs,
    device: burn::tensor::Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let policy = AutoPolicy::load(&args.policy, &device)?;
    let policy = match &args.adapter {
        Some(dir) => load_adapter(policy, dir, Some(&args.policy))?.0,
        None => policy,
    };
    let tokenizer = load_tokenizer(&args.policy)?;
    let specials = policy.specials();
    let prompt = match (&args.prompt, args.prompt_ids.is_empty()) {
        (Some(text), _) => {
            Prompts::encode(vec![text.clone()], tokenizer.as_ref())?.ids()[0].clone()
        }
        (None, false) => args.prompt_ids.clone(),
        (None, true) => vec![specials.start()],
    };
    let cfg = SamplingConfig {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        greedy: args.greedy,
        top_k: args.top_k,
        top_p: args.top_p,
        seed: Some(args.seed),
        stop_at_eos: true,
        ..Default::default()
    };
    let rollout = policy.sample(&vec![prompt.clone(); args.samples.max(1)], &cfg)?;
    let [b, r] = rollout.log_probs.dims();
    let tokens: Vec<i64> = rollout
        .sequences
        .response()
        .into_data()
        .iter::<i64>()
        .collect();
    let log_probs: Vec<f32> = rollout.log_probs.into_data().iter::<f32>().collect();
    if !args.json {
        eprintln!("a {} policy; prompt {prompt:?}", policy.family());
    }
    for row in 0..b {
        // The generated tokens up to and including the first EOS.
        let ids: Vec<u32> = tokens[row * r..(row + 1) * r]
            .iter()
            .map(|&t| t as u32)
            .collect();
        let len = ids
            .iter()
            .position(|&t| specials.is_eos(t))
            .map_or(ids.len(), |i| i + 1);
        let text = tokenizer.decode(&ids[..len])?;
        if args.json {
            let lp = &log_probs[row * r..row * r + len];
            println!(
                "{}",
                json!({"family": policy.family(), "prompt_ids": prompt, "ids": &ids[..len], "logprobs": lp, "text": text})
            );
        } else {
            println!("{text}");
        }
    }
    Ok(())
}
