//! The ranks of a comparison run over several processes or devices ([`Ranks`]): rank 0
//! decides (what to resume, which learning rate), evaluates and writes; every rank takes the
//! path it decided.

use super::error::ExperimentError;
use crate::distributed::Communicator;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// This rank's view of the comparison's ranks (one process when there is no communicator).
#[derive(Clone, Copy, Default)]
pub(super) struct Ranks<'a> {
    comm: Option<&'a dyn Communicator>,
}

impl<'a> Ranks<'a> {
    /// The ranks of `comm`.
    pub fn new(comm: Option<&'a dyn Communicator>) -> Self {
        Self { comm }
    }

    /// The communicator, if any.
    pub fn comm(&self) -> Option<&'a dyn Communicator> {
        self.comm
    }

    /// Whether this rank evaluates and writes (rank 0, or the only process).
    pub fn is_root(&self) -> bool {
        self.comm.is_none_or(|c| c.rank() == 0)
    }

    /// Rank 0's `value` on every rank (what it decided from the results directory), so that
    /// every rank takes the same path.
    pub fn agree<T: Serialize + DeserializeOwned>(
        &self,
        value: Option<T>,
    ) -> Result<Option<T>, ExperimentError> {
        let Some(comm) = self.comm.filter(|c| c.size() > 1) else {
            return Ok(value);
        };
        let mut bytes = match &value {
            Some(v) if comm.rank() == 0 => serde_json::to_vec_pretty(v).unwrap_or_default(),
            _ => Vec::new(),
        };
        comm.broadcast(&mut bytes, 0)
            .map_err(|e| ExperimentError::Task(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ExperimentError::Task(format!("rank 0's decision: {e}")))
    }
}
