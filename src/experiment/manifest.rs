//! The manifest of a results directory (`manifest.json`): a digest of everything that
//! determines its results ([`Inputs`]: the crate version, the comparison settings, the
//! reference policy's weights and architecture, the tokenizer, the training rewards and the
//! oracles with their weights, transforms and normalisers, the prompts, the sampling settings
//! and the task's own settings) and the SHA-256 of every file kept in `runs/`.
//!
//! A resumed comparison reads nothing its manifest does not vouch for: different inputs are
//! refused naming the first difference, a kept file whose bytes differ from its recorded
//! checksum (or that is not listed) is refused, and so is a missing or partial manifest beside
//! kept runs. A file is recorded as *pending* before it is written and as kept after, so a kill
//! between the two writes leaves a directory that still resumes.

use super::error::ExperimentError;
use crate::checksum::hex;
use crate::tokenizer::Tokenizer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// The manifest's file name, in the results directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format this version writes and reads.
const FORMAT: u32 = 1;

/// What determines a comparison's results, as its manifest records it (digests for weights,
/// vocabularies and prompts; the settings themselves elsewhere, so a difference can be named).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Inputs {
    /// `CARGO_PKG_VERSION` of the crate that made the results.
    pub crate_version: String,
    /// The comparison settings, less what a resumed comparison may change (seeds, strategies).
    pub config: Value,
    /// SHA-256 of the reference policy's weights.
    pub policy: String,
    /// The reference policy's architecture.
    pub architecture: Value,
    /// SHA-256 of the tokenizer's vocabulary (every id decoded) and special tokens.
    pub tokenizer: String,
    /// The training rewards: names, weights, directions, transforms, normalisers.
    pub rewards: Value,
    /// The evaluation oracles, as the rewards.
    pub oracles: Value,
    /// SHA-256 of the training prompts' ids.
    pub prompts: String,
    /// SHA-256 of the evaluation prompts' ids.
    pub eval_prompts: String,
    /// The sampling settings.
    pub sampling: Value,
    /// The task's own settings.
    pub task: Value,
}

impl Inputs {
    /// The first difference between the inputs a directory was made with (`self`) and `now`,
    /// as a sentence naming what differs; `None` when they are equal.
    pub fn difference(&self, now: &Inputs) -> Option<String> {
        let (old, new) = (
            serde_json::to_value(self).unwrap_or_default(),
            serde_json::to_value(now).unwrap_or_default(),
        );
        // In the order a reader thinks of them (not the map's alphabetical order).
        let (what, path, was, is) = [
            ("crate_version", "the multireward versions"),
            ("config", "the comparison settings"),
            ("policy", "the reference policy's weights"),
            ("architecture", "the reference policy's architecture"),
            ("tokenizer", "the tokenizer's tokens"),
            ("rewards", "the training rewards"),
            ("oracles", "the evaluation oracles"),
            ("prompts", "the training prompts"),
            ("eval_prompts", "the evaluation prompts"),
            ("sampling", "the sampling settings"),
            ("task", "the task's settings"),
        ]
        .into_iter()
        .find_map(|(key, what)| {
            let d = first_difference(&old[key], &new[key], key.to_string())?;
            Some((what, d.0, d.1, d.2))
        })?;
        if matches!(
            path.as_str(),
            "policy" | "tokenizer" | "prompts" | "eval_prompts"
        ) {
            return Some(format!("{what} differ"));
        }
        let verb = match what.ends_with("architecture") {
            true => "differs",
            false => "differ",
        };
        Some(format!("{what} {verb} at `{path}`: {was} then, {is} now"))
    }
}

/// A results directory's manifest: its inputs, the checksums of the files kept in it, and the
/// checksums of files about to be written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    /// The manifest format.
    pub format: u32,
    /// What determines the results.
    pub inputs: Inputs,
    /// SHA-256 of every kept file, by its path relative to the results directory.
    pub files: BTreeMap<String, String>,
    /// SHA-256 of files being written (a kill may leave either the old or the new bytes).
    pub pending: BTreeMap<String, String>,
}

impl Manifest {
    /// A new manifest of `inputs`, listing no files.
    pub fn new(inputs: Inputs) -> Self {
        Self {
            format: FORMAT,
            inputs,
            files: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The manifest in `bytes` (read from `path`), refusing a partial or foreign one.
    pub fn parse(bytes: &[u8], path: &std::path::Path) -> Result<Self, ExperimentError> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| {
            ExperimentError::Resume(format!(
                "{} is damaged or incomplete ({e}); start without resuming",
                path.display()
            ))
        })?;
        if manifest.format != FORMAT {
            return Err(ExperimentError::Resume(format!(
                "{} has format {}, this version reads {FORMAT}; start without resuming",
                path.display(),
                manifest.format
            )));
        }
        Ok(manifest)
    }

    /// Whether `bytes` are what the manifest records for `name` (kept or being written), or
    /// why not.
    pub fn vouches(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let found = digest(bytes);
        let kept = self.files.get(name);
        let pending = self.pending.get(name);
        if kept.is_none() && pending.is_none() {
            return Err(
                "is not listed in the manifest (it was not written by this comparison)".into(),
            );
        }
        if kept == Some(&found) || pending == Some(&found) {
            return Ok(());
        }
        Err("was changed after it was written (its SHA-256 differs from the manifest's)".into())
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub(super) fn digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a tokenizer: its size, every id decoded (or the failure to) and its specials.
pub(super) fn tokenizer_digest(tokenizer: &dyn Tokenizer) -> String {
    let mut h = Sha256::new();
    let n = tokenizer.vocab_size();
    h.update((n as u64).to_le_bytes());
    for id in 0..n {
        let text = match u32::try_from(id).map(|id| tokenizer.decode(&[id])) {
            Ok(Ok(text)) => text,
            _ => "\u{0}undecodable".into(),
        };
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.update(format!("{:?}", tokenizer.specials()).as_bytes());
    hex(&h.finalize())
}

/// SHA-256 of token-id sequences (each length-prefixed).
pub(super) fn ids_digest(ids: &[Vec<u32>]) -> String {
    let mut h = Sha256::new();
    h.update((ids.len() as u64).to_le_bytes());
    for seq in ids {
        h.update((seq.len() as u64).to_le_bytes());
        for id in seq {
            h.update(id.to_le_bytes());
        }
    }
    hex(&h.finalize())
}

/// The path and both values of the first place where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let join = |key: &str| match path.is_empty() {
        true => key.to_string(),
        false => format!("{path}.{key}"),
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            // A field present on one side only differs, even from a null on the other.
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) => first_difference(u, v, join(k)),
                (u, v) => Some((join(k), shown(u), shown(v))),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some((path, short(a), short(b))),
    }
}

/// A field's value as a difference shows it ("absent" when the field is missing).
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".into(), short)
}

/// `value` as JSON, shortened to 80 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = json!({"budget": {"samples": 64, "iterations": 8}, "lr": [1, 2]});
        let b = json!({"budget": {"samples": 128, "iterations": 8}, "lr": [1, 2]});
        let (path, was, is) = first_difference(&a, &b, String::new()).unwrap();
        assert_eq!(
            (path.as_str(), &*was, &*is),
            ("budget.samples", "64", "128")
        );
        let renamed = json!({"budget": {"samplez": 64, "iterations": 8}, "lr": [1, 2]});
        let (path, was, _) = first_difference(&a, &renamed, String::new()).unwrap();
        assert_eq!((path.as_str(), &*was), ("budget.samples", "64"));
        let (nulled, gone) = (json!({"a": null}), json!({"b": null}));
        let (path, was, is) = first_difference(&nulled, &gone, String::new()).unwrap();
        assert_eq!((path.as_str(), &*was, &*is), ("a", "null", "absent"));
        let c = json!({"budget": {"samples": 64, "iterations": 8}, "lr": [1, 3]});
        assert_eq!(first_difference(&a, &c, String::new()).unwrap().0, "lr[1]");
        assert!(first_difference(&a, &a, String::new()).is_none());
    }

    #[test]
    fn a_file_is_vouched_for_only_with_its_recorded_bytes() {
        let inputs: Inputs = serde_json::from_value(json!({
            "crate_version": "0", "config": null, "policy": "", "architecture": null,
            "tokenizer": "", "rewards": null, "oracles": null, "prompts": "",
            "eval_prompts": "", "sampling": null, "task": null
        }))
        .unwrap();
        let mut m = Manifest::new(inputs);
        m.files.insert("runs/a.json".into(), digest(b"old"));
        m.pending.insert("runs/a.json".into(), digest(b"new"));
        assert!(m.vouches("runs/a.json", b"old").is_ok());
        assert!(m.vouches("runs/a.json", b"new").is_ok());
        assert!(
            m.vouches("runs/a.json", b"edited")
                .unwrap_err()
                .contains("changed")
        );
        assert!(
            m.vouches("runs/b.json", b"old")
                .unwrap_err()
                .contains("not listed")
        );
    }
}
