//! MPI ranks (feature `mpi`): the `mpi` crate (rsmpi) over the system's Open MPI or MPICH.

use super::{CommError, Communicator};
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives};

/// The MPI world of this process: rank and size from `mpirun`/`srun`. Create it once, at the
/// start of `main`; MPI is finalised when it is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    // Dropped after `world`: finalises MPI.
    _universe: mpi::environment::Universe,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.rank())
            .field("size", &self.size())
            .finish()
    }
}

impl Mpi {
    /// Initialise MPI (once per process).
    ///
    /// # Errors
    /// [`CommError::Disconnected`] when MPI was already initialised in this process.
    pub fn init() -> Result<Self, CommError> {
        let universe = mpi::initialize()
            .ok_or_else(|| CommError::Disconnected("MPI is already initialised".into()))?;
        Ok(Self {
            world: universe.world(),
            _universe: universe,
        })
    }
}

fn count(len: usize) -> Result<i32, CommError> {
    i32::try_from(len).map_err(|_| {
        CommError::Disconnected(format!(
            "a message of {len} bytes exceeds MPI's 2^31 − 1 element count"
        ))
    })
}

impl Communicator for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CommError> {
        let size = self.size();
        let mut counts = vec![0i32; size];
        self.world
            .all_gather_into(&count(bytes.len())?, &mut counts[..]);
        let mut displs = Vec::with_capacity(size);
        let mut total = 0usize;
        for &c in &counts {
            displs.push(count(total)?);
            total += c as usize;
        }
        let mut buf = vec![0u8; total];
        {
            let mut partition = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(bytes, &mut partition);
        }
        Ok(counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| buf[d as usize..d as usize + c as usize].to_vec())
            .collect())
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CommError> {
        let send = values.to_vec();
        self.world
            .all_reduce_into(&send[..], values, mpi::collective::SystemOperation::sum());
        Ok(())
    }
}
