//! Tokenizers: text ⇄ token ids, and the special tokens a tokenizer and its policy agree on
//! ([`Specials`]).
//!
//! Our own tokenizers put the specials [`PAD`], [`BOS`], [`EOS`], [`UNK`] at ids 0..4 and domain
//! tokens after them ([`Specials::ours`]); a Hugging Face tokenizer ([`HfTokenizer`]) says where
//! its specials are. Nothing above this floor assumes the constants: it asks the tokenizer or
//! the policy for their [`Specials`]. The domains' tokenizers live with their domains: SMILES
//! atoms in [`crate::tasks::molecules::tokenizer`], DNA k-mers in
//! [`crate::tasks::dna::tokenizer`], text BPE in [`crate::tasks::text::bpe`].

use std::path::Path;
use thiserror::Error;

mod hf;
mod specials;

pub use hf::{
    HF_SPECIAL_TOKENS_FILE, HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HfTokenizer, SpecialNames,
};
pub use specials::Specials;

/// Padding token id of our own tokenizers.
pub const PAD: u32 = 0;
/// Beginning-of-sequence token id of our own tokenizers (their unconditional prompt).
pub const BOS: u32 = 1;
/// End-of-sequence token id of our own tokenizers.
pub const EOS: u32 = 2;
/// Unknown-token id (used only when [`UnknownPolicy::MapToUnk`] is chosen).
pub const UNK: u32 = 3;
/// Surface strings of our own tokenizers' special tokens, in id order.
pub const SPECIALS: [&str; 4] = ["[PAD]", "[BOS]", "[EOS]", "[UNK]"];

/// What to do with a symbol that is not in the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum UnknownPolicy {
    /// Return [`TokenizerError::UnknownToken`] (the default).
    #[default]
    Error,
    /// Encode it as [`UNK`].
    MapToUnk,
}

/// Errors from tokenization and vocabulary files.
#[derive(Debug, Error)]
pub enum TokenizerError {
    /// The text contains a character sequence the tokenisation grammar does not accept.
    #[error("cannot tokenise {text:?}: unexpected {symbol:?} at byte {position}")]
    UnknownSymbol {
        /// The input text.
        text: String,
        /// Byte offset of the first unmatched character.
        position: usize,
        /// The unmatched character(s).
        symbol: String,
    },
    /// A well-formed token that the vocabulary does not contain.
    #[error("token {token:?} in {text:?} is not in the vocabulary")]
    UnknownToken {
        /// The input text.
        text: String,
        /// The token missing from the vocabulary.
        token: String,
    },
    /// An id outside the vocabulary was asked to be decoded.
    #[error("token id {0} is outside the vocabulary")]
    BadId(u32),
    /// The vocabulary file is malformed.
    #[error("bad vocabulary file: {0}")]
    BadVocab(String),
    /// Reading or writing the vocabulary failed.
    #[error("vocabulary I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The vocabulary JSON could not be parsed.
    #[error("vocabulary JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A tokenizer shared by policies, rewards and training code.
///
/// ```
/// use multireward::tasks::molecules::SmilesTokenizer;
/// use multireward::tokenizer::{BOS, EOS, Tokenizer};
///
/// let tokenizer = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1Cl"])?;
/// let ids = tokenizer.encode_with_specials("ClCCO")?;
/// assert_eq!((ids[0], ids[ids.len() - 1]), (BOS, EOS));
/// assert_eq!(tokenizer.decode(&ids)?, "ClCCO");
/// // `N` never occurs in the corpus, so it has no id.
/// assert!(tokenizer.encode("CCN").is_err());
/// # Ok::<(), multireward::tokenizer::TokenizerError>(())
/// ```
pub trait Tokenizer: Send + Sync {
    /// Encode text into domain token ids, without BOS/EOS.
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError>;
    /// Decode ids into text. Specials are skipped and decoding stops at the first EOS.
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError>;
    /// Number of ids, specials included.
    fn vocab_size(&self) -> usize;
    /// Write the vocabulary (and whatever else is needed to rebuild the tokenizer) as JSON.
    fn save(&self, path: &Path) -> Result<(), TokenizerError>;

    /// Where this tokenizer's special tokens are (default: ours, [`Specials::ours`]).
    fn specials(&self) -> Specials {
        Specials::ours()
    }

    /// Encode as `[BOS] tokens [EOS]`, the training format of the policies (no BOS for a
    /// tokenizer without one).
    fn encode_with_specials(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let specials = self.specials();
        let mut ids = Vec::with_capacity(text.len() + 2);
        ids.extend(specials.bos);
        ids.extend(self.encode(text)?);
        ids.push(specials.eos());
        Ok(ids)
    }

    /// The tokenizer as Hugging Face `tokenizers` JSON (what `tokenizer.json` of a Hugging Face
    /// directory holds) and the surface strings of its BOS, EOS, PAD and UNK, when it can be
    /// expressed that way; `None` otherwise (then an export carries no tokenizer files).
    fn to_hf(&self) -> Option<HfTokenizer> {
        None
    }
}

/// The kinds of tokenizer files the domains write (their `"kind"` field; Hugging Face's BPE
/// files have a `"model"` object instead), as `(kind, what it tokenizes)`.
const KINDS: [(&str, &str); 3] = [
    ("smiles-regex", "SMILES molecules"),
    ("dna-kmer", "DNA k-mers"),
    ("bpe", "text (byte-level BPE)"),
];

/// Read the tokenizer file at `path` (checked against its checkpoint's checksums) and make
/// sure it is of kind `expected`, else say which domain it belongs to.
///
/// # Errors
/// I/O and JSON errors; [`TokenizerError::BadVocab`] naming the file's domain when it is a
/// tokenizer of another kind (e.g. a DNA policy handed to the molecules example).
pub(crate) fn read_kind(path: &Path, expected: &str) -> Result<String, TokenizerError> {
    crate::checksum::verify_file(path).map_err(|e| TokenizerError::BadVocab(e.to_string()))?;
    let text = std::fs::read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let found = match value.get("kind").and_then(|k| k.as_str()) {
        Some(kind) => kind,
        None if value.get("model").is_some() => "bpe",
        None => "unknown",
    };
    if found != expected {
        let what = |kind: &str| {
            KINDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or("an unknown format", |(_, w)| w)
        };
        return Err(TokenizerError::BadVocab(format!(
            "{} is a tokenizer for {}, not for {}: the checkpoint belongs to another domain",
            path.display(),
            what(found),
            what(expected)
        )));
    }
    Ok(text)
}
