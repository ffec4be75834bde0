//! Merging policies that carry LoRA adapters: every method merges their effective weights
//! (each folded, `W + s·A·B`), which for experts sharing one base is exactly the merge of
//! their updates folded into it; [`AdapterFactors`] is Rewarded Soups' practice instead,
//! averaging the factors `A` and `B` separately.

use super::{Linear, MergeError, Merger};
use crate::policy::lora;
use burn::module::Module;

/// Folded copies of `models` when any carries adapters (`None`: none does; merge as they are).
pub(super) fn folded<M: Module>(models: &[&M]) -> Option<Vec<M>> {
    models
        .iter()
        .any(|m| lora::is_adapted(*m))
        .then(|| models.iter().map(|m| lora::fold((*m).clone())).collect())
}

/// Rewarded Soups' practice with LoRA experts (their LLaMA runs, PEFT's
/// `add_weighted_adapter` with `combination_type="linear"`): the factors `A` and `B` averaged
/// separately with the weights (the shared base to itself), then folded. Not the linear merge
/// of the experts: `s·(Σ w_k A_k)(Σ w_k B_k) ≠ Σ w_k s·A_k·B_k` unless the experts share `A`
/// (docs/algorithms.md, "LoRA experts"). On policies without adapters it is [`Linear`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdapterFactors;

impl Merger for AdapterFactors {
    fn merge<M: Module>(
        &self,
        models: &[&M],
        weights: &[f64],
        base: Option<&M>,
    ) -> Result<M, MergeError> {
        Ok(lora::fold(Linear.merge_stored(models, weights, base)?))
    }
}
