//! [`SetupError`]: what can go wrong while a built-in domain is set up from its options.

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::policy::PolicyError;
use crate::reward::RewardError;
use crate::tasks::dna::DnaError;
use crate::tasks::text::TextError;
use crate::tasks::text::minilm::{FETCH_COMMAND, MiniLmError};
use crate::tokenizer::TokenizerError;
use thiserror::Error;

/// Errors of setting up a built-in domain (`Molecules`, `Dna`, `Text`): an objective it does
/// not know, or a file it reads (policy, tokenizer, reward model, corpus) that is missing or
/// malformed.
#[derive(Debug, Error)]
pub enum SetupError {
    /// An objective name the domain does not know.
    #[error("unknown {domain} objective {name:?}; the known ones are {}", known.join(", "))]
    UnknownObjective {
        /// The domain (`molecules`, `dna`, `text`).
        domain: &'static str,
        /// The name asked for.
        name: String,
        /// The domain's objectives.
        known: &'static [&'static str],
    },
    /// An objective whose training or evaluation reward has another name than the objective.
    #[error("objective {name:?}: its {role} is named {reward:?}; give it the objective's name")]
    ObjectiveName {
        /// The objective's name.
        name: String,
        /// `training reward` or `oracle`.
        role: &'static str,
        /// The reward's own name.
        reward: String,
    },
    /// A policy, backbone or reward-model checkpoint could not be loaded.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tokenizer could not be loaded or could not encode a prompt.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The prompts do not fit together.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A reward could not be built, or the rewards do not make a set.
    #[error(transparent)]
    Reward(#[from] RewardError),
    /// A corpus could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The DNA data or motif matrices could not be read.
    #[error(transparent)]
    Dna(#[from] DnaError),
    /// The text corpus is missing (the message says how to build it) or malformed.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The MiniLM sentence encoder could not be loaded.
    #[error("{source} (fetch the model with `{FETCH_COMMAND}`)")]
    MiniLm {
        /// What went wrong.
        #[from]
        source: MiniLmError,
    },
}
