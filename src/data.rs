//! Generic corpus readers (gzip-aware lines and tab-separated files), the committed data
//! slims' location (see `data/README.md`) and seeded splits. Each domain's own formats are read
//! by its `tasks` module (e.g. QM9 by [`crate::tasks::molecules::data`]).

use flate2::read::GzDecoder;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors reading corpora.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line does not have the expected shape.
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

/// A corpus split (DNA: held out by chromosome, `val` = chr2, `test` = chr1; text: by Debian
/// source package).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training rows.
    Train,
    /// Validation rows.
    Val,
    /// Test rows.
    Test,
}

impl Split {
    /// All splits.
    pub const ALL: [Split; 3] = [Self::Train, Self::Val, Self::Test];

    /// The name used in the data files: `train`, `val` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }

    /// The split with this [`name`](Self::name), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields `columns` (in that order) of every row of a tab-separated file whose first line
/// names its columns (any order, extra columns ignored), each with its 1-based line number;
/// gzip when the name ends in `.gz`.
///
/// # Errors
/// [`DataError::Io`]; [`DataError::Parse`] for an empty file, a missing column, or a row with
/// another number of fields than the header.
pub fn read_tsv<const N: usize>(
    path: &Path,
    columns: [&str; N],
) -> Result<Vec<(usize, [String; N])>, DataError> {
    let lines = read_lines(path)?;
    let parse = |line: usize, message: String| DataError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let header = lines
        .first()
        .ok_or_else(|| parse(1, "empty file (no header)".into()))?;
    let names: Vec<&str> = header.split('\t').collect();
    let mut index = [0; N];
    for (slot, name) in index.iter_mut().zip(columns) {
        *slot = names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| parse(1, format!("header has no {name:?} column")))?;
    }
    let mut rows = Vec::with_capacity(lines.len().saturating_sub(1));
    for (i, line) in lines.iter().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != names.len() {
            return Err(parse(
                i + 1,
                format!("expected {} fields, got {}", names.len(), fields.len()),
            ));
        }
        rows.push((i + 1, index.map(|c| fields[c].to_string())));
    }
    Ok(rows)
}

/// Undo the `\t`, `\n` and `\\` escapes of a TSV field written by the project's scripts
/// (another escaped character stands for itself).
pub fn unescape_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Read all lines of a text file, transparently un-gzipping `*.gz`.
pub fn read_lines(path: &Path) -> Result<Vec<String>, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader)
        .lines()
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)
}

/// Seeded shuffle-and-split into consecutive parts of the given fractions (the last part takes
/// the remainder).
pub fn split<T: Clone>(items: &[T], fractions: &[f64], seed: u64) -> Vec<Vec<T>> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut out = Vec::with_capacity(fractions.len());
    let mut at = 0;
    for (k, f) in fractions.iter().enumerate() {
        let n = if k + 1 == fractions.len() {
            items.len() - at
        } else {
            ((items.len() as f64 * f).round() as usize).min(items.len() - at)
        };
        out.push(idx[at..at + n].iter().map(|&i| items[i].clone()).collect());
        at += n;
    }
    out
}

/// Path of a file in the repository's `data/` directory, next to the crate's sources. The
/// corpora are not in the published crate (`docs/packaging.md`): with a registry dependency,
/// pass paths to a clone's `data/` to the loaders instead.
pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_seeded_and_complete() {
        let v: Vec<u32> = (0..100).collect();
        let a = split(&v, &[0.8, 0.1, 0.1], 7);
        assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [80, 10, 10]);
        assert_eq!(a, split(&v, &[0.8, 0.1, 0.1], 7));
        let mut all: Vec<u32> = a.concat();
        all.sort();
        assert_eq!(all, v);
    }
}
