//! Text summarisation: the policy's tokenizer, corpus and rewards of the paper's third domain, on a stand-in
//! corpus of Debian package descriptions and their synopses (`data/README.md`).
//!
//! - [`data`], the corpus ([`load_summaries`]); [`bpe`], the summariser's byte-level BPE
//!   ([`BpeTokenizer`], prompt rows `[BOS] description [SEP]`).
//! - [`rouge`], agreement with the human reference: ROUGE-L exactly as Google's rouge-score
//!   computes it ([`RougeL`], [`RougeReward`]).
//! - [`reward`], relevance ([`RelevanceReward`]) and faithfulness ([`FaithfulnessReward`],
//!   scored by a [`faithfulness`] head) on MiniLM embeddings.
//! - [`minilm`], semantic similarity: the all-MiniLM-L6-v2 sentence encoder (BERT, mean
//!   pooling, L2 normalisation) with weights from `scripts/fetch-minilm.sh`
//!   ([`SentenceEncoder`], [`cosine`]).
//! - [`quality`], length, distinctness and emptiness of generated summaries
//!   ([`SummaryQuality`]).
//! - [`setup`], the whole comparison of the summarisation example built from options
//!   ([`Text`]; the summariser's prompt rows in a private `prompter`, report sections in
//!   `tables`).

pub mod bpe;
pub mod data;
pub mod faithfulness;
pub mod minilm;
mod prompter;
pub mod quality;
pub mod reward;
pub mod rouge;
pub mod setup;
mod tables;

pub use bpe::{BpeTokenizer, SEP};
pub use data::{Split, SummaryPair, load_summaries, summaries_path};
pub use faithfulness::{
    Corruption, FaithfulnessConfig, FaithfulnessHead, FaithfulnessReport, FaithfulnessTraining,
};
pub use minilm::{MiniLm, MiniLmConfig, MiniLmError, SentenceEncoder, cosine};
pub use quality::SummaryQuality;
pub use reward::{EmbeddingCache, FaithfulnessReward, RelevanceReward};
pub use rouge::{RougeL, RougeReward, RougeScore};
pub use setup::{Text, TextOptions};

use crate::data::DataError;
use std::path::PathBuf;
use thiserror::Error;

/// Errors of the text domain.
#[derive(Debug, Error)]
pub enum TextError {
    /// The corpus file does not exist.
    #[error("{path} is missing; build it with `{command}` (see data/README.md)")]
    MissingCorpus {
        /// The expected file.
        path: PathBuf,
        /// The command that builds it.
        command: &'static str,
    },
    /// Sentence embeddings are missing or of the wrong width, or a head cannot be trained.
    #[error("embeddings: {0}")]
    Embedding(String),
    /// The corpus could not be read.
    #[error(transparent)]
    Io(#[from] DataError),
    /// A line of the corpus does not have the expected shape.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
