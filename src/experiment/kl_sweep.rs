//! The β sweep (`--sweep-kl-coef`): the same comparison run once per KL coefficient, each
//! into its own results directory, read back here into every strategy's reward–KL front —
//! `kl_fronts.png` and `kl_sweep.md` — with 95 % confidence intervals over seeds, paired
//! per-seed differences at each β, and the mean reward over a common KL interval.
//!
//! A front runs from the pretrained policy (KL 0) through the strategy's points at each β,
//! joined by straight lines in order of KL. Its mean reward over KL ∈ [0, K] is the area under
//! it up to K divided by K, where K is the largest KL every strategy's front reaches (on
//! every seed, for the paired comparison).

use super::comparison_file::ComparisonFile;
use super::error::ExperimentError;
use super::paired::{over_seeds, pairs, show, unique, verdict};
use crate::eval::curves::{Labels, Point, Series, area_to, write_line_plot};
use crate::eval::interval::Interval;
use crate::eval::report::MARKDOWN_FILE;
use crate::eval::write_atomic;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The fronts' plot inside the sweep's directory.
pub const PLOT_FILE: &str = "kl_fronts.png";
/// The sweep's report inside its directory.
pub const REPORT_FILE: &str = "kl_sweep.md";
/// The fronts' plot zoomed to small KL (drawn when one strategy's drift dwarfs another's).
pub const ZOOM_FILE: &str = "kl_fronts_zoom.png";

/// When some front reaches more than five times the KL of the front that drifts least
/// (`low`, its far end): a limit of twice `low`, widened up to five times `low` so that every
/// strategy shows its first measured point (otherwise the plain plot shows everything).
fn zoom_limit(series: &[Series]) -> Option<f64> {
    let measured = |s: &Series| {
        s.points
            .iter()
            .map(|p| p.x)
            .filter(|x| *x > 0.0)
            .collect::<Vec<_>>()
    };
    let reaches: Vec<f64> = (series.iter().map(measured))
        .filter_map(|xs| xs.into_iter().reduce(f64::max))
        .collect();
    let low = reaches.iter().copied().fold(f64::INFINITY, f64::min);
    let high = reaches.iter().copied().fold(0.0, f64::max);
    if !(low.is_finite() && high > 5.0 * low) {
        return None;
    }
    let firsts = (series.iter().map(measured)).filter_map(|xs| xs.into_iter().reduce(f64::min));
    let widest = firsts.filter(|x| *x <= 5.0 * low).fold(0.0, f64::max);
    Some(f64::max(2.0 * low, widest))
}

/// The results directory of β inside the sweep's.
pub fn dir_name(beta: f32) -> String {
    format!("kl-{beta}")
}

/// One evaluated policy of a comparison: strategy, seed, KL to pretrained, oracle average.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The strategy's name (`Pretrained` for the reference).
    pub strategy: String,
    /// The seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// Mean KL to the pretrained policy.
    pub kl: f64,
    /// Mean over objectives of the oracle means.
    pub avg: f64,
}

/// The evaluated policies of the comparison in `dir` (its `results.json`).
pub fn read(dir: &Path) -> Result<Vec<Evaluated>, ExperimentError> {
    let file = ComparisonFile::read(dir)?;
    let bad = |what: &str| file.bad(what);
    (file.runs()?.into_iter())
        .map(|(r, m)| {
            Ok(Evaluated {
                strategy: r["strategy"].as_str().unwrap_or_default().to_string(),
                seed: m["seed"].as_u64(),
                kl: m["metrics"]["kl"]
                    .as_f64()
                    .ok_or_else(|| bad("a run without KL"))?,
                avg: r["avg"].as_f64().ok_or_else(|| bad("a run without avg"))?,
            })
        })
        .collect()
}

/// Per strategy, per seed: the (KL, reward) points over β, from the pretrained point on.
type Fronts = BTreeMap<String, BTreeMap<u64, Vec<(f64, f64)>>>;

/// Write `kl_fronts.png` and `kl_sweep.md` into `out` from the finished β directories
/// `done` (β, directory), in the order run.
pub fn write(out: &Path, done: &[(f32, PathBuf)]) -> Result<(), ExperimentError> {
    let mut runs = Vec::new();
    std::fs::create_dir_all(out).map_err(|source| ExperimentError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for (beta, dir) in done {
        runs.push((*beta, read(dir)?));
    }
    let md = report(&runs, out)?;
    write_atomic(&out.join(REPORT_FILE), md.as_bytes())?;
    Ok(())
}

/// The Markdown report of `runs` (β, evaluated policies), drawing the plot into `out`.
fn report(runs: &[(f32, Vec<Evaluated>)], out: &Path) -> Result<String, ExperimentError> {
    let pretrained = runs
        .iter()
        .flat_map(|(_, r)| r)
        .find(|e| e.seed.is_none())
        .map_or(0.0, |e| e.avg);
    let strategies: Vec<String> = unique(
        runs.iter()
            .flat_map(|(_, r)| r)
            .filter(|e| e.seed.is_some() && e.strategy != "RiC")
            .map(|e| e.strategy.clone()),
    );
    let mut md = String::from(
        "# Reward–KL fronts over the KL coefficient β\n\nThe comparison once per β (each in \
         its own directory, `kl-<β>/`); per strategy, the mean oracle average and the mean KL \
         to the pretrained policy with 95 % t-intervals over seeds, and per β the paired \
         per-seed differences. A difference whose interval includes 0 is a tie.\n\n",
    );
    let _ = writeln!(md, "![reward–KL fronts]({PLOT_FILE})\n");
    let _ = writeln!(
        md,
        "| β | Method | n | KL to pretrained | Avg |\n|---|---|---|---|---|"
    );
    let mut fronts: Fronts = BTreeMap::new();
    let mut series: Vec<Series> = Vec::new();
    for s in &strategies {
        let mut points = vec![Point {
            x: 0.0,
            x_err: 0.0,
            y: pretrained,
            y_err: 0.0,
        }];
        for (beta, evaluated) in runs {
            let of: Vec<&Evaluated> = evaluated.iter().filter(|e| &e.strategy == s).collect();
            if of.is_empty() {
                continue;
            }
            for e in &of {
                let seed = fronts
                    .entry(s.clone())
                    .or_default()
                    .entry(e.seed.unwrap_or(0));
                seed.or_insert_with(|| vec![(0.0, pretrained)])
                    .push((e.kl, e.avg));
            }
            let values =
                |f: fn(&Evaluated) -> f64| over_seeds(&of.iter().map(|e| f(e)).collect::<Vec<_>>());
            let (kl, avg) = (values(|e| e.kl), values(|e| e.avg));
            let _ = writeln!(
                md,
                "| {beta} | {s} | {} | {} | {} |",
                of.len(),
                show(&kl),
                show(&avg)
            );
            points.push(Point {
                x: kl.mean,
                x_err: kl.half_width.unwrap_or(0.0),
                y: avg.mean,
                y_err: avg.half_width.unwrap_or(0.0),
            });
        }
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        series.push(Series {
            name: s.clone(),
            points,
        });
    }
    let labels = Labels {
        title: "Oracle average reward against KL over β (mean ± 95 % CI over seeds)",
        x: "KL to the pretrained policy (nats, summed over tokens)",
        y: "oracle average reward",
    };
    write_line_plot(&out.join(PLOT_FILE), labels, &series, &[])?;
    if let Some(limit) = zoom_limit(&series) {
        let zoomed: Vec<Series> = series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                points: s.points.iter().filter(|p| p.x <= limit).cloned().collect(),
            })
            .collect();
        let title = format!("The same fronts up to KL {limit:.2} (mean ± 95 % CI over seeds)");
        let labels = Labels {
            title: &title,
            ..labels
        };
        write_line_plot(&out.join(ZOOM_FILE), labels, &zoomed, &[])?;
        let _ = writeln!(
            md,
            "\n![the fronts up to KL {limit:.2}]({ZOOM_FILE})\n\nThe same fronts up to KL \
             {limit:.2} (twice the largest KL of the strategy that drifts least, or up to \
             every strategy's first point), where most of the evidence sits; points beyond \
             it are left out of this plot only."
        );
    }
    md.push_str(&paired_at_each_beta(runs, &strategies));
    md.push_str(&matched_kl(&fronts, &strategies));
    let _ = writeln!(
        md,
        "\nThe comparisons: {}.",
        runs.iter()
            .map(|(b, _)| format!("[β = {b}]({}/{MARKDOWN_FILE})", dir_name(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(md)
}

/// Per β, each pair's per-seed difference in oracle average (seeds both ran).
fn paired_at_each_beta(runs: &[(f32, Vec<Evaluated>)], strategies: &[String]) -> String {
    let pairs = pairs(strategies);
    if pairs.is_empty() {
        return String::new();
    }
    let mut md =
        String::from("\n## Paired differences in Avg at each β (95 % t-interval)\n\n| β |");
    for (a, b) in &pairs {
        let _ = write!(md, " {a} − {b} |");
    }
    let _ = write!(md, "\n|---|{}\n", "---|".repeat(pairs.len()));
    for (beta, evaluated) in runs {
        let _ = write!(md, "| {beta} |");
        for (a, b) in &pairs {
            let of = |s: &str, seed: Option<u64>| {
                evaluated
                    .iter()
                    .find(|e| e.strategy == s && e.seed == seed)
                    .map(|e| e.avg)
            };
            let diffs: Vec<f64> = evaluated
                .iter()
                .filter(|e| &e.strategy == *a)
                .filter_map(|e| Some(e.avg - of(b, e.seed)?))
                .collect();
            let _ = write!(md, " {} |", verdict(&diffs));
        }
        md.push('\n');
    }
    md
}

/// Mean reward of each front over KL ∈ [0, K], K the largest KL every front of every seed
/// reaches, and the pairs' per-seed differences.
fn matched_kl(fronts: &Fronts, strategies: &[String]) -> String {
    let reach = |pts: &Vec<(f64, f64)>| pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let k = fronts
        .values()
        .flat_map(|seeds| seeds.values().map(reach))
        .fold(f64::INFINITY, f64::min);
    if !(k.is_finite() && k > 0.0) {
        return String::new();
    }
    // Over [0, K] exactly: a point estimated a little below 0 (the KL estimator's noise) puts
    // the front's start left of 0, and the part left of 0 is not counted.
    let mean_to = |pts: &Vec<(f64, f64)>| Some((area_to(pts, k)? - area_to(pts, 0.0)?) / k);
    let mut md = format!(
        "\n## At matched KL: mean reward over KL ∈ [0, {k:.3}]\n\nPer seed, the area under \
         the front (from the pretrained point, over β) up to the largest KL every front \
         reaches, divided by it.\n\n| Method | seeds | mean reward over KL ≤ {k:.3} |\n|---|---|---|\n"
    );
    let per_seed = |s: &String| -> BTreeMap<u64, f64> {
        fronts
            .get(s)
            .map(|seeds| {
                seeds
                    .iter()
                    .filter_map(|(seed, pts)| Some((*seed, mean_to(pts)?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Seeds on which a strategy has no measured point in (0, K]: there its front is only
    // the straight chord from the pretrained point to its first point beyond K.
    let chords = |s: &String| -> usize {
        fronts.get(s).map_or(0, |seeds| {
            let measured = |pts: &Vec<(f64, f64)>| pts[1..].iter().any(|p| p.0 > 0.0 && p.0 <= k);
            seeds.values().filter(|pts| !measured(pts)).count()
        })
    };
    let chorded: Vec<String> = strategies
        .iter()
        .filter(|s| chords(s) > 0)
        .map(|s| {
            let seeds = fronts.get(s).map_or(0, BTreeMap::len);
            format!("{s} (on {} of {seeds} seeds)", chords(s))
        })
        .collect();
    for s in strategies {
        let values: Vec<f64> = per_seed(s).into_values().collect();
        let i = Interval::over_seeds(&values);
        let shown = i.map_or_else(
            || values.first().map_or("–".into(), |v| format!("{v:.4}")),
            |i| show(&i),
        );
        let _ = writeln!(md, "| {s} | {} | {shown} |", values.len());
    }
    if !chorded.is_empty() {
        let _ = writeln!(
            md,
            "\nNo measured point in (0, {k:.3}]: {}. There the front is only the straight chord \
             from the pretrained point to the first point beyond {k:.3}, an interpolation, not a \
             measurement; a larger β puts a point inside the interval.",
            chorded.join(", ")
        );
    }
    let pairs = pairs(strategies);
    if !pairs.is_empty() {
        md.push_str("\n| Pair | difference [95 % t-interval] |\n|---|---|\n");
        for (a, b) in pairs {
            let (pa, pb) = (per_seed(a), per_seed(b));
            let diffs: Vec<f64> = pa
                .iter()
                .filter_map(|(seed, va)| Some(va - pb.get(seed)?))
                .collect();
            let _ = writeln!(md, "| {a} − {b} | {} |", verdict(&diffs));
        }
    }
    md
}

#[cfg(test)]
#[path = "kl_sweep_tests.rs"]
mod tests;
