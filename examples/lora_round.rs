//! One IterativeRS round (N = 3 experts, one PPO iteration each, then the merge) with full
//! fine-tuning or LoRA experts, measured: peak resident memory (the process's `VmHWM`), time
//! per PPO iteration, merge time and checkpoint size. Run one configuration per process (the
//! peak is the process's):
//!
//! ```text
//! cargo run --release --example lora_round -- --shape smollm2-135m
//! cargo run --release --example lora_round -- --shape smollm2-135m --lora-rank 8
//! cargo run --release --example lora_round -- --shape smiles --lora-rank 8
//! ```
//!
//! The policy is random-initialised at the shape; the rewards count token ids (their values do
//! not matter to what is measured).

#[path = "support/start.rs"]
mod start;

use multireward::policy::lora::{self, LoraConfig};
use multireward::policy::{AutoPolicy, GptConfig, LlamaConfig, Policy, Prompts, SamplingConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig};
use multireward::strategy::{OptimizerConfig, PpoLearner, RunOptions, StepRecord, Strategy};
use multireward::tokenizer::{Tokenizer, TokenizerError};
use serde_json::json;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

#[derive(clap::Parser, Debug)]
struct Args {
    /// `smollm2-135m` (Llama, 30 layers, d 576, 9/3 heads, vocab 49,152) or `smiles` (the
    /// shipped SMILES GPT's shape).
    #[arg(long, default_value = "smiles")]
    shape: String,
    /// LoRA rank (absent: full fine-tuning).
    #[arg(long)]
    lora_rank: Option<usize>,
    /// Samples per PPO iteration.
    #[arg(long, default_value_t = 8)]
    samples: usize,
    /// Tokens per sample.
    #[arg(long, default_value_t = 16)]
    tokens: usize,
}

/// Ids written as numbers: any id decodes (the rewards read digits).
struct Numbers(usize);

impl Tokenizer for Numbers {
    fn encode(&self, _: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(Vec::new())
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        Ok(ids.iter().map(|i| format!("{i} ")).collect())
    }
    fn vocab_size(&self) -> usize {
        self.0
    }
    fn save(&self, _: &Path) -> Result<(), TokenizerError> {
        Ok(())
    }
}

/// The process's peak resident memory, MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device): (Args, _) = start::start()?;
    let device = device.autodiff();
    device.seed(0);
    let reference = match args.shape.as_str() {
        "smollm2-135m" => AutoPolicy::Llama(
            LlamaConfig::new(49152, 576, 1536, 30, 9, 3, 64, 2048)
                .with_rope_theta(100000.0)
                .with_rms_norm_eps(1e-5)
                .with_tie_word_embeddings(true)
                .init(&device),
        ),
        "smiles" => AutoPolicy::Gpt(GptConfig::small(24, 128).init(&device)),
        other => return Err(format!("unknown shape {other:?}").into()),
    };
    let vocab = reference.vocab_size();
    let tokenizer = Numbers(vocab);
    let digit = |d: char| move |s: &Sample| Some(s.completion.matches(d).count() as f64);
    let mut rewards = RewardSet::builder()
        .add(FnReward::new("ones", digit('1')), 1.0)
        .add(FnReward::new("twos", digit('2')), 1.0)
        .add(FnReward::new("threes", digit('3')), 1.0)
        .build()?;
    let ppo = PpoConfig {
        samples_per_step: args.samples,
        epochs: 1,
        minibatches: 1,
        estimator: Estimator::Group {
            size: args.samples.min(4),
            baseline: GroupBaseline::LeaveOneOut,
        },
        sampling: SamplingConfig {
            max_new_tokens: args.tokens,
            ..Default::default()
        },
        ..Default::default()
    };
    let adapters = args
        .lora_rank
        .map(|r| LoraConfig::new(r, 2.0 * r as f64, &[lora::ALL_LINEAR]));
    let trainable = match &adapters {
        Some(cfg) => lora::trainable_params(&reference.with_lora(cfg, 0)?),
        None => burn::module::Module::num_params(&reference),
    };
    let mut learner = PpoLearner {
        ppo: Ppo::new(ppo, &reference),
        rewards: &mut rewards,
        tokenizer: &tokenizer,
        prompts: Prompts::unconditional(reference.specials().start()),
        optimizer: OptimizerConfig {
            lr: 1e-4,
            weight_decay: 0.0,
        },
        adapters,
    };
    let steps: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    let last = Mutex::new(t0);
    let on_step = |_: &StepRecord| {
        let now = Instant::now();
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((now - *last).as_secs_f64());
        *last = now;
    };
    // One round: T = 1 step of the three experts, then the final merge of all three.
    let round = Strategy::iterative_rs(1, 1, 3);
    let options = RunOptions {
        on_step: Some(&on_step),
        ..Default::default()
    };
    round.run_with(&reference, &mut learner, 7, &options)?;
    let total = t0.elapsed().as_secs_f64();
    let merge = last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .elapsed()
        .as_secs_f64();
    let steps = steps.into_inner().unwrap_or_default();
    // The same round stopped at its checkpoint (the three experts, before the merge).
    let checkpoints = std::env::temp_dir().join(format!("mr-lora-round-{}", std::process::id()));
    let options = RunOptions {
        checkpoint_dir: Some(checkpoints.clone()),
        checkpoint_every: Some(3),
        stop_after_iterations: Some(3),
        ..Default::default()
    };
    round.run_with(&reference, &mut learner, 7, &options)?;
    let report = json!({
        "shape": args.shape,
        "mode": match args.lora_rank { Some(r) => format!("lora r{r}"), None => "full".into() },
        "params": burn::module::Module::num_params(&reference),
        "trainable_per_expert": trainable,
        "peak_rss_mib": peak_mib(),
        "ppo_iteration_s": steps,
        "merge_s": merge,
        "round_s": total,
        "checkpoint_bytes": dir_bytes(&checkpoints),
    });
    println!("{report}");
    let _ = std::fs::remove_dir_all(&checkpoints);
    Ok(())
}
