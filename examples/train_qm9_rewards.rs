//! Train the QM9 property models: for each of α, gap and U0 per heavy atom, a **training
//! reward** (MLP on the frozen shipped SMILES policy's backbone, as the reference code's reward
//! heads) and an independent **evaluation oracle** (MLP on Morgan counts, another seed and
//! split) standing in for the paper's PAMNet. Reports test MAE and R² and saves both under
//! `--out`.
//!
//! ```text
//! cargo run --release --example train_qm9_rewards -- --out assets/qm9-rewards
//! ```

use clap::Parser;
use multireward::checkpoint::tokenizer_path;
use multireward::data::{data_path, split};
use multireward::policy::{Gpt, Policy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::load_qm9;
use multireward::tasks::molecules::qm9::{
    BackboneFeatures, Featurizer, MorganFeatures, Property, heavy_atoms,
};
use multireward::tasks::molecules::regressor::{Regressor, RegressorTraining};
use std::path::PathBuf;
use std::time::Instant;

#[path = "support/start.rs"]
mod start;

#[derive(Parser, Debug)]
struct Args {
    /// Output directory (one sub-directory per model).
    #[arg(long, default_value = "assets/qm9-rewards")]
    out: PathBuf,
    /// The policy whose backbone the training rewards read.
    #[arg(long, default_value = "assets/smiles-gpt")]
    policy: PathBuf,
    /// Use only the first N molecules of each shuffled split (0 = all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Folded Morgan length of the oracle features.
    #[arg(long, default_value_t = 2048)]
    morgan_bits: usize,
}

/// `(train, valid, test)` index lists of a seeded 80/10/10 split of `n` rows.
fn split_idx(n: usize, seed: u64, limit: usize) -> Vec<Vec<usize>> {
    let idx: Vec<usize> = (0..n).collect();
    split(&idx, &[0.8, 0.1, 0.1], seed)
        .into_iter()
        .map(|mut v| {
            if limit > 0 {
                v.truncate(limit);
            }
            v
        })
        .collect()
}

/// A model to train: role, input features, split seed, hidden widths.
type Role = (&'static str, Box<dyn Featurizer>, u64, Vec<usize>);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device) = start::start::<Args>()?;
    let records = load_qm9(&data_path("qm9_slim.csv.gz"))?;
    let heavy: Vec<usize> = records
        .iter()
        .map(|r| heavy_atoms(&r.smiles).unwrap_or(1))
        .collect();
    let smiles: Vec<&str> = records.iter().map(|r| r.smiles.as_str()).collect();
    println!("QM9: {} molecules", records.len());

    let policy = Gpt::load(&args.policy, &device)?;
    let tokenizer = SmilesTokenizer::load(&tokenizer_path(&args.policy))?;
    let featurizers: [Role; 2] = [
        (
            "reward",
            Box::new(BackboneFeatures::new(&policy, tokenizer)),
            1,
            vec![64, 32],
        ),
        (
            "oracle",
            Box::new(MorganFeatures {
                bits: args.morgan_bits,
            }),
            2,
            vec![128, 64],
        ),
    ];
    let mut report = serde_json::Map::new();
    for (role, featurizer, seed, hidden) in featurizers {
        let t0 = Instant::now();
        let feats = featurizer.features(&smiles);
        let missing = feats.iter().filter(|f| f.is_none()).count();
        println!(
            "{role}: {} features in {:.0} s ({missing} molecules not featurised)",
            featurizer.name(),
            t0.elapsed().as_secs_f64()
        );
        let parts = split_idx(records.len(), seed, args.limit);
        let rows = |part: &[usize]| -> Vec<usize> {
            part.iter()
                .copied()
                .filter(|&i| feats[i].is_some())
                .collect()
        };
        let (train, test) = (rows(&parts[0]), rows(&parts[2]));
        let x = |ids: &[usize]| -> Vec<Vec<f32>> {
            ids.iter()
                .map(|&i| feats[i].clone().expect("featurised"))
                .collect()
        };
        let (x_train, x_test) = (x(&train), x(&test));
        for property in Property::ALL {
            let y = |ids: &[usize]| -> Vec<f64> {
                ids.iter()
                    .map(|&i| property.label(&records[i], heavy[i]))
                    .collect()
            };
            let t0 = Instant::now();
            let training = RegressorTraining {
                epochs: args.epochs,
                seed: seed * 10 + property as u64,
                ..Default::default()
            };
            let model = Regressor::fit(&x_train, &y(&train), &hidden, &training, &device);
            let metrics = model.evaluate(&x_test, &y(&test));
            let name = format!("{}-{role}", property.name());
            println!(
                "{name:>14}: test MAE {:.5}, R² {:.4} (n {}, {:.0} s)",
                metrics.mae,
                metrics.r2,
                metrics.n,
                t0.elapsed().as_secs_f64()
            );
            model.save(&args.out.join(&name))?;
            report.insert(
                name,
                serde_json::json!({
                    "property": property.name(),
                    "role": role,
                    "features": featurizer.name(),
                    "hidden": hidden,
                    "split_seed": seed,
                    "train": train.len(),
                    "test": metrics,
                    "epochs": args.epochs,
                }),
            );
        }
    }
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(report))?,
    )?;
    println!("saved {}", args.out.display());
    Ok(())
}
