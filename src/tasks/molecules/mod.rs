//! Small molecules as SMILES: validity and canonical forms through `chematic` (RDKit-compatible
//! sanitisation), and the sample-quality numbers used to check a SMILES policy.

pub mod regressor;

use std::collections::HashSet;

/// RDKit-style canonical SMILES of `smiles`, or `None` if it does not parse or fails
/// sanitisation (valence, aromaticity/kekulisation) — the same test as RDKit's
/// `MolFromSmiles(s) is not None`.
pub fn canonical_smiles(smiles: &str) -> Option<String> {
    if smiles.is_empty() {
        return None;
    }
    let mol = chematic::smiles::parse(smiles).ok()?;
    chematic::smiles::rdkit_canonical_smiles(&mol).ok()
}

/// Whether `smiles` is a valid molecule (see [`canonical_smiles`]).
pub fn is_valid_smiles(smiles: &str) -> bool {
    canonical_smiles(smiles).is_some()
}

/// Fractions describing a batch of generated SMILES.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SampleQuality {
    /// Number of samples.
    pub n: usize,
    /// Fraction that are valid molecules.
    pub validity: f64,
    /// Distinct canonical SMILES among the valid ones, over the number of valid ones.
    pub uniqueness: f64,
    /// Fraction of the distinct valid molecules absent from the reference corpus
    /// (`None` when no corpus is given).
    pub novelty: Option<f64>,
}

/// Validity, uniqueness and (optionally) novelty of `samples` against canonical `corpus`.
pub fn sample_quality(samples: &[String], corpus: Option<&HashSet<String>>) -> SampleQuality {
    let valid: Vec<String> = samples.iter().filter_map(|s| canonical_smiles(s)).collect();
    let unique: HashSet<&String> = valid.iter().collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    SampleQuality {
        n: samples.len(),
        validity: ratio(valid.len(), samples.len()),
        uniqueness: ratio(unique.len(), valid.len()),
        novelty: corpus.map(|c| {
            ratio(
                unique.iter().filter(|s| !c.contains(**s)).count(),
                unique.len(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_matches_rdkit_on_simple_cases() {
        assert!(is_valid_smiles("CC(=O)Oc1ccccc1C(=O)O"));
        assert!(is_valid_smiles("O=CC1=CC=CO1"));
        assert!(!is_valid_smiles("C(C)(C)(C)(C)C")); // pentavalent carbon
        assert!(!is_valid_smiles("c1cccc1")); // cannot be kekulised
        assert!(!is_valid_smiles("CC(")); // syntax
        assert!(!is_valid_smiles(""));
        assert_eq!(canonical_smiles("OCC").as_deref(), Some("CCO"));
    }

    #[test]
    fn quality_counts() {
        let s: Vec<String> = ["CCO", "OCC", "C1", "c1ccccc1"].map(String::from).to_vec();
        let corpus: HashSet<String> = ["CCO".to_string()].into();
        let q = sample_quality(&s, Some(&corpus));
        assert_eq!(q.validity, 0.75);
        assert!((q.uniqueness - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(q.novelty, Some(0.5));
    }
}
