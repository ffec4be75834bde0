//! 95 % confidence intervals of a strategy's mean score: Student's t over seeds when there are
//! at least two, otherwise the normal interval ±1.96 × the standard error over the one run's
//! evaluation samples.

use super::metrics::{MeanStd, Summary};
use super::table::SeedStats;
use serde::{Deserialize, Serialize};

/// The 0.975 quantile of the standard normal distribution.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// The 0.975 quantiles of Student's t for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706_204_736,
    4.302_652_730,
    3.182_446_305,
    2.776_445_105,
    2.570_581_836,
    2.446_911_851,
    2.364_624_252,
    2.306_004_135,
    2.262_157_163,
    2.228_138_852,
    2.200_985_160,
    2.178_812_830,
    2.160_368_656,
    2.144_786_688,
    2.131_449_546,
    2.119_905_299,
    2.109_815_578,
    2.100_922_040,
    2.093_024_054,
    2.085_963_447,
    2.079_613_845,
    2.073_873_068,
    2.068_657_610,
    2.063_898_562,
    2.059_538_553,
    2.055_529_439,
    2.051_830_516,
    2.048_407_142,
    2.045_229_642,
    2.042_272_456,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (≥ 1): tabulated up to 30,
/// past that the Cornish–Fisher expansion in 1/df (error under 3·10⁻⁸). NaN for `df` = 0.
pub fn t_975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df - 1],
        _ => {
            let (z, v) = (Z_975, df as f64);
            let (z2, z3) = (z * z, z * z * z);
            let (z5, z7, z9) = (z3 * z2, z3 * z2 * z2, z3 * z3 * z3);
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92160.0 * v.powi(4))
        }
    }
}

/// What an [`Interval`] is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntervalKind {
    /// Student's t over this many seeds' means (≥ 2).
    Seeds(usize),
    /// ±1.96 × the standard error over this many evaluation samples of one run.
    Samples(usize),
}

/// A mean with the half-width of its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The mean.
    pub mean: f64,
    /// Half the interval's width; `None` when it is undefined (one sample).
    pub half_width: Option<f64>,
    /// What the interval is taken over.
    pub kind: IntervalKind,
}

impl Interval {
    /// The t-interval of the mean of `means` (one per seed, at least two): the standard error
    /// of [`SeedStats`] times [`t_975`]`(n − 1)`. `None` for fewer than two values.
    pub fn over_seeds(means: &[f64]) -> Option<Self> {
        let stats = SeedStats::of(means);
        stats.se.map(|se| Self {
            mean: stats.mean,
            half_width: Some(t_975(stats.n - 1) * se),
            kind: IntervalKind::Seeds(stats.n),
        })
    }

    /// The normal interval of one run's mean over its `n` samples, whose population standard
    /// deviation `stats` records: ±[`Z_975`] × the sample standard deviation / √n.
    pub fn over_samples(stats: MeanStd, n: usize) -> Self {
        Self {
            mean: stats.mean,
            half_width: (n >= 2).then(|| Z_975 * stats.std / ((n - 1) as f64).sqrt()),
            kind: IntervalKind::Samples(n),
        }
    }

    /// The interval of objective `objective` for a strategy whose seeds are `seeds`: over
    /// seeds when there are two or more, otherwise over the one run's samples. `None` without
    /// seeds or when the objective is out of range.
    pub fn of_objective(seeds: &[&Summary], objective: usize) -> Option<Self> {
        let stats: Option<Vec<MeanStd>> = seeds
            .iter()
            .map(|s| s.per_objective.get(objective).copied())
            .collect();
        match (stats?.as_slice(), seeds) {
            ([one], [summary]) => Some(Self::over_samples(*one, summary.n_samples)),
            (many, _) => Self::over_seeds(&many.iter().map(|s| s.mean).collect::<Vec<_>>()),
        }
    }

    /// The interval's ends; the mean twice when the half-width is undefined.
    pub fn ends(&self) -> (f64, f64) {
        let h = self.half_width.unwrap_or(0.0);
        (self.mean - h, self.mean + h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_are_tabulated_then_expanded() {
        assert!((t_975(1) - 12.706_204_736).abs() < 1e-9);
        assert!((t_975(2) - 4.302_652_730).abs() < 1e-9);
        // The expansion continues the table smoothly and tends to the normal quantile.
        assert!(t_975(31) < t_975(30) && t_975(30) - t_975(31) < 3e-3);
        assert!((t_975(40) - 2.021_075_390).abs() < 1e-8);
        assert!((t_975(100) - 1.983_971_519).abs() < 1e-8);
        assert!((t_975(1_000_000) - Z_975).abs() < 1e-5);
        assert!(t_975(0).is_nan());
        assert!(T_975.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn seeds_give_t_intervals_and_one_run_its_samples_interval() {
        // Means 1, 2, 3: sample std 1, se 1/√3, t(2) = 4.3027.
        let i = Interval::over_seeds(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((i.mean, i.kind), (2.0, IntervalKind::Seeds(3)));
        assert!((i.half_width.unwrap() - 4.302_652_73 / 3f64.sqrt()).abs() < 1e-8);
        assert_eq!(Interval::over_seeds(&[1.0]), None);
        // 5 samples with population std 2: sample std 2·√(5/4), se = 2/√4 = 1.
        let s = Interval::over_samples(
            MeanStd {
                mean: 0.5,
                std: 2.0,
            },
            5,
        );
        assert!((s.half_width.unwrap() - Z_975).abs() < 1e-12);
        assert_eq!(s.kind, IntervalKind::Samples(5));
        let one = Interval::over_samples(
            MeanStd {
                mean: 0.5,
                std: 0.0,
            },
            1,
        );
        assert_eq!((one.half_width, one.ends()), (None, (0.5, 0.5)));
    }

    #[test]
    fn a_strategy_interval_depends_on_its_seed_count() {
        let scores = |shift: f64| vec![vec![1.0 + shift, 0.0], vec![3.0 + shift, 2.0]];
        let a = Summary::new("A", &["x", "y"], &scores(0.0), None).unwrap();
        let b = Summary::new("A", &["x", "y"], &scores(2.0), None).unwrap();
        let one = Interval::of_objective(&[&a], 0).unwrap();
        assert_eq!((one.mean, one.kind), (2.0, IntervalKind::Samples(2)));
        assert!((one.half_width.unwrap() - Z_975 * 1.0).abs() < 1e-12);
        let two = Interval::of_objective(&[&a, &b], 0).unwrap();
        assert_eq!((two.mean, two.kind), (3.0, IntervalKind::Seeds(2)));
        assert!((two.half_width.unwrap() - 12.706_204_736).abs() < 1e-8);
        assert_eq!(Interval::of_objective(&[&a], 2), None);
        assert_eq!(Interval::of_objective(&[], 0), None);
    }
}
