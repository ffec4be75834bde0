//! How the processes (or threads) of one run talk: the [`Communicator`] trait and its
//! implementations.
//!
//! IterativeRS is federated averaging over rewards: each expert takes `m` PPO steps alone,
//! then the experts are merged. A distributed run places the experts on ranks
//! (round-robin, [`owner`]); ranks exchange their step records after every step (a few kB) and
//! the experts' parameters only at merges and checkpoints (docs/scaling.md).
//!
//! Implementations:
//! - [`Local`]: one process, one rank (the default; today's behaviour);
//! - [`InProcess`]: ranks as threads of one process, e.g. one per device
//!   (`MULTIREWARD_DEVICES`), and the test double of the MPI path;
//! - `Mpi` (feature `mpi`): ranks as MPI processes on one or many machines (`mpirun`, `srun`).
//!
//! An NCCL implementation belongs here too: with the `cuda` feature, Burn's
//! `burn::tensor::distributed::all_reduce` sums tensors between the CUDA devices of one
//! process without a trip through host memory. It is designed, not built: the `cuda` feature
//! cannot be built on our machines (docs/scaling.md, "NCCL").

#[cfg(feature = "mpi")]
mod mpi;

#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;

use std::sync::{Arc, Barrier, Mutex};
use thiserror::Error;

/// A failed collective operation.
#[derive(Debug, Error)]
pub enum CommError {
    /// Another rank sent something this rank cannot read.
    #[error("rank {rank} sent a malformed message: {message}")]
    Malformed {
        /// The sending rank.
        rank: usize,
        /// What was wrong.
        message: String,
    },
    /// Buffers of different lengths were given to an element-wise reduction.
    #[error("all-reduce of {local} values on this rank but {other} on rank {rank}")]
    LengthMismatch {
        /// This rank's length.
        local: usize,
        /// The other rank's length.
        other: usize,
        /// The other rank.
        rank: usize,
    },
    /// A root rank that does not exist.
    #[error("root rank {root} of a {size}-rank communicator")]
    BadRoot {
        /// The root asked for.
        root: usize,
        /// The number of ranks.
        size: usize,
    },
    /// A rank stopped taking part (a thread panicked or a process died).
    #[error("a rank left the run: {0}")]
    Disconnected(String),
}

/// The collective operations a distributed run needs. Every rank calls the same operations
/// in the same order (they are collective: each call waits for all ranks).
pub trait Communicator {
    /// This rank, `0..size()`. Rank 0 writes checkpoints and reports.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `bytes`, indexed by rank, on every rank (MPI `Allgatherv`).
    fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CommError>;
    /// Element-wise sum of `values` over ranks, in place on every rank (MPI `Allreduce`).
    /// The order of summation is the engine's, so results may differ from a sequential sum
    /// in the last bits.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CommError>;
    /// Rank `root`'s `bytes` on every rank.
    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> Result<(), CommError> {
        if root >= self.size() {
            return Err(CommError::BadRoot {
                root,
                size: self.size(),
            });
        }
        let mine = if self.rank() == root { &bytes[..] } else { &[] };
        let mut all = self.all_gather(mine)?;
        *bytes = std::mem::take(&mut all[root]);
        Ok(())
    }
}

/// The rank that trains expert `expert` when there are `size` ranks: round-robin (expert `i`
/// on rank `i mod size`; several experts per rank when there are fewer ranks than experts).
pub fn owner(expert: usize, size: usize) -> usize {
    expert % size.max(1)
}

/// One process, one rank: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Communicator for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CommError> {
        Ok(vec![bytes.to_vec()])
    }
    fn all_reduce_sum(&self, _values: &mut [f32]) -> Result<(), CommError> {
        Ok(())
    }
}

/// Ranks as threads of one process, exchanging through shared memory. [`InProcess::group`]
/// makes one handle per rank; move each into its thread.
#[derive(Debug)]
pub struct InProcess {
    rank: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    slots: Mutex<Vec<Vec<u8>>>,
    barrier: Barrier,
}

impl InProcess {
    /// `size` connected ranks (`size ≥ 1`), handle `r` being rank `r`.
    pub fn group(size: usize) -> Vec<InProcess> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            slots: Mutex::new(vec![Vec::new(); size]),
            barrier: Barrier::new(size),
        });
        (0..size)
            .map(|rank| InProcess {
                rank,
                shared: Arc::clone(&shared),
            })
            .collect()
    }

    fn slots(&self) -> Result<std::sync::MutexGuard<'_, Vec<Vec<u8>>>, CommError> {
        self.shared
            .slots
            .lock()
            .map_err(|_| CommError::Disconnected("a rank's thread panicked".into()))
    }
}

impl Communicator for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.slots().map_or(1, |s| s.len())
    }
    fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CommError> {
        self.slots()?[self.rank] = bytes.to_vec();
        self.shared.barrier.wait();
        let all = self.slots()?.clone();
        // No rank writes its next message before every rank has read this one.
        self.shared.barrier.wait();
        Ok(all)
    }
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CommError> {
        let all = self.all_gather(&f32_bytes(values))?;
        sum_in_rank_order(values, &all)
    }
}

/// `values` as little-endian bytes.
pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `values` ← the sum over ranks of the f32 vectors in `all` (rank order).
fn sum_in_rank_order(values: &mut [f32], all: &[Vec<u8>]) -> Result<(), CommError> {
    values.fill(0.0);
    for (rank, bytes) in all.iter().enumerate() {
        if bytes.len() != values.len() * 4 {
            return Err(CommError::LengthMismatch {
                local: values.len(),
                other: bytes.len() / 4,
                rank,
            });
        }
        for (v, chunk) in values.iter_mut().zip(bytes.chunks_exact(4)) {
            *v += f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_process_ranks_gather_reduce_and_broadcast() {
        let group = InProcess::group(3);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|c| {
                    s.spawn(move || {
                        let r = c.rank();
                        let gathered = c.all_gather(&vec![r as u8; r + 1]).unwrap();
                        let mut v = vec![r as f32, 1.0];
                        c.all_reduce_sum(&mut v).unwrap();
                        let mut b = if r == 2 { b"root".to_vec() } else { Vec::new() };
                        c.broadcast(&mut b, 2).unwrap();
                        (gathered, v, b)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (gathered, v, b) in results {
            assert_eq!(gathered, vec![vec![0], vec![1, 1], vec![2, 2, 2]]);
            assert_eq!(v, vec![3.0, 3.0]);
            assert_eq!(b, b"root");
        }
    }

    #[test]
    fn local_is_one_rank_and_owners_are_round_robin() {
        let mut v = vec![1.5f32];
        Local.all_reduce_sum(&mut v).unwrap();
        assert_eq!(v, vec![1.5]);
        assert_eq!(Local.all_gather(b"x").unwrap(), vec![b"x".to_vec()]);
        assert_eq!(
            (0..5).map(|i| owner(i, 2)).collect::<Vec<_>>(),
            [0, 1, 0, 1, 0]
        );
        assert!(matches!(
            Local.broadcast(&mut Vec::new(), 1),
            Err(CommError::BadRoot { root: 1, size: 1 })
        ));
    }
}
