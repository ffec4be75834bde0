//! Hugging Face directories in and out: `config.json` fields, `model.safetensors` or a sharded
//! `model.safetensors.index.json` (f32, f16 or bf16 stored; loaded as f32), the special tokens
//! of `generation_config.json` / `tokenizer_config.json`, and the tokenizer files. Weights go
//! through Burn's `burn-store` (safetensors, key remapping, the PyTorch layout adapter); what
//! is family-specific (names, config fields) is in [`gpt2`] and [`llama`].
//!
//! Every check happens before the model is allocated where it can: the config's fields, the
//! safetensors headers (truncated files, dtypes) and the parameter count the config implies
//! against the one the files hold.

pub mod gpt2;
pub mod llama;
pub mod peft;
mod safetensors;

pub(crate) use safetensors::{WeightFiles, load_weights, save_weights};

use crate::checkpoint::{CONFIG_FILE, CheckpointError, WEIGHTS_FILE};
use crate::tokenizer::{HfTokenizer, Specials, Tokenizer};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The weights file of an unsharded Hugging Face directory.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The index of a sharded one.
pub const SAFETENSORS_INDEX_FILE: &str = "model.safetensors.index.json";
/// Generation settings (BOS, EOS, PAD ids).
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";

/// Whether `dir` is a Hugging Face directory: no `model.bpk`, and safetensors weights or a
/// `config.json` that names a `model_type`.
pub fn is_hf_dir(dir: &Path) -> bool {
    let names_model_type = || {
        std::fs::read_to_string(dir.join(CONFIG_FILE))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| v.get("model_type").is_some())
    };
    !dir.join(WEIGHTS_FILE).exists()
        && (dir.join(SAFETENSORS_FILE).exists()
            || dir.join(SAFETENSORS_INDEX_FILE).exists()
            || names_model_type())
}

/// The `model_type` of a Hugging Face directory's `config.json`.
pub fn model_type(dir: &Path) -> Result<String, CheckpointError> {
    let config = Fields::read(&dir.join(CONFIG_FILE))?;
    config.string("model_type")
}

/// A typed error about `field` of the file `path`.
pub(crate) fn bad_field(path: &Path, field: &str, why: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::BadConfig(format!("{}: field {field:?} {why}", path.display()))
}

/// A JSON object read from a file, with accessors whose errors name the file and the field.
pub(crate) struct Fields {
    path: PathBuf,
    value: Value,
}

impl Fields {
    /// Read `path` (a JSON object).
    pub(crate) fn read(path: &Path) -> Result<Self, CheckpointError> {
        crate::checkpoint::verify_file(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|source| CheckpointError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if !value.is_object() {
            return Err(CheckpointError::BadConfig(format!(
                "{} is not a JSON object",
                path.display()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            value,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The raw value of `field` (`None` when absent or null).
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        self.value.get(field).filter(|v| !v.is_null())
    }

    fn bad(&self, field: &str, why: impl std::fmt::Display) -> CheckpointError {
        bad_field(&self.path, field, why)
    }

    /// A required positive integer.
    pub(crate) fn usize(&self, field: &str) -> Result<usize, CheckpointError> {
        match self.get(field) {
            None => Err(self.bad(field, "is missing")),
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| self.bad(field, format!("must be a positive integer, got {v}"))),
        }
    }

    /// An optional positive integer.
    pub(crate) fn usize_or(&self, field: &str, default: usize) -> Result<usize, CheckpointError> {
        match self.get(field) {
            None => Ok(default),
            Some(_) => self.usize(field),
        }
    }

    /// An optional finite number.
    pub(crate) fn f64_or(&self, field: &str, default: f64) -> Result<f64, CheckpointError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(field, format!("must be a finite number, got {v}"))),
        }
    }

    /// An optional boolean.
    pub(crate) fn bool_or(&self, field: &str, default: bool) -> Result<bool, CheckpointError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(field, format!("must be true or false, got {v}"))),
        }
    }

    /// A required string.
    pub(crate) fn string(&self, field: &str) -> Result<String, CheckpointError> {
        match self.get(field) {
            None => Err(self.bad(field, "is missing")),
            Some(v) => v
                .as_str()
                .map(String::from)
                .ok_or_else(|| self.bad(field, format!("must be a string, got {v}"))),
        }
    }

    /// Refuse `field` unless it is absent, null or `allowed(value)`: a setting this library
    /// does not implement is never ignored.
    pub(crate) fn refuse_unless(
        &self,
        field: &str,
        allowed: impl Fn(&Value) -> bool,
        what: &str,
    ) -> Result<(), CheckpointError> {
        match self.get(field) {
            Some(v) if !allowed(v) => Err(self.bad(
                field,
                format!("is {v}, which this library does not support ({what})"),
            )),
            _ => Ok(()),
        }
    }

    /// Token ids of `field`: an integer or a list of them (`[]` when absent).
    fn ids(&self, field: &str) -> Result<Vec<u32>, CheckpointError> {
        let one = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    one(v).ok_or_else(|| self.bad(field, format!("holds {v}, not a token id")))
                })
                .collect(),
            Some(v) => one(v)
                .map(|id| vec![id])
                .ok_or_else(|| self.bad(field, format!("is {v}, not a token id"))),
        }
    }
}

/// The special tokens of a Hugging Face directory: the tokenizer's (when `tokenizer.json` is
/// there), with BOS, EOS and PAD as `generation_config.json` (else `config.json`) gives them.
/// The tokenizer decides whether prompts get a BOS: Qwen2's configs name one its tokenizer never
/// adds.
pub(crate) fn specials(
    dir: &Path,
    config: &Fields,
    vocab: usize,
) -> Result<Specials, CheckpointError> {
    let generation = dir.join(GENERATION_CONFIG_FILE);
    let generation = match generation.exists() {
        true => Some(Fields::read(&generation)?),
        false => None,
    };
    let id = |field: &str| -> Result<Vec<u32>, CheckpointError> {
        if let Some(g) = &generation {
            let ids = g.ids(field)?;
            if !ids.is_empty() {
                return Ok(ids);
            }
        }
        config.ids(field)
    };
    let tokenizer = match dir.join(crate::tokenizer::HF_TOKENIZER_FILE).exists() {
        true => Some(HfTokenizer::from_dir(dir)?),
        false => None,
    };
    let eos = match id("eos_token_id")? {
        ids if !ids.is_empty() => ids,
        _ => match &tokenizer {
            Some(t) => t.specials().eos,
            None => return Err(config.bad("eos_token_id", "is missing (no EOS token)")),
        },
    };
    let bos = match &tokenizer {
        Some(t) => t.specials().bos,
        None => id("bos_token_id")?.first().copied(),
    };
    let pad = id("pad_token_id")?
        .first()
        .copied()
        .or(tokenizer.as_ref().map(|t| t.specials().pad))
        .unwrap_or(eos[0]);
    let mut all: Vec<u32> = tokenizer.map(|t| t.specials().all).unwrap_or_default();
    all.extend(bos.iter().chain(&eos).chain([&pad]));
    all.sort_unstable();
    all.dedup();
    let specials = Specials { bos, eos, pad, all };
    specials
        .validate(vocab)
        .map_err(|e| CheckpointError::BadConfig(format!("{}: {e}", config.path().display())))?;
    Ok(specials)
}

/// `generation_config.json` for `specials`.
pub(crate) fn generation_config(specials: &Specials) -> Value {
    let eos: Value = match specials.eos.as_slice() {
        [one] => (*one).into(),
        many => many.into(),
    };
    serde_json::json!({
        "bos_token_id": specials.bos,
        "eos_token_id": eos,
        "pad_token_id": specials.pad,
        "_from_model_config": true,
    })
}

/// Write a Hugging Face directory atomically: `config.json`, `generation_config.json`, the
/// weights (`write_weights` into the given directory) and, when the tokenizer can be expressed
/// in Hugging Face's format, its files; then `checksums.json`, which `transformers` ignores
/// and our loaders verify.
pub(crate) fn write_dir(
    dir: &Path,
    config: &Value,
    specials: &Specials,
    max_len: usize,
    tokenizer: &dyn Tokenizer,
    write_weights: impl FnOnce(&Path) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    crate::checkpoint::write_dir_atomically(dir, |tmp| {
        let json = |name: &str, v: &Value| -> Result<(), CheckpointError> {
            let path = tmp.join(name);
            let mut text =
                serde_json::to_string_pretty(v).map_err(|source| CheckpointError::Json {
                    path: path.clone(),
                    source,
                })?;
            text.push('\n');
            std::fs::write(&path, text).map_err(|source| CheckpointError::Io { path, source })
        };
        json(CONFIG_FILE, config)?;
        json(GENERATION_CONFIG_FILE, &generation_config(specials))?;
        write_weights(tmp)?;
        if let Some(hf) = tokenizer.to_hf() {
            hf.save_dir(tmp, max_len)?;
        }
        crate::checkpoint::write_checksums(tmp)
    })
}

/// The JSON numbers of `config.json` as transformers writes them: `rope_theta` both top-level
/// (transformers 4) and under `rope_parameters` (transformers 5).
pub(crate) fn rope_theta(config: &Fields) -> Result<f64, CheckpointError> {
    config.refuse_unless(
        "rope_scaling",
        |v| {
            v.get("rope_type")
                .or(v.get("type"))
                .and_then(Value::as_str)
                .is_some_and(|t| t == "default")
        },
        "only plain rotary positions; no rope_scaling kinds",
    )?;
    let Some(params) = config.get("rope_parameters") else {
        return config.f64_or("rope_theta", 10000.0);
    };
    let kind = params
        .get("rope_type")
        .and_then(Value::as_str)
        .unwrap_or("default");
    if kind != "default" {
        return Err(bad_field(
            config.path(),
            "rope_parameters",
            format!(
                "has rope_type {kind:?}, which this library does not support (only \"default\" \
                 rotary positions)"
            ),
        ));
    }
    match params.get("rope_theta") {
        Some(theta) => theta.as_f64().filter(|t| t.is_finite()).ok_or_else(|| {
            bad_field(
                config.path(),
                "rope_parameters",
                format!("has rope_theta {theta}"),
            )
        }),
        None => config.f64_or("rope_theta", 10000.0),
    }
}
