//! Pretrain the shipped SMILES policy on real molecules (QM9 and/or a MOSES sample), save it,
//! then sample it and report validity / uniqueness / novelty checked with `chematic`.
//!
//! ```text
//! cargo run --release --example pretrain_smiles -- --out assets/smiles-gpt
//! ```

use clap::{Parser, ValueEnum};
use multireward::data::{data_path, split};
use multireward::policy::{AutoPolicy, Policy, SamplingConfig};
use multireward::tasks::load_tokenizer;
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::{canonical_smiles, sample_quality};
use multireward::tasks::molecules::{load_qm9, load_smiles};
use multireward::tokenizer::Tokenizer;
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Corpus {
    Qm9,
    Moses,
    Both,
}

#[derive(Parser, Debug)]
#[command(about = "Pretrain the SMILES GPT policy on real SMILES and check its samples")]
struct Args {
    /// Model shape, optimiser, precision and seed.
    #[command(flatten)]
    model: pretrain::ModelArgs,
    /// Which corpus to train on.
    #[arg(long, value_enum, default_value = "qm9")]
    corpus: Corpus,
    /// Output checkpoint directory.
    #[arg(long, default_value = "assets/smiles-gpt")]
    out: PathBuf,
    /// Optimiser steps.
    #[arg(long, default_value_t = 3000)]
    steps: usize,
    /// Validation rows evaluated (a seeded 5 % split, capped at this many).
    #[arg(long, default_value_t = 2000)]
    valid_rows: usize,
    /// Samples drawn for the quality check.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Sampling temperature for the quality check.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// Only evaluate an existing checkpoint at --out.
    #[arg(long)]
    eval_only: bool,
}

#[path = "support/pretrain.rs"]
mod pretrain;
#[path = "support/start.rs"]
mod start;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device) = start::start::<Args>()?;
    let mut corpus: Vec<String> = Vec::new();
    if matches!(args.corpus, Corpus::Qm9 | Corpus::Both) {
        corpus.extend(
            load_qm9(&data_path("qm9_slim.csv.gz"))?
                .into_iter()
                .map(|r| r.smiles),
        );
    }
    if matches!(args.corpus, Corpus::Moses | Corpus::Both) {
        corpus.extend(load_smiles(&data_path("moses_sample.smi.gz"))?);
    }
    println!("corpus: {} SMILES ({:?})", corpus.len(), args.corpus);
    let parts = split(&corpus, &[0.95, 0.05], args.model.seed);
    let (train, valid) = (&parts[0], &parts[1][..parts[1].len().min(args.valid_rows)]);

    let (model, tokenizer): (AutoPolicy, Box<dyn Tokenizer>) = if args.eval_only {
        (
            AutoPolicy::load(&args.out, &device)?,
            load_tokenizer(&args.out)?,
        )
    } else {
        let tok = SmilesTokenizer::from_corpus(corpus.iter().map(String::as_str))?;
        let encode = |rows: &[String]| -> Result<Vec<Vec<u32>>, _> {
            rows.iter().map(|s| tok.encode_with_specials(s)).collect()
        };
        let (train_ids, valid_ids) = (encode(train)?, encode(valid)?);
        let longest = train_ids.iter().map(Vec::len).max().unwrap_or(0);
        println!(
            "vocab {} tokens, longest sequence {longest}, train {} / valid {}",
            tok.vocab_size(),
            train_ids.len(),
            valid_ids.len()
        );
        let config = args.model.gpt(tok.vocab_size(), 128);
        let training = args.model.training(args.steps, 5);
        let rows = (train_ids.as_slice(), valid_ids.as_slice());
        let model = args.model.init(&config, &device);
        pretrain::train_and_save(model, training, rows, &tok, &args.out, args.model.f16)?;
        // Evaluate what was written, exactly as users will load it.
        (
            AutoPolicy::load(&args.out, &device)?,
            load_tokenizer(&args.out)?,
        )
    };

    let cfg = SamplingConfig {
        max_new_tokens: 100,
        temperature: args.temperature,
        seed: Some(args.model.seed),
        stop_at_eos: true,
        ..Default::default()
    };
    let mut samples = Vec::with_capacity(args.samples);
    let t0 = std::time::Instant::now();
    while samples.len() < args.samples {
        let n = (args.samples - samples.len()).min(250);
        let rollout = model.sample(
            &vec![vec![model.specials().start()]; n],
            &SamplingConfig {
                seed: cfg.seed.map(|s| s + samples.len() as u64),
                ..cfg.clone()
            },
        )?;
        for ids in rollout.response_ids() {
            samples.push(tokenizer.decode(&ids)?);
        }
    }
    let train_set: HashSet<String> = train.iter().filter_map(|s| canonical_smiles(s)).collect();
    let q = sample_quality(&samples, Some(&train_set));
    println!(
        "{} samples at temperature {} in {:.1} s: validity {:.1} %, uniqueness {:.1} %, novelty {:.1} %",
        q.n,
        args.temperature,
        t0.elapsed().as_secs_f64(),
        100.0 * q.validity,
        100.0 * q.uniqueness,
        100.0 * q.novelty.unwrap_or(0.0)
    );
    println!("examples: {}", samples[..8.min(samples.len())].join("  "));
    std::fs::write(
        args.out.join("sample_quality.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "samples": q.n, "temperature": args.temperature, "seed": args.model.seed,
            "validity": q.validity, "uniqueness": q.uniqueness, "novelty": q.novelty,
        }))?,
    )?;
    Ok(())
}
