//! The results at a glance, rendered from a results directory's own files ([`rerender`]):
//! `summary.png` from `results.json`, and `report.html` from `results.md`, `results.json` and
//! every PNG beside them. A comparison's report ends with the same call, so rendering a
//! directory again reproduces its files byte for byte.

use super::{ablation, curve};
use crate::eval::html::{Image, Page};
use crate::eval::report::{JSON_FILE, MARKDOWN_FILE, PLOT_FILE as SCATTER_FILE, RunReport};
use crate::eval::summary_plot::{StrategySummary, SummaryFigure, write_summary_plot};
use crate::eval::{EvalError, Summary, write_atomic};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The summary figure inside the results directory.
pub const SUMMARY_FILE: &str = "summary.png";
/// The self-contained HTML report inside the results directory.
pub const HTML_FILE: &str = "report.html";

/// Paths of the files [`rerender`] writes.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedFiles {
    /// [`SUMMARY_FILE`]: per objective, each strategy's mean with its 95 % interval, and the
    /// strategies' reward–KL positions.
    pub summary: PathBuf,
    /// [`HTML_FILE`]: `results.md` as HTML with every plot of the directory embedded.
    pub html: PathBuf,
}

/// (Re)write `summary.png` and `report.html` of the results directory `dir` from its
/// `results.json`, `results.md` and PNG plots; nothing else is changed. The KL of each result
/// and which one is the pretrained policy are read from `metadata.metrics` (as a comparison
/// records them); without them the figure has no reward–KL panel.
///
/// # Errors
/// [`EvalError::NotAReport`] naming the file when `dir` is not a folder, `results.json` or
/// `results.md` is missing, or `results.json` is not a report (another format, no results,
/// results that disagree on the objectives); [`EvalError::Io`], [`EvalError::Plot`].
pub fn rerender(dir: &Path) -> Result<RenderedFiles, EvalError> {
    let not_a_report = |path: &Path, problem: String| EvalError::NotAReport {
        path: path.to_path_buf(),
        problem,
    };
    if !dir.is_dir() {
        let problem = match dir.exists() {
            true => "is not a folder",
            false => "does not exist",
        };
        return Err(not_a_report(dir, problem.into()));
    }
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_a_report(&path, "is missing".into()),
            _ => EvalError::Io {
                path: path.clone(),
                source: e,
            },
        })
    };
    let json_path = dir.join(JSON_FILE);
    let json = read(JSON_FILE)?;
    let report: RunReport = serde_json::from_slice(&json).map_err(|e| {
        not_a_report(
            &json_path,
            format!("is not a results.json of a report ({e})"),
        )
    })?;
    let objectives = objectives_of(&report.results).map_err(|p| not_a_report(&json_path, p))?;
    let markdown = read(MARKDOWN_FILE)?;
    let markdown = String::from_utf8(markdown)
        .map_err(|_| not_a_report(&dir.join(MARKDOWN_FILE), "is not UTF-8 text".into()))?;

    let (strategies, pretrained) = strategies_of(&report)?;
    let summary = dir.join(SUMMARY_FILE);
    let figure = SummaryFigure {
        objectives: &objectives,
        strategies: &strategies,
        pretrained,
    };
    write_summary_plot(&summary, figure)?;

    let page = Page {
        title: title(&objectives, &strategies, pretrained),
        facts: facts(&report),
        lead: vec![image(dir, SUMMARY_FILE)?],
        markdown,
        images: plots(dir)?
            .iter()
            .map(|name| image(dir, name))
            .collect::<Result<_, _>>()?,
    };
    let html = dir.join(HTML_FILE);
    write_atomic(&html, page.render().as_bytes())?;
    Ok(RenderedFiles { summary, html })
}

/// The objectives every result shares; why not, when they do not.
fn objectives_of(results: &[Summary]) -> Result<Vec<String>, String> {
    let first = results.first().ok_or("records no results")?;
    let bad = results.iter().find(|s| {
        s.objectives != first.objectives || s.per_objective.len() != first.objectives.len()
    });
    match (first.objectives.is_empty(), bad) {
        (true, _) => Err("records results without objectives".into()),
        (false, Some(s)) => Err(format!(
            "its results disagree on the objectives ({:?} for {}, {:?} first)",
            s.objectives, s.strategy, first.objectives
        )),
        (false, None) => Ok(first.objectives.clone()),
    }
}

/// The strategies in order of first appearance, each from its seeds with their KL, and which
/// one is the pretrained policy. A result's KL and seed are those of `metadata.metrics` at
/// its index, when that entry names the same strategy; the pretrained policy is the result
/// recorded there without a seed.
fn strategies_of(report: &RunReport) -> Result<(Vec<StrategySummary>, Option<usize>), EvalError> {
    let metrics = report.metadata["metrics"].as_array();
    let recorded = |i: usize, s: &Summary| -> Option<&Value> {
        metrics?
            .get(i)
            .filter(|m| m["strategy"].as_str() == Some(s.strategy.as_str()))
    };
    let mut names: Vec<&str> = Vec::new();
    for s in &report.results {
        if !names.contains(&s.strategy.as_str()) {
            names.push(&s.strategy);
        }
    }
    let pretrained = (report.results.iter().enumerate())
        .find(|&(i, s)| recorded(i, s).is_some_and(|m| m.get("seed") == Some(&Value::Null)))
        .and_then(|(_, s)| names.iter().position(|n| *n == s.strategy));
    let strategies = names
        .iter()
        .map(|&name| {
            let seeds: Vec<(&Summary, Option<f64>)> = (report.results.iter().enumerate())
                .filter(|(_, s)| s.strategy == name)
                .map(|(i, s)| (s, recorded(i, s).and_then(|m| m["metrics"]["kl"].as_f64())))
                .collect();
            StrategySummary::of(name, &seeds)
        })
        .collect::<Result<_, _>>()?;
    Ok((strategies, pretrained))
}

/// The page's title: the strategies compared (the pretrained policy, when it is alone: the
/// report before any run) on the objectives.
fn title(
    objectives: &[String],
    strategies: &[StrategySummary],
    pretrained: Option<usize>,
) -> String {
    let mut names: Vec<&str> = (strategies.iter().enumerate())
        .filter(|&(s, _)| Some(s) != pretrained)
        .map(|(_, s)| s.name.as_str())
        .collect();
    if names.is_empty() {
        names = strategies.iter().map(|s| s.name.as_str()).collect();
    }
    format!("{} on {}", names.join(", "), objectives.join(", "))
}

/// The lines under the page's heading: policy, seeds, evaluation, commit (those recorded).
fn facts(report: &RunReport) -> Vec<String> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let seeds = report.config["comparison"]["seeds"].as_u64();
    [
        text(&report.config["task"]["policy"]).map(|p| format!("Policy: {p}")),
        seeds.map(|n| format!("Seeds per strategy: {n}")),
        text(&report.metadata["evaluation"]).map(|e| format!("Evaluation: {e}")),
        text(&report.provenance["git_commit"]).map(|c| format!("Commit: {c}")),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The directory's PNG plots besides the summary: the scatter plot first, the others by name.
fn plots(dir: &Path) -> Result<Vec<String>, EvalError> {
    let io = |source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let png = name.ends_with(".png") && !name.starts_with('.') && name != SUMMARY_FILE;
        if png && entry.file_type().map_err(io)?.is_file() {
            names.push(name);
        }
    }
    names.sort_by_key(|n| (n != SCATTER_FILE, n.clone()));
    Ok(names)
}

/// The plot `name` of `dir` with its caption.
fn image(dir: &Path, name: &str) -> Result<Image, EvalError> {
    let path = dir.join(name);
    let png = std::fs::read(&path).map_err(|source| EvalError::Io { path, source })?;
    let caption = match name {
        SUMMARY_FILE => {
            "each strategy's mean score per objective with its 95 % confidence interval, and \
             its average objective against its KL to the pretrained policy"
        }
        SCATTER_FILE => "every evaluation sample's scores, pair by pair of objectives",
        curve::PLOT_FILE => "average reward against KL along the runs",
        ablation::PLOT_FILE => "IterativeRS against its merge period m",
        _ => "a plot of this results directory",
    };
    Ok(Image {
        name: name.into(),
        caption: caption.into(),
        png,
    })
}
