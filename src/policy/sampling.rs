//! Next-token sampling on device: temperature, top-k, top-p (nucleus) and greedy.

use super::PolicyError;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How to sample responses. Defaults follow the reference PPO setup: temperature 0.7, no
/// top-k/top-p truncation, 100 new tokens, generation runs to the full length.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplingConfig {
    /// Number of tokens to generate per row (responses are padded to exactly this length).
    pub max_new_tokens: usize,
    /// Logits are divided by this before sampling and when scoring (at least
    /// [`MIN_TEMPERATURE`]).
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None`: no truncation).
    pub top_k: Option<usize>,
    /// Keep the smallest set of tokens whose probability reaches `p` (`None`: no truncation).
    pub top_p: Option<f32>,
    /// Take the arg-max instead of sampling.
    pub greedy: bool,
    /// Seed of the sampler's own RNG, for reproducible rollouts (`None`: fresh entropy).
    /// Sampling never touches the device's global RNG, so concurrent work cannot perturb it.
    pub seed: Option<u64>,
    /// Stop once every row has produced EOS (checked every few tokens; the rest is padding).
    pub stop_at_eos: bool,
    /// Use the key/value cache (`false` recomputes the full prefix at every step: a slow
    /// reference path for tests).
    pub use_kv_cache: bool,
    /// Sample only token ids below this (e.g. to keep conditioning tokens, which follow the
    /// tokenizer's vocabulary, out of responses). `None`: the whole vocabulary.
    pub vocab_limit: Option<usize>,
    /// Token ids never sampled (Hugging Face's `suppress_tokens`). With the tokenizer's
    /// [`Specials::all`](crate::tokenizer::Specials::all), no special (EOS included) enters a
    /// response, so every response is exactly `max_new_tokens` content tokens (DNA: exactly
    /// n·k bases).
    #[serde(default)]
    pub suppress: Vec<u32>,
    /// These rows are part of a larger batch (data-parallel PPO: each rank samples its share):
    /// the sampler draws the whole batch's random numbers and keeps these rows', so a row gets
    /// the draws it would get in the whole batch. `None`: the rows are the whole batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<BatchPart>,
}

/// Rows `start..start + rows` of a batch of `total` rows (see [`SamplingConfig::part_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchPart {
    /// Index of the first row in the whole batch.
    pub start: usize,
    /// Rows in the whole batch.
    pub total: usize,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 100,
            temperature: 0.7,
            top_k: None,
            top_p: None,
            greedy: false,
            seed: None,
            stop_at_eos: false,
            use_kv_cache: true,
            vocab_limit: None,
            suppress: Vec::new(),
            part_of: None,
        }
    }
}

impl SamplingConfig {
    /// Check ranges: temperature finite and ≥ [`MIN_TEMPERATURE`], top-k ≥ 1, top-p in (0, 1].
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_temperature(self.temperature)?;
        if self.top_k == Some(0) {
            return Err(PolicyError::BadConfig("top_k must be ≥ 1".into()));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(PolicyError::BadConfig(format!(
                "top_p must be in (0, 1], got {p}"
            )));
        }
        if self.vocab_limit == Some(0) {
            return Err(PolicyError::BadConfig("vocab_limit must be ≥ 1".into()));
        }
        if self.max_new_tokens == 0 {
            return Err(PolicyError::BadConfig("max_new_tokens must be ≥ 1".into()));
        }
        if let Some(part) = self.part_of
            && part.start >= part.total
        {
            return Err(PolicyError::BadConfig(format!(
                "part_of: row {} of a batch of {}",
                part.start, part.total
            )));
        }
        Ok(())
    }

    /// [`SamplingConfig::validate`] for a policy of `vocab` tokens: also the suppressed ids
    /// must be in the vocabulary and leave a token to sample. Every sampling entry point calls
    /// this.
    pub fn validate_for(&self, vocab: usize) -> Result<(), PolicyError> {
        self.validate()?;
        if let Some(&id) = self.suppress.iter().find(|&&id| id as usize >= vocab) {
            return Err(PolicyError::BadConfig(format!(
                "suppressed token id {id} is outside the policy's vocabulary of {vocab}"
            )));
        }
        let limit = self.vocab_limit.map_or(vocab, |l| l.min(vocab));
        let suppressed = (0..limit as u32)
            .filter(|id| self.suppress.contains(id))
            .count();
        if suppressed >= limit {
            return Err(PolicyError::BadConfig(format!(
                "suppressing {} ids leaves no token of the {limit} below the limit to sample",
                self.suppress.len()
            )));
        }
        Ok(())
    }
}

/// The smallest sampling or scoring temperature.
///
/// Logits are divided by the temperature in f32, so log-probabilities grow as 1/T and their
/// gradients too. Measured on the shipped SMILES policy and the Llama fixture: log-probabilities
/// stop being finite at T ≤ 1e-38 (1e-45 gave NaN log-probabilities and empty samples) and
/// the global gradient norm at T ≤ 1e-17. At 1e-6 log-probabilities are about 1e6 and gradient
/// norms about 1e9 (clipped by the optimiser): finite with ten orders of magnitude to spare
/// for models with larger logits. For T → 0 use greedy decoding (`SamplingConfig::greedy`).
pub const MIN_TEMPERATURE: f32 = 1e-6;

/// A sampling or scoring temperature must be finite and at least [`MIN_TEMPERATURE`] (logits
/// are divided by it).
pub fn check_temperature(temperature: f32) -> Result<(), PolicyError> {
    if temperature.is_finite() && temperature >= MIN_TEMPERATURE {
        Ok(())
    } else {
        Err(PolicyError::BadConfig(format!(
            "temperature must be finite and at least {MIN_TEMPERATURE:?} (smaller ones overflow \
             the scaled logits; for the T → 0 limit use greedy decoding), got {temperature:?}"
        )))
    }
}

/// `[B, steps]` uniform draws in [0, 1) for a whole rollout, from the config's seed, uploaded
/// once (row-major; for rows that are [`SamplingConfig::part_of`] a larger batch, that
/// batch's draws for these rows).
pub fn uniform_draws(
    cfg: &SamplingConfig,
    batch: usize,
    steps: usize,
    device: &Device,
) -> Tensor<2> {
    let mut rng = match cfg.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_rng(&mut rand::rng()),
    };
    let skip = cfg.part_of.map_or(0, |p| p.start * steps);
    for _ in 0..skip {
        rng.random::<f32>();
    }
    let draws: Vec<f32> = (0..batch * steps).map(|_| rng.random::<f32>()).collect();
    Tensor::from_data(TensorData::new(draws, [batch, steps]), device)
}

/// The ids below `vocab` as sorted runs of consecutive ids (one fill per run).
fn id_runs(ids: &[u32], vocab: usize) -> Vec<std::ops::Range<usize>> {
    let mut sorted: Vec<usize> = ids
        .iter()
        .map(|&i| i as usize)
        .filter(|&i| i < vocab)
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for id in sorted {
        match runs.last_mut() {
            Some(run) if run.end == id => run.end += 1,
            _ => runs.push(id..id + 1),
        }
    }
    runs
}

/// Sample one token per row from `logits` `[B, V]` by inverse CDF with the uniform draws
/// `uniform` `[B, 1]` (see [`uniform_draws`]).
///
/// Returns the token ids `[B, 1]` and their log-probabilities `[B, 1]` under the model's
/// temperature-scaled distribution over the whole vocabulary — before the vocabulary limit,
/// the suppressed ids and top-k/top-p truncation, which only restrict what is drawn — so that
/// they equal what [`Policy::score`](crate::policy::Policy::score) gives for the same tokens
/// (the old policy's log-probabilities in PPO, and a KL of zero from a policy to itself).
pub fn sample_next(
    logits: Tensor<2>,
    cfg: &SamplingConfig,
    uniform: Tensor<2>,
) -> (Tensor<2, Int>, Tensor<2>) {
    let full = logits / cfg.temperature;
    let mut scaled = full.clone();
    let [b, vocab] = scaled.dims();
    if let Some(limit) = cfg.vocab_limit.filter(|&l| l < vocab) {
        scaled = scaled.slice_fill([0..b, limit..vocab], f32::NEG_INFINITY);
    }
    for run in id_runs(&cfg.suppress, vocab) {
        scaled = scaled.slice_fill([0..b, run], f32::NEG_INFINITY);
    }
    let token = if cfg.greedy {
        scaled.clone().argmax(1)
    } else {
        let mut filtered = scaled.clone();
        if let Some(k) = cfg.top_k.filter(|&k| k < vocab) {
            let kth = filtered.clone().topk(k, 1).narrow(1, k - 1, 1);
            let drop = filtered.clone().lower(kth);
            filtered = filtered.mask_fill(drop, f32::NEG_INFINITY);
        }
        if let Some(p) = cfg.top_p.filter(|&p| p < 1.0) {
            // Keep the sorted prefix whose mass *before* each token is < p (always ≥ 1 token),
            // then drop every logit below the last kept one.
            let sorted = filtered.clone().sort_descending(1);
            let probs = softmax(sorted.clone(), 1);
            let before = probs.clone().cumsum(1) - probs;
            let kept = before.lower_elem(p).int().sum_dim(1).clamp_min(1) - 1;
            let threshold = sorted.gather(1, kept);
            let drop = filtered.clone().lower(threshold);
            filtered = filtered.mask_fill(drop, f32::NEG_INFINITY);
        }
        let cdf = softmax(filtered, 1).cumsum(1);
        let below = cdf.lower(uniform.expand([b, vocab]));
        below.int().sum_dim(1).clamp(0, vocab as i64 - 1)
    };
    let log_prob = log_softmax(full, 1).gather(1, token.clone());
    (token, log_prob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;

    fn ids(t: Tensor<2, Int>) -> Vec<i64> {
        t.into_data().iter::<i64>().collect()
    }

    fn draw(logits: &Tensor<2>, cfg: &SamplingConfig, seed: u64) -> Vec<i64> {
        let u = uniform_draws(
            &SamplingConfig {
                seed: Some(seed),
                ..cfg.clone()
            },
            logits.dims()[0],
            1,
            &logits.device(),
        );
        ids(sample_next(logits.clone(), cfg, u).0)
    }

    #[test]
    fn greedy_top_k_top_p() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[0.0, 3.0, 1.0, 2.0], [5.0, 0.0, 0.0, 4.9]], &dev);
        let greedy = SamplingConfig {
            greedy: true,
            ..Default::default()
        };
        assert_eq!(draw(&logits, &greedy, 0), vec![1, 0]);
        // top-k 1 is greedy whatever the seed.
        let k1 = SamplingConfig {
            top_k: Some(1),
            seed: None,
            ..Default::default()
        };
        for seed in 0..20 {
            assert_eq!(draw(&logits, &k1, seed), vec![1, 0]);
        }
        // top-p small keeps only the most likely token.
        let p = SamplingConfig {
            top_p: Some(0.05),
            ..Default::default()
        };
        for seed in 0..20 {
            assert_eq!(draw(&logits, &p, seed), vec![1, 0]);
        }
        // top-k 2 never picks outside the two largest.
        let k2 = SamplingConfig {
            top_k: Some(2),
            temperature: 5.0,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        for seed in 0..50 {
            let t = draw(&logits, &k2, seed);
            assert!(t[0] == 1 || t[0] == 3, "{t:?}");
            assert!(t[1] == 0 || t[1] == 3, "{t:?}");
            seen.insert(t[0]);
        }
        assert_eq!(seen.len(), 2, "both kept tokens are drawn at temperature 5");
    }

    #[test]
    fn vocab_limit_excludes_the_tail() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[0.0, 0.0, 9.0, 9.0]], &dev);
        let cfg = SamplingConfig {
            vocab_limit: Some(2),
            temperature: 1.0,
            ..Default::default()
        };
        for seed in 0..20 {
            assert!(draw(&logits, &cfg, seed)[0] < 2);
        }
        let greedy = SamplingConfig {
            greedy: true,
            ..cfg
        };
        assert!(draw(&logits, &greedy, 0)[0] < 2);
    }

    #[test]
    fn suppressed_tokens_are_never_drawn() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[9.0, 9.0, 0.0, 0.0, 0.0]], &dev);
        let cfg = SamplingConfig {
            suppress: vec![0, 1],
            vocab_limit: Some(4),
            temperature: 1.0,
            ..Default::default()
        };
        for seed in 0..20 {
            let t = draw(&logits, &cfg, seed)[0];
            assert!((2..4).contains(&t), "{t}");
        }
        let empty = SamplingConfig {
            suppress: vec![0, 1, 2, 3],
            ..cfg.clone()
        };
        assert!(empty.validate_for(5).is_err());
        let outside = SamplingConfig {
            suppress: vec![7],
            ..cfg
        };
        assert!(outside.validate_for(5).is_err());
    }

    #[test]
    fn log_prob_is_of_scaled_distribution() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[0.0, 1.0]], &dev);
        let cfg = SamplingConfig {
            greedy: true,
            temperature: 0.5,
            ..Default::default()
        };
        let u = uniform_draws(&cfg, 1, 1, &dev);
        let (_, lp) = sample_next(logits, &cfg, u);
        let lp: f32 = lp.into_scalar();
        // softmax([0, 2])[1] = e^2 / (1 + e^2)
        let want = (2f32.exp() / (1.0 + 2f32.exp())).ln();
        assert!((lp - want).abs() < 1e-6, "{lp} vs {want}");
    }

    #[test]
    fn log_prob_ignores_what_only_restricts_the_draw() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[0.0, 1.0, 2.0, 3.0]], &dev);
        let cfg = SamplingConfig {
            suppress: vec![3],
            vocab_limit: Some(3),
            top_k: Some(1),
            temperature: 1.0,
            seed: Some(1),
            ..Default::default()
        };
        let u = uniform_draws(&cfg, 1, 1, &dev);
        let (t, lp) = sample_next(logits, &cfg, u);
        assert_eq!(ids(t), [2]);
        let lp: f32 = lp.into_scalar();
        let z: f32 = (0..4).map(|i| (i as f32).exp()).sum();
        let want = (2f32.exp() / z).ln();
        assert!((lp - want).abs() < 1e-6, "{lp} vs {want}");
    }

    #[test]
    fn frequencies_follow_the_distribution() {
        let dev = default_device();
        let logits = Tensor::<2>::from_floats([[0.0, (3f32).ln(), f32::NEG_INFINITY]], &dev)
            .repeat_dim(0, 4000);
        let cfg = SamplingConfig {
            temperature: 1.0,
            seed: Some(3),
            ..Default::default()
        };
        let u = uniform_draws(&cfg, 4000, 1, &dev);
        let t = ids(sample_next(logits, &cfg, u).0);
        let ones = t.iter().filter(|&&x| x == 1).count() as f64 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "{ones}");
        assert!(t.iter().all(|&x| x != 2));
    }

    #[test]
    fn validate_rejects_bad_values() {
        for cfg in [
            SamplingConfig {
                temperature: 0.0,
                ..Default::default()
            },
            SamplingConfig {
                top_k: Some(0),
                ..Default::default()
            },
            SamplingConfig {
                top_p: Some(1.5),
                ..Default::default()
            },
            SamplingConfig {
                max_new_tokens: 0,
                ..Default::default()
            },
        ] {
            assert!(matches!(cfg.validate(), Err(PolicyError::BadConfig(_))));
        }
    }
}
