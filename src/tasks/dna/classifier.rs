//! Cell-type classifiers of DNA sequences, trained in Burn on the DHS training split: which of
//! the four cell types ([`CellType::ALL`]) a 200-bp accessible site belongs to.
//!
//! Two architectures, so that a training reward and its evaluation oracle can differ:
//! - [`Architecture::Cnn`]: 1-D convolutions over one-hot bases (ReLU, max-pool), the global
//!   maximum and mean over positions, then an MLP — the usual enhancer-model shape (Basset/DeepSTARR-like,
//!   small);
//! - [`Architecture::Kmer`]: an MLP over the overlapping k-mer spectrum (no positional
//!   information at all).
//!
//! Training: cross-entropy, AdamW with cosine decay, reverse-complement augmentation, and the
//! epoch with the best validation macro-AUROC kept. [`CellClassifier::evaluate`] reports
//! accuracy and one-vs-rest AUROC per class.

use super::data::{CellType, DhsRecord};
use super::{DnaError, encode};
use crate::checkpoint::{self, CheckpointError};
use crate::eval::metrics::auroc;
use crate::tasks::mlp::{he_layers, relu_mlp};
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::MaxPool1dConfig;
use burn::nn::{Linear, PaddingConfig1d};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// Input representation and trunk of a [`CellClassifier`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Architecture {
    /// Convolutions over one-hot bases: layer `i` has `filters[i]` filters of width
    /// `kernels[i]` ("same" padding), ReLU, then a max-pool of width and stride `pool` (all but
    /// the last layer, whose maximum and mean over all positions feed the head).
    Cnn {
        /// Filters per convolution.
        filters: Vec<usize>,
        /// Kernel width per convolution (bases at the first layer).
        kernels: Vec<usize>,
        /// Max-pool width and stride between convolutions.
        pool: usize,
    },
    /// The overlapping k-mer spectrum (4^k frequencies, scaled by 4^k so a uniform spectrum is
    /// all ones).
    Kmer {
        /// k-mer length (1..=6).
        k: usize,
    },
}

/// Shape of a classifier (saved as its `config.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierConfig {
    /// The trunk.
    pub architecture: Architecture,
    /// Hidden widths of the MLP head (ReLU after each); the output has one logit per
    /// [`CellType`].
    pub hidden: Vec<usize>,
    /// Sequence length the classifier was trained on (bp; 200 for the DHS data). Sequences of
    /// another length are not scored.
    pub length: usize,
}

impl ClassifierConfig {
    fn validate(&self) -> Result<(), String> {
        match &self.architecture {
            Architecture::Cnn {
                filters,
                kernels,
                pool,
            } => {
                if filters.is_empty() || filters.len() != kernels.len() {
                    return Err(format!(
                        "{} filter counts for {} kernels (need ≥ 1, equal)",
                        filters.len(),
                        kernels.len()
                    ));
                }
                if filters.contains(&0) || kernels.contains(&0) || *pool == 0 {
                    return Err("filters, kernels and pool must be ≥ 1".into());
                }
                let shrink = pool
                    .checked_pow(filters.len() as u32 - 1)
                    .unwrap_or(usize::MAX);
                if self.length / shrink == 0 {
                    return Err(format!(
                        "length {} vanishes after {} pools of {pool}",
                        self.length,
                        filters.len() - 1
                    ));
                }
            }
            Architecture::Kmer { k } => {
                if !(1..=6).contains(k) || *k > self.length {
                    return Err(format!("k = {k}, expected 1..=6 and ≤ length"));
                }
            }
        }
        if self.hidden.contains(&0) || self.length == 0 {
            return Err("hidden widths and length must be ≥ 1".into());
        }
        Ok(())
    }

    fn trunk_width(&self) -> usize {
        match &self.architecture {
            Architecture::Cnn { filters, .. } => 2 * *filters.last().unwrap_or(&1),
            Architecture::Kmer { k } => 1 << (2 * k),
        }
    }
}

/// Training settings of [`CellClassifier::fit`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierTraining {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate (cosine decay to 5 %).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        Self {
            epochs: 6,
            batch_size: 128,
            lr: 2e-3,
            weight_decay: 1e-2,
            seed: 0,
        }
    }
}

/// Held-out quality of one class (one-vs-rest).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassReport {
    /// The class.
    pub cell_type: String,
    /// Area under the ROC curve of P(class) for this class against the others.
    pub auroc: f64,
    /// Rows of this class.
    pub n: usize,
}

/// Held-out quality of a classifier.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassifierReport {
    /// Fraction of rows whose arg-max class is the label (chance ≈ 0.25).
    pub accuracy: f64,
    /// Mean of the per-class AUROCs.
    pub macro_auroc: f64,
    /// Per class, in [`CellType::ALL`] order.
    pub classes: Vec<ClassReport>,
    /// Rows evaluated.
    pub n: usize,
}

/// A cell-type classifier: trunk ([`Architecture`]) + MLP head, 4 logits.
#[derive(Module, Debug)]
pub struct CellClassifier {
    convs: Vec<Conv1d>,
    layers: Vec<Linear>,
    #[module(skip)]
    config: ClassifierConfig,
}

/// Reverse complement of a base-index sequence (A=0 … T=3).
fn reverse_complement(bases: &[u8]) -> Vec<u8> {
    bases.iter().rev().map(|b| 3 - b).collect()
}

impl CellClassifier {
    /// The classifier's configuration.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// A freshly initialised classifier (weights from the device's RNG).
    ///
    /// # Errors
    /// [`DnaError::BadClassifier`] for an inconsistent configuration.
    pub fn init(config: ClassifierConfig, device: &Device) -> Result<Self, DnaError> {
        config.validate().map_err(DnaError::BadClassifier)?;
        let convs = match &config.architecture {
            Architecture::Cnn {
                filters, kernels, ..
            } => {
                let mut c_in = 4;
                filters
                    .iter()
                    .zip(kernels)
                    .map(|(&f, &k)| {
                        let conv = Conv1dConfig::new(c_in, f, k)
                            .with_padding(PaddingConfig1d::Same)
                            .init(device);
                        c_in = f;
                        conv
                    })
                    .collect()
            }
            Architecture::Kmer { .. } => Vec::new(),
        };
        let widths: Vec<usize> = std::iter::once(config.trunk_width())
            .chain(config.hidden.iter().copied())
            .chain(std::iter::once(CellType::ALL.len()))
            .collect();
        let layers = he_layers(&widths, device);
        Ok(Self {
            convs,
            layers,
            config,
        })
    }

    /// Input tensor of encoded sequences (all of the configured length).
    fn input(&self, seqs: &[Vec<u8>], device: &Device) -> Tensor<2> {
        let b = seqs.len();
        match &self.config.architecture {
            Architecture::Cnn { .. } => {
                let l = self.config.length;
                let mut x = vec![0f32; b * 4 * l];
                for (i, s) in seqs.iter().enumerate() {
                    for (j, &base) in s.iter().enumerate() {
                        x[(i * 4 + base as usize) * l + j] = 1.0;
                    }
                }
                Tensor::from_data(TensorData::new(x, [b, 4 * l]), device)
            }
            Architecture::Kmer { k } => {
                // The k-mer spectrum of the encoded bases (as `kmer_spectrum` of the text),
                // scaled so that a uniform spectrum is all ones.
                let width = 1usize << (2 * k);
                let mut x = vec![0f32; b * width];
                for (row, s) in x.chunks_mut(width).zip(seqs) {
                    let mut counts = vec![0f64; width];
                    for w in s.windows(*k) {
                        counts[w.iter().fold(0, |acc, &base| acc * 4 + base as usize)] += 1.0;
                    }
                    let total: f64 = counts.iter().sum();
                    for (v, c) in row.iter_mut().zip(&counts) {
                        *v = (c / total.max(1.0) * width as f64) as f32;
                    }
                }
                Tensor::from_data(TensorData::new(x, [b, width]), device)
            }
        }
    }

    /// Logits `[B, 4]` from the input of [`Self::input`].
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        if let Architecture::Cnn { pool, .. } = &self.config.architecture {
            let [b, _] = h.dims();
            let mut z: Tensor<3> = h.reshape([b, 4, self.config.length]);
            let last = self.convs.len() - 1;
            for (i, conv) in self.convs.iter().enumerate() {
                z = relu(conv.forward(z));
                if i < last {
                    z = MaxPool1dConfig::new(*pool)
                        .with_stride(*pool)
                        .init()
                        .forward(z);
                }
            }
            // Global max (the strongest motif match) and mean (composition) per filter.
            let [b, c, _] = z.dims();
            h = Tensor::cat(
                vec![
                    z.clone().max_dim(2).reshape([b, c]),
                    z.mean_dim(2).reshape([b, c]),
                ],
                1,
            );
        }
        relu_mlp(&self.layers, h)
    }

    /// Encoded form of `seq` if the classifier can score it (ACGT of the configured length).
    fn encoded(&self, seq: &str) -> Option<Vec<u8>> {
        (seq.len() == self.config.length)
            .then(|| encode(seq).ok())
            .flatten()
    }

    /// Class logits (natural-log units, softmax gives the probabilities) per sequence, in
    /// [`CellType::ALL`] order; `None` for a sequence that is not ACGT (either case) of exactly
    /// the configured length.
    pub fn logits(&self, seqs: &[&str]) -> Vec<Option<[f64; 4]>> {
        let encoded: Vec<Option<Vec<u8>>> = seqs.iter().map(|s| self.encoded(s)).collect();
        let rows: Vec<Vec<u8>> = encoded.iter().flatten().cloned().collect();
        let mut logits = self.logits_encoded(&rows).into_iter();
        encoded
            .iter()
            .map(|e| e.as_ref().and_then(|_| logits.next()))
            .collect()
    }

    /// Class probabilities `[P(HepG2), P(K562), P(GM12878), P(hESC)]` per sequence (see
    /// [`Self::logits`]).
    pub fn probabilities(&self, seqs: &[&str]) -> Vec<Option<[f64; 4]>> {
        self.logits(seqs)
            .into_iter()
            .map(|l| l.map(|l| softmax4(&l)))
            .collect()
    }

    fn logits_encoded(&self, rows: &[Vec<u8>]) -> Vec<[f64; 4]> {
        let model = self.valid();
        let device = model.layers[0].weight.device();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(512) {
            let z: Vec<f32> = model
                .forward(model.input(chunk, &device))
                .into_data()
                .iter::<f32>()
                .collect();
            out.extend(
                z.chunks(4)
                    .map(|r| [r[0] as f64, r[1] as f64, r[2] as f64, r[3] as f64]),
            );
        }
        out
    }

    /// Accuracy and one-vs-rest AUROC on labelled records (records the classifier cannot
    /// score are skipped).
    pub fn evaluate(&self, records: &[DhsRecord]) -> ClassifierReport {
        let (rows, labels): (Vec<Vec<u8>>, Vec<usize>) = records
            .iter()
            .filter_map(|r| Some((self.encoded(&r.sequence)?, r.cell_type.index())))
            .unzip();
        let probs: Vec<[f64; 4]> = self.logits_encoded(&rows).iter().map(softmax4).collect();
        report(&probs, &labels)
    }

    /// Train a classifier of shape `config` on `train`, keeping the epoch with the best
    /// macro-AUROC on `valid`; `device` should support autodiff. Records the configuration
    /// cannot score (wrong length, non-ACGT) are skipped.
    ///
    /// # Errors
    /// [`DnaError::BadClassifier`] for an inconsistent configuration or no usable training
    /// rows.
    pub fn fit(
        config: ClassifierConfig,
        train: &[DhsRecord],
        valid: &[DhsRecord],
        training: &ClassifierTraining,
        device: &Device,
        mut on_epoch: impl FnMut(usize, &ClassifierReport),
    ) -> Result<Self, DnaError> {
        let device = device.clone().autodiff();
        device.seed(training.seed);
        let mut model = Self::init(config, &device)?;
        let (rows, labels): (Vec<Vec<u8>>, Vec<usize>) = train
            .iter()
            .filter_map(|r| Some((model.encoded(&r.sequence)?, r.cell_type.index())))
            .unzip();
        if rows.is_empty() || training.batch_size == 0 {
            return Err(DnaError::BadClassifier(
                "no training rows of the configured length (or batch size 0)".into(),
            ));
        }
        let mut optim = AdamWConfig::new()
            .with_weight_decay(training.weight_decay)
            .init();
        let mut rng = StdRng::seed_from_u64(training.seed);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let steps_total = training.epochs * rows.len().div_ceil(training.batch_size);
        let (mut step, mut best) = (0, None::<(f64, Self)>);
        for epoch in 0..training.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(training.batch_size) {
                let xb: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|&i| {
                        if rng.random::<bool>() {
                            reverse_complement(&rows[i])
                        } else {
                            rows[i].clone()
                        }
                    })
                    .collect();
                let yb: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
                let target =
                    Tensor::<2, Int>::from_data(TensorData::new(yb, [chunk.len(), 1]), &device);
                let logits = model.forward(model.input(&xb, &device));
                let loss = -log_softmax(logits, 1).gather(1, target).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                let t = step as f64 / steps_total.max(1) as f64;
                let lr =
                    training.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()));
                model = optim.step(lr, model, grads);
                step += 1;
            }
            let frozen = model.valid();
            let rep = frozen.evaluate(valid);
            on_epoch(epoch, &rep);
            let score = if valid.is_empty() {
                epoch as f64
            } else {
                rep.macro_auroc
            };
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

    /// Load a classifier saved by [`CellClassifier::save`].
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let config: ClassifierConfig = checkpoint::load_config(dir)?;
        let model =
            Self::init(config, device).map_err(|e| CheckpointError::BadConfig(e.to_string()))?;
        checkpoint::load_weights(dir, model)
    }
}

/// Softmax of four logits (in f64, stable).
fn softmax4(l: &[f64; 4]) -> [f64; 4] {
    let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = l.map(|x| (x - m).exp());
    let z: f64 = e.iter().sum();
    e.map(|x| x / z)
}

/// Accuracy and per-class AUROC of probability rows against labels.
fn report(probs: &[[f64; 4]], labels: &[usize]) -> ClassifierReport {
    let n = labels.len();
    let correct = probs
        .iter()
        .zip(labels)
        .filter(|&(p, &y)| {
            let arg = (0..4).fold(0, |a, i| if p[i] > p[a] { i } else { a });
            arg == y
        })
        .count();
    let classes: Vec<ClassReport> = CellType::ALL
        .iter()
        .map(|c| {
            let i = c.index();
            let scores: Vec<f64> = probs.iter().map(|p| p[i]).collect();
            let positive: Vec<bool> = labels.iter().map(|&y| y == i).collect();
            ClassReport {
                cell_type: c.name().into(),
                auroc: auroc(&scores, &positive),
                n: positive.iter().filter(|&&p| p).count(),
            }
        })
        .collect();
    ClassifierReport {
        accuracy: correct as f64 / n.max(1) as f64,
        macro_auroc: classes.iter().map(|c| c.auroc).sum::<f64>() / classes.len() as f64,
        classes,
        n,
    }
}

#[cfg(test)]
mod tests;
