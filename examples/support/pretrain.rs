//! The supervised pretraining loop shared by the policy-pretraining examples: train a fresh
//! policy — our GPT, or a Llama-architecture model (`--arch llama`) — on token rows, report, and
//! save it (with its tokenizer and training report) atomically: the GPT in our format, the
//! Llama as a Hugging Face directory.

use burn::module::Module;
use burn::tensor::Device;
use multireward::checkpoint::{Precision, save_module_with};
use multireward::policy::{AutoPolicy, GptConfig, LlamaConfig, Policy};
use multireward::tokenizer::Tokenizer;
use multireward::train::{LmTrainer, LmTrainingConfig};
use std::path::Path;

/// The architecture of a pretrained policy (`--arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// Our GPT (GPT-2 layout: LayerNorm, learned positions, GELU), saved in our format.
    Gpt,
    /// Llama (RMSNorm, rotary positions, SwiGLU, grouped-query attention), saved as a Hugging
    /// Face directory.
    Llama,
}

/// Model shape and optimiser flags shared by the pretraining examples (flattened into each
/// example's arguments).
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// Architecture.
    #[arg(long, value_enum, default_value_t = Arch::Gpt)]
    pub arch: Arch,
    /// Key/value heads of a Llama (grouped-query attention; default: `--heads`).
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// Sequences per step.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Transformer blocks.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Model width.
    #[arg(long, default_value_t = 256)]
    pub d_model: usize,
    /// Attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// MLP width.
    #[arg(long, default_value_t = 1024)]
    pub d_ff: usize,
    /// Store weights as f16 (half the size; loading casts back to f32).
    #[arg(long)]
    pub f16: bool,
    /// Context length in tokens (default: the example's; SMILES 128, DNA 64, at least the longest
    /// row). Leave room for RiC's conditioning tokens (one per objective).
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Wall-clock budget for training, minutes: warmup and cosine decay are fitted to it and
    /// the run stops when it is spent (or after `--steps`, whichever comes first).
    #[arg(long)]
    pub max_minutes: Option<f64>,
}

impl ModelArgs {
    /// The GPT shape for a vocabulary, with the context length of `--max-len` or else
    /// `default_len`.
    pub fn gpt(&self, vocab: usize, default_len: usize) -> GptConfig {
        GptConfig::new(
            self.layers,
            self.heads,
            self.d_model,
            self.d_ff,
            vocab,
            self.max_len.unwrap_or(default_len),
        )
    }

    /// A fresh policy of `--arch` with the sizes of `gpt` (a Llama's SwiGLU width is ⅔ of
    /// `d_ff`, rounded to a multiple of 8, for about the GPT's parameter count), on the autodiff
    /// `device`, seeded with `--seed`.
    pub fn init(&self, gpt: &GptConfig, device: &Device) -> AutoPolicy {
        device.seed(self.seed);
        let device = device.clone().autodiff();
        match self.arch {
            Arch::Gpt => AutoPolicy::Gpt(gpt.init(&device)),
            Arch::Llama => AutoPolicy::Llama(self.llama(gpt).init(&device)),
        }
    }

    /// The Llama shape with `gpt`'s sizes.
    pub fn llama(&self, gpt: &GptConfig) -> LlamaConfig {
        let ff = (gpt.d_ff * 2 / 3).div_ceil(8) * 8;
        let kv = self.kv_heads.unwrap_or(gpt.n_head);
        LlamaConfig::small(
            gpt.vocab_size,
            gpt.max_len,
            (gpt.n_layer, gpt.d_model, gpt.n_head, kv, ff),
        )
        .with_tie_word_embeddings(gpt.tie_weights)
        .with_rms_norm_eps(1e-5)
    }

    /// Training settings: `steps` steps with 5 % warmup and `evals` validation passes.
    pub fn training(&self, steps: usize, evals: usize) -> LmTrainingConfig {
        LmTrainingConfig {
            steps,
            batch_size: self.batch,
            lr: self.lr,
            warmup: (steps / 20).max(1),
            eval_every: (steps / evals.max(1)).max(1),
            seed: self.seed,
            max_seconds: self.max_minutes.map(|m| m * 60.0),
            ..Default::default()
        }
    }
}

/// Train `model` (on an autodiff device) on `train` rows, evaluating on `valid`, and save it to
/// `out` with `tokenizer` and `train_report.json`: our GPT in our format (weights as f16 when
/// `f16`), a Llama as a Hugging Face directory (f32).
pub fn train_and_save(
    model: AutoPolicy,
    training: LmTrainingConfig,
    (train, valid): (&[Vec<u32>], &[Vec<u32>]),
    tokenizer: &dyn Tokenizer,
    out: &Path,
    f16: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "model: a {} policy of {} parameters: {}",
        model.family(),
        model.num_params(),
        model.architecture()
    );
    let model = model.train();
    let (model, report) =
        LmTrainer::new(training).fit(model, train, valid, tokenizer.vocab_size())?;
    let (first, last) = (report.train_loss.first(), report.train_loss.last());
    println!(
        "trained {} steps in {:.0} s ({:.0} s training, {:.0} tokens/s); train loss {:.4} → {:.4}",
        report.steps,
        report.seconds,
        report.train_seconds,
        report.tokens_per_s,
        first.map_or(f64::NAN, |x| x.1),
        last.map_or(f64::NAN, |x| x.1)
    );
    if let Some((_, v, ppl)) = report.valid.last() {
        println!("validation loss {v:.4} nats/token, perplexity {ppl:.3}");
    }
    let precision = if f16 { Precision::F16 } else { Precision::F32 };
    match model.valid() {
        AutoPolicy::Gpt(gpt) => {
            save_module_with(out, gpt.clone(), gpt.config(), Some(tokenizer), precision)?
        }
        llama => llama.save(out, tokenizer)?,
    }
    std::fs::write(
        out.join("train_report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("saved {}", out.display());
    Ok(())
}
