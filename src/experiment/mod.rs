//! Comparisons of strategies as a library feature: a [`Task`] (reference policy, tokenizer,
//! training rewards, evaluation oracles, prompts) and a [`ComparisonConfig`] (equal
//! [`Budget`]s, [`EvalPlan`], strategies, seeds, optimiser) make a [`Comparison`], which trains
//! every strategy × seed with checkpoints, evaluates each final policy and writes the report
//! as results arrive, telling its [`Observer`]s as it goes (it prints nothing itself). A
//! killed comparison continues with [`Comparison::with_resume`] and ends with the same
//! `results.json`, byte for byte.
//!
//! Rooms, each one idea, taking plain values: `budget` and `config` (the settings), `validate` (their
//! checks, errors naming fields), `plan` (one strategy per run under equal budgets), `task`,
//! `evaluate`, `runner` (one training run from a `RunSpec`), `results_dir` (saved runs,
//! resume, atomic files), `manifest` (what a results directory holds, checked on resume), `lock` (one writer per results directory), `policies` (the kept policies), `observer`, `report`, `rerender` (`summary.png` and `report.html` from a results directory's files), `headline` (the main table's KL, realism and hypervolume columns), `provenance`, `tables`,
//! `curve`, `ablation`, `lr_selection` (the trials) and `tuning` (their runs), `comparison_report` (the whole report), `ranks` (rank
//! 0 decides), `schedule` (the runs one after the other) and `comparison` (the API).
//!
//! Floors: this module uses [`crate::strategy`] (the runs), [`crate::eval`] (metrics, tables,
//! plots) and [`crate::policy`]; the domain examples, users' own tasks and the command line
//! (`multireward::cli`) sit above it.

mod ablation;
mod budget;
mod comparison;
mod comparison_file;
mod comparison_report;
mod config;
mod curve;
mod error;
mod evaluate;
mod headline;
pub mod kl_sweep;
mod lock;
mod lr_selection;
mod manifest;
mod observer;
mod paired;
mod plan;
mod policies;
pub mod preference_sweep;
mod provenance;
mod ranks;
mod report;
mod rerender;
mod results_dir;
mod runner;
mod schedule;
mod sizes;
mod sweep_report;
mod tables;
mod task;
mod tuning;
mod validate;

pub use budget::{Accounting, Budget, EvalPlan, Preset};
pub use comparison::{Comparison, Outcome};
pub use config::{
    AdamAtMerge, AdapterMerge, ComparisonConfig, EstimatorKind, RicSettings, SavePolicies,
    StrategyKind,
};
pub use curve::CurvePoint;
pub use error::{EvaluateError, ExperimentError};
pub use evaluate::{Scored, means, sample_and_score};
pub use headline::{HV_HEADER, Headline, KL_HEADER, WALL_TIME_ROW, hv_reference};
pub use lock::LOCK_FILE;
pub use lr_selection::Trial as LrTrial;
pub use manifest::MANIFEST_FILE;
pub use observer::{Console, Evaluation, JsonLines, Observer, RunId};
pub use plan::labels;
pub use policies::SavedPolicy;
pub use provenance::PROVENANCE_FILE;
pub use report::{
    PLOT_FILE, ReportExtras, ReportFiles, STEPS_FILE, StrategyResult, step_rows, write_report,
    write_report_with,
};
pub use rerender::{HTML_FILE, RenderedFiles, SUMMARY_FILE, rerender};
pub use results_dir::{CHECKPOINTS_DIR, POLICIES_DIR, RUNS_DIR, TIMINGS_FILE};
pub use sweep_report::rerender_sweep;
pub use tables::{Cell, decimals, metrics_table, percent};
pub use task::{Describe, ExtraMarkdown, Task};
