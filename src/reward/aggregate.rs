//! Combining several rewards' transformed values into one scalar per sample.

use super::batch::RewardColumn;
use super::normalize::{mean_std, standardize};
use super::{RewardError, Stage};
use serde::{Deserialize, Serialize};

/// Values below this are raised to it by [`Aggregation::WeightedGeometricMean`], so that the
/// logarithm stays finite: a value of 0 contributes `GEOMETRIC_FLOOR^(w_i/Σw)`, not 0.
pub const GEOMETRIC_FLOOR: f64 = 1e-10;

/// How the rewards with positive weight `w_i` are combined into a sample's total.
///
/// Rewards with weight 0 are log-only and never enter the total. A sample for which any
/// positively weighted reward is not applicable gets the set's `na_penalty` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// `Σ w_i r_i` (the default; MORLHF's scalarisation).
    #[default]
    WeightedSum,
    /// `Σ w_i z_i` with `z_i = (r_i − μ_i)/σ_i`, where `μ_i`, `σ_i` are the mean and population
    /// std of reward i's applicable values in the batch (`σ_i` below
    /// [`super::MIN_STD`] is replaced by 1): TRL's `normalize_then_sum` (GDPO).
    NormalizeThenSum,
    /// `(Π r_i^{w_i})^{1/Σ w_i}` (REINVENT 4); every `r_i` must lie in [0, 1] (else
    /// [`RewardError::OutOfRange`]) and is first raised to at least [`GEOMETRIC_FLOOR`].
    WeightedGeometricMean,
}

/// Checks that `weights` has one finite, non-negative weight per reward, not all zero.
pub(crate) fn check_weights(weights: &[f64], rewards: usize) -> Result<(), RewardError> {
    let reason = if weights.len() != rewards {
        format!("expected {rewards} weights, one per reward")
    } else if !weights.iter().all(|w| w.is_finite() && *w >= 0.0) {
        "weights must be finite and non-negative".to_owned()
    } else if !weights.iter().any(|w| *w > 0.0) {
        "at least one weight must be positive".to_owned()
    } else {
        return Ok(());
    };
    Err(RewardError::InvalidWeights {
        weights: weights.to_vec(),
        reason,
    })
}

impl Aggregation {
    /// Per-sample totals of `columns` under `weights` (one per column).
    pub(crate) fn totals(
        self,
        columns: &[RewardColumn],
        weights: &[f64],
        na_penalty: f64,
    ) -> Result<Vec<f64>, RewardError> {
        check_weights(weights, columns.len())?;
        // (weight, column, batch mean/std when standardising)
        let active: Vec<_> = columns
            .iter()
            .zip(weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|(c, &w)| {
                let centre = (self == Self::NormalizeThenSum)
                    .then(|| mean_std(c.transformed.iter().flatten().copied()))
                    .flatten();
                (w, c, centre)
            })
            .collect();
        let total_weight: f64 = active.iter().map(|(w, ..)| w).sum();
        let samples = columns.first().map_or(0, |c| c.transformed.len());
        (0..samples)
            .map(|i| {
                let mut acc = 0.0;
                for &(w, column, centre) in &active {
                    let Some(x) = column.transformed[i] else {
                        return Ok(na_penalty);
                    };
                    acc += match self {
                        Self::WeightedSum => w * x,
                        Self::NormalizeThenSum => {
                            w * centre.map_or(x, |(mean, std)| standardize(x, mean, std))
                        }
                        Self::WeightedGeometricMean if (0.0..=1.0).contains(&x) => {
                            w * x.max(GEOMETRIC_FLOOR).ln()
                        }
                        Self::WeightedGeometricMean => {
                            return Err(RewardError::OutOfRange {
                                reward: column.name.clone(),
                                index: i,
                                value: x,
                            });
                        }
                    };
                    if !acc.is_finite() {
                        return Err(RewardError::NonFinite {
                            reward: column.name.clone(),
                            index: i,
                            sample: String::new(),
                            value: acc,
                            stage: Stage::Total,
                        });
                    }
                }
                Ok(match self {
                    Self::WeightedGeometricMean => (acc / total_weight).exp(),
                    _ => acc,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, values: &[Option<f64>]) -> RewardColumn {
        RewardColumn {
            name: name.to_owned(),
            weight: 1.0,
            raw: values.to_vec(),
            transformed: values.to_vec(),
        }
    }

    #[test]
    fn weighted_geometric_mean() {
        let cols = [
            column("a", &[Some(0.25), Some(0.5), Some(0.0)]),
            column("b", &[Some(1.0), Some(0.8), Some(1.0)]),
        ];
        let agg = Aggregation::WeightedGeometricMean;
        let equal = agg.totals(&cols, &[1.0, 1.0], 0.0).unwrap();
        assert!((equal[0] - 0.5).abs() < 1e-12);
        assert!((equal[2] - GEOMETRIC_FLOOR.sqrt()).abs() < 1e-15);
        let skewed = agg.totals(&cols, &[2.0, 1.0], 0.0).unwrap();
        assert!((skewed[1] - (0.5f64 * 0.5 * 0.8).cbrt()).abs() < 1e-12);
        // Weight 0 ignores b entirely: the total is a's own value.
        let only_a = agg.totals(&cols, &[3.0, 0.0], 0.0).unwrap();
        assert!((only_a[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn geometric_mean_rejects_values_outside_unit_interval() {
        let cols = [column("a", &[Some(0.5), Some(1.5)])];
        let err = Aggregation::WeightedGeometricMean
            .totals(&cols, &[1.0], 0.0)
            .unwrap_err();
        assert!(matches!(
            err,
            RewardError::OutOfRange { ref reward, index: 1, value: 1.5 } if reward == "a"
        ));
    }

    #[test]
    fn weights_are_checked() {
        for bad in [&[1.0][..], &[1.0, -1.0], &[f64::NAN, 1.0], &[0.0, 0.0]] {
            assert!(matches!(
                check_weights(bad, 2),
                Err(RewardError::InvalidWeights { .. })
            ));
        }
        assert!(check_weights(&[0.0, 2.0], 2).is_ok());
    }
}
