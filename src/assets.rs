//! Locating the shipped checkpoints (the repository's `assets/` folders) from any crate.
//!
//! The trained policies and reward models are too large for the published crate (see
//! `docs/packaging.md`); they live in the repository's `assets/` directory. Each function here
//! returns the folder of one of them, searching, in order:
//! 1. the directory named by the [`ASSETS_ENV`] environment variable (`MULTIREWARD_ASSETS`),
//!    which holds the asset folders (e.g. `<clone>/assets`);
//! 2. `assets/` in the directory this crate was built from, which exists when the crate is the
//!    repository itself or a git or path dependency.
//!
//! A folder only counts if it holds the files its loader reads (e.g. `config.json` and
//! `model.bpk`); otherwise the search goes on and ends in an [`AssetError`] that says where it
//! looked and how to get the assets.

use crate::checkpoint::{CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// Environment variable naming a directory that holds the asset folders (`smiles-gpt`, …).
pub const ASSETS_ENV: &str = "MULTIREWARD_ASSETS";

/// How to get the assets, appended to every "not found" message.
const HOW_TO_GET: &str = "clone the multireward repository and set MULTIREWARD_ASSETS=<clone>/assets, \
     or depend on multireward by git or path so that its assets/ folder is on disk";

/// Errors from locating an asset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssetError {
    /// The name is empty, absolute or leaves the assets directory (`..`).
    #[error("bad asset name {0:?}: expected a folder name under assets/ such as \"smiles-gpt\"")]
    BadName(String),
    /// No searched place holds the asset (complete).
    #[error("asset `{name}` not found (searched {}); {HOW_TO_GET}", list(.searched))]
    NotFound {
        /// The asset asked for.
        name: String,
        /// The folders looked at, in search order.
        searched: Vec<PathBuf>,
    },
    /// The asset's folder exists but lacks files its loader needs (and no later place has it).
    #[error(
        "asset `{name}` at {} is incomplete (missing {}); restore it from the multireward \
         repository, or {HOW_TO_GET}",
        .dir.display(),
        .missing.join(", ")
    )]
    Incomplete {
        /// The asset asked for.
        name: String,
        /// The first folder found for it.
        dir: PathBuf,
        /// Files (relative to `dir`) that are missing.
        missing: Vec<String>,
    },
}

fn list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nowhere".into();
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// Files a shipped folder must hold, relative to it (`None`: only the folder must exist).
fn expected_files(name: &str) -> Option<Vec<String>> {
    let model = |dir: &str| [CONFIG_FILE, WEIGHTS_FILE].map(|f| format!("{dir}/{f}"));
    let files: Vec<String> = match name {
        "smiles-gpt" | "dna-gpt" | "summarizer-gpt" => [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE]
            .map(String::from)
            .to_vec(),
        "qm9-rewards" => ["alpha", "gap", "u0"]
            .iter()
            .flat_map(|p| ["reward", "oracle"].map(|r| format!("{p}-{r}")))
            .flat_map(|d| model(&d))
            .collect(),
        "dna-rewards" => ["classifier-reward", "classifier-oracle"]
            .iter()
            .flat_map(|d| model(d))
            .collect(),
        "text-rewards" => model("faithfulness").to_vec(),
        "chem" => vec!["sa_fragments.tsv.gz".into()],
        "dna" => vec!["jaspar2024.tsv".into()],
        "fonts" => vec!["DejaVuSans.ttf".into()],
        _ => return None,
    };
    Some(files)
}

/// Whether `name` is a relative path of plain folder names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The search behind [`asset`], over an explicit optional environment root and the crate root.
fn find(name: &str, env_root: Option<&Path>, crate_root: &Path) -> Result<PathBuf, AssetError> {
    if !valid_name(name) {
        return Err(AssetError::BadName(name.to_string()));
    }
    let expected = expected_files(name).unwrap_or_default();
    let mut searched = Vec::new();
    let mut incomplete = None;
    for root in env_root.into_iter().chain([crate_root]) {
        let dir = root.join(name);
        searched.push(dir.clone());
        if !dir.is_dir() {
            continue;
        }
        let missing: Vec<String> = expected
            .iter()
            .filter(|f| !dir.join(f).is_file())
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(dir);
        }
        incomplete.get_or_insert((dir, missing));
    }
    Err(match incomplete {
        Some((dir, missing)) => AssetError::Incomplete {
            name: name.to_string(),
            dir,
            missing,
        },
        None => AssetError::NotFound {
            name: name.to_string(),
            searched,
        },
    })
}

/// The folder of the shipped asset `name` (a folder under `assets/`, e.g. `"smiles-gpt"` or
/// `"qm9-rewards/gap-oracle"`), searched as the [module docs](self) say. Known assets must hold
/// their loader's files; other names only need to exist.
///
/// ```
/// let dir = multireward::assets::asset("qm9-rewards/gap-oracle")?;
/// assert!(dir.join("model.bpk").is_file());
/// assert!(multireward::assets::asset("no-such-asset").is_err());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn asset(name: &str) -> Result<PathBuf, AssetError> {
    let env_root = std::env::var_os(ASSETS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    find(
        name,
        env_root.as_deref(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"),
    )
}

/// The SMILES policy pretrained on QM9 (`assets/smiles-gpt`: a [`Gpt`](crate::policy::Gpt)
/// checkpoint with its [`SmilesTokenizer`](crate::tasks::molecules::SmilesTokenizer)).
///
/// ```
/// use multireward::policy::{Gpt, Policy};
/// let dir = multireward::assets::smiles_policy()?;
/// let policy = Gpt::load(&dir, &multireward::device::default_device())?;
/// assert!(policy.vocab_size() > 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn smiles_policy() -> Result<PathBuf, AssetError> {
    asset("smiles-gpt")
}

/// The QM9 property regressors (`assets/qm9-rewards`): `{alpha,gap,u0}-reward` (on the SMILES
/// policy's features) and `{alpha,gap,u0}-oracle` (on Morgan fingerprints).
///
/// ```
/// let dir = multireward::assets::qm9_rewards()?;
/// assert!(dir.join("u0-oracle").is_dir());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn qm9_rewards() -> Result<PathBuf, AssetError> {
    asset("qm9-rewards")
}

/// The DNA policy (`assets/dna-gpt`: a [`Gpt`](crate::policy::Gpt) checkpoint with its k-mer
/// tokenizer).
///
/// ```
/// let dir = multireward::assets::dna_policy()?;
/// assert!(dir.join("tokenizer.json").is_file());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn dna_policy() -> Result<PathBuf, AssetError> {
    asset("dna-gpt")
}

/// The DNA cell-type classifiers (`assets/dna-rewards`: `classifier-reward` and
/// `classifier-oracle`).
///
/// ```
/// let dir = multireward::assets::dna_rewards()?;
/// assert!(dir.join("classifier-oracle").is_dir());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn dna_rewards() -> Result<PathBuf, AssetError> {
    asset("dna-rewards")
}

/// The summariser policy (`assets/summarizer-gpt`: a [`Gpt`](crate::policy::Gpt) checkpoint
/// with its BPE tokenizer).
///
/// ```
/// let dir = multireward::assets::summarizer_policy()?;
/// assert!(dir.join("config.json").is_file());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn summarizer_policy() -> Result<PathBuf, AssetError> {
    asset("summarizer-gpt")
}

/// The summary reward heads (`assets/text-rewards`: the `faithfulness` head).
///
/// ```
/// let dir = multireward::assets::text_rewards()?;
/// assert!(dir.join("faithfulness").is_dir());
/// # Ok::<(), multireward::assets::AssetError>(())
/// ```
pub fn text_rewards() -> Result<PathBuf, AssetError> {
    asset("text-rewards")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_assets() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
    }

    /// A fresh empty directory, unique to this test.
    fn empty_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mr-assets-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn shipped_assets_are_found_in_the_repository() {
        assert_eq!(smiles_policy().unwrap(), repo_assets().join("smiles-gpt"));
        for f in [
            qm9_rewards,
            dna_policy,
            dna_rewards,
            summarizer_policy,
            text_rewards,
        ] {
            f().unwrap();
        }
        for name in ["chem", "dna", "fonts"] {
            asset(name).unwrap();
        }
    }

    #[test]
    fn environment_root_comes_first_and_falls_back() {
        let root = empty_dir("first");
        let dir = root.join("dna");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("jaspar2024.tsv"), "").unwrap();
        assert_eq!(find("dna", Some(&root), &repo_assets()).unwrap(), dir);
        // Not under the environment root: the crate's own assets.
        let found = find("smiles-gpt", Some(&root), &repo_assets()).unwrap();
        assert_eq!(found, repo_assets().join("smiles-gpt"));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn missing_asset_names_places_and_remedy() {
        let root = empty_dir("empty");
        let crate_root = root.join("crate");
        let err = find("smiles-gpt", Some(&root), &crate_root).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, AssetError::NotFound { .. }));
        for part in [
            "asset `smiles-gpt` not found",
            &root.join("smiles-gpt").display().to_string(),
            &crate_root.join("smiles-gpt").display().to_string(),
            "MULTIREWARD_ASSETS=<clone>/assets",
            "by git or path",
        ] {
            assert!(msg.contains(part), "{part:?} not in {msg:?}");
        }
        let unknown = find("no-such-asset", None, &repo_assets()).unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("asset `no-such-asset` not found")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn incomplete_folder_lists_missing_files() {
        let root = empty_dir("partial");
        let dir = root.join("dna-gpt");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), "{}").unwrap();
        let err = find("dna-gpt", Some(&root), &root.join("none")).unwrap_err();
        assert_eq!(
            err,
            AssetError::Incomplete {
                name: "dna-gpt".into(),
                dir,
                missing: vec![WEIGHTS_FILE.into(), TOKENIZER_FILE.into()],
            }
        );
        assert!(
            err.to_string()
                .contains("missing model.bpk, tokenizer.json")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in ["", "../secrets", "/etc", "a/../b"] {
            assert_eq!(
                find(name, None, &repo_assets()),
                Err(AssetError::BadName(name.into()))
            );
        }
    }
}
