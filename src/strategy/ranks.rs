//! A strategy's experts placed on ranks ([`crate::distributed`]): expert `i` is trained by
//! rank [`owner`]`(i, size)`; after every step the ranks exchange their step records, so
//! every rank holds the whole log and budget and takes the same decisions; at a merge or a
//! checkpoint they exchange the experts' parameters (and, for a checkpoint, optimiser
//! states), so every rank merges the same experts in the same order as one process would.
//!
//! Every random choice derives from the run's seed and the (step, expert, round) counters,
//! never from the rank, so the result does not depend on the number of ranks.

use super::error::StrategyError;
use super::learner::Learner;
use super::progress::{Expert, TRAINABLE};
use super::step::{Spent, StepRecord};
use crate::distributed::{Communicator, Local, owner};
use crate::policy::Policy;
use burn::store::{BurnpackStore, ModuleRecord, ModuleSnapshot};
use burn::tensor::Bytes;

static LOCAL: Local = Local;

/// This rank's view of the run's ranks.
#[derive(Clone, Copy)]
pub(super) struct Ranks<'a> {
    comm: &'a dyn Communicator,
}

impl std::fmt::Debug for Ranks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rank {} of {}", self.comm.rank(), self.comm.size())
    }
}

impl<'a> Ranks<'a> {
    /// The ranks of `comm` (one process when `None`).
    pub fn new(comm: Option<&'a dyn Communicator>) -> Self {
        Self {
            comm: comm.unwrap_or(&LOCAL),
        }
    }

    /// The communicator.
    pub fn comm(&self) -> &'a dyn Communicator {
        self.comm
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// Whether this rank writes checkpoints.
    pub fn is_root(&self) -> bool {
        self.comm.rank() == 0
    }

    /// Whether this rank trains expert `i`.
    pub fn owns(&self, i: usize) -> bool {
        owner(i, self.size()) == self.comm.rank()
    }

    /// After a step boundary: exchange the records this rank appended to `log` since `from`
    /// (or its error) with every rank, so that every rank's log holds all of them in one
    /// process's order (by step, then expert) and `spent` counts them. `on_step` is told of
    /// the records other ranks made. A failure on any rank fails every rank.
    pub fn sync_steps(
        &self,
        log: &mut Vec<StepRecord>,
        spent: &mut Spent,
        from: usize,
        result: Result<(), StrategyError>,
        on_step: Option<&(dyn Fn(&StepRecord) + Sync)>,
    ) -> Result<(), StrategyError> {
        if self.size() == 1 {
            return result;
        }
        let mine: Result<&[StepRecord], String> = match &result {
            Ok(()) => Ok(&log[from..]),
            Err(e) => Err(e.to_string()),
        };
        let bytes = serde_json::to_vec(&mine).map_err(|e| bad_message(self.comm.rank(), e))?;
        let all = self.comm.all_gather(&bytes)?;
        result?;
        let mut records = Vec::new();
        for (rank, bytes) in all.iter().enumerate() {
            let theirs: Result<Vec<StepRecord>, String> =
                serde_json::from_slice(bytes).map_err(|e| bad_message(rank, e))?;
            match theirs {
                Ok(r) if rank == self.comm.rank() => records.extend(r),
                Ok(r) => {
                    for record in r {
                        spent.add(&record.report);
                        if let Some(f) = on_step {
                            f(&record);
                        }
                        records.push(record);
                    }
                }
                Err(message) => return Err(StrategyError::Rank { rank, message }),
            }
        }
        records.sort_by_key(|r| (r.step, r.expert));
        log.truncate(from);
        log.extend(records);
        Ok(())
    }

    /// Give every rank the current parameters of the `members` of `experts` (and their
    /// optimiser states when `optim`) from their owners. Non-owners rebuild them on
    /// `reference`'s architecture.
    pub fn gather<P: Policy, L: Learner<P>>(
        &self,
        experts: &mut [Expert<P>],
        members: &[usize],
        optim: bool,
        reference: &P,
        adapter_base: Option<&P>,
        learner: &L,
    ) -> Result<(), StrategyError> {
        if self.size() == 1 {
            return Ok(());
        }
        // LoRA experts on a shared base send only what trains and are rebuilt on that base.
        let adapted = match (adapter_base, learner.adapters()) {
            (Some(base), Some(cfg)) => Some(base.valid().with_lora(cfg, 0)?),
            _ => None,
        };
        let me = self.comm.rank();
        let mut message = Vec::new();
        for &i in members.iter().filter(|&&i| self.owns(i)) {
            let e = &experts[i];
            let policy = match adapted {
                Some(_) => {
                    let mut store = BurnpackStore::from_bytes(None).with_regex(TRAINABLE);
                    e.policy.valid().save_into(&mut store).map_err(record)?;
                    store.get_bytes().map_err(record)?.to_vec()
                }
                None => e
                    .policy
                    .valid()
                    .into_record()
                    .into_bytes()
                    .map_err(record)?
                    .to_vec(),
            };
            let state = if optim {
                e.optim.into_bytes().map_err(record)?.to_vec()
            } else {
                Vec::new()
            };
            put(&mut message, &(i as u64).to_le_bytes());
            put(&mut message, &policy);
            put(&mut message, &state);
        }
        for (rank, bytes) in self.comm.all_gather(&message)?.into_iter().enumerate() {
            if rank == me {
                continue;
            }
            let mut parts = Frames {
                bytes: &bytes,
                at: 0,
            };
            while let Some(id) = parts.next(rank)? {
                let policy = parts.next(rank)?.unwrap_or_default();
                let state = parts.next(rank)?.unwrap_or_default();
                let i = id
                    .try_into()
                    .map(u64::from_le_bytes)
                    .ok()
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|&i| i < experts.len() && owner(i, self.size()) == rank)
                    .ok_or_else(|| bad_message(rank, "an expert it does not own"))?;
                experts[i].policy = match &adapted {
                    Some(base) => {
                        let bytes = Bytes::from_bytes_vec(policy.to_vec());
                        let mut store = BurnpackStore::from_bytes(Some(bytes)).allow_partial(true);
                        let mut p = base.clone();
                        p.load_from(&mut store).map_err(record)?;
                        p.train()
                    }
                    None => {
                        let rec = ModuleRecord::from_bytes(Bytes::from_bytes_vec(policy.to_vec()))
                            .map_err(record)?;
                        reference
                            .clone()
                            .try_load_record(rec)
                            .map_err(record)?
                            .train()
                    }
                };
                if optim {
                    experts[i].optim = learner
                        .optimizer()
                        .from_bytes(Bytes::from_bytes_vec(state.to_vec()))
                        .map_err(record)?;
                }
            }
        }
        Ok(())
    }
}

impl Ranks<'_> {
    /// Rank 0's `value` (its result, or its error) on every rank; other ranks pass `None`.
    pub fn agree_with_root<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        value: Option<Result<T, StrategyError>>,
    ) -> Result<T, StrategyError> {
        let root = self.is_root();
        let (mine, error) = match value {
            Some(Ok(v)) => (Ok(v), None),
            Some(Err(e)) => (Err(e.to_string()), Some(e)),
            None => (Err("no value".to_string()), None),
        };
        let mut bytes = match root {
            true => serde_json::to_vec(&mine).map_err(|e| bad_message(0, e))?,
            false => Vec::new(),
        };
        self.comm.broadcast(&mut bytes, 0)?;
        if let Some(e) = error {
            return Err(e);
        }
        let theirs: Result<T, String> =
            serde_json::from_slice(&bytes).map_err(|e| bad_message(0, e))?;
        theirs.map_err(|message| StrategyError::Rank { rank: 0, message })
    }
}

/// Append one length-prefixed frame.
fn put(message: &mut Vec<u8>, frame: &[u8]) {
    message.extend_from_slice(&(frame.len() as u64).to_le_bytes());
    message.extend_from_slice(frame);
}

/// Reads length-prefixed frames.
struct Frames<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Frames<'b> {
    /// The next frame (`None` at the end).
    fn next(&mut self, rank: usize) -> Result<Option<&'b [u8]>, StrategyError> {
        if self.at == self.bytes.len() {
            return Ok(None);
        }
        let truncated = || bad_message(rank, "a truncated frame");
        let len = self
            .bytes
            .get(self.at..self.at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(truncated)?;
        let start = self.at + 8;
        let frame = self
            .bytes
            .get(start..start.checked_add(len).ok_or_else(truncated)?)
            .ok_or_else(truncated)?;
        self.at = start + len;
        Ok(Some(frame))
    }
}

fn bad_message(rank: usize, e: impl std::fmt::Display) -> StrategyError {
    crate::distributed::CommError::Malformed {
        rank,
        message: e.to_string(),
    }
    .into()
}

fn record(e: impl std::fmt::Display) -> StrategyError {
    StrategyError::Checkpoint(format!("exchanging an expert between ranks: {e}"))
}
