//! [`ComparisonConfig::validate`]: every setting checked before anything is trained, each
//! error naming its field (`budget.iterations`, `ric.bins`, …) and saying what is wrong in a
//! sentence. The command line maps fields to its flags (`multireward::cli`, feature `cli`).

use super::config::{ComparisonConfig, StrategyKind};
use super::error::ExperimentError;
use crate::rl::Estimator;
use crate::strategy::Strategy;

/// `Ok` when `v ≥ min`; otherwise an error of `field` saying `what` must be at least `min`.
fn at_least(field: &'static str, v: usize, min: usize, what: &str) -> Result<(), ExperimentError> {
    match v < min {
        true => Err(ExperimentError::setting(
            field,
            format!("is {v}; {what} must be at least {min}"),
        )),
        false => Ok(()),
    }
}

/// `Ok` when the learning rate `v` of `field` is positive and finite.
fn positive(field: &'static str, v: f64) -> Result<(), ExperimentError> {
    match v.is_finite() && v > 0.0 {
        true => Ok(()),
        false => Err(ExperimentError::setting(
            field,
            format!("is {v}; a learning rate must be positive and finite"),
        )),
    }
}

/// `Ok` when `v` of `field` is finite and ≥ 0 (`what` names it in the error).
fn non_negative(field: &'static str, v: f32, what: &str) -> Result<(), ExperimentError> {
    match v.is_finite() && v >= 0.0 {
        true => Ok(()),
        false => Err(ExperimentError::setting(
            field,
            format!("is {v}; {what} must be finite and ≥ 0"),
        )),
    }
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
        if self.strategies.contains(&StrategyKind::Ric) {
            at_least("ric.bins", self.ric.bins, 2, "RiC's bins per objective")?;
            for s in self.plan(n) {
                if let Strategy::Ric(c) = s {
                    c.validate(n)
                        .map_err(|e| ExperimentError::setting("ric.target", e.to_string()))?;
                }
            }
        }
        Ok(())
    }
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
                ComparisonConfig::new(Budget::new(6, 12), 8),
                "budget.samples",
            ),
            (ComparisonConfig::new(Budget::new(6, 16), 0), "eval.samples"),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_merge_every(0), 8),
                "budget.merge_every",
            ),
            (
                ComparisonConfig::new(Budget::new(6, 16).with_updates(0, 1), 8),
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
