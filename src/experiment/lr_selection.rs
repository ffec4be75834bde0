//! Learning rates chosen per strategy on the training rewards (`--select-lr`): each RL
//! strategy is trained once per candidate on a tuning seed, its final policy is scored by the
//! training reward set (never the evaluation oracles), and the best candidate becomes the
//! strategy's learning rate for the evaluated seeds ([`select`]).

use super::error::{ExperimentError, io};
use super::evaluate::sample_and_score;
use super::observer::Observer;
use super::results_dir::{ResultsDir, slug};
use super::runner::{RunSpec, Runner};
use super::task::Task;
use crate::policy::Policy;
use crate::strategy::Strategy;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// What the tuning runs are: the plan, the runs' labels, the candidate learning rates, where
/// their checkpoints go and how many samples score each.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning<'s> {
    /// The planned strategies (RiC is not tuned).
    pub plan: &'s [Strategy],
    /// Their labels in the report.
    pub labels: &'s [String],
    /// The candidate learning rates.
    pub candidates: &'s [f64],
    /// The checkpoint folder of the comparison.
    pub checkpoints: &'s Path,
    /// Samples scoring each tuning run's final policy.
    pub samples: usize,
}

/// Train every RL strategy once per candidate learning rate on the tuning seed, score each
/// final policy with the training rewards (rank 0; the others take its choice), and keep the
/// trials in `runs/` (read back when resuming).
pub(super) fn select<P: Policy>(
    task: &mut Task<'_, P>,
    runner: &Runner<'_>,
    results: &ResultsDir,
    tuning: Tuning<'_>,
    observer: &dyn Observer,
) -> Result<Vec<Trial>, ExperimentError> {
    let root = runner.ranks.is_root();
    let path = results.run_file(FILE);
    let saved: Option<Vec<Trial>> = match root {
        true => results.read_kept(&path)?,
        false => None,
    };
    if let Some(trials) = runner.ranks.agree(Some(saved))?.flatten() {
        return Ok(trials);
    }
    let mut trials = Vec::new();
    for (strategy, label) in tuning.plan.iter().zip(tuning.labels) {
        if matches!(strategy, Strategy::Ric(_)) {
            continue;
        }
        let mut scored = Vec::new();
        for &lr in tuning.candidates {
            let dir = tuning
                .checkpoints
                .join(format!("lr-{}-{lr:e}", slug(label)));
            let spec = RunSpec {
                strategy,
                seed: TUNING_SEED,
                dir: &dir,
                resume: results.resume,
                stop: None,
                checkpoint_every: None,
                lr,
            };
            let output =
                runner
                    .train(task, &spec, &|_| {})
                    .map_err(|source| ExperimentError::Run {
                        strategy: strategy.name(),
                        seed: TUNING_SEED,
                        checkpoint: dir.clone(),
                        source: Box::new(source),
                    })?;
            let (training_reward, kl) = match root {
                true => score(task, &output.policy, tuning.samples)?,
                false => (0.0, 0.0),
            };
            if root && dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            }
            let trial = Trial {
                strategy: label.clone(),
                lr,
                training_reward,
                kl,
                chosen: false,
            };
            if root {
                observer.lr_trial(&trial);
            }
            scored.push(trial);
        }
        if let Some(i) = runner.ranks.agree(best(&scored))? {
            scored[i].chosen = true;
        }
        trials.extend(scored);
    }
    if root {
        results.keep(&path, &trials)?;
    }
    Ok(trials)
}

/// The mean preference-weighted *training* reward of `policy`'s samples (`samples` of them,
/// the evaluation prompts, the tuning seed) and their KL to the reference.
fn score<P: Policy>(
    task: &Task<'_, P>,
    policy: &P,
    samples: usize,
) -> Result<(f64, f64), ExperimentError> {
    let policy = burn::module::Module::valid(policy);
    let scored = sample_and_score(
        (&policy, &[]),
        &task.reference,
        &task.sampling,
        task.eval_prompts(),
        samples,
        TUNING_SEED,
        task.tokenizer,
        &task.rewards,
    )?;
    let weights = task.rewards.weights();
    Ok((weighted_mean(&scored.scores, &weights), scored.kl))
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
