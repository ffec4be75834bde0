//! The chemistry layer: RDKit-compatible SMILES validity, canonical SMILES, descriptors and
//! Morgan fingerprints, behind our own types so that the backend can be swapped.
//!
//! The backend is `chematic` 1.2.1, a pure-Rust port of RDKit's model. Every value here agrees
//! with RDKit 2026.09.1 on the fixtures in `tests/fixtures/rdkit/` (see `tests/chemistry.rs`):
//! validity exactly, numbers to 1e-3.
//!
//! Panics: the backend is large and could panic on an input nobody tried. Every call into it
//! goes through `guarded`, which turns a panic into [`ChemError::Backend`] with
//! `std::panic::catch_unwind`; that needs the default `panic = "unwind"`, and the panic hook
//! still prints the message. No panic has been seen in the fuzz test of `tests/chemistry.rs`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chematic::chem;
use chematic::fp::{RdkitMorganConfig, RdkitMorganRadius, rdkit_morgan_fingerprint};
use chematic::smiles::{RdkitSmilesError, rdkit_canonical_smiles};

/// Deepest branch nesting the backend parser reads (`chematic`'s limit); deeper valid SMILES
/// is a [`ChemError::Unsupported`] error.
pub const MAX_BRANCH_DEPTH: usize = 500;

/// Largest molecule (atoms in the SMILES graph, explicit hydrogens included) accepted by
/// [`Molecule::from_smiles`]: far above drug-like sizes (< 100 heavy atoms) and the policies'
/// 128-token context, and small enough that one pathological string cannot stall scoring.
pub const MAX_ATOMS: usize = 1000;

/// Why a string gave no molecule, or a molecule gave no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChemError {
    /// The input is empty.
    #[error("empty SMILES")]
    Empty,
    /// The input is not SMILES (syntax error).
    #[error("invalid SMILES: {0}")]
    Syntax(String),
    /// RDKit's sanitisation rejects the molecule (valence, kekulisation, aromaticity).
    #[error("molecule rejected by sanitisation: {0}")]
    Sanitization(String),
    /// The molecule is outside what the backend models RDKit-exactly.
    #[error("unsupported molecule: {0}")]
    Unsupported(String),
    /// More atoms than [`MAX_ATOMS`] (the backend's canonicalisation and descriptors grow
    /// super-linearly with size).
    #[error("molecule too large: {0} atoms (at most {MAX_ATOMS})")]
    TooLarge(usize),
    /// The backend failed on a sanitised molecule (an error or a caught panic).
    #[error("chemistry backend failure: {0}")]
    Backend(String),
}

impl From<RdkitSmilesError> for ChemError {
    fn from(e: RdkitSmilesError) -> Self {
        match e {
            RdkitSmilesError::Sanitization(m) => Self::Sanitization(m),
            RdkitSmilesError::Unsupported(m) => Self::Unsupported(m),
        }
    }
}

/// Runs `f`, turning a panic inside the backend into [`ChemError::Backend`].
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, ChemError>) -> Result<T, ChemError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ChemError::Backend(format!("panic: {msg}")))
    })
}

/// A molecule RDKit accepts: `Chem.MolFromSmiles(s)` is not `None` and has at least one atom.
#[derive(Clone)]
pub struct Molecule {
    graph: chematic::core::Molecule,
    canonical: String,
}

impl std::fmt::Debug for Molecule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Molecule({})", self.canonical)
    }
}

/// Scalar descriptors of a [`Molecule`], each as RDKit computes it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Descriptors {
    /// Drug-likeness, `QED.qed` (0..1).
    pub qed: f64,
    /// Crippen logP, `Crippen.MolLogP`.
    pub logp: f64,
    /// Topological polar surface area (Å², N and O only), `rdMolDescriptors.CalcTPSA`.
    pub tpsa: f64,
    /// Average molecular weight (Da), `Descriptors.MolWt`.
    pub mol_weight: f64,
    /// Atoms other than hydrogen and dummies, `GetNumHeavyAtoms`.
    pub heavy_atoms: usize,
    /// Synthetic accessibility (1 easy .. 10 hard), Contrib `sascorer.calculateScore`.
    pub sa: f64,
}

/// Radius-2 Morgan count fingerprint: RDKit's
/// `GetMorganGenerator(radius=2).GetSparseCountFingerprint` (no chirality).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MorganCounts(Vec<(u32, u32)>);

impl Molecule {
    /// Parses and sanitises `smiles` as RDKit's `MolFromSmiles` would.
    pub fn from_smiles(smiles: &str) -> Result<Self, ChemError> {
        if smiles.is_empty() {
            return Err(ChemError::Empty);
        }
        let smiles = rdkit_syntax(smiles)?;
        guarded(|| {
            let graph =
                chematic::smiles::parse(&smiles).map_err(|e| ChemError::Syntax(e.to_string()))?;
            if graph.atom_count() == 0 {
                return Err(ChemError::Empty);
            }
            if graph.atom_count() > MAX_ATOMS {
                return Err(ChemError::TooLarge(graph.atom_count()));
            }
            let canonical = rdkit_canonical_smiles(&graph)?;
            Ok(Self { graph, canonical })
        })
    }

    /// RDKit's canonical SMILES (`Chem.MolToSmiles`).
    pub fn canonical_smiles(&self) -> &str {
        &self.canonical
    }

    /// The backend's molecule graph.
    pub(crate) fn graph(&self) -> &chematic::core::Molecule {
        &self.graph
    }

    /// QED, logP, TPSA, molecular weight, heavy atoms and SA score.
    pub fn descriptors(&self) -> Result<Descriptors, ChemError> {
        let sa = super::sa_score::sa_score_from_counts(self, &self.morgan()?)?;
        let g = &self.graph;
        guarded(|| {
            Ok(Descriptors {
                qed: chem::qed(g),
                logp: chem::logp_crippen(g),
                tpsa: chem::rdkit_tpsa(g),
                mol_weight: chem::rdkit_molecular_weight(g),
                heavy_atoms: chem::heavy_atom_count(g),
                sa,
            })
        })
    }

    /// The radius-2 Morgan count fingerprint.
    pub fn morgan(&self) -> Result<MorganCounts, ChemError> {
        let config = RdkitMorganConfig {
            radius: RdkitMorganRadius::R2,
            ..RdkitMorganConfig::default()
        };
        guarded(|| {
            let fp = rdkit_morgan_fingerprint(&self.graph, &config)
                .map_err(|e| ChemError::Backend(e.to_string()))?;
            let mut counts: Vec<(u32, u32)> = fp.sparse_counts.into_iter().collect();
            counts.sort_unstable();
            Ok(MorganCounts(counts))
        })
    }
}

impl MorganCounts {
    /// `(fragment id, count)` pairs in ascending id order.
    pub fn counts(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// Counts hashed into `len` slots by `id % len` (RDKit's folding, as in
    /// `GetCountFingerprint(fpSize=len)`), as ML features. `len` must be positive.
    pub fn folded(&self, len: usize) -> Vec<f32> {
        let mut v = vec![0.0; len];
        for &(id, c) in &self.0 {
            v[id as usize % len] += c as f32;
        }
        v
    }
}

/// A SMILES token, as far as [`rdkit_syntax`] needs to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Atom,
    Bond,
    Ring(u32),
    Open,
    Close,
    Dot,
}

/// `smiles` as RDKit's parser reads it, in a form chematic's parser reads the same way.
///
/// RDKit's grammar differs from chematic's in a few places, found by probing both:
/// - the SMILES ends at the first space, tab or newline unless the string starts with one (the
///   rest is a name);
/// - bracket atoms are checked by [`rdkit_bracket_atom`];
/// - `@` outside brackets, `(`, `)` or `.` not after an atom, ring closure or `)` (`C=(O)`,
///   `C()`, `C(=)`, `.C`, `C..C`), a `.` not followed by an atom and `%0n` are errors;
/// - `%(n)` is ring closure `n`, and a `.` inside a branch (`C(C.O)N`) starts a fragment that
///   ends with the branch; chematic reads neither, so such strings are rewritten with the
///   fragments moved to the end and every ring closure renumbered uniquely (which keeps the
///   ring bonds and each atom's neighbour order, so stereo is unchanged).
///
/// Non-ASCII strings are passed on as they are; chematic rejects them, whereas RDKit reads
/// them byte by byte with erratic results (`Cé` is methane, `CéC` invalid).
fn rdkit_syntax(smiles: &str) -> Result<Cow<'_, str>, ChemError> {
    let s = match smiles.find([' ', '\t', '\n']) {
        Some(i) if i > 0 => &smiles[..i],
        _ => smiles,
    };
    if !s.is_ascii() {
        return Ok(Cow::Borrowed(s));
    }
    let err = |what: &str, at: usize| Err(ChemError::Syntax(format!("{what} at position {at}")));
    let b = s.as_bytes();
    let mut tokens: Vec<(Token, &str)> = Vec::new();
    let (mut depth, mut rewrite, mut i) = (0usize, false, 0);
    while i < b.len() {
        let start = i;
        let token = match b[i] {
            b'[' => match s[i..].find(']') {
                Some(j) if rdkit_bracket_atom(&s[i + 1..i + j]) => {
                    i += j;
                    Token::Atom
                }
                Some(_) => return err("bad bracket atom", i),
                None => return Ok(Cow::Borrowed(s)), // chematic reports it
            },
            b'@' => return err("'@' outside brackets", i),
            b'-' | b'=' | b'#' | b'$' | b':' | b'/' | b'\\' | b'~' => Token::Bond,
            b'0'..=b'9' => Token::Ring(u32::from(b[i] - b'0')),
            b'%' if b.get(i + 1) == Some(&b'(') => {
                let digits = s[i + 2..].split(')').next().unwrap_or_default();
                if !(1..=5).contains(&digits.len()) || !digits.bytes().all(|c| c.is_ascii_digit()) {
                    return err("bad ring closure", i);
                }
                i += digits.len() + 2;
                rewrite = true;
                Token::Ring(digits.parse().unwrap_or_default())
            }
            b'%' => match (b.get(i + 1), b.get(i + 2)) {
                (Some(&d1 @ b'1'..=b'9'), Some(&d2 @ b'0'..=b'9')) => {
                    i += 2;
                    Token::Ring(u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0'))
                }
                _ => return err("bad ring closure", i),
            },
            b'(' => Token::Open,
            b')' => Token::Close,
            b'.' => Token::Dot,
            _ => Token::Atom, // letters, `*`, and whatever chematic rejects
        };
        i += 1;
        let prev = tokens.last().map(|t| t.0);
        let after_atom = matches!(prev, Some(Token::Atom | Token::Ring(_) | Token::Close));
        match token {
            Token::Open | Token::Close | Token::Dot if !after_atom => {
                return err("misplaced bracket or '.'", start);
            }
            _ if prev == Some(Token::Dot) && token != Token::Atom => {
                return err("'.' not followed by an atom", start);
            }
            Token::Open if depth == MAX_BRANCH_DEPTH => {
                return Err(ChemError::Unsupported(format!(
                    "branches nested deeper than {MAX_BRANCH_DEPTH} levels at position {start} \
                     (the parser's limit; RDKit reads them)"
                )));
            }
            Token::Open => depth += 1,
            Token::Close if depth == 0 => return err("unopened branch", start),
            Token::Close => depth -= 1,
            Token::Dot => rewrite |= depth > 0,
            _ => {}
        }
        tokens.push((token, &s[start..i]));
    }
    if tokens.last().is_some_and(|t| t.0 == Token::Dot) {
        return err("'.' not followed by an atom", s.len());
    }
    if !rewrite || depth > 0 {
        return Ok(Cow::Borrowed(s));
    }
    // Output pieces: 0 is the main chain, later ones are fragments cut out of branches.
    let mut pieces = vec![String::new()];
    let (mut cur, mut branches) = (0, Vec::new());
    let (mut open_rings, mut labels) = (HashMap::new(), 0u32);
    for (token, text) in tokens {
        match token {
            Token::Open => branches.push(cur),
            Token::Close => cur = branches.pop().unwrap_or_default(),
            Token::Dot if !branches.is_empty() => {
                pieces.push(String::new());
                cur = pieces.len() - 1;
            }
            _ => {}
        }
        let out = &mut pieces[cur];
        match token {
            Token::Ring(n) => {
                let label = open_rings.remove(&n).unwrap_or_else(|| {
                    labels += 1;
                    open_rings.insert(n, labels);
                    labels
                });
                out.push_str(&match label {
                    0..10 => label.to_string(),
                    10..100 => format!("%{label}"),
                    _ => format!("%({label})"),
                });
            }
            _ => out.push_str(text),
        }
    }
    Ok(Cow::Owned(pieces.concat()))
}

/// Whether RDKit reads the inside of a bracket atom whose syntax chematic is laxer about: a
/// lowercase (aromatic) symbol must be one RDKit knows, an atom map `:n` needs digits without
/// a leading zero, and an isotope must be at most 65,535.
fn rdkit_bracket_atom(inner: &str) -> bool {
    const AROMATIC: [&str; 10] = ["as", "b", "c", "n", "o", "p", "s", "se", "si", "te"];
    let symbol = inner.trim_start_matches(|c: char| c.is_ascii_digit());
    // An isotope must fit the backend's 16 bits (chematic would saturate it at 65,535; RDKit
    // rejects numbers beyond 32 bits and wraps the ones between, so we refuse both).
    let isotope = &inner[..inner.len() - symbol.len()];
    if !isotope.is_empty() && isotope.parse::<u16>().is_err() {
        return false;
    }
    let end = symbol.find(|c: char| !c.is_ascii_lowercase());
    let lower = &symbol[..end.unwrap_or(symbol.len())];
    let map_ok = inner.split_once(':').is_none_or(|(_, m)| {
        !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()) && (m == "0" || !m.starts_with('0'))
    });
    (lower.is_empty() || AROMATIC.contains(&lower)) && map_ok
}

/// RDKit's canonical SMILES of `smiles`, or `None` if RDKit would reject it (see [`Molecule`]).
pub fn canonical_smiles(smiles: &str) -> Option<String> {
    Molecule::from_smiles(smiles).ok().map(|m| m.canonical)
}

/// Whether RDKit accepts `smiles` as a molecule (see [`Molecule`]).
pub fn is_valid_smiles(smiles: &str) -> bool {
    Molecule::from_smiles(smiles).is_ok()
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
        assert_eq!(Molecule::from_smiles("").unwrap_err(), ChemError::Empty);
        assert_eq!(canonical_smiles("OCC").as_deref(), Some("CCO"));
    }

    #[test]
    fn aspirin_matches_rdkit() {
        let d = Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O")
            .unwrap()
            .descriptors()
            .unwrap();
        // RDKit 2026.09.1 (shared/docs/DATA.md §1.2).
        assert!((d.qed - 0.5501).abs() < 1e-4);
        assert!((d.logp - 1.3101).abs() < 1e-4);
        assert!((d.tpsa - 63.60).abs() < 1e-2);
        assert!((d.sa - 1.580).abs() < 1e-3);
        assert_eq!(d.heavy_atoms, 13);
    }

    #[test]
    fn folded_counts_keep_the_total() {
        let fp = Molecule::from_smiles("c1ccccc1O")
            .unwrap()
            .morgan()
            .unwrap();
        let total: u32 = fp.counts().iter().map(|&(_, c)| c).sum();
        // RDKit: 11 distinct ids, 20 environments (duplicate bond sets are dropped).
        assert_eq!((fp.counts().len(), total), (11, 20));
        assert_eq!(fp.folded(64).iter().sum::<f32>(), total as f32);
    }
}
