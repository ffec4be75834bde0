//! Run checkpoints of every strategy: every expert's weights and optimiser state, the merged
//! (or RiC's fine-tuned) policy, the round, the active set, the compute spent, the log, the
//! strategy's own state (the [`Progress`] slot: RiC's data) and the learner's state (e.g.
//! running reward normalisers), written atomically into one directory.
//! Floats in the JSON round-trip exactly (serde_json's `float_roundtrip`).
//!
//! No RNG state needs saving: every random choice (sampling, minibatch order, active sets)
//! is derived from the run's seed and the step/expert/round counters stored here, so a resumed
//! run draws exactly what the uninterrupted run would have.

use super::error::StrategyError;
use super::learner::Learner;
use super::progress::{Expert, Progress, TRAINABLE};
use super::settings::Strategy;
use super::step::{Spent, StepRecord};
use crate::checkpoint::{
    CheckpointError, non_finite, verify_file, weights_digest, write_checksums, write_dir_atomically,
};
use crate::policy::Policy;
use crate::policy::lora::LoraConfig;
use burn::store::{BurnpackStore, ModuleSnapshot};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// The run state file inside a checkpoint directory.
pub const STATE_FILE: &str = "state.json";

/// The serialisable part of a checkpoint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// The strategy being run.
    pub strategy: Strategy,
    /// The run's seed.
    pub seed: u64,
    /// Merge rounds completed.
    pub round: usize,
    /// Steps completed.
    pub done: usize,
    /// Objectives active in the next block.
    pub active: Vec<usize>,
    /// Compute spent so far (`budget` in checkpoints written before it was renamed).
    #[serde(alias = "budget")]
    pub spent: Spent,
    /// Number of experts.
    pub experts: usize,
    /// Learner state ([`Learner::state`]).
    pub learner: Value,
    /// Every learner step so far.
    pub log: Vec<StepRecord>,
    /// The strategy's own state (RiC's labelled data and conditioning; `ric` in checkpoints
    /// written before it was generic), absent when it has none.
    #[serde(default, alias = "ric", skip_serializing_if = "Option::is_none")]
    own: Option<Value>,
    /// [`weights_digest`] of the reference policy the run started from (checked on resume;
    /// absent in checkpoints written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The learner's preference weights (checked on resume; absent in older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Vec<f64>>,
    /// The LoRA adapters the experts train (checked on resume). When their base is shared
    /// ([`Strategy::experts_share_base`]), the expert files hold only what trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapters: Option<LoraConfig>,
    /// Rewarded Soups' experts advance one step each at a time (a distributed run's
    /// schedule; `done` then counts steps per expert).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub step_major: bool,
}

fn ckpt(e: impl std::fmt::Display) -> StrategyError {
    StrategyError::Checkpoint(e.to_string())
}

fn weights(e: impl std::fmt::Display, path: &Path) -> CheckpointError {
    CheckpointError::Weights {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Write the run's state into `dir` (replacing an older checkpoint atomically).
pub(super) fn save<P: Policy, S: Serialize, L: Learner<P>>(
    dir: &Path,
    strategy: &Strategy,
    seed: u64,
    reference_digest: &str,
    run: &Progress<P, S>,
    learner: &L,
) -> Result<(), StrategyError> {
    let own = serde_json::to_value(&run.own).map_err(ckpt)?;
    let state = RunState {
        strategy: strategy.clone(),
        seed,
        round: run.round,
        done: run.done,
        active: run.current.clone(),
        spent: run.spent,
        experts: run.experts.len(),
        learner: learner.state(),
        log: run.log.clone(),
        own: (!own.is_null()).then_some(own),
        reference: Some(reference_digest.to_owned()),
        preferences: Some(learner.preferences()),
        step_major: run.step_major,
        adapters: learner.adapters().cloned(),
    };
    let only_adapters =
        learner.adapters().is_some() && strategy.experts_share_base(learner.objectives());
    write_dir_atomically(dir, |tmp| {
        for (i, e) in run.experts.iter().enumerate() {
            let p = tmp.join(format!("expert-{i}.bpk"));
            if only_adapters {
                let mut store = BurnpackStore::from_file(&p).with_regex(TRAINABLE);
                e.policy
                    .valid()
                    .save_into(&mut store)
                    .map_err(|err| weights(err, &p))?;
            } else {
                e.policy
                    .valid()
                    .save_file(&p)
                    .map_err(|err| weights(err, &p))?;
            }
            let p = tmp.join(format!("optim-{i}.bpk"));
            e.optim.save(&p).map_err(|err| weights(err, &p))?;
        }
        if let Some(m) = &run.merged {
            let p = tmp.join("merged.bpk");
            m.valid().save_file(&p).map_err(|err| weights(err, &p))?;
        }
        let p = tmp.join(STATE_FILE);
        let json = serde_json::to_string(&state).map_err(|source| CheckpointError::Json {
            path: p.clone(),
            source,
        })?;
        std::fs::write(&p, json).map_err(|source| CheckpointError::Io { path: p, source })?;
        write_checksums(tmp)
    })
    .map_err(ckpt)
}

impl RunState {
    /// Read the state file of the checkpoint in `dir` (weights are not read).
    pub fn read(dir: &Path) -> Result<Self, StrategyError> {
        crate::checkpoint::recover_dir(dir).map_err(ckpt)?;
        let p = dir.join(STATE_FILE);
        verify_file(&p).map_err(ckpt)?;
        let text =
            std::fs::read_to_string(&p).map_err(|e| ckpt(format!("{}: {e}", p.display())))?;
        serde_json::from_str(&text).map_err(|e| ckpt(format!("{}: {e}", p.display())))
    }
}

/// Refuse a state that does not belong to this run or contradicts itself, before anything is
/// loaded: another reference policy or other preferences than the run started with, progress
/// past the strategy's plan, an active set naming objectives that do not exist, a log that
/// disagrees with the budget.
fn check_state<P: Policy, L: Learner<P>>(
    state: &RunState,
    reference: &P,
    learner: &L,
) -> Result<(), StrategyError> {
    let n = learner.objectives();
    let bad = |what: String| {
        Err(StrategyError::BadConfig(format!(
            "checkpoint state: {what}"
        )))
    };
    if let Some(saved) = &state.reference
        && *saved != weights_digest(reference)
    {
        return bad(
            "the reference policy differs from the one the run started from (weights digest \
             mismatch); resume with the same reference"
                .into(),
        );
    }
    if state.adapters.as_ref() != learner.adapters() {
        return bad(format!(
            "the run trained {} but the learner trains {}; resume with the same LoRA settings (`lora`)",
            describe(state.adapters.as_ref()),
            describe(learner.adapters())
        ));
    }
    if let Some(saved) = &state.preferences
        && *saved != learner.preferences()
    {
        return bad(format!(
            "the learner's preferences {:?} differ from the run's {saved:?}",
            learner.preferences()
        ));
    }
    state
        .strategy
        .check_progress(n, state.done, state.round, &state.active)
        .or_else(bad)?;
    if state.spent.iterations != state.log.len() {
        return bad(format!(
            "{} learner steps in the budget but {} in the log",
            state.spent.iterations,
            state.log.len()
        ));
    }
    Ok(())
}

/// Read the checkpoint `state` came from (in `dir`; written by [`save`]), rebuilding experts
/// from `reference`'s architecture and the merged policy from `template`'s (RiC's has the
/// conditioning tokens added to the vocabulary).
pub(super) fn load<P: Policy, S: DeserializeOwned, L: Learner<P>>(
    dir: &Path,
    state: &RunState,
    reference: &P,
    template: &P,
    learner: &mut L,
) -> Result<Progress<P, S>, StrategyError> {
    let n = learner.objectives();
    check_state(state, reference, learner)?;
    let expected = state.strategy.experts(n);
    if state.experts != expected {
        return Err(StrategyError::BadConfig(format!(
            "checkpoint has {} experts; a {} run with {n} objectives has {expected}",
            state.experts,
            state.strategy.name()
        )));
    }
    learner.restore(&state.learner)?;
    let load_policy = |name: &str, template: &P| -> Result<P, StrategyError> {
        let p = dir.join(name);
        verify_file(&p).map_err(ckpt)?;
        let m = template
            .clone()
            .try_load_file(&p)
            .map_err(|e| ckpt(format!("{}: {e}", p.display())))?;
        match non_finite(&m) {
            0 => Ok(m.train()),
            count => Err(ckpt(CheckpointError::NonFinite { path: p, count })),
        }
    };
    let merged = dir
        .join("merged.bpk")
        .exists()
        .then(|| load_policy("merged.bpk", template))
        .transpose()?;
    // LoRA experts whose files hold only their adapters start from their shared base (the
    // last merged policy, or the reference) with adapters the file then overwrites.
    let adapted_base = match &state.adapters {
        Some(cfg) if state.strategy.experts_share_base(n) => {
            let base = merged.as_ref().unwrap_or(reference);
            Some(base.valid().with_lora(cfg, 0)?)
        }
        _ => None,
    };
    let mut experts = Vec::with_capacity(state.experts);
    for i in 0..state.experts {
        let name = format!("expert-{i}.bpk");
        let policy = match &adapted_base {
            None => load_policy(&name, reference)?,
            Some(base) => load_adapters(dir, &name, base)?,
        };
        let p = dir.join(format!("optim-{i}.bpk"));
        verify_file(&p).map_err(ckpt)?;
        let optim = learner
            .optimizer()
            .load(&p)
            .map_err(|e| ckpt(format!("{}: {e}", p.display())))?;
        experts.push(Expert { policy, optim });
    }
    let own = serde_json::from_value(state.own.clone().unwrap_or(Value::Null))
        .map_err(|e| ckpt(format!("{}: {e}", dir.join(STATE_FILE).display())))?;
    Ok(Progress {
        experts,
        merged,
        round: state.round,
        current: state.active.clone(),
        done: state.done,
        spent: state.spent,
        log: state.log.clone(),
        step_major: state.step_major,
        own,
    })
}

/// An adapted expert: `base` (the shared policy with adapters) with what trains read from the
/// file `name` of `dir`.
fn load_adapters<P: Policy>(dir: &Path, name: &str, base: &P) -> Result<P, StrategyError> {
    let p = dir.join(name);
    verify_file(&p).map_err(ckpt)?;
    let mut store = BurnpackStore::from_file(&p).allow_partial(true);
    let mut policy = base.clone();
    let applied = policy
        .load_from(&mut store)
        .map_err(|e| ckpt(format!("{}: {e}", p.display())))?;
    if applied.applied.is_empty() || !applied.errors.is_empty() {
        return Err(ckpt(format!(
            "{}: holds no adapters of this policy ({} applied, errors {:?})",
            p.display(),
            applied.applied.len(),
            applied.errors
        )));
    }
    match non_finite(&policy) {
        0 => Ok(policy.train()),
        count => Err(ckpt(CheckpointError::NonFinite { path: p, count })),
    }
}

/// "LoRA adapters (rank r)" or "every weight".
fn describe(adapters: Option<&LoraConfig>) -> String {
    match adapters {
        Some(cfg) => format!(
            "LoRA adapters (rank {}, on {})",
            cfg.rank,
            cfg.targets.join(",")
        ),
        None => "every weight".into(),
    }
}
