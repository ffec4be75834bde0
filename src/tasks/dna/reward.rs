//! The DNA objectives as [`Reward`]s: a cell type's log-odds under a trained
//! [`CellClassifier`], and the motif occupancy of a group of weight matrices standardised on
//! real sequences.

use super::classifier::CellClassifier;
use super::data::CellType;
use super::pwm::{Pwm, occupancy};
use crate::reward::{Reward, RewardError, Sample};
use std::sync::Mutex;

/// Log-odds that a sequence belongs to one cell type, `ln P(c) − ln(1 − P(c))` in nats, from a
/// [`CellClassifier`]'s logits (exact in f64: `z_c − ln Σ_{j≠c} e^{z_j}`). A sequence of the
/// DHS class prior scores `ln(1/3) ≈ −1.10`. Samples that are not ACGT of the classifier's
/// length are not applicable (`None`).
pub struct CellTypeReward {
    name: String,
    cell: CellType,
    model: Mutex<CellClassifier>,
}

impl CellTypeReward {
    /// A reward named `name` for `cell` from a trained classifier.
    pub fn new(name: impl Into<String>, cell: CellType, model: CellClassifier) -> Self {
        Self {
            name: name.into(),
            cell,
            model: Mutex::new(model),
        }
    }

    /// The log-odds of the reward's cell type per sequence (`None`: not scorable).
    pub fn log_odds(&self, seqs: &[&str]) -> Result<Vec<Option<f64>>, RewardError> {
        let model = self.model.lock().map_err(|_| RewardError::Failed {
            reward: self.name.clone(),
            message: "classifier lock poisoned".into(),
        })?;
        let c = self.cell.index();
        Ok(model
            .logits(seqs)
            .into_iter()
            .map(|l| {
                l.map(|l| {
                    let others: Vec<f64> = (0..4).filter(|&j| j != c).map(|j| l[j]).collect();
                    let m = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let lse = m + others.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
                    l[c] - lse
                })
            })
            .collect())
    }
}

impl Reward for CellTypeReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        let seqs: Vec<&str> = samples.iter().map(|s| s.completion).collect();
        self.log_odds(&seqs)
    }
}

/// Motif occupancy ([`occupancy`], nats) of a group of weight matrices, as a z-score against
/// real sequences: `(occupancy − mean) / std` with the mean and standard deviation measured on
/// a reference set (e.g. the DHS validation split), so 0 is a typical real site and +1 one
/// standard deviation more motif-rich. Sequences with characters other than ACGT, or empty,
/// are not applicable (`None`).
#[derive(Debug, Clone)]
pub struct MotifReward {
    name: String,
    pwms: Vec<Pwm>,
    mean: f64,
    std: f64,
}

impl MotifReward {
    /// A reward named `name` for `pwms`, standardised with the occupancy statistics of
    /// `reference` (sequences that cannot be scored are skipped).
    ///
    /// # Errors
    /// [`RewardError::Failed`] when there are no matrices or fewer than two scorable
    /// reference sequences, or the occupancy does not vary over them.
    pub fn calibrated<S: AsRef<str>>(
        name: impl Into<String>,
        pwms: Vec<Pwm>,
        reference: &[S],
    ) -> Result<Self, RewardError> {
        let name = name.into();
        if pwms.is_empty() {
            return Err(RewardError::Failed {
                reward: name,
                message: "no matrices".into(),
            });
        }
        let values: Vec<f64> = reference
            .iter()
            .filter_map(|s| occupancy(s.as_ref(), &pwms).ok())
            .filter(|v| v.is_finite())
            .collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        if values.len() < 2 || !(std.is_finite() && std > 0.0) {
            return Err(RewardError::Failed {
                message: format!(
                    "{} scorable reference sequences, occupancy std {std}",
                    values.len()
                ),
                reward: name,
            });
        }
        Ok(Self {
            name,
            pwms,
            mean,
            std,
        })
    }

    /// Mean and standard deviation of the reference occupancy (nats).
    pub fn calibration(&self) -> (f64, f64) {
        (self.mean, self.std)
    }

    /// The matrices scored.
    pub fn pwms(&self) -> &[Pwm] {
        &self.pwms
    }
}

impl Reward for MotifReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        Ok(samples
            .iter()
            .map(|s| {
                occupancy(s.completion, &self.pwms)
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| (v - self.mean) / self.std)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::dna::UNIFORM_BACKGROUND;

    #[test]
    fn motif_reward_is_standardised_and_rejects_bad_input() {
        let pfm = crate::tasks::dna::pwm::tests::gata_test_matrix();
        let pwm = Pwm::from_counts(&pfm, 0.1, UNIFORM_BACKGROUND).unwrap();
        let texts = ["CCCCCCCCCC", "CCCGATACCC", "GATAGATACC", "", "CCNN"];
        let reference = &texts[..3];
        let r = MotifReward::calibrated("gata", vec![pwm.clone()], reference).unwrap();
        let samples = Sample::unprompted(&texts);
        let v = r.score(&samples).unwrap();
        let z: Vec<f64> = v[..3].iter().map(|x| x.unwrap()).collect();
        assert!(z.iter().sum::<f64>().abs() < 1e-9, "{z:?}");
        assert!(z[0] < z[1] && z[1] < z[2]);
        assert_eq!(&v[3..], &[None, None]);
        assert!(MotifReward::calibrated("x", vec![], reference).is_err());
        assert!(MotifReward::calibrated("x", vec![pwm], &["CCCC"]).is_err());
    }
}
