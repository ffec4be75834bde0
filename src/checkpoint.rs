//! Checkpoint directories: burnpack weights + configuration JSON + tokenizer vocabulary,
//! written atomically (a temporary sibling directory renamed into place).

use crate::checksum::{ChecksumError, hex};
use crate::tokenizer::{Tokenizer, TokenizerError};
use burn::module::{Module, ModuleMapper, Param};
use burn::store::ModuleRecord;
use burn::tensor::{FloatDType, Tensor};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File holding the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// File holding the model configuration.
pub const CONFIG_FILE: &str = "config.json";
/// File holding the tokenizer vocabulary.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub use crate::checksum::CHECKSUM_FILE;

/// Errors reading or writing checkpoints.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// A file system operation failed.
    #[error("checkpoint I/O at {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The weights could not be written, read or applied (e.g. a shape mismatch).
    #[error("checkpoint weights at {path}: {message}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// Burn's message.
        message: String,
    },
    /// The configuration JSON is malformed.
    #[error("checkpoint config at {path}: {source}")]
    Json {
        /// The config file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The configuration parses but describes an unusable model.
    #[error("checkpoint config is invalid: {0}")]
    BadConfig(String),
    /// The tokenizer vocabulary could not be written or read.
    #[error("checkpoint tokenizer: {0}")]
    Tokenizer(#[from] TokenizerError),
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
    /// The checkpoint records checksums, but not of this file.
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
    /// The path to write holds something this library did not write (a file, or a folder
    /// without a checksum record); it is left as it is.
    #[error(
        "{} holds {what} that this library did not write; it is left untouched: move it away or \
         choose another path",
        path.display()
    )]
    NotOurs {
        /// The path.
        path: PathBuf,
        /// What is there ("a file", "a folder").
        what: &'static str,
    },
    /// Loaded weights hold NaN or infinite values.
    #[error("checkpoint weights at {path}: {count} parameter values are NaN or infinite")]
    NonFinite {
        /// The weights file.
        path: PathBuf,
        /// How many values are not finite.
        count: usize,
    },
}

impl From<ChecksumError> for CheckpointError {
    /// The same error, as the checkpoint's variant of it.
    fn from(e: ChecksumError) -> Self {
        match e {
            ChecksumError::Io { path, source } => Self::Io { path, source },
            ChecksumError::Json { path, source } => Self::Json { path, source },
            ChecksumError::Corrupt {
                path,
                expected,
                found,
            } => Self::Corrupt {
                path,
                expected,
                found,
            },
            ChecksumError::Unlisted { path, record } => Self::Unlisted { path, record },
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The format of a policy directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Ours: `model.bpk` (burnpack) + `config.json` + `tokenizer.json` + `checksums.json`.
    #[default]
    Native,
    /// Hugging Face's: `config.json`, `model.safetensors` (or shards with an index),
    /// `generation_config.json` and the tokenizer files, as `save_pretrained` writes them.
    HuggingFace,
}

/// Storage precision of the weights file. Loading always casts back to the model's dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 32-bit floats (exact).
    #[default]
    F32,
    /// 16-bit floats (half the size; used for the shipped assets).
    F16,
}

struct CastFloats(FloatDType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// Marker written into a temporary directory once `fill` has completed it.
const COMPLETE_MARKER: &str = ".complete";

/// The sibling paths of `dir` used while replacing it: `(parent, name)`. A path without a
/// last name (`.`, `..`, `a/..`) names the directory it resolves to.
fn sibling_parts(dir: &Path) -> Result<(PathBuf, String), CheckpointError> {
    let resolved;
    let dir = match dir.file_name() {
        Some(_) => dir,
        None => {
            resolved = std::fs::canonicalize(dir).map_err(io(dir))?;
            resolved.as_path()
        }
    };
    let name = dir
        .file_name()
        .ok_or_else(|| CheckpointError::BadConfig(format!("{} has no name", dir.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok((parent, name))
}

/// Leftovers of replacing `dir`: `(path, pid, is_tmp)` for every `.{name}.tmp-PID` and
/// `.{name}.old-PID` sibling directory (a file of such a name is not ours and is left alone).
fn leftovers(dir: &Path) -> Result<Vec<(PathBuf, u32, bool)>, CheckpointError> {
    let (parent, name) = sibling_parts(dir)?;
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten().filter(|e| e.path().is_dir()) {
        let file = entry.file_name().to_string_lossy().into_owned();
        for (infix, is_tmp) in [(".tmp-", true), (".old-", false)] {
            let prefix = format!(".{name}{infix}");
            if let Some(pid) = file.strip_prefix(&prefix).and_then(|p| p.parse().ok()) {
                out.push((entry.path(), pid, is_tmp));
            }
        }
    }
    Ok(out)
}

/// Whether process `pid` may still be running (always `true` where that cannot be told).
fn alive(pid: u32) -> bool {
    pid == std::process::id()
        || !Path::new("/proc/self").exists()
        || Path::new("/proc").join(pid.to_string()).exists()
}

/// Bring `dir` back after a crash in the middle of [`write_dir_atomically`]: when `dir` is
/// missing, a completed temporary copy (the newer state) or else the previous copy moved
/// aside is renamed into place. Leftovers of processes that are no longer running are
/// removed once `dir` exists. Returns whether `dir` was restored.
///
/// # Errors
/// I/O errors renaming or removing the leftovers.
pub fn recover_dir(dir: &Path) -> Result<bool, CheckpointError> {
    let mut found = leftovers(dir)?;
    let mut restored = false;
    if !dir.exists() {
        // Newest complete copy first: a finished temporary directory, then a moved-aside one.
        found.sort_by_key(|(_, _, is_tmp)| !is_tmp);
        let pick = found.iter().position(|(path, pid, is_tmp)| {
            !alive(*pid) && (!is_tmp || path.join(COMPLETE_MARKER).exists())
        });
        if let Some(i) = pick {
            let (path, _, _) = found.remove(i);
            std::fs::rename(&path, dir).map_err(io(&path))?;
            restored = true;
        }
    }
    if dir.exists() {
        for (path, pid, _) in found {
            if !alive(pid) {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
    }
    Ok(restored)
}

/// Refuse to replace `dir` unless it is missing, an empty folder, or a folder holding a
/// checksum record (what [`write_dir_atomically`]'s callers write).
fn refuse_foreign(dir: &Path) -> Result<(), CheckpointError> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let what = if !meta.is_dir() {
        "a file"
    } else if dir.join(crate::checksum::CHECKSUM_FILE).is_file()
        || std::fs::read_dir(dir).map_err(io(dir))?.next().is_none()
    {
        return Ok(());
    } else {
        "a folder"
    };
    Err(CheckpointError::NotOurs {
        path: dir.to_path_buf(),
        what,
    })
}

/// Check, before a run writes its first checkpoint to `dir`, that it could: `dir` is missing or
/// a checkpoint (never a user's file or folder), and its parent folder can be created and
/// written.
pub fn check_checkpoint_dir(dir: &Path) -> Result<(), CheckpointError> {
    let (parent, _) = sibling_parts(dir)?;
    refuse_foreign(dir)?;
    ensure_writable_dir(&parent).map_err(io(&parent))
}

/// Create the folder `dir` if needed and check that files can be written in it (a probe file
/// is written and removed); a file at `dir` is an error of kind `NotADirectory`.
pub fn ensure_writable_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "it is a file, not a folder",
        ));
    }
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Write `dir` atomically: `fill` populates a temporary sibling directory, which then replaces
/// `dir` (an existing `dir` is moved aside first and removed after the rename). A crash
/// between the two renames leaves both complete copies under hidden sibling names;
/// [`recover_dir`] (run here first, and by every reader) puts the newer one back.
pub fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    let (parent, name) = sibling_parts(dir)?;
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    recover_dir(dir)?;
    refuse_foreign(dir)?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let marker = tmp.join(COMPLETE_MARKER);
    std::fs::write(&marker, b"").map_err(io(&marker))?;
    let had_old = dir.exists();
    if had_old {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(dir, &old).map_err(io(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io(dir))?;
    if had_old {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    // Now that `dir` exists, leftovers of dead processes can go.
    recover_dir(dir)?;
    Ok(())
}

/// Save a module, its configuration and (if any) tokenizer into `dir` (f32 weights).
pub fn save_module<M: Module, C: Serialize>(
    dir: &Path,
    module: M,
    config: &C,
    tokenizer: Option<&dyn Tokenizer>,
) -> Result<(), CheckpointError> {
    save_module_with(dir, module, config, tokenizer, Precision::F32)
}

/// Save a module, its configuration and (if any) tokenizer into `dir` at the given precision.
pub fn save_module_with<M: Module, C: Serialize>(
    dir: &Path,
    module: M,
    config: &C,
    tokenizer: Option<&dyn Tokenizer>,
    precision: Precision,
) -> Result<(), CheckpointError> {
    let module = match precision {
        Precision::F32 => module,
        Precision::F16 => module.valid().map(&mut CastFloats(FloatDType::F16)),
    };
    write_dir_atomically(dir, |tmp| {
        let weights = tmp.join(WEIGHTS_FILE);
        module
            .into_record()
            .save(&weights)
            .map_err(|e| CheckpointError::Weights {
                path: weights.clone(),
                message: e.to_string(),
            })?;
        let cfg = tmp.join(CONFIG_FILE);
        let json =
            serde_json::to_string_pretty(config).map_err(|source| CheckpointError::Json {
                path: cfg.clone(),
                source,
            })?;
        std::fs::write(&cfg, json).map_err(io(&cfg))?;
        if let Some(tokenizer) = tokenizer {
            tokenizer.save(&tmp.join(TOKENIZER_FILE))?;
        }
        write_checksums(tmp)
    })
}

/// Read the configuration JSON of a checkpoint.
pub fn load_config<C: DeserializeOwned>(dir: &Path) -> Result<C, CheckpointError> {
    recover_dir(dir)?;
    let path = dir.join(CONFIG_FILE);
    verify_file(&path)?;
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|source| CheckpointError::Json { path, source })
}

/// Load the weights of a checkpoint into `module` (cast to the module's dtype).
pub fn load_weights<M: Module>(dir: &Path, module: M) -> Result<M, CheckpointError> {
    let path = dir.join(WEIGHTS_FILE);
    let weights = |message: String| CheckpointError::Weights {
        path: path.clone(),
        message,
    };
    if !path.exists() {
        return Err(CheckpointError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no weights file"),
        });
    }
    verify_file(&path)?;
    let record = ModuleRecord::load(&path).map_err(|e| weights(e.to_string()))?;
    let module = module
        .try_load_record(record.cast_to_module_dtype())
        .map_err(|e| weights(e.to_string()))?;
    match non_finite(&module) {
        0 => Ok(module),
        count => Err(CheckpointError::NonFinite { path, count }),
    }
}

/// Refuse a configuration describing more parameters than the weights file can hold (at 2
/// bytes each, the smallest stored precision) before a model of that size is allocated.
///
/// # Errors
/// [`CheckpointError::Io`] when the weights file is missing; [`CheckpointError::BadConfig`].
pub fn check_weights_size(dir: &Path, params: usize) -> Result<(), CheckpointError> {
    let path = dir.join(WEIGHTS_FILE);
    let size = std::fs::metadata(&path).map_err(io(&path))?.len();
    if (params as u64).saturating_mul(2) > size {
        return Err(CheckpointError::BadConfig(format!(
            "{CONFIG_FILE} describes {params} parameters but {} holds {size} bytes (at most \
             {} half-precision values): the configuration does not belong to these weights",
            path.display(),
            size / 2
        )));
    }
    Ok(())
}

/// How many float parameter values of `module` are NaN or infinite.
pub fn non_finite<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.0 += data.iter::<f32>().filter(|x| !x.is_finite()).count();
        }
    }
    let mut c = Count(0);
    module.visit(&mut c);
    c.0
}

/// SHA-256 (hex) of a module's float parameters: each one's shape and its values as
/// little-endian `f32` bytes, in traversal order. Equal for equal weights on any device.
pub fn weights_digest<M: Module>(module: &M) -> String {
    struct Digest(Sha256);
    impl burn::module::ModuleVisitor for Digest {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            for d in t.dims() {
                self.0.update((d as u64).to_le_bytes());
            }
            for x in t.into_data().convert::<f32>().iter::<f32>() {
                self.0.update(x.to_le_bytes());
            }
        }
    }
    let mut v = Digest(Sha256::new());
    module.visit(&mut v);
    hex(&v.0.finalize())
}

/// Record the SHA-256 of every visible file in `dir` in [`CHECKSUM_FILE`]
/// ([`crate::checksum::write_checksums`] with a checkpoint error).
pub fn write_checksums(dir: &Path) -> Result<(), CheckpointError> {
    Ok(crate::checksum::write_checksums(dir)?)
}

/// Check `path` against the checksum its directory recorded for it, if any
/// ([`crate::checksum::verify_file`] with a checkpoint error).
///
/// # Errors
/// [`CheckpointError::Corrupt`] on a mismatch; I/O and JSON errors reading either file.
pub fn verify_file(path: &Path) -> Result<(), CheckpointError> {
    Ok(crate::checksum::verify_file(path)?)
}

/// SHA-256 (hex) of a file's bytes.
pub fn file_digest(path: &Path) -> Result<String, CheckpointError> {
    Ok(crate::checksum::file_digest(path)?)
}

/// Path of the tokenizer vocabulary inside a checkpoint directory.
pub fn tokenizer_path(dir: &Path) -> PathBuf {
    dir.join(TOKENIZER_FILE)
}
