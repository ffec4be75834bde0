//! Train the faithfulness reward of the text domain: a head on MiniLM embeddings that tells a
//! description's true synopsis from corrupted ones (a random other package's synopsis, the
//! synopsis of the most similar other description, half the words swapped), trained on the
//! training split, model-selected on validation and reported on the held-out test split. Also
//! reports how the relevance reward (MiniLM cosine) separates true from corrupted pairs.
//!
//! ```text
//! scripts/fetch-minilm.sh        # MiniLM weights into data/minilm (once)
//! cargo run --release --example train_text_rewards
//! ```

use clap::Parser;
use multireward::tasks::text::faithfulness::{EmbeddedPair, TextPair, negatives};
use multireward::tasks::text::minilm::FETCH_COMMAND;
use multireward::tasks::text::{
    Corruption, FaithfulnessConfig, FaithfulnessHead, FaithfulnessReport, FaithfulnessTraining,
    SentenceEncoder, Split, SummaryPair, cosine, load_summaries, summaries_path,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(about = "Train the text domain's faithfulness head on MiniLM embeddings")]
struct Args {
    /// MiniLM directory (from scripts/fetch-minilm.sh).
    #[arg(long, default_value = "data/minilm")]
    minilm: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "assets/text-rewards")]
    out: PathBuf,
    /// Training-split pairs used (a seeded sample; each gives one true and one corrupted pair).
    #[arg(long, default_value_t = 4000)]
    train_pairs: usize,
    /// Epochs (the best validation AUROC is kept).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// One split's embedded training pairs.
struct Embedded {
    docs: Vec<Vec<f32>>,
    pairs: Vec<TextPair>,
    summaries: Vec<Vec<f32>>,
}

impl Embedded {
    fn build(
        encoder: &SentenceEncoder,
        rows: &[&SummaryPair],
        seed: u64,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let documents: Vec<String> = rows.iter().map(|p| p.document()).collect();
        let docs = encoder.embed(&documents.iter().map(String::as_str).collect::<Vec<_>>())?;
        let summaries: Vec<&str> = rows.iter().map(|p| p.summary.as_str()).collect();
        let groups: Vec<&str> = rows.iter().map(|p| p.source.as_str()).collect();
        let pairs = negatives(&summaries, &docs, &groups, seed);
        let texts: Vec<&str> = pairs.iter().map(|p| p.summary.as_str()).collect();
        let summaries = encoder.embed(&texts)?;
        Ok(Self {
            docs,
            pairs,
            summaries,
        })
    }

    fn labelled(&self) -> Vec<EmbeddedPair<'_>> {
        self.pairs
            .iter()
            .zip(&self.summaries)
            .map(|(p, s)| {
                (
                    self.docs[p.document].as_slice(),
                    s.as_slice(),
                    p.kind == Corruption::None,
                )
            })
            .collect()
    }

    fn kinds(&self) -> Vec<Corruption> {
        self.pairs.iter().map(|p| p.kind).collect()
    }

    /// Mean relevance (cosine) per kind.
    fn relevance(&self) -> Vec<(Corruption, f64)> {
        std::iter::once(Corruption::None)
            .chain(Corruption::NEGATIVES)
            .map(|k| {
                let c: Vec<f64> = self
                    .pairs
                    .iter()
                    .zip(&self.summaries)
                    .filter(|(p, _)| p.kind == k)
                    .map(|(p, s)| f64::from(cosine(&self.docs[p.document], s)))
                    .collect();
                (k, c.iter().sum::<f64>() / c.len().max(1) as f64)
            })
            .collect()
    }
}

fn print_report(name: &str, r: &FaithfulnessReport) {
    let kinds: Vec<String> = r
        .by_kind
        .iter()
        .map(|(k, n, a)| format!("{k:?} {a:.3} (n {n})"))
        .collect();
    println!(
        "{name}: accuracy {:.3}, AUROC {:.3}; by kind: {}",
        r.accuracy,
        r.auroc,
        kinds.join(", ")
    );
}

#[path = "support/start.rs"]
mod start;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device) = start::start::<Args>()?;
    let encoder = SentenceEncoder::load(&args.minilm, &device)
        .map_err(|e| format!("{e} (fetch the model with `{FETCH_COMMAND}`)"))?;
    let corpus = load_summaries(&summaries_path())?;
    let of = |split: Split| -> Vec<&SummaryPair> {
        corpus.iter().filter(|p| p.split == split).collect()
    };
    let mut train = of(Split::Train);
    train.shuffle(&mut StdRng::seed_from_u64(args.seed));
    train.truncate(args.train_pairs);
    let (valid, test) = (of(Split::Val), of(Split::Test));

    let t0 = Instant::now();
    let train = Embedded::build(&encoder, &train, args.seed)?;
    let valid = Embedded::build(&encoder, &valid, args.seed + 1)?;
    let test = Embedded::build(&encoder, &test, args.seed + 2)?;
    let texts = 2 * train.pairs.len() + 2 * valid.pairs.len() + 2 * test.pairs.len();
    println!(
        "embedded {} / {} / {} train/validation/test pairs (≈ {texts} texts) in {:.0} s",
        train.pairs.len(),
        valid.pairs.len(),
        test.pairs.len(),
        t0.elapsed().as_secs_f64()
    );

    let config = FaithfulnessConfig::default();
    let training = FaithfulnessTraining {
        epochs: args.epochs,
        seed: args.seed,
        ..Default::default()
    };
    let t1 = Instant::now();
    let head = FaithfulnessHead::fit(
        config,
        &train.labelled(),
        &valid.labelled(),
        &training,
        &device,
        |epoch, auroc| {
            if (epoch + 1) % 5 == 0 {
                println!("epoch {:>3}: validation AUROC {auroc:.4}", epoch + 1);
            }
        },
    )?;
    println!("trained in {:.0} s", t1.elapsed().as_secs_f64());
    let reports = [
        ("train", head.evaluate(&train.labelled(), &train.kinds())?),
        (
            "validation",
            head.evaluate(&valid.labelled(), &valid.kinds())?,
        ),
        ("test", head.evaluate(&test.labelled(), &test.kinds())?),
    ];
    for (name, r) in &reports {
        print_report(name, r);
    }
    let relevance = test.relevance();
    println!(
        "relevance (MiniLM cosine) on test, mean by kind: {}",
        relevance
            .iter()
            .map(|(k, c)| format!("{k:?} {c:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let dir = args.out.join("faithfulness");
    head.save(&dir)?;
    let report = serde_json::json!({
        "command": "cargo run --release --example train_text_rewards",
        "train_pairs": args.train_pairs,
        "training": training,
        "reports": reports.iter().map(|(n, r)| (n.to_string(), r)).collect::<std::collections::BTreeMap<_, _>>(),
        "relevance_by_kind_test": relevance,
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("saved {}", dir.display());
    Ok(())
}
