//! The summarisation comparison set up from its options ([`Text`]): the shipped summariser
//! (ours, prompt rows `[BOS] description [SEP]`, or a Hugging Face causal LM, rows
//! `[BOS] description` + `"\nTL;DR:"`), seeded samples of validation-split descriptions as
//! training prompts and of test-split ones as evaluation prompts, and the objectives
//! `faithful` (a head on MiniLM embeddings under `rewards`), `relevance` (MiniLM cosine) and
//! `rougeL` (ROUGE-L F1 against the human synopsis), each function training and evaluating.
//!
//! Beside the shared shape (`load`, `presets`, `ric`, `objective`, `reward_sets`,
//! `configure`, `reference`, `task`, `edit`): [`Text::configure_for`] takes the number N of
//! objectives (the experts learn at N × the learning rate; `configure` assumes the built-in
//! three), and [`Text::prompt_counts`] gives the example its console line.

use super::prompter::TextTokenizer;
use super::tables::{SHOWN, examples_table, paper_rows, quality_table};
use super::{
    EmbeddingCache, FaithfulnessHead, FaithfulnessReward, RelevanceReward, RougeReward, SEP,
    SentenceEncoder, Split, SummaryPair, SummaryQuality, load_summaries, summaries_path,
};
use crate::eval::table::Format;
use crate::experiment::{Budget, ComparisonConfig, Preset, RicSettings, Task};
use crate::policy::{AutoPolicy, Prompts, SamplingConfig};
use crate::reward::{Reward, RewardSet};
use crate::strategy::Strategy;
use crate::tasks::objective::{about_map, build_sets, known_name};
use crate::tasks::{Objective, SetupError};
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the text domain reads its models and corpus sample sizes, and how it samples (the
/// example's flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextOptions {
    /// The shipped summariser.
    pub policy: PathBuf,
    /// The trained faithfulness head (`faithfulness/`).
    pub rewards: PathBuf,
    /// MiniLM directory (from `scripts/fetch-minilm.sh`).
    pub minilm: PathBuf,
    /// Sampling temperature (training and evaluation).
    pub temperature: f32,
    /// Validation-split descriptions used as training prompts (default 512; quick: 64).
    pub train_prompts: Option<usize>,
    /// Test-split descriptions used as evaluation prompts (default 256; quick: 32).
    pub eval_prompts: Option<usize>,
    /// Description tokens kept in a prompt (as the summariser was trained).
    pub prompt_tokens: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            policy: "assets/summarizer-gpt".into(),
            rewards: "assets/text-rewards".into(),
            minilm: "data/minilm".into(),
            temperature: 0.7,
            train_prompts: None,
            eval_prompts: None,
            prompt_tokens: 48,
        }
    }
}

/// The text domain, loaded: the summariser's tokenizer, the sampled descriptions and their
/// prompts, MiniLM with its embedding cache and the faithfulness head.
pub struct Text {
    options: TextOptions,
    tokenizer: TextTokenizer,
    test: Vec<SummaryPair>,
    prompts: (Prompts, Prompts),
    references: Vec<(String, String)>,
    cache: Arc<EmbeddingCache>,
    head: FaithfulnessHead,
}

impl Text {
    /// Built-in objective names, in the paper's column order (faithful, summary, deberta).
    pub const OBJECTIVES: &'static [&'static str] = &["faithful", "relevance", "rougeL"];
    /// The default objectives: all three.
    pub const DEFAULT: &'static [&'static str] = Self::OBJECTIVES;

    /// Load the summariser's tokenizer and the corpus, sample the prompts (`quick`: 64
    /// training and 32 evaluation prompts unless the options say, else 512 and 256), load
    /// MiniLM and the faithfulness head.
    ///
    /// # Errors
    /// [`SetupError`] naming what is missing (the corpus and MiniLM with the command that
    /// fetches them) or malformed.
    pub fn load(options: &TextOptions, quick: bool, device: &Device) -> Result<Self, SetupError> {
        let tokenizer = TextTokenizer::load(&options.policy)?;
        let corpus = load_summaries(&summaries_path())?;
        // The corpus is sorted by package name: sample both splits, or the evaluation would
        // see only packages starting with a–c.
        let sample = |split: Split, seed: u64, n: usize| -> Vec<SummaryPair> {
            let mut pairs: Vec<&SummaryPair> = corpus.iter().filter(|p| p.split == split).collect();
            pairs.shuffle(&mut StdRng::seed_from_u64(seed));
            pairs.into_iter().take(n).cloned().collect()
        };
        let (n_train, n_eval) = if quick { (64, 32) } else { (512, 256) };
        let train = sample(Split::Val, 11, options.train_prompts.unwrap_or(n_train));
        let test = sample(Split::Test, 12, options.eval_prompts.unwrap_or(n_eval));
        let prompts = (
            tokenizer.prompts(&train, options.prompt_tokens)?,
            tokenizer.prompts(&test, options.prompt_tokens)?,
        );
        // One MiniLM and embedding cache for both embedding rewards.
        let encoder = SentenceEncoder::load(&options.minilm, device)?;
        let head = FaithfulnessHead::load(&options.rewards.join("faithfulness"), device)?;
        let references = train
            .iter()
            .chain(&test)
            .map(|p| (p.document(), p.summary.clone()))
            .collect();
        Ok(Self {
            options: options.clone(),
            tokenizer,
            test,
            prompts,
            references,
            cache: Arc::new(EmbeddingCache::new(encoder)),
            head,
        })
    }

    /// The numbers of training and evaluation prompts.
    pub fn prompt_counts(&self) -> (usize, usize) {
        (self.prompts.0.len(), self.prompts.1.len())
    }

    /// The presets (the number of objectives changes nothing): default (≈ 10 min on 2 cores),
    /// quick, full (the reference's PPO budget).
    pub fn presets(&self, _n_objectives: usize) -> [Preset; 3] {
        // One clipped update per iteration on all 96 samples: at this budget the gradient's
        // noise, not its bias, limits PPO, and 2 × 2 updates on 64 samples left every PPO
        // strategy at or below the SFT policy (docs/results.md).
        let default = Budget::new(12, 96)
            .with_merge_every(2)
            .with_max_new_tokens(24)
            .with_updates(1, 1);
        let quick = Budget {
            iterations: 6,
            samples: 32,
            merge_every: 1,
            ..default
        };
        let full = Budget::new(300, 128).with_max_new_tokens(24);
        [
            Preset::new(default, 384),
            Preset::new(quick, 64),
            Preset::new(full, 1024),
        ]
    }

    /// RiC's defaults: 3 online rounds (at lr 1e-4 the gain comes from repeated sample → keep
    /// the Pareto front → fine-tune rounds), supervised learning rate 1e-4.
    pub fn ric(&self) -> RicSettings {
        RicSettings {
            rounds: 3,
            lr: 1e-4,
            ..Default::default()
        }
    }

    /// The built-in objective `name` (any case) with this weight; the same function trains
    /// and evaluates.
    ///
    /// # Errors
    /// [`SetupError::UnknownObjective`] listing the known ones.
    pub fn objective(&self, name: &str, weight: f64) -> Result<Objective, SetupError> {
        let name = known_name("text", name, Self::OBJECTIVES)?;
        let (cache, head) = (&self.cache, &self.head);
        let (train, oracle, about): (Box<dyn Reward>, Box<dyn Reward>, _) = match name {
            "faithful" => (
                Box::new(FaithfulnessReward::new(name, cache.clone(), head.clone())),
                Box::new(FaithfulnessReward::new(name, cache.clone(), head.clone())),
                "P(true synopsis) under the MiniLM-feature head (assets/text-rewards/faithfulness)",
            ),
            "relevance" => (
                Box::new(RelevanceReward::new(name, cache.clone())),
                Box::new(RelevanceReward::new(name, cache.clone())),
                "cosine(MiniLM(description), MiniLM(summary))",
            ),
            _ => (
                Box::new(RougeReward::new(name, self.references.clone(), true)),
                Box::new(RougeReward::new(name, self.references.clone(), true)),
                "ROUGE-L F1 (rouge-score tokenizer, Porter stemmer) against the human synopsis",
            ),
        };
        Ok(Objective::new(name, train, oracle, weight).with_about(json!(about)))
    }

    /// The training rewards and the evaluation oracles of `objectives`, in order, with their
    /// descriptions.
    ///
    /// # Errors
    /// [`SetupError::Reward`] when they do not make a set (none, a name twice, a bad weight).
    pub fn reward_sets(
        &self,
        objectives: Vec<Objective>,
    ) -> Result<(RewardSet, RewardSet, Value), SetupError> {
        let (train, eval, about) = build_sets(objectives, 0.0)?;
        Ok((train, eval, about_map(about)))
    }

    /// [`Text::configure_for`] the built-in three objectives.
    pub fn configure(&self, config: ComparisonConfig) -> ComparisonConfig {
        self.configure_for(config, Self::OBJECTIVES.len())
    }

    /// The comparison settings as the domain runs them with `n_objectives` objectives: without
    /// an experts' learning rate, the IterativeRS / Rewarded Soups experts learn at N × `lr`
    /// (each expert's update reaches the merged policy with weight 1/N; at `lr` both stayed at
    /// the SFT level, docs/results.md); evaluation seed 2 000 003.
    pub fn configure_for(
        &self,
        mut config: ComparisonConfig,
        n_objectives: usize,
    ) -> ComparisonConfig {
        config
            .expert_lr
            .get_or_insert(n_objectives as f64 * config.lr);
        config.with_eval_seed(2_000_003)
    }

    /// The reference policy, loaded from the options' `policy` without dropout (the
    /// summariser was trained with dropout 0.1; RL runs without it, as TRL's PPO does).
    ///
    /// # Errors
    /// [`SetupError::Checkpoint`] when it cannot be loaded.
    pub fn reference(&self, device: &Device) -> Result<AutoPolicy, SetupError> {
        Ok(AutoPolicy::load(&self.options.policy, device)?.without_dropout())
    }

    /// The task: summaries of the training prompts, evaluated on the test prompts, summary
    /// quality as its metrics (distinct summaries in the main table: what collapses first when
    /// a policy games its rewards), example summaries in the report.
    pub fn task(
        &self,
        reference: AutoPolicy,
        train: RewardSet,
        eval: RewardSet,
        rewards_info: Value,
    ) -> Task<'_, AutoPolicy> {
        let o = &self.options;
        let paper = eval
            .names()
            .iter()
            .copied()
            .eq(Self::DEFAULT.iter().copied());
        let info = json!({
            "objectives": eval.names(), "temperature": o.temperature, "policy": o.policy,
            "prompts": {"train": self.prompts.0.len(), "eval": self.prompts.1.len(), "prompt_tokens": o.prompt_tokens},
            "rewards": rewards_info,
        });
        Task::new(reference, self.tokenizer.as_dyn(), train, eval)
            .with_prompts(self.prompts.0.clone())
            .with_eval_prompts(self.prompts.1.clone())
            .with_sampling(SamplingConfig {
                temperature: o.temperature,
                stop_at_eos: true,
                ..Default::default()
            })
            .with_describe(|scored| {
                let shown = scored.first_per_prompt(SHOWN);
                let quality = SummaryQuality::measure(&scored.texts);
                let summary = format!(
                    "{:.1} words, {:.0} % unique",
                    quality.words,
                    100.0 * quality.unique
                );
                (json!({ "quality": quality, "shown": shown }), summary)
            })
            .with_markdown(|rows| {
                format!(
                    "{}{}",
                    quality_table(rows),
                    examples_table(&self.test, rows)
                )
            })
            .with_headline_metric("Unique", "/quality/unique", Format::Percent(1))
            .with_paper(if paper { paper_rows() } else { Vec::new() })
            .with_info(info)
    }

    /// RiC's supervised rounds learn the summaries only, as the summariser's SFT did (a
    /// Hugging Face tokenizer has no separator: its rows learn every token), and make one pass
    /// over their labelled samples per round.
    pub fn edit(&self, strategy: &mut Strategy) {
        if let Strategy::Ric(ric) = strategy {
            ric.sft.loss_after = matches!(self.tokenizer, TextTokenizer::Ours(_)).then_some(SEP);
            ric.sft.steps = (ric.offline_samples / ric.sft.batch_size).max(1);
        }
    }
}
