//! Running a comparison from the command line: [`RunArgs::compare`] plans the task, starts the
//! ranks (threads for `MULTIREWARD_DEVICES`, or MPI processes when this library is built with
//! its `mpi` feature), attaches the console and metrics observers on rank 0, and runs.

use super::args::RunArgs;
use super::ranks;
use crate::distributed::Communicator;
use crate::experiment::{
    Comparison, ComparisonConfig, Console, ExperimentError, JsonLines, Outcome, Task, kl_sweep,
    preference_sweep,
};
use crate::policy::Policy;
use crate::strategy::Strategy;
use std::path::Path;

impl RunArgs {
    /// Plan, run and report `task` with `config` into `out`.
    pub fn compare<P: Policy>(
        &self,
        task: Task<'_, P>,
        config: ComparisonConfig,
        out: &Path,
    ) -> Result<Outcome, ExperimentError> {
        self.compare_with(task, config, out, |_| {})
    }

    /// [`RunArgs::compare`] with every planned strategy adjusted by `edit`.
    pub fn compare_with<P: Policy>(
        &self,
        task: Task<'_, P>,
        config: ComparisonConfig,
        out: &Path,
        edit: impl FnMut(&mut Strategy),
    ) -> Result<Outcome, ExperimentError> {
        if self.log_every == 0 {
            return Err(ExperimentError::setting(
                "log_every",
                "is 0; give at least 1 (off a terminal, a progress line every this many \
                 iterations)"
                    .into(),
            ));
        }
        self.check_sweep()?;
        let comparison = Comparison::new(task, config)?;
        // Every weight vector is checked before any run.
        for weights in self.preferences()?.iter().flatten() {
            comparison.check_preferences(weights)?;
        }
        let comparison = comparison
            .edit_plan(edit)?
            .with_checkpoint_dir(self.checkpoint_dir.clone())
            .with_resume(self.resume);
        // One rank of a run over several devices of this process (`MULTIREWARD_DEVICES`), or
        // — this library built with its `mpi` feature and started by `mpirun`/`srun` — over
        // MPI processes. Rank 0 prints and writes (docs/scaling.md).
        ranks::with_rank(|rank| match rank {
            Some(comm) => self.run_comparison(comparison, Some(comm), out),
            None => {
                #[cfg(feature = "mpi")]
                let mpi = crate::distributed::Mpi::init()
                    .map_err(|e| ExperimentError::Task(e.to_string()))?;
                #[cfg(feature = "mpi")]
                let comm: Option<&dyn Communicator> = Some(&mpi);
                #[cfg(not(feature = "mpi"))]
                let comm: Option<&dyn Communicator> = None;
                self.run_comparison(comparison, comm, out)
            }
        })
    }

    /// Run `comparison` as one rank of `comm` (or alone); rank 0 shows progress and writes
    /// the metrics file.
    fn run_comparison<P: Policy>(
        &self,
        comparison: Comparison<'_, P>,
        comm: Option<&dyn Communicator>,
        out: &Path,
    ) -> Result<Outcome, ExperimentError> {
        let root = comm.is_none_or(|c| c.rank() == 0);
        let mut comparison = match comm {
            Some(c) => comparison.with_communicator(c),
            None => comparison,
        };
        if root {
            let b = comparison.ppo();
            println!(
                "{} strategies × {} seed(s); {} samples per PPO iteration, {} tokens each",
                comparison.plan().len(),
                self.seeds,
                b.samples_per_step,
                b.sampling.max_new_tokens
            );
            comparison = comparison.with_observer(Console::new(self.log_every));
            if let Some(path) = &self.metrics {
                // Made only now, after every setting was checked (the study's metrics file
                // lies in its results directory).
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let log = match self.resume {
                    true => JsonLines::append(path),
                    false => JsonLines::create(path),
                };
                let log = log.map_err(|source| ExperimentError::Io {
                    path: path.clone(),
                    source,
                })?;
                comparison = comparison.with_observer(log);
            }
        }
        if let Some(weights) = self.preferences()? {
            return self.sweep_preferences(comparison, &weights, root, out);
        }
        if self.sweep_kl_coef.is_empty() {
            return comparison.run(out);
        }
        self.sweep_kl(comparison, root, out)
    }

    /// `--sweep-weights` as weight vectors (`None` without the flag).
    pub(crate) fn preferences(&self) -> Result<Option<Vec<Vec<f64>>>, ExperimentError> {
        let Some(text) = &self.sweep_weights else {
            return Ok(None);
        };
        let vectors = preference_sweep::parse(text)
            .map_err(|message| ExperimentError::setting("sweep_weights", message))?;
        Ok(Some(vectors))
    }

    /// `--sweep-kl-coef`: each β finite, ≥ 0 and listed once (checked before any run).
    pub(crate) fn check_sweep(&self) -> Result<(), ExperimentError> {
        for (i, &beta) in self.sweep_kl_coef.iter().enumerate() {
            let message = if !(beta.is_finite() && beta >= 0.0) {
                format!("has {beta}; list KL coefficients that are finite and ≥ 0")
            } else if self.sweep_kl_coef[..i].contains(&beta) {
                format!("lists {beta} twice; list each KL coefficient once")
            } else {
                continue;
            };
            return Err(ExperimentError::setting("sweep_kl_coef", message));
        }
        Ok(())
    }

    /// The β sweep: `comparison` once per β of `--sweep-kl-coef` into `out`/kl-<β> (each with
    /// its own checkpoints), then the reward–KL fronts in `out`; the last β's outcome.
    fn sweep_kl<P: Policy>(
        &self,
        mut comparison: Comparison<'_, P>,
        root: bool,
        out: &Path,
    ) -> Result<Outcome, ExperimentError> {
        let mut done = Vec::new();
        let mut outcome = None;
        for &beta in &self.sweep_kl_coef {
            comparison.set_kl_coef(beta)?;
            let dir = out.join(kl_sweep::dir_name(beta));
            comparison = comparison.with_checkpoint_dir(
                (self.checkpoint_dir.as_ref()).map(|c| c.join(kl_sweep::dir_name(beta))),
            );
            outcome = Some(comparison.run(&dir)?);
            done.push((beta, dir));
            if root {
                kl_sweep::write(out, &done)?;
            }
        }
        outcome.ok_or_else(|| ExperimentError::setting("sweep_kl_coef", "is empty".into()))
    }

    /// The preference sweep: `comparison` once per weight vector into `out/w-<weights>` (each
    /// with its own checkpoints), then the fronts in `out`; the last vector's outcome.
    fn sweep_preferences<P: Policy>(
        &self,
        mut comparison: Comparison<'_, P>,
        vectors: &[Vec<f64>],
        root: bool,
        out: &Path,
    ) -> Result<Outcome, ExperimentError> {
        let mut done = Vec::new();
        let mut outcome = None;
        for weights in vectors {
            comparison.set_preferences(weights)?;
            let name = preference_sweep::dir_name(weights);
            let dir = out.join(&name);
            comparison = comparison
                .with_checkpoint_dir((self.checkpoint_dir.as_ref()).map(|c| c.join(&name)));
            outcome = Some(comparison.run(&dir)?);
            done.push((weights.clone(), dir));
            if root {
                preference_sweep::write(out, &done)?;
            }
        }
        outcome.ok_or_else(|| ExperimentError::setting("sweep_weights", "is empty".into()))
    }
}
