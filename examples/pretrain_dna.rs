//! Pretrain the DNA policy on the real ENCODE DHS sequences (training split, all four cell
//! types), save it, then sample it and compare with held-out sequences: length, GC content and
//! 4-mer spectrum. The shipped policy's context (64 tokens) leaves room for RiC's conditioning
//! tokens after BOS + 50 k-mers + EOS.
//!
//! ```text
//! cargo run --release --example pretrain_dna -- --steps 1500 --max-len 64 --f16 --out assets/dna-gpt
//! ```

use clap::Parser;
use multireward::checkpoint::tokenizer_path;
use multireward::policy::{AutoPolicy, Policy, SamplingConfig};
use multireward::tasks::dna::{
    DnaTokenizer, Split, dhs_path, gc_content, load_dhs, spectrum_correlation,
};
use multireward::tokenizer::Tokenizer;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Pretrain the DNA GPT policy on ENCODE DHS sequences and check its samples")]
struct Args {
    /// Model shape, optimiser, precision and seed.
    #[command(flatten)]
    model: pretrain::ModelArgs,
    /// Output checkpoint directory.
    #[arg(long, default_value = "assets/dna-gpt")]
    out: PathBuf,
    /// Optimiser steps.
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// Bases per token.
    #[arg(long, default_value_t = 4)]
    k: usize,
    /// Validation sequences evaluated.
    #[arg(long, default_value_t = 1000)]
    valid_rows: usize,
    /// Samples drawn for the check.
    #[arg(long, default_value_t = 500)]
    samples: usize,
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
    let records = load_dhs(&dhs_path())?;
    let of = |split: Split| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.split == split)
            .map(|r| r.sequence.clone())
            .collect()
    };
    let (train, valid) = (of(Split::Train), of(Split::Val));
    let valid = &valid[..valid.len().min(args.valid_rows)];
    println!(
        "DHS: {} train, {} validation sequences",
        train.len(),
        valid.len()
    );

    let (model, tokenizer) = if args.eval_only {
        let tok = DnaTokenizer::load(&tokenizer_path(&args.out))?;
        (AutoPolicy::load(&args.out, &device)?, tok)
    } else {
        let tok = DnaTokenizer::new(args.k)?;
        let encode = |rows: &[String]| -> Result<Vec<Vec<u32>>, _> {
            rows.iter().map(|s| tok.encode_with_specials(s)).collect()
        };
        let (train_ids, valid_ids) = (encode(&train)?, encode(valid)?);
        let max_len = train_ids.iter().map(Vec::len).max().unwrap_or(0);
        // Context: 64 tokens by default, room for RiC's conditioning tokens.
        let config = args.model.gpt(tok.vocab_size(), max_len.max(64));
        let training = args.model.training(args.steps, 4);
        let rows = (train_ids.as_slice(), valid_ids.as_slice());
        let model = args.model.init(&config, &device);
        pretrain::train_and_save(model, training, rows, &tok, &args.out, args.model.f16)?;
        (AutoPolicy::load(&args.out, &device)?, tok)
    };

    // Exactly 200 bp: 200 / k tokens, specials (EOS included) never sampled.
    let tokens = 200 / tokenizer.k();
    let mut samples = Vec::with_capacity(args.samples);
    while samples.len() < args.samples {
        let n = (args.samples - samples.len()).min(250);
        let rollout = model.sample(
            &vec![vec![tokenizer.specials().start()]; n],
            &SamplingConfig {
                max_new_tokens: tokens,
                temperature: 1.0,
                suppress: tokenizer.specials().all,
                seed: Some(args.model.seed + samples.len() as u64),
                ..Default::default()
            },
        )?;
        for ids in rollout.response_ids() {
            samples.push(tokenizer.decode(&ids)?);
        }
    }
    let full = samples.iter().filter(|s| s.len() == 200).count();
    println!(
        "{} samples at temperature 1.0: {:.1} % exactly 200 bp; GC {:.3} (validation {:.3}); \
         4-mer spectrum Pearson r vs validation {:.4}",
        samples.len(),
        100.0 * full as f64 / samples.len() as f64,
        gc_content(&samples),
        gc_content(valid),
        spectrum_correlation(&samples, valid, 4)
    );
    Ok(())
}
