//! The results directory of a comparison ([`ResultsDir`]): made ready (emptied, or checked to
//! hold the same settings when resuming), every finished run kept losslessly in `runs/`
//! ([`SavedRun`]) so that a resumed comparison skips it, the points along each run, and every
//! file written atomically.

use super::ablation;
use super::config::ComparisonConfig;
use super::curve::{self, CurvePoint};
use super::error::{ExperimentError, io};
use super::report::{PLOT_FILE, STEPS_FILE, StrategyResult};
use crate::eval::report::{JSON_FILE, MARKDOWN_FILE};
use crate::eval::write_atomic;
use crate::strategy::Strategy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Folder of the finished runs inside the results directory.
pub const RUNS_DIR: &str = "runs";
/// Folder of the kept trained policies inside the results directory.
pub const POLICIES_DIR: &str = "policies";
/// Default checkpoint folder inside the results directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Wall-clock timings inside the results directory.
pub const TIMINGS_FILE: &str = "timings.json";
/// The settings a results directory was made with, inside [`RUNS_DIR`].
const SETTINGS_FILE: &str = "settings.json";
/// Files of a report, removed when a results directory is reused without resuming.
const REPORT_FILES: [&str; 8] = [
    MARKDOWN_FILE,
    JSON_FILE,
    STEPS_FILE,
    PLOT_FILE,
    TIMINGS_FILE,
    curve::CSV_FILE,
    curve::PLOT_FILE,
    ablation::PLOT_FILE,
];

/// A finished run's evaluation as kept in `runs/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedRun {
    /// The run's result in the report.
    #[serde(flatten)]
    pub result: StrategyResult,
    /// The seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// The planned strategy (`null` for the pretrained policy).
    pub plan: Value,
    /// The task's metrics of the evaluation, with the KL.
    pub metrics: Value,
    /// Wall-clock seconds of the run and its evaluation.
    pub seconds: f64,
}

impl SavedRun {
    /// The evaluation `result` of a run of `plan` (seed `seed`), with the task's `metrics`,
    /// after `seconds`.
    pub fn new(
        result: StrategyResult,
        seed: Option<u64>,
        plan: Value,
        metrics: Value,
        seconds: f64,
    ) -> Self {
        Self {
            result,
            seed,
            plan,
            metrics,
            seconds,
        }
    }

    /// What ranks other than 0 hold in place of an evaluation (they evaluate nothing).
    pub fn placeholder() -> Self {
        let result = StrategyResult {
            name: String::new(),
            scores: Vec::new(),
            log: Vec::new(),
            spent: Default::default(),
        };
        Self::new(result, None, Value::Null, Value::Null, 0.0)
    }
}

/// Pretty JSON of `value` with a final newline, as every file of a results directory is
/// written.
pub(super) fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s.into_bytes()
}

/// File-name form of a strategy label ("Rewarded Soups" → "rewarded-soups").
pub(super) fn slug(name: &str) -> String {
    let dashed: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    dashed
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A comparison's results directory and whether it continues an earlier invocation.
#[derive(Debug, Clone)]
pub(super) struct ResultsDir {
    /// The directory.
    pub out: PathBuf,
    /// Finished runs are read back instead of trained again.
    pub resume: bool,
}

impl ResultsDir {
    /// `runs/<name>`.
    pub fn run_file(&self, name: &str) -> PathBuf {
        self.out.join(RUNS_DIR).join(name)
    }

    /// Make the directory ready for `config`: writable, and emptied of an earlier
    /// invocation's files unless resuming (then checked to hold the same settings).
    pub fn prepare(&self, config: &ComparisonConfig) -> Result<(), ExperimentError> {
        let out = &self.out;
        let unwritable = |source| ExperimentError::Unwritable {
            path: out.clone(),
            source,
        };
        std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(unwritable)?;
        let probe = out.join(format!(".write-test-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(unwritable)?;
        let _ = std::fs::remove_file(&probe);
        let settings_path = self.run_file(SETTINGS_FILE);
        if self.resume {
            if let Ok(old) = std::fs::read(&settings_path) {
                // More or fewer seeds and strategies may be resumed; the rest must match.
                let comparable = |c: ComparisonConfig| ComparisonConfig {
                    seeds: 0,
                    strategies: Vec::new(),
                    ..c
                };
                let old = serde_json::from_slice(&old).ok().map(comparable);
                if old != Some(comparable(config.clone())) {
                    return Err(ExperimentError::Resume(format!(
                        "{} was made with other settings ({}); start without resuming or \
                         choose another results directory",
                        out.display(),
                        settings_path.display()
                    )));
                }
            }
        } else {
            for name in REPORT_FILES {
                let p = out.join(name);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(io(&p))?;
                }
            }
            let dirs = [RUNS_DIR, CHECKPOINTS_DIR, POLICIES_DIR];
            for dir in dirs.map(|d| out.join(d)) {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
                }
            }
            std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(io(out))?;
        }
        Ok(write_atomic(&settings_path, &json_bytes(config))?)
    }

    /// What an earlier invocation kept in `path`, when resuming and it exists.
    pub fn read_kept<T: DeserializeOwned>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, ExperimentError> {
        if !self.resume || !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(path).map_err(io(path))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ExperimentError::Resume(format!("{} cannot be read: {e}", path.display())))
    }

    /// A finished run kept in `path`, if resuming and it is there, checked to be of `plan` and
    /// `seed`.
    pub fn saved_run(
        &self,
        path: &Path,
        plan: &Value,
        seed: Option<u64>,
    ) -> Result<Option<SavedRun>, ExperimentError> {
        let Some(run) = self.read_kept::<SavedRun>(path)? else {
            return Ok(None);
        };
        if !same_plan(&run.plan, plan) || run.seed != seed {
            return Err(ExperimentError::Resume(format!(
                "{} holds a run with other settings; start without resuming",
                path.display()
            )));
        }
        Ok(Some(run))
    }

    /// Keep `value` in `path` (atomically).
    pub fn keep<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), ExperimentError> {
        Ok(write_atomic(path, &json_bytes(value))?)
    }

    /// Points evaluated along a run so far (`key.curve.json`), when resuming.
    pub fn curve_points(&self, key: &str) -> Result<Vec<CurvePoint>, ExperimentError> {
        let path = self.run_file(&format!("{key}.curve.json"));
        Ok(self.read_kept(&path)?.unwrap_or_default())
    }

    /// Keep the points evaluated along a run.
    pub fn keep_curve_points(
        &self,
        key: &str,
        points: &[CurvePoint],
    ) -> Result<(), ExperimentError> {
        self.keep(&self.run_file(&format!("{key}.curve.json")), &points)
    }
}

/// Whether two recorded plans are the same strategy (compared as settings, so a plan written
/// before a field was added or renamed still matches).
fn same_plan(saved: &Value, plan: &Value) -> bool {
    match (
        serde_json::from_value::<Strategy>(saved.clone()),
        serde_json::from_value::<Strategy>(plan.clone()),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => saved == plan,
    }
}
