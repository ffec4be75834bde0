//! Checkpoint directories: burnpack weights + configuration JSON + tokenizer vocabulary,
//! written atomically (a temporary sibling directory renamed into place).

use crate::tokenizer::{Tokenizer, TokenizerError};
use burn::module::{Module, ModuleMapper, Param};
use burn::store::ModuleRecord;
use burn::tensor::{FloatDType, Tensor};
use serde::{Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File holding the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// File holding the model configuration.
pub const CONFIG_FILE: &str = "config.json";
/// File holding the tokenizer vocabulary.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
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

/// Write `dir` atomically: `fill` populates a temporary sibling directory, which then replaces
/// `dir` (an existing `dir` is moved aside first and removed after the rename).
pub fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    let name = dir
        .file_name()
        .ok_or_else(|| CheckpointError::BadConfig(format!("{} has no name", dir.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
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
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(io(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io(dir))?;
    if had_old {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
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
        Ok(())
    })
}

/// Read the configuration JSON of a checkpoint.
pub fn load_config<C: DeserializeOwned>(dir: &Path) -> Result<C, CheckpointError> {
    let path = dir.join(CONFIG_FILE);
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
    let record = ModuleRecord::load(&path).map_err(|e| weights(e.to_string()))?;
    module
        .try_load_record(record.cast_to_module_dtype())
        .map_err(|e| weights(e.to_string()))
}

/// Path of the tokenizer vocabulary inside a checkpoint directory.
pub fn tokenizer_path(dir: &Path) -> PathBuf {
    dir.join(TOKENIZER_FILE)
}
