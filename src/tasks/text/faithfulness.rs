//! Faithfulness: a small head on MiniLM sentence embeddings trained to tell a description's
//! true synopsis from corrupted ones, and the training pairs it learns from.
//!
//! Features of a (description, summary) pair with embeddings `u`, `v` (L2-normalised):
//! `[u, v, u ⊙ v, |u − v|]` (the SentenceBERT/InferSent pair features), through a ReLU MLP to
//! one logit; the probability of "true pair" is the reward. Negatives ([`Corruption`]) are the
//! synopsis of a random other package, the synopsis of the package whose description is most
//! similar (hard negatives), and the true synopsis with half its words swapped for words of
//! other synopses.

use super::TextError;
use crate::checkpoint::{self, CheckpointError};
use crate::eval::metrics::auroc;
use crate::tasks::mlp::{he_layers, relu_mlp};
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use std::path::Path;

/// How a training pair was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Corruption {
    /// The true synopsis (a positive).
    None,
    /// The synopsis of a random other package.
    Random,
    /// The synopsis of the package whose description embedding is nearest (a hard negative).
    Nearest,
    /// The true synopsis with half its words (at least one) replaced by words of other
    /// synopses.
    WordSwap,
}

impl Corruption {
    /// The three negative kinds, in the order [`negatives`] cycles through them.
    pub const NEGATIVES: [Corruption; 3] = [Self::Random, Self::Nearest, Self::WordSwap];
}

/// A labelled (description, summary) text pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPair {
    /// Index of the description in the list given to [`negatives`].
    pub document: usize,
    /// The summary text.
    pub summary: String,
    /// How the summary was made ([`Corruption::None`] = the true synopsis).
    pub kind: Corruption,
}

/// Word-swap corruption of `summary`: half its words (at least one) replaced by random words
/// of `pool`, positions and words drawn from `rng`.
fn word_swap(summary: &str, pool: &[&str], rng: &mut StdRng) -> String {
    let mut words: Vec<&str> = summary.split_whitespace().collect();
    if words.is_empty() || pool.is_empty() {
        return summary.to_string();
    }
    let mut positions: Vec<usize> = (0..words.len()).collect();
    positions.shuffle(rng);
    for &p in positions.iter().take(words.len().div_ceil(2)) {
        let original = words[p];
        for _ in 0..8 {
            let w = pool[rng.random_range(0..pool.len())];
            if !w.eq_ignore_ascii_case(original) {
                words[p] = w;
                break;
            }
        }
    }
    words.join(" ")
}

/// The training pairs of documents with true `summaries` (same order) and description
/// embeddings `doc_embeddings` (L2-normalised): each true pair and one negative, the kinds
/// cycling through [`Corruption::NEGATIVES`]. `groups[i]` (e.g. the source package) keeps
/// negatives from coming from a document of the same group.
pub fn negatives(
    summaries: &[&str],
    doc_embeddings: &[Vec<f32>],
    groups: &[&str],
    seed: u64,
) -> Vec<TextPair> {
    let n = summaries.len();
    let mut rng = StdRng::seed_from_u64(seed);
    let words: Vec<&str> = summaries
        .iter()
        .flat_map(|s| s.split_whitespace())
        .collect();
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        out.push(TextPair {
            document: i,
            summary: summaries[i].to_string(),
            kind: Corruption::None,
        });
        let other_group = |j: usize| j != i && groups.get(j) != groups.get(i);
        let kind = Corruption::NEGATIVES[i % 3];
        let summary = match kind {
            Corruption::Nearest => {
                let dot = |j: usize| -> f32 {
                    doc_embeddings[i]
                        .iter()
                        .zip(&doc_embeddings[j])
                        .map(|(a, b)| a * b)
                        .sum()
                };
                (0..n)
                    .filter(|&j| other_group(j) && summaries[j] != summaries[i])
                    .max_by(|&a, &b| dot(a).total_cmp(&dot(b)))
                    .map(|j| summaries[j].to_string())
            }
            Corruption::WordSwap => Some(word_swap(summaries[i], &words, &mut rng)),
            _ => {
                let candidates: Vec<usize> = (0..n)
                    .filter(|&j| other_group(j) && summaries[j] != summaries[i])
                    .collect();
                candidates
                    .choose(&mut rng)
                    .map(|&j| summaries[j].to_string())
            }
        };
        if let Some(summary) = summary.filter(|s| s != summaries[i]) {
            out.push(TextPair {
                document: i,
                summary,
                kind,
            });
        }
    }
    out
}

/// Shape of a [`FaithfulnessHead`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaithfulnessConfig {
    /// Sentence-embedding width (MiniLM: 384).
    pub dim: usize,
    /// Hidden widths of the MLP (default `[256]`).
    pub hidden: Vec<usize>,
}

impl Default for FaithfulnessConfig {
    fn default() -> Self {
        Self {
            dim: 384,
            hidden: vec![256],
        }
    }
}

/// Training settings of a [`FaithfulnessHead`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaithfulnessTraining {
    /// Passes over the training pairs (the epoch with the best validation AUROC is kept).
    pub epochs: usize,
    /// Pairs per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
}

impl Default for FaithfulnessTraining {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 128,
            lr: 1e-3,
            weight_decay: 0.01,
            seed: 7,
        }
    }
}

/// Held-out quality of a head.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaithfulnessReport {
    /// Accuracy at probability 0.5 over all pairs.
    pub accuracy: f64,
    /// AUROC of true pairs against all negatives.
    pub auroc: f64,
    /// Per kind (true pairs first): `(kind, pairs, accuracy)`.
    pub by_kind: Vec<(Corruption, usize, f64)>,
}

/// Binary classifier of (description embedding, summary embedding) pairs.
#[derive(Module, Debug)]
pub struct FaithfulnessHead {
    layers: Vec<Linear>,
    #[module(skip)]
    config: FaithfulnessConfig,
}

/// An embedded, labelled pair: description and summary embeddings and whether it is true.
pub type EmbeddedPair<'a> = (&'a [f32], &'a [f32], bool);

impl FaithfulnessHead {
    /// A freshly initialised head (weights from the device's RNG).
    pub fn init(config: FaithfulnessConfig, device: &Device) -> Self {
        let widths: Vec<usize> = std::iter::once(4 * config.dim)
            .chain(config.hidden.iter().copied())
            .chain(std::iter::once(1))
            .collect();
        Self {
            layers: he_layers(&widths, device),
            config,
        }
    }

    /// The head's configuration.
    pub fn config(&self) -> &FaithfulnessConfig {
        &self.config
    }

    /// `[B, 4·dim]` pair features; `None` when an embedding is not `dim` wide.
    fn features(&self, pairs: &[(&[f32], &[f32])], device: &Device) -> Option<Tensor<2>> {
        let d = self.config.dim;
        let mut x = Vec::with_capacity(pairs.len() * 4 * d);
        for (u, v) in pairs {
            if u.len() != d || v.len() != d {
                return None;
            }
            x.extend_from_slice(u);
            x.extend_from_slice(v);
            x.extend(u.iter().zip(*v).map(|(a, b)| a * b));
            x.extend(u.iter().zip(*v).map(|(a, b)| (a - b).abs()));
        }
        Some(Tensor::from_data(
            TensorData::new(x, [pairs.len(), 4 * d]),
            device,
        ))
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let [b, _] = x.dims();
        relu_mlp(&self.layers, x).reshape([b])
    }

    /// Logit of "true pair" per (description, summary) embedding pair.
    ///
    /// # Errors
    /// [`TextError::Embedding`] when an embedding's width is not the configured `dim`.
    pub fn logits(&self, pairs: &[(&[f32], &[f32])]) -> Result<Vec<f64>, TextError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let device = self.layers[0].weight.val().device();
        let x = self.features(pairs, &device).ok_or_else(|| {
            TextError::Embedding(format!("embeddings must be {} wide", self.config.dim))
        })?;
        let out = self.forward(x).into_data();
        Ok(out.iter::<f32>().map(f64::from).collect())
    }

    /// Probability of "true pair" (the faithfulness reward, in [0, 1]).
    ///
    /// # Errors
    /// As [`Self::logits`].
    pub fn probabilities(&self, pairs: &[(&[f32], &[f32])]) -> Result<Vec<f64>, TextError> {
        Ok(self
            .logits(pairs)?
            .into_iter()
            .map(|z| 1.0 / (1.0 + (-z).exp()))
            .collect())
    }

    /// Accuracy and AUROC on labelled pairs, per corruption kind.
    ///
    /// # Errors
    /// As [`Self::logits`].
    pub fn evaluate(
        &self,
        pairs: &[EmbeddedPair<'_>],
        kinds: &[Corruption],
    ) -> Result<FaithfulnessReport, TextError> {
        let inputs: Vec<(&[f32], &[f32])> = pairs.iter().map(|&(u, v, _)| (u, v)).collect();
        let logits = self.logits(&inputs)?;
        let labels: Vec<bool> = pairs.iter().map(|p| p.2).collect();
        let right: Vec<bool> = logits
            .iter()
            .zip(&labels)
            .map(|(&z, &y)| (z > 0.0) == y)
            .collect();
        let share = |keep: &dyn Fn(usize) -> bool| {
            let idx: Vec<usize> = (0..right.len()).filter(|&i| keep(i)).collect();
            let n = idx.len();
            (
                n,
                idx.iter().filter(|&&i| right[i]).count() as f64 / n.max(1) as f64,
            )
        };
        let by_kind = std::iter::once(Corruption::None)
            .chain(Corruption::NEGATIVES)
            .map(|k| {
                let (n, acc) = share(&|i| kinds.get(i) == Some(&k));
                (k, n, acc)
            })
            .collect();
        Ok(FaithfulnessReport {
            accuracy: share(&|_| true).1,
            auroc: auroc(&logits, &labels),
            by_kind,
        })
    }

    /// Train a head on `train` pairs (logistic loss), keeping the epoch with the best AUROC on
    /// `valid`; `device` should support autodiff.
    ///
    /// # Errors
    /// [`TextError::Embedding`] without training pairs, with a zero batch size, or with an
    /// embedding of the wrong width.
    pub fn fit(
        config: FaithfulnessConfig,
        train: &[EmbeddedPair<'_>],
        valid: &[EmbeddedPair<'_>],
        training: &FaithfulnessTraining,
        device: &Device,
        mut on_epoch: impl FnMut(usize, f64),
    ) -> Result<Self, TextError> {
        if train.is_empty() || training.batch_size == 0 {
            return Err(TextError::Embedding(
                "no training pairs (or batch size 0)".into(),
            ));
        }
        let device = device.clone().autodiff();
        device.seed(training.seed);
        let mut model = Self::init(config, &device);
        let mut optim = AdamWConfig::new()
            .with_weight_decay(training.weight_decay)
            .init();
        let mut rng = StdRng::seed_from_u64(training.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut best: Option<(f64, Self)> = None;
        for epoch in 0..training.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(training.batch_size) {
                let inputs: Vec<(&[f32], &[f32])> =
                    chunk.iter().map(|&i| (train[i].0, train[i].1)).collect();
                let x = model.features(&inputs, &device).ok_or_else(|| {
                    TextError::Embedding(format!("embeddings must be {} wide", model.config.dim))
                })?;
                // ±1 labels: log σ(y·z) is the log-likelihood of the label.
                let signs: Vec<f32> = chunk
                    .iter()
                    .map(|&i| if train[i].2 { 1.0 } else { -1.0 })
                    .collect();
                let y = Tensor::<1>::from_data(TensorData::new(signs, [chunk.len()]), &device);
                let loss = -log_sigmoid(model.forward(x) * y).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(training.lr, model, grads);
            }
            let frozen = model.valid();
            let score = if valid.is_empty() {
                epoch as f64
            } else {
                frozen.evaluate(valid, &[])?.auroc
            };
            on_epoch(epoch, score);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, frozen));
            }
        }
        Ok(best.map_or_else(|| model.valid(), |(_, m)| m))
    }

    /// Save into the checkpoint directory `dir` (weights + `config.json`), atomically.
    pub fn save(&self, dir: &Path) -> Result<(), CheckpointError> {
        checkpoint::save_module(dir, self.clone(), &self.config, None)
    }

    /// Load a head saved by [`FaithfulnessHead::save`].
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let config: FaithfulnessConfig = checkpoint::load_config(dir)?;
        checkpoint::load_weights(dir, Self::init(config, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn negatives_cover_every_kind_and_respect_groups() {
        let summaries = [
            "json parser library",
            "image viewer",
            "json parser docs",
            "a game",
        ];
        let groups = ["a", "b", "a", "c"];
        let emb = vec![
            unit(vec![1.0, 0.0, 0.0]),
            unit(vec![0.0, 1.0, 0.0]),
            unit(vec![0.9, 0.1, 0.0]),
            unit(vec![0.5, 0.5, 0.1]),
        ];
        let pairs = negatives(&summaries, &emb, &groups, 1);
        let positives = pairs.iter().filter(|p| p.kind == Corruption::None).count();
        assert_eq!(positives, 4);
        for p in pairs.iter().filter(|p| p.kind != Corruption::None) {
            assert_ne!(p.summary, summaries[p.document]);
        }
        // Document 1's nearest other-group description is document 3 (0 shares no group
        // with 1, but 3 is nearer).
        let nearest = pairs
            .iter()
            .find(|p| p.document == 1 && p.kind == Corruption::Nearest)
            .unwrap();
        assert_eq!(nearest.summary, "a game");
        // Document 0's random negative never comes from document 2 (same group).
        let random = pairs
            .iter()
            .find(|p| p.document == 0 && p.kind == Corruption::Random)
            .unwrap();
        assert_ne!(random.summary, "json parser docs");
    }

    /// A separable toy problem: true pairs have v = u, negatives an unrelated v.
    #[test]
    fn learns_a_separable_problem_and_round_trips() {
        let device = default_device();
        let dim = 8;
        let mut rng = StdRng::seed_from_u64(3);
        let mut vecs = Vec::new();
        for i in 0..200 {
            let u = unit((0..dim).map(|_| rng.random::<f32>() - 0.5).collect());
            let v = if i % 2 == 0 {
                u.clone()
            } else {
                unit((0..dim).map(|_| rng.random::<f32>() - 0.5).collect())
            };
            vecs.push((u, v, i % 2 == 0));
        }
        let pairs: Vec<EmbeddedPair<'_>> = vecs
            .iter()
            .map(|(u, v, y)| (u.as_slice(), v.as_slice(), *y))
            .collect();
        let config = FaithfulnessConfig {
            dim,
            hidden: vec![16],
        };
        let training = FaithfulnessTraining {
            epochs: 40,
            batch_size: 32,
            lr: 3e-3,
            ..Default::default()
        };
        let head = FaithfulnessHead::fit(
            config,
            &pairs[..150],
            &pairs[150..],
            &training,
            &device,
            |_, _| {},
        )
        .unwrap();
        let report = head.evaluate(&pairs[150..], &[]).unwrap();
        assert!(report.accuracy > 0.9 && report.auroc > 0.95, "{report:?}");
        assert!(head.logits(&[(&[0.0; 3], &[0.0; 3])]).is_err());

        let dir = std::env::temp_dir().join(format!("mr-faith-{}", std::process::id()));
        head.save(&dir).unwrap();
        let back = FaithfulnessHead::load(&dir, &device).unwrap();
        let inputs: Vec<(&[f32], &[f32])> = pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(back.logits(&inputs).unwrap(), head.logits(&inputs).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
