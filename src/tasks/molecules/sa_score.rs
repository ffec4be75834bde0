//! Synthetic accessibility (SA) score of Ertl & Schuffenhauer (J. Cheminf. 1:8, 2009), a port
//! of RDKit's `Contrib/SA_Score/sascorer.py` (BSD-3, Novartis): 1 (easy to make) .. 10 (hard).
//!
//! It averages the contributions of the molecule's radius-2 Morgan fragments, looked up in
//! RDKit's `fpscores.pkl.gz` table (705,292 fragments, embedded from
//! `assets/chem/sa_fragments.tsv.gz`, see `assets/chem/README.md`), and subtracts penalties for
//! size, stereocentres, spiro and bridgehead atoms and macrocycles.

use std::io::Read;
use std::sync::LazyLock;

use chematic::chem::{num_bridgehead_atoms, num_spiro_atoms};
use chematic::perception::find_sssr;
use chematic::smiles::{rdkit_chiral_centers, rdkit_num_atoms};

use super::chem::{ChemError, Molecule, MorganCounts, guarded};

/// Score of a fragment that is not in the table.
const UNKNOWN_FRAGMENT: f64 = -4.0;

/// RDKit's fragment scores: `(fragment id, index into scores)` sorted by id, and the scores.
struct FragmentTable {
    ids: Vec<(u32, u16)>,
    scores: Vec<f64>,
}

static FRAGMENTS: LazyLock<FragmentTable> = LazyLock::new(|| {
    // Format (scripts/make-sa-table.py): per line `score<TAB>delta-coded sorted ids`.
    let gz: &[u8] = include_bytes!("../../../assets/chem/sa_fragments.tsv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .expect("embedded SA fragment table is gzip text");
    let (mut ids, mut scores) = (Vec::with_capacity(705_292), Vec::new());
    for line in text.lines() {
        let (score, deltas) = line.split_once('\t').expect("score<TAB>ids");
        let group = u16::try_from(scores.len()).expect("fewer than 65536 scores");
        scores.push(score.parse().expect("score is a float"));
        let mut id = 0u32;
        for d in deltas.split(' ') {
            id += d.parse::<u32>().expect("id delta is a u32");
            ids.push((id, group));
        }
    }
    ids.sort_unstable();
    FragmentTable { ids, scores }
});

impl FragmentTable {
    fn score(&self, id: u32) -> f64 {
        self.ids
            .binary_search_by_key(&id, |&(i, _)| i)
            .map_or(UNKNOWN_FRAGMENT, |k| self.scores[self.ids[k].1 as usize])
    }
}

/// The SA score of `mol`, as RDKit's `sascorer.calculateScore`.
pub fn sa_score(mol: &Molecule) -> Result<f64, ChemError> {
    sa_score_from_counts(mol, &mol.morgan()?)
}

/// [`sa_score`] with the molecule's Morgan counts already computed.
pub(crate) fn sa_score_from_counts(mol: &Molecule, fp: &MorganCounts) -> Result<f64, ChemError> {
    let g = mol.graph();
    let (n_atoms, n_chiral, n_spiro, n_bridgeheads, macrocycle) = guarded(|| {
        Ok((
            rdkit_num_atoms(g)? as f64,
            rdkit_chiral_centers(g, true)?.len() as f64,
            num_spiro_atoms(g) as f64,
            num_bridgehead_atoms(g) as f64,
            find_sssr(g).rings().iter().any(|r| r.len() > 8),
        ))
    })?;
    let (mut score1, mut nf) = (0.0, 0u32);
    for &(id, count) in fp.counts() {
        nf += count;
        score1 += FRAGMENTS.score(id) * f64::from(count);
    }
    if nf == 0 {
        return Err(ChemError::Unsupported("no Morgan fragments".into()));
    }
    score1 /= f64::from(nf);

    let size = n_atoms.powf(1.005) - n_atoms;
    let macro_penalty = if macrocycle { 2f64.log10() } else { 0.0 };
    let score2 = 0.0
        - size
        - (n_chiral + 1.0).log10()
        - (n_spiro + 1.0).log10()
        - (n_bridgeheads + 1.0).log10()
        - macro_penalty;
    // Fingerprint density correction: symmetric molecules are easier.
    let n_bits = fp.counts().len() as f64;
    let score3 = if n_atoms > n_bits {
        (n_atoms / n_bits).ln() * 0.5
    } else {
        0.0
    };

    // Map the raw score from [-4, 2.5] onto 1..10, smoothing the hard end.
    let (lo, hi) = (-4.0, 2.5);
    let mut sa = 11.0 - (score1 + score2 + score3 - lo + 1.0) / (hi - lo) * 9.0;
    if sa > 8.0 {
        sa = 8.0 + (sa + 1.0 - 9.0).ln();
    }
    Ok(sa.clamp(1.0, 10.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete() {
        assert_eq!(FRAGMENTS.ids.len(), 705_292);
        assert_eq!(FRAGMENTS.scores.len(), 3_549);
        assert!(FRAGMENTS.ids.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn matches_rdkit_reference() {
        // RDKit 2026.09.1 sascorer.calculateScore.
        let sa = sa_score(&Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O").unwrap()).unwrap();
        assert!((sa - 1.5800).abs() < 1e-3, "{sa}");
    }
}
