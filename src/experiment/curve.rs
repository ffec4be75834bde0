//! Reward against KL along the runs (`ComparisonConfig::curve`): where each strategy is
//! evaluated during training, the points kept, the plot `reward_kl.png`, `curves.csv`, and the
//! area under each curve up to the KL every strategy reaches — comparing strategies at equal
//! drift from the pretrained policy, the standard way RLHF methods are compared.

use super::error::ExperimentError;
use crate::eval::MeanStd;
use crate::eval::curves::{Labels, Point, Series, area_to, write_line_plot};
use crate::eval::write_atomic;
use crate::strategy::{Spent, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The reward-against-KL plot inside the results directory.
pub const PLOT_FILE: &str = "reward_kl.png";
/// Every evaluation along the runs, one row per (strategy, seed, point).
pub const CSV_FILE: &str = "curves.csv";

/// One evaluation of a policy along a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The strategy ("Pretrained" for the starting point).
    pub strategy: String,
    /// The run's seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// PPO iterations (or RiC rounds' worth) spent when evaluated.
    pub iterations: usize,
    /// Training samples generated so far.
    pub samples: usize,
    /// Mean summed KL of the evaluation samples to the pretrained policy.
    pub kl: f64,
    /// Oracle mean per objective.
    pub means: Vec<f64>,
}

impl CurvePoint {
    /// The point of an evaluation of strategy `name` (seed `seed`) after spending `spent`:
    /// its oracle `scores` and `metrics` (with the KL).
    pub fn of(
        name: &str,
        seed: Option<u64>,
        spent: &Spent,
        scores: &[Vec<f64>],
        metrics: &serde_json::Value,
    ) -> Self {
        let per_objective = crate::eval::metrics::objective_stats(scores).unwrap_or_default();
        Self {
            strategy: name.into(),
            seed,
            iterations: spent.iterations,
            samples: spent.samples,
            kl: metrics["kl"].as_f64().unwrap_or(f64::NAN),
            means: per_objective.iter().map(|s| s.mean).collect(),
        }
    }

    /// Mean over objectives of the oracle means.
    pub fn avg(&self) -> f64 {
        self.means.iter().sum::<f64>() / self.means.len().max(1) as f64
    }
}

/// Iteration counts at which `strategy` (with `n` objectives) is evaluated along its run,
/// before its end: one grid for every RL strategy, every `spacing` iterations (so equal
/// samples apart: the area under a curve does not depend on how often a strategy is
/// evaluated); none for RiC (its rounds are few and each is a whole fine-tuning). IterativeRS
/// between merges is evaluated as the merge its block would make then, Rewarded Soups as the
/// soup of its experts trained side by side so far.
pub fn points(strategy: &Strategy, n: usize, spacing: usize) -> Vec<usize> {
    if matches!(strategy, Strategy::Ric(_)) {
        return Vec::new();
    }
    let total = strategy.iterations(n);
    let spacing = spacing.max(1);
    (1..)
        .map(|k| k * spacing)
        .take_while(|&i| i < total)
        .collect()
}

/// Per strategy (in first-seen order), the points averaged over seeds at each iteration count,
/// each curve starting from the pretrained point.
pub fn series(points: &[CurvePoint]) -> Vec<Series> {
    let pretrained = points.iter().find(|p| p.seed.is_none());
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<(&str, usize), Vec<&CurvePoint>> = BTreeMap::new();
    for p in points.iter().filter(|p| p.seed.is_some()) {
        if !order.contains(&p.strategy.as_str()) {
            order.push(&p.strategy);
        }
        by.entry((&p.strategy, p.iterations)).or_default().push(p);
    }
    order
        .into_iter()
        .map(|name| {
            let start = pretrained.map(|p| Point {
                x: p.kl,
                x_err: 0.0,
                y: p.avg(),
                y_err: 0.0,
            });
            let along = by.iter().filter(|((s, _), _)| *s == name).map(|(_, ps)| {
                let x = MeanStd::of(&ps.iter().map(|p| p.kl).collect::<Vec<_>>());
                let y = MeanStd::of(&ps.iter().map(|p| p.avg()).collect::<Vec<_>>());
                Point {
                    x: x.mean,
                    x_err: x.std,
                    y: y.mean,
                    y_err: y.std,
                }
            });
            Series {
                name: name.to_string(),
                points: start.into_iter().chain(along).collect(),
            }
        })
        .collect()
}

/// Write `curves.csv`, `reward_kl.png` and return the Markdown section of the report: per
/// strategy the largest mean KL reached and the mean reward over [0, common KL] (the area
/// under its curve divided by the common KL, the largest KL every strategy reaches).
pub fn write(
    out: &Path,
    objectives: &[String],
    points: &[CurvePoint],
) -> Result<String, ExperimentError> {
    let mut csv = format!(
        "strategy,seed,iterations,samples,kl,avg,{}\n",
        objectives.join(",")
    );
    for p in points {
        let seed = p.seed.map_or(String::new(), |s| s.to_string());
        let means: Vec<String> = p.means.iter().map(|m| format!("{m}")).collect();
        csv.push_str(&format!(
            "{},{seed},{},{},{},{},{}\n",
            p.strategy,
            p.iterations,
            p.samples,
            p.kl,
            p.avg(),
            means.join(",")
        ));
    }
    write_atomic(&out.join(CSV_FILE), csv.as_bytes())?;
    let series = series(points);
    if series.iter().all(|s| s.points.len() < 2) {
        return Ok(String::new());
    }
    let labels = Labels {
        title: "Oracle average reward against KL to the pretrained policy (mean ± std over seeds)",
        x: "KL to the pretrained policy (nats, summed over tokens)",
        y: "oracle average reward",
    };
    write_line_plot(&out.join(PLOT_FILE), labels, &series, &[])?;
    let common = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|p| p.x)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .fold(f64::INFINITY, f64::min);
    let mut md = format!(
        "\n## Reward against KL along the runs\n\n![reward against KL]({PLOT_FILE})\n\nEvery \
         strategy evaluated along its run ({CSV_FILE}); the mean reward over KL ∈ [0, {common:.2}] \
         (the area under the mean curve up to the largest KL every strategy reaches, divided by \
         it) compares them at equal drift.\n\n| Method | largest KL | mean reward over KL ≤ \
         {common:.2} |\n|---|---|---|\n"
    );
    for s in &series {
        let xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
        let reached = xy.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let start = xy.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let mean = area_to(&xy, common)
            .filter(|_| common > start)
            .map_or("–".to_string(), |a| {
                format!("{:.4}", a / (common - start))
            });
        md.push_str(&format!("| {} | {reached:.2} | {mean} |\n", s.name));
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(
        strategy: &str,
        seed: Option<u64>,
        iterations: usize,
        kl: f64,
        avg: f64,
    ) -> CurvePoint {
        CurvePoint {
            strategy: strategy.into(),
            seed,
            iterations,
            samples: iterations * 8,
            kl,
            means: vec![avg, avg],
        }
    }

    #[test]
    fn every_rl_strategy_is_evaluated_on_one_grid() {
        let grid = vec![6, 12, 18, 24];
        for strategy in [
            Strategy::iterative_rs(10, 2, 3),
            Strategy::iterative_rs(10, 10, 3),
            Strategy::rewarded_soups(10),
            Strategy::Morlhf { steps: 30 },
        ] {
            assert_eq!(points(&strategy, 3, 6), grid, "{}", strategy.name());
        }
    }

    #[test]
    fn series_average_seeds_and_start_at_the_pretrained_point() {
        let pts = vec![
            point("Pretrained", None, 0, 0.0, 0.1),
            point("MORLHF", Some(0), 6, 1.0, 0.3),
            point("MORLHF", Some(1), 6, 3.0, 0.5),
            point("MORLHF", Some(0), 12, 4.0, 0.6),
        ];
        let s = series(&pts);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].points.len(), 3);
        assert_eq!(s[0].points[0].x, 0.0);
        assert!(
            (s[0].points[1].x - 2.0).abs() < 1e-12 && (s[0].points[1].x_err - 1.0).abs() < 1e-12
        );
        assert!((s[0].points[1].y - 0.4).abs() < 1e-12);
    }
}
