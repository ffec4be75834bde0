//! The paper's QM9 objectives — polarisability α, HOMO–LUMO gap and U0 — as rewards computed
//! by property regressors trained on the committed QM9 labels.
//!
//! Objectives (higher is better), from a prediction `p` in label units and the training
//! labels' mean μ and standard deviation σ (z = (p − μ)/σ):
//! - **α** (bohr³): `z` — more polarisable is better, as the reference code's raw head output;
//! - **gap** (Hartree): `1 − |z − 0.5|` — a target half a standard deviation above the mean,
//!   the reference code's `1 − |out − 0.5|` in normalised units;
//! - **U0** per heavy atom (Hartree / heavy atom; U0 grows with size, so it is scaled): `−z` —
//!   lower internal energy per heavy atom (more stable) is better.

use super::regressor::Regressor;
use super::tokenizer::SmilesTokenizer;
use crate::policy::{CausalLm, Gpt};
use crate::reward::{Reward, RewardError, Sample};
use crate::tokenizer::Tokenizer;
use std::sync::Mutex;

/// One of the paper's three QM9 targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Property {
    /// Isotropic polarisability α, bohr³.
    Alpha,
    /// HOMO–LUMO gap, Hartree.
    Gap,
    /// Internal energy at 0 K per heavy atom, Hartree.
    U0,
}

impl Property {
    /// All three, in the paper's order.
    pub const ALL: [Property; 3] = [Property::Alpha, Property::Gap, Property::U0];

    /// Short name (`alpha`, `gap`, `u0`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Alpha => "alpha",
            Self::Gap => "gap",
            Self::U0 => "u0",
        }
    }

    /// The regression label of a QM9 record (`heavy_atoms` of its molecule).
    pub fn label(self, record: &super::data::Qm9Record, heavy_atoms: usize) -> f64 {
        match self {
            Self::Alpha => record.alpha,
            Self::Gap => record.gap,
            Self::U0 => record.u0 / heavy_atoms.max(1) as f64,
        }
    }

    /// The objective value of a prediction given the labels' mean and std (module docs).
    pub fn objective(self, prediction: f64, mean: f64, std: f64) -> f64 {
        let z = (prediction - mean) / std;
        match self {
            Self::Alpha => z,
            Self::Gap => 1.0 - (z - 0.5).abs(),
            Self::U0 => -z,
        }
    }
}

/// Turns SMILES into regressor inputs; `None` for a molecule it cannot featurise.
///
/// ```
/// use multireward::reward::{Reward, Sample};
/// use multireward::tasks::molecules::qm9::{Featurizer, MorganFeatures, Property, PropertyReward};
/// use multireward::tasks::molecules::regressor::Regressor;
///
/// // The shipped gap oracle reads folded Morgan counts.
/// let dir = multireward::assets::qm9_rewards()?.join("gap-oracle");
/// let oracle = Regressor::load(&dir, &multireward::device::default_device())?;
/// let features = MorganFeatures { bits: oracle.config().d_in };
/// let rows = features.features(&["CCO", "C%"]);
/// assert!(rows[0].as_ref().is_some_and(|r| r.len() == features.bits) && rows[1].is_none());
/// // A featurizer and a regressor make a QM9 reward.
/// let reward = PropertyReward::new("gap", Property::Gap, Box::new(features), oracle);
/// let scores = reward.score(&Sample::unprompted(&["CCO", "C%"]))?;
/// assert!(scores[0].is_some_and(f64::is_finite) && scores[1].is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Featurizer: Send + Sync {
    /// Short description (for logs and metadata).
    fn name(&self) -> String;
    /// One feature vector (or `None`) per SMILES.
    fn features(&self, smiles: &[&str]) -> Vec<Option<Vec<f32>>>;
}

/// Features from a frozen policy: the final-layer hidden state at the EOS of
/// `[BOS] smiles [EOS]` (the reference code's reward heads read the frozen GPT this way).
pub struct BackboneFeatures {
    policy: Mutex<Gpt>,
    tokenizer: SmilesTokenizer,
}

impl BackboneFeatures {
    /// Features from `policy` (made a frozen inference copy) and its tokenizer.
    pub fn new(policy: &Gpt, tokenizer: SmilesTokenizer) -> Self {
        use burn::module::Module;
        Self {
            policy: Mutex::new(policy.valid()),
            tokenizer,
        }
    }
}

impl Featurizer for BackboneFeatures {
    fn name(&self) -> String {
        let p = self
            .policy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        format!("policy backbone (d {})", p.config().d_model)
    }

    fn features(&self, smiles: &[&str]) -> Vec<Option<Vec<f32>>> {
        let policy = self
            .policy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let max_len = policy.config().max_len;
        let ids: Vec<Option<Vec<u32>>> = smiles
            .iter()
            .map(|s| {
                self.tokenizer
                    .encode_with_specials(s)
                    .ok()
                    .filter(|t| t.len() <= max_len && t.len() > 2)
            })
            .collect();
        let rows: Vec<(usize, Vec<u32>)> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.clone().map(|t| (i, t)))
            .collect();
        let mut out = vec![None; smiles.len()];
        for chunk in rows.chunks(512) {
            let tokens: Vec<Vec<u32>> = chunk.iter().map(|(_, t)| t.clone()).collect();
            let Ok(h) = policy.embed(&tokens) else {
                continue;
            };
            let d = h.dims()[1];
            let flat: Vec<f32> = h.into_data().iter::<f32>().collect();
            for (k, (i, _)) in chunk.iter().enumerate() {
                out[*i] = Some(flat[k * d..(k + 1) * d].to_vec());
            }
        }
        out
    }
}

/// Radius-2 Morgan count fingerprint folded to `bits` entries, as `ln(1 + count)` — the
/// evaluation oracles' input (independent of any policy).
pub struct MorganFeatures {
    /// Folded length.
    pub bits: usize,
}

impl Featurizer for MorganFeatures {
    fn name(&self) -> String {
        format!("Morgan r=2 counts folded to {}, ln(1+x)", self.bits)
    }

    fn features(&self, smiles: &[&str]) -> Vec<Option<Vec<f32>>> {
        smiles
            .iter()
            .map(|s| {
                let mol = super::Molecule::from_smiles(s).ok()?;
                let counts = mol.morgan().ok()?.folded(self.bits);
                Some(counts.into_iter().map(f32::ln_1p).collect())
            })
            .collect()
    }
}

/// Heavy atoms of a SMILES string: its atom symbols and bracket atoms other than hydrogen
/// (cheap, no parsing; exact for QM9's SMILES). `None` if it does not tokenise.
pub fn heavy_atoms(smiles: &str) -> Option<usize> {
    let tokens = super::tokenizer::split_smiles(smiles).ok()?;
    Some(
        tokens
            .iter()
            .filter(|t| {
                if let Some(inner) = t.strip_prefix('[') {
                    // Skip the isotope; hydrogen is `H` not followed by a lowercase letter
                    // (He, Hf, Hg, Ho are heavy).
                    let element = inner.trim_start_matches(|c: char| c.is_ascii_digit());
                    let rest = element.strip_prefix('H');
                    rest.is_none_or(|r| r.starts_with(|c: char| c.is_ascii_lowercase()))
                } else {
                    t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                }
            })
            .count(),
    )
}

/// A QM9 objective as a [`Reward`]: featurise, predict the property, map to the objective.
pub struct PropertyReward {
    name: String,
    property: Property,
    featurizer: Box<dyn Featurizer>,
    model: Mutex<Regressor>,
    label_mean: f64,
    label_std: f64,
}

impl PropertyReward {
    /// A reward named `name` for `property` from a trained regressor; the label statistics
    /// are the regressor's own (its training targets).
    pub fn new(
        name: impl Into<String>,
        property: Property,
        featurizer: Box<dyn Featurizer>,
        model: Regressor,
    ) -> Self {
        let (label_mean, label_std) = (model.config().target_mean, model.config().target_std);
        Self {
            name: name.into(),
            property,
            featurizer,
            model: Mutex::new(model),
            label_mean,
            label_std,
        }
    }

    /// The property this reward targets.
    pub fn property(&self) -> Property {
        self.property
    }

    /// Predicted property values (label units), `None` where the molecule is not featurised.
    pub fn predict(&self, smiles: &[&str]) -> Vec<Option<f64>> {
        let feats = self.featurizer.features(smiles);
        let rows: Vec<Vec<f32>> = feats.iter().flatten().cloned().collect();
        let model = self
            .model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut preds = model.predict(&rows).into_iter();
        feats
            .iter()
            .map(|f| f.as_ref().and_then(|_| preds.next()))
            .collect()
    }
}

impl Reward for PropertyReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        let valid: Vec<bool> = samples
            .iter()
            .map(|s| super::is_valid_smiles(s.completion))
            .collect();
        let smiles: Vec<&str> = samples.iter().map(|s| s.completion).collect();
        Ok(self
            .predict(&smiles)
            .into_iter()
            .zip(valid)
            .map(|(p, ok)| {
                p.filter(|_| ok)
                    .map(|p| self.property.objective(p, self.label_mean, self.label_std))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_atom_counts() {
        assert_eq!(heavy_atoms("C"), Some(1));
        assert_eq!(heavy_atoms("O=CC1=CC=CO1"), Some(7));
        assert_eq!(heavy_atoms("[NH3+]CC([O-])=O"), Some(5));
        assert_eq!(heavy_atoms("[2H]C([H])Cl"), Some(2));
        assert_eq!(heavy_atoms("C%"), None);
    }

    #[test]
    fn objectives() {
        assert_eq!(Property::Alpha.objective(12.0, 10.0, 2.0), 1.0);
        assert_eq!(Property::Gap.objective(11.0, 10.0, 2.0), 1.0);
        assert_eq!(Property::Gap.objective(10.0, 10.0, 2.0), 0.5);
        assert_eq!(Property::U0.objective(12.0, 10.0, 2.0), -1.0);
    }
}
