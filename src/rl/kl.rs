//! The KL of sampled responses to the reference policy ([`kl_to_reference`]), row selection
//! ([`select_rows`]) and host copies of a rollout's `[B, R]` quantities.

use super::RlError;
use super::advantages::{TokenGrid, kl_per_token};
use crate::policy::{Policy, Rollout, Sequences};
use burn::tensor::{Int, Tensor};

/// A `[B, R]` tensor, row-major on the host.
pub(super) fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// The rollout's `[B, R]` response mask, row-major on the host.
pub(super) fn host_mask(rollout: &Rollout) -> Vec<bool> {
    rollout
        .response_mask
        .clone()
        .into_data()
        .iter::<bool>()
        .collect()
}

/// Summed KL (k1: `Σ log π − log π_ref` over each response's tokens up to its EOS) of the
/// rollout's responses under the reference, at `temperature` (logits divided by it, as when
/// sampling). The reference scores each response after its own prompt in
/// `reference_prompts` (one per row), so a policy sampled with extra prompt tokens the
/// reference does not know (RiC's conditioning) can be compared on the same responses.
pub fn kl_to_reference<P: Policy>(
    rollout: &Rollout,
    reference: &P,
    reference_prompts: &[Vec<u32>],
    temperature: f32,
) -> Result<Vec<f64>, RlError> {
    let [b, r] = rollout.response_mask.dims();
    let response: Vec<u32> = rollout
        .sequences
        .response()
        .into_data()
        .convert::<i64>()
        .iter::<i64>()
        .map(|id| id as u32)
        .collect();
    let responses: Vec<Vec<u32>> = response.chunks(r.max(1)).map(<[u32]>::to_vec).collect();
    let seqs = Sequences::from_parts(
        reference_prompts,
        &responses[..b],
        reference.vocab_size(),
        &reference.device(),
    )?;
    let ref_logp = host(reference.score(&seqs, temperature)?.log_probs);
    let logp = host(rollout.log_probs.clone());
    let mask = host_mask(rollout);
    let grid = TokenGrid {
        rows: b,
        cols: r,
        mask: &mask,
    };
    let kl = kl_per_token(&grid, &logp, &ref_logp, super::KlEstimator::K1);
    Ok(kl
        .chunks(r.max(1))
        .map(|row| row.iter().map(|&k| f64::from(k)).sum())
        .collect())
}

/// The rows `idx` of `seqs`.
pub fn select_rows(seqs: &Sequences, idx: &Tensor<1, Int>) -> Sequences {
    Sequences {
        tokens: seqs.tokens.clone().select(0, idx.clone()),
        positions: seqs.positions.clone().select(0, idx.clone()),
        key_pad: seqs.key_pad.clone().map(|p| p.select(0, idx.clone())),
        prompt_len: seqs.prompt_len,
    }
}
