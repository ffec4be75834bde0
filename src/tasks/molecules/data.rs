//! The molecule corpora: QM9 with the paper's three target properties
//! (`data/qm9_slim.csv.gz`) and plain SMILES files (e.g. `data/moses_sample.smi.gz`).

use crate::data::{DataError, read_lines};
use std::path::Path;

/// One QM9 molecule with the paper's three target properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Qm9Record {
    /// QM9 index (1..=133885; 130,831 converged molecules are present).
    pub index: u32,
    /// SMILES as distributed (Kekulé, GDB style).
    pub smiles: String,
    /// Isotropic polarisability α, bohr³.
    pub alpha: f64,
    /// HOMO–LUMO gap, Hartree.
    pub gap: f64,
    /// Internal energy at 0 K, U0, Hartree.
    pub u0: f64,
}

/// Read a SMILES file: one SMILES per line (first whitespace-separated field); blank lines
/// and a `SMILES` header are skipped.
pub fn load_smiles(path: &Path) -> Result<Vec<String>, DataError> {
    Ok(read_lines(path)?
        .into_iter()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|s| !s.eq_ignore_ascii_case("smiles"))
        .collect())
}

/// Read `data/qm9_slim.csv.gz` (`index,smiles,alpha,gap,u0`).
pub fn load_qm9(path: &Path) -> Result<Vec<Qm9Record>, DataError> {
    let lines = read_lines(path)?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate().skip(1) {
        let parse = |message: String| DataError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 5 {
            return Err(parse(format!("expected 5 fields, got {}", f.len())));
        }
        let num = |s: &str, what: &str| {
            s.parse::<f64>()
                .map_err(|e| parse(format!("{what} {s:?}: {e}")))
        };
        out.push(Qm9Record {
            index: f[0]
                .parse()
                .map_err(|e| parse(format!("index {:?}: {e}", f[0])))?,
            smiles: f[1].to_string(),
            alpha: num(f[2], "alpha")?,
            gap: num(f[3], "gap")?,
            u0: num(f[4], "u0")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::data_path;

    #[test]
    fn qm9_slim_loads_with_properties() {
        let rows = load_qm9(&data_path("qm9_slim.csv.gz")).unwrap();
        assert_eq!(rows.len(), 130_831);
        assert_eq!(rows[0].smiles, "C");
        assert!((rows[0].alpha - 13.21).abs() < 1e-9);
        assert!(rows.iter().all(|r| r.gap > 0.0 && r.u0 < 0.0));
    }

    #[test]
    fn bad_rows_are_typed_errors() {
        let dir = std::env::temp_dir().join(format!("mr-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.csv");
        std::fs::write(&p, "index,smiles,alpha,gap,u0\n1,C,x,0.5,-40\n").unwrap();
        assert!(matches!(
            load_qm9(&p),
            Err(DataError::Parse { line: 2, .. })
        ));
        assert!(matches!(
            load_qm9(&dir.join("missing.csv")),
            Err(DataError::Io { .. })
        ));
    }
}
