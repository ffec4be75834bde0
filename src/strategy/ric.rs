//! RiC (Rewards-in-Context, Yang et al., 2024), the paper's supervised baseline: label samples
//! with their rewards as conditioning tokens, fine-tune on them (causal LM), and sample
//! conditioned on the desired rewards.
//!
//! The policy's vocabulary is extended with `N × bins` conditioning tokens (one per objective
//! and reward quantile bin) placed after BOS: `[BOS] <r₀=b₀> … <r_{N−1}=b_{N−1}> prompt…
//! response [EOS]`. Bin edges are the per-objective quantiles of the offline data's rewards.
//! Online rounds sample conditioned on the target bins, keep the Pareto-efficient samples and
//! fine-tune again (RiC's online stage).

use super::{Budget, Collected, Learner, RunOutput, StepRecord, StepReport, StrategyError};
use crate::eval::metrics::pareto_front;
use crate::policy::Policy;
use crate::tokenizer::EOS;
use crate::train::{LmTrainer, LmTrainingConfig};

/// RiC settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RicConfig {
    /// Samples drawn from the reference policy and labelled (the offline data).
    pub offline_samples: usize,
    /// Quantile bins per objective (conditioning tokens per objective).
    pub bins: usize,
    /// Supervised fine-tuning on the labelled data, per round.
    pub sft: LmTrainingConfig,
    /// Online rounds after the offline one.
    pub online_rounds: usize,
    /// Samples generated per online round (their Pareto front joins the data).
    pub online_samples: usize,
    /// Bin per objective to condition on when sampling (`None`: the top bin for every
    /// objective, i.e. "as good as possible on all").
    pub target: Option<Vec<usize>>,
}

impl Default for RicConfig {
    fn default() -> Self {
        Self {
            offline_samples: 512,
            bins: 5,
            sft: LmTrainingConfig {
                steps: 100,
                batch_size: 32,
                lr: 1e-4,
                warmup: 10,
                eval_every: 100,
                progress: false,
                ..Default::default()
            },
            online_rounds: 1,
            online_samples: 256,
            target: None,
        }
    }
}

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

/// `[BOS] cond… rest-of-prompt`.
fn conditioned(prompt: &[u32], cond: &[u32]) -> Vec<u32> {
    let mut row = Vec::with_capacity(prompt.len() + cond.len());
    row.extend_from_slice(&prompt[..1]);
    row.extend_from_slice(cond);
    row.extend_from_slice(&prompt[1..]);
    row
}

/// Run RiC from `reference`; the output's `condition` holds the conditioning tokens to place
/// after BOS when sampling from the returned policy.
pub(super) fn ric<P: Policy, L: Learner<P>>(
    reference: &P,
    learner: &mut L,
    seed: u64,
    cfg: &RicConfig,
) -> Result<RunOutput<P>, StrategyError> {
    let n = learner.objectives();
    if cfg.bins < 2 || cfg.offline_samples == 0 {
        return Err(StrategyError::BadConfig(
            "RiC needs bins ≥ 2 and offline_samples ≥ 1".into(),
        ));
    }
    let base = reference.vocab_size();
    let prompts = learner.prompts();
    let target = match &cfg.target {
        Some(t) if t.len() == n && t.iter().all(|&b| b < cfg.bins) => t.clone(),
        Some(t) => {
            return Err(StrategyError::BadConfig(format!(
                "target {t:?} needs {n} bins below {}",
                cfg.bins
            )));
        }
        None => vec![cfg.bins - 1; n],
    };
    let target_tokens: Vec<u32> = target
        .iter()
        .enumerate()
        .map(|(i, &b)| (base + i * cfg.bins + b) as u32)
        .collect();
    let mut budget = Budget::default();
    let mut log = Vec::new();

    // Offline data: samples of the reference with their rewards.
    let prompt_of: Vec<usize> = (0..cfg.offline_samples)
        .map(|i| i % prompts.len())
        .collect();
    let rows: Vec<Vec<u32>> = prompt_of.iter().map(|&i| prompts[i].clone()).collect();
    let Collected { responses, values } =
        learner.collect(&reference.valid(), &rows, &prompt_of, seed, None)?;
    budget.samples += responses.len();
    let edges = quantile_edges(&values, n, cfg.bins);
    // A labelled training row: [BOS] cond… prompt… response [EOS].
    let label = |prompt: usize, response: &[u32], values: &[f64]| {
        let cond = condition(values, &edges, cfg.bins, base);
        let mut row = conditioned(&prompts[prompt], &cond);
        row.extend_from_slice(response);
        row.push(EOS);
        row
    };
    let mut data: Vec<Vec<u32>> = (0..responses.len())
        .map(|j| label(prompt_of[j], &responses[j], &values[j]))
        .collect();

    let mut policy = reference.with_extra_tokens(n * cfg.bins).train();
    let vocab = policy.vocab_size();
    for round in 0..=cfg.online_rounds {
        let trainer = LmTrainer::new(LmTrainingConfig {
            seed: cfg.sft.seed ^ seed ^ round as u64,
            ..cfg.sft.clone()
        });
        let (trained, report) = trainer.fit(policy, &data, &[], vocab)?;
        policy = trained;
        budget.iterations += 1;
        budget.updates += cfg.sft.steps;
        let mut step = StepReport {
            optimised: report.train_loss.last().map_or(f64::NAN, |x| x.1),
            samples: data.len(),
            updates: cfg.sft.steps,
            ..Default::default()
        };
        if round < cfg.online_rounds {
            // Online: sample conditioned on the target, keep the Pareto-efficient samples.
            let prompt_of: Vec<usize> =
                (0..cfg.online_samples).map(|i| i % prompts.len()).collect();
            let rows: Vec<Vec<u32>> = prompt_of
                .iter()
                .map(|&i| conditioned(&prompts[i], &target_tokens))
                .collect();
            let Collected { responses, values } = learner.collect(
                &policy.valid(),
                &rows,
                &prompt_of,
                seed.wrapping_add(round as u64 + 1),
                Some(base),
            )?;
            budget.samples += responses.len();
            step.samples += responses.len();
            for j in pareto_front(&values).unwrap_or_default() {
                data.push(label(prompt_of[j], &responses[j], &values[j]));
            }
        }
        log.push(StepRecord {
            step: round + 1,
            expert: None,
            round,
            report: step,
        });
    }
    Ok(RunOutput {
        policy,
        experts: Vec::new(),
        budget,
        log,
        completed: true,
        condition: target_tokens,
    })
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
}
