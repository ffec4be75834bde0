//! How a comparison tells what it does: the [`Observer`] trait (every event has a default that
//! ignores it) and three observers — [`Console`] (progress bars on a terminal, a log line
//! every N steps otherwise), [`JsonLines`] (a metrics file, one JSON object per event) and the
//! fan-out of several. The library never prints by itself: without an observer a comparison
//! is silent.

use super::lr_selection::Trial;
use crate::strategy::StepRecord;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// One run of a comparison: its label in the report and its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId<'a> {
    /// The strategy's label.
    pub label: &'a str,
    /// The seed.
    pub seed: u64,
}

/// An evaluation a comparison made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'a> {
    /// The strategy's label ("Pretrained" for the reference policy).
    pub label: &'a str,
    /// The run's seed (`None` for the pretrained policy).
    pub seed: Option<u64>,
    /// Learner steps spent, for an evaluation along a run (`None`: a final policy).
    pub iterations: Option<usize>,
    /// Oracle means, the task's summary and the KL, in words.
    pub summary: &'a str,
    /// Wall-clock seconds of a finished run and its evaluation.
    pub seconds: Option<f64>,
}

impl<'a> Evaluation<'a> {
    /// The evaluation of `label`'s final policy (seed `seed`; `None`: the pretrained policy).
    pub fn of(label: &'a str, seed: Option<u64>, summary: &'a str) -> Self {
        Self {
            label,
            seed,
            iterations: None,
            summary,
            seconds: None,
        }
    }

    /// The same evaluation made along the run, after `iterations` learner steps.
    pub fn along(self, iterations: usize) -> Self {
        let iterations = Some(iterations);
        Self { iterations, ..self }
    }

    /// The same evaluation of a run that took `seconds` with its evaluation.
    pub fn took(self, seconds: f64) -> Self {
        let seconds = Some(seconds);
        Self { seconds, ..self }
    }
}

/// What a comparison reports as it goes. Called from the training threads too: observers are
/// `Sync`.
#[allow(unused_variables)]
pub trait Observer: Sync {
    /// The comparison starts; its runs plan `iterations` learner steps in all.
    fn started(&self, iterations: usize) {}
    /// A run starts (or continues from its checkpoint) with `iterations` learner steps planned.
    fn run_started(&self, run: RunId<'_>, iterations: usize) {}
    /// A run finished in an earlier invocation is kept as it is.
    fn run_skipped(&self, run: RunId<'_>, iterations: usize) {}
    /// A learner step of a run (in a distributed run, also the other ranks' steps).
    fn step(&self, run: RunId<'_>, record: &StepRecord) {}
    /// A run's training ended.
    fn run_finished(&self, run: RunId<'_>) {}
    /// A policy was evaluated.
    fn evaluated(&self, evaluation: &Evaluation<'_>) {}
    /// A learning-rate tuning run was scored.
    fn lr_trial(&self, trial: &Trial) {}
    /// The comparison finished, its report (`table`: `results.md`) in `out`.
    fn finished(&self, out: &Path, table: &str, seconds: f64) {}
}

/// Every observer of the list, in order.
impl Observer for Vec<Box<dyn Observer + '_>> {
    fn started(&self, iterations: usize) {
        self.iter().for_each(|o| o.started(iterations));
    }
    fn run_started(&self, run: RunId<'_>, iterations: usize) {
        self.iter().for_each(|o| o.run_started(run, iterations));
    }
    fn run_skipped(&self, run: RunId<'_>, iterations: usize) {
        self.iter().for_each(|o| o.run_skipped(run, iterations));
    }
    fn step(&self, run: RunId<'_>, record: &StepRecord) {
        self.iter().for_each(|o| o.step(run, record));
    }
    fn run_finished(&self, run: RunId<'_>) {
        self.iter().for_each(|o| o.run_finished(run));
    }
    fn evaluated(&self, evaluation: &Evaluation<'_>) {
        self.iter().for_each(|o| o.evaluated(evaluation));
    }
    fn lr_trial(&self, trial: &Trial) {
        self.iter().for_each(|o| o.lr_trial(trial));
    }
    fn finished(&self, out: &Path, table: &str, seconds: f64) {
        self.iter().for_each(|o| o.finished(out, table, seconds));
    }
}

/// The reward means and KL of a step, in words (`alpha 0.12 gap -0.30 kl 0.05`).
fn step_words(record: &StepRecord) -> String {
    let means: Vec<String> = (record.report.rewards.iter())
        .map(|r| format!("{} {:.2}", r.name, r.raw_mean.unwrap_or(f64::NAN)))
        .collect();
    let kl = format!("kl {:.2}", record.report.kl);
    means.into_iter().chain([kl]).collect::<Vec<_>>().join(" ")
}

/// The console: progress bars (all runs, and the current run with its latest rewards and ETA)
/// on stderr when it is a terminal, lines above them; otherwise every line on stdout and a
/// progress line every `every` learner steps of a run.
pub struct Console {
    bars: MultiProgress,
    overall: ProgressBar,
    /// The current run's bar, its planned steps and the steps seen.
    run: Mutex<(ProgressBar, u64, u64)>,
    every: u64,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Console {
    /// Bars on a terminal; elsewhere a progress line every `every` learner steps (≥ 1).
    pub fn new(every: usize) -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = bars.add(ProgressBar::new(0));
        overall.set_style(style(
            "{prefix:>16} [{elapsed_precise}] {bar:30} {pos}/{len} iterations, eta {eta}",
        ));
        overall.set_prefix("all runs");
        let run = Mutex::new((ProgressBar::hidden(), 0, 0));
        let every = every.max(1) as u64;
        Self {
            bars,
            overall,
            run,
            every,
        }
    }

    /// A line above the bars on a terminal, on stdout otherwise.
    fn say(&self, line: String) {
        match self.bars.is_hidden() {
            true => println!("{line}"),
            false => drop(self.bars.println(line)),
        }
    }
}

impl Observer for Console {
    fn started(&self, iterations: usize) {
        self.overall.set_length(iterations as u64);
    }
    fn run_started(&self, run: RunId<'_>, iterations: usize) {
        let bar = self.bars.add(ProgressBar::new(iterations as u64));
        bar.set_style(style(
            "{prefix:>16} [{elapsed_precise}] {bar:30} {pos}/{len} iterations {msg} (eta {eta})",
        ));
        bar.set_prefix(format!("{} s{}", run.label, run.seed));
        if let Ok(mut current) = self.run.lock() {
            *current = (bar, iterations as u64, 0);
        }
    }
    fn run_skipped(&self, _: RunId<'_>, iterations: usize) {
        self.overall.inc(iterations as u64);
    }
    fn step(&self, run: RunId<'_>, record: &StepRecord) {
        self.overall.inc(1);
        let Ok(mut current) = self.run.lock() else {
            return;
        };
        let (bar, planned, seen) = &mut *current;
        *seen += 1;
        bar.set_message(step_words(record));
        bar.inc(1);
        if self.bars.is_hidden() && (seen.is_multiple_of(self.every) || seen == planned) {
            let (label, seed, words) = (run.label, run.seed, step_words(record));
            println!("{label} s{seed}: {seen}/{planned} iterations, {words}");
        }
    }
    fn run_finished(&self, _: RunId<'_>) {
        if let Ok(current) = self.run.lock() {
            current.0.finish_and_clear();
        }
    }
    fn evaluated(&self, e: &Evaluation<'_>) {
        let summary = e.summary;
        self.say(match (e.seed, e.iterations, e.seconds) {
            (None, ..) => format!("{}: {summary}", e.label),
            (Some(seed), Some(i), _) => {
                format!("{} seed {seed} at {i} iterations: {summary}", e.label)
            }
            (Some(seed), None, Some(s)) => format!("{} seed {seed}: {summary}, {s:.0} s", e.label),
            (Some(seed), None, None) => format!("{} seed {seed}: {summary}", e.label),
        });
    }
    fn lr_trial(&self, t: &Trial) {
        let (reward, kl) = (t.training_reward, t.kl);
        let line = format!(
            "{} at lr {:e}: training reward {reward:.4}, KL {kl:.2}",
            t.strategy, t.lr
        );
        self.say(line);
    }
    fn finished(&self, out: &Path, table: &str, seconds: f64) {
        self.overall.finish_and_clear();
        self.say(format!(
            "\n{table}\nwrote {} ({seconds:.0} s)",
            out.display()
        ));
    }
}

/// A metrics file: one JSON object per line and event (`{"event": "step", "strategy", "seed",
/// "step", "expert", "round", "kl", "optimised", "rewards": {name: raw mean}}`, `"evaluated"`,
/// `"run_started"`, `"run_finished"`, `"lr_trial"`, `"finished"`). A failed write ends the file
/// (the comparison goes on).
pub struct JsonLines {
    file: Mutex<Option<std::fs::File>>,
}

impl JsonLines {
    /// Write the events to `path` (created, or truncated).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = Mutex::new(Some(std::fs::File::create(path)?));
        Ok(Self { file })
    }

    /// Add the events to the end of `path` (created if missing): a resumed comparison's
    /// events follow the interrupted one's.
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Mutex::new(Some(file)),
        })
    }

    fn write(&self, event: &str, mut fields: Value) {
        fields["event"] = json!(event);
        let Ok(mut file) = self.file.lock() else {
            return;
        };
        if let Some(f) = file.as_mut()
            && writeln!(f, "{fields}").is_err()
        {
            *file = None;
        }
    }
}

impl Observer for JsonLines {
    fn run_started(&self, run: RunId<'_>, iterations: usize) {
        let fields = json!({"strategy": run.label, "seed": run.seed, "iterations": iterations});
        self.write("run_started", fields);
    }
    fn step(&self, run: RunId<'_>, r: &StepRecord) {
        let rewards: serde_json::Map<String, Value> = (r.report.rewards.iter())
            .map(|s| (s.name.clone(), json!(s.raw_mean)))
            .collect();
        self.write(
            "step",
            json!({"strategy": run.label, "seed": run.seed, "step": r.step, "expert": r.expert,
                   "round": r.round, "kl": r.report.kl, "optimised": r.report.optimised,
                   "rewards": rewards}),
        );
    }
    fn run_finished(&self, run: RunId<'_>) {
        self.write(
            "run_finished",
            json!({"strategy": run.label, "seed": run.seed}),
        );
    }
    fn evaluated(&self, e: &Evaluation<'_>) {
        let fields = json!({"strategy": e.label, "seed": e.seed, "iterations": e.iterations,
                            "summary": e.summary, "seconds": e.seconds});
        self.write("evaluated", fields);
    }
    fn lr_trial(&self, t: &Trial) {
        self.write("lr_trial", json!(t));
    }
    fn finished(&self, out: &Path, _: &str, seconds: f64) {
        self.write("finished", json!({"out": out, "seconds": seconds}));
    }
}
