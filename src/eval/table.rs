//! The main results table ([`markdown_table_with`]): one row per strategy, its seeds
//! aggregated as mean ± standard error ([`SeedStats`]), the paper's columns followed by extra
//! [`Column`]s (e.g. KL to the pretrained policy, a realism measure, the hypervolume), and the
//! same numbers as JSON ([`table_json`]).

use super::EvalError;
use super::metrics::Summary;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fmt::Write as _;

/// One row of a published results table (docs/algorithms.md, "Metrics of the paper"), shown
/// beside ours for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperRow {
    /// Method name.
    pub method: String,
    /// Per-objective mean rewards, in the objectives' order.
    pub objectives: Vec<f64>,
    /// Reported Avg.
    pub avg: f64,
    /// Reported ICV (the paper's definition is unknown).
    pub icv: f64,
}

impl PaperRow {
    /// A row from the method's name, its per-objective means, Avg and ICV.
    pub fn new(method: &str, objectives: &[f64], avg: f64, icv: f64) -> Self {
        Self {
            method: method.into(),
            objectives: objectives.to_vec(),
            avg,
            icv,
        }
    }
}

/// One quantity over seeds: its mean, population std and standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeedStats {
    /// Number of seeds.
    pub n: usize,
    /// Mean over seeds.
    pub mean: f64,
    /// Population standard deviation over seeds (divides by n).
    pub std: f64,
    /// Standard error of the mean: sample std (divides by n − 1) / √n; `None` for one seed.
    pub se: Option<f64>,
}

impl SeedStats {
    /// Statistics of `values` (one per seed); the mean is NaN when `values` is empty.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let squares = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        Self {
            n,
            mean,
            std: (squares / n as f64).sqrt(),
            se: (n >= 2).then(|| (squares / (n - 1) as f64).sqrt() / (n as f64).sqrt()),
        }
    }

    /// The table's cell: the value for one seed, `mean ± se` for several.
    pub fn cell(&self, format: Format) -> String {
        match self.se {
            None => format.show(self.mean),
            Some(se) => format.show_pm(self.mean, se),
        }
    }
}

/// How a column's numbers are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// With this many decimals.
    Decimals(usize),
    /// A fraction as a percentage with this many decimals (`0.95` → `95.0 %`).
    Percent(usize),
}

impl Format {
    /// One value (a value that rounds to zero shows no minus sign).
    pub fn show(self, v: f64) -> String {
        match self {
            Self::Decimals(d) => unsigned_zero(format!("{v:.d$}")),
            Self::Percent(d) => format!("{} %", unsigned_zero(format!("{:.d$}", 100.0 * v))),
        }
    }

    /// A value and its uncertainty.
    pub fn show_pm(self, v: f64, pm: f64) -> String {
        match self {
            Self::Decimals(_) => format!("{} ± {}", self.show(v), self.show(pm)),
            Self::Percent(d) => {
                let pm = unsigned_zero(format!("{:.d$}", 100.0 * pm));
                format!("{} ± {pm} %", unsigned_zero(format!("{:.d$}", 100.0 * v)))
            }
        }
    }
}

/// `-0.00` (a tiny negative value, e.g. the pretrained policy's KL to itself) as `0.00`.
fn unsigned_zero(shown: String) -> String {
    match shown.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => shown,
    }
}

/// An extra column of the main table: a header, how its numbers are shown, one value per
/// summary (aligned with the table's summaries; `None`: not available, shown `n/a` for the
/// strategy), and a sentence for the note under the table (may be empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Header, e.g. `KL to pretrained`.
    pub header: String,
    /// How the numbers are shown.
    pub format: Format,
    /// One value per summary.
    pub values: Vec<Option<f64>>,
    /// What the column means, for the note under the table.
    pub note: String,
}

/// Strategy names in order of first appearance (summaries sharing a name are seeds).
fn strategies(results: &[Summary]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for s in results {
        if !names.contains(&s.strategy.as_str()) {
            names.push(&s.strategy);
        }
    }
    names
}

/// Every column of the table (objectives, Avg, ICV-A, ICV-B, then `extra`): header, format
/// and one value per summary.
fn columns<'a>(
    results: &[Summary],
    extra: &'a [Column],
) -> Vec<(Cow<'a, str>, Format, Vec<Option<f64>>)> {
    let names = results.first().map_or(&[][..], |s| &s.objectives[..]);
    let mut all: Vec<(Cow<'a, str>, Format, Vec<Option<f64>>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let values = results
            .iter()
            .map(|s| Some(s.per_objective[i].mean))
            .collect();
        all.push((Cow::Owned(name.clone()), Format::Decimals(4), values));
    }
    all.push((
        "Avg".into(),
        Format::Decimals(4),
        results.iter().map(|s| Some(s.avg)).collect(),
    ));
    all.push((
        "ICV-A".into(),
        Format::Decimals(2),
        results.iter().map(|s| s.icv_a).collect(),
    ));
    all.push((
        "ICV-B".into(),
        Format::Decimals(2),
        results.iter().map(|s| s.icv_b).collect(),
    ));
    for c in extra {
        all.push((Cow::Borrowed(c.header.as_str()), c.format, c.values.clone()));
    }
    all
}

/// Statistics over the seeds of `strategy` of one column's `values`; `None` when any seed has
/// no value.
fn stats_of(results: &[Summary], values: &[Option<f64>], strategy: &str) -> Option<SeedStats> {
    let seeds: Option<Vec<f64>> = results
        .iter()
        .zip(values)
        .filter(|(s, _)| s.strategy == strategy)
        .map(|(_, v)| *v)
        .collect();
    seeds.map(|v| SeedStats::of(&v))
}

/// Check that the summaries share their objectives and that every extra column has one value
/// per summary.
fn check(results: &[Summary], extra: &[Column], paper: &[PaperRow]) -> Result<(), EvalError> {
    let names = &results.first().ok_or(EvalError::Empty)?.objectives;
    if let Some(other) = results.iter().find(|s| &s.objectives != names) {
        return Err(EvalError::ObjectiveNames(
            names.clone(),
            other.objectives.clone(),
        ));
    }
    let mismatch = |what, expected, got| {
        Err(EvalError::Mismatch {
            what,
            expected,
            got,
        })
    };
    if let Some(s) = results
        .iter()
        .find(|s| s.per_objective.len() != names.len())
    {
        return mismatch(
            "per-objective statistics vs objective names",
            names.len(),
            s.per_objective.len(),
        );
    }
    if let Some(row) = paper.iter().find(|r| r.objectives.len() != names.len()) {
        return mismatch(
            "paper row objectives vs objective names",
            names.len(),
            row.objectives.len(),
        );
    }
    if let Some(c) = extra.iter().find(|c| c.values.len() != results.len()) {
        return mismatch(
            "extra column values vs summaries",
            results.len(),
            c.values.len(),
        );
    }
    Ok(())
}

/// The sentence on one evaluation's own noise: the standard errors over samples (std / √n)
/// of the first strategy evaluated once (e.g. the pretrained policy); empty when none is.
fn own_error_note(results: &[Summary], counts: &[usize]) -> String {
    let single = strategies(results)
        .into_iter()
        .zip(counts)
        .find(|(_, c)| **c == 1)
        .and_then(|(name, _)| results.iter().find(|s| s.strategy == name));
    let Some(s) = single.filter(|s| s.n_samples >= 2) else {
        return String::new();
    };
    let root = (s.n_samples as f64).sqrt();
    let mut parts: Vec<String> = (s.objectives.iter())
        .zip(&s.per_objective)
        .map(|(name, m)| format!("{name} {:.4}", m.std / root))
        .collect();
    if let Some(std) = s.avg_std {
        parts.push(format!("Avg {:.4}", std / root));
    }
    format!(
        " One evaluation's own standard error over its {} samples (std / √n, from the {} row): \
         {}; a difference between two single evaluations smaller than about 2.8 times this \
         (1.96 × √2) is within their noise.",
        s.n_samples,
        s.strategy,
        parts.join(", ")
    )
}

/// The sentence on the spread: `± standard error over N seeds`, from the seed counts of the
/// strategies with several.
pub fn uncertainty_note(seed_counts: &[usize]) -> String {
    let several: Vec<usize> = seed_counts.iter().copied().filter(|&n| n >= 2).collect();
    let (Some(lo), Some(hi)) = (several.iter().min(), several.iter().max()) else {
        return "One evaluation per strategy (one seed): no spread over seeds is shown.".into();
    };
    let over = if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}–{hi}")
    };
    format!(
        "`a ± b`: mean ± standard error over {over} seeds (sample std / √n; results.json also \
         has the population std); rows without ± have one evaluation."
    )
}

/// Markdown in the paper's layout, `| Method | <objectives…> | Avg | ICV-A | ICV-B |`, then one
/// column per `extra`; one row per strategy in order of first appearance; a note; and (when
/// `paper` is non-empty) a `| Method | <objectives…> | Avg | ICV |` table of the published
/// numbers.
///
/// Rewards have 4 decimals and ICVs 2, as in the paper. A strategy with several summaries
/// (seeds) shows `mean ± standard error` over seeds ([`SeedStats`]); a value missing in any
/// seed (an undefined ICV, an extra column's `None`) shows `n/a`. All summaries and paper rows
/// must have the same objectives, and every extra column one value per summary.
pub fn markdown_table_with(
    results: &[Summary],
    extra: &[Column],
    paper: &[PaperRow],
) -> Result<String, EvalError> {
    check(results, extra, paper)?;
    let names = &results[0].objectives;
    let all = columns(results, extra);
    let mut md = String::new();
    let header = |md: &mut String, headers: &mut dyn Iterator<Item = &str>| {
        md.push_str("| Method |");
        let mut count = 1;
        for h in headers {
            let _ = write!(md, " {} |", escape_cell(h));
            count += 1;
        }
        let _ = write!(md, "\n|{}\n", "---|".repeat(count));
    };
    header(&mut md, &mut all.iter().map(|(h, ..)| h.as_ref()));
    let mut counts = Vec::new();
    for strategy in strategies(results) {
        counts.push(results.iter().filter(|s| s.strategy == strategy).count());
        let cells: Vec<String> = all
            .iter()
            .map(|(_, format, values)| {
                stats_of(results, values, strategy).map_or("n/a".into(), |s| s.cell(*format))
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", escape_cell(strategy), cells.join(" | "));
    }
    md.push_str(
        "\nMean rewards over samples. ICV-A: mean/std over samples of each sample's average \
         reward. ICV-B: mean over objectives of μ_i/σ_i (population std over samples; n/a: \
         zero std).",
    );
    for c in extra.iter().filter(|c| !c.note.is_empty()) {
        let _ = write!(md, " {}", c.note);
    }
    let _ = writeln!(
        md,
        " {}{}",
        uncertainty_note(&counts),
        own_error_note(results, &counts)
    );
    if !paper.is_empty() {
        md.push_str("\nPaper reference numbers (ICV as published; its definition is unknown):\n\n");
        let last = ["Avg", "ICV"];
        header(&mut md, &mut names.iter().map(String::as_str).chain(last));
        for row in paper {
            let values: Vec<String> = row.objectives.iter().map(|v| format!("{v:.4}")).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {:.4} | {:.2} |",
                escape_cell(&row.method),
                values.join(" | "),
                row.avg,
                row.icv
            );
        }
    }
    Ok(md)
}

/// The table's numbers as JSON: one object per strategy, `{"strategy", "seeds", "columns":
/// {header: {"n", "mean", "std", "se"} or null}}` (null: missing in some seed).
pub fn table_json(results: &[Summary], extra: &[Column]) -> Value {
    let all = columns(results, extra);
    let rows: Vec<Value> = strategies(results)
        .into_iter()
        .map(|strategy| {
            let mut cells = serde_json::Map::new();
            for (header, _, values) in &all {
                let stats = stats_of(results, values, strategy);
                cells.insert(header.to_string(), json!(stats));
            }
            let seeds = results.iter().filter(|s| s.strategy == strategy).count();
            json!({ "strategy": strategy, "seeds": seeds, "columns": cells })
        })
        .collect();
    Value::Array(rows)
}

/// Escape `|` so a name cannot break the table.
pub(crate) fn escape_cell(text: &str) -> Cow<'_, str> {
    if text.contains('|') {
        text.replace('|', "\\|").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
