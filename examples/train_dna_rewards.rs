//! Train the DNA cell-type classifiers on the DHS training split (chromosomes other than 1
//! and 2): the **training reward** model (a one-hot CNN) and an independent **evaluation
//! oracle** (an MLP on the 5-mer spectrum, another seed). Keeps the epoch with the best
//! validation (chr2) macro-AUROC, reports accuracy and per-class AUROC on the test split (chr1)
//! and saves both under `--out` with a `report.json`.
//!
//! ```text
//! cargo run --release --example train_dna_rewards -- --out assets/dna-rewards
//! ```

use clap::Parser;
use multireward::tasks::dna::{
    Architecture, CellClassifier, ClassifierConfig, ClassifierReport, ClassifierTraining, Split,
    dhs_path, load_dhs,
};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[path = "support/start.rs"]
mod start;

#[derive(Parser, Debug)]
#[command(about = "Train the DNA cell-type classifier reward and its evaluation oracle")]
struct Args {
    /// Output directory (`classifier-reward/`, `classifier-oracle/`, `report.json`).
    #[arg(long, default_value = "assets/dna-rewards")]
    out: PathBuf,
    /// Epochs of the CNN (training reward).
    #[arg(long, default_value_t = 10)]
    cnn_epochs: usize,
    /// Peak learning rate of the CNN.
    #[arg(long, default_value_t = 5e-3)]
    cnn_lr: f64,
    /// Filters per convolution of the CNN (comma-separated; one per layer).
    #[arg(long, default_value = "128")]
    cnn_filters: String,
    /// Kernel widths of the CNN (comma-separated; one per layer).
    #[arg(long, default_value = "12")]
    cnn_kernels: String,
    /// Epochs of the k-mer MLP (evaluation oracle).
    #[arg(long, default_value_t = 12)]
    kmer_epochs: usize,
    /// Use only the first N training rows (0 = all; for quick checks).
    #[arg(long, default_value_t = 0)]
    limit: usize,
}

fn summary(r: &ClassifierReport) -> String {
    let per: Vec<String> = r
        .classes
        .iter()
        .map(|c| format!("{} {:.3}", c.cell_type, c.auroc))
        .collect();
    format!(
        "accuracy {:.3}, macro-AUROC {:.3} ({})",
        r.accuracy,
        r.macro_auroc,
        per.join(", ")
    )
}

/// Comma-separated integers.
fn list(s: &str) -> Result<Vec<usize>, std::num::ParseIntError> {
    s.split(',').map(|x| x.trim().parse()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device) = start::start::<Args>()?;
    let records = load_dhs(&dhs_path())?;
    let of = |s: Split| -> Vec<_> { records.iter().filter(|r| r.split == s).cloned().collect() };
    let (mut train, valid, test) = (of(Split::Train), of(Split::Val), of(Split::Test));
    if args.limit > 0 && args.limit < train.len() {
        // The file is grouped by cell type: keep an evenly strided subset.
        let stride = train.len() as f64 / args.limit as f64;
        train = (0..args.limit)
            .map(|i| train[(i as f64 * stride) as usize].clone())
            .collect();
    }
    println!(
        "DHS: {} train, {} validation (chr2), {} test (chr1)",
        train.len(),
        valid.len(),
        test.len()
    );
    let models = [
        (
            "classifier-reward",
            ClassifierConfig {
                architecture: Architecture::Cnn {
                    filters: list(&args.cnn_filters)?,
                    kernels: list(&args.cnn_kernels)?,
                    pool: 4,
                },
                hidden: vec![64],
                length: 200,
            },
            ClassifierTraining {
                epochs: args.cnn_epochs,
                lr: args.cnn_lr,
                seed: 1,
                ..Default::default()
            },
        ),
        (
            "classifier-oracle",
            ClassifierConfig {
                architecture: Architecture::Kmer { k: 5 },
                hidden: vec![256],
                length: 200,
            },
            ClassifierTraining {
                epochs: args.kmer_epochs,
                lr: 1e-3,
                weight_decay: 5e-2,
                seed: 2,
                ..Default::default()
            },
        ),
    ];
    let mut report = serde_json::Map::new();
    for (name, config, training) in models {
        let t = Instant::now();
        let model = CellClassifier::fit(
            config.clone(),
            &train,
            &valid,
            &training,
            &device,
            |epoch, r| println!("{name} epoch {}: validation {}", epoch + 1, summary(r)),
        )?;
        let (val, tst) = (model.evaluate(&valid), model.evaluate(&test));
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{name}: test {} [{secs:.0} s]\n{name}: validation {}",
            summary(&tst),
            summary(&val)
        );
        model.save(&args.out.join(name))?;
        report.insert(
            name.into(),
            json!({"config": config, "training": training, "validation": val, "test": tst,
                   "train_rows": train.len(), "seconds": secs}),
        );
    }
    let path = args.out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("wrote {}", path.display());
    Ok(())
}
