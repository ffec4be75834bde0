//! SHA-256 checksums of a directory's files: [`write_checksums`] records them in
//! [`CHECKSUM_FILE`], [`verify_file`] checks one file against the record. On the ground floor,
//! so that every reader of a checkpoint directory (the tokenizer's, the policies', the runs')
//! can check what it reads; [`crate::checkpoint`] turns a [`ChecksumError`] into its own
//! error, variant for variant.

use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File holding the SHA-256 of every other file of the checkpoint, written last; loads check
/// each file they read against it (checkpoints written before it existed have none).
pub const CHECKSUM_FILE: &str = "checksums.json";

/// Errors writing or checking checksums (worded as the checkpoint errors they become).
#[derive(Debug, Error)]
pub enum ChecksumError {
    /// A file system operation failed.
    #[error("checkpoint I/O at {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The checksum file is malformed.
    #[error("checkpoint config at {path}: {source}")]
    Json {
        /// The checksum file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A file differs from the checksum recorded when the checkpoint was written.
    #[error(
        "{path} does not match the checksum recorded when the checkpoint was written (expected \
         {expected}, found {found}): the file was modified or damaged; restore or re-create the \
         checkpoint"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The recorded SHA-256.
        expected: String,
        /// The file's SHA-256 now.
        found: String,
    },
    /// The directory records checksums, but not of this file: the record is partial, edited or
    /// belongs to another directory.
    #[error(
        "{path} is not listed in {record}: the checksum record is partial or edited, so the \
         file cannot be checked; re-create the checkpoint, or, if the files are known to be \
         good, rewrite the record with scripts/write-checksums.py"
    )]
    Unlisted {
        /// The file.
        path: PathBuf,
        /// The checksum file that does not list it.
        record: PathBuf,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ChecksumError + '_ {
    move |source| ChecksumError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Record the SHA-256 of every visible file in `dir` (but the checksum file itself) in
/// [`CHECKSUM_FILE`] (`scripts/write-checksums.py` does the same for committed assets).
pub fn write_checksums(dir: &Path) -> Result<(), ChecksumError> {
    let mut sums = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let visible = |n: &String| n != CHECKSUM_FILE && !n.starts_with('.') && path.is_file();
        if let Some(name) = name.filter(visible) {
            sums.insert(name, file_digest(&path)?);
        }
    }
    let path = dir.join(CHECKSUM_FILE);
    let json = serde_json::to_string_pretty(&sums).map_err(|source| ChecksumError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, json).map_err(io(&path))
}

/// Check `path` against the checksum its directory recorded for it. A directory without
/// [`CHECKSUM_FILE`] is not checked (checkpoints written before checksums existed, other
/// tools' directories); one with it must list the file.
///
/// # Errors
/// [`ChecksumError::Corrupt`] on a mismatch, [`ChecksumError::Unlisted`] when the record
/// does not list the file; I/O and JSON errors reading either file.
pub fn verify_file(path: &Path) -> Result<(), ChecksumError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let sums_path = dir.join(CHECKSUM_FILE);
    if !sums_path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&sums_path).map_err(io(&sums_path))?;
    let sums: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|source| ChecksumError::Json {
            path: sums_path.clone(),
            source,
        })?;
    let Some(expected) = sums.get(&*name.to_string_lossy()) else {
        return Err(ChecksumError::Unlisted {
            path: path.to_path_buf(),
            record: sums_path,
        });
    };
    let found = file_digest(path)?;
    if found != *expected {
        return Err(ChecksumError::Corrupt {
            path: path.to_path_buf(),
            expected: expected.clone(),
            found,
        });
    }
    Ok(())
}

/// SHA-256 (hex) of a file's bytes.
pub fn file_digest(path: &Path) -> Result<String, ChecksumError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
