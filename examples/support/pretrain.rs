//! The supervised pretraining loop shared by the policy-pretraining examples: train a fresh GPT
//! on token rows, report, and save it (with its tokenizer and training report) atomically.

use burn::module::Module;
use burn::tensor::Device;
use multireward::checkpoint::{Precision, save_module_with};
use multireward::policy::GptConfig;
use multireward::tokenizer::Tokenizer;
use multireward::train::{LmTrainer, LmTrainingConfig};
use std::path::Path;

/// Train a model of `config` (initialised with `training.seed`) on `train` rows, evaluating
/// on `valid`, and save it to `out` with `tokenizer` and `train_report.json` (weights as f16
/// when `f16`).
pub fn train_and_save(
    config: &GptConfig,
    training: LmTrainingConfig,
    (train, valid): (&[Vec<u32>], &[Vec<u32>]),
    tokenizer: &dyn Tokenizer,
    out: &Path,
    f16: bool,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("model: {config:?} ({} parameters)", config.num_params());
    device.seed(training.seed);
    let model = config.init(&device.clone().autodiff());
    let steps = training.steps;
    let (model, report) =
        LmTrainer::new(training).fit(model, train, valid, tokenizer.vocab_size())?;
    let (first, last) = (report.train_loss.first(), report.train_loss.last());
    println!(
        "trained {steps} steps in {:.0} s ({:.0} s training, {:.0} tokens/s); train loss {:.4} → {:.4}",
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
    let model = model.valid();
    save_module_with(
        out,
        model.clone(),
        model.config(),
        Some(tokenizer),
        precision,
    )?;
    std::fs::write(
        out.join("train_report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("saved {}", out.display());
    Ok(())
}
