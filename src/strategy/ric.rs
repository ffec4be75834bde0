//! RiC (Rewards-in-Context, Yang et al., 2024), the paper's supervised baseline: label samples
//! with their rewards as conditioning tokens, fine-tune on them (causal LM), and sample
//! conditioned on the desired rewards.
//!
//! The policy's vocabulary is extended with `N × bins` conditioning tokens (one per objective
//! and reward quantile bin) placed after BOS: `[BOS] <r₀=b₀> … <r_{N−1}=b_{N−1}> prompt…
//! response [EOS]`. Bin edges are the per-objective quantiles of the offline data's rewards.
//! Online rounds sample conditioned on the target bins, keep the Pareto-efficient samples and
//! fine-tune again (RiC's online stage).

use super::books::Books;
use super::error::StrategyError;
use super::learner::{Collected, Collector};
use super::output::{Conditioning, RunOutput};
use super::progress::Progress;
use super::ric_settings::{RicConfig, RicTarget};
use super::step::{StepContext, StepReport};
use crate::eval::metrics::pareto_front;
use crate::policy::Policy;
use crate::policy::lora::LoraConfig;
use crate::tokenizer::EOS;
use crate::train::{LmTrainer, LmTrainingConfig};

/// Conditioning tokens of `values` for a policy whose original vocabulary is `base`.
fn condition(values: &[f64], edges: &[Vec<f64>], bins: usize, base: usize) -> Vec<u32> {
    values
        .iter()
        .zip(edges)
        .enumerate()
        .map(|(i, (&v, e))| (base + i * bins + e.iter().filter(|&&x| v > x).count()) as u32)
        .collect()
}

/// Per-objective quantile edges (`bins − 1` each) of `values` `[sample][objective]`.
fn quantile_edges(values: &[Vec<f64>], n: usize, bins: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            let mut col: Vec<f64> = values.iter().map(|r| r[i]).collect();
            col.sort_by(f64::total_cmp);
            (1..bins)
                .map(|k| col[((k * col.len()) / bins).min(col.len().saturating_sub(1))])
                .collect()
        })
        .collect()
}

/// Conditioning tokens of the bin combination with the best mean objective average among
/// those holding at least `min_fraction` of `values` (the most populated one if none does).
fn best_supported(
    values: &[Vec<f64>],
    edges: &[Vec<f64>],
    bins: usize,
    base: usize,
    min_fraction: f64,
) -> Vec<u32> {
    let mut cells: std::collections::BTreeMap<Vec<u32>, (usize, f64)> = Default::default();
    for v in values {
        let avg = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let cell = cells.entry(condition(v, edges, bins, base)).or_default();
        cell.0 += 1;
        cell.1 += avg;
    }
    let need = (min_fraction * values.len() as f64).ceil() as usize;
    let supported = cells.iter().filter(|(_, (count, _))| *count >= need.max(1));
    supported
        .max_by(|a, b| (a.1.1 / a.1.0 as f64).total_cmp(&(b.1.1 / b.1.0 as f64)))
        .or_else(|| cells.iter().max_by_key(|(_, (count, _))| *count))
        .map(|(tokens, _)| tokens.clone())
        .unwrap_or_default()
}

/// `[BOS] cond… rest-of-prompt`.
fn conditioned(prompt: &[u32], cond: &[u32]) -> Vec<u32> {
    let mut row = Vec::with_capacity(prompt.len() + cond.len());
    row.extend_from_slice(&prompt[..1]);
    row.extend_from_slice(cond);
    row.extend_from_slice(&prompt[1..]);
    row
}

/// RiC's part of a checkpoint (its slot in [`Progress`]): the labelled data so far and the
/// conditioning.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct RicState {
    /// Labelled training rows, `[BOS] cond… prompt… response [EOS]`.
    pub data: Vec<Vec<u32>>,
    /// Per-objective quantile edges of the offline rewards.
    pub edges: Vec<Vec<f64>>,
    /// The conditioning tokens sampled with (placed after BOS).
    pub target: Vec<u32>,
}

impl RicState {
    /// How a policy trained on this data is sampled.
    fn conditioning(self) -> Conditioning {
        Conditioning {
            tokens: self.target,
            edges: self.edges,
        }
    }
}

/// RiC's run state: its slot holds the labelled data once the offline round is done.
pub(super) type RicProgress<P> = Progress<P, Option<RicState>>;

/// The offline round: samples of the reference labelled with their rewards, the bin edges and
/// the target conditioning; and the policy with the conditioning tokens added.
fn offline<P: Policy, L: Collector<P>>(
    reference: &P,
    learner: &mut L,
    seed: u64,
    cfg: &RicConfig,
) -> Result<(RicState, P), StrategyError> {
    let n = learner.objectives();
    let base = reference.vocab_size();
    let prompts = learner.prompts();
    let prompt_of: Vec<usize> = (0..cfg.offline_samples)
        .map(|i| i % prompts.len())
        .collect();
    let rows: Vec<Vec<u32>> = prompt_of.iter().map(|&i| prompts[i].clone()).collect();
    let Collected { responses, values } =
        learner.collect(&reference.valid(), &rows, &prompt_of, seed, None)?;
    let edges = quantile_edges(&values, n, cfg.bins);
    let target: Vec<u32> = match &cfg.target {
        RicTarget::Top => (0..n)
            .map(|i| (base + i * cfg.bins + cfg.bins - 1) as u32)
            .collect(),
        RicTarget::Bins(t) => t
            .iter()
            .enumerate()
            .map(|(i, &b)| (base + i * cfg.bins + b) as u32)
            .collect(),
        RicTarget::BestSupported { min_fraction } => {
            best_supported(&values, &edges, cfg.bins, base, *min_fraction)
        }
    };
    let mut state = RicState {
        data: Vec::new(),
        edges,
        target,
    };
    for j in 0..responses.len() {
        let row = state.label(&prompts[prompt_of[j]], &responses[j], &values[j], cfg, base);
        state.data.push(row);
    }
    let policy = extended(reference, seed, n * cfg.bins, learner.adapters())?;
    Ok((state, policy))
}

/// `reference` with `extra` conditioning tokens, their embeddings drawn from the run's seed
/// (so that a run is reproducible, whatever else uses the device). With LoRA `adapters`, it
/// fine-tunes adapters on its frozen weights and, for the new tokens, its token embedding and
/// LM head (PEFT's `modules_to_save`).
pub(super) fn extended<P: Policy>(
    reference: &P,
    seed: u64,
    extra: usize,
    adapters: Option<&LoraConfig>,
) -> Result<P, StrategyError> {
    let policy = reference.with_extra_tokens(extra, seed)?;
    let policy = match adapters {
        Some(cfg) => policy.with_lora(&cfg.clone().with_train_embeddings(true), seed)?,
        None => policy,
    };
    Ok(policy.train())
}

impl RicState {
    /// A labelled training row: `[BOS] cond… prompt… response [EOS]`.
    fn label(
        &self,
        prompt: &[u32],
        response: &[u32],
        values: &[f64],
        cfg: &RicConfig,
        base: usize,
    ) -> Vec<u32> {
        let cond = condition(values, &self.edges, cfg.bins, base);
        let mut row = conditioned(prompt, &cond);
        row.extend_from_slice(response);
        row.push(EOS);
        row
    }
}

/// Continue a RiC run: the offline round if not done yet, then each remaining supervised
/// round (fine-tune; in online rounds, sample conditioned on the target and add the Pareto
/// front to the data), checkpointing after each. The output's [`Conditioning`] holds the
/// conditioning tokens to place after BOS when sampling from the returned policy.
pub(super) fn run<P: Policy, L: Collector<P>>(
    learner: &mut L,
    seed: u64,
    cfg: &RicConfig,
    mut run: RicProgress<P>,
    mut books: Books<'_, '_, P>,
) -> Result<RunOutput<P>, StrategyError> {
    let n = learner.objectives();
    cfg.validate(n)?;
    let reference = books.reference();
    let base = reference.vocab_size();
    let prompts = learner.prompts();
    // Samples generated in the round being run (the offline ones count to round 0).
    let mut generated = 0;
    if run.own.is_none() {
        let (state, policy) = offline(reference, learner, seed, cfg)?;
        generated = state.data.len();
        run.own = Some(state);
        run.merged = Some(policy);
    }
    for round in run.round..=cfg.online_rounds {
        let (Some(state), Some(policy)) = (run.own.as_mut(), run.merged.take()) else {
            return Err(StrategyError::Checkpoint(
                "a RiC run state without its data or policy".into(),
            ));
        };
        let vocab = policy.vocab_size();
        let trainer = LmTrainer::new(LmTrainingConfig {
            seed: cfg.sft.seed ^ seed ^ round as u64,
            ..cfg.sft.clone()
        });
        let (policy, report) = trainer.fit(policy, &state.data, &[], vocab)?;
        if round < cfg.online_rounds {
            // Online: sample conditioned on the target, keep the Pareto-efficient samples.
            let prompt_of: Vec<usize> =
                (0..cfg.online_samples).map(|i| i % prompts.len()).collect();
            let rows: Vec<Vec<u32>> = prompt_of
                .iter()
                .map(|&i| conditioned(&prompts[i], &state.target))
                .collect();
            let Collected { responses, values } = learner.collect(
                &policy.valid(),
                &rows,
                &prompt_of,
                seed.wrapping_add(round as u64 + 1),
                Some(base),
            )?;
            generated += responses.len();
            for j in pareto_front(&values).unwrap_or_default() {
                let row = state.label(&prompts[prompt_of[j]], &responses[j], &values[j], cfg, base);
                state.data.push(row);
            }
        }
        // One iteration per supervised round: its fine-tuning updates and the samples
        // generated for it.
        let ctx = StepContext {
            step: round + 1,
            expert: None,
            round,
            seed,
        };
        let step = StepReport {
            optimised: report.train_loss.last().map_or(f64::NAN, |x| x.1),
            samples: std::mem::take(&mut generated),
            updates: cfg.sft.steps,
            ..Default::default()
        };
        books.record(&mut run, &ctx, step)?;
        run.merged = Some(policy);
        run.round = round + 1;
        run.done = round + 1;
        // Every round is checkpointed (a round is many updates).
        if books.boundary(&mut run, learner, true)? && round < cfg.online_rounds {
            let policy = run.merged.take().expect("stored above");
            let conditioning = run.own.take().map(RicState::conditioning);
            return Ok(RunOutput::stopped(policy, run).conditioned(conditioning));
        }
    }
    let policy = run
        .merged
        .take()
        .ok_or_else(|| StrategyError::Checkpoint("a RiC run state without its policy".into()))?;
    let conditioning = run.own.take().map(RicState::conditioning);
    Ok(RunOutput::finished(policy, run).conditioned(conditioning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_and_conditioning() {
        let values: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64, 10.0 - i as f64]).collect();
        let edges = quantile_edges(&values, 2, 5);
        assert_eq!(edges[0], vec![2.0, 4.0, 6.0, 8.0]);
        // Objective 0 value 9 → top bin 4; objective 1 value 1 → bin 0; base vocab 20.
        assert_eq!(condition(&[9.0, 1.0], &edges, 5, 20), vec![24, 25]);
        assert_eq!(conditioned(&[1, 7, 8], &[30, 31]), vec![1, 30, 31, 7, 8]);
    }

    #[test]
    fn best_supported_skips_rare_combinations() {
        // Two anti-correlated objectives, 2 bins each: (high, high) occurs once (avg 5),
        // (high, low) eight times (avg 3), (low, high) once (avg 0), (low, low) ten times.
        let mut values = vec![vec![5.0, 5.0]];
        values.extend((0..8).map(|_| vec![6.0, 0.0]));
        values.push(vec![0.0, 0.5]);
        values.extend((0..10).map(|_| vec![0.0, 0.0]));
        let edges = vec![vec![1.0], vec![0.2]];
        // base vocab 10: objective 0 → 10/11, objective 1 → 12/13.
        assert_eq!(best_supported(&values, &edges, 2, 10, 0.0), vec![11, 13]);
        assert_eq!(best_supported(&values, &edges, 2, 10, 0.1), vec![11, 12]);
        // Nothing holds 90 %: the most populated combination.
        assert_eq!(best_supported(&values, &edges, 2, 10, 0.9), vec![10, 12]);
    }
}
