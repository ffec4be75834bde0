//! The run plan: [`ComparisonConfig::plan`] turns the settings into one [`Strategy`] per run
//! under equal budgets, [`labels`] names each in the report, and [`ComparisonConfig::lr_of`]
//! gives each its learning rate.

use super::budget::Accounting;
use super::config::AdapterMerge;
use super::config::{AdamAtMerge, ComparisonConfig, StrategyKind};
use crate::merge::MergeMethod;
use crate::strategy::{RicConfig, Strategy};
use crate::train::LmTrainingConfig;

impl ComparisonConfig {
    /// Steps per expert T of the plan for `n` objectives.
    pub fn steps_per_expert(&self, n: usize) -> usize {
        (self.budget.iterations / n.max(1)).max(1)
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

    /// MORLHF's steps (and RiC's share of samples, in iterations) under the accounting.
    fn single_steps(&self, n: usize) -> usize {
        let per_expert = self.steps_per_expert(n);
        match self.accounting {
            Accounting::Samples => per_expert.saturating_mul(n),
            Accounting::Steps => per_expert,
        }
    }

    /// The samples RiC generates in all (over its rounds), saturating.
    pub(super) fn ric_samples(&self, n: usize) -> u64 {
        (self.single_steps(n) as u64).saturating_mul(self.budget.samples as u64)
    }

    /// The strategies with equal budgets for `n` objectives: every RL strategy gets
    /// `iterations` PPO iterations (IterativeRS and Rewarded Soups split them over the `n`
    /// experts); RiC gets as many generated samples and optimiser updates, split evenly over
    /// its offline round and its online rounds. Call [`ComparisonConfig::validate`] first.
    pub fn plan(&self, n: usize) -> Vec<Strategy> {
        let b = &self.budget;
        let per_expert = self.steps_per_expert(n);
        let single = self.single_steps(n);
        let keep = self.adam_at_merge == AdamAtMerge::Keep;
        let irs = |m: usize| {
            let m = if m == 0 {
                per_expert
            } else {
                m.min(per_expert)
            };
            Strategy::iterative_rs(per_expert, m, n).with_keep_optimizer(keep)
        };
        let listed: Vec<usize> = match self.sweep_m.is_empty() {
            true => vec![b.merge_every],
            false => self.sweep_m.clone(),
        };
        // One run per distinct m, in the order listed (m = T and a period beyond T are the
        // same run; validate refuses both).
        let mut periods: Vec<usize> = Vec::new();
        for m in listed {
            let key = |m: usize| {
                if m == 0 {
                    per_expert
                } else {
                    m.min(per_expert)
                }
            };
            if !periods.iter().any(|&p| key(p) == key(m)) {
                periods.push(m);
            }
        }
        // LoRA experts merged by averaging their factors (Rewarded Soups' practice) instead of
        // folding their updates.
        let factors = self.lora.is_some() && self.adapter_merge == AdapterMerge::Factors;
        self.strategies
            .iter()
            .flat_map(|kind| match kind {
                StrategyKind::IterativeRs => periods.iter().map(|&m| irs(m)).collect(),
                other => vec![self.plan_one(*other, n, per_expert, single)],
            })
            .map(|s| match factors {
                true => s.with_merge(MergeMethod::AdapterFactors),
                false => s,
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
                let rounds = self.ric.rounds.saturating_add(1);
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

/// The report's label of each planned strategy: its name, with its merge period when the plan
/// holds several runs of the same strategy (an m sweep).
pub fn labels(plan: &[Strategy]) -> Vec<String> {
    plan.iter()
        .map(|s| {
            let twins = plan.iter().filter(|o| o.name() == s.name()).count();
            match s {
                Strategy::IterativeRs { merge_every, .. } if twins > 1 => {
                    format!("{} (m = {merge_every})", s.name())
                }
                _ => s.name().to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::budget::Budget;
    use super::*;

    fn config() -> ComparisonConfig {
        ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), 8)
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
                .starts_with("strategies \"soup\"")
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
