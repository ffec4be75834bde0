//! Re-rendering a sweep's directory (`multireward report` on the `--out` of a
//! `--sweep-kl-coef` or `--sweep-weights` run): every comparison inside is re-rendered
//! ([`rerender`]), then the sweep's own report is rewritten from their `results.json`.

use super::error::ExperimentError;
use super::rerender::rerender;
use super::{kl_sweep, preference_sweep};
use std::path::{Path, PathBuf};

/// The comparisons inside `dir` whose directory name starts with `prefix`, with what follows
/// the prefix; only those holding a `results.json`, in name order.
fn comparisons(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>, ExperimentError> {
    let io = |source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(rest) = name.strip_prefix(prefix)
            && path.join("results.json").is_file()
        {
            found.push((rest.to_string(), path.clone()));
        }
    }
    found.sort();
    Ok(found)
}

/// Re-render the sweep in `dir`: each `kl-<β>/` or `w-<weights>/` comparison, then
/// `kl_sweep.md` (β ascending) or `preference_sweep.md` with their plots. Returns the sweep
/// reports written: none when `dir` holds no sweep.
pub fn rerender_sweep(dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut written = Vec::new();
    let mut betas = Vec::new();
    for (rest, path) in comparisons(dir, "kl-")? {
        if let Ok(beta) = rest.parse::<f32>() {
            rerender(&path)?;
            betas.push((beta, path));
        }
    }
    if !betas.is_empty() {
        betas.sort_by(|a, b| a.0.total_cmp(&b.0));
        kl_sweep::write(dir, &betas)?;
        written.push(dir.join(kl_sweep::REPORT_FILE));
    }
    let mut vectors = Vec::new();
    for (rest, path) in comparisons(dir, "w-")? {
        let weights: Option<Vec<f64>> = rest.split('-').map(|w| w.parse().ok()).collect();
        if let Some(weights) = weights {
            rerender(&path)?;
            vectors.push((weights, path));
        }
    }
    if !vectors.is_empty() {
        preference_sweep::write(dir, &vectors)?;
        written.push(dir.join(preference_sweep::REPORT_FILE));
    }
    Ok(written)
}
