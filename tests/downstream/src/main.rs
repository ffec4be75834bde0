//! A user's first hour with multireward, as a crate of its own: load the shipped SMILES policy,
//! define rewards with `FnReward`, compare IterativeRS and MORLHF under a tiny equal budget
//! through the library's command line (`multireward::cli`, feature `cli`: flags, presets,
//! device, ranks), and check the report. Run by `scripts/downstream-check.sh`; flags given to
//! it (`-- --seeds 2`) reach the comparison.

use multireward::checkpoint::tokenizer_path;
use multireward::cli::{CompareArgs, Device, Preset, main_with};
use multireward::experiment::{Budget, RicSettings, StrategyKind, Task};
use multireward::policy::{Gpt, Policy};
use multireward::reward::{FnReward, RewardSet, Sample, Transform};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::canonical_smiles;
use std::process::ExitCode;

/// Atoms of element `c` (aromatic or not) in the canonical SMILES; `None` if invalid.
fn count(c: char) -> impl Fn(&Sample) -> Option<f64> + Send + Sync {
    move |s: &Sample| {
        let smiles = canonical_smiles(s.completion)?;
        Some(
            smiles
                .chars()
                .filter(|x| x.eq_ignore_ascii_case(&c))
                .count() as f64,
        )
    }
}

/// Nitrogens and oxygens, each mapped to [0, 1] (≈ 0.5 at one atom, ≈ 1 from three).
fn rewards() -> Result<RewardSet, multireward::reward::RewardError> {
    let sigmoid = Transform::Sigmoid {
        low: 0.0,
        high: 2.0,
        k: 0.3,
    };
    RewardSet::builder()
        .add(FnReward::new("nitrogen", count('N')), 1.0)
        .transform(sigmoid)
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .transform(sigmoid)
        .build()
}

fn main() -> ExitCode {
    main_with(run)
}

fn run(args: CompareArgs, device: Device) -> Result<(), Box<dyn std::error::Error>> {
    let dir = multireward::assets::smiles_policy()?;
    let reference = Gpt::load(&dir, &device)?;
    let tokenizer = SmilesTokenizer::load(&tokenizer_path(&dir))?;
    // Exact rewards: the same functions serve as the evaluation oracles.
    let task = Task::new(reference, &tokenizer, rewards()?, rewards()?);
    // One tiny preset for the default, `--quick` and `--full` alike.
    let tiny = Preset::new(
        Budget::new(2, 8)
            .with_merge_every(1)
            .with_max_new_tokens(16)
            .with_updates(1, 1),
        32,
    );
    let config = args
        .run
        .config([tiny; 3], RicSettings::default())?
        .with_strategies(vec![StrategyKind::IterativeRs, StrategyKind::Morlhf]);
    let out = args.out_or(
        &std::env::temp_dir()
            .join("multireward-downstream-check")
            .to_string_lossy(),
    );
    let outcome = args.run.compare(task, config, &out)?;
    for file in ["results.md", "results.json", "steps.csv", "scatter.png"] {
        let len = std::fs::metadata(out.join(file))?.len();
        assert!(len > 0, "{file} is empty");
    }
    assert_eq!(outcome.results.len(), 3, "pretrained + 2 strategies");
    println!(
        "downstream check passed ({:.1} s); report in {}",
        outcome.seconds,
        out.display()
    );
    Ok(())
}
