//! Finiteness of a reward set's values: as returned, after transform and normaliser, and in
//! the totals (`RewardError::NonFinite` naming the reward, the sample and the [`Stage`]).

use crate::reward::{RewardError, Sample, Stage};

/// The first of `values` (one per sample) that is NaN or ±∞, as [`RewardError::NonFinite`]
/// of `reward` at `stage`.
pub(super) fn check(
    reward: &str,
    values: &[Option<f64>],
    samples: &[Sample<'_>],
    stage: Stage,
) -> Result<(), RewardError> {
    let Some((index, value)) = values
        .iter()
        .enumerate()
        .find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)))
    else {
        return Ok(());
    };
    Err(RewardError::NonFinite {
        reward: reward.to_owned(),
        index,
        sample: samples
            .get(index)
            .map_or_else(String::new, |s| s.completion.to_owned()),
        value,
        stage,
    })
}

/// `err` with the sample's text filled in where the aggregation, which has no samples, left
/// it empty.
pub(super) fn with_sample(err: RewardError, samples: &[Sample<'_>]) -> RewardError {
    match err {
        RewardError::NonFinite {
            reward,
            index,
            sample,
            value,
            stage,
        } => RewardError::NonFinite {
            sample: samples
                .get(index)
                .map_or(sample, |s| s.completion.to_owned()),
            reward,
            index,
            value,
            stage,
        },
        other => other,
    }
}
