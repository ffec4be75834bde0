//! A whole study in one TOML file (`multireward run study.toml`): the task, the comparison's
//! settings, the rewards — built-in by name or external programs — and the results
//! directory. Every field is checked before any training, and an error names the file, the
//! line and the field (`studies/molecules.toml:14: rewards[1].weight: is NaN; …`).
//!
//! ```toml
//! out = "results/study-molecules"
//!
//! [task]
//! name = "molecules"            # molecules | dna | text | prompts (your policy and prompts)
//! policy = "assets/smiles-gpt"
//!
//! [run]                         # the comparison's flags without `--`
//! strategies = ["iterativers", "morlhf", "soups"]
//! seeds = 3
//!
//! [[rewards]]
//! name = "alpha"                # a built-in objective of the task
//!
//! [[rewards]]
//! name = "qed"                  # any program speaking the external-reward protocol
//! external = { command = ["python3", "examples/scorers/qed.py"], timeout_s = 60 }
//! ```
//!
//! The fields, one by one, are documented in `docs/study.md`.

mod domain;
mod error;
mod file;
mod flags;
mod locate;
mod prompts;
mod rewards;
mod run;

pub use error::StudyError;
pub use file::{ExternalEntry, PromptsOptions, RewardEntry, StudyFile, TaskSection};
pub use locate::FieldPath;
pub use run::Mode;

use error::Source;
use locate::{field_at, line_of, span_of};
use std::path::{Path, PathBuf};

/// A study file, read and checked field by field.
#[derive(Debug, Clone)]
pub struct Study {
    source: Source,
    /// Its fields.
    pub file: StudyFile,
    /// Its task, with the options of the task named.
    pub task: TaskSection,
}

impl Study {
    /// Read and parse `path`; an unknown, missing or mistyped field is an error naming its
    /// line.
    pub fn load(path: &Path) -> Result<Self, StudyError> {
        let text = std::fs::read_to_string(path).map_err(|source| StudyError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let source = Source {
            file: path.to_path_buf(),
            text,
        };
        let file =
            toml::from_str::<StudyFile>(&source.text).map_err(|e| parse_error(&source, &e))?;
        let task = task_section(&source, &file.task)?;
        Ok(Self { source, file, task })
    }

    /// The study file's path.
    pub fn path(&self) -> &Path {
        &self.source.file
    }

    /// The results directory.
    pub fn out(&self) -> PathBuf {
        self.file.out.clone()
    }
}

/// The task of `table` (the study's `[task]`), by its `name`.
///
/// The options are read from the file's own text with the `name` entry blanked out (spaces
/// of the same length), so that an error in them keeps its place in the file.
fn task_section(source: &Source, table: &toml::Table) -> Result<TaskSection, StudyError> {
    let at = FieldPath::key("task").then("name");
    let names = "molecules, dna, text or prompts";
    let name = match table.get("name") {
        Some(toml::Value::String(name)) => name.clone(),
        Some(other) => {
            let kind = other.type_str();
            return Err(source.field(&at, format!("is a {kind}; give one of {names}")));
        }
        None => return Err(source.field(&at, format!("missing field `name`; give one of {names}"))),
    };
    let blank = match span_of(&source.text, &at) {
        Some(value) => {
            let key = source.text[..value.start]
                .rfind("name")
                .unwrap_or(value.start);
            let mut text = source.text.clone();
            text.replace_range(key..value.end, &" ".repeat(value.end - key));
            text
        }
        None => source.text.clone(),
    };
    fn options<T: serde::de::DeserializeOwned>(
        source: &Source,
        text: &str,
    ) -> Result<T, StudyError> {
        #[derive(serde::Deserialize)]
        struct Only<T> {
            task: T,
        }
        toml::from_str::<Only<T>>(text)
            .map(|o| o.task)
            .map_err(|e| parse_error(source, &e))
    }
    Ok(match name.as_str() {
        "molecules" => TaskSection::Molecules(options(source, &blank)?),
        "dna" => TaskSection::Dna(options(source, &blank)?),
        "text" => TaskSection::Text(options(source, &blank)?),
        "prompts" => TaskSection::Prompts(options(source, &blank)?),
        other => {
            return Err(source.field(&at, format!("is {other:?}; give one of {names}")));
        }
    })
}

/// A toml error as a [`StudyError`] naming the line and, where it can be told, the field.
fn parse_error(source: &Source, e: &toml::de::Error) -> StudyError {
    let text = &source.text;
    let message = e.message().trim().to_string();
    let quoted = |prefix: &str| {
        let rest = message.split(prefix).nth(1)?;
        Some(rest.split('`').next()?.to_string())
    };
    let mut path = e.span().and_then(|s| field_at(text, s.start));
    // serde names a field that is unknown or missing without pointing at it where the value
    // went through a buffer (the task's options): find it in the text.
    if let Some(key) = quoted("unknown field `") {
        let base = path.clone().unwrap_or_default();
        path = Some(match base.0.last() {
            Some(locate::Step::Key(k)) if *k == key => base,
            _ => find_key(text, &base, &key).unwrap_or_else(|| base.then(&key)),
        });
    } else if let Some(key) = quoted("missing field `") {
        // The span is the table missing it: the document (from 0), a table, or an inline table.
        let table = e
            .span()
            .filter(|s| s.start > 0)
            .map_or_else(FieldPath::default, |s| {
                let inline = text
                    .get(s.start..)
                    .is_some_and(|t| t.starts_with(['{', '[']));
                match locate::table_at(text, &s) {
                    t if !t.0.is_empty() || !inline => t,
                    _ => field_at(text, s.start).unwrap_or_default(),
                }
            });
        path = Some(table.then(&key));
    }
    match path {
        Some(path) if !path.0.is_empty() => {
            let line = span_of(text, &path)
                .or(e.span())
                .map_or(1, |s| line_of(text, s.start));
            StudyError::Field {
                file: source.file.clone(),
                line,
                field: path.to_string(),
                message,
            }
        }
        _ => StudyError::Syntax {
            file: source.file.clone(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message,
        },
    }
}

/// The first key `key` at or under `base`, searched through the document.
fn find_key(text: &str, base: &FieldPath, key: &str) -> Option<FieldPath> {
    let mut offset = 0;
    while let Some(found) = text[offset..].find(key) {
        let at = offset + found;
        if let Some(path) = field_at(text, at)
            && path.0.last() == Some(&locate::Step::Key(key.into()))
            && path.0.starts_with(&base.0)
        {
            return Some(path);
        }
        offset = at + key.len();
    }
    None
}
