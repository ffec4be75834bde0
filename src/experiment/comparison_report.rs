//! A comparison's whole report, rewritten after every run:
//! [`write_report_with`](super::report::write_report_with)'s table (with
//! the KL, realism and hypervolume columns of [`headline`](super::headline)), JSON, step CSV
//! and scatter plot, then the task's own Markdown, the wall-time table, the budget accounting,
//! the learning-rate trials, the curves along the runs and the m ablation, and `timings.json`
//! (wall-clock seconds, kept out of `results.json` so that a resumed comparison's report equals
//! an uninterrupted one's byte for byte); last, [`rerender`] draws `summary.png` and writes
//! `report.html` from those files.

use super::ablation;
use super::config::ComparisonConfig;
use super::curve::{self, CurvePoint};
use super::error::{ExperimentError, io};
use super::headline::{self, Headline};
use super::lr_selection::{self, Trial};
use super::report::{ReportExtras, StrategyResult, write_tables};
use super::rerender::rerender;
use super::results_dir::{SavedRun, TIMINGS_FILE};
use super::task::ExtraMarkdown;
use crate::eval::json_bytes;
use crate::eval::metrics::avg_reward;
use crate::eval::report::{MARKDOWN_FILE, PaperRow};
use crate::eval::write_atomic;
use crate::strategy::Strategy;
use serde_json::{Value, json};
use std::path::Path;

/// What a comparison's report is made of besides its runs.
pub(super) struct ComparisonReport<'r> {
    /// The objectives' names (the oracles').
    pub objectives: &'r [String],
    /// The settings.
    pub config: &'r ComparisonConfig,
    /// What `results.json` records as the config.
    pub recorded: Value,
    /// Published numbers shown beside ours.
    pub paper: &'r [PaperRow],
    /// The task's realism measure, shown in the main table.
    pub headline: Option<&'r Headline>,
    /// What `results.json` records under `"provenance"`.
    pub provenance: Value,
    /// The task's own Markdown.
    pub markdown: Option<&'r ExtraMarkdown<'r>>,
    /// The learning-rate trials, if any.
    pub trials: &'r [Trial],
    /// With LoRA adapters, `(trainable, all)` parameters of an expert.
    pub trainable: Option<(usize, usize)>,
}

impl ComparisonReport<'_> {
    /// Rewrite the report in `out` and the timings from the runs so far (and the curves, when
    /// evaluated along the runs).
    pub fn write(
        &self,
        out: &Path,
        saved: &[SavedRun],
        curves: &[CurvePoint],
    ) -> Result<(), ExperimentError> {
        let results: Vec<StrategyResult> = saved.iter().map(|r| r.result.clone()).collect();
        let metrics: Vec<Value> = saved
            .iter()
            .map(|r| json!({"strategy": r.result.name, "seed": r.seed, "metrics": r.metrics}))
            .collect();
        let (objectives, config) = (self.objectives, self.config);
        let (columns, hypervolume) = headline::columns(saved, objectives.len(), self.headline)?;
        let metadata = json!({
            "evaluation": "oracle scores of the samples every oracle could score; KL = mean \
                           summed k1 KL to the pretrained policy at the sampling temperature",
            "metrics": metrics,
            "lr_selection": self.trials,
            "hypervolume": hypervolume,
        });
        let recorded = self.recorded.clone();
        let extras = ReportExtras {
            paper: self.paper,
            columns,
            provenance: self.provenance.clone(),
            ..Default::default()
        };
        write_tables(out, objectives, &results, recorded, metadata, extras)?;
        if let Some(markdown) = self.markdown {
            let path = out.join(MARKDOWN_FILE);
            let table = std::fs::read_to_string(&path).map_err(io(&path))?;
            write_atomic(&path, format!("{table}\n{}", markdown(&metrics)).as_bytes())?;
        }
        let n = objectives.len();
        let accounting = config.accounting.describe(config.steps_per_expert(n), n);
        let mut section = headline::wall_time_table(saved);
        section.push_str(&format!("\nBudget accounting: {accounting}.\n"));
        if let (Some((trainable, all)), Some(lora)) = (self.trainable, &config.lora) {
            section.push_str(&format!(
                "\nTrainable parameters per expert: {trainable} of {all} ({:.2} %): LoRA rank {}, \
                 α {}{} on {}; merges {}.\n",
                100.0 * trainable as f64 / all.max(1) as f64,
                lora.rank,
                lora.alpha,
                if lora.use_rslora { " (rsLoRA)" } else { "" },
                lora.targets.join(", "),
                match config.adapter_merge {
                    super::config::AdapterMerge::Updates => "fold the experts' updates (exact)",
                    super::config::AdapterMerge::Factors => "average the factors A and B",
                }
            ));
        }
        if !self.trials.is_empty() {
            let samples = config.eval.samples;
            section.push_str(&lr_selection::section(self.trials, samples));
        }
        if config.curve {
            section.push_str(&curve::write(out, objectives, curves)?);
        }
        if !config.sweep_m.is_empty() {
            section.push_str(&ablation_section(out, saved)?);
        }
        let path = out.join(MARKDOWN_FILE);
        let table = std::fs::read_to_string(&path).map_err(io(&path))?;
        write_atomic(&path, format!("{table}{section}").as_bytes())?;
        let timings: Vec<Value> = saved
            .iter()
            .map(|r| json!({"strategy": r.result.name, "seed": r.seed, "seconds": r.seconds}))
            .collect();
        write_atomic(&out.join(TIMINGS_FILE), &json_bytes(&timings))?;
        rerender(out)?;
        Ok(())
    }
}

/// The m ablation's plot and section from the finished runs.
fn ablation_section(out: &Path, saved: &[SavedRun]) -> Result<String, ExperimentError> {
    let plans: Vec<Option<Strategy>> = saved
        .iter()
        .map(|r| serde_json::from_value(r.plan.clone()).ok())
        .collect();
    let runs: Vec<ablation::Run<'_>> = saved
        .iter()
        .zip(&plans)
        .filter_map(|(r, plan)| {
            let avg = avg_reward(&r.result.scores).unwrap_or(f64::NAN);
            plan.as_ref().map(|plan| ablation::Run { plan, avg })
        })
        .collect();
    ablation::write(out, &runs)
}
