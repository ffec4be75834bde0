//! What a comparison plans to spend and how it judges: the [`Budget`] every strategy gets, how
//! budgets are made equal ([`Accounting`]), and the [`EvalPlan`] of every final policy (Burn
//! configs: `new` with the required values, `with_*` for the rest); a [`Preset`] is a budget
//! with its evaluation samples, one of a task's default, quick and full choices.

use burn::config::Config;
use serde::{Deserialize, Serialize};

/// The training budget of every strategy in a comparison: what it plans to spend (a run's
/// [`Spent`](crate::strategy::Spent) says what it did).
///
/// Equal-samples accounting: every RL strategy gets `iterations` PPO iterations of `samples`
/// samples in total (IterativeRS and Rewarded Soups split them over their `N` experts); RiC gets
/// as many generated samples and optimiser updates.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub struct Budget {
    /// PPO iterations per strategy, summed over experts; at least the number of objectives. A
    /// remainder after dividing by the objectives is not used.
    pub iterations: usize,
    /// Samples per PPO iteration (reference 128).
    pub samples: usize,
    /// IterativeRS merge period m in steps per expert (reference 4).
    #[config(default = 4)]
    pub merge_every: usize,
    /// Generated tokens per sample (reference 100).
    #[config(default = 100)]
    pub max_new_tokens: usize,
    /// PPO epochs per iteration (reference 4).
    #[config(default = 4)]
    pub epochs: usize,
    /// PPO minibatches per epoch (reference 4).
    #[config(default = 4)]
    pub minibatches: usize,
}

impl Budget {
    /// With `epochs` PPO epochs of `minibatches` minibatches per iteration.
    pub fn with_updates(self, epochs: usize, minibatches: usize) -> Self {
        self.with_epochs(epochs).with_minibatches(minibatches)
    }
}

/// A budget preset with its evaluation samples (a task offers three: default, quick, full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The training budget.
    pub budget: Budget,
    /// Samples per final policy for evaluation.
    pub eval_samples: usize,
}

impl Preset {
    /// `budget` with `eval_samples` evaluation samples per policy.
    pub fn new(budget: Budget, eval_samples: usize) -> Self {
        Self {
            budget,
            eval_samples,
        }
    }

    /// Presets that scale with the number of objectives `n` — default, quick, full (25
    /// rounds × m = 4 steps × n experts, 128 samples of 100 tokens) — for a task without
    /// budgets of its own (molecules, a study's own prompts).
    pub fn per_objective(n: usize) -> [Preset; 3] {
        let default = Budget::new(10 * n, 64)
            .with_merge_every(2)
            .with_max_new_tokens(32)
            .with_updates(2, 2);
        let quick = Budget {
            iterations: 2 * n,
            samples: 32,
            merge_every: 1,
            ..default
        };
        let full = Budget::new(100 * n, 128);
        [
            Preset::new(default, 512),
            Preset::new(quick, 128),
            Preset::new(full, 1024),
        ]
    }
}

/// How budgets are made equal across strategies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accounting {
    /// Equal samples (the default): every RL strategy gets `iterations` PPO iterations;
    /// IterativeRS and Rewarded Soups split them over their `N` experts, so each expert takes
    /// `T = iterations / N` steps and MORLHF takes `N·T`.
    #[default]
    Samples,
    /// Equal algorithmic steps (the paper's accounting): every strategy takes the same
    /// `T = iterations / N` steps; an IterativeRS or Rewarded Soups step is one PPO iteration of
    /// every expert, so those use `N` times MORLHF's samples (and RiC gets MORLHF's).
    Steps,
}

impl Accounting {
    /// One sentence for the reports, with `t` steps per expert and `n` objectives.
    pub fn describe(self, t: usize, n: usize) -> String {
        match self {
            Self::Samples => format!(
                "equal samples: every RL strategy {} PPO iterations (IterativeRS and Rewarded \
                 Soups {t} steps per expert × {n} experts, MORLHF {} steps); RiC as many samples",
                t * n,
                t * n
            ),
            Self::Steps => format!(
                "equal algorithmic steps T = {t} (the paper's): IterativeRS and Rewarded Soups \
                 {t} steps of each of {n} experts ({} PPO iterations), MORLHF {t} steps ({t} \
                 iterations); RiC MORLHF's samples",
                t * n
            ),
        }
    }
}

/// How every final policy is evaluated.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub struct EvalPlan {
    /// Responses sampled from each policy, cycling over the evaluation prompts.
    pub samples: usize,
    /// Base seed of the evaluation samples (the run's seed is added).
    #[config(default = 1_000_003)]
    pub seed: u64,
}
