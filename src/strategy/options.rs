//! How a run is watched and kept: checkpoints, early stops, step notifications and the ranks
//! it runs over ([`RunOptions`]).

use super::error::StrategyError;
use super::step::StepRecord;
use crate::distributed::Communicator;
use crate::limits::Checks;

/// Checkpointing, early stop and step notifications of a run. The default writes no
/// checkpoint and never stops early.
#[derive(Clone, Default)]
pub struct RunOptions<'a> {
    /// Write the run state here (atomically, replacing the previous one) after every merge
    /// round of IterativeRS, every round of RiC and every [`RunOptions::checkpoint_every`]
    /// learner steps of any strategy.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Also checkpoint after every this many learner steps (PPO iterations summed over experts;
    /// RiC: supervised rounds), at the next step boundary. `None`: merge rounds only.
    pub checkpoint_every: Option<usize>,
    /// Stop after this many merge rounds (IterativeRS) or supervised rounds (RiC; each is
    /// checkpointed), after their checkpoint; ≥ 1.
    pub stop_after_round: Option<usize>,
    /// Stop at the first checkpoint after this many learner steps (any strategy; ≥ 1).
    pub stop_after_iterations: Option<usize>,
    /// Called after every learner step with its record (progress bars, logging); in a
    /// distributed run, also for the steps of other ranks once they are exchanged.
    pub on_step: Option<&'a (dyn Fn(&StepRecord) + Sync)>,
    /// The ranks of a distributed run ([`crate::distributed`]): IterativeRS and Rewarded
    /// Soups place their experts on them; MORLHF and RiC run the same steps on every rank.
    /// Rank 0 writes the checkpoints. `None`: one process.
    pub communicator: Option<&'a dyn Communicator>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("stop_after_round", &self.stop_after_round)
            .field("stop_after_iterations", &self.stop_after_iterations)
            .field("on_step", &self.on_step.map(|_| "callback"))
            .field(
                "communicator",
                &self
                    .communicator
                    .map(|c| format!("rank {} of {}", c.rank(), c.size())),
            )
            .finish()
    }
}

impl RunOptions<'_> {
    /// Check the options: every count ≥ 1, and an early stop only with a checkpoint directory
    /// (the stop happens at a checkpoint, and without one the run could not be continued).
    pub fn validate(&self) -> Result<(), StrategyError> {
        let c = Checks("RunOptions");
        for (name, v) in [
            ("checkpoint_every", self.checkpoint_every),
            ("stop_after_round", self.stop_after_round),
            ("stop_after_iterations", self.stop_after_iterations),
        ] {
            if let Some(v) = v {
                c.at_least(name, v, 1, "a count (or None)")?;
            }
        }
        let stop = [
            ("stop_after_round", self.stop_after_round),
            ("stop_after_iterations", self.stop_after_iterations),
        ];
        if let (Some((name, Some(v))), None) = (
            stop.into_iter().find(|(_, v)| v.is_some()),
            &self.checkpoint_dir,
        ) {
            return Err(c
                .error(
                    name,
                    format!(
                        "is {v} but checkpoint_dir is None: a run stops at a checkpoint, to be \
                         continued from it; set checkpoint_dir"
                    ),
                )
                .into());
        }
        Ok(())
    }
}
