//! The sizes of a comparison, bounded before anything is allocated (part of
//! [`ComparisonConfig::validate`] and of the task's check): a rollout's buffers and the kept
//! evaluation samples within the machine's memory, the whole plan's sequences within
//! [`MAX_ROWS`], RiC's rounds and conditioning tokens within what its samples and the token ids
//! allow ([`crate::limits`] has the bounds). Each error names the field and gives the estimate.

use super::config::{ComparisonConfig, StrategyKind};
use super::error::ExperimentError;
use crate::limits::{MAX_ROWS, MAX_VOCAB, fits, product, too_large, within_work};

/// A [`ExperimentError::Setting`] of `field` when `bytes` do not fit in memory.
fn fit(field: &'static str, bytes: Option<u64>, estimate: &str) -> Result<(), ExperimentError> {
    match fits(bytes) {
        true => Ok(()),
        false => Err(ExperimentError::setting(field, too_large(bytes, estimate))),
    }
}

impl ComparisonConfig {
    /// Bound the sizes that need no policy: tokens and samples of a rollout, the kept
    /// evaluation samples, the plan's work and RiC's rounds, for `n` objectives.
    pub(super) fn check_sizes(&self, n: usize) -> Result<(), ExperimentError> {
        let b = &self.budget;
        let tokens = b.max_new_tokens;
        let ids = format!("a sample's {tokens} token ids × 4 bytes");
        fit("budget.max_new_tokens", product(&[tokens, 4]), &ids)?;
        let rollout = format!(
            "a rollout's {} samples × {tokens} token ids × 4 bytes",
            b.samples
        );
        fit("budget.samples", product(&[b.samples, tokens, 4]), &rollout)?;
        // Each evaluation sample is kept: its decoded texts (≥ 1 byte a token, two strings of
        // 24 bytes) and its KL and n oracle scores.
        let per_sample = tokens.saturating_add(48 + 8 * (n + 1));
        let kept = format!(
            "{} evaluation samples × {per_sample} bytes (texts and scores)",
            self.eval.samples
        );
        fit(
            "eval.samples",
            product(&[self.eval.samples, per_sample]),
            &kept,
        )?;
        self.check_work(n)?;
        if self.strategies.contains(&StrategyKind::Ric) {
            self.check_ric_rounds(n)?;
        }
        Ok(())
    }

    /// Bound what depends on the reference policy's vocabulary of `vocab` tokens: a rollout's
    /// logits, RiC's conditioning tokens.
    pub(super) fn check_sizes_for(&self, n: usize, vocab: usize) -> Result<(), ExperimentError> {
        let b = &self.budget;
        let logits = format!(
            "a rollout's logits ({} samples × {} tokens × {vocab} vocabulary × 4 bytes)",
            b.samples, b.max_new_tokens
        );
        let bytes = product(&[b.samples, b.max_new_tokens, vocab, 4]);
        fit("budget.samples", bytes, &logits)?;
        let bins = self.ric.bins;
        let total = product(&[n, bins]).and_then(|t| t.checked_add(vocab as u64));
        if self.strategies.contains(&StrategyKind::Ric) && total.is_none_or(|t| t > MAX_VOCAB) {
            return Err(ExperimentError::setting(
                "ric.bins",
                format!(
                    "is {bins}: {n} objectives × {bins} bins conditioning tokens after the \
                     policy's {vocab} exceed the {MAX_VOCAB} token ids there are; lower it"
                ),
            ));
        }
        Ok(())
    }

    /// The plan's sequences (every seed × run × iteration's samples, sampled once and trained
    /// on each epoch) within [`MAX_ROWS`]; the error names the largest factor.
    fn check_work(&self, n: usize) -> Result<(), ExperimentError> {
        let b = &self.budget;
        let runs = self.strategies.len() + self.sweep_m.len().saturating_sub(1);
        let passes = b.epochs.saturating_add(1);
        let rows = product(&[self.seeds, runs, b.iterations, b.samples, passes]);
        if within_work(rows) {
            return Ok(());
        }
        let factors = [
            ("seeds", self.seeds),
            ("budget.iterations", b.iterations),
            ("budget.samples", b.samples),
            ("budget.epochs", b.epochs),
        ];
        let (field, value) = factors
            .into_iter()
            .max_by_key(|(_, v)| *v)
            .unwrap_or(factors[0]);
        let rows = rows.map_or("more than 2⁶⁴".into(), |r| r.to_string());
        Err(ExperimentError::setting(
            field,
            format!(
                "is {value}: {} seeds × {runs} runs × {} iterations × {} samples × (1 + {} \
                 epochs) make {rows} sequences to sample and train on, more than the {MAX_ROWS} \
                 any comparison can finish ({n} objectives); lower it",
                self.seeds, b.iterations, b.samples, b.epochs
            ),
        ))
    }

    /// RiC splits its samples over its offline round and `ric.rounds` online rounds: each
    /// needs at least one.
    fn check_ric_rounds(&self, n: usize) -> Result<(), ExperimentError> {
        let rounds = self.ric.rounds;
        let total = self.ric_samples(n);
        if rounds.checked_add(1).is_none_or(|r| r as u64 > total) {
            return Err(ExperimentError::setting(
                "ric.rounds",
                format!(
                    "is {rounds}, but RiC's budget of {total} samples split over its offline \
                     round and {rounds} online rounds leaves a round none; lower it"
                ),
            ));
        }
        Ok(())
    }
}
