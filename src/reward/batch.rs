//! The result of scoring one batch: every reward's raw and transformed values and the totals.

use super::RewardError;
use super::aggregate::Aggregation;
use super::normalize::mean_std;
use serde::Serialize;

/// One reward's values for a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardColumn {
    /// The reward's name.
    pub name: String,
    /// Its weight in the set (0 = log-only).
    pub weight: f64,
    /// The values the reward returned (`None` = not applicable).
    pub raw: Vec<Option<f64>>,
    /// The values after transform, direction and normaliser: what the aggregation consumes.
    pub transformed: Vec<Option<f64>>,
}

/// Per-reward summary of a batch for logging; means and stds are population statistics over
/// the applicable values (`None` when there are none).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RewardStats {
    /// The reward's name.
    pub name: String,
    /// Its weight in the set.
    pub weight: f64,
    /// Mean raw value.
    pub raw_mean: Option<f64>,
    /// Standard deviation of the raw values.
    pub raw_std: Option<f64>,
    /// Mean transformed value.
    pub transformed_mean: Option<f64>,
    /// Standard deviation of the transformed values.
    pub transformed_std: Option<f64>,
    /// Number of samples the reward did not apply to.
    pub not_applicable: usize,
    /// Number of samples in the batch.
    pub count: usize,
}

impl RewardStats {
    /// The statistics of a batch split into `parts` (each part's per-reward statistics, in
    /// the same reward order): counts added, means and population standard deviations pooled
    /// exactly (up to rounding).
    pub fn pool(parts: &[Vec<RewardStats>]) -> Vec<RewardStats> {
        let Some(first) = parts.first() else {
            return Vec::new();
        };
        (0..first.len())
            .map(|k| {
                let rows: Vec<&RewardStats> = parts.iter().filter_map(|p| p.get(k)).collect();
                let pooled = |mean: fn(&RewardStats) -> Option<f64>,
                              std: fn(&RewardStats) -> Option<f64>| {
                    let (mut n, mut s1, mut s2) = (0.0, 0.0, 0.0);
                    for r in &rows {
                        if let (Some(m), Some(sd)) = (mean(r), std(r)) {
                            let c = (r.count - r.not_applicable) as f64;
                            n += c;
                            s1 += c * m;
                            s2 += c * (sd * sd + m * m);
                        }
                    }
                    (n > 0.0).then(|| {
                        let m = s1 / n;
                        (m, (s2 / n - m * m).max(0.0).sqrt())
                    })
                };
                let raw = pooled(|r| r.raw_mean, |r| r.raw_std);
                let transformed = pooled(|r| r.transformed_mean, |r| r.transformed_std);
                RewardStats {
                    name: first[k].name.clone(),
                    weight: first[k].weight,
                    raw_mean: raw.map(|s| s.0),
                    raw_std: raw.map(|s| s.1),
                    transformed_mean: transformed.map(|s| s.0),
                    transformed_std: transformed.map(|s| s.1),
                    not_applicable: rows.iter().map(|r| r.not_applicable).sum(),
                    count: rows.iter().map(|r| r.count).sum(),
                }
            })
            .collect()
    }
}

/// Every reward's values for a batch of samples and the optimised total per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardBatch {
    columns: Vec<RewardColumn>,
    total: Vec<f64>,
    aggregation: Aggregation,
    na_penalty: f64,
}

impl RewardBatch {
    /// Aggregates `columns` with their own weights.
    pub(crate) fn new(
        columns: Vec<RewardColumn>,
        aggregation: Aggregation,
        na_penalty: f64,
    ) -> Result<Self, RewardError> {
        let weights: Vec<f64> = columns.iter().map(|c| c.weight).collect();
        let total = aggregation.totals(&columns, &weights, na_penalty)?;
        Ok(Self {
            columns,
            total,
            aggregation,
            na_penalty,
        })
    }

    /// One column per reward, in the set's order.
    pub fn columns(&self) -> &[RewardColumn] {
        &self.columns
    }

    /// The column of the reward called `name`.
    pub fn column(&self, name: &str) -> Option<&RewardColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The scalar optimised for each sample, under the set's weights.
    pub fn total(&self) -> &[f64] {
        &self.total
    }

    /// The totals under other `weights` (one per reward, in the set's order) with the same
    /// aggregation and not-applicable penalty; e.g. one-hot weights give an expert's reward.
    ///
    /// # Errors
    /// [`RewardError::InvalidWeights`] as for the set's own weights,
    /// [`RewardError::NonFinite`] for a total that overflows (its `sample` text empty: the
    /// batch does not keep the samples), or [`RewardError::OutOfRange`] under
    /// [`Aggregation::WeightedGeometricMean`].
    pub fn total_with(&self, weights: &[f64]) -> Result<Vec<f64>, RewardError> {
        self.aggregation
            .totals(&self.columns, weights, self.na_penalty)
    }

    /// Per-reward statistics, in the set's order.
    pub fn stats(&self) -> Vec<RewardStats> {
        self.columns
            .iter()
            .map(|c| {
                let raw = mean_std(c.raw.iter().flatten().copied());
                let transformed = mean_std(c.transformed.iter().flatten().copied());
                RewardStats {
                    name: c.name.clone(),
                    weight: c.weight,
                    raw_mean: raw.map(|s| s.0),
                    raw_std: raw.map(|s| s.1),
                    transformed_mean: transformed.map(|s| s.0),
                    transformed_std: transformed.map(|s| s.1),
                    not_applicable: c.raw.iter().filter(|v| v.is_none()).count(),
                    count: c.raw.len(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reward::normalize::mean_std;

    fn stats(values: &[Option<f64>]) -> RewardStats {
        let s = mean_std(values.iter().flatten().copied());
        RewardStats {
            name: "r".into(),
            weight: 1.0,
            raw_mean: s.map(|s| s.0),
            raw_std: s.map(|s| s.1),
            transformed_mean: s.map(|s| s.0),
            transformed_std: s.map(|s| s.1),
            not_applicable: values.iter().filter(|v| v.is_none()).count(),
            count: values.len(),
        }
    }

    #[test]
    fn pooled_parts_equal_the_whole() {
        let all = [Some(1.0), None, Some(4.0), Some(-2.0), Some(0.5), None];
        let whole = stats(&all);
        let parts = vec![
            vec![stats(&all[..2])],
            vec![stats(&all[2..5])],
            vec![stats(&all[5..])],
        ];
        let pooled = &RewardStats::pool(&parts)[0];
        assert_eq!((pooled.count, pooled.not_applicable), (6, 2));
        let close = |a: Option<f64>, b: Option<f64>| (a.unwrap() - b.unwrap()).abs() < 1e-12;
        assert!(close(pooled.raw_mean, whole.raw_mean));
        assert!(close(pooled.raw_std, whole.raw_std));
        assert!(close(pooled.transformed_std, whole.transformed_std));
    }
}
