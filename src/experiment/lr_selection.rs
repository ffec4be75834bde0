//! Learning rates chosen per strategy on the training rewards (`--select-lr`): each RL
//! strategy is trained once per candidate on a tuning seed, its final policy is scored by the
//! training reward set (never the evaluation oracles), and the best candidate becomes the
//! strategy's learning rate for the evaluated seeds. Here: the trials ([`Trial`]), how they
//! are scored and chosen, and the report's section; the tuning runs are `tuning.rs`.

use serde::{Deserialize, Serialize};

/// Seed of the tuning runs, apart from the evaluated seeds `0..seeds`.
pub const TUNING_SEED: u64 = 1_000_003;

/// Where the trials are kept inside the runs folder (read back by `--resume`).
pub const FILE: &str = "lr-selection.json";

/// One tuning run: a strategy at one candidate learning rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The strategy's label in the report.
    pub strategy: String,
    /// The candidate learning rate.
    pub lr: f64,
    /// Mean over samples of the preference-weighted training rewards of the final policy.
    pub training_reward: f64,
    /// Its KL to the pretrained policy (nats per sample).
    pub kl: f64,
    /// Whether this candidate was chosen for the strategy.
    pub chosen: bool,
}

/// Mean over `scores` (`[sample][reward]`) of the `weights`-weighted mean of each row
/// (rewards with weight 0 are logged only and count for nothing).
pub fn weighted_mean(scores: &[Vec<f64>], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if scores.is_empty() || total <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let row = |r: &Vec<f64>| -> f64 {
        r.iter()
            .zip(weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|(x, w)| x * w)
            .sum::<f64>()
            / total
    };
    scores.iter().map(row).sum::<f64>() / scores.len() as f64
}

/// Index of the trial with the highest training reward (the first on ties), if any.
pub fn best(trials: &[Trial]) -> Option<usize> {
    trials
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, t)| match best {
            Some((_, b)) if b >= t.training_reward => best,
            _ => Some((i, t.training_reward)),
        })
        .map(|(i, _)| i)
}

/// The report's section listing every trial.
pub fn section(trials: &[Trial], samples: usize) -> String {
    let mut s = format!(
        "\nLearning rates chosen on the training rewards (`--select-lr`): one tuning run per \
         candidate (seed {TUNING_SEED}), its final policy scored by the mean \
         preference-weighted training reward of {samples} samples; the evaluation oracles are \
         not used.\n\n| Strategy | lr | Training reward | KL | Chosen |\n|---|---|---|---|---|\n"
    );
    for t in trials {
        s.push_str(&format!(
            "| {} | {:e} | {:.4} | {:.2} | {} |\n",
            t.strategy,
            t.lr,
            t.training_reward,
            t.kl,
            if t.chosen { "✓" } else { "" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(lr: f64, r: f64) -> Trial {
        Trial {
            strategy: "MORLHF".into(),
            lr,
            training_reward: r,
            kl: 1.0,
            chosen: false,
        }
    }

    #[test]
    fn the_best_training_reward_wins_and_weights_apply() {
        assert_eq!(
            best(&[trial(1e-5, 0.1), trial(1e-4, 0.3), trial(3e-4, 0.2)]),
            Some(1)
        );
        assert_eq!(best(&[trial(1e-5, 0.3), trial(1e-4, 0.3)]), Some(0));
        assert_eq!(best(&[]), None);
        // The weight-0 column (logged only) does not count.
        let m = weighted_mean(
            &[vec![1.0, 3.0, 100.0], vec![3.0, 1.0, -100.0]],
            &[1.0, 3.0, 0.0],
        );
        assert!((m - 2.0).abs() < 1e-12, "{m}");
        assert!(section(&[trial(1e-4, 0.3)], 64).contains("| MORLHF | 1e-4 | 0.3000 | 1.00 |"));
    }
}
