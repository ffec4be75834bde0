//! The settings of a comparison, in Burn's config style (required values in `new`, the rest
//! through `with_*`), checked as a whole before anything is trained, and the plan of equal
//! budgets they give for each strategy.

use super::ExperimentError;
use crate::rl::{Estimator, GroupBaseline};
use crate::strategy::{RicConfig, RicTarget, Strategy};
use crate::train::LmTrainingConfig;
use serde::{Deserialize, Serialize};

/// The training budget of every strategy in a comparison.
///
/// Equal-samples accounting: every RL strategy gets `iterations` PPO iterations of `samples`
/// samples in total (IterativeRS and Rewarded Soups split them over their `N` experts); RiC gets
/// as many generated samples and optimiser updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// PPO iterations per strategy, summed over experts (`--iterations`); at least the number
    /// of objectives. A remainder after dividing by the objectives is not used.
    pub iterations: usize,
    /// Samples per PPO iteration (`--samples`; reference 128).
    pub samples: usize,
    /// IterativeRS merge period m in steps per expert (`--merge-every`; reference 4).
    pub merge_every: usize,
    /// Generated tokens per sample (`--max-new-tokens`; reference 100).
    pub max_new_tokens: usize,
    /// PPO epochs per iteration (`--ppo-epochs`; reference 4).
    pub epochs: usize,
    /// PPO minibatches per epoch (`--minibatches`; reference 4).
    pub minibatches: usize,
}

impl Budget {
    /// `iterations` PPO iterations of `samples` samples, m = 4, 100 tokens, 4 epochs × 4
    /// minibatches (the reference code's PPO shape).
    pub fn new(iterations: usize, samples: usize) -> Self {
        Self {
            iterations,
            samples,
            merge_every: 4,
            max_new_tokens: 100,
            epochs: 4,
            minibatches: 4,
        }
    }

    /// With merge period m.
    pub fn with_merge_every(mut self, m: usize) -> Self {
        self.merge_every = m;
        self
    }

    /// With `n` generated tokens per sample.
    pub fn with_max_new_tokens(mut self, n: usize) -> Self {
        self.max_new_tokens = n;
        self
    }

    /// With `epochs` PPO epochs of `minibatches` minibatches per iteration.
    pub fn with_updates(mut self, epochs: usize, minibatches: usize) -> Self {
        self.epochs = epochs;
        self.minibatches = minibatches;
        self
    }
}

/// How budgets are made equal across strategies (`--budget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accounting {
    /// Equal samples (`samples`, the default): every RL strategy gets `iterations` PPO
    /// iterations; IterativeRS and Rewarded Soups split them over their `N` experts, so each
    /// expert takes `T = iterations / N` steps and MORLHF takes `N·T`.
    #[default]
    Samples,
    /// Equal algorithmic steps (`steps`, the paper's accounting): every strategy takes the same
    /// `T = iterations / N` steps; an IterativeRS or Rewarded Soups step is one PPO iteration of
    /// every expert, so those use `N` times MORLHF's samples (and RiC gets MORLHF's).
    Steps,
}

impl Accounting {
    /// One sentence for the reports, with `t` steps per expert and `n` objectives.
    pub fn describe(self, t: usize, n: usize) -> String {
        match self {
            Self::Samples => format!(
                "equal samples: every RL strategy {} PPO iterations (IterativeRS and Rewarded \
                 Soups {t} steps per expert × {n} experts, MORLHF {} steps); RiC as many samples",
                t * n,
                t * n
            ),
            Self::Steps => format!(
                "equal algorithmic steps T = {t} (the paper's): IterativeRS and Rewarded Soups \
                 {t} steps of each of {n} experts ({} PPO iterations), MORLHF {t} steps ({t} \
                 iterations); RiC MORLHF's samples",
                t * n
            ),
        }
    }
}

/// What a restarting expert's Adam state is after a merge (`--adam-at-merge`).
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

/// How every final policy is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalPlan {
    /// Responses sampled from each policy (`--eval-samples`), cycling over the evaluation
    /// prompts.
    pub samples: usize,
    /// Base seed of the evaluation samples (the run's seed is added).
    pub seed: u64,
}

impl EvalPlan {
    /// `samples` responses per policy, base seed 1,000,003.
    pub fn new(samples: usize) -> Self {
        Self {
            samples,
            seed: 1_000_003,
        }
    }
}

/// One of the four strategies, as named on the command line.
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

    /// The command-line name.
    pub fn flag(self) -> &'static str {
        match self {
            Self::IterativeRs => "iterativers",
            Self::Morlhf => "morlhf",
            Self::RewardedSoups => "soups",
            Self::Ric => "ric",
        }
    }

    /// Parse a comma-separated list of command-line names (`--strategies`).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, ExperimentError> {
        let kinds = list
            .split(',')
            .map(|s| {
                let s = s.trim();
                Self::ALL
                    .into_iter()
                    .find(|k| k.flag() == s)
                    .ok_or_else(|| {
                        ExperimentError::setting(
                            "strategies",
                            format!(
                                "{s:?} is not a strategy; use iterativers, morlhf, soups or ric"
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(kinds)
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RicSettings {
    /// Reward quantile bins per objective (`--ric-bins`, ≥ 2).
    pub bins: usize,
    /// Online rounds after the offline one (`--ric-rounds`); the samples and updates are split
    /// evenly over all rounds.
    pub rounds: usize,
    /// What to condition on when sampling (`--ric-target`).
    pub target: RicTarget,
    /// Supervised learning rate (`--ric-lr`; the conditioning tokens start untrained).
    pub lr: f64,
}

impl Default for RicSettings {
    /// 4 bins, 1 online round, top bins, lr 1e-3.
    fn default() -> Self {
        Self {
            bins: 4,
            rounds: 1,
            target: RicTarget::Top,
            lr: 1e-3,
        }
    }
}

/// Everything a comparison is run with, besides the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonConfig {
    /// The training budget of each strategy.
    pub budget: Budget,
    /// How final policies are evaluated.
    pub eval: EvalPlan,
    /// The strategies to run, in order (`--strategies`).
    pub strategies: Vec<StrategyKind>,
    /// Seeds per strategy, 0..seeds (`--seeds`).
    pub seeds: usize,
    /// Adam learning rate of PPO (`--lr`; the reference uses 1.41e-5 for 25× our default
    /// budget).
    pub lr: f64,
    /// Adam learning rate of the IterativeRS and Rewarded Soups experts (`--expert-lr`;
    /// `None`: `lr`).
    pub expert_lr: Option<f64>,
    /// Adam weight decay (coupled L2, reference 0.01).
    pub weight_decay: f32,
    /// KL coefficient β (`--kl-coef`; reference 0.05).
    pub kl_coef: f32,
    /// Advantage estimator (`--estimator`).
    pub estimator: EstimatorKind,
    /// RiC's settings.
    pub ric: RicSettings,
    /// Checkpoint every this many PPO iterations (`--checkpoint-every`), besides every merge
    /// round and RiC round.
    pub checkpoint_every: usize,
    /// How budgets are made equal (`--budget`).
    #[serde(default)]
    pub accounting: Accounting,
    /// IterativeRS experts' Adam state after a merge (`--adam-at-merge`).
    #[serde(default)]
    pub adam_at_merge: AdamAtMerge,
    /// Evaluate every RL strategy along its run, at every IterativeRS merge round's iteration
    /// count (`--curve`), for reward-against-KL curves.
    #[serde(default)]
    pub curve: bool,
    /// Run IterativeRS once per merge period m listed here (0 stands for m = T) instead of
    /// once with `budget.merge_every` (`--sweep-m`): the m ablation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep_m: Vec<usize>,
    /// Candidate learning rates (`--select-lr`): before the seeds, each RL strategy is trained
    /// once per candidate on a tuning seed and scored by the *training* rewards (never the
    /// evaluation oracles); the best candidate is that strategy's learning rate. Empty: `lr`
    /// and `expert_lr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lr_candidates: Vec<f64>,
    /// Which trained policies are kept under the results directory's `policies/`
    /// (`--save-policies`; default: every strategy × seed's final policy).
    #[serde(default, skip_serializing_if = "SavePolicies::is_default")]
    pub save_policies: SavePolicies,
}

/// Which trained policies a comparison keeps (`--save-policies`).
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
        }
    }

    /// Keep these trained policies.
    pub fn with_save_policies(mut self, save: SavePolicies) -> Self {
        self.save_policies = save;
        self
    }

    /// With an IterativeRS run per merge period in `ms` (0: m = T).
    pub fn with_sweep_m(mut self, ms: Vec<usize>) -> Self {
        self.sweep_m = ms;
        self
    }

    /// With this budget accounting.
    pub fn with_accounting(mut self, accounting: Accounting) -> Self {
        self.accounting = accounting;
        self
    }

    /// With this Adam-state policy at IterativeRS merges.
    pub fn with_adam_at_merge(mut self, policy: AdamAtMerge) -> Self {
        self.adam_at_merge = policy;
        self
    }

    /// With (or without) evaluations along every run.
    pub fn with_curve(mut self, curve: bool) -> Self {
        self.curve = curve;
        self
    }

    /// Steps per expert T of the plan for `n` objectives.
    pub fn steps_per_expert(&self, n: usize) -> usize {
        (self.budget.iterations / n.max(1)).max(1)
    }

    /// With these strategies.
    pub fn with_strategies(mut self, strategies: Vec<StrategyKind>) -> Self {
        self.strategies = strategies;
        self
    }

    /// With `seeds` seeds per strategy.
    pub fn with_seeds(mut self, seeds: usize) -> Self {
        self.seeds = seeds;
        self
    }

    /// With PPO learning rate `lr`.
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// With candidate learning rates chosen among on the training rewards
    /// ([`ComparisonConfig::lr_candidates`]).
    pub fn with_lr_candidates(mut self, candidates: Vec<f64>) -> Self {
        self.lr_candidates = candidates;
        self
    }

    /// With the experts' learning rate (IterativeRS, Rewarded Soups).
    pub fn with_expert_lr(mut self, lr: Option<f64>) -> Self {
        self.expert_lr = lr;
        self
    }

    /// With KL coefficient β.
    pub fn with_kl_coef(mut self, beta: f32) -> Self {
        self.kl_coef = beta;
        self
    }

    /// With this advantage estimator.
    pub fn with_estimator(mut self, estimator: EstimatorKind) -> Self {
        self.estimator = estimator;
        self
    }

    /// With RiC's settings.
    pub fn with_ric(mut self, ric: RicSettings) -> Self {
        self.ric = ric;
        self
    }

    /// With a checkpoint every `k` PPO iterations.
    pub fn with_checkpoint_every(mut self, k: usize) -> Self {
        self.checkpoint_every = k;
        self
    }

    /// With evaluation seed `seed`.
    pub fn with_eval_seed(mut self, seed: u64) -> Self {
        self.eval.seed = seed;
        self
    }

    /// Check every setting for `n` objectives; the error names the setting by its
    /// command-line flag and says what is wrong in a sentence.
    pub fn validate(&self, n: usize) -> Result<(), ExperimentError> {
        let b = &self.budget;
        let at_least = |flag: &'static str, v: usize, min: usize, what: &str| {
            if v < min {
                Err(ExperimentError::setting(
                    flag,
                    format!("is {v}; {what} must be at least {min}"),
                ))
            } else {
                Ok(())
            }
        };
        at_least("seeds", self.seeds, 1, "the number of seeds")?;
        if self.strategies.is_empty() {
            return Err(ExperimentError::setting(
                "strategies",
                "names no strategy".into(),
            ));
        }
        at_least(
            "iterations",
            b.iterations,
            n.max(1),
            &format!("PPO iterations per strategy ({n} objectives, one per expert at least)"),
        )?;
        at_least("samples", b.samples, 1, "samples per PPO iteration")?;
        at_least("merge-every", b.merge_every, 1, "the merge period m")?;
        at_least("max-new-tokens", b.max_new_tokens, 1, "tokens per sample")?;
        at_least("ppo-epochs", b.epochs, 1, "PPO epochs per iteration")?;
        at_least("minibatches", b.minibatches, 1, "PPO minibatches per epoch")?;
        if b.minibatches > b.samples {
            return Err(ExperimentError::setting(
                "minibatches",
                format!(
                    "is {} but an iteration has only {} samples",
                    b.minibatches, b.samples
                ),
            ));
        }
        if let Estimator::Group { size, .. } = self.estimator.estimator()
            && !b.samples.is_multiple_of(size)
        {
            return Err(ExperimentError::setting(
                "samples",
                format!(
                    "is {}; the RLOO estimator needs a multiple of its group size {size}",
                    b.samples
                ),
            ));
        }
        at_least(
            "eval-samples",
            self.eval.samples,
            1,
            "evaluation samples per policy",
        )?;
        at_least(
            "checkpoint-every",
            self.checkpoint_every,
            1,
            "the checkpoint period",
        )?;
        let positive = |flag: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ExperimentError::setting(
                    flag,
                    format!("is {v}; a learning rate must be positive and finite"),
                ))
            }
        };
        positive("lr", self.lr)?;
        if let Some(lr) = self.expert_lr {
            positive("expert-lr", lr)?;
        }
        positive("ric-lr", self.ric.lr)?;
        for &lr in &self.lr_candidates {
            positive("select-lr", lr)?;
        }
        if !(self.kl_coef.is_finite() && self.kl_coef >= 0.0) {
            return Err(ExperimentError::setting(
                "kl-coef",
                format!(
                    "is {}; the KL coefficient must be finite and ≥ 0",
                    self.kl_coef
                ),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(ExperimentError::setting(
                "weight-decay",
                format!("is {}; it must be finite and ≥ 0", self.weight_decay),
            ));
        }
        if self.strategies.contains(&StrategyKind::Ric) {
            at_least("ric-bins", self.ric.bins, 2, "RiC's bins per objective")?;
            for s in self.plan(n) {
                if let Strategy::Ric(c) = s {
                    c.validate(n)
                        .map_err(|e| ExperimentError::setting("ric-target", e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// PPO learning rate of `strategy`: the experts' rate for IterativeRS and Rewarded Soups
    /// when set, else `lr`.
    pub fn lr_of(&self, strategy: &Strategy) -> f64 {
        match strategy {
            Strategy::IterativeRs { .. } | Strategy::RewardedSoups { .. } => {
                self.expert_lr.unwrap_or(self.lr)
            }
            _ => self.lr,
        }
    }

    /// The strategies with equal budgets for `n` objectives: every RL strategy gets
    /// `iterations` PPO iterations (IterativeRS and Rewarded Soups split them over the `n`
    /// experts); RiC gets as many generated samples and optimiser updates, split evenly over
    /// its offline round and its online rounds. Call [`ComparisonConfig::validate`] first.
    pub fn plan(&self, n: usize) -> Vec<Strategy> {
        let b = &self.budget;
        let per_expert = self.steps_per_expert(n);
        // MORLHF's steps (and RiC's share of samples) under each accounting.
        let single = match self.accounting {
            Accounting::Samples => per_expert * n,
            Accounting::Steps => per_expert,
        };
        let keep = self.adam_at_merge == AdamAtMerge::Keep;
        let irs = |m: usize| {
            let m = if m == 0 {
                per_expert
            } else {
                m.min(per_expert)
            };
            Strategy::iterative_rs(per_expert, m, n).with_keep_optimizer(keep)
        };
        let mut periods: Vec<usize> = match self.sweep_m.is_empty() {
            true => vec![b.merge_every],
            false => self.sweep_m.clone(),
        };
        // One run per distinct m (m = T and a period beyond T are the same run).
        periods.dedup_by_key(|m| {
            if *m == 0 {
                per_expert
            } else {
                (*m).min(per_expert)
            }
        });
        self.strategies
            .iter()
            .flat_map(|kind| match kind {
                StrategyKind::IterativeRs => periods.iter().map(|&m| irs(m)).collect(),
                other => vec![self.plan_one(*other, n, per_expert, single)],
            })
            .collect()
    }

    /// The strategy of `kind` other than IterativeRS under the plan's budgets.
    fn plan_one(&self, kind: StrategyKind, n: usize, per_expert: usize, single: usize) -> Strategy {
        let b = &self.budget;
        match kind {
            StrategyKind::IterativeRs => Strategy::iterative_rs(per_expert, b.merge_every, n),
            StrategyKind::Morlhf => Strategy::Morlhf { steps: single },
            StrategyKind::RewardedSoups => Strategy::rewarded_soups(per_expert),
            StrategyKind::Ric => {
                let rounds = self.ric.rounds + 1;
                let total = single * b.samples;
                let updates = single * b.epochs * b.minibatches;
                Strategy::Ric(RicConfig {
                    offline_samples: total / rounds,
                    online_samples: total / rounds,
                    online_rounds: self.ric.rounds,
                    bins: self.ric.bins,
                    sft: LmTrainingConfig {
                        steps: (updates / rounds).max(1),
                        batch_size: 32,
                        lr: self.ric.lr,
                        warmup: 5,
                        eval_every: usize::MAX,
                        progress: false,
                        ..Default::default()
                    },
                    target: self.ric.target.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ComparisonConfig {
        ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), 8)
    }

    #[test]
    fn every_bad_setting_names_its_flag() {
        let cases: Vec<(ComparisonConfig, &str)> = vec![
            (config().with_seeds(0), "--seeds"),
            (config().with_lr(f64::NAN), "--lr"),
            (config().with_lr(-1.0), "--lr"),
            (config().with_expert_lr(Some(0.0)), "--expert-lr"),
            (config().with_kl_coef(-5.0), "--kl-coef"),
            (config().with_checkpoint_every(0), "--checkpoint-every"),
            (config().with_strategies(vec![]), "--strategies"),
            (
                config().with_ric(RicSettings {
                    bins: 1,
                    ..Default::default()
                }),
                "--ric-bins",
            ),
            (
                config().with_ric(RicSettings {
                    lr: f64::INFINITY,
                    ..Default::default()
                }),
                "--ric-lr",
            ),
            (ComparisonConfig::new(Budget::new(0, 16), 8), "--iterations"),
            (ComparisonConfig::new(Budget::new(2, 16), 8), "--iterations"),
            (ComparisonConfig::new(Budget::new(6, 12), 8), "--samples"),
            (
                ComparisonConfig::new(Budget::new(6, 16), 0),
                "--eval-samples",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_merge_every(0), 8),
                "--merge-every",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_updates(0, 1), 8),
                "--ppo-epochs",
            ),
        ];
        for (c, flag) in cases {
            let e = c.validate(3).expect_err(flag).to_string();
            assert!(e.starts_with(&format!("{flag} ")), "{flag}: {e}");
        }
        config().validate(3).unwrap();
    }

    #[test]
    fn equal_budgets() {
        let plan = config().plan(3);
        assert_eq!(plan.len(), 4);
        let iterations: Vec<usize> = plan[..3].iter().map(|s| s.iterations(3)).collect();
        assert_eq!(iterations, vec![6, 6, 6]);
        let Strategy::Ric(ric) = &plan[3] else {
            panic!("RiC last")
        };
        assert_eq!(ric.offline_samples + ric.online_samples, 6 * 16);
        assert_eq!(
            StrategyKind::parse_list("soups, ric").unwrap(),
            vec![StrategyKind::RewardedSoups, StrategyKind::Ric]
        );
        assert!(
            StrategyKind::parse_list("soup")
                .unwrap_err()
                .to_string()
                .contains("--strategies")
        );
    }

    /// Equal samples gives MORLHF N·T steps; the paper's equal steps gives it T, and RiC
    /// MORLHF's samples, while IterativeRS and Rewarded Soups keep T steps per expert.
    #[test]
    fn accounting_sets_the_single_policy_budgets() {
        let c = ComparisonConfig::new(Budget::new(30, 16), 8);
        let steps_of = |c: &ComparisonConfig| -> Vec<usize> {
            c.plan(3).iter().map(|s| s.iterations(3)).collect()
        };
        assert_eq!(steps_of(&c)[..3], [30, 30, 30]);
        let paper = c.clone().with_accounting(Accounting::Steps);
        assert_eq!(steps_of(&paper)[..3], [30, 10, 30]);
        let ric = |c: &ComparisonConfig| match c.plan(3).pop() {
            Some(Strategy::Ric(r)) => r.offline_samples + r.online_samples,
            _ => unreachable!("RiC is planned last"),
        };
        assert_eq!(ric(&c), 30 * 16);
        assert_eq!(ric(&paper), 10 * 16);
        assert!(
            paper
                .accounting
                .describe(10, 3)
                .contains("equal algorithmic steps T = 10")
        );
    }

    /// A sweep plans one IterativeRS per distinct m (T and beyond collapse), Adam's policy
    /// carried into each.
    #[test]
    fn sweep_plans_one_iterative_rs_per_period() {
        let c = ComparisonConfig::new(Budget::new(24, 16), 8)
            .with_strategies(vec![StrategyKind::IterativeRs, StrategyKind::Morlhf])
            .with_sweep_m(vec![1, 2, 4, 8, 0])
            .with_adam_at_merge(AdamAtMerge::Keep);
        let periods: Vec<(usize, bool)> = c
            .plan(3)
            .iter()
            .filter_map(|s| match s {
                Strategy::IterativeRs {
                    merge_every,
                    keep_optimizer,
                    ..
                } => Some((*merge_every, *keep_optimizer)),
                _ => None,
            })
            .collect();
        assert_eq!(periods, [(1, true), (2, true), (4, true), (8, true)]);
        assert_eq!(c.plan(3).len(), 5);
    }
}
