//! The summariser's tokenizer as the text domain uses it: ours or a Hugging Face one, and the
//! prompt rows of corpus descriptions in each one's convention.

use super::{BpeTokenizer, SummaryPair};
use crate::checkpoint::tokenizer_path;
use crate::policy::Prompts;
use crate::tasks::SetupError;
use crate::tokenizer::{HfTokenizer, Tokenizer, TokenizerError};
use std::path::Path;

/// The summariser's tokenizer: ours (prompt rows `[BOS] description [SEP]`), or a Hugging
/// Face causal LM's (prompt rows `[BOS] description` + `"\nTL;DR:"`, as in the TL;DR task).
pub(super) enum TextTokenizer {
    Ours(BpeTokenizer),
    Hf(HfTokenizer),
}

impl TextTokenizer {
    /// The tokenizer of the policy directory `dir`.
    pub(super) fn load(dir: &Path) -> Result<Self, TokenizerError> {
        Ok(match crate::policy::hf::is_hf_dir(dir) {
            true => Self::Hf(HfTokenizer::from_dir(dir)?),
            false => Self::Ours(BpeTokenizer::load(&tokenizer_path(dir))?),
        })
    }

    /// As the trait object a task borrows.
    pub(super) fn as_dyn(&self) -> &dyn Tokenizer {
        match self {
            Self::Ours(t) => t,
            Self::Hf(t) => t,
        }
    }

    /// The prompt row of `document`, cut to its first `tokens` tokens.
    fn prompt(&self, document: &str, tokens: usize) -> Result<Vec<u32>, TokenizerError> {
        Ok(match self {
            Self::Ours(t) => t.prompt(document, tokens)?,
            Self::Hf(t) => {
                let mut row: Vec<u32> = t.specials().bos.into_iter().collect();
                row.extend(t.encode(document)?.into_iter().take(tokens));
                row.extend(t.encode("\nTL;DR:")?);
                row
            }
        })
    }

    /// Prompts (token rows and one-line descriptions) of corpus pairs.
    pub(super) fn prompts(
        &self,
        pairs: &[SummaryPair],
        tokens: usize,
    ) -> Result<Prompts, SetupError> {
        let texts: Vec<String> = pairs.iter().map(|p| p.document()).collect();
        let ids = texts
            .iter()
            .map(|t| self.prompt(t, tokens))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Prompts::new(ids, texts)?)
    }
}
