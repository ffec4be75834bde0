//! Small molecules as SMILES: RDKit-compatible validity, canonical forms, descriptors and SA
//! score ([`chem`], [`sa_score`](mod@sa_score), backed by `chematic`), and the sample-quality
//! numbers used to check a SMILES policy ([`metrics`]).

pub mod analytic;
pub mod chem;
pub mod metrics;
pub mod qm9;
pub mod regressor;
pub mod sa_score;

pub use chem::{
    ChemError, Descriptors, MAX_ATOMS, Molecule, MorganCounts, canonical_smiles, is_valid_smiles,
};
pub use metrics::{SampleQuality, sample_quality};
pub use sa_score::sa_score;
