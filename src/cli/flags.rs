//! The one place where settings meet flags: [`flag`] maps a [`ComparisonConfig`] field (as
//! errors name it) to the command-line flag that sets it, and [`sentence`] words an error for
//! the command line.
//!
//! [`ComparisonConfig`]: crate::experiment::ComparisonConfig

use crate::experiment::ExperimentError;
use std::error::Error;

/// Every field a flag sets: `(field, flag)`.
const FLAGS: [(&str, &str); 29] = [
    ("seeds", "--seeds"),
    ("strategies", "--strategies"),
    ("budget.iterations", "--iterations"),
    ("budget.samples", "--samples"),
    ("budget.merge_every", "--merge-every"),
    ("budget.max_new_tokens", "--max-new-tokens"),
    ("budget.epochs", "--ppo-epochs"),
    ("budget.minibatches", "--minibatches"),
    ("eval.samples", "--eval-samples"),
    ("lr", "--lr"),
    ("expert_lr", "--expert-lr"),
    ("kl_coef", "--kl-coef"),
    ("estimator", "--estimator"),
    ("ric.bins", "--ric-bins"),
    ("ric.rounds", "--ric-rounds"),
    ("ric.target", "--ric-target"),
    ("ric.lr", "--ric-lr"),
    ("checkpoint_every", "--checkpoint-every"),
    ("log_every", "--log-every"),
    ("accounting", "--budget"),
    ("adam_at_merge", "--adam-at-merge"),
    ("curve", "--curve"),
    ("sweep_m", "--sweep-m"),
    ("sweep_kl_coef", "--sweep-kl-coef"),
    ("sweep_weights", "--sweep-weights"),
    ("lr_candidates", "--select-lr"),
    ("save_policies", "--save-policies"),
    ("lora", "--lora-rank/--lora-targets"),
    ("adapter_merge", "--lora-merge"),
];

/// The flag that sets `field`; a field no flag sets (e.g. `weight_decay`) is named as it is.
pub fn flag(field: &str) -> &str {
    FLAGS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(field, |(_, flag)| flag)
}

/// `e` as a sentence for the command line: a setting named by its flag, the results directory
/// by `--out`, continuing by `--resume`.
pub fn sentence(e: &(dyn Error + 'static)) -> String {
    match e.downcast_ref::<ExperimentError>() {
        Some(ExperimentError::Setting { field, message }) => format!("{} {message}", flag(field)),
        Some(ExperimentError::Unwritable { path, source }) => {
            format!("--out {} cannot be written: {source}", path.display())
        }
        Some(ExperimentError::Resume(message)) => format!("--resume: {message}"),
        Some(ExperimentError::CheckpointsUnwritable { path, source }) => {
            format!(
                "--checkpoint-dir {} cannot be written: {source}",
                path.display()
            )
        }
        Some(ExperimentError::Locked { .. }) => format!("--out: {e}"),
        Some(ExperimentError::Run {
            strategy,
            seed,
            checkpoint,
            source,
        }) => {
            let hint = match checkpoint {
                Some(dir) => format!(
                    "the last checkpoint is in {}; rerun with --resume to continue",
                    dir.display()
                ),
                None => {
                    "the run wrote no checkpoint yet; rerun with --resume to run it again".into()
                }
            };
            format!(
                "{strategy} (seed {seed}) failed: {source}. The finished runs' results are kept; \
                 {hint}"
            )
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_flags() {
        let e = ExperimentError::setting("budget.iterations", "is 0; …".into());
        assert_eq!(sentence(&e), "--iterations is 0; …");
        assert_eq!(flag("weight_decay"), "weight_decay");
        assert_eq!(flag("lr_candidates"), "--select-lr");
    }
}
