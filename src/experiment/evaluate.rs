//! Evaluation of one policy: samples at the training sampling settings, decoded, scored by the
//! evaluation oracles, and their KL to the reference ([`sample_and_score`]).

use super::error::EvaluateError;
use crate::policy::{Policy, Prompts, SamplingConfig};
use crate::reward::{RewardSet, Sample};
use crate::rl::kl_to_reference;
use crate::tokenizer::Tokenizer;

/// Samples of one policy, their oracle scores and their KL to the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Decoded responses (empty for undecodable ones).
    pub texts: Vec<String>,
    /// The prompt (index into the evaluation prompts) of each response.
    pub prompt_of: Vec<usize>,
    /// Oracle scores (transformed) of the samples every oracle could score,
    /// `[sample][objective]`.
    pub scores: Vec<Vec<f64>>,
    /// Mean summed k1 KL to the reference at the sampling temperature (nats per sample).
    pub kl: f64,
}

impl Scored {
    /// The first response to each of the first `prompts` evaluation prompts (empty for a
    /// prompt with none), e.g. to show examples.
    pub fn first_per_prompt(&self, prompts: usize) -> Vec<String> {
        (0..prompts)
            .map(|p| {
                self.prompt_of
                    .iter()
                    .position(|&q| q == p)
                    .map(|j| self.texts[j].clone())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Sample `n` responses from `policy`, cycling over `prompts` with the `condition` tokens
/// (RiC's reward conditioning) after each prompt's BOS and kept out of responses, decode them,
/// score them with `oracles` and measure their KL to `reference` (given the plain prompts).
/// Batches of 256 rows use seeds `seed`, `seed + 1`, ….
#[allow(clippy::too_many_arguments)]
pub fn sample_and_score<P: Policy>(
    (policy, condition): (&P, &[u32]),
    reference: &P,
    sampling: &SamplingConfig,
    prompts: &Prompts,
    n: usize,
    seed: u64,
    tokenizer: &dyn Tokenizer,
    oracles: &RewardSet,
) -> Result<Scored, EvaluateError> {
    let prompt_of: Vec<usize> = (0..n).map(|i| i % prompts.len()).collect();
    let (mut texts, mut kls) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (k, chunk) in prompt_of.chunks(256).enumerate() {
        let plain: Vec<Vec<u32>> = chunk.iter().map(|&i| prompts.ids()[i].clone()).collect();
        let rows: Vec<Vec<u32>> = plain
            .iter()
            .map(|p| {
                let mut row = p[..1].to_vec();
                row.extend_from_slice(condition);
                row.extend_from_slice(&p[1..]);
                row
            })
            .collect();
        let cfg = SamplingConfig {
            seed: Some(seed.wrapping_add(k as u64)),
            vocab_limit: match condition.is_empty() {
                true => sampling.vocab_limit,
                false => Some(
                    sampling
                        .vocab_limit
                        .unwrap_or(usize::MAX)
                        .min(reference.vocab_size()),
                ),
            },
            ..sampling.clone()
        };
        let rollout = policy.sample(&rows, &cfg)?;
        kls.extend(kl_to_reference(
            &rollout,
            reference,
            &plain,
            sampling.temperature,
        )?);
        for ids in rollout.response_ids() {
            texts.push(tokenizer.decode(&ids).unwrap_or_default());
        }
    }
    let samples: Vec<Sample<'_>> = prompt_of
        .iter()
        .zip(&texts)
        .map(|(&i, t)| Sample {
            prompt: prompts.text(i),
            completion: t,
        })
        .collect();
    let batch = oracles.score(&samples)?;
    let columns = batch.columns();
    let scores: Vec<Vec<f64>> = (0..texts.len())
        .filter_map(|j| columns.iter().map(|c| c.transformed[j]).collect())
        .collect();
    Ok(Scored {
        texts,
        prompt_of,
        scores,
        kl: kls.iter().sum::<f64>() / kls.len().max(1) as f64,
    })
}

/// Mean of each of `n` objectives over scored samples `[sample][objective]`.
pub fn means(scores: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| scores.iter().map(|r| r[i]).sum::<f64>() / scores.len().max(1) as f64)
        .collect()
}
