//! The results directory of a comparison ([`ResultsDir`]): made ready (locked for one writer,
//! then emptied, or checked against its manifest when resuming), every finished run kept
//! losslessly in `runs/` ([`SavedRun`]) so that a resumed comparison skips it, the points
//! along each run, and every file written atomically with its checksum in the manifest.

use super::ablation;
use super::curve::{self, CurvePoint};
use super::error::{ExperimentError, io};
use super::lock::OutLock;
use super::manifest::{Inputs, MANIFEST_FILE, Manifest, digest};
use super::report::{PLOT_FILE, STEPS_FILE, StrategyResult};
use crate::eval::report::{JSON_FILE, MARKDOWN_FILE};
use crate::eval::{json_bytes, write_atomic};
use crate::strategy::Strategy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Folder of the finished runs inside the results directory.
pub const RUNS_DIR: &str = "runs";
/// Folder of the kept trained policies inside the results directory.
pub const POLICIES_DIR: &str = "policies";
/// Default checkpoint folder inside the results directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Wall-clock timings inside the results directory.
pub const TIMINGS_FILE: &str = "timings.json";
/// Files of a report, removed when a results directory is reused without resuming.
const REPORT_FILES: [&str; 11] = [
    MARKDOWN_FILE,
    JSON_FILE,
    STEPS_FILE,
    PLOT_FILE,
    super::rerender::SUMMARY_FILE,
    super::rerender::HTML_FILE,
    TIMINGS_FILE,
    super::provenance::PROVENANCE_FILE,
    curve::CSV_FILE,
    curve::PLOT_FILE,
    ablation::PLOT_FILE,
];

/// A finished run's evaluation as kept in `runs/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedRun {
    /// The run's result in the report.
    #[serde(flatten)]
    pub result: StrategyResult,
    /// The seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// The planned strategy (`null` for the pretrained policy).
    pub plan: Value,
    /// The task's metrics of the evaluation, with the KL.
    pub metrics: Value,
    /// Wall-clock seconds of the run and its evaluation.
    pub seconds: f64,
}

impl SavedRun {
    /// The evaluation `result` of a run of `plan` (seed `seed`), with the task's `metrics`,
    /// after `seconds`.
    pub fn new(
        result: StrategyResult,
        seed: Option<u64>,
        plan: Value,
        metrics: Value,
        seconds: f64,
    ) -> Self {
        Self {
            result,
            seed,
            plan,
            metrics,
            seconds,
        }
    }

    /// What ranks other than 0 hold in place of an evaluation (they evaluate nothing).
    pub fn placeholder() -> Self {
        let result = StrategyResult {
            name: String::new(),
            scores: Vec::new(),
            log: Vec::new(),
            spent: Default::default(),
        };
        Self::new(result, None, Value::Null, Value::Null, 0.0)
    }
}

/// File-name form of a strategy label ("Rewarded Soups" → "rewarded-soups").
pub(super) fn slug(name: &str) -> String {
    let dashed: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    dashed
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A comparison's results directory, whether it continues an earlier invocation, its
/// manifest (once prepared, on rank 0) and its lock.
#[derive(Debug)]
pub(super) struct ResultsDir {
    /// The directory.
    pub out: PathBuf,
    /// Finished runs are read back instead of trained again.
    pub resume: bool,
    manifest: Mutex<Option<Manifest>>,
    lock: Option<OutLock>,
}

impl ResultsDir {
    /// The results directory `out`, continuing an earlier invocation when `resume`; nothing is
    /// touched until [`ResultsDir::prepare`].
    pub fn new(out: &Path, resume: bool) -> Self {
        Self {
            out: out.to_path_buf(),
            resume,
            manifest: Mutex::new(None),
            lock: None,
        }
    }

    /// `runs/<name>`.
    pub fn run_file(&self, name: &str) -> PathBuf {
        self.out.join(RUNS_DIR).join(name)
    }

    /// Make the directory ready for a comparison of `inputs`: created, writable, locked for
    /// this process, and emptied of an earlier invocation's files unless resuming; when
    /// resuming, its manifest must record the same inputs and vouch for every kept file.
    pub fn prepare(&mut self, inputs: Inputs) -> Result<(), ExperimentError> {
        let out = self.out.clone();
        let unwritable = |source| ExperimentError::Unwritable {
            path: out.clone(),
            source,
        };
        std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(unwritable)?;
        let probe = out.join(format!(".write-test-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(unwritable)?;
        let _ = std::fs::remove_file(&probe);
        self.lock = Some(OutLock::acquire(&out)?);
        let manifest = match self.resume {
            true => self.checked_manifest(inputs)?,
            false => {
                self.clear()?;
                Manifest::new(inputs)
            }
        };
        self.write_manifest(&manifest)?;
        *self.manifest.lock().unwrap_or_else(|e| e.into_inner()) = Some(manifest);
        Ok(())
    }

    /// Remove an earlier invocation's report, runs, checkpoints, policies and manifest.
    fn clear(&self) -> Result<(), ExperimentError> {
        let out = &self.out;
        for name in REPORT_FILES.iter().chain(&[MANIFEST_FILE]) {
            let p = out.join(name);
            if p.exists() {
                std::fs::remove_file(&p).map_err(io(&p))?;
            }
        }
        let dirs = [RUNS_DIR, CHECKPOINTS_DIR, POLICIES_DIR];
        for dir in dirs.map(|d| out.join(d)) {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            }
        }
        std::fs::create_dir_all(out.join(RUNS_DIR)).map_err(io(out))
    }

    /// The manifest of the directory being resumed, checked: the same `inputs`, and every
    /// kept file vouched for. A directory with nothing kept yet starts a new manifest.
    fn checked_manifest(&self, inputs: Inputs) -> Result<Manifest, ExperimentError> {
        let path = self.out.join(MANIFEST_FILE);
        let kept = self.kept_files()?;
        let manifest = match std::fs::read(&path) {
            Ok(bytes) => Manifest::parse(&bytes, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && kept.is_empty() => {
                return Ok(Manifest::new(inputs));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ExperimentError::Resume(format!(
                    "{} holds kept runs but no {MANIFEST_FILE} (made by an older version, or \
                     the manifest was removed), so they cannot be checked; start without \
                     resuming or choose another results directory",
                    self.out.display()
                )));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        if let Some(difference) = manifest.inputs.difference(&inputs) {
            return Err(ExperimentError::Resume(format!(
                "{} was made with other inputs: {difference}; start without resuming or choose \
                 another results directory",
                self.out.display()
            )));
        }
        for name in kept {
            let file = self.out.join(&name);
            let bytes = std::fs::read(&file).map_err(io(&file))?;
            manifest
                .vouches(&name, &bytes)
                .map_err(|why| refused(&file, &why))?;
        }
        Ok(manifest)
    }

    /// The files kept in `runs/` (hidden temporaries aside), as manifest names.
    fn kept_files(&self) -> Result<Vec<String>, ExperimentError> {
        let dir = self.out.join(RUNS_DIR);
        let entries = std::fs::read_dir(&dir).map_err(io(&dir))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                names.push(format!("{RUNS_DIR}/{name}"));
            }
        }
        names.sort();
        Ok(names)
    }

    /// Write `manifest` (atomically).
    fn write_manifest(&self, manifest: &Manifest) -> Result<(), ExperimentError> {
        Ok(write_atomic(
            &self.out.join(MANIFEST_FILE),
            &json_bytes(manifest),
        )?)
    }

    /// `path`'s name in the manifest: relative to the results directory, `/`-separated.
    fn name_of(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.out).unwrap_or(path);
        let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
        parts.join("/")
    }

    /// What an earlier invocation kept in `path`, when resuming and it exists (checked against
    /// the manifest).
    pub fn read_kept<T: DeserializeOwned>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, ExperimentError> {
        if !self.resume || !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(path).map_err(io(path))?;
        if let Some(m) = &*self.manifest.lock().unwrap_or_else(|e| e.into_inner()) {
            (m.vouches(&self.name_of(path), &bytes)).map_err(|why| refused(path, &why))?;
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ExperimentError::Resume(format!("{} cannot be read: {e}", path.display())))
    }

    /// A finished run kept in `path`, if resuming and it is there, checked to be of `plan` and
    /// `seed`.
    pub fn saved_run(
        &self,
        path: &Path,
        plan: &Value,
        seed: Option<u64>,
    ) -> Result<Option<SavedRun>, ExperimentError> {
        let Some(run) = self.read_kept::<SavedRun>(path)? else {
            return Ok(None);
        };
        if !same_plan(&run.plan, plan) || run.seed != seed {
            return Err(ExperimentError::Resume(format!(
                "{} holds a run with other settings; start without resuming",
                path.display()
            )));
        }
        Ok(Some(run))
    }

    /// Keep `value` in `path` (atomically), its checksum recorded in the manifest: as pending
    /// before the write, as kept after it.
    pub fn keep<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), ExperimentError> {
        let bytes = json_bytes(value);
        let name = self.name_of(path);
        let mut guard = self.manifest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = guard.as_mut() {
            m.pending.insert(name.clone(), digest(&bytes));
            self.write_manifest(m)?;
        }
        write_atomic(path, &bytes)?;
        if let Some(m) = guard.as_mut() {
            let sum = m.pending.remove(&name).unwrap_or_default();
            m.files.insert(name, sum);
            self.write_manifest(m)?;
        }
        Ok(())
    }

    /// Points evaluated along a run so far (`key.curve.json`), when resuming.
    pub fn curve_points(&self, key: &str) -> Result<Vec<CurvePoint>, ExperimentError> {
        let path = self.run_file(&format!("{key}.curve.json"));
        Ok(self.read_kept(&path)?.unwrap_or_default())
    }

    /// Keep the points evaluated along a run.
    pub fn keep_curve_points(
        &self,
        key: &str,
        points: &[CurvePoint],
    ) -> Result<(), ExperimentError> {
        self.keep(&self.run_file(&format!("{key}.curve.json")), &points)
    }
}

/// A kept file refused when resuming, and why.
fn refused(path: &Path, why: &str) -> ExperimentError {
    ExperimentError::Resume(format!(
        "{} {why}; start without resuming or choose another results directory",
        path.display()
    ))
}

/// Whether two recorded plans are the same strategy (compared as settings, so a plan written
/// before a field was added or renamed still matches).
fn same_plan(saved: &Value, plan: &Value) -> bool {
    match (
        serde_json::from_value::<Strategy>(saved.clone()),
        serde_json::from_value::<Strategy>(plan.clone()),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => saved == plan,
    }
}
