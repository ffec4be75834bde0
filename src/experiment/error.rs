//! Why a comparison could not be set up, run or reported: [`ExperimentError`] (and
//! [`EvaluateError`], why an evaluation failed), displayed as sentences. A bad setting names
//! its `ComparisonConfig` field; the command line (`multireward::cli`) maps fields to its
//! flags.

use crate::eval::EvalError;
use crate::policy::PolicyError;
use crate::reward::RewardError;
use crate::rl::RlError;
use crate::strategy::StrategyError;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a comparison could not be set up, run or reported.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A setting is out of range; nothing was trained.
    #[error("{field} {message}")]
    Setting {
        /// The setting's field in `ComparisonConfig`, nested fields joined by dots
        /// (`budget.iterations`).
        field: &'static str,
        /// What is wrong, as the rest of a sentence.
        message: String,
    },
    /// The results directory cannot be created or written; nothing was trained.
    #[error("the results directory {} cannot be written: {source}", path.display())]
    Unwritable {
        /// The results directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The checkpoint folder cannot be created or written, or is not a folder; nothing was
    /// trained.
    #[error("the checkpoint folder {} cannot be written: {source}", path.display())]
    CheckpointsUnwritable {
        /// The checkpoint folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Another process is writing to the results directory (it holds the directory's lock).
    #[error(
        "the results directory {} is in use by {}: wait for it to finish, or choose another \
         results directory",
        path.display(),
        pid.map_or_else(|| "another process".into(), |p| format!("process {p}"))
    )]
    Locked {
        /// The results directory.
        path: PathBuf,
        /// The process holding the lock, when it recorded its PID.
        pid: Option<u32>,
    },
    /// The task's parts do not fit together.
    #[error("{0}")]
    Task(String),
    /// A results directory (or a checkpoint in it) cannot be resumed.
    #[error("resuming: {0}")]
    Resume(String),
    /// A run failed; the finished runs' report and this run's last checkpoint (if it wrote
    /// one) are on disk.
    #[error(
        "{strategy} (seed {seed}) failed: {source}. The finished runs' results are kept; {}",
        resume_hint(checkpoint.as_deref())
    )]
    Run {
        /// The strategy's name.
        strategy: &'static str,
        /// The seed.
        seed: u64,
        /// The run's last checkpoint, when it wrote one.
        checkpoint: Option<PathBuf>,
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

/// Why an evaluation failed.
#[derive(Debug, Error)]
pub enum EvaluateError {
    /// Sampling failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Measuring the KL failed.
    #[error(transparent)]
    Rl(#[from] RlError),
    /// An oracle failed.
    #[error(transparent)]
    Reward(#[from] RewardError),
}

impl ExperimentError {
    /// A [`ExperimentError::Setting`] of `field`.
    pub fn setting(field: &'static str, message: String) -> Self {
        Self::Setting { field, message }
    }

    /// A [`ExperimentError::Run`] of `strategy` (seed `seed`) whose checkpoint folder is `dir`
    /// (named only if a checkpoint is there).
    pub(super) fn run(
        strategy: &'static str,
        seed: u64,
        dir: &Path,
        source: StrategyError,
    ) -> Self {
        Self::Run {
            strategy,
            seed,
            checkpoint: dir.is_dir().then(|| dir.to_path_buf()),
            source: Box::new(source),
        }
    }
}

/// What to do after a failed run: resume from its checkpoint, or rerun it.
fn resume_hint(checkpoint: Option<&Path>) -> String {
    match checkpoint {
        Some(dir) => format!(
            "the last checkpoint is in {}; resume the comparison to continue",
            dir.display()
        ),
        None => "the run wrote no checkpoint yet; resume the comparison to run it again".into(),
    }
}

/// An [`ExperimentError::Io`] at `path`.
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}
