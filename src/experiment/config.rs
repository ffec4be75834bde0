//! The settings of a comparison: the strategies and estimator to use, RiC's [`RicSettings`]
//! (a Burn config), which policies to keep, and [`ComparisonConfig`], which holds them all
//! with the [`Budget`] and [`EvalPlan`] (`budget.rs`). They are checked as a whole
//! (`validate.rs`) and turned into one strategy per run (`plan.rs`).
//!
//! `ComparisonConfig` keeps serde's derive rather than Burn's: every `results.json` and every
//! results directory's `runs/settings.json` records it, with fields that are left out while
//! unset and default when absent (older directories resume), which Burn's derive does not
//! express.

use super::budget::{Accounting, Budget, EvalPlan};
use super::error::ExperimentError;
use crate::policy::lora::LoraConfig;
use crate::rl::{Estimator, GroupBaseline};
use crate::strategy::RicTarget;
use burn::config::Config;
use serde::{Deserialize, Serialize};

/// What a restarting expert's Adam state is after a merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdamAtMerge {
    /// A fresh optimiser (moments zero), as the reference code rebuilds its optimiser every
    /// round (the default).
    #[default]
    Reset,
    /// Each expert keeps its own moments across the merge (its parameters restart from the
    /// merge; its update statistics carry on).
    Keep,
}

/// One of the four strategies of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrategyKind {
    /// IterativeRS (`iterativers`).
    IterativeRs,
    /// MORLHF (`morlhf`).
    Morlhf,
    /// Rewarded Soups (`soups`).
    RewardedSoups,
    /// RiC (`ric`).
    Ric,
}

impl StrategyKind {
    /// All four, in the reports' order.
    pub const ALL: [StrategyKind; 4] = [
        Self::IterativeRs,
        Self::Morlhf,
        Self::RewardedSoups,
        Self::Ric,
    ];

    /// The short name (as in a list for [`StrategyKind::parse_list`]).
    pub fn short_name(self) -> &'static str {
        match self {
            Self::IterativeRs => "iterativers",
            Self::Morlhf => "morlhf",
            Self::RewardedSoups => "soups",
            Self::Ric => "ric",
        }
    }

    /// Parse a comma-separated list of short names; an unknown name is an error of the
    /// `strategies` setting.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, ExperimentError> {
        let parse = |s: &str| {
            let s = s.trim();
            Self::ALL
                .into_iter()
                .find(|k| k.short_name() == s)
                .ok_or_else(|| {
                    ExperimentError::setting(
                        "strategies",
                        format!("{s:?} is not a strategy; use iterativers, morlhf, soups or ric"),
                    )
                })
        };
        list.split(',').map(parse).collect()
    }
}

/// Advantage estimator of the RL strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EstimatorKind {
    /// Leave-one-out group baseline over 8 samples per prompt (no value head; `rloo`).
    Rloo,
    /// GAE on the policy's value head (the reference code's PPO; `gae`).
    Gae,
}

impl EstimatorKind {
    /// The PPO estimator.
    pub fn estimator(self) -> Estimator {
        match self {
            Self::Rloo => Estimator::Group {
                size: 8,
                baseline: GroupBaseline::LeaveOneOut,
            },
            Self::Gae => Estimator::Gae,
        }
    }
}

/// RiC's settings in a comparison.
#[derive(Config, Debug, PartialEq)]
pub struct RicSettings {
    /// Reward quantile bins per objective (≥ 2).
    #[config(default = 4)]
    pub bins: usize,
    /// Online rounds after the offline one; the samples and updates are split evenly over all
    /// rounds.
    #[config(default = 1)]
    pub rounds: usize,
    /// What to condition on when sampling.
    #[config(default = "RicTarget::Top")]
    pub target: RicTarget,
    /// Supervised learning rate (the conditioning tokens start untrained).
    #[config(default = 1e-3)]
    pub lr: f64,
}

impl Default for RicSettings {
    /// [`RicSettings::new`]: 4 bins, 1 online round, top bins, lr 1e-3.
    fn default() -> Self {
        Self::new()
    }
}

/// Which trained policies a comparison keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavePolicies {
    /// None: only the evaluations.
    None,
    /// Every strategy × seed's final policy, in the reference policy's format.
    #[default]
    Final,
}

impl SavePolicies {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Everything a comparison is run with, besides the task. Errors name these fields
/// (`budget.iterations`, `ric.bins`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonConfig {
    /// The training budget of each strategy.
    pub budget: Budget,
    /// How final policies are evaluated.
    pub eval: EvalPlan,
    /// The strategies to run, in order.
    pub strategies: Vec<StrategyKind>,
    /// Seeds per strategy, 0..seeds.
    pub seeds: usize,
    /// Adam learning rate of PPO (the reference uses 1.41e-5 for 25× our default budget).
    pub lr: f64,
    /// Adam learning rate of the IterativeRS and Rewarded Soups experts (`None`: `lr`).
    pub expert_lr: Option<f64>,
    /// Adam weight decay (coupled L2, reference 0.01).
    pub weight_decay: f32,
    /// KL coefficient β (reference 0.05).
    pub kl_coef: f32,
    /// Advantage estimator.
    pub estimator: EstimatorKind,
    /// RiC's settings.
    pub ric: RicSettings,
    /// Checkpoint every this many PPO iterations, besides every merge round and RiC round.
    pub checkpoint_every: usize,
    /// How budgets are made equal.
    #[serde(default)]
    pub accounting: Accounting,
    /// IterativeRS experts' Adam state after a merge.
    #[serde(default)]
    pub adam_at_merge: AdamAtMerge,
    /// Evaluate every RL strategy along its run, at every IterativeRS merge round's iteration
    /// count, for reward-against-KL curves.
    #[serde(default)]
    pub curve: bool,
    /// Run IterativeRS once per merge period m listed here (0 stands for m = T) instead of
    /// once with `budget.merge_every`: the m ablation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep_m: Vec<usize>,
    /// Candidate learning rates: before the seeds, each RL strategy is trained once per
    /// candidate on a tuning seed and scored by the *training* rewards (never the evaluation
    /// oracles); the best candidate is that strategy's learning rate. Empty: `lr` and
    /// `expert_lr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lr_candidates: Vec<f64>,
    /// Which trained policies are kept under the results directory's `policies/` (default:
    /// every strategy × seed's final policy).
    #[serde(default, skip_serializing_if = "SavePolicies::is_default")]
    pub save_policies: SavePolicies,
    /// Train LoRA adapters on a frozen base instead of every weight (`--lora-rank` …): every
    /// expert (and MORLHF's policy, RiC's) gets fresh adapters on the shared policy; merges
    /// fold the adapters' updates into it. `None`: full fine-tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraConfig>,
    /// How LoRA experts merge (`--lora-merge`): their updates folded into the shared base
    /// (the linear merge, default) or their factors averaged (Rewarded Soups' practice).
    #[serde(default, skip_serializing_if = "AdapterMerge::is_default")]
    pub adapter_merge: AdapterMerge,
}

/// How LoRA experts merge (`--lora-merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterMerge {
    /// `W + Σ w_k s·A_k·B_k`: the linear merge of the experts (docs/algorithms.md).
    #[default]
    Updates,
    /// `W + s·(Σ w_k A_k)(Σ w_k B_k)`: the factors averaged separately.
    Factors,
}

impl AdapterMerge {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `with_*` setters of [`ComparisonConfig`], one per field.
macro_rules! setters {
    ($($(#[$doc:meta])* $with:ident => $field:ident: $ty:ty;)*) => {
        $($(#[$doc])* pub fn $with(mut self, $field: $ty) -> Self {
            self.$field = $field;
            self
        })*
    };
}

impl ComparisonConfig {
    /// All four strategies, one seed, under `budget`, evaluated on `eval_samples` samples;
    /// lr 1e-4, β 0.05, RLOO, checkpoints every 5 iterations.
    pub fn new(budget: Budget, eval_samples: usize) -> Self {
        Self {
            budget,
            eval: EvalPlan::new(eval_samples),
            strategies: StrategyKind::ALL.to_vec(),
            seeds: 1,
            lr: 1e-4,
            expert_lr: None,
            weight_decay: 0.01,
            kl_coef: 0.05,
            estimator: EstimatorKind::Rloo,
            ric: RicSettings::default(),
            checkpoint_every: 5,
            accounting: Accounting::Samples,
            adam_at_merge: AdamAtMerge::Reset,
            curve: false,
            sweep_m: Vec::new(),
            lr_candidates: Vec::new(),
            save_policies: SavePolicies::Final,
            lora: None,
            adapter_merge: AdapterMerge::Updates,
        }
    }

    setters! {
        /// With these strategies.
        with_strategies => strategies: Vec<StrategyKind>;
        /// With `seeds` seeds per strategy.
        with_seeds => seeds: usize;
        /// With PPO learning rate `lr`.
        with_lr => lr: f64;
        /// With the experts' learning rate (IterativeRS, Rewarded Soups).
        with_expert_lr => expert_lr: Option<f64>;
        /// With this Adam weight decay.
        with_weight_decay => weight_decay: f32;
        /// With KL coefficient β.
        with_kl_coef => kl_coef: f32;
        /// With this advantage estimator.
        with_estimator => estimator: EstimatorKind;
        /// With RiC's settings.
        with_ric => ric: RicSettings;
        /// With a checkpoint every `checkpoint_every` PPO iterations.
        with_checkpoint_every => checkpoint_every: usize;
        /// With this budget accounting.
        with_accounting => accounting: Accounting;
        /// With this Adam-state policy at IterativeRS merges.
        with_adam_at_merge => adam_at_merge: AdamAtMerge;
        /// With (or without) evaluations along every run.
        with_curve => curve: bool;
        /// With an IterativeRS run per merge period in `sweep_m` (0: m = T).
        with_sweep_m => sweep_m: Vec<usize>;
        /// With candidate learning rates chosen among on the training rewards
        /// ([`ComparisonConfig::lr_candidates`]).
        with_lr_candidates => lr_candidates: Vec<f64>;
        /// Keep these trained policies.
        with_save_policies => save_policies: SavePolicies;
        /// With LoRA adapters instead of full fine-tuning.
        with_lora => lora: Option<LoraConfig>;
        /// With this merge of LoRA experts.
        with_adapter_merge => adapter_merge: AdapterMerge;
    }

    /// With evaluation seed `seed`.
    pub fn with_eval_seed(mut self, seed: u64) -> Self {
        self.eval.seed = seed;
        self
    }
}
