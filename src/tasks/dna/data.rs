//! The cell-type-specific DHS sequences of `data/dna_dhs.tsv.gz` (written by
//! `scripts/make-dna-data.py` from the `dnadiffusion==0.0.0.dev0` wheel; see `data/README.md`)
//! and the base encoding shared with [`pwm`](super::pwm).

use std::fmt;
use std::path::{Path, PathBuf};

use super::DnaError;
pub use crate::data::Split;
use crate::data::{DataError, data_path, read_tsv};

/// A cell type with DHS data. The label of a [`DhsRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CellType {
    /// Hepatocellular carcinoma line (liver).
    HepG2,
    /// Chronic myelogenous leukaemia line (erythroid).
    K562,
    /// Lymphoblastoid B-cell line.
    Gm12878,
    /// Human embryonic stem cells (H1, time point 0).
    HEsc,
}

impl CellType {
    /// All cell types, in class-index order.
    pub const ALL: [CellType; 4] = [Self::HepG2, Self::K562, Self::Gm12878, Self::HEsc];

    /// The name used in `data/dna_dhs.tsv.gz`: `HepG2`, `K562`, `GM12878` or `hESC`.
    pub fn name(self) -> &'static str {
        match self {
            Self::HepG2 => "HepG2",
            Self::K562 => "K562",
            Self::Gm12878 => "GM12878",
            Self::HEsc => "hESC",
        }
    }

    /// The cell type with this [`name`](Self::name) (exact, case-sensitive), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Class index 0..4, the position in [`ALL`](Self::ALL).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One DNase I hypersensitive site specific to one cell type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhsRecord {
    /// The sequence around the DHS summit, uppercase `ACGT` (200 bp in the committed file).
    pub sequence: String,
    /// The only cell type of the four where the site is accessible.
    pub cell_type: CellType,
    /// Train / validation / test split.
    pub split: Split,
}

/// Default location of the DHS data: `data/dna_dhs.tsv.gz` in the crate.
pub fn dhs_path() -> PathBuf {
    data_path("dna_dhs.tsv.gz")
}

/// Read a DHS file (`data/dna_dhs.tsv.gz` format: tab-separated with a header naming at least
/// the columns `sequence`, `cell_type`, `split`, in any order; extra columns such as
/// `chr`/`start`/`end` are ignored; gzip when the name ends in `.gz`).
///
/// Every sequence must be non-empty uppercase `ACGT`. Errors name the file and 1-based line.
pub fn load_dhs(path: &Path) -> Result<Vec<DhsRecord>, DnaError> {
    let rows = read_tsv(path, ["sequence", "cell_type", "split"]).map_err(|e| match e {
        DataError::Parse {
            path,
            line,
            message,
        } => DnaError::Parse {
            path,
            line,
            message,
        },
        io => DnaError::Io(io),
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (n, [sequence, cell, split]) in rows {
        let parse = |message: String| DnaError::Parse {
            path: path.to_path_buf(),
            line: n,
            message,
        };
        if sequence.is_empty() {
            return Err(parse("empty sequence".into()));
        }
        if let Some(p) = sequence
            .bytes()
            .position(|b| !matches!(b, b'A' | b'C' | b'G' | b'T'))
        {
            let found = sequence
                .get(p..)
                .and_then(|s| s.chars().next())
                .unwrap_or('?');
            return Err(parse(format!(
                "sequence has {found:?} at position {p} (expected uppercase A, C, G, T)"
            )));
        }
        let cell_type = CellType::from_name(&cell)
            .ok_or_else(|| parse(format!("unknown cell type {cell:?}")))?;
        let split =
            Split::from_name(&split).ok_or_else(|| parse(format!("unknown split {split:?}")))?;
        out.push(DhsRecord {
            sequence,
            cell_type,
            split,
        });
    }
    Ok(out)
}

/// Encode a DNA sequence as base indices A=0, C=1, G=2, T=3 (the row order of
/// [`Pfm::counts`](super::Pfm::counts)). Lower case is accepted, as by Biopython (soft-masked
/// genome sequence). Any other character, `N` included, is [`DnaError::InvalidBase`] naming
/// its byte position.
pub fn encode(sequence: &str) -> Result<Vec<u8>, DnaError> {
    sequence
        .bytes()
        .enumerate()
        .map(|(position, b)| match b {
            b'A' | b'a' => Ok(0),
            b'C' | b'c' => Ok(1),
            b'G' | b'g' => Ok(2),
            b'T' | b't' => Ok(3),
            _ => Err(DnaError::InvalidBase {
                position,
                found: sequence
                    .get(position..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or(char::from(b)),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in CellType::ALL {
            assert_eq!(CellType::from_name(c.name()), Some(c));
            assert_eq!(CellType::ALL[c.index()], c);
        }
        for s in Split::ALL {
            assert_eq!(Split::from_name(s.name()), Some(s));
        }
        assert_eq!(CellType::from_name("hesc"), None);
    }

    #[test]
    fn encode_accepts_both_cases_and_rejects_others() {
        assert_eq!(encode("ACGTacgt").unwrap(), [0, 1, 2, 3, 0, 1, 2, 3]);
        assert!(encode("").unwrap().is_empty());
        assert!(matches!(
            encode("ACNT"),
            Err(DnaError::InvalidBase {
                position: 2,
                found: 'N'
            })
        ));
        assert!(matches!(
            encode("ACé"),
            Err(DnaError::InvalidBase {
                position: 2,
                found: 'é'
            })
        ));
    }
}
