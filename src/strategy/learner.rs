//! What a strategy drives: a [`Learner`] takes one algorithmic step of one policy on one
//! objective; a [`Collector`] can also sample a policy and score the samples, which RiC and
//! merge-weight selection need (a learner without it cannot be given to them: the bound is
//! checked at compile time).

use super::error::StrategyError;
use super::step::{StepContext, StepReport};
use crate::distributed::Communicator;
use crate::policy::Policy;
use crate::policy::lora::LoraConfig;
use burn::optim::ModuleOptimizer;

/// One algorithmic step of one policy on one objective.
///
/// [`PpoLearner`](super::PpoLearner) is the real one; a test or a new training method plugs in
/// its own. To run it through [`Strategy`](super::Strategy) it also implements [`Collector`]
/// (RiC and merge-weight selection sample and score policies):
///
/// ```
/// use burn::optim::{ModuleOptimizer, SgdConfig};
/// use multireward::policy::{Gpt, GptConfig};
/// use multireward::strategy::{Collected, Collector, Learner, StepContext, StepReport, Strategy,
///     StrategyError};
///
/// /// Leaves the policy as it is and reports the weights' sum as its reward.
/// struct Idle;
///
/// impl Learner<Gpt> for Idle {
///     fn objectives(&self) -> usize { 2 }
///     fn preferences(&self) -> Vec<f64> { vec![1.0, 1.0] }
///     fn optimizer(&self) -> ModuleOptimizer { SgdConfig::new().init() }
///     fn step(&mut self, policy: Gpt, _: &mut ModuleOptimizer, weights: &[f64], _: &StepContext)
///         -> Result<(Gpt, StepReport), StrategyError> {
///         Ok((policy, StepReport { optimised: weights.iter().sum(), ..Default::default() }))
///     }
/// }
///
/// /// Every row gets an empty response scoring 0 on both objectives.
/// impl Collector<Gpt> for Idle {
///     fn collect(&mut self, _: &Gpt, rows: &[Vec<u32>], _: &[usize], _: u64, _: Option<usize>)
///         -> Result<Collected, StrategyError> {
///         Ok(Collected { responses: vec![vec![]; rows.len()], values: vec![vec![0.0; 2]; rows.len()] })
///     }
/// }
///
/// let device = multireward::device::default_device().autodiff();
/// let reference = GptConfig::new(1, 2, 16, 32, 7, 16).init(&device);
/// let out = Strategy::Morlhf { steps: 3 }.run(&reference, &mut Idle, 0)?;
/// assert_eq!(out.spent.iterations, 3);
/// # Ok::<(), StrategyError>(())
/// ```
pub trait Learner<P: Policy> {
    /// Number of objectives `N` (rewards with positive weight).
    fn objectives(&self) -> usize;

    /// User preference weights over the objectives (eq. 9's `w`).
    fn preferences(&self) -> Vec<f64>;

    /// A fresh optimiser for a policy.
    fn optimizer(&self) -> ModuleOptimizer;

    /// The LoRA adapters experts train (`None`, the default: every weight trains). With
    /// adapters, every expert starts from the shared policy with fresh ones on its frozen base.
    fn adapters(&self) -> Option<&LoraConfig> {
        None
    }

    /// Check the learner's settings against the run's `reference` policy before anything is
    /// trained ([`Strategy::run_with`](super::Strategy::run_with) and
    /// [`Strategy::resume`](super::Strategy::resume) call it first). Default: nothing to check.
    fn validate(&self, reference: &P) -> Result<(), StrategyError> {
        let _ = reference;
        Ok(())
    }

    /// Learner state a resumed run needs (e.g. running reward normalisers); `Null` if none.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restore what [`Learner::state`] returned.
    fn restore(&mut self, _state: &serde_json::Value) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Whether one expert's steps leave the others' unchanged (no learner state, such as a
    /// running reward normaliser, carries from one expert's step to another's). Experts are
    /// placed on ranks only when this holds; otherwise the result would depend on the number
    /// of ranks. Default: `true`.
    fn experts_independent(&self) -> bool {
        true
    }

    /// Improve `policy` on the objective with weights `weights` (length [`Learner::objectives`];
    /// one-hot for an expert).
    fn step(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
    ) -> Result<(P, StepReport), StrategyError>;

    /// [`Learner::step`] by every rank of `comm` together (MORLHF over several ranks): each
    /// rank may take a share of the work, and every rank must return the same policy and
    /// report. Default: every rank runs the whole step (the same result as one process).
    fn step_shared(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
        comm: &dyn Communicator,
    ) -> Result<(P, StepReport), StrategyError> {
        let _ = comm;
        self.step(policy, optim, weights, ctx)
    }
}

/// A [`Learner`] that can also sample a policy and score the samples on its objectives: what
/// RiC (its labelled data) and [`MergeWeights::Select`](super::MergeWeights::Select) (scoring
/// candidate merges) need.
pub trait Collector<P: Policy>: Learner<P> {
    /// The task's prompts (token ids, each starting with the tokenizer's BOS when it has
    /// one; default: unconditional generation with our tokenizers' BOS).
    fn prompts(&self) -> Vec<Vec<u32>> {
        vec![vec![crate::tokenizer::Specials::ours().start()]]
    }

    /// Sample one response per row of `rows` from `policy` (the learner's sampling settings,
    /// with `seed` and `vocab_limit`), decode and score it. `prompt_of[row]` is the index of
    /// the task prompt the row was built from (the rewards see that prompt's text). Returns
    /// the response ids (cut before EOS) and the objective values `[row][objective]`
    /// (transformed as for training; not applicable counts as 0). Running normalisers are not
    /// updated.
    fn collect(
        &mut self,
        policy: &P,
        rows: &[Vec<u32>],
        prompt_of: &[usize],
        seed: u64,
        vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError>;

    /// Objective values `[sample][objective]` of `samples` responses sampled from `policy`
    /// with the task prompts (used by merge-weight selection).
    fn evaluate(
        &mut self,
        policy: &P,
        samples: usize,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>, StrategyError> {
        let prompts = self.prompts();
        let prompt_of: Vec<usize> = (0..samples).map(|i| i % prompts.len().max(1)).collect();
        let rows: Vec<Vec<u32>> = prompt_of.iter().map(|&i| prompts[i].clone()).collect();
        Ok(self.collect(policy, &rows, &prompt_of, seed, None)?.values)
    }
}

/// Responses sampled and scored by [`Collector::collect`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Response ids per row, cut before EOS.
    pub responses: Vec<Vec<u32>>,
    /// Objective values `[row][objective]`.
    pub values: Vec<Vec<f64>>,
}
