//! Safetensors weights of a Hugging Face directory: the files (one, or shards listed by an
//! index), their headers checked before anything is allocated, and loading/saving through
//! `burn-store` with a family's key map and layout adapter.

use super::{SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, bad_field};
use crate::checkpoint::CheckpointError;
use burn::module::Module;
use burn::store::{
    ChainAdapter, FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, SafetensorsStore,
};
use burn::tensor::DType;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest safetensors header read (the format's own limit is 100 MB).
const MAX_HEADER: u64 = 100 << 20;

/// One tensor of a safetensors header.
#[derive(Debug, Clone)]
struct Entry {
    shape: Vec<usize>,
}

/// The weight files of a directory and every tensor their headers declare.
pub(crate) struct WeightFiles {
    files: Vec<PathBuf>,
    tensors: BTreeMap<String, Entry>,
}

fn weights_error(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError::Weights {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Read and check one file's header: its JSON, the dtypes (F32, F16, BF16 floats) and that
/// the file holds every byte the header promises (a truncated file is refused here).
fn read_header(path: &Path) -> Result<BTreeMap<String, Entry>, CheckpointError> {
    crate::checkpoint::verify_file(path)?;
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| weights_error(path, "too short to be a safetensors file"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER || 8 + n > size {
        return Err(weights_error(
            path,
            format!(
                "header of {n} bytes in a file of {size}: not a safetensors file, or truncated"
            ),
        ));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(io)?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| weights_error(path, format!("header is not JSON: {e}")))?;
    let mut out = BTreeMap::new();
    let mut end = 0u64;
    for (name, v) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = v["dtype"].as_str().unwrap_or_default().to_string();
        let shape: Option<Vec<usize>> = v["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect());
        let offsets: Option<Vec<u64>> = v["data_offsets"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect());
        let (Some(shape), Some([begin, stop])) = (shape, offsets.as_deref().map(|o| [o[0], o[1]]))
        else {
            return Err(weights_error(
                path,
                format!("tensor {name:?} has a malformed entry"),
            ));
        };
        let width = match dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => {
                return Err(weights_error(
                    path,
                    format!("tensor {name:?} is stored as {other}; only F32, F16 and BF16 load"),
                ));
            }
        };
        let count = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        if count.and_then(|c| c.checked_mul(width)) != Some(stop.saturating_sub(begin)) {
            return Err(weights_error(
                path,
                format!("tensor {name:?}: shape {shape:?} does not match its byte range"),
            ));
        }
        end = end.max(stop);
        out.insert(name, Entry { shape });
    }
    if 8 + n + end > size {
        return Err(weights_error(
            path,
            format!(
                "the header promises {} bytes of data but the file holds {}: the file is \
                 truncated; download or copy it again",
                end,
                size - 8 - n
            ),
        ));
    }
    Ok(out)
}

impl WeightFiles {
    /// The weight files of `dir` (`model.safetensors`, or the shards its index lists), headers
    /// read and checked.
    pub(crate) fn open(dir: &Path) -> Result<Self, CheckpointError> {
        let single = dir.join(SAFETENSORS_FILE);
        let index = dir.join(SAFETENSORS_INDEX_FILE);
        if !single.exists() && !index.exists() {
            return Err(CheckpointError::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no weights: neither model.safetensors nor model.safetensors.index.json",
                ),
            });
        }
        let files = if single.exists() {
            vec![single]
        } else {
            let index = super::Fields::read(&index)?;
            let map = index
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| bad_field(index.path(), "weight_map", "is missing"))?;
            let names: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
            if names.is_empty() {
                return Err(bad_field(
                    index.path(),
                    "weight_map",
                    "lists no shard files",
                ));
            }
            names
                .into_iter()
                .map(|n| {
                    let p = dir.join(n);
                    match Path::new(n).components().count() == 1 && p.exists() {
                        true => Ok(p),
                        false => Err(bad_field(
                            index.path(),
                            "weight_map",
                            format!("names the shard {n:?}, which is not in the directory"),
                        )),
                    }
                })
                .collect::<Result<_, _>>()?
        };
        let mut tensors = BTreeMap::new();
        for f in &files {
            tensors.extend(read_header(f)?);
        }
        Ok(Self { files, tensors })
    }

    /// Refuse a config whose model has another number of values than the files hold
    /// (`ignored` tensors, e.g. a tied head stored anyway, aside), before allocating it.
    pub(crate) fn check_count(
        &self,
        config: &Path,
        params: usize,
        ignored: &regex::Regex,
    ) -> Result<(), CheckpointError> {
        let held: usize = self
            .tensors
            .iter()
            .filter(|(name, _)| !ignored.is_match(name))
            .map(|(_, e)| e.shape.iter().product::<usize>())
            .sum();
        if held != params {
            return Err(CheckpointError::BadConfig(format!(
                "{} describes a model of {params} parameters but the weights hold {held}: the \
                 configuration does not belong to these weights",
                config.display()
            )));
        }
        Ok(())
    }
}

/// Load `files` into `model`: names mapped by `remap` (theirs → ours), layouts by `adapter`,
/// every float cast to f32. Every parameter of the model must be found, and every stored
/// tensor used unless `ignored` matches its (mapped) name; then no value may be NaN or
/// infinite.
pub(crate) fn load_weights<M: Module>(
    mut model: M,
    files: &WeightFiles,
    remap: KeyRemapper,
    adapter: impl ModuleAdapter + Clone + 'static,
    ignored: &regex::Regex,
) -> Result<M, CheckpointError> {
    let mut applied = BTreeSet::new();
    let mut expected = BTreeSet::new();
    let mut unused = BTreeSet::new();
    for path in &files.files {
        let adapter = ChainAdapter::new(adapter.clone(), FloatCastAdapter::to(DType::F32));
        let mut store = SafetensorsStore::from_file(path)
            .remap(remap.clone())
            .with_from_adapter(adapter)
            .allow_partial(true)
            .validate(true);
        let result = model
            .load_from(&mut store)
            .map_err(|e| weights_error(path, e.to_string()))?;
        expected.extend(result.missing.iter().map(|(p, _)| p.clone()));
        expected.extend(result.applied.iter().cloned());
        applied.extend(result.applied);
        unused.extend(result.unused.into_iter().filter(|n| !ignored.is_match(n)));
    }
    let path = &files.files[0];
    let missing: Vec<&String> = expected.difference(&applied).collect();
    if !missing.is_empty() {
        return Err(weights_error(
            path,
            format!(
                "the weights lack {} tensors the model needs: {missing:?}",
                missing.len()
            ),
        ));
    }
    if !unused.is_empty() {
        return Err(weights_error(
            path,
            format!(
                "the weights hold tensors this model does not have: {unused:?}: a checkpoint of \
                 another architecture or shape"
            ),
        ));
    }
    match crate::checkpoint::non_finite(&model) {
        0 => Ok(model),
        count => Err(CheckpointError::NonFinite {
            path: path.clone(),
            count,
        }),
    }
}

/// Save `model` as `dir/model.safetensors` (f32): names mapped by `remap` (ours → theirs),
/// layouts by `adapter`.
pub(crate) fn save_weights<M: Module>(
    model: &M,
    dir: &Path,
    remap: KeyRemapper,
    adapter: impl ModuleAdapter + 'static,
) -> Result<(), CheckpointError> {
    let path = dir.join(SAFETENSORS_FILE);
    let mut store = SafetensorsStore::from_file(&path)
        .with_to_adapter(adapter)
        .remap(remap)
        .metadata("format", "pt")
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| weights_error(&path, e.to_string()))
}
