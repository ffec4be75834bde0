//! What is wrong with a study file, said with its file, line and field.

use super::locate::{FieldPath, line_of, span_of};
use std::path::PathBuf;

/// A study file that cannot be run, named by file, line and field where it has them.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The file cannot be read.
    #[error("{}: cannot be read: {source}", file.display())]
    Read {
        /// The study file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A field's value is wrong (or a field is unknown or missing).
    #[error("{}:{line}: {field}: {message}", file.display())]
    Field {
        /// The study file.
        file: PathBuf,
        /// The 1-based line of the field (or of the table that misses it).
        line: usize,
        /// The field's path, e.g. `rewards[1].weight`.
        field: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The file is not TOML.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The study file.
        file: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
}

/// A study file's text, for naming the line of a field in errors.
#[derive(Debug, Clone)]
pub struct Source {
    /// The study file's path as given.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
}

impl Source {
    /// The error "`path`: `message`" at the line of `path` (or of its closest parent).
    pub fn field(&self, path: &FieldPath, message: impl Into<String>) -> StudyError {
        let line = span_of(&self.text, path).map_or(1, |s| line_of(&self.text, s.start));
        StudyError::Field {
            file: self.file.clone(),
            line,
            field: path.to_string(),
            message: message.into(),
        }
    }
}
