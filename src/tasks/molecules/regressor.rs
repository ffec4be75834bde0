//! Property regressors: a small MLP trained in Burn on a feature matrix (z-scored features
//! and targets), with held-out MAE and R², saved as a checkpoint directory.

use crate::checkpoint::{self, CheckpointError};
use crate::tasks::mlp::{he_layers, relu_mlp};
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::path::Path;

/// Shape, scaling and training settings of a regressor (saved as its `config.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressorConfig {
    /// Input width.
    pub d_in: usize,
    /// Hidden widths (ReLU after each).
    pub hidden: Vec<usize>,
    /// Per-feature mean used to standardise inputs.
    pub feature_mean: Vec<f32>,
    /// Per-feature standard deviation (≥ 1e-6).
    pub feature_std: Vec<f32>,
    /// Target mean (label units).
    pub target_mean: f64,
    /// Target standard deviation (label units).
    pub target_std: f64,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressorTraining {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Seed (initialisation and shuffling).
    pub seed: u64,
}

impl Default for RegressorTraining {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 1e-4,
            seed: 0,
        }
    }
}

/// Held-out quality of a regressor, in label units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressionReport {
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Rows evaluated.
    pub n: usize,
}

/// An MLP regressor with its scaling constants.
#[derive(Module, Debug)]
pub struct Regressor {
    layers: Vec<Linear>,
    #[module(skip)]
    config: RegressorConfig,
}

fn column_stats(x: &[Vec<f32>], d: usize) -> (Vec<f32>, Vec<f32>) {
    let n = x.len().max(1) as f64;
    let mut mean = vec![0f64; d];
    for row in x {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += *v as f64 / n;
        }
    }
    let mut var = vec![0f64; d];
    for row in x {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (*v as f64 - m).powi(2) / n;
        }
    }
    (
        mean.iter().map(|&m| m as f32).collect(),
        var.iter().map(|&v| (v.sqrt() as f32).max(1e-6)).collect(),
    )
}

impl Regressor {
    /// The regressor's configuration.
    pub fn config(&self) -> &RegressorConfig {
        &self.config
    }

    fn init(config: RegressorConfig, device: &Device) -> Self {
        let widths: Vec<usize> = std::iter::once(config.d_in)
            .chain(config.hidden.iter().copied())
            .chain(std::iter::once(1))
            .collect();
        let layers = he_layers(&widths, device);
        Self { layers, config }
    }

    fn standardised(&self, x: &[Vec<f32>], device: &Device) -> Tensor<2> {
        let d = self.config.d_in;
        let flat: Vec<f32> = x
            .iter()
            .flat_map(|row| {
                row.iter()
                    .zip(&self.config.feature_mean)
                    .zip(&self.config.feature_std)
                    .map(|((v, m), s)| (v - m) / s)
            })
            .collect();
        Tensor::from_data(TensorData::new(flat, [x.len(), d]), device)
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        relu_mlp(&self.layers, x)
    }

    /// Predictions in label units, one per row of `x` (each of length `d_in`).
    pub fn predict(&self, x: &[Vec<f32>]) -> Vec<f64> {
        if x.is_empty() {
            return Vec::new();
        }
        let model = self.valid();
        let device = model.layers[0].weight.device();
        let z: Vec<f32> = model
            .forward(model.standardised(x, &device))
            .into_data()
            .iter::<f32>()
            .collect();
        z.iter()
            .map(|&v| v as f64 * self.config.target_std + self.config.target_mean)
            .collect()
    }

    /// MAE and R² of the predictions on `(x, y)`.
    pub fn evaluate(&self, x: &[Vec<f32>], y: &[f64]) -> RegressionReport {
        let p = self.predict(x);
        let n = y.len().max(1) as f64;
        let mean = y.iter().sum::<f64>() / n;
        let ss_res: f64 = p.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
        let ss_tot: f64 = y.iter().map(|b| (b - mean).powi(2)).sum();
        RegressionReport {
            mae: p.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n,
            r2: 1.0 - ss_res / ss_tot.max(f64::MIN_POSITIVE),
            n: y.len(),
        }
    }

    /// Train on `(x, y)` with `hidden` layer widths; `device` should support autodiff.
    ///
    /// # Panics
    /// If `x` is empty, ragged, or not as long as `y` (programming errors of the caller).
    pub fn fit(
        x: &[Vec<f32>],
        y: &[f64],
        hidden: &[usize],
        training: &RegressorTraining,
        device: &Device,
    ) -> Self {
        assert!(!x.is_empty() && x.len() == y.len(), "one target per row");
        let d = x[0].len();
        assert!(x.iter().all(|r| r.len() == d), "rows of equal width");
        let (feature_mean, feature_std) = column_stats(x, d);
        let n = y.len() as f64;
        let target_mean = y.iter().sum::<f64>() / n;
        let target_std = (y.iter().map(|v| (v - target_mean).powi(2)).sum::<f64>() / n)
            .sqrt()
            .max(1e-12);
        let config = RegressorConfig {
            d_in: d,
            hidden: hidden.to_vec(),
            feature_mean,
            feature_std,
            target_mean,
            target_std,
        };
        let device = device.clone().autodiff();
        device.seed(training.seed);
        let mut model = Self::init(config, &device);
        let mut optim = AdamWConfig::new()
            .with_weight_decay(training.weight_decay)
            .init();
        let mut rng = StdRng::seed_from_u64(training.seed);
        let mut order: Vec<usize> = (0..x.len()).collect();
        let steps_total = training.epochs * x.len().div_ceil(training.batch_size);
        let mut step = 0;
        for _ in 0..training.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(training.batch_size) {
                let xb: Vec<Vec<f32>> = chunk.iter().map(|&i| x[i].clone()).collect();
                let yb: Vec<f32> = chunk
                    .iter()
                    .map(|&i| ((y[i] - target_mean) / target_std) as f32)
                    .collect();
                let target = Tensor::<2>::from_data(TensorData::new(yb, [chunk.len(), 1]), &device);
                let pred = model.forward(model.standardised(&xb, &device));
                let loss = (pred - target).square().mean();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                // Cosine decay to 5 % over the run.
                let t = step as f64 / steps_total.max(1) as f64;
                let lr =
                    training.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()));
                model = optim.step(lr, model, grads);
                step += 1;
            }
        }
        model.valid()
    }

    /// Save into the checkpoint directory `dir` (weights + `config.json`), atomically.
    pub fn save(&self, dir: &Path) -> Result<(), CheckpointError> {
        checkpoint::save_module(dir, self.clone(), &self.config, None)
    }

    /// Load a regressor saved by [`Regressor::save`].
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let config: RegressorConfig = checkpoint::load_config(dir)?;
        if config.feature_mean.len() != config.d_in || config.feature_std.len() != config.d_in {
            return Err(CheckpointError::BadConfig(format!(
                "{} features but {} means / {} stds",
                config.d_in,
                config.feature_mean.len(),
                config.feature_std.len()
            )));
        }
        checkpoint::load_weights(dir, Self::init(config, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;

    #[test]
    fn learns_a_nonlinear_function_and_round_trips() {
        let mut rng = StdRng::seed_from_u64(1);
        use rand::Rng;
        let x: Vec<Vec<f32>> = (0..2000)
            .map(|_| (0..4).map(|_| rng.random_range(-2.0..2.0)).collect())
            .collect();
        let f = |r: &[f32]| (r[0] * r[1] + r[2].abs() - 0.5 * r[3]) as f64 * 10.0 + 100.0;
        let y: Vec<f64> = x.iter().map(|r| f(r)).collect();
        let training = RegressorTraining {
            epochs: 40,
            batch_size: 64,
            lr: 3e-3,
            ..Default::default()
        };
        let dev = default_device();
        let model = Regressor::fit(&x[..1600], &y[..1600], &[64, 64], &training, &dev);
        let report = model.evaluate(&x[1600..], &y[1600..]);
        assert!(report.r2 > 0.95, "{report:?}");
        let dir = std::env::temp_dir().join(format!("mr-reg-{}", std::process::id()));
        model.save(&dir).unwrap();
        let back = Regressor::load(&dir, &dev).unwrap();
        // serde_json may round the scaling constants' last bit.
        for (a, b) in back.predict(&x[..5]).iter().zip(model.predict(&x[..5])) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
