//! A task of your own, from scratch: the shipped SMILES policy fine-tuned on two rewards defined
//! right here (ring count and heteroatom fraction of the generated molecules), compared across
//! IterativeRS, MORLHF, Rewarded Soups and RiC under equal budgets.
//!
//! ```text
//! cargo run --release --example custom_task -- --quick        # smoke run, ≈ 10 s on 2 cores
//! cargo run --release --example custom_task                   # ≈ 3 min
//! cargo run --release --example custom_task -- --quick --resume   # reuse finished runs
//! cargo run --release --example custom_task -- --strategies iterativers,morlhf --seeds 3
//! ```
//!
//! Both rewards are plain functions of the canonical SMILES, mapped to [0, 1] by a sigmoid;
//! invalid molecules are "not applicable" (`None`). They are exact, so the same functions serve
//! as the evaluation oracles (a real task would judge with independent oracles, as
//! `examples/molecules.rs` does). The report (`results.md`, `results.json`, `steps.csv`,
//! `scatter.png`) goes to `--out` (default `results/custom_task/`).
//!
//! This file is the whole program: copy it into a crate of your own that depends on
//! `multireward` (its `cli` feature, on by default, gives the flags, presets, devices and ranks
//! of every comparison example) and `serde_json`.

use multireward::checkpoint::tokenizer_path;
use multireward::cli::{CompareArgs, Device, Preset};
use multireward::eval::table::Format;
use multireward::experiment::{Budget, RicSettings, Task, metrics_table, percent};
use multireward::policy::{Gpt, Policy};
use multireward::reward::{FnReward, RewardError, RewardSet, Sample, Transform};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::{canonical_smiles, is_valid_smiles};
use serde_json::json;
use std::process::ExitCode;

/// Ring-closure bonds in a SMILES outside bracket atoms (`[NH3+]`): one per ring of a
/// connected molecule. `%nn` closures count once.
fn ring_closures(smiles: &str) -> usize {
    let (mut in_bracket, mut percent, mut marks) = (false, 0, 0);
    for c in smiles.chars() {
        match c {
            '[' => in_bracket = true,
            ']' => in_bracket = false,
            '%' if !in_bracket => (percent, marks) = (2, marks + 1),
            '0'..='9' if !in_bracket && percent > 0 => percent -= 1,
            '0'..='9' if !in_bracket => marks += 1,
            _ => {}
        }
    }
    marks / 2
}

/// Rings of a valid molecule (`None` for an invalid SMILES).
fn rings(s: &Sample) -> Option<f64> {
    canonical_smiles(s.completion).map(|c| ring_closures(&c) as f64)
}

/// Fraction of heavy atoms that are N, O or F (QM9's heteroatoms), `None` if invalid.
fn heteroatoms(s: &Sample) -> Option<f64> {
    let c = canonical_smiles(s.completion)?;
    let atoms = c.chars().filter(|ch| "CNOFcnof".contains(*ch)).count();
    let hetero = c.chars().filter(|ch| "NOFnof".contains(*ch)).count();
    Some(hetero as f64 / atoms.max(1) as f64)
}

/// The two objectives, each mapped to [0, 1] (two rings, or a third heteroatoms, score ≈ 0.87),
/// with equal weights. An invalid molecule totals −1, below any valid one.
fn objectives() -> Result<RewardSet, RewardError> {
    RewardSet::builder()
        .na_penalty(-1.0)
        .add(FnReward::new("rings", rings), 0.5)
        .transform(Transform::Sigmoid {
            low: 0.0,
            high: 3.0,
            k: 0.5,
        })
        .add(FnReward::new("heteroatoms", heteroatoms), 0.5)
        .transform(Transform::Sigmoid {
            low: 0.0,
            high: 0.5,
            k: 0.5,
        })
        .build()
}

/// The presets for two objectives: default, `--quick`, `--full`.
fn presets() -> [Preset; 3] {
    let default = Budget::new(24, 64)
        .with_merge_every(2)
        .with_max_new_tokens(32)
        .with_updates(2, 2);
    let quick = Budget::new(4, 16)
        .with_merge_every(1)
        .with_max_new_tokens(16)
        .with_updates(1, 2);
    let full = Budget::new(200, 128);
    [
        Preset::new(default, 512),
        Preset::new(quick, 64),
        Preset::new(full, 1024),
    ]
}

fn main() -> ExitCode {
    multireward::cli::main_with(run)
}

/// Load the policy, build the task and run the comparison.
fn run(args: CompareArgs, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let config = args.run.config(presets(), RicSettings::default())?;
    let dir = multireward::assets::smiles_policy()?;
    let reference = args.run.reference(Gpt::load(&dir, &device)?);
    let tokenizer = SmilesTokenizer::load(&tokenizer_path(&dir))?;
    // Training rewards and evaluation oracles: the same exact functions.
    let task = Task::new(reference, &tokenizer, objectives()?, objectives()?)
        // Oracle means cover valid molecules only, so also record how many are valid.
        .with_describe(|scored| {
            let valid = scored.texts.iter().filter(|t| is_valid_smiles(t)).count();
            let validity = valid as f64 / scored.texts.len().max(1) as f64;
            (
                json!({ "validity": validity }),
                format!("validity {:.1} %", 100.0 * validity),
            )
        })
        .with_markdown(validity_table)
        .with_headline_metric("Validity", "/validity", Format::Percent(1))
        .with_info(json!({"objectives": ["rings", "heteroatoms"], "oracles": "same functions"}));
    // Prints the table and writes the report.
    args.run
        .compare(task, config, &args.out_or("results/custom_task"))?;
    Ok(())
}

/// Markdown table of validity and KL per evaluated policy, appended to `results.md`.
fn validity_table(rows: &[serde_json::Value]) -> String {
    metrics_table(
        rows,
        &[("Validity", |m| percent(&m["validity"]))],
        "KL to pretrained",
    )
}
