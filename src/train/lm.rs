//! Causal-LM training (pretraining and SFT): AdamW, warmup + cosine schedule, global gradient
//! clipping, validation loss/perplexity and a progress bar.

use super::{WarmupCosine, clip_global_norm};
use crate::policy::{Policy, PolicyError, Sequences};
use crate::tokenizer::PAD;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Bool, Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::time::Instant;

/// Settings of a supervised causal-LM run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LmTrainingConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warmup steps.
    pub warmup: usize,
    /// Final learning rate as a fraction of the peak (cosine decay).
    pub min_lr_ratio: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Global gradient-norm clip.
    pub grad_clip: f32,
    /// Evaluate on the validation set every this many steps (and at the end).
    pub eval_every: usize,
    /// Seed for initial shuffling and dropout.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Completion-only loss: when set, each row's targets are only the tokens after its first
    /// occurrence of this token id (a separator ending the prompt), as TRL's SFT trainer does
    /// by default. `None` (the default) trains on every token after BOS.
    #[serde(default)]
    pub loss_after: Option<u32>,
    /// Wall-clock budget for the training steps (evaluation excluded), seconds. When set, the
    /// schedule's progress is the larger of `step / steps` and `elapsed / max_seconds`, and the
    /// run ends when either reaches 1, so warmup and cosine decay fit the budget on any
    /// device. `None` (the default): exactly `steps` steps.
    #[serde(default)]
    pub max_seconds: Option<f64>,
}

impl Default for LmTrainingConfig {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch_size: 64,
            lr: 1e-3,
            warmup: 100,
            min_lr_ratio: 0.1,
            weight_decay: 0.01,
            grad_clip: 1.0,
            eval_every: 250,
            seed: 42,
            progress: true,
            loss_after: None,
            max_seconds: None,
        }
    }
}

/// A batch of token rows (each `[BOS] … [EOS]`) right-padded for next-token prediction.
#[derive(Debug, Clone)]
pub struct LmBatch {
    /// The rows as sequences whose "prompt" is the first token.
    pub sequences: Sequences,
    /// `[B, L-1]` true where the target token is real (not padding).
    pub target_mask: Tensor<2, Bool>,
    /// Number of real target tokens.
    pub n_targets: usize,
}

impl LmBatch {
    /// Build a batch from token rows (each at least 2 tokens long); every token after the
    /// first is a target.
    pub fn new(rows: &[&[u32]], vocab: usize, device: &Device) -> Result<Self, PolicyError> {
        Self::completions(rows, None, vocab, device)
    }

    /// Build a batch whose targets are, with `loss_after = Some(sep)`, only the tokens after
    /// each row's first `sep` (the completion of a prompt ending in `sep`); with `None`, every
    /// token after the first.
    ///
    /// # Errors
    /// [`PolicyError::BadConfig`] for a row shorter than two tokens, or one without `sep` or
    /// with nothing after it.
    pub fn completions(
        rows: &[&[u32]],
        loss_after: Option<u32>,
        vocab: usize,
        device: &Device,
    ) -> Result<Self, PolicyError> {
        let l = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        if l < 2 || rows.iter().any(|r| r.len() < 2) {
            return Err(PolicyError::BadConfig(
                "every LM row needs at least two tokens".into(),
            ));
        }
        // First target index (into r[1..]) of each row.
        let starts = rows
            .iter()
            .map(|r| match loss_after {
                None => Ok(0),
                Some(sep) => match r.iter().position(|&t| t == sep) {
                    Some(p) if p + 1 < r.len() => Ok(p),
                    _ => Err(PolicyError::BadConfig(format!(
                        "an LM row has no completion after separator token {sep}"
                    ))),
                },
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let prompts: Vec<Vec<u32>> = rows.iter().map(|r| vec![r[0]]).collect();
        let responses: Vec<Vec<u32>> = rows
            .iter()
            .map(|r| {
                let mut v = r[1..].to_vec();
                v.resize(l - 1, PAD);
                v
            })
            .collect();
        let sequences = Sequences::from_parts(&prompts, &responses, vocab, device)?;
        let target_mask = if loss_after.is_none() {
            sequences.response().not_equal_elem(PAD as i64)
        } else {
            let mask: Vec<bool> = rows
                .iter()
                .zip(&starts)
                .flat_map(|(r, &s)| (0..l - 1).map(move |j| j >= s && j + 1 < r.len()))
                .collect();
            Tensor::from_data(TensorData::new(mask, [rows.len(), l - 1]), device)
        };
        Ok(Self {
            sequences,
            target_mask,
            n_targets: rows.iter().zip(&starts).map(|(r, s)| r.len() - 1 - s).sum(),
        })
    }
}

/// Mean negative log-likelihood per target token of `batch` under `policy`.
///
/// # Errors
/// As [`Policy::score`] (e.g. rows longer than the policy's context).
pub fn lm_loss<P: Policy>(policy: &P, batch: &LmBatch) -> Result<Tensor<1>, PolicyError> {
    let scores = policy.score(&batch.sequences, 1.0)?;
    let mask = batch
        .target_mask
        .clone()
        .to_device(&policy.device())
        .float();
    Ok(-(scores.log_probs * mask).sum() / batch.n_targets as f32)
}

/// What a training run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LmReport {
    /// `(step, mean training loss since the previous entry)`.
    pub train_loss: Vec<(usize, f64)>,
    /// `(step, validation loss, validation perplexity)`.
    pub valid: Vec<(usize, f64, f64)>,
    /// Training throughput (evaluation excluded), target tokens per second.
    pub tokens_per_s: f64,
    /// Wall time of the run, evaluation included, seconds.
    pub seconds: f64,
    /// Time spent in training steps only, seconds.
    pub train_seconds: f64,
    /// Optimiser steps taken (fewer than configured when `max_seconds` ended the run).
    pub steps: usize,
}

/// Causal-LM trainer.
#[derive(Debug, Clone)]
pub struct LmTrainer {
    /// The run's settings.
    pub config: LmTrainingConfig,
}

impl LmTrainer {
    /// A trainer with the given settings.
    pub fn new(config: LmTrainingConfig) -> Self {
        Self { config }
    }

    /// Mean validation NLL per token of `policy` on `rows` (evaluated on a `valid()` copy).
    pub fn evaluate<P: Policy>(
        policy: &P,
        rows: &[Vec<u32>],
        batch_size: usize,
        vocab: usize,
    ) -> Result<f64, PolicyError> {
        Self::evaluate_completions(policy, rows, None, batch_size, vocab)
    }

    /// Mean validation NLL per target token, targets chosen as in [`LmBatch::completions`].
    pub fn evaluate_completions<P: Policy>(
        policy: &P,
        rows: &[Vec<u32>],
        loss_after: Option<u32>,
        batch_size: usize,
        vocab: usize,
    ) -> Result<f64, PolicyError> {
        let model = policy.valid();
        let device = model.device();
        let (mut total, mut count) = (0.0f64, 0usize);
        for chunk in rows.chunks(batch_size.max(1)) {
            let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
            let batch = LmBatch::completions(&refs, loss_after, vocab, &device)?;
            let loss: f32 = lm_loss(&model, &batch)?.into_scalar();
            total += loss as f64 * batch.n_targets as f64;
            count += batch.n_targets;
        }
        Ok(total / count.max(1) as f64)
    }

    /// Train `policy` on `train` rows, evaluating on `valid` rows. Returns the trained policy
    /// (in training mode) and the report.
    ///
    /// # Errors
    /// [`PolicyError::BadConfig`] without rows, batch or steps; [`PolicyError::TooLong`] for a
    /// row longer than the policy's context ([`Policy::max_len`]).
    pub fn fit<P: Policy>(
        &self,
        policy: P,
        train: &[Vec<u32>],
        valid: &[Vec<u32>],
        vocab: usize,
    ) -> Result<(P, LmReport), PolicyError> {
        let cfg = &self.config;
        if train.is_empty() || cfg.batch_size == 0 || cfg.steps == 0 {
            return Err(PolicyError::BadConfig(
                "need training rows, batch_size ≥ 1 and steps ≥ 1".into(),
            ));
        }
        if let Some(max_len) = policy.max_len()
            && let Some(row) = train.iter().chain(valid).find(|r| r.len() > max_len)
        {
            return Err(PolicyError::TooLong {
                prompt: 0,
                response: row.len(),
                max_len,
            });
        }
        let mut policy = policy.train();
        let device = policy.device();
        device.seed(cfg.seed);
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut optim = AdamWConfig::new()
            .with_weight_decay(cfg.weight_decay)
            .with_epsilon(1e-8)
            .init();
        let schedule = WarmupCosine {
            peak: cfg.lr,
            warmup: cfg.warmup,
            total: cfg.steps,
            min_ratio: cfg.min_lr_ratio,
        };
        let bar = if cfg.progress {
            ProgressBar::new(cfg.steps as u64).with_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} (eta {eta})",
                )
                .expect("valid template"),
            )
        } else {
            ProgressBar::hidden()
        };
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng);
        let mut cursor = 0;
        let mut report = LmReport::default();
        let (mut window_loss, mut window_n, mut tokens) = (0.0f64, 0usize, 0usize);
        let start = Instant::now();
        let mut eval_seconds = 0.0;
        // Schedule position: the step count, or the budget's elapsed fraction if further on.
        let progress = |step: usize, train_seconds: f64| match cfg.max_seconds {
            Some(budget) if budget > 0.0 => {
                step.max((train_seconds / budget * cfg.steps as f64) as usize)
            }
            Some(_) => cfg.steps,
            None => step,
        };
        let eval_every = cfg.eval_every.max(1);
        let (mut step, mut done, mut next_eval) = (0usize, 0usize, eval_every);
        while done < cfg.steps {
            let mut rows = Vec::with_capacity(cfg.batch_size);
            while rows.len() < cfg.batch_size {
                if cursor == order.len() {
                    order.shuffle(&mut rng);
                    cursor = 0;
                }
                rows.push(train[order[cursor]].as_slice());
                cursor += 1;
            }
            let batch = LmBatch::completions(&rows, cfg.loss_after, vocab, &device)?;
            tokens += batch.n_targets;
            let loss = lm_loss(&policy, &batch)?;
            let grads = GradientsParams::from_grads(loss.backward(), &policy);
            let loss: f32 = loss.into_scalar();
            let (grads, norm) = clip_global_norm(&policy, grads, cfg.grad_clip);
            if norm.is_finite() && loss.is_finite() {
                policy = optim.step(schedule.lr(done), policy, grads);
            }
            window_loss += loss as f64;
            window_n += 1;
            step += 1;
            let now = progress(step, start.elapsed().as_secs_f64() - eval_seconds);
            bar.inc((now.min(cfg.steps) - done) as u64);
            done = now.min(cfg.steps);
            let last = done == cfg.steps;
            if done >= next_eval || last {
                next_eval = (done / eval_every + 1) * eval_every;
                let train_loss = window_loss / window_n as f64;
                report.train_loss.push((step, train_loss));
                (window_loss, window_n) = (0.0, 0);
                let mut msg = format!("train {train_loss:.4}");
                if !valid.is_empty() {
                    let t0 = Instant::now();
                    let v = Self::evaluate_completions(
                        &policy,
                        valid,
                        cfg.loss_after,
                        cfg.batch_size,
                        vocab,
                    )?;
                    eval_seconds += t0.elapsed().as_secs_f64();
                    report.valid.push((step, v, v.exp()));
                    msg += &format!(" | valid {v:.4} ppl {:.3}", v.exp());
                }
                bar.set_message(msg.clone());
                if cfg.progress {
                    let line = format!("step {step:>6}: {msg}");
                    if bar.is_hidden() {
                        eprintln!("{line}");
                    } else {
                        bar.println(line);
                    }
                }
            }
        }
        report.steps = step;
        bar.finish_and_clear();
        report.seconds = start.elapsed().as_secs_f64();
        report.train_seconds = report.seconds - eval_seconds;
        report.tokens_per_s = tokens as f64 / report.train_seconds;
        Ok((policy, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;

    #[test]
    fn completion_targets_start_after_the_separator() {
        let device = default_device();
        let (sep, vocab) = (4, 10);
        let rows: [&[u32]; 2] = [&[1, 5, 6, sep, 7, 2], &[1, 5, sep, 8, 9, 7, 2]];
        let all = LmBatch::new(&rows, vocab, &device).unwrap();
        assert_eq!(all.n_targets, 5 + 6);
        let batch = LmBatch::completions(&rows, Some(sep), vocab, &device).unwrap();
        // Targets: row 0 predicts 7, 2; row 1 predicts 8, 9, 7, 2.
        assert_eq!(batch.n_targets, 2 + 4);
        let mask: Vec<bool> = batch.target_mask.into_data().iter::<bool>().collect();
        assert_eq!(
            mask,
            [
                false, false, false, true, true, false, //
                false, false, true, true, true, true,
            ]
        );
        let missing: [&[u32]; 1] = [&[1, 5, 6, 2]];
        assert!(LmBatch::completions(&missing, Some(sep), vocab, &device).is_err());
        let nothing_after: [&[u32]; 1] = [&[1, 5, sep]];
        assert!(LmBatch::completions(&nothing_after, Some(sep), vocab, &device).is_err());
    }

    #[test]
    fn time_budget_ends_the_run_and_the_schedule() {
        use crate::policy::GptConfig;
        let device = default_device();
        device.seed(0);
        let model = GptConfig::new(1, 1, 16, 32, 8, 16).init(&device.clone().autodiff());
        let rows: Vec<Vec<u32>> = (0..8).map(|i| vec![1, 3 + i % 4, 4, 5, 2]).collect();
        let trainer = LmTrainer::new(LmTrainingConfig {
            steps: 1_000_000,
            batch_size: 4,
            warmup: 10,
            eval_every: 250_000,
            progress: false,
            max_seconds: Some(0.3),
            ..Default::default()
        });
        let (_, report) = trainer.fit(model, &rows, &rows[..2], 8).unwrap();
        assert!(
            report.steps > 0 && report.steps < 1_000_000,
            "{}",
            report.steps
        );
        // The budget's quarters trigger the evaluations, the last one at the end.
        assert!((1..=5).contains(&report.valid.len()), "{:?}", report.valid);
        assert_eq!(report.valid.last().unwrap().0, report.steps);
        assert!(report.train_seconds >= 0.3, "{}", report.train_seconds);
    }
}
