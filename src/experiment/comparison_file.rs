//! A finished comparison read back from its `results.json`, for the sweeps' reports: each
//! result beside its evaluation metrics, checked to line up.

use super::error::ExperimentError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The `results.json` of a comparison's directory.
pub(super) struct ComparisonFile {
    path: PathBuf,
    /// The whole file.
    pub json: Value,
}

impl ComparisonFile {
    /// Read and parse `dir/results.json`.
    pub fn read(dir: &Path) -> Result<Self, ExperimentError> {
        let path = dir.join("results.json");
        let text = std::fs::read_to_string(&path).map_err(|source| ExperimentError::Io {
            path: path.clone(),
            source,
        })?;
        let json = serde_json::from_str(&text);
        let mut file = Self {
            path,
            json: Value::Null,
        };
        file.json = json.map_err(|e| file.bad(&e.to_string()))?;
        Ok(file)
    }

    /// An error naming the file and `what` is wrong with it.
    pub fn bad(&self, what: &str) -> ExperimentError {
        ExperimentError::Task(format!(
            "{}: {what}; run the comparison into it again",
            self.path.display()
        ))
    }

    /// Each result with its metrics entry (`strategy`, `seed`, `metrics`), in order.
    pub fn runs(&self) -> Result<Vec<(&Value, &Value)>, ExperimentError> {
        let (Some(results), Some(metrics)) = (
            self.json["results"].as_array(),
            self.json["metadata"]["metrics"].as_array(),
        ) else {
            return Err(self.bad("no results or metrics"));
        };
        if results.len() != metrics.len() {
            return Err(self.bad("results and metrics differ in length"));
        }
        let runs: Vec<(&Value, &Value)> = results.iter().zip(metrics).collect();
        if runs.iter().any(|(r, m)| m["strategy"] != r["strategy"]) {
            return Err(self.bad("results and metrics disagree on the order"));
        }
        Ok(runs)
    }
}
