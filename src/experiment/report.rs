//! What a comparison writes to its results directory: the paper-style Markdown table, JSON
//! (config, metadata, budgets, results), a per-step CSV with one row per (step, strategy,
//! expert, reward), the pairwise reward scatter plot, and (through [`rerender`]) the summary
//! figure and the HTML report.

use super::rerender::{HTML_FILE, SUMMARY_FILE, rerender};
use crate::eval::metrics::pareto_front;
use crate::eval::report::{PaperRow, RunReport, StepLog, StepRow};
use crate::eval::table::Column;
use crate::eval::{EvalError, Summary, plot::write_pairwise_scatter};
use crate::strategy::{Spent, StepRecord};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Per-step CSV inside the results directory.
pub const STEPS_FILE: &str = "steps.csv";
pub use crate::eval::report::PLOT_FILE;

/// One strategy's outcome, evaluated.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StrategyResult {
    /// Strategy name (results with the same name are seeds of one strategy).
    pub name: String,
    /// Evaluation scores, `[sample][objective]`, higher is better.
    pub scores: Vec<Vec<f64>>,
    /// The training log.
    pub log: Vec<StepRecord>,
    /// Compute spent (`budget` in the JSON files).
    #[serde(rename = "budget")]
    pub spent: Spent,
}

/// Paths of the files written.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    /// Markdown table.
    pub markdown: PathBuf,
    /// JSON with config, metadata and results.
    pub json: PathBuf,
    /// Per-step CSV.
    pub steps: PathBuf,
    /// Pairwise scatter plot (PNG).
    pub plot: PathBuf,
    /// Summary figure (PNG): per objective, each strategy's mean and 95 % interval.
    pub summary: PathBuf,
    /// Self-contained HTML report: the Markdown with every plot embedded.
    pub html: PathBuf,
}

/// What a report shows besides the strategies' scores (all optional).
#[derive(Debug, Clone, Default)]
pub struct ReportExtras<'a> {
    /// Published numbers shown beside ours.
    pub paper: &'a [PaperRow],
    /// Reference point of each summary's sample hypervolume
    /// ([`Summary::hypervolume`](crate::eval::Summary::hypervolume)).
    pub hv_reference: Option<&'a [f64]>,
    /// Extra columns of the main table, one value per result.
    pub columns: Vec<Column>,
    /// How the report was made, recorded under `"provenance"` in `results.json`.
    pub provenance: Value,
}

/// Write the report of `results` into `dir`; returns the summaries (one per result) and the
/// files. Budgets are added to `metadata` under `"budgets"`, and the strategies not dominated
/// by another on their per-objective means (averaged over seeds) under
/// `"pareto_front_of_strategies"`. The scatter plot has one series per strategy, seeds pooled.
/// [`write_report_with`] also shows extra columns and records provenance.
pub fn write_report<S: AsRef<str>>(
    dir: &Path,
    objectives: &[S],
    results: &[StrategyResult],
    config: Value,
    metadata: Value,
    paper: &[PaperRow],
    hv_reference: Option<&[f64]>,
) -> Result<(Vec<Summary>, ReportFiles), EvalError> {
    let extras = ReportExtras {
        paper,
        hv_reference,
        ..Default::default()
    };
    write_report_with(dir, objectives, results, config, metadata, extras)
}

/// [`write_report`] with `extras`: the main table gains `extras.columns` and `results.json`
/// records `extras.provenance`. Ends with [`rerender`] (the summary figure and the HTML).
pub fn write_report_with<S: AsRef<str>>(
    dir: &Path,
    objectives: &[S],
    results: &[StrategyResult],
    config: Value,
    metadata: Value,
    extras: ReportExtras<'_>,
) -> Result<(Vec<Summary>, ReportFiles), EvalError> {
    let written = write_tables(dir, objectives, results, config, metadata, extras)?;
    rerender(dir)?;
    Ok(written)
}

/// [`write_report_with`] up to the rendering: the table, JSON, step CSV and scatter plot (for
/// a caller that adds to the Markdown, then calls [`rerender`] itself).
pub(super) fn write_tables<S: AsRef<str>>(
    dir: &Path,
    objectives: &[S],
    results: &[StrategyResult],
    config: Value,
    metadata: Value,
    extras: ReportExtras<'_>,
) -> Result<(Vec<Summary>, ReportFiles), EvalError> {
    let hv_reference = extras.hv_reference;
    let summaries = results
        .iter()
        .map(|r| Summary::new(&r.name, objectives, &r.scores, hv_reference))
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata = metadata;
    let budgets: Vec<Value> = results
        .iter()
        .map(|r| json!({ "strategy": r.name, "budget": r.spent }))
        .collect();
    // Pareto front of the strategies themselves, on their per-objective means (averaged over
    // seeds).
    let names = strategy_names(results);
    let means: Vec<Vec<f64>> = names
        .iter()
        .map(|name| {
            let seeds: Vec<&Summary> = summaries.iter().filter(|s| &s.strategy == name).collect();
            (0..objectives.len())
                .map(|i| {
                    seeds.iter().map(|s| s.per_objective[i].mean).sum::<f64>() / seeds.len() as f64
                })
                .collect()
        })
        .collect();
    let front: Vec<&str> = pareto_front(&means)?
        .into_iter()
        .map(|i| names[i].as_str())
        .collect();
    let extra = json!({ "budgets": budgets, "pareto_front_of_strategies": front });
    match &mut metadata {
        Value::Object(m) => {
            for (k, v) in extra.as_object().expect("object literal") {
                m.insert(k.clone(), v.clone());
            }
        }
        other => *other = json!({ "metadata": other.clone(), "extra": extra }),
    }
    RunReport {
        config,
        metadata,
        results: summaries.clone(),
        paper: extras.paper.to_vec(),
        columns: extras.columns,
        provenance: extras.provenance,
    }
    .write(dir)?;

    // Each file is written under a temporary name and renamed into place, so a reader (or a
    // kill) never sees a half-written one.
    let steps = dir.join(STEPS_FILE);
    let tmp_steps = crate::eval::temp_sibling(&steps, ".tmp");
    if tmp_steps.exists() {
        std::fs::remove_file(&tmp_steps).map_err(|source| EvalError::Io {
            path: tmp_steps.clone(),
            source,
        })?;
    }
    let log = StepLog::open(&tmp_steps)?;
    for r in results {
        log.append(&step_rows(&r.name, &r.log))?;
    }
    rename(&tmp_steps, &steps)?;

    let plot = dir.join(PLOT_FILE);
    // One series per strategy, its seeds pooled.
    let pooled: Vec<(&str, Vec<Vec<f64>>)> = names
        .iter()
        .map(|name| {
            let scores = results
                .iter()
                .filter(|r| &r.name == name)
                .flat_map(|r| r.scores.iter().cloned())
                .collect();
            (name.as_str(), scores)
        })
        .collect();
    let series: Vec<(&str, &[Vec<f64>])> = pooled.iter().map(|(n, s)| (*n, s.as_slice())).collect();
    if objectives.len() >= 2 {
        let tmp_plot = dir.join(format!(".tmp-{}-{PLOT_FILE}", std::process::id()));
        write_pairwise_scatter(&tmp_plot, objectives, &series)?;
        rename(&tmp_plot, &plot)?;
    } else if plot.exists() {
        std::fs::remove_file(&plot).map_err(|source| EvalError::Io {
            path: plot.clone(),
            source,
        })?;
    }
    let files = ReportFiles {
        markdown: dir.join(crate::eval::report::MARKDOWN_FILE),
        json: dir.join(crate::eval::report::JSON_FILE),
        steps,
        plot,
        summary: dir.join(SUMMARY_FILE),
        html: dir.join(HTML_FILE),
    };
    Ok((summaries, files))
}

fn rename(from: &Path, to: &Path) -> Result<(), EvalError> {
    std::fs::rename(from, to).map_err(|source| EvalError::Io {
        path: to.to_path_buf(),
        source,
    })
}

/// Strategy names in order of first appearance (results sharing a name are seeds).
fn strategy_names(results: &[StrategyResult]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in results {
        if !names.contains(&r.name) {
            names.push(r.name.clone());
        }
    }
    names
}

/// CSV rows of a training log: one per (step, expert, reward).
pub fn step_rows(strategy: &str, log: &[StepRecord]) -> Vec<StepRow> {
    log.iter()
        .flat_map(|rec| {
            rec.report.rewards.iter().map(move |r| StepRow {
                step: rec.step as u64,
                strategy: strategy.to_string(),
                expert: rec.expert,
                reward: r.name.clone(),
                raw_mean: r.raw_mean.unwrap_or(f64::NAN),
                raw_std: r.raw_std.unwrap_or(f64::NAN),
                transformed_mean: r.transformed_mean.unwrap_or(f64::NAN),
                optimised_mean: rec.report.optimised,
                kl: rec.report.kl,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
