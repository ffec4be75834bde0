//! PEFT LoRA adapter directories in and out: `adapter_config.json` and
//! `adapter_model.safetensors` with PEFT's key names
//! (`base_model.model.<module>.lora_A.weight` `[r, in]`, `….lora_B.weight` `[out, r]`), so an
//! adapter trained here loads in `peft.PeftModel.from_pretrained` and one trained there applies
//! here. PEFT's update `s·B·A` (in its `[out, in]` layout; GPT-2's Conv1D stores `[in, out]`
//! and says so with `fan_in_fan_out`) is ours `s·A·B` with `A = lora_Aᵀ`, `B = lora_Bᵀ`.

use super::Fields;
use crate::checkpoint::{CheckpointError, write_dir_atomically};
use crate::policy::CausalLm;
use crate::policy::lora::{self, LoraConfig, LoraError};
use burn::tensor::{DType, Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde_json::{Value, json};
use std::path::Path;

/// The adapter's settings inside a PEFT adapter directory.
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// Its factors.
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// The prefix PEFT gives every key.
const PREFIX: &str = "base_model.model.";

fn peft(path: &Path, why: impl Into<String>) -> LoraError {
    LoraError::Peft {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Whether the family stores its projections as Conv1D (`[in, out]`, PEFT's
/// `fan_in_fan_out`): GPT-2 and ours.
fn conv1d(family: &str) -> bool {
    family == "gpt" || family == "gpt2"
}

/// Read an adapter's settings, refusing what this library does not implement.
fn read_config(path: &Path, family: &str) -> Result<LoraConfig, LoraError> {
    let c = Fields::read(path)?;
    let bad = |why: String| peft(path, why);
    if let Some(kind) = c.get("peft_type").and_then(Value::as_str)
        && kind != "LORA"
    {
        return Err(bad(format!(
            "peft_type is {kind:?}; only LORA adapters load"
        )));
    }
    let empty = |v: &Value| match v {
        Value::Null | Value::Bool(false) => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s == "none",
        _ => false,
    };
    for field in [
        "use_dora",
        "modules_to_save",
        "rank_pattern",
        "alpha_pattern",
        "layers_to_transform",
        "target_parameters",
        "trainable_token_indices",
        "lora_bias",
        "bias",
        "use_qalora",
        "layer_replication",
    ] {
        if let Some(v) = c.get(field).filter(|v| !empty(v)) {
            return Err(bad(format!(
                "{field} is {v}, which this library does not support (plain LoRA on weights)"
            )));
        }
    }
    let fan_in_fan_out = c.bool_or("fan_in_fan_out", false)?;
    if fan_in_fan_out != conv1d(family) {
        return Err(bad(format!(
            "fan_in_fan_out is {fan_in_fan_out}, but a {family} policy's projections are \
             {}: the adapter was made for another architecture",
            if conv1d(family) {
                "Conv1D ([in, out]): PEFT needs true"
            } else {
                "Linear ([out, in]): PEFT needs false"
            }
        )));
    }
    let targets = match c.get("target_modules") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let cfg = LoraConfig {
        rank: c.usize("r")?,
        alpha: c.f64_or("lora_alpha", 8.0)?,
        dropout: c.f64_or("lora_dropout", 0.0)?,
        targets,
        use_rslora: c.bool_or("use_rslora", false)?,
        train_embeddings: false,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// One tensor of the adapter file as f32 `[rows, cols]`.
fn tensor2(st: &SafeTensors, name: &str, path: &Path) -> Result<Tensor<2>, LoraError> {
    let view = st
        .tensor(name)
        .map_err(|e| peft(path, format!("{name}: {e}")))?;
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        other => return Err(peft(path, format!("{name} is stored as {other:?}"))),
    };
    let [rows, cols] = view.shape()[..] else {
        return Err(peft(
            path,
            format!("{name} has shape {:?}, not 2-D", view.shape()),
        ));
    };
    let data =
        TensorData::from_bytes_vec(view.data().to_vec(), [rows, cols], dtype).convert::<f32>();
    Ok(Tensor::from_data(data, &crate::device::default_device()))
}

/// `policy` with the PEFT adapter of directory `dir` applied (its factors trainable, the base
/// frozen), and the adapter's settings. `base` names the base directory, checked against the
/// adapter's `base_model_name_or_path` (its last path component).
///
/// # Errors
/// [`LoraError::Peft`] naming the file: settings this library does not implement (DoRA,
/// `modules_to_save`, rank/alpha patterns, biases), `fan_in_fan_out` not matching the family,
/// another base (name or shapes), modules the policy does not have, keys not PEFT's;
/// [`LoraError::BadSetting`] for a rank, α or dropout out of range.
pub fn load_adapter<P: CausalLm>(
    policy: P,
    dir: &Path,
    base: Option<&Path>,
) -> Result<(P, LoraConfig), LoraError> {
    let family = policy.family();
    let config_path = dir.join(ADAPTER_CONFIG_FILE);
    let cfg = read_config(&config_path, family)?;
    if let (Some(base), Some(named)) = (
        base,
        Fields::read(&config_path)?
            .get("base_model_name_or_path")
            .and_then(Value::as_str)
            .map(String::from),
    ) {
        let last = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let base_name = last(&std::fs::canonicalize(base).unwrap_or(base.to_path_buf()));
        if !named.is_empty() && last(Path::new(&named)) != base_name {
            return Err(peft(
                &config_path,
                format!(
                    "base_model_name_or_path is {named:?}, but the base is {}: if that is the same \
                     model under another name, edit base_model_name_or_path",
                    base.display()
                ),
            ));
        }
    }
    let weights = dir.join(ADAPTER_WEIGHTS_FILE);
    crate::checkpoint::verify_file(&weights)?;
    let bytes = std::fs::read(&weights).map_err(|source| CheckpointError::Io {
        path: weights.clone(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| peft(&weights, e.to_string()))?;
    let mut modules = std::collections::BTreeSet::new();
    for name in st.names() {
        let module = name
            .strip_prefix(PREFIX)
            .and_then(|n| {
                n.strip_suffix(".lora_A.weight")
                    .or_else(|| n.strip_suffix(".lora_B.weight"))
            })
            .ok_or_else(|| {
                peft(
                    &weights,
                    format!(
                        "key {name:?} is not a PEFT LoRA factor ({PREFIX}<module>.lora_A/B.weight)"
                    ),
                )
            })?;
        modules.insert(module.to_string());
    }
    let mut factors = Vec::new();
    for module in modules {
        let a = tensor2(&st, &format!("{PREFIX}{module}.lora_A.weight"), &weights)?;
        let b = tensor2(&st, &format!("{PREFIX}{module}.lora_B.weight"), &weights)?;
        let device = policy.device();
        let (a, b) = (
            a.transpose().to_device(&device),
            b.transpose().to_device(&device),
        );
        if a.dims()[1] != cfg.rank {
            return Err(peft(
                &weights,
                format!(
                    "{module}: factors of rank {} but r is {}",
                    a.dims()[1],
                    cfg.rank
                ),
            ));
        }
        factors.push((module, a, b));
    }
    if factors.is_empty() {
        return Err(peft(&weights, "holds no factors"));
    }
    let policy = lora::attach_factors(policy, factors, cfg.scale(), cfg.dropout)
        .map_err(|why| peft(&weights, why))?;
    Ok((policy, cfg))
}

/// Save the adapters of `policy` (made with `cfg`) as a PEFT adapter directory `dir`, naming
/// `base` as `base_model_name_or_path` (written atomically, with `checksums.json`).
///
/// # Errors
/// [`LoraError::Peft`] when the policy carries no adapters; I/O errors.
pub fn save_adapter<P: CausalLm>(
    policy: &P,
    dir: &Path,
    cfg: &LoraConfig,
    base: &str,
) -> Result<(), LoraError> {
    let factors = lora::factors(policy);
    if factors.is_empty() {
        return Err(peft(dir, "the policy carries no LoRA adapters to save"));
    }
    // PEFT's layout: lora_A [r, in], lora_B [out, r], f32 little-endian.
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (module, a, b, _) in &factors {
        for (part, t) in [
            ("lora_A", a.clone().transpose()),
            ("lora_B", b.clone().transpose()),
        ] {
            let shape = t.dims().to_vec();
            let bytes = t
                .into_data()
                .convert::<f32>()
                .iter::<f32>()
                .flat_map(f32::to_le_bytes)
                .collect();
            tensors.push((format!("{PREFIX}{module}.{part}.weight"), shape, bytes));
        }
    }
    let mut targets: Vec<String> = factors
        .iter()
        .filter_map(|(m, ..)| m.rsplit('.').next().map(String::from))
        .collect();
    targets.sort();
    targets.dedup();
    let config = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base,
        "r": cfg.rank,
        "lora_alpha": cfg.alpha,
        "lora_dropout": cfg.dropout,
        "use_rslora": cfg.use_rslora,
        "target_modules": targets,
        "fan_in_fan_out": conv1d(policy.family()),
        "bias": "none",
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
        "use_dora": false,
        "rank_pattern": {},
        "alpha_pattern": {},
    });
    write_dir_atomically(dir, |tmp| {
        let io = |path: std::path::PathBuf| {
            move |source| CheckpointError::Io {
                path: path.clone(),
                source,
            }
        };
        let path = tmp.join(ADAPTER_CONFIG_FILE);
        let text = serde_json::to_string_pretty(&config).unwrap_or_default() + "\n";
        std::fs::write(&path, text).map_err(io(path.clone()))?;
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| CheckpointError::Weights {
                        path: tmp.join(ADAPTER_WEIGHTS_FILE),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        let metadata = Some(std::collections::HashMap::from([(
            "format".to_string(),
            "pt".to_string(),
        )]));
        let path = tmp.join(ADAPTER_WEIGHTS_FILE);
        safetensors::tensor::serialize_to_file(views, metadata, &path).map_err(|e| {
            CheckpointError::Weights {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        crate::checkpoint::write_checksums(tmp)
    })?;
    Ok(())
}
