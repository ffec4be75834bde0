//! The summarisation rewards built on MiniLM sentence embeddings: relevance (cosine between
//! the description and the summary) and faithfulness (a trained head's probability that the
//! summary is the description's own). Both share one [`EmbeddingCache`], so each text is
//! embedded once per batch, and each description once per run.

use super::faithfulness::FaithfulnessHead;
use super::minilm::{MiniLmError, SentenceEncoder, cosine};
use crate::reward::{Reward, RewardError, Sample};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Texts kept in an [`EmbeddingCache`] before it is emptied (prompts are re-embedded after).
pub const CACHE_CAPACITY: usize = 50_000;

/// Shared sentence embeddings, one per text.
type Embeddings = Vec<Arc<[f32]>>;

/// A [`SentenceEncoder`] with a memo of the embeddings it has computed, shared by rewards.
#[derive(Debug)]
pub struct EmbeddingCache {
    encoder: SentenceEncoder,
    memo: Mutex<HashMap<String, Arc<[f32]>>>,
}

impl EmbeddingCache {
    /// A cache around `encoder`.
    pub fn new(encoder: SentenceEncoder) -> Self {
        Self {
            encoder,
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// The encoder.
    pub fn encoder(&self) -> &SentenceEncoder {
        &self.encoder
    }

    /// L2-normalised embeddings of `texts`, in order; texts not seen before are embedded in
    /// one batched call.
    ///
    /// # Errors
    /// The encoder's error (e.g. a tokenizer failure).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>, MiniLmError> {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !memo.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            if memo.len() + missing.len() > CACHE_CAPACITY {
                memo.clear();
                missing = texts.to_vec();
                missing.sort_unstable();
                missing.dedup();
            }
            let fresh = self.encoder.embed(&missing)?;
            for (t, e) in missing.into_iter().zip(fresh) {
                memo.insert(t.to_string(), e.into());
            }
        }
        Ok(texts.iter().map(|t| memo[*t].clone()).collect())
    }

    /// Embeddings of every sample's prompt and completion.
    fn embed_samples(
        &self,
        reward: &str,
        samples: &[Sample<'_>],
    ) -> Result<(Embeddings, Embeddings), RewardError> {
        let failed = |e: MiniLmError| RewardError::Failed {
            reward: reward.to_string(),
            message: format!("MiniLM: {e}"),
        };
        let texts: Vec<&str> = samples
            .iter()
            .flat_map(|s| [s.prompt, s.completion])
            .collect();
        let all = self.embed(&texts).map_err(failed)?;
        let (mut prompts, mut completions) = (Vec::new(), Vec::new());
        for pair in all.chunks(2) {
            prompts.push(pair[0].clone());
            completions.push(pair[1].clone());
        }
        Ok((prompts, completions))
    }
}

/// A sample's reward given its score: not applicable without a prompt, 0 for an empty summary.
fn value_of(sample: &Sample<'_>, score: f64) -> Option<f64> {
    if sample.prompt.trim().is_empty() {
        None
    } else if sample.completion.trim().is_empty() {
        Some(0.0)
    } else {
        Some(score)
    }
}

/// Relevance: cosine similarity of the MiniLM embeddings of the prompt (the description) and
/// the completion (the summary), in [−1, 1]. An empty summary scores 0; a sample without a
/// prompt is not applicable.
#[derive(Debug, Clone)]
pub struct RelevanceReward {
    name: String,
    cache: Arc<EmbeddingCache>,
}

impl RelevanceReward {
    /// A relevance reward named `name` over a shared embedding cache.
    pub fn new(name: impl Into<String>, cache: Arc<EmbeddingCache>) -> Self {
        Self {
            name: name.into(),
            cache,
        }
    }
}

impl Reward for RelevanceReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        let (prompts, completions) = self.cache.embed_samples(&self.name, samples)?;
        Ok(samples
            .iter()
            .zip(prompts.iter().zip(&completions))
            .map(|(s, (u, v))| value_of(s, f64::from(cosine(u, v))))
            .collect())
    }
}

/// Faithfulness: the [`FaithfulnessHead`]'s probability that the completion is the prompt's
/// own summary, in [0, 1]. An empty summary scores 0; a sample without a prompt is not
/// applicable.
#[derive(Debug)]
pub struct FaithfulnessReward {
    name: String,
    cache: Arc<EmbeddingCache>,
    head: FaithfulnessHead,
}

impl FaithfulnessReward {
    /// A faithfulness reward named `name` scoring with `head` (inference device) over a shared
    /// embedding cache.
    pub fn new(
        name: impl Into<String>,
        cache: Arc<EmbeddingCache>,
        head: FaithfulnessHead,
    ) -> Self {
        Self {
            name: name.into(),
            cache,
            head,
        }
    }
}

impl Reward for FaithfulnessReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        let (prompts, completions) = self.cache.embed_samples(&self.name, samples)?;
        let pairs: Vec<(&[f32], &[f32])> = prompts
            .iter()
            .zip(&completions)
            .map(|(u, v)| (&u[..], &v[..]))
            .collect();
        let p = self
            .head
            .probabilities(&pairs)
            .map_err(|e| RewardError::Failed {
                reward: self.name.clone(),
                message: e.to_string(),
            })?;
        Ok(samples.iter().zip(p).map(|(s, p)| value_of(s, p)).collect())
    }
}
