//! What a task supplies to a comparison ([`Task`]): the reference policy and its tokenizer,
//! the training rewards, the evaluation oracles, the prompts, the sampling settings and the
//! domain's own metrics and report sections; and the checks that it fits the settings.

use super::config::{ComparisonConfig, EstimatorKind, StrategyKind};
use super::error::ExperimentError;
use super::evaluate::{Scored, means, sample_and_score};
use super::headline::Headline;
use super::manifest::{Inputs, ids_digest, tokenizer_digest};
use crate::eval::report::PaperRow;
use crate::eval::table::Format;
use crate::policy::{Policy, Prompts, SamplingConfig};
use crate::reward::RewardSet;
use crate::tokenizer::Tokenizer;
use serde_json::{Value, json};

/// Domain metrics of an evaluation: a JSON object merged into the run's metrics, and a short
/// console summary.
pub type Describe<'a> = Box<dyn FnMut(&Scored) -> (Value, String) + 'a>;

/// Extra Markdown appended to `results.md`, from every evaluation's
/// `{"strategy", "seed", "metrics"}` row (the pretrained policy first; `metrics` is the
/// [`Task::with_describe`] object plus `"kl"`).
pub type ExtraMarkdown<'a> = Box<dyn Fn(&[Value]) -> String + 'a>;

/// What a task supplies to a comparison: the reference policy and its tokenizer, the training
/// rewards (objectives = the rewards with positive weight, their weights the preferences), the
/// evaluation oracles (one per objective, same order), the prompts and the sampling settings.
pub struct Task<'a, P: Policy> {
    pub(super) reference: P,
    pub(super) tokenizer: &'a dyn Tokenizer,
    pub(super) rewards: RewardSet,
    pub(super) oracles: RewardSet,
    pub(super) prompts: Prompts,
    eval_prompts: Option<Prompts>,
    pub(super) sampling: SamplingConfig,
    pub(super) describe: Option<Describe<'a>>,
    pub(super) markdown: Option<ExtraMarkdown<'a>>,
    pub(super) headline: Option<Headline>,
    pub(super) paper: Vec<PaperRow>,
    pub(super) info: Value,
}

impl<'a, P: Policy> Task<'a, P> {
    /// A task of unconditional generation from `reference`, trained on `rewards` and judged by
    /// `oracles`, sampling at temperature 0.7 and stopping at EOS.
    pub fn new(
        reference: P,
        tokenizer: &'a dyn Tokenizer,
        rewards: RewardSet,
        oracles: RewardSet,
    ) -> Self {
        Self {
            reference,
            tokenizer,
            rewards,
            oracles,
            prompts: Prompts::unconditional(tokenizer.specials().start()),
            eval_prompts: None,
            sampling: SamplingConfig {
                stop_at_eos: true,
                ..Default::default()
            },
            describe: None,
            markdown: None,
            headline: None,
            paper: Vec::new(),
            info: Value::Null,
        }
    }

    /// With training prompts (and, unless [`Task::with_eval_prompts`] is given, evaluation
    /// prompts).
    pub fn with_prompts(mut self, prompts: Prompts) -> Self {
        self.prompts = prompts;
        self
    }

    /// With separate evaluation prompts (e.g. a held-out split).
    pub fn with_eval_prompts(mut self, prompts: Prompts) -> Self {
        self.eval_prompts = Some(prompts);
        self
    }

    /// With these sampling settings (`max_new_tokens` is the budget's).
    pub fn with_sampling(mut self, sampling: SamplingConfig) -> Self {
        self.sampling = sampling;
        self
    }

    /// With domain metrics for every evaluation (e.g. validity of molecules).
    pub fn with_describe(mut self, describe: impl FnMut(&Scored) -> (Value, String) + 'a) -> Self {
        self.describe = Some(Box::new(describe));
        self
    }

    /// With extra Markdown (e.g. a sample-quality table) appended to `results.md`.
    pub fn with_markdown(mut self, markdown: impl Fn(&[Value]) -> String + 'a) -> Self {
        self.markdown = Some(Box::new(markdown));
        self
    }

    /// With the task's realism (or validity) measure as a column of the main table: `header`
    /// over each evaluation's value at the JSON pointer `pointer` in its
    /// [`Task::with_describe`] metrics (e.g. `"/quality/validity"`), shown as `format`, mean ±
    /// standard error over seeds. A missing or non-numeric value shows `n/a`.
    ///
    /// ```
    /// # use multireward::experiment::Task;
    /// # use multireward::eval::table::Format;
    /// # fn with<P: multireward::policy::Policy>(task: Task<'_, P>) -> Task<'_, P> {
    /// task.with_headline_metric("Validity", "/quality/validity", Format::Percent(1))
    /// # }
    /// ```
    pub fn with_headline_metric(mut self, header: &str, pointer: &str, format: Format) -> Self {
        self.headline = Some(Headline {
            header: header.into(),
            pointer: pointer.into(),
            format,
        });
        self
    }

    /// With published numbers shown beside ours.
    pub fn with_paper(mut self, rows: Vec<PaperRow>) -> Self {
        self.paper = rows;
        self
    }

    /// With the task's own settings, recorded under `"task"` in `results.json`'s config.
    pub fn with_info(mut self, info: Value) -> Self {
        self.info = info;
        self
    }

    /// The reference policy.
    pub fn reference(&self) -> &P {
        &self.reference
    }

    /// Objective names: the oracles' names.
    pub fn objectives(&self) -> Vec<String> {
        self.oracles.names().iter().map(|s| s.to_string()).collect()
    }

    /// The prompts evaluations sample from: the evaluation prompts, else the training ones.
    pub(super) fn eval_prompts(&self) -> &Prompts {
        self.eval_prompts.as_ref().unwrap_or(&self.prompts)
    }

    /// What determines this task's results under `config`, as a results directory's manifest
    /// records it (the training rewards' normalisers as they are now: call with the fresh
    /// ones).
    pub(super) fn inputs(&self, config: &ComparisonConfig) -> Inputs {
        let comparable = ComparisonConfig {
            seeds: 0,
            strategies: Vec::new(),
            ..config.clone()
        };
        Inputs {
            crate_version: env!("CARGO_PKG_VERSION").into(),
            config: serde_json::to_value(comparable).unwrap_or_default(),
            policy: crate::checkpoint::weights_digest(&self.reference),
            architecture: self.reference.architecture(),
            tokenizer: tokenizer_digest(self.tokenizer),
            rewards: self.rewards.metadata(),
            oracles: self.oracles.metadata(),
            prompts: ids_digest(self.prompts.ids()),
            eval_prompts: ids_digest(self.eval_prompts().ids()),
            sampling: serde_json::to_value(&self.sampling).unwrap_or_default(),
            task: self.info.clone(),
        }
    }

    /// Check that the task's parts fit together and fit `config` (every setting, before
    /// anything is trained), and set its sampling to the budget's length; returns the number
    /// of objectives. Errors name the setting by its field.
    pub(super) fn fit(&mut self, config: &ComparisonConfig) -> Result<usize, ExperimentError> {
        let (tokens, vocab) = (self.tokenizer.vocab_size(), self.reference.vocab_size());
        if tokens > vocab {
            return Err(ExperimentError::Task(format!(
                "the tokenizer has {tokens} tokens but the reference policy's vocabulary has \
                 {vocab}: they come from different checkpoints (load both from the same \
                 directory)"
            )));
        }
        // A vocabulary padded past the tokenizer (Hugging Face checkpoints often round it up):
        // the padding ids decode to nothing, so they are never sampled.
        if tokens < vocab {
            let limit = self.sampling.vocab_limit.unwrap_or(tokens).min(tokens);
            self.sampling.vocab_limit = Some(limit);
        }
        let n = self.oracles.names().len();
        let objectives = self.rewards.weights().iter().filter(|w| **w > 0.0).count();
        if objectives == 0 || objectives != n {
            return Err(ExperimentError::Task(format!(
                "the training rewards have {objectives} objectives (positive weights) but there \
                 are {n} evaluation oracles; give one oracle per objective, in the same order"
            )));
        }
        config.validate(n)?;
        if config.estimator == EstimatorKind::Gae && !self.reference.has_value_head() {
            return Err(ExperimentError::setting(
                "estimator",
                "is gae, which needs a reference policy with a value head (e.g. \
                 Gpt::with_value_head); the shipped policies have none: use rloo"
                    .into(),
            ));
        }
        config.check_sizes_for(n, vocab)?;
        self.sampling.max_new_tokens = config.budget.max_new_tokens;
        self.sampling.seed = None;
        self.check_context(config, n)?;
        Ok(n)
    }

    /// Whether the longest prompt, RiC's conditioning and the budget's tokens fit the
    /// reference policy's context.
    fn check_context(&self, config: &ComparisonConfig, n: usize) -> Result<(), ExperimentError> {
        let Some(max_len) = self.reference.max_len() else {
            return Ok(());
        };
        let ids = self.prompts.ids().iter().chain(self.eval_prompts().ids());
        let longest = ids.map(Vec::len).max().unwrap_or(1);
        // RiC adds one conditioning token per objective after BOS.
        let ric = config.strategies.contains(&StrategyKind::Ric);
        let extra = if ric { n } else { 0 };
        let tokens = config.budget.max_new_tokens;
        if (longest + extra)
            .checked_add(tokens)
            .is_none_or(|total| total > max_len)
        {
            let conditioning = if ric { " and RiC's conditioning" } else { "" };
            return Err(ExperimentError::setting(
                "budget.max_new_tokens",
                format!(
                    "is {tokens}, but with prompts of up to {longest} tokens{conditioning} a \
                     sequence would exceed the policy's context of {max_len} tokens"
                ),
            ));
        }
        Ok(())
    }
}

/// A policy judged in a comparison: oracle scores, metrics (the task's, plus `"kl"`) and a
/// one-line summary.
pub(super) struct Judged {
    /// Oracle scores `[sample][objective]`.
    pub scores: Vec<Vec<f64>>,
    /// The task's metrics object with the KL.
    pub metrics: Value,
    /// Oracle means, the task's summary and the KL, in words.
    pub summary: String,
}

impl<P: Policy> Task<'_, P> {
    /// Oracle scores, metrics and a summary of `policy` (with RiC's `condition`): `samples`
    /// responses from the evaluation prompts, seeded by `seed`.
    pub(super) fn judge(
        &mut self,
        (policy, condition): (&P, &[u32]),
        samples: usize,
        seed: u64,
    ) -> Result<Judged, ExperimentError> {
        let scored = sample_and_score(
            (policy, condition),
            &self.reference,
            &self.sampling,
            self.eval_prompts(),
            samples,
            seed,
            self.tokenizer,
            &self.oracles,
        )?;
        let (mut metrics, summary) = match &mut self.describe {
            Some(describe) => describe(&scored),
            None => (json!({}), String::new()),
        };
        if !metrics.is_object() {
            metrics = json!({ "task": metrics });
        }
        metrics["kl"] = json!(scored.kl);
        let n = self.oracles.names().len();
        metrics["with_unscored"] = with_unscored(&scored, n, self.oracles.na_penalty());
        let summary = format!(
            "oracle means {:.3?}{}{summary}, KL {:.2}",
            means(&scored.scores, n),
            if summary.is_empty() { "" } else { ", " },
            scored.kl
        );
        Ok(Judged {
            scores: scored.scores,
            metrics,
            summary,
        })
    }
}

/// The oracle means over every sample drawn, a sample some oracle could not score (e.g. an
/// invalid SMILES) counting as `score` on every objective — REINVENT's convention, with the
/// oracles' NA score (0 for the built-in tasks) — next to the means over scored samples that
/// the main table shows.
fn with_unscored(scored: &Scored, n: usize, score: f64) -> Value {
    let (drawn, kept) = (scored.texts.len(), scored.scores.len());
    let unscored = drawn - kept;
    let per_objective: Vec<f64> = (0..n)
        .map(|i| {
            let sum: f64 = scored.scores.iter().map(|r| r[i]).sum();
            (sum + score * unscored as f64) / drawn.max(1) as f64
        })
        .collect();
    let avg = per_objective.iter().sum::<f64>() / n.max(1) as f64;
    json!({
        "samples": drawn,
        "unscored": unscored,
        "unscored_score": score,
        "per_objective": per_objective,
        "avg": avg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscored_samples_count_at_the_na_score() {
        // Four samples drawn, three scored on two objectives; the fourth counts as −1.
        let scored = Scored {
            texts: vec!["a".into(), "b".into(), "c".into(), String::new()],
            prompt_of: vec![0; 4],
            scores: vec![vec![1.0, 2.0], vec![3.0, 2.0], vec![2.0, 2.0]],
            kl: 0.0,
        };
        let v = with_unscored(&scored, 2, -1.0);
        assert_eq!(v["per_objective"], json!([1.25, 1.25]));
        assert_eq!(v["avg"], json!(1.25));
        assert_eq!(
            (v["samples"].as_u64(), v["unscored"].as_u64()),
            (Some(4), Some(1))
        );
    }
}
