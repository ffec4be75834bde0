//! [`PpoLearner`]: one PPO iteration on a [`RewardSet`] objective, with samples decoded by the
//! policy's tokenizer and every reward logged.

use super::error::StrategyError;
use super::learner::{Collected, Collector, Learner};
use super::optimizer::OptimizerConfig;
use super::step::{StepContext, StepReport};
use crate::distributed::Communicator;
use crate::policy::lora::LoraConfig;
use crate::policy::{Policy, Prompts, Rollout};
use crate::reward::{RewardSet, RewardStats, Sample};
use crate::rl::{Ppo, RlError};
use crate::tokenizer::Tokenizer;
use burn::optim::ModuleOptimizer;

/// The real learner: PPO (or its group-baseline variant) on the rewards of a [`RewardSet`].
///
/// The objectives are the rewards with positive weight, in the set's order; their weights are
/// the preferences. Weight-0 rewards are computed and logged only.
pub struct PpoLearner<'a, P: Policy> {
    /// The PPO settings and frozen reference.
    pub ppo: Ppo<P>,
    /// The rewards (their running normalisers are updated by every step).
    pub rewards: &'a mut RewardSet,
    /// Decodes responses for the rewards.
    pub tokenizer: &'a dyn Tokenizer,
    /// Prompts (token ids and the texts the rewards see); each step draws its own (see
    /// [`Ppo::step_prompts`]).
    pub prompts: Prompts,
    /// Optimiser settings.
    pub optimizer: OptimizerConfig,
    /// LoRA adapters to train instead of every weight (`None`: full fine-tuning).
    pub adapters: Option<LoraConfig>,
}

impl<P: Policy> PpoLearner<'_, P> {
    /// Indices (in the reward set) of the objectives.
    fn objective_columns(&self) -> Vec<usize> {
        self.rewards
            .weights()
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, _)| i)
            .collect()
    }
}

/// Decoded samples of a rollout with their prompt texts (`prompt_of[row]` indexes
/// `prompts`).
fn texts(
    rollout: &Rollout,
    prompt_of: &[usize],
    prompts: &Prompts,
    tokenizer: &dyn Tokenizer,
) -> Vec<(String, String)> {
    rollout
        .response_ids()
        .iter()
        .zip(prompt_of)
        .map(|(ids, &p)| {
            let prompt = prompts.text(p).to_string();
            // A token the tokenizer cannot decode makes the sample unusable (an empty text the
            // rewards judge), not the step.
            (prompt, tokenizer.decode(ids).unwrap_or_default())
        })
        .collect()
}

/// `(prompt, completion)` pairs as reward samples.
fn as_samples(texts: &[(String, String)]) -> Vec<Sample<'_>> {
    texts
        .iter()
        .map(|(p, c)| Sample {
            prompt: p,
            completion: c,
        })
        .collect()
}

impl<P: Policy> Learner<P> for PpoLearner<'_, P> {
    fn objectives(&self) -> usize {
        self.objective_columns().len()
    }

    fn preferences(&self) -> Vec<f64> {
        let w = self.rewards.weights();
        self.objective_columns().iter().map(|&i| w[i]).collect()
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "normalizers": self.rewards.normalizers() })
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), StrategyError> {
        let normalizers: Vec<crate::reward::Normalizer> =
            serde_json::from_value(state["normalizers"].clone())
                .map_err(|e| StrategyError::Checkpoint(format!("learner state: {e}")))?;
        Ok(self.rewards.restore_normalizers(&normalizers)?)
    }

    fn optimizer(&self) -> ModuleOptimizer {
        self.optimizer.init()
    }

    /// The PPO settings (for the reference's vocabulary), the sampling settings and the
    /// optimiser's.
    fn validate(&self, reference: &P) -> Result<(), StrategyError> {
        self.ppo.config.sampling.validate()?;
        self.ppo.config.validate_for(reference.vocab_size())?;
        Ok(self.optimizer.validate()?)
    }

    fn adapters(&self) -> Option<&LoraConfig> {
        self.adapters.as_ref()
    }

    /// Running reward normalisers see every expert's samples, so experts are independent only
    /// without them.
    fn experts_independent(&self) -> bool {
        !self
            .rewards
            .normalizers()
            .iter()
            .any(|n| matches!(n, crate::reward::Normalizer::Running { .. }))
    }

    fn step(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
    ) -> Result<(P, StepReport), StrategyError> {
        self.step_on(policy, optim, weights, ctx, None)
    }

    /// Data-parallel PPO ([`Ppo::step_shared`]): each rank samples and scores its share of
    /// the batch; the report pools every rank's reward statistics. With running reward
    /// normalisers (which would see only this rank's share) every rank runs the whole step.
    fn step_shared(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
        comm: &dyn Communicator,
    ) -> Result<(P, StepReport), StrategyError> {
        let comm = (comm.size() > 1 && self.experts_independent()).then_some(comm);
        self.step_on(policy, optim, weights, ctx, comm)
    }
}

impl<P: Policy> Collector<P> for PpoLearner<'_, P> {
    fn prompts(&self) -> Vec<Vec<u32>> {
        self.prompts.ids().to_vec()
    }

    fn collect(
        &mut self,
        policy: &P,
        rows: &[Vec<u32>],
        prompt_of: &[usize],
        seed: u64,
        vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        let cfg = crate::policy::SamplingConfig {
            seed: Some(seed),
            vocab_limit: match (vocab_limit, self.ppo.config.sampling.vocab_limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            ..self.ppo.config.sampling.clone()
        };
        let rollout = policy.sample(rows, &cfg)?;
        let texts = texts(&rollout, prompt_of, &self.prompts, self.tokenizer);
        let samples = as_samples(&texts);
        let batch = self.rewards.score(&samples)?;
        let columns = self.objective_columns();
        let values = (0..samples.len())
            .map(|j| {
                columns
                    .iter()
                    .map(|&c| batch.columns()[c].transformed[j].unwrap_or(0.0))
                    .collect()
            })
            .collect();
        Ok(Collected {
            responses: rollout.response_ids(),
            values,
        })
    }
}

impl<P: Policy> PpoLearner<'_, P> {
    /// One PPO iteration, on this rank's share of the batch when `comm` is given.
    fn step_on(
        &mut self,
        policy: P,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
        comm: Option<&dyn Communicator>,
    ) -> Result<(P, StepReport), StrategyError> {
        self.optimizer.validate()?;
        let columns = self.objective_columns();
        if weights.len() != columns.len() {
            return Err(StrategyError::BadConfig(format!(
                "{} objective weights for {} objectives",
                weights.len(),
                columns.len()
            )));
        }
        let mut full = vec![0.0; self.rewards.weights().len()];
        for (&c, &w) in columns.iter().zip(weights) {
            full[c] = w;
        }
        let Self {
            ppo,
            rewards,
            tokenizer,
            prompts,
            ..
        } = self;
        let mut prompt_of = ppo.step_prompt_indices(prompts.len(), ctx.step_seed());
        if let Some(c) = comm {
            // This rank's rows of the batch (Ppo::step_shared samples exactly these).
            prompt_of = prompt_of[ppo.share(c.rank(), c.size())].to_vec();
        }
        let mut last = None;
        let mut reward_error = None;
        let mut scorer = |rollout: &Rollout| -> Result<Vec<f32>, RlError> {
            let texts = texts(rollout, &prompt_of, prompts, *tokenizer);
            let samples = as_samples(&texts);
            let batch = rewards.score_and_update(&samples).map_err(|e| {
                let msg = e.to_string();
                reward_error = Some(e);
                RlError::Scorer(msg)
            })?;
            let total = batch
                .total_with(&full)
                .map_err(|e| RlError::Scorer(e.to_string()))?;
            last = Some(batch.stats());
            Ok(total.into_iter().map(|x| x as f32).collect())
        };
        let (lr, seed) = (self.optimizer.lr, ctx.step_seed());
        let result = match comm {
            None => ppo.step(policy, optim, lr, prompts.ids(), seed, &mut scorer),
            Some(c) => ppo.step_shared(policy, optim, lr, prompts.ids(), seed, &mut scorer, c),
        };
        let (policy, stats) = match result {
            Ok(x) => x,
            Err(e) => return Err(reward_error.map_or(e.into(), StrategyError::Reward)),
        };
        let mut rewards = last.unwrap_or_default();
        if let Some(c) = comm {
            // The whole batch's reward statistics, pooled from every rank's share.
            let bytes = serde_json::to_vec(&rewards)
                .map_err(|e| StrategyError::BadConfig(format!("reward statistics: {e}")))?;
            let parts = c
                .all_gather(&bytes)?
                .iter()
                .map(|b| serde_json::from_slice(b))
                .collect::<Result<Vec<Vec<RewardStats>>, _>>()
                .map_err(|e| StrategyError::BadConfig(format!("reward statistics: {e}")))?;
            rewards = RewardStats::pool(&parts);
        }
        let report = StepReport {
            rewards,
            optimised: stats.score,
            kl: stats.kl,
            samples: self.ppo.config.samples_per_step,
            updates: stats.updates,
            ppo: Some(stats),
        };
        Ok((policy, report))
    }
}
