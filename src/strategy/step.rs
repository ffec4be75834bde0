//! One learner step as every strategy sees it: where it happens ([`StepContext`]), what it
//! did ([`StepReport`]), its entry in the run's log ([`StepRecord`]) and the compute a run has
//! spent so far ([`Spent`]).

use crate::reward::RewardStats;
use crate::rl::PpoStats;

/// Where in a run a learner step happens (for seeding and logging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext {
    /// 1-based algorithmic step t.
    pub step: usize,
    /// Expert (objective index) being trained, `None` for a single-policy strategy.
    pub expert: Option<usize>,
    /// 0-based merge round.
    pub round: usize,
    /// The run's seed.
    pub seed: u64,
}

impl StepContext {
    /// A seed unique to this (run seed, step, expert).
    pub fn step_seed(&self) -> u64 {
        let e = self.expert.map_or(0, |e| e as u64 + 1);
        self.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((self.step as u64) << 8)
            .wrapping_add(e)
    }
}

/// What one learner step did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// Per-reward statistics of the step's samples.
    pub rewards: Vec<RewardStats>,
    /// Mean of the optimised scalar.
    pub optimised: f64,
    /// Mean summed KL to the reference (0 if the learner does not measure it).
    pub kl: f64,
    /// Samples generated.
    pub samples: usize,
    /// Optimiser updates taken.
    pub updates: usize,
    /// PPO diagnostics, when the learner is PPO.
    pub ppo: Option<PpoStats>,
}

/// One logged learner step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Where it happened.
    pub step: usize,
    /// Expert index, if any.
    pub expert: Option<usize>,
    /// Merge round.
    pub round: usize,
    /// What the learner reported.
    pub report: StepReport,
}

/// Compute a run has spent (what a comparison plans is its `Budget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Spent {
    /// Learner steps (PPO iterations), summed over experts.
    pub iterations: usize,
    /// Samples generated for training.
    pub samples: usize,
    /// Optimiser updates.
    pub updates: usize,
    /// Merges performed.
    pub merges: usize,
}

impl Spent {
    /// Count one learner step that reported `r`.
    pub fn add(&mut self, r: &StepReport) {
        self.iterations += 1;
        self.samples += r.samples;
        self.updates += r.updates;
    }
}
