//! Train the shipped summariser: a byte-level BPE on the corpus, then a small decoder-only GPT
//! fine-tuned (completion-only loss) on `[BOS] description [SEP] synopsis [EOS]` rows of the
//! Debian description → synopsis pairs' training split. Afterwards it summarises held-out test
//! descriptions (greedy), reports their ROUGE-L F1 against the human synopses and writes ten
//! of them to `<out>/samples.md`.
//!
//! ```text
//! cargo run --release --example pretrain_summarizer -- --steps 1200 --batch 32 --f16 --out assets/summarizer-gpt
//! ```

use clap::Parser;
use multireward::checkpoint::{load_config, load_weights, tokenizer_path};
use multireward::policy::{AutoPolicy, GptConfig, Policy, SamplingConfig};
use multireward::tasks::text::{
    BpeTokenizer, RougeL, SEP, Split, SummaryPair, load_summaries, summaries_path,
};
use multireward::tokenizer::{EOS, Tokenizer};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Train the summariser (BPE + SFT GPT) on Debian description → synopsis pairs")]
struct Args {
    /// Model shape, optimiser, precision and seed.
    #[command(flatten)]
    model: pretrain::ModelArgs,
    /// Output checkpoint directory.
    #[arg(long, default_value = "assets/summarizer-gpt")]
    out: PathBuf,
    /// Optimiser steps.
    #[arg(long, default_value_t = 1200)]
    steps: usize,
    /// BPE vocabulary size (specials included).
    #[arg(long, default_value_t = 4096)]
    vocab: usize,
    /// Description tokens kept in the prompt.
    #[arg(long, default_value_t = 48)]
    prompt_tokens: usize,
    /// Longest synopsis (tokens) kept for training; longer pairs are dropped.
    #[arg(long, default_value_t = 24)]
    summary_tokens: usize,
    /// Validation pairs evaluated during training.
    #[arg(long, default_value_t = 300)]
    valid_rows: usize,
    /// Test descriptions summarised for the ROUGE-L check.
    #[arg(long, default_value_t = 300)]
    test_rows: usize,
    /// Dropout probability during training (the saved config keeps it; inference ignores it).
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// Loss on every token (description and synopsis) instead of the synopsis only: a
    /// language-modelling phase before the completion-only fine-tune.
    #[arg(long)]
    full_loss: bool,
    /// Use this tokenizer (`tokenizer.json`) instead of training a new BPE.
    #[arg(long, conflicts_with = "init")]
    tokenizer: Option<PathBuf>,
    /// Continue training this checkpoint (its tokenizer and shape) instead of starting afresh.
    #[arg(long, conflicts_with = "eval_only")]
    init: Option<PathBuf>,
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
    let pairs = load_summaries(&summaries_path())?;
    let of =
        |split: Split| -> Vec<&SummaryPair> { pairs.iter().filter(|p| p.split == split).collect() };
    let (train, valid, test) = (of(Split::Train), of(Split::Val), of(Split::Test));
    println!(
        "corpus: {} train, {} validation, {} test pairs",
        train.len(),
        valid.len(),
        test.len()
    );

    let (model, tokenizer) = if args.eval_only {
        let tok = BpeTokenizer::load(&tokenizer_path(&args.out))?;
        (AutoPolicy::load(&args.out, &device)?, tok)
    } else {
        let (tok, init) = match &args.init {
            Some(dir) => {
                let config = GptConfig {
                    dropout: args.dropout,
                    ..load_config::<GptConfig>(dir)?
                };
                let model = load_weights(dir, config.init(&device))?;
                (BpeTokenizer::load(&tokenizer_path(dir))?, Some(model))
            }
            None if args.tokenizer.is_some() => {
                let path = args.tokenizer.as_deref().expect("checked");
                (BpeTokenizer::load(path)?, None)
            }
            None => {
                let texts = train.iter().flat_map(|p| [p.document(), p.summary.clone()]);
                (BpeTokenizer::train(texts, args.vocab)?, None)
            }
        };
        let row = |p: &SummaryPair| -> Result<Option<Vec<u32>>, Box<dyn std::error::Error>> {
            let summary = tok.encode(&p.summary)?;
            if summary.len() > args.summary_tokens {
                return Ok(None);
            }
            let mut ids = tok.prompt(&p.document(), args.prompt_tokens)?;
            ids.extend(summary);
            ids.push(EOS);
            Ok(Some(ids))
        };
        let rows = |ps: &[&SummaryPair]| -> Result<Vec<Vec<u32>>, Box<dyn std::error::Error>> {
            Ok(ps
                .iter()
                .map(|p| row(p))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect())
        };
        let train_ids = rows(&train)?;
        let valid_ids = rows(&valid[..valid.len().min(args.valid_rows)])?;
        let tokens: usize = train_ids.iter().map(Vec::len).sum();
        println!(
            "BPE: {} ids; {} training rows ({} dropped for a synopsis over {} tokens), {:.1} tokens per row",
            tok.vocab_size(),
            train_ids.len(),
            train.len() - train_ids.len(),
            args.summary_tokens,
            tokens as f64 / train_ids.len() as f64
        );
        // Context: the longest possible row plus room for RiC's three conditioning tokens.
        let longest = args.prompt_tokens + args.summary_tokens + 3;
        let model = match init {
            Some(model) => AutoPolicy::Gpt(model),
            None => args.model.init(
                &GptConfig {
                    dropout: args.dropout,
                    ..args.model.gpt(tok.vocab_size(), longest + 3)
                },
                &device,
            ),
        };
        let mut training = args.model.training(args.steps, 5);
        training.loss_after = (!args.full_loss).then_some(SEP);
        pretrain::train_and_save(
            model,
            training,
            (&train_ids, &valid_ids),
            &tok,
            &args.out,
            args.model.f16,
        )?;
        (AutoPolicy::load(&args.out, &device)?, tok)
    };

    // Greedy summaries of held-out test descriptions, scored by ROUGE-L F1 (stemmed).
    let test = &test[..test.len().min(args.test_rows)];
    let rouge = RougeL::new(true);
    let mut summaries = Vec::with_capacity(test.len());
    for chunk in test.chunks(50) {
        let prompts = chunk
            .iter()
            .map(|p| tokenizer.prompt(&p.document(), args.prompt_tokens))
            .collect::<Result<Vec<_>, _>>()?;
        let rollout = model.sample(
            &prompts,
            &SamplingConfig {
                max_new_tokens: args.summary_tokens,
                greedy: true,
                ..Default::default()
            },
        )?;
        for ids in rollout.response_ids() {
            summaries.push(tokenizer.decode(&ids)?);
        }
    }
    let f1: Vec<f64> = test
        .iter()
        .zip(&summaries)
        .map(|(p, s)| rouge.score(&p.summary, s).f1)
        .collect();
    let copied = test
        .iter()
        .zip(&summaries)
        .filter(|(p, s)| p.summary.eq_ignore_ascii_case(s))
        .count();
    let mean = f1.iter().sum::<f64>() / f1.len().max(1) as f64;
    println!(
        "{} test descriptions, greedy: ROUGE-L F1 {mean:.3} against the human synopses; {copied} exactly equal",
        test.len()
    );
    let mut md = String::from(
        "# Summariser samples\n\nGreedy synopses of the first ten test-split descriptions \
         (held-out source packages), beside the human synopsis. Written by \
         `cargo run --release --example pretrain_summarizer`.\n\n\
         | package | human synopsis | generated | ROUGE-L F1 |\n|---|---|---|---|\n",
    );
    for ((p, s), f) in test.iter().zip(&summaries).zip(&f1).take(10) {
        let cell = |t: &str| t.replace('|', "\\|");
        let _ = writeln!(
            md,
            "| {} | {} | {} | {f:.2} |",
            p.package,
            cell(&p.summary),
            cell(s)
        );
        println!("{:<28} {:<50} → {s}", p.package, p.summary);
    }
    let _ = writeln!(
        md,
        "\nMean ROUGE-L F1 over {} test descriptions: {mean:.3}.",
        test.len()
    );
    std::fs::write(args.out.join("samples.md"), md)?;
    Ok(())
}
