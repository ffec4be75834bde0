//! Comparisons of strategies as a library feature: a task (reference policy, tokenizer,
//! training rewards, evaluation oracles, prompts) and a [`ComparisonConfig`] (equal
//! [`Budget`]s, [`EvalPlan`], strategies, seeds, optimiser) make a [`Comparison`], which trains
//! every strategy × seed with checkpoints, evaluates each final policy and writes the report
//! as results arrive. A killed comparison continues with [`Comparison::with_resume`] and
//! ends with the same `results.json`, byte for byte.
//!
//! Floors: this module uses [`crate::strategy`] (the runs), [`crate::eval`] (metrics, tables,
//! plots) and [`crate::policy`]; the domain examples and users' own tasks sit above it.

mod ablation;
mod comparison;
mod config;
mod curve;
mod evaluate;
mod lr_selection;
mod report;

pub use comparison::{
    CHECKPOINTS_DIR, Comparison, Describe, ExtraMarkdown, Outcome, POLICIES_DIR, RUNS_DIR,
    SavedPolicy, TIMINGS_FILE, Task,
};
pub use config::{
    Accounting, AdamAtMerge, Budget, ComparisonConfig, EstimatorKind, EvalPlan, RicSettings,
    SavePolicies, StrategyKind,
};
pub use curve::CurvePoint;
pub use evaluate::{EvaluateError, Scored, means, sample_and_score};
pub use lr_selection::Trial as LrTrial;
pub use report::{
    Cell, PLOT_FILE, ReportFiles, STEPS_FILE, StrategyResult, decimals, metrics_table, percent,
    step_rows, write_report,
};

use crate::eval::EvalError;
use crate::strategy::StrategyError;
use std::path::PathBuf;
use thiserror::Error;

/// Why a comparison could not be set up, run or reported. Displayed as sentences; settings
/// are named by their command-line flags (the examples' flags are the config fields'
/// names in kebab case).
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A setting is out of range; nothing was trained.
    #[error("--{flag} {message}")]
    Setting {
        /// The setting's command-line flag, without dashes.
        flag: &'static str,
        /// What is wrong, as the rest of a sentence.
        message: String,
    },
    /// The task's parts do not fit together (or a resumed directory does not fit the task).
    #[error("{0}")]
    Task(String),
    /// A run failed; the finished runs' report and this run's last checkpoint are on disk.
    #[error(
        "{strategy} (seed {seed}) failed: {source}. The finished runs' results are kept; the \
         last checkpoint is in {}; rerun with --resume to continue",
        checkpoint.display()
    )]
    Run {
        /// The strategy's name.
        strategy: &'static str,
        /// The seed.
        seed: u64,
        /// The run's checkpoint directory.
        checkpoint: PathBuf,
        /// What went wrong.
        source: Box<StrategyError>,
    },
    /// Evaluating a policy failed.
    #[error("evaluation: {0}")]
    Evaluate(#[from] EvaluateError),
    /// Writing the report failed.
    #[error("report: {0}")]
    Report(#[from] EvalError),
    /// A file in the results directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ExperimentError {
    /// A [`ExperimentError::Setting`] for `flag`.
    pub fn setting(flag: &'static str, message: String) -> Self {
        Self::Setting { flag, message }
    }
}
