//! Small molecules as SMILES: RDKit-compatible validity, canonical forms, descriptors and SA
//! score ([`chem`], [`sa_score`](mod@sa_score), backed by `chematic`), and the sample-quality
//! numbers used to check a SMILES policy ([`metrics`]); [`setup`], the whole comparison of
//! the molecules example built from options ([`Molecules`]).

pub mod analytic;
pub mod chem;
pub mod data;
pub mod metrics;
pub mod qm9;
pub mod regressor;
pub mod sa_score;
pub mod setup;
pub mod tokenizer;

pub use data::{Qm9Record, load_qm9, load_smiles};
pub use setup::{Molecules, MoleculesOptions};
pub use tokenizer::{SMILES_REGEX, SmilesTokenizer, split_smiles};

/// The reference code's QM9 policy shape (GPT-2: 3 layers, d 768, 12 heads, d_ff 2048,
/// vocabulary 40, 1024 positions).
pub fn paper_policy() -> crate::policy::GptConfig {
    crate::policy::GptConfig::new(3, 12, 768, 2048, 40, 1024)
}

pub use chem::{
    ChemError, Descriptors, MAX_ATOMS, MAX_BRANCH_DEPTH, Molecule, MorganCounts, canonical_smiles,
    is_valid_smiles,
};
pub use metrics::{SampleQuality, sample_quality};
pub use sa_score::sa_score;
