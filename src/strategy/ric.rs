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
    /// The bins to condition on when sampling.
    pub target: RicTarget,
}

/// Which reward bins a RiC policy is conditioned on when sampling.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RicTarget {
    /// The top bin of every objective: RiC's preference-to-reward mapping for uniform
    /// preferences ("as good as possible on all").
    #[default]
    Top,
    /// Fixed bins, one per objective.
    Bins(Vec<usize>),
    /// The bin combination whose offline samples have the best mean objective average, among
    /// combinations holding at least this fraction of the offline samples. With conflicting
    /// objectives the all-top combination is rare or absent, and conditioning on it asks the
    /// model to extrapolate; this conditions on the best region the data supports.
    BestSupported {
        /// Minimum fraction of the offline samples in the chosen combination (e.g. 0.02).
        min_fraction: f64,
    },
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
            target: RicTarget::Top,
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
    if let RicTarget::Bins(t) = &cfg.target
        && (t.len() != n || t.iter().any(|&b| b >= cfg.bins))
    {
        return Err(StrategyError::BadConfig(format!(
            "target {t:?} needs {n} bins below {}",
            cfg.bins
        )));
    }
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
    let target_tokens: Vec<u32> = match &cfg.target {
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

    // The conditioning tokens' embeddings are drawn from the device RNG: seed it so that a run
    // is reproducible.
    reference.device().seed(seed ^ 0x5249_4320_5449_4B53);
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
