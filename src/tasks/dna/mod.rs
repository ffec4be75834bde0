//! DNA enhancers for cell-type-specific design: the data and the motif scores the DNA domain's
//! rewards are built from.
//!
//! - [`data`](mod@data), the 47,872 cell-type-specific ENCODE DNase I hypersensitive sites of
//!   `data/dna_dhs.tsv.gz` (200 bp each; HepG2, K562, GM12878, hESC; train/val/test held out by
//!   chromosome) as [`DhsRecord`]s, and the base encoding [`encode`] (A=0, C=1, G=2, T=3).
//! - [`pwm`], JASPAR 2024 count matrices ([`Pfm`], `assets/dna/jaspar2024.tsv`), position
//!   weight matrices with log-odds in bits ([`Pwm`], Biopython-compatible), per-position scores
//!   on both strands and the log-sum-exp motif [`occupancy`] (natural-log units).
//! - [`classifier`], [`CellClassifier`]: cell-type classifiers trained in Burn on the DHS
//!   training split (a one-hot CNN and a k-mer MLP), with held-out accuracy and AUROC.
//! - [`reward`], the objectives: [`CellTypeReward`] (classifier log-odds of a cell type) and
//!   [`MotifReward`] (motif occupancy, standardised on real sequences).
//! - [`metrics`], realism of generated sequences: GC content, k-mer spectrum correlation,
//!   motif hit counts.
//! - [`tokenizer`](mod@tokenizer), [`DnaTokenizer`]: non-overlapping k-mers (k = 4 as the
//!   reference code: 50 tokens per 200 bp).
//! - [`setup`], the whole comparison of the DNA example built from options ([`Dna`]; its
//!   report sections in a private `tables`).
//!
//! The DHS labels are binary cell-type specificity of chromatin accessibility, not enhancer
//! activity: no MPRA data (Gosai et al.) is packaged anywhere (`data/README.md`). SK-N-SH has no
//! DHS data; its motifs (GATA2, PHOX2B, HAND2, ASCL1, ISL1) are in the JASPAR asset.

use std::path::PathBuf;

use thiserror::Error;

use crate::data::DataError;

pub mod classifier;
pub mod data;
pub mod metrics;
pub mod pwm;
pub mod reward;
pub mod setup;
mod tables;
pub mod tokenizer;

/// The reference code's MPRA/DNA policy shape (6 layers, d 256, 4 heads, d_ff 1024, 4-mer
/// vocabulary of 274, 128 positions).
pub fn paper_policy() -> crate::policy::GptConfig {
    crate::policy::GptConfig::new(6, 4, 256, 1024, 274, 128)
}

pub use classifier::{
    Architecture, CellClassifier, ClassifierConfig, ClassifierReport, ClassifierTraining,
};
pub use data::{CellType, DhsRecord, Split, dhs_path, encode, load_dhs};
pub use metrics::{
    HIT_THRESHOLD, Realism, SITE_BP, gc_content, kmer_spectrum, motif_hits, pearson,
    spectrum_correlation,
};
pub use pwm::{
    Pfm, Pwm, SK_N_SH, SK_N_SH_EVAL, UNIFORM_BACKGROUND, group_pwms, jaspar_path, jaspar2024,
    load_jaspar, occupancy,
};
pub use reward::{CellTypeReward, MotifReward};
pub use setup::{Dna, DnaOptions};
pub use tokenizer::DnaTokenizer;

/// Errors of the DNA domain: reading its files, malformed sequences and invalid matrices.
#[derive(Debug, Error)]
pub enum DnaError {
    /// A file could not be opened or read.
    #[error(transparent)]
    Io(#[from] DataError),
    /// A line of a data or matrix file does not have the expected shape.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (the line after the last one for a truncated file).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A sequence holds a character other than `A`, `C`, `G`, `T` (either case).
    #[error("invalid base {found:?} at position {position} (expected A, C, G or T)")]
    InvalidBase {
        /// 0-based position in the sequence (bytes).
        position: usize,
        /// The offending character (the byte, as a char).
        found: char,
    },
    /// A classifier configuration is inconsistent, or there is nothing to train on.
    #[error("classifier: {0}")]
    BadClassifier(String),
    /// A count matrix, pseudocount or background cannot give a weight matrix.
    #[error("matrix {id}: {message}")]
    InvalidMatrix {
        /// The matrix id (e.g. `MA0114.5`).
        id: String,
        /// What is wrong.
        message: String,
    },
}
