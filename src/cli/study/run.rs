//! Running, resuming or validating a study: the task built from its section, the objectives
//! from `[[rewards]]`, the settings from `[run]`, then the comparison of the library.

use super::Study;
use super::domain::Domain;
use super::file::TaskSection;
use super::locate::FieldPath;
use super::prompts::PromptsTask;
use super::rewards::objectives;
use crate::cli::{RunArgs, flag, sentence};
use crate::experiment::{Comparison, ExperimentError};
use crate::strategy::Strategy;
use crate::tasks::dna::Dna;
use crate::tasks::molecules::Molecules;
use crate::tasks::text::Text;
use burn::tensor::Device;
use std::error::Error;

/// What to do with a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Train and evaluate every planned run, replacing earlier results.
    Run,
    /// Continue an earlier `run` into the same results directory.
    Resume,
    /// Check every field, load the task and plan the runs; train nothing.
    Validate,
}

impl Study {
    /// Run, resume or validate this study on `device` (`quick`: the `[quick]` settings, or
    /// the task's quick preset). Validation prints what would run.
    pub fn execute(&self, mode: Mode, quick: bool, device: &Device) -> Result<(), Box<dyn Error>> {
        let run = super::flags::run_args(
            &self.source,
            &self.file.run,
            &self.file.quick,
            quick,
            mode == Mode::Resume,
        )?;
        match &self.task {
            TaskSection::Molecules(o) => {
                self.with(&Molecules::load(o, quick, device)?, run, mode, device)
            }
            TaskSection::Dna(o) => self.with(&Dna::load(o, quick, device)?, run, mode, device),
            TaskSection::Text(o) => self.with(&Text::load(o, quick, device)?, run, mode, device),
            TaskSection::Prompts(o) => {
                let task = PromptsTask::load(&self.source, o, device)?;
                self.with(&task, run, mode, device)
            }
        }
    }

    fn with(
        &self,
        domain: &impl Domain,
        mut run: RunArgs,
        mode: Mode,
        device: &Device,
    ) -> Result<(), Box<dyn Error>> {
        let objectives = objectives(&self.source, &self.file.rewards, |name, w| {
            domain.objective(name, w)
        })?;
        let n = objectives.len();
        let config = run
            .config(domain.presets(n), domain.ric())
            .map_err(|e| self.setting(e))?;
        let config = domain.configure(config, n);
        let (train, eval, info) = domain.reward_sets(objectives)?;
        let reference = run.reference(domain.reference(device)?);
        let task = domain.task(reference, train, eval, info);
        let out = self.out();
        if mode == Mode::Validate {
            let budget = config.budget;
            run.check_sweep().map_err(|e| self.setting(e))?;
            let comparison = Comparison::new(task, config)
                .and_then(|c| c.edit_plan(|s| domain.edit(s)))
                .map_err(|e| self.setting(e))?;
            for weights in run
                .preferences()
                .map_err(|e| self.setting(e))?
                .iter()
                .flatten()
            {
                (comparison.check_preferences(weights)).map_err(|e| self.setting(e))?;
            }
            let names: Vec<&str> = comparison.plan().iter().map(Strategy::name).collect();
            println!(
                "{}: valid. {} × {} seed(s), {n} objective(s); {} PPO iterations × {} samples of \
                 {} tokens; results to {}",
                self.path().display(),
                names.join(", "),
                run.seeds,
                budget.iterations,
                budget.samples,
                budget.max_new_tokens,
                out.display()
            );
            return Ok(());
        }
        run.metrics.get_or_insert_with(|| out.join(METRICS_FILE));
        run.compare_with(task, config, &out, |s| domain.edit(s))
            .map_err(|e| self.setting(e))?;
        Ok(())
    }

    /// A setting's error at its line in `[run]` (by the key the study writes for it); a failed
    /// run's hint names `multireward resume`.
    fn setting(&self, e: ExperimentError) -> Box<dyn Error> {
        match &e {
            ExperimentError::Setting { field, message } => {
                let key = flag(field).trim_start_matches("--").replace('-', "_");
                let key = key.split('/').next().unwrap_or(&key).to_string();
                let path = FieldPath::key("run").then(&key);
                Box::new(self.source.field(&path, message.clone()))
            }
            // The command line's hint names its flag; a study resumes with its command.
            ExperimentError::Run { .. } => sentence(&e)
                .replace(
                    "rerun with --resume",
                    &format!("run `multireward resume {}`", self.path().display()),
                )
                .into(),
            _ => Box::new(e),
        }
    }
}

/// The metrics file a study writes in its results directory (one JSON object per line).
pub const METRICS_FILE: &str = "metrics.jsonl";
