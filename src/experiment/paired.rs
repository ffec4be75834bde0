//! What the sweeps' reports share: a strategy's values over seeds as a 95 % t-interval,
//! paired per-seed differences read as ahead, behind or a tie, and the pairs compared.

use crate::eval::interval::{Interval, IntervalKind};

/// `values` (one per seed) as a mean with its 95 % t-interval (no half-width for one seed).
pub(super) fn over_seeds(values: &[f64]) -> Interval {
    Interval::over_seeds(values).unwrap_or(Interval {
        mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
        half_width: None,
        kind: IntervalKind::Seeds(values.len()),
    })
}

/// `mean ± half-width` to 4 decimals (the mean alone for one seed).
pub(super) fn show(i: &Interval) -> String {
    match i.half_width {
        Some(h) => format!("{:.4} ± {h:.4}", i.mean),
        None => format!("{:.4}", i.mean),
    }
}

/// A paired difference's interval and verdict ("ahead", "behind" or "tie": a difference whose
/// interval includes 0).
pub(super) fn verdict(diffs: &[f64]) -> String {
    match Interval::over_seeds(diffs) {
        Some(i) => {
            let (lo, hi) = i.ends();
            let word = if lo > 0.0 {
                "ahead"
            } else if hi < 0.0 {
                "behind"
            } else {
                "tie"
            };
            format!("{:+.4} [{lo:+.4}, {hi:+.4}] {word}", i.mean)
        }
        None => "– (one seed)".into(),
    }
}

/// Pairs of strategies, the first against each later one.
pub(super) fn pairs(strategies: &[String]) -> Vec<(&String, &String)> {
    let mut out = Vec::new();
    for (i, a) in strategies.iter().enumerate() {
        for b in &strategies[i + 1..] {
            out.push((a, b));
        }
    }
    out
}

/// `names` without repeats, in order of first appearance.
pub(super) fn unique(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tie_is_called_a_tie() {
        assert!(verdict(&[0.1, -0.1, 0.05]).ends_with("tie"));
        assert!(verdict(&[0.1, 0.12, 0.11]).ends_with("ahead"));
        assert!(verdict(&[-0.1, -0.12, -0.11]).ends_with("behind"));
        assert_eq!(verdict(&[0.1]), "– (one seed)");
    }

    #[test]
    fn intervals_over_seeds() {
        // Mean 2, sample std 1, n = 3: half-width t(0.975, 2) · 1/√3 = 4.303 / 1.732 = 2.484.
        let i = over_seeds(&[1.0, 2.0, 3.0]);
        assert!((i.mean - 2.0).abs() < 1e-12);
        assert!((i.half_width.unwrap() - 2.484).abs() < 1e-3, "{i:?}");
        assert_eq!(show(&over_seeds(&[0.5])), "0.5000");
        assert_eq!(pairs(&["A".into(), "B".into(), "C".into()]).len(), 3);
    }
}
