//! Per-reward standardisation: none, fixed constants, or running (Welford) statistics.

use serde::{Deserialize, Serialize};

/// Standard deviations below this count as zero: values are then only centred (divided by 1).
pub const MIN_STD: f64 = 1e-12;

/// `(x − mean)/std`, with `std` replaced by 1 when it is below [`MIN_STD`].
pub(crate) fn standardize(x: f64, mean: f64, std: f64) -> f64 {
    (x - mean) / if std < MIN_STD { 1.0 } else { std }
}

/// Two-pass mean and population standard deviation (divisor n); `None` when empty.
pub(crate) fn mean_std(values: impl Iterator<Item = f64> + Clone) -> Option<(f64, f64)> {
    let n = values.clone().count();
    if n == 0 {
        return None;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = values.map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    Some((mean, var.sqrt()))
}

/// Welford running mean and population variance.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RunningStats {
    count: u64,
    mean: f64,
    m2: f64,
}

impl RunningStats {
    /// Adds one value (unchecked: [`Normalizer::update`] refuses values that overflow).
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Number of values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean of the values seen (0 when none).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation of the values seen (0 when none).
    pub fn std(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }
}

/// How a reward's (transformed) values are standardised before aggregation.
///
/// A normaliser maps `x` to `(x − mean)/std`; a `std` below [`MIN_STD`] is replaced by 1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Normalizer {
    /// Values unchanged (the default).
    #[default]
    None,
    /// Fixed constants, e.g. measured on the training set (as RiC does).
    Fixed {
        /// Subtracted mean.
        mean: f64,
        /// Divisor (`> 0`).
        std: f64,
    },
    /// Running statistics: each batch's applicable values are added first, then the updated
    /// constants are applied. Unfitted (no values yet) it is the identity.
    Running {
        /// The statistics so far.
        #[serde(default)]
        stats: RunningStats,
        /// When true, batches no longer update `stats`.
        #[serde(default)]
        frozen: bool,
    },
}

impl Normalizer {
    /// An empty, unfrozen running normaliser.
    pub fn running() -> Self {
        Self::Running {
            stats: RunningStats::default(),
            frozen: false,
        }
    }

    /// Adds a batch's applicable values to running statistics (no-op otherwise or when frozen).
    ///
    /// # Errors
    /// `Err(x)` when adding `x` would make the statistics NaN or infinite (values so large
    /// that their variance overflows f64, around 1e154 and beyond: an `m2` of ∞ would
    /// standardise every later value to 0); the statistics are then left as they were.
    pub fn update(&mut self, values: &[f64]) -> Result<(), f64> {
        if let Self::Running {
            stats,
            frozen: false,
        } = self
        {
            let mut next = *stats;
            for &x in values {
                next.push(x);
                if !(next.mean.is_finite() && next.m2.is_finite()) {
                    return Err(x);
                }
            }
            *stats = next;
        }
        Ok(())
    }

    /// Stops running statistics from changing.
    pub fn freeze(&mut self) {
        if let Self::Running { frozen, .. } = self {
            *frozen = true;
        }
    }

    /// The current `(mean, std)`; `None` for [`Normalizer::None`] and an unfitted running one.
    pub fn constants(&self) -> Option<(f64, f64)> {
        match *self {
            Self::None => None,
            Self::Fixed { mean, std } => Some((mean, std)),
            Self::Running { stats, .. } => (stats.count > 0).then(|| (stats.mean, stats.std())),
        }
    }

    /// Standardises `x` with the current constants.
    pub fn apply(&self, x: f64) -> f64 {
        self.constants()
            .map_or(x, |(mean, std)| standardize(x, mean, std))
    }

    /// Why the parameters are unusable, if they are.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        match *self {
            Self::None => Ok(()),
            Self::Fixed { mean, std } if !(mean.is_finite() && std.is_finite() && std > 0.0) => {
                Err("mean must be finite and std finite and positive")
            }
            Self::Fixed { .. } => Ok(()),
            Self::Running { stats, .. }
                if !(stats.mean.is_finite() && stats.m2.is_finite() && stats.m2 >= 0.0) =>
            {
                Err("running statistics must be finite with m2 ≥ 0")
            }
            Self::Running { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn welford_equals_two_pass() {
        let mut rng = StdRng::seed_from_u64(7);
        let values: Vec<f64> = (0..1000)
            .map(|_| 1e3 + 50.0 * rng.random::<f64>())
            .collect();
        let mut norm = Normalizer::running();
        for batch in values.chunks(64) {
            norm.update(batch).unwrap();
        }
        let (mean, std) = norm.constants().unwrap();
        let (m2, s2) = mean_std(values.iter().copied()).unwrap();
        assert!((mean - m2).abs() < 1e-9 && (std - s2).abs() < 1e-9);
        let Normalizer::Running { stats, .. } = norm else {
            unreachable!()
        };
        assert_eq!(stats.count(), 1000);
        assert!((norm.apply(mean + 2.0 * std) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn mean_std_hand_example() {
        assert_eq!(mean_std([1.0, 3.0].into_iter()), Some((2.0, 1.0)));
        assert_eq!(mean_std(std::iter::empty()), None);
    }

    #[test]
    fn freeze_fixed_and_none() {
        let mut norm = Normalizer::running();
        assert_eq!(norm.constants(), None);
        assert_eq!(norm.apply(3.0), 3.0);
        norm.update(&[1.0, 3.0]).unwrap();
        norm.freeze();
        norm.update(&[100.0]).unwrap();
        assert_eq!(norm.constants(), Some((2.0, 1.0)));
        let json = serde_json::to_string(&norm).unwrap();
        assert_eq!(serde_json::from_str::<Normalizer>(&json).unwrap(), norm);

        let fixed = Normalizer::Fixed {
            mean: 1.0,
            std: 2.0,
        };
        assert_eq!(fixed.apply(5.0), 2.0);
        assert_eq!(Normalizer::None.apply(5.0), 5.0);
        assert_eq!(Normalizer::None.constants(), None);
        assert!(
            Normalizer::Fixed {
                mean: 0.0,
                std: 0.0
            }
            .check()
            .is_err()
        );
        // A constant batch is only centred.
        let mut constant = Normalizer::running();
        constant.update(&[4.0, 4.0]).unwrap();
        assert_eq!(constant.apply(5.0), 1.0);
    }
}
