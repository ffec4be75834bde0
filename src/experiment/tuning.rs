//! The learning-rate tuning runs (`ComparisonConfig::lr_candidates`, [`select`]): every RL
//! strategy trained once per candidate on the tuning seed, each final policy scored by the
//! training rewards, the best candidate chosen (`lr_selection.rs` says how).

use super::error::{ExperimentError, io};
use super::evaluate::sample_and_score;
use super::lr_selection::{FILE, TUNING_SEED, Trial, best, weighted_mean};
use super::observer::Observer;
use super::results_dir::{ResultsDir, slug};
use super::runner::{RunSpec, Runner};
use super::task::Task;
use crate::policy::Policy;
use crate::strategy::Strategy;
use std::path::Path;

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
            let output = runner.train(task, &spec, &|_| {}).map_err(|source| {
                ExperimentError::run(strategy.name(), TUNING_SEED, &dir, source)
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
