//! The merge-period ablation (`ComparisonConfig::sweep_m`): IterativeRS at several m against
//! the MORLHF and Rewarded Soups levels of the same comparison, as `ablation_m.png` and a
//! Markdown table (oracle average reward, mean ± std over seeds).

use super::error::ExperimentError;
use crate::eval::MeanStd;
use crate::eval::curves::{Labels, Level, Point, Series, write_line_plot};
use crate::strategy::Strategy;

/// The ablation plot inside the results directory.
pub const PLOT_FILE: &str = "ablation_m.png";

/// One finished run: its plan and its oracle average reward.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// The planned strategy.
    pub plan: &'a Strategy,
    /// Mean over objectives of the oracle means.
    pub avg: f64,
}

/// Write `ablation_m.png` into `out` and return the report's Markdown section, from the
/// finished `runs` (every seed); nothing while fewer than two values of m have finished.
pub fn write(out: &std::path::Path, runs: &[Run<'_>]) -> Result<String, ExperimentError> {
    let mut by_m: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    let mut steps = 0;
    for r in runs {
        if let Strategy::IterativeRs {
            merge_every,
            steps: t,
            ..
        } = r.plan
        {
            by_m.entry(*merge_every).or_default().push(r.avg);
            steps = *t;
        }
    }
    if by_m.len() < 2 {
        return Ok(String::new());
    }
    let level = |name: &str| {
        let v: Vec<f64> = runs
            .iter()
            .filter(|r| r.plan.name() == name)
            .map(|r| r.avg)
            .collect();
        (!v.is_empty()).then(|| {
            let s = MeanStd::of(&v);
            Level {
                name: name.to_string(),
                y: s.mean,
                y_err: s.std,
            }
        })
    };
    let levels: Vec<Level> = ["MORLHF", "Rewarded Soups"]
        .into_iter()
        .filter_map(level)
        .collect();
    let points: Vec<Point> = by_m
        .iter()
        .map(|(&m, v)| {
            let s = MeanStd::of(v);
            Point {
                x: m as f64,
                x_err: 0.0,
                y: s.mean,
                y_err: s.std,
            }
        })
        .collect();
    let series = [Series {
        name: "IterativeRS".into(),
        points: points.clone(),
    }];
    let labels = Labels {
        title: &format!("IterativeRS against its merge period m (T = {steps} steps per expert)"),
        x: "merge period m (steps per expert between merges; m = T: Rewarded Soups)",
        y: "oracle average reward (mean ± std over seeds)",
    };
    write_line_plot(&out.join(PLOT_FILE), labels, &series, &levels)?;
    let mut md = format!(
        "\n## IterativeRS against the merge period m\n\n![ablation]({PLOT_FILE})\n\n| m | \
         seeds | oracle average |\n|---|---|---|\n"
    );
    for ((m, v), p) in by_m.iter().zip(&points) {
        md.push_str(&format!(
            "| {m} | {} | {:.4} ± {:.4} |\n",
            v.len(),
            p.y,
            p.y_err
        ));
    }
    for l in &levels {
        md.push_str(&format!("| {} | | {:.4} ± {:.4} |\n", l.name, l.y, l.y_err));
    }
    Ok(md)
}
