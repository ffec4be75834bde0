//! The text corpus: Debian package long descriptions paired with their one-line synopses
//! (`data/debian_summaries.tsv.gz`, built locally by `scripts/make-text-data.py`; see
//! `data/README.md`).

use super::TextError;
pub use crate::data::Split;
use crate::data::{DataError, data_path, read_tsv, unescape_field};
use std::path::{Path, PathBuf};

/// The command that builds the corpus, quoted in errors when the file is missing.
pub const BUILD_CORPUS: &str =
    "apt-get update -o Acquire::Languages=en && python3 scripts/make-text-data.py";

/// One description → synopsis pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryPair {
    /// Binary package name.
    pub package: String,
    /// Source package name (the split is by source package).
    pub source: String,
    /// Train / validation / test split.
    pub split: Split,
    /// The human-written synopsis (the reference summary).
    pub summary: String,
    /// The long description, paragraphs separated by newlines.
    pub body: String,
}

impl SummaryPair {
    /// The description on one line (whitespace runs, newlines included, become one space): the
    /// text the summariser is prompted with.
    pub fn document(&self) -> String {
        one_line(&self.body)
    }
}

/// `text` with every whitespace run replaced by one space, trimmed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Default location of the corpus: `data/debian_summaries.tsv.gz` in the crate.
pub fn summaries_path() -> PathBuf {
    data_path("debian_summaries.tsv.gz")
}

/// Read the corpus (tab-separated with the header `package source split summary body`, in
/// any column order; `\n` and `\t` escapes inside fields; gzip when the name ends in `.gz`).
///
/// # Errors
/// [`TextError::MissingCorpus`] (with the command that builds it) when the file does not
/// exist; [`TextError::Parse`] naming the file and 1-based line for a malformed row.
pub fn load_summaries(path: &Path) -> Result<Vec<SummaryPair>, TextError> {
    if !path.exists() {
        return Err(TextError::MissingCorpus {
            path: path.to_path_buf(),
            command: BUILD_CORPUS,
        });
    }
    let rows =
        read_tsv(path, ["package", "source", "split", "summary", "body"]).map_err(|e| match e {
            DataError::Parse {
                path,
                line,
                message,
            } => TextError::Parse {
                path,
                line,
                message,
            },
            io => TextError::Io(io),
        })?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, [package, source, split, summary, body]) in rows {
        let parse = |message: String| TextError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let split =
            Split::from_name(&split).ok_or_else(|| parse(format!("unknown split {split:?}")))?;
        if summary.trim().is_empty() || body.trim().is_empty() {
            return Err(parse("empty summary or body".into()));
        }
        out.push(SummaryPair {
            package,
            source,
            split,
            summary: unescape_field(&summary),
            body: unescape_field(&body),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_escapes_and_rejects_bad_rows() {
        let dir = std::env::temp_dir().join(format!("mr-text-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.tsv");
        std::fs::write(
            &good,
            "package\tsource\tsplit\tsummary\tbody\n\
             foo\tfoo-src\ttrain\tA tool\tFirst line.\\nSecond\\tpart \\\\ end\n",
        )
        .unwrap();
        let pairs = load_summaries(&good).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].body, "First line.\nSecond\tpart \\ end");
        assert_eq!(pairs[0].document(), "First line. Second part \\ end");
        assert_eq!(pairs[0].split, Split::Train);

        let bad = dir.join("bad.tsv");
        std::fs::write(
            &bad,
            "package\tsource\tsplit\tsummary\tbody\nfoo\tfoo\tnope\ts\tb\n",
        )
        .unwrap();
        let err = load_summaries(&bad).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("nope"), "{err}");
        let missing = load_summaries(&dir.join("absent.tsv.gz")).unwrap_err();
        assert!(
            missing.to_string().contains("make-text-data.py"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
