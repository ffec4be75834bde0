//! Domain code that plugs data readers, tokenizers, rewards, metrics and the paper's model
//! shapes into the generic layers: [`molecules`] (SMILES, QM9), [`dna`] (DHS enhancers, motifs,
//! cell-type classifiers), [`text`] (Debian summaries, BPE, MiniLM, ROUGE). A private `mlp`
//! module holds the small dense networks the molecule and DNA models share.
//!
//! Each domain's `setup` builds its whole comparison from options, for the examples and any
//! other program alike: [`molecules::Molecules`], [`dna::Dna`], [`text::Text`] load what the
//! task borrows, make each built-in [`Objective`] (training reward + evaluation oracle) by
//! name, turn objectives into reward sets, adjust the settings and make the [`Task`]:
//!
//! ```no_run
//! # fn run(device: burn::tensor::Device) -> Result<(), Box<dyn std::error::Error>> {
//! use multireward::tasks::molecules::{Molecules, MoleculesOptions};
//! let domain = Molecules::load(&MoleculesOptions::default(), true, &device)?;
//! let [_, quick, _] = domain.presets(3);
//! let config = multireward::experiment::ComparisonConfig::new(quick.budget, quick.eval_samples)
//!     .with_ric(domain.ric());
//! let config = domain.configure(config);
//! let objectives = ["alpha", "gap", "u0"]
//!     .map(|name| domain.objective(name, 1.0 / 3.0))
//!     .into_iter()
//!     .collect::<Result<Vec<_>, _>>()?;
//! let (train, eval, info) = domain.reward_sets(objectives)?;
//! let task = domain.task(domain.reference(&device)?, train, eval, info);
//! let mut comparison = multireward::experiment::Comparison::new(task, config)?
//!     .edit_plan(|strategy| domain.edit(strategy))?;
//! comparison.run(std::path::Path::new("results/molecules"))?;
//! # Ok(())
//! # }
//! ```
//!
//! [`Task`]: crate::experiment::Task

pub mod dna;
mod error;
mod mlp;
pub mod molecules;
mod objective;
pub mod text;

#[cfg(test)]
mod setup_tests;

pub use error::SetupError;
pub use objective::Objective;
pub(crate) use objective::{about_map, build_sets};

use crate::checkpoint::TOKENIZER_FILE;
use crate::tokenizer::{HfTokenizer, Tokenizer, TokenizerError};
use std::path::Path;

/// The tokenizer of the policy directory `dir`, whatever wrote it: a Hugging Face directory's
/// ([`HfTokenizer`]), or one of our domains' (`"kind"` of its `tokenizer.json`: SMILES,
/// DNA k-mers; a `tokenizers` file without Hugging Face's `tokenizer_config.json` is our text
/// BPE).
///
/// # Errors
/// [`TokenizerError`] naming the file when it is missing, unreadable or of an unknown kind.
pub fn load_tokenizer(dir: &Path) -> Result<Box<dyn Tokenizer>, TokenizerError> {
    let path = dir.join(TOKENIZER_FILE);
    if dir
        .join(crate::tokenizer::HF_TOKENIZER_CONFIG_FILE)
        .exists()
    {
        return Ok(Box::new(HfTokenizer::from_dir(dir)?));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| TokenizerError::BadVocab(format!("{}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    match value.get("kind").and_then(|k| k.as_str()) {
        Some("smiles-regex") => Ok(Box::new(molecules::SmilesTokenizer::load(&path)?)),
        Some("dna-kmer") => Ok(Box::new(dna::DnaTokenizer::load(&path)?)),
        None if value.get("model").is_some() => Ok(Box::new(text::BpeTokenizer::load(&path)?)),
        other => Err(TokenizerError::BadVocab(format!(
            "{}: a tokenizer of unknown kind {other:?}",
            path.display()
        ))),
    }
}
