//! MOSES-style quality numbers for a batch of generated SMILES: validity, uniqueness, novelty
//! against a training corpus and internal diversity.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index;

use super::chem::{Molecule, MorganCounts};

/// At most this many distinct molecules enter [`internal_diversity`]; above it a seeded random
/// subsample of this size is used (12.5 M pairs, well under a second).
pub const DIVERSITY_CAP: usize = 5000;

/// Width of the Morgan bit vectors compared by [`internal_diversity`] (MOSES: 1024).
const FP_BITS: usize = 1024;

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
    /// [`internal_diversity`] of the distinct valid molecules (`None` below two).
    pub internal_diversity: Option<f64>,
}

/// Quality of `samples`; novelty against `corpus`, a set of canonical SMILES.
pub fn sample_quality(samples: &[String], corpus: Option<&HashSet<String>>) -> SampleQuality {
    let valid: Vec<Molecule> = samples
        .iter()
        .filter_map(|s| Molecule::from_smiles(s).ok())
        .collect();
    let mut seen = HashSet::new();
    let unique: Vec<&Molecule> = valid
        .iter()
        .filter(|m| seen.insert(m.canonical_smiles()))
        .collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    SampleQuality {
        n: samples.len(),
        validity: ratio(valid.len(), samples.len()),
        uniqueness: ratio(unique.len(), valid.len()),
        novelty: corpus.map(|c| {
            let novel = unique
                .iter()
                .filter(|m| !c.contains(m.canonical_smiles()))
                .count();
            ratio(novel, unique.len())
        }),
        internal_diversity: internal_diversity(&unique),
    }
}

/// Internal diversity: 1 − the mean Tanimoto similarity over all pairs of `mols` (which should
/// be distinct), on RDKit's radius-2 Morgan bit vectors of 1024 bits
/// (`GetMorganGenerator(radius=2, fpSize=1024)`, MOSES's fingerprint). Unlike MOSES's `IntDiv`,
/// which averages over every ordered pair of valid samples including each molecule with
/// itself, only pairs of different molecules count. Molecules whose fingerprint the backend
/// cannot compute are left out; above [`DIVERSITY_CAP`] a seeded subsample is used. `None`
/// with fewer than two fingerprints.
pub fn internal_diversity(mols: &[&Molecule]) -> Option<f64> {
    let picked: Vec<&Molecule> = if mols.len() > DIVERSITY_CAP {
        let mut rng = StdRng::seed_from_u64(0);
        index::sample(&mut rng, mols.len(), DIVERSITY_CAP)
            .into_iter()
            .map(|i| mols[i])
            .collect()
    } else {
        mols.to_vec()
    };
    let fps: Vec<[u64; FP_BITS / 64]> = picked
        .iter()
        .filter_map(|m| m.morgan().ok().map(|c| bits(&c)))
        .collect();
    if fps.len() < 2 {
        return None;
    }
    let ones = |w: &[u64; FP_BITS / 64]| w.iter().map(|x| x.count_ones()).sum::<u32>();
    let counts: Vec<u32> = fps.iter().map(ones).collect();
    let mut total = 0.0;
    for i in 1..fps.len() {
        for j in 0..i {
            let both: u32 = (0..FP_BITS / 64)
                .map(|k| (fps[i][k] & fps[j][k]).count_ones())
                .sum();
            // Every molecule has at least one bit, so the union is never empty.
            total += f64::from(both) / f64::from(counts[i] + counts[j] - both);
        }
    }
    let pairs = fps.len() * (fps.len() - 1) / 2;
    Some(1.0 - total / pairs as f64)
}

/// The 1024-bit vector of RDKit's folding (`id % 1024`).
fn bits(fp: &MorganCounts) -> [u64; FP_BITS / 64] {
    let mut w = [0u64; FP_BITS / 64];
    for &(id, _) in fp.counts() {
        let b = id as usize % FP_BITS;
        w[b / 64] |= 1 << (b % 64);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_counts() {
        let s: Vec<String> = ["CCO", "OCC", "C1", "c1ccccc1"].map(String::from).to_vec();
        let corpus: HashSet<String> = ["CCO".to_string()].into();
        let q = sample_quality(&s, Some(&corpus));
        assert_eq!(q.validity, 0.75);
        assert!((q.uniqueness - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(q.novelty, Some(0.5));
        // Ethanol and benzene share no radius-2 Morgan bit.
        assert_eq!(q.internal_diversity, Some(1.0));
    }

    #[test]
    fn diversity_of_identical_fingerprints_is_zero() {
        let m = Molecule::from_smiles("CCO").unwrap();
        assert_eq!(internal_diversity(&[&m, &m]), Some(0.0));
        assert_eq!(internal_diversity(&[&m]), None);
    }
}
