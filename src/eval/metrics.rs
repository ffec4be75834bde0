//! Multi-objective metrics over a score matrix (rows = samples, columns = objectives, higher is
//! better), following docs/algorithms.md, "Metrics of the paper".
//!
//! Standard deviations are **population** standard deviations (divide by n) throughout.

use super::EvalError;
use serde::{Deserialize, Serialize};

/// Check that a score matrix is non-empty, rectangular and finite; returns its column count.
pub fn check_scores(scores: &[Vec<f64>]) -> Result<usize, EvalError> {
    let cols = scores.first().map_or(0, Vec::len);
    if cols == 0 {
        return Err(EvalError::Empty);
    }
    for (row, values) in scores.iter().enumerate() {
        if values.len() != cols {
            return Err(EvalError::Ragged {
                row,
                len: values.len(),
                expected: cols,
            });
        }
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(EvalError::NonFinite { row, col });
        }
    }
    Ok(cols)
}

/// Mean and population standard deviation of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (divides by n, not n − 1).
    pub std: f64,
}

impl MeanStd {
    /// Mean and population std of `values` (both NaN when `values` is empty).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Self {
            mean,
            std: var.sqrt(),
        }
    }

    /// Inverse coefficient of variation `mean / std`; `None` when the std is zero up to
    /// floating-point rounding (constant values), where the ratio is undefined.
    pub fn icv(&self) -> Option<f64> {
        (self.std > f64::EPSILON * self.mean.abs()).then(|| self.mean / self.std)
    }
}

/// Mean and population std of each objective (column) over samples.
pub fn objective_stats(scores: &[Vec<f64>]) -> Result<Vec<MeanStd>, EvalError> {
    let cols = check_scores(scores)?;
    Ok((0..cols)
        .map(|c| MeanStd::of(&scores.iter().map(|r| r[c]).collect::<Vec<_>>()))
        .collect())
}

/// "Avg" of the paper's tables: the mean over objectives of the per-objective means.
pub fn avg_reward(scores: &[Vec<f64>]) -> Result<f64, EvalError> {
    let stats = objective_stats(scores)?;
    Ok(stats.iter().map(|s| s.mean).sum::<f64>() / stats.len() as f64)
}

/// ICV-A (docs/algorithms.md, first reading): mean / population std, over samples, of each
/// sample's average reward across objectives. `None` when that std is zero.
pub fn icv_a_sample_average(scores: &[Vec<f64>]) -> Result<Option<f64>, EvalError> {
    let cols = check_scores(scores)? as f64;
    let averages: Vec<f64> = scores
        .iter()
        .map(|r| r.iter().sum::<f64>() / cols)
        .collect();
    Ok(MeanStd::of(&averages).icv())
}

/// ICV-B (docs/algorithms.md, second reading): the mean over objectives of μ_i / σ_i, with
/// σ_i the population std of objective i over samples. `None` when any σ_i is zero.
pub fn icv_b_mean_objective_icv(scores: &[Vec<f64>]) -> Result<Option<f64>, EvalError> {
    let stats = objective_stats(scores)?;
    let ratios: Option<Vec<f64>> = stats.iter().map(MeanStd::icv).collect();
    Ok(ratios.map(|r| r.iter().sum::<f64>() / r.len() as f64))
}

/// Whether `a` Pareto-dominates `b` under maximisation: no worse everywhere, better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Indices (ascending) of the non-dominated rows under maximisation; duplicates of a
/// non-dominated row are all kept.
pub fn pareto_front(scores: &[Vec<f64>]) -> Result<Vec<usize>, EvalError> {
    check_scores(scores)?;
    Ok((0..scores.len())
        .filter(|&i| !scores.iter().any(|q| dominates(q, &scores[i])))
        .collect())
}

/// Exact hypervolume (maximisation) of the region dominated by `points` and dominating
/// `reference`, for 2 objectives (sweep) or 3 (slices along the third objective, each a 2-D
/// sweep). Points that do not strictly dominate the reference contribute nothing.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> Result<f64, EvalError> {
    let dim = check_scores(points)?;
    if reference.len() != dim {
        return Err(EvalError::Mismatch {
            what: "reference point length vs objectives",
            expected: dim,
            got: reference.len(),
        });
    }
    if let Some(col) = reference.iter().position(|v| !v.is_finite()) {
        return Err(EvalError::NonFinite { row: 0, col });
    }
    // Coordinates relative to the reference, for points strictly inside the reference box.
    let inside = points.iter().filter_map(|p| {
        let rel: Vec<f64> = p.iter().zip(reference).map(|(x, r)| x - r).collect();
        rel.iter().all(|&v| v > 0.0).then_some(rel)
    });
    match dim {
        2 => Ok(hv2(inside.map(|p| [p[0], p[1]]).collect())),
        3 => Ok(hv3(inside.map(|p| [p[0], p[1], p[2]]).collect())),
        d => Err(EvalError::UnsupportedDimension(d)),
    }
}

/// 2-D hypervolume against the origin of positive points: sweep by decreasing x.
fn hv2(mut points: Vec<[f64; 2]>) -> f64 {
    points.sort_by(|a, b| b[0].total_cmp(&a[0]));
    let (mut area, mut best_y) = (0.0, 0.0);
    for [x, y] in points {
        if y > best_y {
            area += x * (y - best_y);
            best_y = y;
        }
    }
    area
}

/// 3-D hypervolume against the origin of positive points: between consecutive z levels the
/// cross-section is the 2-D hypervolume of the points at or above the upper level.
fn hv3(mut points: Vec<[f64; 3]>) -> f64 {
    points.sort_by(|a, b| b[2].total_cmp(&a[2]));
    let mut volume = 0.0;
    for k in 0..points.len() {
        let depth = points[k][2] - points.get(k + 1).map_or(0.0, |p| p[2]);
        if depth > 0.0 {
            volume += depth * hv2(points[..=k].iter().map(|p| [p[0], p[1]]).collect());
        }
    }
    volume
}

/// Metrics of one strategy (one seed) on one evaluation set; serialisable for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Strategy name (the table's Method column), e.g. `IterativeRS`.
    pub strategy: String,
    /// Objective names, one per score column.
    pub objectives: Vec<String>,
    /// Number of evaluated samples.
    pub n_samples: usize,
    /// Per-objective mean and population std over samples.
    pub per_objective: Vec<MeanStd>,
    /// "Avg": mean over objectives of the per-objective means.
    pub avg: f64,
    /// ICV-A: mean/std over samples of each sample's average reward (`None`: zero std).
    pub icv_a: Option<f64>,
    /// Population std over samples of each sample's average reward (`None` in reports made
    /// before it was recorded, or without samples).
    #[serde(default)]
    pub avg_std: Option<f64>,
    /// ICV-B: mean over objectives of μ_i/σ_i (`None`: some σ_i is zero).
    pub icv_b: Option<f64>,
    /// Indices of the Pareto-optimal samples.
    pub pareto_front: Vec<usize>,
    /// Reference point of [`Summary::hypervolume`], if one was given.
    pub hv_reference: Option<Vec<f64>>,
    /// Hypervolume of the samples against `hv_reference`.
    pub hypervolume: Option<f64>,
}

/// Population std over samples of each sample's average reward (`None` without samples).
fn sample_average_std(scores: &[Vec<f64>]) -> Option<f64> {
    let avgs: Vec<f64> = scores
        .iter()
        .map(|r| r.iter().sum::<f64>() / r.len().max(1) as f64)
        .collect();
    let n = avgs.len() as f64;
    (!avgs.is_empty()).then(|| {
        let mean = avgs.iter().sum::<f64>() / n;
        (avgs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n).sqrt()
    })
}

impl Summary {
    /// Compute every metric of `scores`; the hypervolume only when `hv_reference` is given
    /// (which then requires 2 or 3 objectives).
    pub fn new<S: AsRef<str>>(
        strategy: &str,
        objectives: &[S],
        scores: &[Vec<f64>],
        hv_reference: Option<&[f64]>,
    ) -> Result<Self, EvalError> {
        let per_objective = objective_stats(scores)?;
        if objectives.len() != per_objective.len() {
            return Err(EvalError::Mismatch {
                what: "objective names vs score columns",
                expected: per_objective.len(),
                got: objectives.len(),
            });
        }
        Ok(Self {
            strategy: strategy.to_owned(),
            objectives: objectives.iter().map(|s| s.as_ref().to_owned()).collect(),
            n_samples: scores.len(),
            avg: per_objective.iter().map(|s| s.mean).sum::<f64>() / per_objective.len() as f64,
            per_objective,
            icv_a: icv_a_sample_average(scores)?,
            avg_std: sample_average_std(scores),
            icv_b: icv_b_mean_objective_icv(scores)?,
            pareto_front: pareto_front(scores)?,
            hv_reference: hv_reference.map(<[f64]>::to_vec),
            hypervolume: hv_reference.map(|r| hypervolume(scores, r)).transpose()?,
        })
    }
}

/// Area under the ROC curve (Mann–Whitney U with average ranks for ties); NaN without both
/// positives and negatives.
pub fn auroc(scores: &[f64], positive: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    let pos = positive.iter().filter(|&&p| p).count() as f64;
    let neg = positive.len() as f64 - pos;
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_matches_hand_computed_values() {
        assert_eq!(
            auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auroc(&[1.0, 2.0], &[false, true]), 1.0);
        assert_eq!(auroc(&[1.0, 1.0], &[false, true]), 0.5);
        assert!(auroc(&[1.0], &[true]).is_nan());
    }

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// Columns (1,3,2) and (0,4,2): μ = (2, 2), σ² = (2/3, 8/3); sample averages
    /// (0.5, 3.5, 2): mean 2, σ² = 1.5.
    fn example() -> Vec<Vec<f64>> {
        vec![vec![1.0, 0.0], vec![3.0, 4.0], vec![2.0, 2.0]]
    }

    #[test]
    fn stats_and_both_icvs_match_hand_computation() {
        let s = objective_stats(&example()).unwrap();
        close(s[0].mean, 2.0);
        close(s[0].std, (2.0f64 / 3.0).sqrt());
        close(s[1].mean, 2.0);
        close(s[1].std, (8.0f64 / 3.0).sqrt());
        close(avg_reward(&example()).unwrap(), 2.0);
        // ICV-A = 2 / sqrt(1.5); ICV-B = (2/sqrt(2/3) + 2/sqrt(8/3)) / 2 = 3·sqrt(6)/4.
        close(
            icv_a_sample_average(&example()).unwrap().unwrap(),
            2.0 / 1.5f64.sqrt(),
        );
        close(
            icv_b_mean_objective_icv(&example()).unwrap().unwrap(),
            3.0 * 6f64.sqrt() / 4.0,
        );
    }

    #[test]
    fn icv_is_none_for_constant_scores() {
        let constant = vec![vec![0.1, 0.3]; 3];
        assert_eq!(icv_a_sample_average(&constant).unwrap(), None);
        assert_eq!(icv_b_mean_objective_icv(&constant).unwrap(), None);
    }

    #[test]
    fn bad_matrices_are_typed_errors() {
        assert!(matches!(objective_stats(&[]), Err(EvalError::Empty)));
        assert!(matches!(objective_stats(&[vec![]]), Err(EvalError::Empty)));
        assert!(matches!(
            pareto_front(&[vec![1.0, 2.0], vec![1.0]]),
            Err(EvalError::Ragged {
                row: 1,
                len: 1,
                expected: 2
            })
        ));
        assert!(matches!(
            avg_reward(&[vec![1.0, f64::NAN]]),
            Err(EvalError::NonFinite { row: 0, col: 1 })
        ));
        assert!(matches!(
            Summary::new("x", &["a"], &example(), None),
            Err(EvalError::Mismatch { .. })
        ));
    }

    #[test]
    fn pareto_front_of_small_set() {
        let pts = [[1., 5.], [2., 4.], [1., 4.], [3., 1.], [2., 4.], [0., 0.]].map(Vec::from);
        assert_eq!(pareto_front(&pts).unwrap(), vec![0, 1, 3, 4]);
    }

    #[test]
    fn hypervolume_2d_hand_values() {
        let hv = |p: &[[f64; 2]], r: [f64; 2]| {
            hypervolume(&p.iter().map(|x| x.to_vec()).collect::<Vec<_>>(), &r).unwrap()
        };
        close(hv(&[[1., 1.]], [0., 0.]), 1.0);
        close(hv(&[[2., 1.], [1., 2.]], [0., 0.]), 3.0); // 2 + 2 − 1 overlap
        close(hv(&[[2., 1.], [1., 2.], [1., 1.]], [0., 0.]), 3.0); // dominated point adds 0
        close(hv(&[[3., 2.], [-1., 5.]], [1., 1.]), 2.0); // (−1, 5) does not dominate ref
        close(hv(&[[0., 5.]], [0., 0.]), 0.0);
    }

    #[test]
    fn hypervolume_3d_hand_values() {
        let hv = |p: &[[f64; 3]]| {
            hypervolume(
                &p.iter().map(|x| x.to_vec()).collect::<Vec<_>>(),
                &[0., 0., 0.],
            )
            .unwrap()
        };
        close(hv(&[[1., 1., 1.]]), 1.0);
        // Three boxes of volume 2 pairwise overlapping in the unit cube: 6 − 3 + 1.
        close(hv(&[[2., 1., 1.], [1., 2., 1.], [1., 1., 2.]]), 4.0);
        close(hv(&[[2., 3., 4.], [1., 1., 1.]]), 24.0);
    }

    #[test]
    fn hypervolume_matches_unit_cell_count_on_random_integer_points() {
        let mut rng = StdRng::seed_from_u64(7);
        for dim in [2usize, 3] {
            for _ in 0..40 {
                let n = rng.random_range(1..=12);
                let pts: Vec<Vec<f64>> = (0..n)
                    .map(|_| (0..dim).map(|_| rng.random_range(-1..=6) as f64).collect())
                    .collect();
                // Brute force: count unit cells of [0, 6]^dim whose upper corner is dominated.
                let cells = (0..6usize.pow(dim as u32))
                    .filter(|&c| {
                        let corner: Vec<f64> = (0..dim)
                            .map(|k| (c / 6usize.pow(k as u32) % 6 + 1) as f64)
                            .collect();
                        pts.iter()
                            .any(|p| p.iter().zip(&corner).all(|(a, b)| a >= b))
                    })
                    .count();
                assert_eq!(hypervolume(&pts, &vec![0.0; dim]).unwrap(), cells as f64);
            }
        }
    }

    #[test]
    fn hypervolume_rejects_bad_input() {
        let p4 = vec![vec![1.0; 4]];
        assert!(matches!(
            hypervolume(&p4, &[0.0; 4]),
            Err(EvalError::UnsupportedDimension(4))
        ));
        assert!(matches!(
            hypervolume(&[vec![1.0, 2.0]], &[0.0, f64::NAN]),
            Err(EvalError::NonFinite { row: 0, col: 1 })
        ));
        assert!(matches!(
            hypervolume(&[vec![1.0, 2.0]], &[0.0]),
            Err(EvalError::Mismatch { .. })
        ));
    }

    #[test]
    fn summary_collects_metrics_and_round_trips_json() {
        let s = Summary::new("MORLHF", &["a", "b"], &example(), Some(&[0.0, 0.0])).unwrap();
        assert_eq!(s.n_samples, 3);
        close(s.avg, 2.0);
        assert_eq!(s.pareto_front, vec![1]);
        close(s.hypervolume.unwrap(), 12.0);
        // serde_json's default float parsing may differ in the last bit, so compare closely.
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.pareto_front, s.pareto_front);
        close(back.icv_a.unwrap(), s.icv_a.unwrap());
        close(back.icv_b.unwrap(), s.icv_b.unwrap());
    }
}
