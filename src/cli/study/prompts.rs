//! The study task `prompts`: any supported policy directory, prompts from text files (one per
//! line), external rewards only — a study of your own model without writing Rust.

use super::domain::Domain;
use super::error::{Source, StudyError};
use super::file::PromptsOptions;
use super::locate::FieldPath;
use crate::experiment::{ComparisonConfig, Preset, RicSettings, Task};
use crate::policy::{AutoPolicy, Prompts, SamplingConfig};
use crate::reward::RewardSet;
use crate::strategy::Strategy;
use crate::tasks::{Objective, about_map, build_sets, load_tokenizer};
use crate::tokenizer::Tokenizer;
use burn::tensor::Device;
use serde_json::{Value, json};
use std::error::Error;

/// A policy directory with its tokenizer and prompts.
pub(super) struct PromptsTask {
    options: PromptsOptions,
    tokenizer: Box<dyn Tokenizer>,
    prompts: Option<Prompts>,
    eval_prompts: Option<Prompts>,
}

impl PromptsTask {
    /// Load the tokenizer of `options.policy` and encode the prompt files.
    pub(super) fn load(
        source: &Source,
        options: &PromptsOptions,
        _device: &Device,
    ) -> Result<Self, StudyError> {
        let at = |key: &str| FieldPath::key("task").then(key);
        let tokenizer = load_tokenizer(&options.policy)
            .map_err(|e| source.field(&at("policy"), e.to_string()))?;
        let read = |key: &str, path: &Option<std::path::PathBuf>| -> Result<_, StudyError> {
            let Some(path) = path else { return Ok(None) };
            let text = std::fs::read_to_string(path).map_err(|e| {
                source.field(&at(key), format!("{} cannot be read: {e}", path.display()))
            })?;
            let lines: Vec<String> = text
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if lines.is_empty() {
                return Err(source.field(&at(key), format!("{} holds no prompt", path.display())));
            }
            Prompts::encode(lines, tokenizer.as_ref())
                .map(Some)
                .map_err(|e| source.field(&at(key), e.to_string()))
        };
        let prompts = read("prompts", &options.prompts)?;
        let eval_prompts = read("eval_prompts", &options.eval_prompts)?;
        Ok(Self {
            options: options.clone(),
            tokenizer,
            prompts,
            eval_prompts,
        })
    }
}

impl Domain for PromptsTask {
    fn presets(&self, n: usize) -> [Preset; 3] {
        Preset::per_objective(n)
    }

    fn ric(&self) -> RicSettings {
        RicSettings::default()
    }

    fn objective(&self, name: &str, _weight: f64) -> Result<Objective, Box<dyn Error>> {
        Err(format!(
            "{name:?}: the task `prompts` has no built-in rewards; score it with \
             external = {{ command = [...] }}"
        )
        .into())
    }

    fn reward_sets(
        &self,
        objectives: Vec<Objective>,
    ) -> Result<(RewardSet, RewardSet, Value), Box<dyn Error>> {
        let (train, eval, about) = build_sets(objectives, 0.0)?;
        Ok((train, eval, about_map(about)))
    }

    fn configure(&self, config: ComparisonConfig, _n: usize) -> ComparisonConfig {
        config
    }

    fn reference(&self, device: &Device) -> Result<AutoPolicy, Box<dyn Error>> {
        Ok(AutoPolicy::load(&self.options.policy, device)?)
    }

    fn task(
        &self,
        reference: AutoPolicy,
        train: RewardSet,
        eval: RewardSet,
        info: Value,
    ) -> Task<'_, AutoPolicy> {
        let mut task = Task::new(reference, self.tokenizer.as_ref(), train, eval)
            .with_sampling(SamplingConfig {
                temperature: self.options.temperature,
                stop_at_eos: self.options.stop_at_eos,
                ..Default::default()
            })
            .with_info(json!({"policy": self.options.policy, "rewards": info,
                              "prompts": self.options.prompts, "eval_prompts": self.options.eval_prompts}));
        if let Some(p) = &self.prompts {
            task = task.with_prompts(p.clone());
        }
        if let Some(p) = self.eval_prompts.as_ref().or(self.prompts.as_ref()) {
            task = task.with_eval_prompts(p.clone());
        }
        task
    }

    fn edit(&self, _strategy: &mut Strategy) {}
}
