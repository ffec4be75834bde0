//! The multi-reward strategies, interchangeable behind one enum: IterativeRS (experts merged
//! every `m` steps, `M` of `N` objectives per block), MORLHF (one policy on the weighted-sum
//! reward), Rewarded Soups (independent experts merged once, plus a λ sweep) and RiC
//! (reward-conditioned supervised fine-tuning).
//!
//! A strategy drives a [`Learner`] — "one algorithmic step of one policy on one objective" —
//! that is also a [`Collector`] (it samples and scores policies, for RiC and merge-weight
//! selection). [`PpoLearner`] is the real learner (PPO on a
//! [`RewardSet`](crate::reward::RewardSet)); tests plug in exact-gradient learners to check the
//! special cases of docs/algorithms.md, "The method" (m = 1 ⇔ MORLHF, m = T ⇔ Rewarded Soups).
//! Strategies that merge carry their merge method ([`MergeMethod`]) and coefficients
//! ([`MergeWeights`]) in their settings.
//!
//! Floors, bottom to top: the shared types (`error`, `step`, `settings`, `ric_settings`,
//! `learner`, `options`); the run's state and bookkeeping (`progress`, `output`, `ranks`,
//! `run_state`, `books`, `merging`); one file per strategy (`iterative_rs`, `morlhf`,
//! `rewarded_soups`, `ric`); the dispatch (`run`). This file only hands names on.

mod books;
mod error;
mod iterative_rs;
mod learner;
mod merging;
mod morlhf;
mod optimizer;
mod options;
mod output;
mod ppo_learner;
mod progress;
mod ranks;
mod rewarded_soups;
mod ric;
mod ric_settings;
mod run;
mod run_state;
mod settings;
mod step;

pub use error::StrategyError;
pub use iterative_rs::active_set;
pub use learner::{Collected, Collector, Learner};
pub use merging::{selection_grid_3, simplex_grid, soup_front};
pub use optimizer::OptimizerConfig;
pub use options::RunOptions;
pub use output::{Conditioning, RunOutput};
pub use ppo_learner::PpoLearner;
pub use progress::Expert;
pub use ric_settings::{RicConfig, RicTarget};
pub use run_state::{RunState, STATE_FILE};
pub use settings::{MergeMethod, MergeWeights, SelectionScore, Strategy};
pub use step::{Spent, StepContext, StepRecord, StepReport};
