//! The study file's fields (TOML), read with every unknown field refused.

use crate::reward::{Direction, Normalizer, Transform};
use crate::tasks::dna::DnaOptions;
use crate::tasks::molecules::MoleculesOptions;
use crate::tasks::text::TextOptions;
use serde::Deserialize;
use std::path::PathBuf;

/// A whole study: what to fine-tune, how, on which rewards, and where results go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    /// The results directory (relative paths are relative to the current directory).
    pub out: PathBuf,
    /// The task's table, read into a [`TaskSection`] by its `name` ([`super::Study::task`]).
    pub task: toml::Table,
    /// The comparison's settings: its command-line flags without `--`, `-` written `_`.
    #[serde(default)]
    pub run: toml::Table,
    /// What `--quick` changes, merged over `run` (without it: the task's quick preset).
    #[serde(default)]
    pub quick: toml::Table,
    /// The objectives, in order.
    pub rewards: Vec<RewardEntry>,
}

/// The task of a study, chosen by the `name` of its table.
#[derive(Debug, Clone)]
pub enum TaskSection {
    /// SMILES molecules (QM9 regressors, RDKit-style descriptors).
    Molecules(MoleculesOptions),
    /// DNA enhancers (cell-type classifiers, motif occupancy).
    Dna(DnaOptions),
    /// Summaries of Debian package descriptions (faithfulness, relevance, ROUGE-L).
    Text(TextOptions),
    /// Any supported policy directory with prompts from text files; external rewards only.
    Prompts(PromptsOptions),
}

/// A task of your own: a policy directory, prompt files, sampling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsOptions {
    /// The pretrained policy: ours or a Hugging Face directory.
    pub policy: PathBuf,
    /// Training prompts, one per line (absent: every sample starts from the start token).
    #[serde(default)]
    pub prompts: Option<PathBuf>,
    /// Evaluation prompts, one per line (absent: the training prompts).
    #[serde(default)]
    pub eval_prompts: Option<PathBuf>,
    /// Sampling temperature.
    #[serde(default = "one")]
    pub temperature: f32,
    /// Stop a sample at the end-of-sequence token.
    #[serde(default = "yes")]
    pub stop_at_eos: bool,
}

fn one() -> f32 {
    1.0
}

fn yes() -> bool {
    true
}

/// One objective: a built-in reward of the task by `name`, or an `external` scorer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardEntry {
    /// The objective's name (a built-in one, or any name for an external scorer).
    pub name: String,
    /// Its weight in the total (default: equal weights summing to 1; give all or none).
    #[serde(default)]
    pub weight: Option<f64>,
    /// Score with a program instead (the external-process protocol of `ExternalReward`).
    #[serde(default)]
    pub external: Option<ExternalEntry>,
    /// A transform of the raw values (e.g. `{ type = "double_sigmoid", low = 1, high = 3 }`).
    #[serde(default)]
    pub transform: Option<Transform>,
    /// A normaliser of the training reward (e.g. `{ type = "running" }`).
    #[serde(default)]
    pub normalizer: Option<Normalizer>,
}

/// An external scorer: a program started once per run, speaking JSON lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalEntry {
    /// The program and its arguments (no shell).
    pub command: Vec<String>,
    /// The evaluation oracle's command (default: the same program, started apart).
    #[serde(default)]
    pub oracle: Option<Vec<String>>,
    /// Seconds to wait for one batch's answer.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Whether higher (`maximize`, the default) or lower raw scores are better.
    #[serde(default)]
    pub direction: Direction,
}
