//! [`ComparisonConfig::validate`]: every setting checked before anything is trained, each
//! error naming its field (`budget.iterations`, `ric.bins`, …) and saying what is wrong in a
//! sentence. The command line maps fields to its flags (`multireward::cli`, feature `cli`).

use super::config::{ComparisonConfig, StrategyKind};
use super::error::ExperimentError;
use crate::limits::{Checks, SettingError};
use crate::rl::Estimator;
use crate::strategy::Strategy;

/// The range checks of [`crate::limits`], naming the comparison's field.
const CHECKS: Checks = Checks("ComparisonConfig");

/// A [`SettingError`] of the comparison as its own error (the field and the sentence).
fn setting(e: SettingError) -> ExperimentError {
    ExperimentError::setting(e.field, e.message)
}

/// `Ok` when `v ≥ min`; otherwise an error of `field` saying `what` must be at least `min`.
fn at_least(field: &'static str, v: usize, min: usize, what: &str) -> Result<(), ExperimentError> {
    CHECKS.at_least(field, v, min, what).map_err(setting)
}

/// `Ok` when the learning rate `v` of `field` is finite and > 0.
fn positive(field: &'static str, v: f64) -> Result<(), ExperimentError> {
    CHECKS
        .positive(field, v, "a learning rate")
        .map_err(setting)
}

/// `Ok` when `v` of `field` is finite and ≥ 0 (`what` names it in the error).
fn non_negative(field: &'static str, v: f32, what: &str) -> Result<(), ExperimentError> {
    CHECKS.non_negative(field, v, what).map_err(setting)
}

impl ComparisonConfig {
    /// Check every setting for `n` objectives; the error names the setting's field and says
    /// what is wrong in a sentence.
    pub fn validate(&self, n: usize) -> Result<(), ExperimentError> {
        let b = &self.budget;
        at_least("seeds", self.seeds, 1, "the number of seeds")?;
        if self.strategies.is_empty() {
            return Err(ExperimentError::setting(
                "strategies",
                "names no strategy".into(),
            ));
        }
        if let Some(k) =
            (self.strategies.iter()).find(|k| self.strategies.iter().filter(|o| o == k).count() > 1)
        {
            return Err(ExperimentError::setting(
                "strategies",
                format!(
                    "lists {} twice; each strategy runs once per seed (for repeats, raise the \
                     seeds)",
                    k.short_name()
                ),
            ));
        }
        let iterations =
            format!("PPO iterations per strategy ({n} objectives, one per expert at least)");
        at_least("budget.iterations", b.iterations, n.max(1), &iterations)?;
        at_least("budget.samples", b.samples, 1, "samples per PPO iteration")?;
        at_least("budget.merge_every", b.merge_every, 1, "the merge period m")?;
        at_least(
            "budget.max_new_tokens",
            b.max_new_tokens,
            1,
            "tokens per sample",
        )?;
        at_least("budget.epochs", b.epochs, 1, "PPO epochs per iteration")?;
        at_least(
            "budget.minibatches",
            b.minibatches,
            1,
            "PPO minibatches per epoch",
        )?;
        if b.minibatches > b.samples {
            return Err(ExperimentError::setting(
                "budget.minibatches",
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
                "budget.samples",
                format!(
                    "is {}; the RLOO estimator needs a multiple of its group size {size}",
                    b.samples
                ),
            ));
        }
        self.check_periods(n)?;
        let per_policy = "evaluation samples per policy";
        at_least("eval.samples", self.eval.samples, 1, per_policy)?;
        let period = "the checkpoint period";
        at_least("checkpoint_every", self.checkpoint_every, 1, period)?;
        positive("lr", self.lr)?;
        if let Some(lr) = self.expert_lr {
            positive("expert_lr", lr)?;
        }
        positive("ric.lr", self.ric.lr)?;
        for &lr in &self.lr_candidates {
            positive("lr_candidates", lr)?;
        }
        non_negative("kl_coef", self.kl_coef, "the KL coefficient")?;
        non_negative("weight_decay", self.weight_decay, "the weight decay")?;
        self.check_sizes(n)?;
        if self.strategies.contains(&StrategyKind::Ric) {
            at_least("ric.bins", self.ric.bins, 2, "RiC's bins per objective")?;
            for s in self.plan(n) {
                if let Strategy::Ric(c) = s {
                    c.validate(n).map_err(ric_setting)?;
                }
            }
        }
        Ok(())
    }

    /// IterativeRS's merge periods: m ≤ T (m ≥ T is Rewarded Soups; the sweep's `T` stands
    /// for m = T), each listed once.
    fn check_periods(&self, n: usize) -> Result<(), ExperimentError> {
        if !self.strategies.contains(&StrategyKind::IterativeRs) {
            return Ok(());
        }
        let t = self.steps_per_expert(n);
        let beyond = || {
            format!(
                "more than IterativeRS's T = {t} steps per expert ({} iterations over \
                 {n} objectives): m ≥ T is Rewarded Soups; lower it or raise the iterations",
                self.budget.iterations
            )
        };
        let m = self.budget.merge_every;
        if self.sweep_m.is_empty() && m > t {
            let message = format!("is {m}, {}", beyond());
            return Err(ExperimentError::setting("budget.merge_every", message));
        }
        let mut seen = Vec::new();
        for &m in &self.sweep_m {
            if m > t {
                let message = format!("has m = {m}, {}", beyond());
                return Err(ExperimentError::setting("sweep_m", message));
            }
            let m = if m == 0 { t } else { m };
            if seen.contains(&m) {
                return Err(ExperimentError::setting(
                    "sweep_m",
                    format!("lists m = {m} twice (T = {t}); list each merge period once"),
                ));
            }
            seen.push(m);
        }
        Ok(())
    }
}

/// A planned RiC's settings error as the comparison's setting it comes from.
fn ric_setting(e: crate::strategy::StrategyError) -> ExperimentError {
    let crate::strategy::StrategyError::Setting(s) = &e else {
        return ExperimentError::setting("ric.target", e.to_string());
    };
    let field = match s.field {
        "bins" => "ric.bins",
        "online_rounds" => "ric.rounds",
        "sft.lr" => "ric.lr",
        "offline_samples" | "online_samples" => "budget.samples",
        _ => "ric.target",
    };
    ExperimentError::setting(field, s.message.clone())
}

#[cfg(test)]
mod tests {
    use super::super::budget::Budget;
    use super::super::config::RicSettings;
    use super::*;

    fn config() -> ComparisonConfig {
        ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), 8)
    }

    #[test]
    fn every_bad_setting_names_its_field() {
        let ric = |bins, lr| RicSettings::new().with_bins(bins).with_lr(lr);
        let cases: Vec<(ComparisonConfig, &str)> = vec![
            (config().with_seeds(0), "seeds"),
            (config().with_lr(f64::NAN), "lr"),
            (config().with_lr(-1.0), "lr"),
            (config().with_expert_lr(Some(0.0)), "expert_lr"),
            (config().with_kl_coef(-5.0), "kl_coef"),
            (config().with_weight_decay(f32::NAN), "weight_decay"),
            (config().with_checkpoint_every(0), "checkpoint_every"),
            (config().with_strategies(vec![]), "strategies"),
            (config().with_ric(ric(1, 1e-3)), "ric.bins"),
            (config().with_ric(ric(4, f64::INFINITY)), "ric.lr"),
            (config().with_lr_candidates(vec![0.0]), "lr_candidates"),
            (
                ComparisonConfig::new(Budget::new(0, 16), 8),
                "budget.iterations",
            ),
            (
                ComparisonConfig::new(Budget::new(2, 16), 8),
                "budget.iterations",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 12).with_merge_every(1), 8),
                "budget.samples",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), 0),
                "eval.samples",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_merge_every(0), 8),
                "budget.merge_every",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1).with_updates(0, 1), 8),
                "budget.epochs",
            ),
        ];
        for (c, field) in cases {
            let e = c.validate(3).expect_err(field);
            assert!(
                matches!(&e, ExperimentError::Setting { field: f, .. } if *f == field),
                "{field}: {e}"
            );
            assert!(e.to_string().starts_with(&format!("{field} ")), "{e}");
        }
        config().validate(3).unwrap();
    }
}
