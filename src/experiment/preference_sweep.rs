//! The preference sweep (`--sweep-weights`): the same comparison once per preference weight
//! vector, each into its own results directory, read back here into every strategy's front
//! in objective space — `preference_sweep.md` and one `preference_front_<a>_<b>.png` per pair
//! of objectives — with the hypervolume of each strategy's front per seed (95 % t-intervals
//! and paired per-seed differences).
//!
//! MORLHF and IterativeRS are trained anew under each weight vector. Rewarded Soups' experts
//! each train on one objective alone, so they do not depend on the weights: its points are one
//! set of experts merged with λ = the weights, its λ front.

use super::comparison_file::ComparisonFile;
use super::error::ExperimentError;
use super::paired::{over_seeds, pairs, show, unique, verdict};
use crate::eval::curves::{Labels, Point, Series, write_line_plot};
use crate::eval::metrics::hypervolume;
use crate::eval::report::MARKDOWN_FILE;
use crate::eval::write_atomic;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The sweep's report inside its directory.
pub const REPORT_FILE: &str = "preference_sweep.md";

/// The results directory of a weight vector inside the sweep's, e.g. `w-2-1-1`.
pub fn dir_name(weights: &[f64]) -> String {
    let parts: Vec<String> = weights.iter().map(f64::to_string).collect();
    format!("w-{}", parts.join("-"))
}

/// The plot of objectives `a` against `b` inside the sweep's directory.
pub fn plot_name(a: &str, b: &str) -> String {
    format!("preference_front_{a}_{b}.png")
}

/// Weight vectors from `;`-separated lists of comma-separated weights, e.g. `2,1,1;1,2,1`.
pub fn parse(text: &str) -> Result<Vec<Vec<f64>>, String> {
    let vectors: Vec<Vec<f64>> = text
        .split(';')
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.split(',')
                .map(|w| {
                    w.trim().parse::<f64>().map_err(|_| {
                        format!(
                            "has {:?} in {:?}; write numbers like 2,1,1;1,2,1",
                            w.trim(),
                            v
                        )
                    })
                })
                .collect()
        })
        .collect::<Result<_, _>>()?;
    if vectors.is_empty() {
        return Err("lists no weight vector; write e.g. 2,1,1;1,2,1".into());
    }
    for (i, v) in vectors.iter().enumerate() {
        if vectors[..i].contains(v) {
            return Err(format!("lists {v:?} twice; list each weight vector once"));
        }
    }
    Ok(vectors)
}

/// One evaluated policy: strategy, seed, per-objective oracle means, KL to pretrained.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The strategy's name (`Pretrained` for the reference).
    pub strategy: String,
    /// The seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// The oracle mean of each objective.
    pub means: Vec<f64>,
    /// Mean KL to the pretrained policy.
    pub kl: f64,
}

/// One comparison of the sweep read back: objective names, the hypervolume's reference point
/// and the evaluated policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The objectives, in order.
    pub objectives: Vec<String>,
    /// The reference point the comparison's hypervolume used (`None` when it had none).
    pub reference: Option<Vec<f64>>,
    /// The evaluated policies, the pretrained one among them.
    pub evaluated: Vec<Evaluated>,
}

/// The comparison in `dir` (its `results.json`).
pub fn read(dir: &Path) -> Result<Read, ExperimentError> {
    let file = ComparisonFile::read(dir)?;
    let bad = |what: &str| file.bad(what);
    let runs = file.runs()?;
    let Some((first, _)) = runs.first() else {
        return Err(bad("no results"));
    };
    let json = &file.json;
    let names = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let objectives = names(&first["objectives"]).ok_or_else(|| bad("no objectives"))?;
    let floats =
        |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
    let reference = floats(&json["metadata"]["hypervolume"]["reference"]);
    let evaluated = (runs.iter())
        .map(|(r, m)| {
            let means: Option<Vec<f64>> = r["per_objective"]
                .as_array()
                .and_then(|v| v.iter().map(|o| o["mean"].as_f64()).collect());
            let means = means.filter(|m| m.len() == objectives.len());
            Ok(Evaluated {
                strategy: r["strategy"].as_str().unwrap_or_default().to_string(),
                seed: m["seed"].as_u64(),
                means: means.ok_or_else(|| bad("a run without its objectives' means"))?,
                kl: m["metrics"]["kl"]
                    .as_f64()
                    .ok_or_else(|| bad("a run without KL"))?,
            })
        })
        .collect::<Result<_, ExperimentError>>()?;
    Ok(Read {
        objectives,
        reference,
        evaluated,
    })
}

/// Write `preference_sweep.md` and the front plots into `out` from the finished comparisons
/// `done` (weights as given, directory), in the order run.
pub fn write(out: &Path, done: &[(Vec<f64>, PathBuf)]) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(out).map_err(|source| ExperimentError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let runs = done
        .iter()
        .map(|(w, dir)| Ok((w.clone(), read(dir)?)))
        .collect::<Result<Vec<_>, ExperimentError>>()?;
    let md = report(&runs, out)?;
    write_atomic(&out.join(REPORT_FILE), md.as_bytes())?;
    Ok(())
}

/// Per strategy, per seed: its mean objective vectors over the weight vectors.
type Fronts = BTreeMap<String, BTreeMap<u64, Vec<Vec<f64>>>>;

/// Per strategy, per weight vector: the mean objective vector over seeds and the 95 %
/// half-widths.
type Centroids<'a> = BTreeMap<&'a str, Vec<(Vec<f64>, Vec<f64>)>>;

/// The Markdown report of `runs` (weights, comparison), drawing the plots into `out`.
fn report(runs: &[(Vec<f64>, Read)], out: &Path) -> Result<String, ExperimentError> {
    let Some((_, first)) = runs.first() else {
        return Err(ExperimentError::setting("sweep_weights", "is empty".into()));
    };
    let objectives = &first.objectives;
    if let Some((w, _)) = runs.iter().find(|(_, r)| &r.objectives != objectives) {
        return Err(ExperimentError::Task(format!(
            "the comparison under weights {w:?} judged other objectives than {objectives:?}"
        )));
    }
    let all = || runs.iter().flat_map(|(_, r)| &r.evaluated);
    let pretrained = all().find(|e| e.seed.is_none()).cloned();
    let strategies = unique(
        all()
            .filter(|e| e.seed.is_some() && e.strategy != "RiC")
            .map(|e| e.strategy.clone()),
    );
    let mut md = String::from(
        "# Preference fronts: the comparison once per weight vector\n\nEach strategy trained \
         and judged under each preference (the weights scaled to the task's weight sum, so the \
         reward's scale and β's pull stay the same). MORLHF and IterativeRS are trained anew \
         per weight vector; Rewarded Soups' experts each train on one objective alone, so its \
         points are the same experts merged with λ = the weights: its λ front. Oracle means \
         with 95 % t-intervals over seeds.\n\n",
    );
    let header: Vec<String> = objectives.iter().map(|o| format!(" {o} |")).collect();
    let _ = writeln!(
        md,
        "| weights | Method | n |{} KL to pretrained |\n|---|---|---|{}---|",
        header.concat(),
        "---|".repeat(objectives.len())
    );
    if let Some(p) = &pretrained {
        let cells: Vec<String> = p.means.iter().map(|m| format!(" {m:.4} |")).collect();
        let _ = writeln!(md, "| – | Pretrained | 1 |{} {:.2} |", cells.concat(), p.kl);
    }
    let mut fronts: Fronts = BTreeMap::new();
    let mut centroids: Centroids<'_> = BTreeMap::new();
    for (weights, read) in runs {
        for s in &strategies {
            let of: Vec<&Evaluated> = read.evaluated.iter().filter(|e| &e.strategy == s).collect();
            if of.is_empty() {
                continue;
            }
            for e in &of {
                let seed = fronts.entry(s.clone()).or_default();
                seed.entry(e.seed.unwrap_or(0))
                    .or_default()
                    .push(e.means.clone());
            }
            let per: Vec<_> = (0..objectives.len())
                .map(|i| over_seeds(&of.iter().map(|e| e.means[i]).collect::<Vec<_>>()))
                .collect();
            let kl = over_seeds(&of.iter().map(|e| e.kl).collect::<Vec<_>>());
            let cells: Vec<String> = per.iter().map(|i| format!(" {} |", show(i))).collect();
            let shown: Vec<String> = weights.iter().map(f64::to_string).collect();
            let _ = writeln!(
                md,
                "| {} | {s} | {} |{} {} |",
                shown.join(", "),
                of.len(),
                cells.concat(),
                show(&kl)
            );
            centroids.entry(s.as_str()).or_default().push((
                per.iter().map(|i| i.mean).collect(),
                per.iter().map(|i| i.half_width.unwrap_or(0.0)).collect(),
            ));
        }
    }
    let plots = plot_pairs(
        out,
        objectives,
        &strategies,
        &centroids,
        pretrained.as_ref(),
    )?;
    md.push('\n');
    for p in &plots {
        let _ = writeln!(md, "![preference front]({p})");
    }
    md.push_str(&hypervolumes(
        &fronts,
        &strategies,
        first.reference.as_deref(),
    )?);
    let _ = writeln!(
        md,
        "\nThe comparisons: {}.",
        runs.iter()
            .map(|(w, _)| format!("[{w:?}]({}/{MARKDOWN_FILE})", dir_name(w)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(md)
}

/// One plot per pair of objectives: each strategy's mean objective vectors over the weight
/// vectors (± 95 % CI, joined in order of the first objective) and the pretrained point.
fn plot_pairs(
    out: &Path,
    objectives: &[String],
    strategies: &[String],
    centroids: &Centroids<'_>,
    pretrained: Option<&Evaluated>,
) -> Result<Vec<String>, ExperimentError> {
    let mut files = Vec::new();
    for a in 0..objectives.len() {
        for b in a + 1..objectives.len() {
            let mut series: Vec<Series> = strategies
                .iter()
                .map(|s| {
                    let mut points: Vec<Point> = centroids
                        .get(s.as_str())
                        .into_iter()
                        .flatten()
                        .map(|(m, h)| Point {
                            x: m[a],
                            x_err: h[a],
                            y: m[b],
                            y_err: h[b],
                        })
                        .collect();
                    points.sort_by(|p, q| p.x.total_cmp(&q.x));
                    Series {
                        name: s.clone(),
                        points,
                    }
                })
                .collect();
            if let Some(p) = pretrained {
                series.push(Series {
                    name: "Pretrained".into(),
                    points: vec![Point {
                        x: p.means[a],
                        x_err: 0.0,
                        y: p.means[b],
                        y_err: 0.0,
                    }],
                });
            }
            let title = format!(
                "Preference fronts: {} against {} (mean ± 95 % CI over seeds)",
                objectives[b], objectives[a]
            );
            let labels = Labels {
                title: &title,
                x: &objectives[a],
                y: &objectives[b],
            };
            let name = plot_name(&objectives[a], &objectives[b]);
            write_line_plot(&out.join(&name), labels, &series, &[])?;
            files.push(name);
        }
    }
    Ok(files)
}

/// Per seed, the hypervolume of each strategy's front (its mean objective vectors over the
/// weight vectors) against `reference`; intervals over seeds and paired differences.
fn hypervolumes(
    fronts: &Fronts,
    strategies: &[String],
    reference: Option<&[f64]>,
) -> Result<String, ExperimentError> {
    let Some(reference) = reference else {
        return Ok(
            "\nNo hypervolume: the comparisons recorded no reference point (it needs the \
                   pretrained policy's evaluation and 2 or 3 objectives).\n"
                .into(),
        );
    };
    let shown: Vec<String> = reference.iter().map(|r| format!("{r:.4}")).collect();
    let mut md = format!(
        "\n## Hypervolume of each strategy's front\n\nPer seed, the hypervolume dominated by \
         the strategy's mean objective vectors over all weight vectors, against r = ({}) (the \
         pretrained policy's mean minus its std over samples, per objective); mean ± 95 % \
         t-interval over seeds.\n\n| Method | seeds | points per seed | HV of the front |\n\
         |---|---|---|---|\n",
        shown.join(", ")
    );
    let per_seed = |s: &String| -> Result<BTreeMap<u64, f64>, ExperimentError> {
        let Some(seeds) = fronts.get(s) else {
            return Ok(BTreeMap::new());
        };
        seeds
            .iter()
            .map(|(seed, pts)| Ok((*seed, hypervolume(pts, reference)?)))
            .collect::<Result<_, crate::eval::EvalError>>()
            .map_err(ExperimentError::from)
    };
    let mut values = BTreeMap::new();
    for s in strategies {
        let hv = per_seed(s)?;
        let points = fronts
            .get(s)
            .and_then(|seeds| seeds.values().map(Vec::len).min())
            .unwrap_or(0);
        let v: Vec<f64> = hv.values().copied().collect();
        let _ = writeln!(
            md,
            "| {s} | {} | {points} | {} |",
            v.len(),
            show(&over_seeds(&v))
        );
        values.insert(s.clone(), hv);
    }
    let pairs = pairs(strategies);
    if !pairs.is_empty() {
        md.push_str("\n| Pair | difference in HV [95 % t-interval] |\n|---|---|\n");
        for (a, b) in pairs {
            let (pa, pb) = (&values[a], &values[b]);
            let diffs: Vec<f64> = pa
                .iter()
                .filter_map(|(seed, va)| Some(va - pb.get(seed)?))
                .collect();
            let _ = writeln!(md, "| {a} − {b} | {} |", verdict(&diffs));
        }
    }
    Ok(md)
}

#[cfg(test)]
#[path = "preference_sweep_tests.rs"]
mod tests;
