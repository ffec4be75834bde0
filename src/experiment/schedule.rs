//! The runs of a comparison, one after the other ([`Schedule`]): the pretrained policy
//! evaluated, the learning rates chosen, then every strategy × seed skipped when an earlier
//! invocation finished it, else trained (stopping at the curve's points to evaluate there),
//! evaluated, kept, and the report rewritten.

use super::comparison_report::ComparisonReport;
use super::config::{ComparisonConfig, SavePolicies};
use super::curve::{self, CurvePoint};
use super::error::{ExperimentError, io};

use super::lr_selection::Trial;
use super::observer::{Evaluation, Observer, RunId};
use super::plan::labels;
use super::policies::{self, SavedPolicy};
use super::report::StrategyResult;
use super::results_dir::{ResultsDir, SavedRun, slug};
use super::runner::{RunSpec, Runner};
use super::task::{Judged, Task};
use super::tuning::{self, Tuning};
use crate::policy::Policy;
use crate::strategy::{RunOutput, StepRecord, Strategy, StrategyError};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// What one invocation of a comparison works with: the task, the settings and the plan, the
/// runner, the results directory, the checkpoint folder, the observer, and the learning-rate
/// trials once chosen.
pub(super) struct Schedule<'c, 'a, P: Policy> {
    pub task: &'c mut Task<'a, P>,
    pub config: &'c ComparisonConfig,
    pub plan: &'c [Strategy],
    pub runner: &'c Runner<'a>,
    pub results: &'c ResultsDir,
    pub checkpoints: &'c Path,
    pub observer: &'c dyn Observer,
    pub trials: Vec<Trial>,
    /// What `results.json` records under `"provenance"`.
    pub provenance: Value,
}

/// The runs evaluated so far and the points along them: what the report is made of.
#[derive(Default)]
struct Evaluated {
    saved: Vec<SavedRun>,
    curves: Vec<CurvePoint>,
}

impl<P: Policy> Schedule<'_, '_, P> {
    /// Every run of the plan (rank 0's evaluations; placeholders on the other ranks).
    pub fn run_all(&mut self) -> Result<Vec<SavedRun>, ExperimentError> {
        let root = self.runner.ranks.is_root();
        let n = self.task.oracles.names().len();
        let planned: Vec<usize> = self.plan.iter().map(|s| s.iterations(n).max(1)).collect();
        (self.observer).started(planned.iter().sum::<usize>() * self.config.seeds);
        let pretrained = match root {
            true => self.pretrained()?,
            false => SavedRun::placeholder(),
        };
        let (result, metrics) = (&pretrained.result, &pretrained.metrics);
        let point = CurvePoint::of("Pretrained", None, &result.spent, &result.scores, metrics);
        let mut evaluated = Evaluated {
            saved: vec![pretrained],
            curves: vec![point],
        };
        self.write(&evaluated)?;
        let labels = labels(self.plan);
        if !self.config.lr_candidates.is_empty() {
            let tuning = Tuning {
                plan: self.plan,
                labels: &labels,
                candidates: &self.config.lr_candidates,
                checkpoints: self.checkpoints,
                samples: self.config.eval.samples,
            };
            let (runner, results) = (self.runner, self.results);
            self.trials = tuning::select(self.task, runner, results, tuning, self.observer)?;
            if !self.trials.is_empty() {
                self.write(&evaluated)?;
            }
        }
        for seed in 0..self.config.seeds as u64 {
            for (k, strategy) in self.plan.iter().enumerate() {
                let label = &labels[k];
                self.run(RunId { label, seed }, strategy, planned[k], &mut evaluated)?;
            }
        }
        Ok(evaluated.saved)
    }

    /// Rewrite the report from what was evaluated so far (rank 0).
    fn write(&self, evaluated: &Evaluated) -> Result<(), ExperimentError> {
        if !self.runner.ranks.is_root() {
            return Ok(());
        }
        let recorded = json!({
            "comparison": self.config,
            "plan": self.plan,
            "ppo": self.runner.ppo,
            "task": self.task.info,
            "weights": (self.task.rewards.names().iter())
                .zip(self.task.rewards.weights())
                .map(|(name, w)| (name.to_string(), json!(w)))
                .collect::<serde_json::Map<_, _>>(),
        });
        let report = ComparisonReport {
            objectives: &self.task.objectives(),
            config: self.config,
            recorded,
            paper: &self.task.paper,
            headline: self.task.headline.as_ref(),
            provenance: self.provenance.clone(),
            markdown: self.task.markdown.as_ref(),
            trials: &self.trials,
            trainable: self.runner.trainable,
        };
        report.write(&self.results.out, &evaluated.saved, &evaluated.curves)
    }

    /// Judge `output`'s policy on the evaluation plan with seed `seed`.
    fn judge(
        &mut self,
        policy: &P,
        condition: &[u32],
        seed: u64,
    ) -> Result<Judged, ExperimentError> {
        let (samples, seed) = (
            self.config.eval.samples,
            self.config.eval.seed.wrapping_add(seed),
        );
        self.task.judge((policy, condition), samples, seed)
    }

    /// The pretrained policy's evaluation: kept from an earlier invocation, or made now.
    fn pretrained(&mut self) -> Result<SavedRun, ExperimentError> {
        let path = self.results.run_file("pretrained.json");
        if let Some(run) = self.results.saved_run(&path, &Value::Null, None)? {
            return Ok(run);
        }
        let t0 = Instant::now();
        let reference = self.task.reference.clone();
        let judged = self.judge(&reference, &[], 0)?;
        let label = "Pretrained";
        (self.observer).evaluated(&Evaluation::of(label, None, &judged.summary));
        let result = StrategyResult {
            name: label.into(),
            scores: judged.scores,
            log: Vec::new(),
            spent: Default::default(),
        };
        let seconds = t0.elapsed().as_secs_f64();
        let run = SavedRun::new(result, None, Value::Null, judged.metrics, seconds);
        self.results.keep(&path, &run)?;
        Ok(run)
    }

    /// The learning rate of the strategy labelled `label`: the chosen candidate when learning
    /// rates were selected, else the configured rate.
    fn lr_for(&self, label: &str, strategy: &Strategy) -> f64 {
        let chosen = self.trials.iter().find(|t| t.chosen && t.strategy == label);
        chosen.map_or_else(|| self.config.lr_of(strategy), |t| t.lr)
    }

    /// One run of the plan (`planned` learner steps): kept from an earlier invocation, or
    /// trained to its end (evaluated at every curve point on the way), evaluated and kept.
    fn run(
        &mut self,
        run: RunId<'_>,
        strategy: &Strategy,
        planned: usize,
        evaluated: &mut Evaluated,
    ) -> Result<(), ExperimentError> {
        let (root, seed, label) = (self.runner.ranks.is_root(), run.seed, run.label);
        let key = format!("{}-seed{seed}", slug(label));
        let path = self.results.run_file(&format!("{key}.json"));
        let plan = serde_json::to_value(strategy).unwrap_or(Value::Null);
        let mut along = match root {
            true => self.results.curve_points(&key)?,
            false => Vec::new(),
        };
        let done = match root {
            true => self.results.saved_run(&path, &plan, Some(seed))?,
            false => None,
        };
        if self.runner.ranks.agree(Some(done.is_some()))? == Some(true) {
            self.observer.run_skipped(run, planned);
            if let Some(done) = done {
                evaluated.curves.extend(along);
                evaluated.saved.push(done);
                self.write(evaluated)?;
            }
            return Ok(());
        }
        let t0 = Instant::now();
        self.observer.run_started(run, planned);
        let dir = self.checkpoints.join(&key);
        let output = self.train(run, strategy, &dir, &mut along)?;
        self.observer.run_finished(run);
        if !root {
            return Ok(());
        }
        let policy = output.policy.valid();
        let condition = output.condition().to_vec();
        let judged = self.judge(&policy, &condition, seed)?;
        let seconds = t0.elapsed().as_secs_f64();
        let evaluation = Evaluation::of(label, Some(seed), &judged.summary).took(seconds);
        self.observer.evaluated(&evaluation);
        let result = StrategyResult {
            name: label.into(),
            scores: judged.scores,
            log: output.log,
            spent: output.spent,
        };
        let saved = SavedRun::new(result, Some(seed), plan, judged.metrics, seconds);
        if self.config.save_policies == SavePolicies::Final {
            let (strategy, seed, path) = (label.into(), run.seed, key.clone().into());
            let kept = SavedPolicy {
                strategy,
                seed,
                path,
                condition,
            };
            policies::keep(&self.results.out, &policy, self.task.tokenizer, kept)?;
        }
        self.results.keep(&path, &saved)?;
        if self.config.curve {
            let (r, m) = (&saved.result, &saved.metrics);
            along.push(CurvePoint::of(label, saved.seed, &r.spent, &r.scores, m));
            self.results.keep_curve_points(&key, &along)?;
            evaluated.curves.extend(along);
        }
        evaluated.saved.push(saved);
        self.write(evaluated)?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        Ok(())
    }

    /// Train `run` of `strategy` to its end in the checkpoint folder `dir`. With curves, the
    /// run stops at each point still to evaluate (its checkpoint), is evaluated (the point
    /// joins `along` and is kept) and continues from the checkpoint: the same run, bit for bit.
    fn train(
        &mut self,
        run: RunId<'_>,
        strategy: &Strategy,
        dir: &Path,
        along: &mut Vec<CurvePoint>,
    ) -> Result<RunOutput<P>, ExperimentError> {
        let (root, seed, label) = (self.runner.ranks.is_root(), run.seed, run.label);
        let n = self.task.oracles.names().len();
        let failed =
            |source: StrategyError| ExperimentError::run(strategy.name(), seed, dir, source);
        // Every RL strategy's points are one step of all n IterativeRS experts apart: one grid
        // of samples for all (MORLHF drifts fast; coarser points would leave its curve at low
        // KL to interpolation).
        let spacing = self.config.curve.then_some(n.max(1));
        let stops: Vec<usize> = match spacing {
            Some(spacing) => curve::points(strategy, n, spacing)
                .into_iter()
                .filter(|&i| along.iter().all(|p| p.iterations < i))
                .collect(),
            None => Vec::new(),
        };
        let stops = self.runner.ranks.agree(Some(stops))?.unwrap_or_default();
        let observer = self.observer;
        let on_step = |record: &StepRecord| observer.step(run, record);
        let mut spec = RunSpec {
            strategy,
            seed,
            dir,
            resume: self.results.resume,
            stop: None,
            checkpoint_every: spacing,
            lr: self.lr_for(label, strategy),
        };
        for stop in stops {
            spec.stop = Some(stop);
            let output = (self.runner)
                .train(self.task, &spec, &on_step)
                .map_err(failed)?;
            spec.resume = true;
            if output.completed {
                break;
            }
            if !root {
                continue;
            }
            let policy = output.policy.valid();
            let judged = self.judge(&policy, output.condition(), seed)?;
            let evaluation = Evaluation::of(label, Some(seed), &judged.summary);
            (self.observer).evaluated(&evaluation.along(output.spent.iterations));
            let (spent, scores, metrics) = (&output.spent, &judged.scores, &judged.metrics);
            along.push(CurvePoint::of(label, Some(seed), spent, scores, metrics));
            let key = format!("{}-seed{seed}", slug(label));
            self.results.keep_curve_points(&key, along)?;
        }
        spec.stop = None;
        (self.runner)
            .train(self.task, &spec, &on_step)
            .map_err(failed)
    }
}
