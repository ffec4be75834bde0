//! The analytic objective set {QED, logP, SA}: exact scores from the molecule's descriptors
//! (the same functions serve as training reward and evaluation oracle).
//!
//! Raw values: QED in [0, 1]; Crippen logP (pair it with a window transform, e.g.
//! `Transform::double_sigmoid(1.0, 3.0)`); SA mapped to `(10 − SA) / 9` so that 1 is easiest.

use super::chem::Molecule;
use crate::reward::{Reward, RewardError, Sample};

/// Which descriptor a [`DescriptorReward`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Descriptor {
    /// Drug-likeness QED (0..1, higher is better).
    Qed,
    /// Crippen logP (use a window transform).
    LogP,
    /// Synthetic accessibility as `(10 − SA) / 9` (0..1, higher is easier).
    Sa,
}

impl Descriptor {
    /// Short name (`qed`, `logp`, `sa`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Qed => "qed",
            Self::LogP => "logp",
            Self::Sa => "sa",
        }
    }

    /// The descriptor's value for `smiles`, `None` for an invalid molecule.
    pub fn value(self, smiles: &str) -> Option<f64> {
        let d = Molecule::from_smiles(smiles).ok()?.descriptors().ok()?;
        Some(match self {
            Self::Qed => d.qed,
            Self::LogP => d.logp,
            Self::Sa => (10.0 - d.sa) / 9.0,
        })
    }
}

/// A [`Reward`] returning a [`Descriptor`] of each completion (not applicable if invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorReward(pub Descriptor);

impl Reward for DescriptorReward {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        Ok(samples.iter().map(|s| self.0.value(s.completion)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aspirin() {
        // RDKit: QED 0.5501, logP 1.3101, SA 1.580 (DATA.md §1.2).
        let s = "CC(=O)Oc1ccccc1C(=O)O";
        assert!((Descriptor::Qed.value(s).unwrap() - 0.5501).abs() < 1e-3);
        assert!((Descriptor::LogP.value(s).unwrap() - 1.3101).abs() < 1e-3);
        assert!((Descriptor::Sa.value(s).unwrap() - (10.0 - 1.580) / 9.0).abs() < 1e-3);
        assert_eq!(Descriptor::Qed.value("C1CC"), None);
    }
}
