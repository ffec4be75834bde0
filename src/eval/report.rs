//! Run reports: the paper-layout Markdown table, the JSON report, and the per-step CSV log.

use super::metrics::Summary;
use super::table::{Column, markdown_table_with, table_json};
use super::{EvalError, io_err, write_atomic};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};

/// File name of the Markdown table written by [`RunReport::write`].
pub const MARKDOWN_FILE: &str = "results.md";
/// File name of the JSON report written by [`RunReport::write`].
pub const JSON_FILE: &str = "results.json";
/// Scatter plot inside the results directory.
pub const PLOT_FILE: &str = "scatter.png";

pub use super::table::PaperRow;

/// Everything one evaluation run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Caller-supplied configuration (hyperparameters, task, ...).
    pub config: Value,
    /// Caller-supplied metadata (commit, date, backend, timings, ...).
    pub metadata: Value,
    /// One summary per (strategy, seed); summaries sharing a strategy name are seeds.
    pub results: Vec<Summary>,
    /// Published numbers to compare against; may be empty.
    pub paper: Vec<PaperRow>,
    /// Extra columns of the table (one value per summary), e.g. the KL to the pretrained
    /// policy; may be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// How the report was made (crate version, commit, ...); `null` when not recorded.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub provenance: Value,
}

impl RunReport {
    /// Write [`MARKDOWN_FILE`] ([`markdown_table_with`]) and [`JSON_FILE`] (this report, with
    /// the table's numbers under `"table"`: [`table_json`]) into `dir` (created if missing),
    /// each atomically.
    pub fn write(&self, dir: &Path) -> Result<(), EvalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let markdown = markdown_table_with(&self.results, &self.columns, &self.paper)?;
        /// The report followed by its table's numbers, fields in order.
        #[derive(Serialize)]
        struct WithTable<'r> {
            #[serde(flatten)]
            report: &'r RunReport,
            table: Value,
        }
        let table = table_json(&self.results, &self.columns);
        let mut json = serde_json::to_string_pretty(&WithTable {
            report: self,
            table,
        })?;
        json.push('\n');
        write_atomic(&dir.join(MARKDOWN_FILE), markdown.as_bytes())?;
        write_atomic(&dir.join(JSON_FILE), json.as_bytes())
    }
}

/// [`markdown_table_with`] without extra columns.
pub fn markdown_table(results: &[Summary], paper: &[PaperRow]) -> Result<String, EvalError> {
    markdown_table_with(results, &[], paper)
}

/// Header of the per-step CSV log; one row per (step, strategy, expert, reward).
pub const STEP_LOG_HEADER: &str =
    "step,strategy,expert,reward,raw_mean,raw_std,transformed_mean,optimised_mean,kl";

/// One row of the per-step log: statistics of one reward for one policy at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Training step.
    pub step: u64,
    /// Strategy name, e.g. `IterativeRS`.
    pub strategy: String,
    /// Expert index for strategies training several policies; `None` (empty cell) otherwise.
    pub expert: Option<usize>,
    /// Reward (objective) name.
    pub reward: String,
    /// Batch mean of the raw reward.
    pub raw_mean: f64,
    /// Batch population std of the raw reward.
    pub raw_std: f64,
    /// Batch mean after the reward transform (normalisation, clipping, ...).
    pub transformed_mean: f64,
    /// Batch mean of the scalar reward actually optimised (e.g. MORLHF's weighted sum).
    pub optimised_mean: f64,
    /// KL divergence to the reference policy.
    pub kl: f64,
}

/// Appendable CSV log of [`StepRow`]s with header [`STEP_LOG_HEADER`].
#[derive(Debug, Clone)]
pub struct StepLog {
    path: PathBuf,
}

impl StepLog {
    /// Open `path` for appending: creates it (and its parent folder) with the header if it is
    /// missing or empty, otherwise checks that its header is [`STEP_LOG_HEADER`].
    pub fn open(path: &Path) -> Result<Self, EvalError> {
        let io = io_err(path);
        match std::fs::File::open(path) {
            Ok(file) => {
                let mut first = String::new();
                BufReader::new(file).read_line(&mut first).map_err(io)?;
                let first = first.trim_end_matches(['\r', '\n']);
                if first.is_empty() {
                    std::fs::write(path, format!("{STEP_LOG_HEADER}\n")).map_err(io_err(path))?;
                } else if first != STEP_LOG_HEADER {
                    return Err(EvalError::CsvHeader {
                        path: path.to_path_buf(),
                        found: first.to_owned(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                }
                std::fs::write(path, format!("{STEP_LOG_HEADER}\n")).map_err(io_err(path))?;
            }
            Err(e) => return Err(io(e)),
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `rows` in one write.
    pub fn append(&self, rows: &[StepRow]) -> Result<(), EvalError> {
        let mut text = String::new();
        for r in rows {
            let expert = r.expert.map(|e| e.to_string()).unwrap_or_default();
            let _ = writeln!(
                text,
                "{},{},{expert},{},{},{},{},{},{}",
                r.step,
                csv_field(&r.strategy),
                csv_field(&r.reward),
                r.raw_mean,
                r.raw_std,
                r.transformed_mean,
                r.optimised_mean,
                r.kl
            );
        }
        let io = io_err(&self.path);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        file.write_all(text.as_bytes()).map_err(io)
    }
}

/// Quote a CSV field (RFC 4180) when it holds a comma, quote or line break.
fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(strategy: &str, scores: &[[f64; 3]]) -> Summary {
        let scores: Vec<Vec<f64>> = scores.iter().map(|r| r.to_vec()).collect();
        Summary::new(strategy, &["α", "gap", "U0"], &scores, None).unwrap()
    }

    /// Seeds of MORLHF (interleaved with other strategies), IterativeRS and RiC.
    /// `[[1,4,3],[3,2,5]]`: μ = (2,3,4), σ = (1,1,1), ICV-B = 3; sample averages 8/3 and 10/3,
    /// ICV-A = 3 / (1/3) = 9. Adding 1 everywhere: μ = (3,4,5), ICV-B = 4, ICV-A = 12.
    fn results() -> Vec<Summary> {
        vec![
            summary("MORLHF", &[[1., 4., 3.], [3., 2., 5.]]),
            summary("IterativeRS", &[[1., 4., 3.], [3., 2., 5.]]),
            summary("MORLHF", &[[2., 5., 4.], [4., 3., 6.]]),
            summary("RiC", &[[1., 2., 3.], [3., 2., 5.]]),
        ]
    }

    fn paper() -> Vec<PaperRow> {
        vec![PaperRow {
            method: "MORLHF".into(),
            objectives: vec![1.4229, 0.9355, 1.5146],
            avg: 1.2910,
            icv: 4.19,
        }]
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mr-eval-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn markdown_table_has_paper_layout_and_numbers() {
        let md = markdown_table(&results(), &paper()).unwrap();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "| Method | α | gap | U0 | Avg | ICV-A | ICV-B |");
        assert_eq!(lines[1], "|---|---|---|---|---|---|---|");
        assert_eq!(
            lines[2],
            "| MORLHF | 2.5000 ± 0.5000 | 3.5000 ± 0.5000 | 4.5000 ± 0.5000 \
             | 3.5000 ± 0.5000 | 10.50 ± 1.50 | 3.50 ± 0.50 |"
        );
        assert_eq!(
            lines[3],
            "| IterativeRS | 2.0000 | 3.0000 | 4.0000 | 3.0000 | 9.00 | 3.00 |"
        );
        // gap is constant for RiC, so ICV-B is undefined; sample averages 2, 10/3 → ICV-A 4.
        assert_eq!(
            lines[4],
            "| RiC | 2.0000 | 2.0000 | 4.0000 | 2.6667 | 4.00 | n/a |"
        );
        assert!(lines.contains(&"| Method | α | gap | U0 | Avg | ICV |"));
        assert_eq!(
            lines.last(),
            Some(&"| MORLHF | 1.4229 | 0.9355 | 1.5146 | 1.2910 | 4.19 |")
        );
    }

    #[test]
    fn markdown_table_rejects_inconsistent_input() {
        assert!(matches!(markdown_table(&[], &[]), Err(EvalError::Empty)));
        let mut other = results();
        other[1].objectives[0] = "beta".into();
        assert!(matches!(
            markdown_table(&other, &[]),
            Err(EvalError::ObjectiveNames(..))
        ));
        let mut short = paper();
        short[0].objectives.pop();
        assert!(matches!(
            markdown_table(&results(), &short),
            Err(EvalError::Mismatch { .. })
        ));
    }

    #[test]
    fn report_writes_markdown_and_json() {
        let dir = temp_dir("report");
        let report = RunReport {
            config: serde_json::json!({"task": "qm9", "m": 4}),
            metadata: serde_json::json!({"backend": "flex"}),
            results: results(),
            paper: paper(),
            columns: Vec::new(),
            provenance: Value::Null,
        };
        report.write(&dir).unwrap();
        report.write(&dir).unwrap(); // overwriting is fine
        let md = std::fs::read_to_string(dir.join(MARKDOWN_FILE)).unwrap();
        assert_eq!(md, markdown_table(&report.results, &report.paper).unwrap());
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(JSON_FILE)).unwrap()).unwrap();
        assert_eq!(json["config"]["m"], 4);
        assert_eq!(json["results"][1]["strategy"], "IterativeRS");
        assert!((json["results"][1]["icv_a"].as_f64().unwrap() - 9.0).abs() < 1e-9);
        let back: RunReport = serde_json::from_value(json).unwrap();
        assert_eq!((back.results.len(), back.paper), (4, report.paper.clone()));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no temp files left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn step_log_appends_rows() {
        let dir = temp_dir("csv");
        let path = dir.join("logs/steps.csv");
        let row = |step, strategy: &str, expert| StepRow {
            step,
            strategy: strategy.into(),
            expert,
            reward: "gap".into(),
            raw_mean: 0.5,
            raw_std: 0.25,
            transformed_mean: -1.5,
            optimised_mean: 2.0,
            kl: 0.125,
        };
        let log = StepLog::open(&path).unwrap();
        log.append(&[row(0, "MORLHF", None), row(0, "Iterative,RS", Some(2))])
            .unwrap();
        StepLog::open(&path)
            .unwrap()
            .append(&[row(1, "MORLHF", None)])
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], STEP_LOG_HEADER);
        assert_eq!(lines[1], "0,MORLHF,,gap,0.5,0.25,-1.5,2,0.125");
        assert_eq!(lines[2], "0,\"Iterative,RS\",2,gap,0.5,0.25,-1.5,2,0.125");
        assert_eq!(lines[3], "1,MORLHF,,gap,0.5,0.25,-1.5,2,0.125");

        std::fs::write(&path, "").unwrap();
        StepLog::open(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{STEP_LOG_HEADER}\n")
        );
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(matches!(
            StepLog::open(&path),
            Err(EvalError::CsvHeader { found, .. }) if found == "a,b"
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
