//! The molecules comparison set up from its options ([`Molecules`]): the shipped SMILES policy,
//! the QM9 objectives `alpha`, `gap`, `u0` (training rewards = regressors on the frozen
//! backbone's features, oracles = independent regressors on Morgan counts, both under
//! `rewards`) and the exact descriptors `qed`, `logp` (scored by a 1–3 window), `sa` (the same
//! function trains and evaluates); sample quality (validity, uniqueness, novelty against QM9,
//! internal diversity) as the task's metrics.
//!
//! Beside the shared shape (`load`, `presets`, `ric`, `objective`, `reward_sets`,
//! `configure`, `reference`, `task`, `edit`), [`Molecules::configure_for`] takes the number of
//! objectives, as every domain's does (the text domain's experts' rate depends on it).

use super::analytic::{Descriptor, DescriptorReward};
use super::qm9::{BackboneFeatures, MorganFeatures, Property, PropertyReward};
use super::regressor::Regressor;
use super::{SmilesTokenizer, canonical_smiles, load_qm9, sample_quality};
use crate::checkpoint::tokenizer_path;
use crate::data::data_path;
use crate::eval::report::PaperRow;
use crate::eval::table::Format;
use crate::experiment::{
    ComparisonConfig, Preset, RicSettings, Task, decimals, metrics_table, percent,
};
use crate::policy::{AutoPolicy, Gpt, Policy, SamplingConfig};
use crate::reward::{RewardSet, Transform};
use crate::strategy::Strategy;
use crate::tasks::objective::{about_map, build_sets, known_name};
use crate::tasks::{Objective, SetupError, load_tokenizer};
use crate::tokenizer::Tokenizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::PathBuf;

/// Where the molecules domain reads its models (the example's flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoleculesOptions {
    /// The pretrained policy: ours or a Hugging Face directory whose tokenizer writes SMILES.
    pub policy: PathBuf,
    /// The frozen SMILES GPT whose features the QM9 training rewards read.
    pub backbone: PathBuf,
    /// The trained QM9 reward and oracle regressors (`<property>-reward`, `-oracle`).
    pub rewards: PathBuf,
}

impl Default for MoleculesOptions {
    fn default() -> Self {
        Self {
            policy: "assets/smiles-gpt".into(),
            backbone: "assets/smiles-gpt".into(),
            rewards: "assets/qm9-rewards".into(),
        }
    }
}

/// The molecules domain, loaded: what its [`Task`] borrows (the policy's tokenizer, the QM9
/// molecules novelty is measured against) and what its objectives are made from.
pub struct Molecules {
    options: MoleculesOptions,
    device: Device,
    tokenizer: Box<dyn Tokenizer>,
    backbone: Gpt,
    backbone_tokenizer: SmilesTokenizer,
    corpus: HashSet<String>,
}

impl Molecules {
    /// Built-in objective names.
    pub const OBJECTIVES: &'static [&'static str] = &["alpha", "gap", "u0", "qed", "logp", "sa"];
    /// The default objectives (the paper's QM9 set).
    pub const DEFAULT: &'static [&'static str] = &["alpha", "gap", "u0"];

    /// Load the policy's tokenizer, the backbone with its tokenizer and the QM9 corpus
    /// (`quick` changes nothing here).
    ///
    /// # Errors
    /// [`SetupError`] naming the file that is missing or malformed.
    pub fn load(
        options: &MoleculesOptions,
        _quick: bool,
        device: &Device,
    ) -> Result<Self, SetupError> {
        let tokenizer = load_tokenizer(&options.policy)?;
        let backbone = Gpt::load(&options.backbone, device)?;
        let backbone_tokenizer = SmilesTokenizer::load(&tokenizer_path(&options.backbone))?;
        let corpus = load_qm9(&data_path("qm9_slim.csv.gz"))?
            .iter()
            .filter_map(|r| canonical_smiles(&r.smiles))
            .collect();
        Ok(Self {
            options: options.clone(),
            device: device.clone(),
            tokenizer,
            backbone,
            backbone_tokenizer,
            corpus,
        })
    }

    /// The presets for `n` objectives: default, quick, full (25 rounds × m = 4 steps × N
    /// experts, 128 samples of 100 tokens).
    pub fn presets(&self, n_objectives: usize) -> [Preset; 3] {
        Preset::per_objective(n_objectives)
    }

    /// RiC's rounds and learning rate: the defaults.
    pub fn ric(&self) -> RicSettings {
        RicSettings::default()
    }

    /// The built-in objective `name` (any case) with this weight.
    ///
    /// # Errors
    /// [`SetupError::UnknownObjective`] listing the known ones; a regressor that cannot be
    /// loaded.
    pub fn objective(&self, name: &str, weight: f64) -> Result<Objective, SetupError> {
        let name = known_name("molecules", name, Self::OBJECTIVES)?;
        if let Some(p) = Property::ALL.into_iter().find(|p| p.name() == name) {
            let dir = |role: &str| self.options.rewards.join(format!("{name}-{role}"));
            let reward = Regressor::load(&dir("reward"), &self.device)?;
            let oracle = Regressor::load(&dir("oracle"), &self.device)?;
            let bits = oracle.config().d_in;
            let features = BackboneFeatures::new(&self.backbone, self.backbone_tokenizer.clone());
            let train = PropertyReward::new(name, p, Box::new(features), reward);
            let oracle = PropertyReward::new(name, p, Box::new(MorganFeatures { bits }), oracle);
            let about = json!({"reward": "backbone regressor", "oracle": format!("Morgan-{bits} regressor")});
            return Ok(
                Objective::new(name, Box::new(train), Box::new(oracle), weight).with_about(about),
            );
        }
        let d = match name {
            "qed" => Descriptor::Qed,
            "logp" => Descriptor::LogP,
            _ => Descriptor::Sa,
        };
        let (train, oracle) = (DescriptorReward(d), DescriptorReward(d));
        let objective = Objective::new(name, Box::new(train), Box::new(oracle), weight)
            .with_about(json!({"reward": "exact descriptor", "oracle": "same"}));
        Ok(match d {
            Descriptor::LogP => objective.with_transform(Transform::double_sigmoid(1.0, 3.0)),
            _ => objective,
        })
    }

    /// The training rewards (an invalid molecule totals −2, below any typical valid one: the
    /// objectives are ≈ z-scores) and the evaluation oracles of `objectives`, in order, with
    /// their descriptions.
    ///
    /// # Errors
    /// [`SetupError::Reward`] when they do not make a set (none, a name twice, a bad weight).
    pub fn reward_sets(
        &self,
        objectives: Vec<Objective>,
    ) -> Result<(RewardSet, RewardSet, Value), SetupError> {
        let (train, eval, about) = build_sets(objectives, -2.0)?;
        Ok((train, eval, about_map(about)))
    }

    /// The comparison settings as the domain runs them: unchanged.
    pub fn configure(&self, config: ComparisonConfig) -> ComparisonConfig {
        config
    }

    /// [`Molecules::configure`] (the number of objectives changes nothing here).
    pub fn configure_for(
        &self,
        config: ComparisonConfig,
        _n_objectives: usize,
    ) -> ComparisonConfig {
        self.configure(config)
    }

    /// The reference policy, loaded from the options' `policy`.
    ///
    /// # Errors
    /// [`SetupError::Checkpoint`] when it cannot be loaded.
    pub fn reference(&self, device: &Device) -> Result<AutoPolicy, SetupError> {
        Ok(AutoPolicy::load(&self.options.policy, device)?)
    }

    /// The task: unconditional generation stopping at EOS, sample quality as its metrics
    /// (validity in the main table), the paper's rows when the objectives are `alpha,gap,u0`.
    pub fn task(
        &self,
        reference: AutoPolicy,
        train: RewardSet,
        eval: RewardSet,
        rewards_info: Value,
    ) -> Task<'_, AutoPolicy> {
        let names: Vec<String> = eval.names().iter().map(|s| s.to_string()).collect();
        let qm9 = names
            .iter()
            .map(String::as_str)
            .eq(Self::DEFAULT.iter().copied());
        let o = &self.options;
        let info = match o.backbone == o.policy {
            true => json!({"objectives": names, "policy": o.policy, "rewards": rewards_info}),
            false => json!({"objectives": names, "policy": o.policy, "backbone": o.backbone,
                            "rewards": rewards_info}),
        };
        Task::new(reference, self.tokenizer.as_ref(), train, eval)
            .with_sampling(SamplingConfig {
                stop_at_eos: true,
                ..Default::default()
            })
            .with_describe(|scored| {
                let quality = sample_quality(&scored.texts, Some(&self.corpus));
                let summary = format!("validity {:.1} %", 100.0 * quality.validity);
                (json!({ "quality": quality }), summary)
            })
            .with_markdown(quality_table)
            .with_headline_metric("Validity", "/quality/validity", Format::Percent(1))
            .with_paper(if qm9 { paper_rows() } else { Vec::new() })
            .with_info(info)
    }

    /// Edits of the planned strategies: none.
    pub fn edit(&self, _strategy: &mut Strategy) {}
}

/// The paper's QM9 table (docs/algorithms.md, "Metrics of the paper"; PAMNet-evaluated α,
/// gap, U0).
fn paper_rows() -> Vec<PaperRow> {
    let row = |m: &str, o: [f64; 3], avg, icv| PaperRow::new(m, &o, avg, icv);
    vec![
        row("MORLHF", [1.4229, 0.9355, 1.5146], 1.2910, 4.19),
        row("Rewarded Soups", [1.4134, 0.9589, 1.5464], 1.3062, 4.27),
        row("RiC", [0.5955, 0.6795, 0.7544], 0.6765, 3.75),
        row("IterativeRS", [1.5893, 0.9508, 1.6649], 1.4017, 3.59),
    ]
}

/// Markdown table of sample quality and KL per (strategy, seed).
fn quality_table(rows: &[Value]) -> String {
    metrics_table(
        rows,
        &[
            ("Validity", |m| percent(&m["quality"]["validity"])),
            ("Uniqueness", |m| percent(&m["quality"]["uniqueness"])),
            ("Novelty", |m| percent(&m["quality"]["novelty"])),
            ("Int. diversity", |m| {
                decimals(&m["quality"]["internal_diversity"], 3)
            }),
        ],
        "KL to pretrained",
    )
}
