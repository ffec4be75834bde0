//! Domain code that plugs data readers, tokenizers, rewards, metrics and the paper's model
//! shapes into the generic layers: [`molecules`] (SMILES, QM9), [`dna`] (DHS enhancers, motifs,
//! cell-type classifiers), [`text`] (Debian summaries, BPE, MiniLM, ROUGE). A private `mlp`
//! module holds the small dense networks the molecule and DNA models share.

pub mod dna;
mod mlp;
pub mod molecules;
pub mod text;

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
