//! Data-parallel PPO's collective pieces: a rank's share of the batch ([`Shared`]), sums and
//! counts over ranks, and advantages whitened with the whole batch's statistics.

use super::RlError;
use crate::distributed::{CommError, Communicator};
use std::ops::Range;

/// A data-parallel step's view of the batch: this rank's rows of `total`.
pub(super) struct Shared<'c> {
    /// The ranks.
    pub comm: &'c dyn Communicator,
    /// This rank's rows.
    pub rows: Range<usize>,
    /// Rows of the whole batch.
    pub total: usize,
}

/// A collective failure as an RL error.
pub(super) fn comm_error(e: CommError) -> RlError {
    RlError::BadConfig(format!("data-parallel step: {e}"))
}

/// Element-wise sums over ranks of `values`, added in rank order (the same on every rank).
pub(super) fn sum_over_ranks(
    comm: &dyn Communicator,
    values: &[f64],
) -> Result<Vec<f64>, CommError> {
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut sums = vec![0.0; values.len()];
    for (rank, theirs) in comm.all_gather(&bytes)?.iter().enumerate() {
        if theirs.len() != bytes.len() {
            return Err(CommError::LengthMismatch {
                local: values.len(),
                other: theirs.len() / 8,
                rank,
            });
        }
        for (s, chunk) in sums.iter_mut().zip(theirs.chunks_exact(8)) {
            *s += f64::from_le_bytes(chunk.try_into().unwrap_or_default());
        }
    }
    Ok(sums)
}

/// Every rank's `counts`, concatenated in rank order (the whole batch's, as shares are
/// contiguous in rank order).
pub(super) fn gather_counts(
    comm: &dyn Communicator,
    counts: &[usize],
) -> Result<Vec<usize>, CommError> {
    let bytes: Vec<u8> = counts
        .iter()
        .flat_map(|&c| (c as u64).to_le_bytes())
        .collect();
    Ok(comm
        .all_gather(&bytes)?
        .iter()
        .flat_map(|b| {
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()) as usize)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// `whiten` with the mean and variance of the valid entries of every rank's `x`.
pub(super) fn whiten_shared(
    x: &mut [f32],
    mask: &[bool],
    comm: &dyn Communicator,
) -> Result<(), CommError> {
    let valid = || x.iter().zip(mask).filter(|p| *p.1).map(|p| *p.0 as f64);
    let local_n = mask.iter().filter(|&&m| m).count() as f64;
    let sums = sum_over_ranks(comm, &[valid().sum(), local_n])?;
    let (sum, n) = (sums[0], sums[1]);
    if n == 0.0 {
        return Ok(());
    }
    let mean = sum / n;
    let sq = sum_over_ranks(comm, &[valid().map(|v| (v - mean).powi(2)).sum()])?[0];
    let var = sq / (n.max(2.0) - 1.0);
    let scale = 1.0 / (var + 1e-8).sqrt();
    for (v, &m) in x.iter_mut().zip(mask) {
        *v = if m {
            ((*v as f64 - mean) * scale) as f32
        } else {
            0.0
        };
    }
    Ok(())
}
