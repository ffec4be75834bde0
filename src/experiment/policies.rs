//! The trained policies a comparison keeps ([`SavedPolicy`]): each final policy saved under
//! `policies/<run>` in the reference policy's format and listed in `policies/index.json`.

use super::error::{ExperimentError, io};
use super::results_dir::POLICIES_DIR;
use crate::eval::json_bytes;
use crate::eval::write_atomic;
use crate::policy::Policy;
use crate::tokenizer::Tokenizer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The list of kept policies inside [`POLICIES_DIR`].
const INDEX_FILE: &str = "index.json";

/// A trained policy a comparison kept, as listed in `policies/index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPolicy {
    /// The strategy's label in the report.
    pub strategy: String,
    /// The seed.
    pub seed: u64,
    /// The policy directory (the reference policy's format: ours, or Hugging Face's).
    pub path: PathBuf,
    /// Tokens to place after BOS when sampling from it (RiC's conditioning; empty otherwise).
    pub condition: Vec<u32>,
}

/// The policies listed in `out`'s `policies/index.json` (none when there is no index).
pub(super) fn read_index(out: &Path) -> Result<Vec<SavedPolicy>, ExperimentError> {
    let path = out.join(POLICIES_DIR).join(INDEX_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ExperimentError::Task(format!("{}: {e}", path.display())))
}

/// Save `policy` (with `tokenizer`) as `out/policies/<kept.path>` and list it in the index;
/// `kept.path` names the run's folder. A policy with LoRA adapters is saved folded (`W + s·A·B`),
/// a plain policy of its family.
pub(super) fn keep<P: Policy>(
    out: &Path,
    policy: &P,
    tokenizer: &dyn Tokenizer,
    kept: SavedPolicy,
) -> Result<(), ExperimentError> {
    let dir = out.join(POLICIES_DIR).join(&kept.path);
    let folded =
        crate::policy::lora::is_adapted(policy).then(|| crate::policy::lora::fold(policy.clone()));
    folded
        .as_ref()
        .unwrap_or(policy)
        .save(&dir, tokenizer)
        .map_err(|e| {
            ExperimentError::Task(format!("saving {} seed {}: {e}", kept.strategy, kept.seed))
        })?;
    let mut index = read_index(out)?;
    index.retain(|p| p.path != dir);
    index.push(SavedPolicy { path: dir, ..kept });
    let path = out.join(POLICIES_DIR).join(INDEX_FILE);
    Ok(write_atomic(&path, &json_bytes(&index))?)
}
