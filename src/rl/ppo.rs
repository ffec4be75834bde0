//! PPO with TRL's semantics (per-token KL penalty against a frozen reference, score on the last
//! response token, GAE, whitened advantages, clipped ratio and value loss), and a cheaper
//! group-baseline estimator (RLOO/GRPO: several samples per prompt, no critic).

use super::RlError;
use super::advantages::{TokenGrid, gae, group_advantages, kl_per_token, token_rewards, whiten};
use super::config::{Estimator, PpoConfig, PpoStats};
use super::kl::{host, host_mask, select_rows};
use super::shared::{Shared, comm_error, gather_counts, sum_over_ranks, whiten_shared};
use crate::distributed::Communicator;
use crate::policy::{BatchPart, Policy, Rollout, SamplingConfig, Sequences};
use crate::train::{all_reduce_grads, clip_global_norm};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::ops::Range;

/// Host copies of a rollout's `[B, R]` quantities and what PPO derives from them.
struct Prepared {
    advantages: Vec<f32>,
    returns: Vec<f32>,
    old_logp: Vec<f32>,
    old_values: Vec<f32>,
    mask: Vec<bool>,
    stats: PpoStats,
}

/// PPO's update rule: the settings and a frozen reference policy, stepping a policy one PPO
/// iteration on a scoring function. (`strategy::PpoLearner` is what strategies drive: this plus
/// the rewards, the prompts and the optimiser.)
#[derive(Debug, Clone)]
pub struct Ppo<P: Policy> {
    /// Settings.
    pub config: PpoConfig,
    reference: P,
}

impl<P: Policy> Ppo<P> {
    /// A learner whose KL penalty is taken against (a frozen copy of) `reference`.
    pub fn new(config: PpoConfig, reference: &P) -> Self {
        Self {
            config,
            reference: reference.valid(),
        }
    }

    /// The frozen reference policy.
    pub fn reference(&self) -> &P {
        &self.reference
    }

    /// Check the settings ([`PpoConfig::validate_for`] the policy's vocabulary, the sampling
    /// settings) and that GAE has a value head.
    pub fn validate(&self, policy: &P) -> Result<(), RlError> {
        let c = &self.config;
        c.sampling.validate()?;
        c.validate_for(policy.vocab_size())?;
        match c.estimator {
            Estimator::Gae if !policy.has_value_head() => Err(RlError::NoValueHead),
            _ => Ok(()),
        }
    }

    /// Prompts of one step: `samples_per_step / group` distinct prompts drawn with `seed`
    /// (all of them, cycled from a seeded offset, when there are fewer), each repeated
    /// `group` times next to each other for the group estimator.
    pub fn step_prompts(&self, prompts: &[Vec<u32>], seed: u64) -> Vec<Vec<u32>> {
        self.step_prompt_indices(prompts.len(), seed)
            .into_iter()
            .map(|i| prompts[i].clone())
            .collect()
    }

    /// Which of `n` prompts each row of a step uses (see [`Ppo::step_prompts`]). Different
    /// seeds (steps) draw different prompts, so a run visits the whole prompt set.
    pub fn step_prompt_indices(&self, n: usize, seed: u64) -> Vec<usize> {
        let group = match self.config.estimator {
            Estimator::Group { size, .. } => size,
            Estimator::Gae => 1,
        };
        let rows = self.config.samples_per_step / group;
        let n = n.max(1);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_9e37_79b9_7f4a);
        let chosen: Vec<usize> = if rows <= n {
            rand::seq::index::sample(&mut rng, n, rows).into_vec()
        } else {
            let offset = rng.random_range(0..n);
            (0..rows).map(|i| (offset + i) % n).collect()
        };
        chosen
            .into_iter()
            .flat_map(|i| std::iter::repeat_n(i, group))
            .collect()
    }

    /// The rows of a step's batch that rank `rank` of `ranks` samples in a data-parallel step
    /// ([`Ppo::step_shared`]): contiguous, whole prompt groups, as even as the groups allow.
    pub fn share(&self, rank: usize, ranks: usize) -> Range<usize> {
        let group = self.group();
        let groups = self.config.samples_per_step / group;
        let ranks = ranks.max(1);
        let at = |r: usize| (groups * r / ranks) * group;
        at(rank)..at(rank + 1)
    }

    /// Rows per prompt group (1 for GAE).
    fn group(&self) -> usize {
        match self.config.estimator {
            Estimator::Group { size, .. } => size.max(1),
            Estimator::Gae => 1,
        }
    }

    /// One PPO iteration: sample `samples_per_step` responses, score them with `scorer`
    /// (one finite score per row), estimate advantages and run `epochs × minibatches` clipped
    /// updates with learning rate `lr`. `seed` fixes sampling and minibatch order.
    pub fn step(
        &self,
        policy: P,
        optim: &mut ModuleOptimizer,
        lr: f64,
        prompts: &[Vec<u32>],
        seed: u64,
        scorer: &mut dyn FnMut(&Rollout) -> Result<Vec<f32>, RlError>,
    ) -> Result<(P, PpoStats), RlError> {
        self.step_on(policy, optim, lr, prompts, seed, scorer, None)
    }

    /// [`Ppo::step`] data-parallel over the ranks of `comm`: this rank samples and scores only
    /// its [`Ppo::share`] of the batch (`scorer` sees those rows), with the random draws those
    /// rows get in the whole batch; advantage whitening and the statistics use the whole
    /// batch; each minibatch update sums the ranks' gradients of their rows' share of the loss
    /// ([`crate::train::all_reduce_grads`]), so every rank takes the same optimiser step. The
    /// result equals [`Ppo::step`] up to the order of float summation.
    #[allow(clippy::too_many_arguments)]
    pub fn step_shared(
        &self,
        policy: P,
        optim: &mut ModuleOptimizer,
        lr: f64,
        prompts: &[Vec<u32>],
        seed: u64,
        scorer: &mut dyn FnMut(&Rollout) -> Result<Vec<f32>, RlError>,
        comm: &dyn Communicator,
    ) -> Result<(P, PpoStats), RlError> {
        self.step_on(policy, optim, lr, prompts, seed, scorer, Some(comm))
    }

    #[allow(clippy::too_many_arguments)]
    fn step_on(
        &self,
        policy: P,
        optim: &mut ModuleOptimizer,
        lr: f64,
        prompts: &[Vec<u32>],
        seed: u64,
        scorer: &mut dyn FnMut(&Rollout) -> Result<Vec<f32>, RlError>,
        comm: Option<&dyn Communicator>,
    ) -> Result<(P, PpoStats), RlError> {
        self.validate(&policy)?;
        if prompts.is_empty() {
            return Err(RlError::BadConfig("no prompts".into()));
        }
        let all = self.step_prompts(prompts, seed);
        let shared = match comm.filter(|c| c.size() > 1) {
            None => None,
            Some(c) => {
                let groups = self.config.samples_per_step / self.group();
                if groups < c.size() {
                    return Err(RlError::BadConfig(format!(
                        "{groups} prompt groups per step cannot be shared by {} ranks",
                        c.size()
                    )));
                }
                Some(Shared {
                    comm: c,
                    rows: self.share(c.rank(), c.size()),
                    total: all.len(),
                })
            }
        };
        let range = shared.as_ref().map_or(0..all.len(), |s| s.rows.clone());
        let rows = &all[range.clone()];
        let sampling = SamplingConfig {
            seed: Some(seed),
            part_of: shared.as_ref().map(|s| BatchPart {
                start: s.rows.start,
                total: s.total,
            }),
            ..self.config.sampling.clone()
        };
        let rollout = policy.sample(rows, &sampling)?;
        let scores = scorer(&rollout)?;
        if scores.len() != rows.len() {
            return Err(RlError::BadScores(format!(
                "{} scores for {} samples",
                scores.len(),
                rows.len()
            )));
        }
        if let Some((i, s)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            return Err(RlError::BadScores(format!("score {s} for sample {i}")));
        }
        let prepared = self.prepare(&policy, &rollout, &scores, shared.as_ref())?;
        self.update(
            policy,
            optim,
            lr,
            &rollout.sequences,
            prepared,
            seed,
            shared.as_ref(),
        )
    }

    /// Old log-probs/values, reference KL, rewards and advantages (host side; whitened over
    /// the whole batch when `shared`).
    fn prepare(
        &self,
        policy: &P,
        rollout: &Rollout,
        scores: &[f32],
        shared: Option<&Shared<'_>>,
    ) -> Result<Prepared, RlError> {
        let c = &self.config;
        let t = c.sampling.temperature;
        // The group estimator needs no values: the sampler's log-probabilities are the old
        // policy's (they agree with a batched re-scoring to ~1e-6), which saves a forward pass.
        let (old_logp, old_values) = match c.estimator {
            Estimator::Group { .. } => (host(rollout.log_probs.clone()), None),
            Estimator::Gae => {
                let old = policy.valid().score(&rollout.sequences, t)?;
                (host(old.log_probs), old.values.map(host))
            }
        };
        let reference = self.reference.score(&rollout.sequences, t)?;
        let [b, r] = rollout.response_mask.dims();
        let mask = host_mask(rollout);
        let grid = TokenGrid {
            rows: b,
            cols: r,
            mask: &mask,
        };
        let kl = kl_per_token(&grid, &old_logp, &host(reference.log_probs), c.kl_estimator);
        let kl_sums: Vec<f32> = kl.chunks(r).map(|row| row.iter().sum()).collect();
        let old_values = old_values.unwrap_or_else(|| vec![0.0; b * r]);
        let (mut advantages, returns) = match c.estimator {
            Estimator::Gae => {
                let rewards = token_rewards(&grid, &kl, scores, c.kl_coef);
                gae(&grid, &rewards, &old_values, c.gamma, c.lam)
            }
            Estimator::Group { size, baseline } => {
                let penalised: Vec<f32> = scores
                    .iter()
                    .zip(&kl_sums)
                    .map(|(s, k)| s - c.kl_coef * k)
                    .collect();
                let seq = group_advantages(&penalised, size, baseline);
                let adv = (0..b * r)
                    .map(|i| if mask[i] { seq[i / r] } else { 0.0 })
                    .collect();
                (adv, vec![0.0; b * r])
            }
        };
        let stats = match shared {
            None => {
                if c.whiten_advantages {
                    whiten(&mut advantages, &mask);
                }
                let n = b as f64;
                PpoStats {
                    score: scores.iter().map(|&s| s as f64).sum::<f64>() / n,
                    kl: kl_sums.iter().map(|&k| k as f64).sum::<f64>() / n,
                    response_len: mask.iter().filter(|&&m| m).count() as f64 / n,
                    ..Default::default()
                }
            }
            Some(sh) => {
                if c.whiten_advantages {
                    whiten_shared(&mut advantages, &mask, sh.comm).map_err(comm_error)?;
                }
                let sums = [
                    scores.iter().map(|&s| s as f64).sum::<f64>(),
                    kl_sums.iter().map(|&k| k as f64).sum::<f64>(),
                    mask.iter().filter(|&&m| m).count() as f64,
                ];
                let sums = sum_over_ranks(sh.comm, &sums).map_err(comm_error)?;
                let n = sh.total as f64;
                PpoStats {
                    score: sums[0] / n,
                    kl: sums[1] / n,
                    response_len: sums[2] / n,
                    ..Default::default()
                }
            }
        };
        Ok(Prepared {
            advantages,
            returns,
            old_logp,
            old_values,
            mask,
            stats,
        })
    }

    /// `epochs × minibatches` clipped updates (of the whole batch's minibatches, each rank
    /// computing its rows' share when `shared`).
    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        mut policy: P,
        optim: &mut ModuleOptimizer,
        lr: f64,
        seqs: &Sequences,
        prep: Prepared,
        seed: u64,
        shared: Option<&Shared<'_>>,
    ) -> Result<(P, PpoStats), RlError> {
        let c = &self.config;
        let device = policy.device();
        let [b, r] = [seqs.dims()[0], seqs.response_len()];
        let upload = |v: &[f32]| -> Tensor<2> {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [b, r]), &device)
        };
        let mask_f: Vec<f32> = prep.mask.iter().map(|&m| m as u8 as f32).collect();
        let (adv, ret, old_lp, old_v, mask) = (
            upload(&prep.advantages),
            upload(&prep.returns),
            upload(&prep.old_logp),
            upload(&prep.old_values),
            upload(&mask_f),
        );
        let critic = matches!(c.estimator, Estimator::Gae) && c.train_critic;
        let mut stats = prep.stats;
        let (mut pg_sum, mut vf_sum, mut clip_sum, mut akl_sum, mut norm_sum) =
            (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0f99);
        // Valid tokens of every row of the whole batch (this rank's rows and, when shared,
        // the others').
        let local: Vec<usize> = (0..b)
            .map(|i| prep.mask[i * r..(i + 1) * r].iter().filter(|&&m| m).count())
            .collect();
        let (total, first, valid) = match shared {
            None => (b, 0, local),
            Some(sh) => (
                sh.total,
                sh.rows.start,
                gather_counts(sh.comm, &local).map_err(comm_error)?,
            ),
        };
        let mb = total.div_ceil(c.minibatches);
        for _ in 0..c.epochs {
            let mut order: Vec<usize> = (0..total).collect();
            order.shuffle(&mut rng);
            for chunk in order.chunks(mb) {
                let count = chunk.iter().map(|&i| valid[i]).sum::<usize>().max(1) as f32;
                // This rank's rows of the minibatch, in the minibatch's order.
                let ids: Vec<i64> = chunk
                    .iter()
                    .filter(|&&i| (first..first + b).contains(&i))
                    .map(|&i| (i - first) as i64)
                    .collect();
                let (mut grads, mut d) = if ids.is_empty() {
                    // Shared, and none of this minibatch is ours: add nothing to the sum.
                    if shared.is_none() {
                        continue;
                    }
                    (GradientsParams::new(), vec![0.0f32; 4])
                } else {
                    let rows = ids.len();
                    let idx = Tensor::<1, Int>::from_data(TensorData::new(ids, [rows]), &device);
                    let pick = |t: &Tensor<2>| t.clone().select(0, idx.clone());
                    let sub = select_rows(seqs, &idx);
                    let (adv, ret, old_lp, old_v, mask) = (
                        pick(&adv),
                        pick(&ret),
                        pick(&old_lp),
                        pick(&old_v),
                        pick(&mask),
                    );
                    let new = policy.score(&sub, c.sampling.temperature)?;
                    let log_ratio = new.log_probs - old_lp;
                    let ratio = log_ratio.clone().exp();
                    let pg1 = -adv.clone() * ratio.clone();
                    let pg2 = -adv * ratio.clone().clamp(1.0 - c.clip_ratio, 1.0 + c.clip_ratio);
                    let pg = (pg1.max_pair(pg2) * mask.clone()).sum() / count;
                    let mut loss = pg.clone();
                    let mut vf = None;
                    if critic {
                        let vpred = new.values.ok_or(RlError::NoValueHead)?;
                        let vclip = old_v.clone()
                            + (vpred.clone() - old_v).clamp(-c.clip_value, c.clip_value);
                        let l1 = (vpred - ret.clone()).square();
                        let l2 = (vclip - ret).square();
                        let v = (l1.max_pair(l2) * mask.clone()).sum() * (0.5 / count);
                        loss = loss + v.clone() * c.vf_coef;
                        vf = Some(v);
                    }
                    // Diagnostics, detached: clipped fraction and approximate KL.
                    let lr_d = log_ratio.detach();
                    let clipped = (lr_d.clone().exp() - 1.0)
                        .abs()
                        .greater_elem(c.clip_ratio)
                        .float();
                    let diag = Tensor::cat(
                        vec![
                            pg.clone().detach(),
                            vf.map_or_else(|| pg.zeros_like(), |v| v.detach()),
                            (clipped * mask.clone()).sum() / count,
                            (lr_d.square() * mask).sum() * (0.5 / count),
                        ],
                        0,
                    );
                    let grads = GradientsParams::from_grads(loss.backward(), &policy);
                    (grads, diag.into_data().iter::<f32>().collect())
                };
                if let Some(sh) = shared {
                    grads = all_reduce_grads(&policy, grads, sh.comm).map_err(comm_error)?;
                    sh.comm.all_reduce_sum(&mut d).map_err(comm_error)?;
                }
                let (policy_next, norm) = self.apply(policy, optim, lr, grads);
                policy = policy_next;
                pg_sum += d[0] as f64;
                vf_sum += d[1] as f64;
                clip_sum += d[2] as f64;
                akl_sum += d[3] as f64;
                norm_sum += norm as f64;
                stats.updates += 1;
            }
        }
        let u = stats.updates.max(1) as f64;
        stats.pg_loss = pg_sum / u;
        stats.vf_loss = vf_sum / u;
        stats.clipfrac = clip_sum / u;
        stats.approx_kl = akl_sum / u;
        stats.grad_norm = norm_sum / u;
        Ok((policy, stats))
    }

    /// Clip `grads` to the global norm (when set) and take the optimiser step; the norm
    /// before clipping.
    fn apply(
        &self,
        policy: P,
        optim: &mut ModuleOptimizer,
        lr: f64,
        grads: GradientsParams,
    ) -> (P, f32) {
        let (grads, norm) = match self.config.max_grad_norm {
            Some(max) => clip_global_norm(&policy, grads, max),
            None => {
                let norm = crate::train::global_grad_norm(&policy, &grads);
                (grads, norm)
            }
        };
        (optim.step(lr, policy, grads), norm)
    }
}

#[cfg(test)]
mod tests;
