//! Evaluation: multi-objective metrics (means, ICV, hypervolume, Pareto fronts) and run reports.
//!
//! Everything here works on host-side score matrices (`&[Vec<f64>]`: one row per generated
//! sample, one column per objective, higher is better); no tensors.
//!
//! - [`metrics`]: per-objective mean/std, Avg, both ICV readings (docs/algorithms.md,
//!   "Metrics of the paper"), Pareto front, exact 2-D/3-D hypervolume, and the serialisable
//!   per-strategy [`Summary`];
//! - [`report`]: the JSON report, and the appendable CSV per-step log;
//! - [`table`]: the paper-layout Markdown table with extra columns, seeds aggregated as
//!   mean ± standard error;
//! - [`plot`]: pairwise reward-space scatter plots as PNG;
//! - [`interval`]: 95 % confidence intervals of a mean (t over seeds, or over one run's samples);
//! - [`summary_plot`]: the results at a glance (`summary.png`): those intervals per objective
//!   and the strategies' reward–KL positions;
//! - [`html`]: one self-contained HTML page of a Markdown report and its plots.

pub mod curves;
pub mod html;
pub mod interval;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod summary_plot;
pub mod table;

pub use metrics::{MeanStd, Summary};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors of metrics and report writers.
#[derive(Debug, Error)]
pub enum EvalError {
    /// No samples, or samples with no objectives.
    #[error("score matrix is empty (no samples or no objectives)")]
    Empty,
    /// A row's length differs from the first row's.
    #[error("row {row} has {len} scores, expected {expected}")]
    Ragged {
        /// 0-based row index.
        row: usize,
        /// Its length.
        len: usize,
        /// The first row's length.
        expected: usize,
    },
    /// A score or reference coordinate is NaN or infinite.
    #[error("value at row {row}, column {col} is not finite")]
    NonFinite {
        /// 0-based row index (0 for a reference point).
        row: usize,
        /// 0-based column index.
        col: usize,
    },
    /// Two lengths that must agree do not (names vs columns, reference vs points, ...).
    #[error("{what}: expected {expected}, got {got}")]
    Mismatch {
        /// What was being compared.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// Hypervolume is only implemented for 2 or 3 objectives.
    #[error("hypervolume supports 2 or 3 objectives, got {0}")]
    UnsupportedDimension(usize),
    /// Summaries in one table name their objectives differently.
    #[error("objective names differ between summaries: {0:?} vs {1:?}")]
    ObjectiveNames(Vec<String>, Vec<String>),
    /// An existing CSV log has a different header.
    #[error("{path}: CSV header {found:?} does not match the expected one")]
    CsvHeader {
        /// The log file.
        path: PathBuf,
        /// Its first line.
        found: String,
    },
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// JSON serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Plot rendering or PNG encoding failed.
    #[error("plot: {0}")]
    Plot(String),
    /// A folder given as a results directory is not one: its `results.json` or `results.md`
    /// is missing, or `results.json` is not a report of this library.
    #[error(
        "{}: {problem}; pass a results directory that a comparison wrote (it holds results.json \
         and results.md), or run the comparison again to write one",
        path.display()
    )]
    NotAReport {
        /// The file (or folder) at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// Wrap an I/O error with its path.
fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The hidden sibling `.{name}{suffix}` that [`write_atomic`] and the PNG writer stage into.
pub(crate) fn temp_sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}{suffix}"))
}

/// Pretty JSON of `value` with a final newline, as every JSON file of a report or a results
/// directory is written.
pub(crate) fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s.into_bytes()
}

/// Write `bytes` to a temporary sibling of `path`, then rename it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EvalError> {
    let tmp = temp_sibling(path, ".tmp");
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path)(e)
    })
}
