//! LoRA adapters on any model family: trainable rank-`r` factors on named projections of a
//! frozen base, through Burn's parameter reparameterization (`Module::apply_reparameterization`,
//! the mechanism behind Burn's own `apply_lora`). The adapted weight is
//! `W + s · A·B` (`A` `[in, r]`, `B` `[r, out]`, `s` = α/r, or α/√r with rsLoRA), composed
//! when the weight is read, so no model file changes; the host decoding path reads the composed
//! weight too. Our factors add what Burn's `Lora` lacks: PEFT's initialisation (Kaiming-uniform
//! `A`, zero `B`) and dropout on the adapter path in training.
//!
//! Dropout: PEFT drops elements of the adapter's *input* per token; a composed weight cannot,
//! so here a training forward pass drops input features of the adapter (rows of `A`) with one
//! mask per pass. Off in `valid()` copies, as PEFT's is in eval mode.

use super::causal_lm::CausalLm;
use burn::module::{
    Module, ModuleMapper, ModuleVisitor, Param, Reparameterization, Reparameterizer,
};
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of LoRA settings and adapters.
#[derive(Debug, Error)]
pub enum LoraError {
    /// A setting is out of range.
    #[error("LoRA setting {field} {why}")]
    BadSetting {
        /// The setting (PEFT's name).
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A target module name matches no 2-D weight of the policy.
    #[error(
        "LoRA target {target:?} matches no projection of this {family} policy; its projections \
         are named {available}"
    )]
    NoTarget {
        /// The target.
        target: String,
        /// The policy's family.
        family: &'static str,
        /// The names the policy's projections answer to.
        available: String,
    },
    /// The policy already carries adapters.
    #[error("the policy already carries LoRA adapters: fold them in first (lora::fold)")]
    AlreadyAdapted,
    /// A PEFT adapter directory that cannot be applied to this policy.
    #[error("PEFT adapter {path}: {why}")]
    Peft {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing an adapter directory failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

/// LoRA settings, named as PEFT's `LoraConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// Rank `r` of the factors.
    pub rank: usize,
    /// α: the update is scaled by α / r (α / √r with rsLoRA).
    pub alpha: f64,
    /// Dropout on the adapter path in training (see the module docs).
    #[serde(default)]
    pub dropout: f64,
    /// Module names whose weights get adapters (PEFT's `target_modules`): a projection matches
    /// when its path is the name or ends with `.name`. Families answer to Hugging Face's names
    /// (`q_proj` … `down_proj`; GPT-2's `c_attn`, `c_proj`, `c_fc`) and our GPT also to its own
    /// (`qkv`, `proj`, `fc`, `fc_proj`).
    pub targets: Vec<String>,
    /// rsLoRA: scale by α / √r.
    #[serde(default)]
    pub use_rslora: bool,
}

impl LoraConfig {
    /// Rank `rank`, α `alpha` on `targets`; no dropout, plain scaling.
    pub fn new(rank: usize, alpha: f64, targets: &[&str]) -> Self {
        Self {
            rank,
            alpha,
            dropout: 0.0,
            targets: targets.iter().map(|t| t.to_string()).collect(),
            use_rslora: false,
        }
    }

    /// With dropout `p` on the adapter path in training.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// With (or without) rsLoRA's α / √r scaling.
    pub fn with_rslora(mut self, on: bool) -> Self {
        self.use_rslora = on;
        self
    }

    /// The scale of the update: α / r, or α / √r with rsLoRA.
    pub fn scale(&self) -> f64 {
        match self.use_rslora {
            true => self.alpha / (self.rank as f64).sqrt(),
            false => self.alpha / self.rank as f64,
        }
    }

    /// Check the settings: rank ≥ 1, α finite and > 0, dropout in [0, 1), a target.
    pub fn validate(&self) -> Result<(), LoraError> {
        let bad = |field, why: String| Err(LoraError::BadSetting { field, why });
        if self.rank == 0 || self.rank > 1 << 16 {
            return bad("r", format!("is {}; use a rank in 1..=65536", self.rank));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad(
                "lora_alpha",
                format!("is {}; it must be finite and > 0", self.alpha),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "lora_dropout",
                format!("is {}; it must be in [0, 1)", self.dropout),
            );
        }
        if self.targets.is_empty() || self.targets.iter().any(|t| t.trim().is_empty()) {
            return bad(
                "target_modules",
                "is empty; name the projections to adapt".into(),
            );
        }
        Ok(())
    }
}

/// The factors of one adapted weight `[in, out]`: `A` `[in, r]`, `B` `[r, out]`, the scale
/// (a frozen one-element parameter, so that traversals see it) and the dropout rate.
#[derive(Module, Debug)]
pub struct LoraFactors {
    /// Down-projection `[in, r]`.
    pub a: Param<Tensor<2>>,
    /// Up-projection `[r, out]`.
    pub b: Param<Tensor<2>>,
    /// The update's scale `[1]` (frozen).
    pub scale: Param<Tensor<1>>,
    /// Dropout on the adapter's input features in training.
    pub dropout: f64,
}

/// The parameter names inside a [`LoraFactors`].
const FACTOR_A: &str = "a";
const FACTOR_B: &str = "b";
const SCALE: &str = "scale";

impl LoraFactors {
    /// Fresh factors for a weight `[d_in, d_out]` on `device`: PEFT's initialisation
    /// (Kaiming-uniform `A`, bound 1/√in; zero `B`: the update starts at 0).
    pub fn fresh(
        d_in: usize,
        d_out: usize,
        cfg: &LoraConfig,
        device: &burn::tensor::Device,
    ) -> Self {
        let bound = 1.0 / (d_in as f64).sqrt();
        let a = Tensor::<2>::random(
            [d_in, cfg.rank],
            Distribution::Uniform(-bound, bound),
            device,
        );
        Self::from_parts(
            a,
            Tensor::zeros([cfg.rank, d_out], device),
            cfg.scale(),
            cfg.dropout,
        )
    }

    /// Factors `a` `[in, r]`, `b` `[r, out]` with this scale and dropout.
    pub fn from_parts(a: Tensor<2>, b: Tensor<2>, scale: f64, dropout: f64) -> Self {
        let device = a.device();
        Self {
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            scale: Param::from_tensor(Tensor::from_floats([scale as f32], &device))
                .set_require_grad(false),
            dropout,
        }
    }

    /// `s · A·B` `[in, out]`, the weight update (no dropout).
    pub fn delta(&self) -> Tensor<2> {
        update(self.a.val(), self.b.val(), self.scale.val())
    }
}

/// `s · A·B` from the factors' values.
fn update(a: Tensor<2>, b: Tensor<2>, scale: Tensor<1>) -> Tensor<2> {
    a.matmul(b) * scale.reshape([1, 1])
}

impl Reparameterization for LoraFactors {
    const NAME: &'static str = "lora";

    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let a = self.a.val();
        let a = if self.dropout > 0.0 && a.device().is_autodiff() {
            let [d_in, _] = a.dims();
            let keep = Tensor::<2>::random(
                [d_in, 1],
                Distribution::Bernoulli(1.0 - self.dropout),
                &a.device(),
            );
            a * keep / (1.0 - self.dropout)
        } else {
            a
        };
        let delta = update(a, self.b.val(), self.scale.val());
        base.clone() + delta.reshape(base.shape())
    }
}

/// Whether the projection at `module` (a path without `.weight`) is named by `target`.
fn matches(module: &str, target: &str) -> bool {
    module == target || module.ends_with(&format!(".{target}"))
}

/// The names a policy's projection answers to: its own path, and for our GPT family the
/// Hugging Face GPT-2 path.
fn names(family: &str, module: &str) -> Vec<String> {
    let mut out = vec![module.to_string()];
    if family == "gpt" || family == "gpt2" {
        out.push(super::hf::gpt2::hf_name(module));
    }
    out
}

/// Where a traversal stands: the module path as Burn names it (`full`, enum variants
/// included, as reparameterizers see it) and as the model's own file names it (`clean`, the
/// variant of a wrapping enum such as [`super::AutoPolicy`] left out).
#[derive(Default)]
struct Path {
    full: Vec<String>,
    clean: Vec<Option<String>>,
}

impl Path {
    fn enter(&mut self, name: &str, container: &str) {
        self.full.push(name.to_string());
        let variant = container.starts_with("Enum:");
        self.clean.push((!variant).then(|| name.to_string()));
    }
    fn exit(&mut self) {
        self.full.pop();
        self.clean.pop();
    }
    fn full(&self) -> String {
        self.full.join(".")
    }
    fn clean(&self) -> String {
        self.clean
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(".")
    }
    fn inside_factors(&self) -> bool {
        self.full.iter().any(|s| s == LoraFactors::NAME)
    }
}

/// Every float parameter of a model: `(full path, clean path, rank)` (see [`Path`]).
fn parameters<M: Module>(model: &M) -> Vec<(String, String, usize)> {
    #[derive(Default)]
    struct Params(Path, Vec<(String, String, usize)>);
    impl ModuleVisitor for Params {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.0.enter(name, container);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.exit();
        }
        fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<D>>) {
            self.1.push((self.0.full(), self.0.clean(), D));
        }
    }
    let mut v = Params::default();
    model.visit(&mut v);
    v.1
}

/// Attaches fresh factors to the weights at `adapt` (full paths) and freezes every other base
/// parameter but those at `keep` (the value head, PPO's critic, stays trainable).
struct Attach<'a> {
    cfg: &'a LoraConfig,
    adapt: &'a [String],
    keep: &'a [String],
}

impl Reparameterizer for Attach<'_> {
    type Reparam = LoraFactors;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LoraFactors>) {
        if self.keep.iter().any(|k| k == path) {
            return (param, None);
        }
        let base = param.set_require_grad(false);
        if D != 2 || !self.adapt.iter().any(|m| m == path) {
            return (base, None);
        }
        let dims = base.val().dims();
        let factors = LoraFactors::fresh(dims[0], dims[1], self.cfg, &base.val().device());
        (base, Some(factors))
    }
}

/// Attaches the given factors (by full weight path) and freezes every other base parameter but
/// those at `keep`.
struct AttachGiven {
    given: std::collections::HashMap<String, (Tensor<2>, Tensor<2>)>,
    scale: f64,
    dropout: f64,
    keep: Vec<String>,
}

impl Reparameterizer for AttachGiven {
    type Reparam = LoraFactors;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LoraFactors>) {
        if self.keep.iter().any(|k| k == path) {
            return (param, None);
        }
        let base = param.set_require_grad(false);
        match self.given.remove(path) {
            Some((a, b)) => {
                let factors = LoraFactors::from_parts(a, b, self.scale, self.dropout);
                (base, Some(factors))
            }
            None => (base, None),
        }
    }
}

/// The policy with the given factors (`a` `[in, r]`, `b` `[r, out]`, by module path as
/// [`module_names`] gives it: Hugging Face's names) on its weights, every other base parameter
/// frozen. `None` when a module does not exist or a shape does not fit; the caller names it.
pub(crate) fn attach_factors<P: CausalLm>(
    policy: P,
    factors: Vec<(String, Tensor<2>, Tensor<2>)>,
    scale: f64,
    dropout: f64,
) -> Result<P, String> {
    let family = policy.family();
    let params = parameters(&policy);
    let mut given = std::collections::HashMap::new();
    let shapes = weight_shapes(&policy);
    for (module, a, b) in factors {
        let found = params.iter().find(|(_, clean, rank)| {
            *rank == 2
                && clean
                    .strip_suffix(".weight")
                    .is_some_and(|m| names(family, m).iter().any(|n| n == &module))
        });
        let Some((full, _, _)) = found else {
            return Err(format!(
                "it adapts {module:?}, which this {family} policy does not have"
            ));
        };
        let [d_in, d_out] = shapes.get(full).copied().unwrap_or([0, 0]);
        let ([ai, ar], [br, bo]) = (a.dims(), b.dims());
        if (ai, bo, ar) != (d_in, d_out, br) {
            return Err(format!(
                "its factors for {module:?} are [{ai}, {ar}] · [{br}, {bo}] but the weight is \
                 [{d_in}, {d_out}] (in, out): the adapter belongs to another base"
            ));
        }
        given.insert(full.clone(), (a, b));
    }
    let keep = params
        .iter()
        .filter(|(_, clean, _)| clean.starts_with("value_head."))
        .map(|(full, _, _)| full.clone())
        .collect();
    Ok(policy.apply_reparameterization(AttachGiven {
        given,
        scale,
        dropout,
        keep,
    }))
}

/// The 2-D float parameters' shapes, by full path.
fn weight_shapes<M: Module>(model: &M) -> std::collections::HashMap<String, [usize; 2]> {
    #[derive(Default)]
    struct Shapes(Path, std::collections::HashMap<String, [usize; 2]>);
    impl ModuleVisitor for Shapes {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.0.enter(name, container);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let dims: Vec<usize> = p.lazy_shape().dims::<D>().to_vec();
            if let [d_in, d_out] = dims[..] {
                self.1.insert(self.0.full(), [d_in, d_out]);
            }
        }
    }
    let mut v = Shapes::default();
    model.visit(&mut v);
    v.1
}

/// The factors of every adapted weight of a model: its module path under Hugging Face's names,
/// `A` `[in, r]`, `B` `[r, out]` and the scale.
pub(crate) fn factors<P: CausalLm>(policy: &P) -> Vec<(String, Tensor<2>, Tensor<2>, f64)> {
    #[derive(Default)]
    struct Factors {
        path: Path,
        module: String,
        parts: (Option<Tensor<2>>, Option<Tensor<2>>),
        out: Vec<(String, Tensor<2>, Tensor<2>, f64)>,
    }
    impl ModuleVisitor for Factors {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.path.enter(name, container);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if !self.path.inside_factors() {
                let clean = self.path.clean();
                self.module = clean.strip_suffix(".weight").unwrap_or(&clean).to_string();
                return;
            }
            let v = p.val();
            let flat = |t: Tensor<D>| {
                let d = t.dims();
                t.reshape([d[0], d[D - 1]])
            };
            match self.path.full.last().map(String::as_str) {
                Some(FACTOR_A) => self.parts.0 = Some(flat(v)),
                Some(FACTOR_B) => self.parts.1 = Some(flat(v)),
                Some(SCALE) => {
                    let scale = v.into_data().iter::<f32>().next().unwrap_or(0.0) as f64;
                    if let (Some(a), Some(b)) = (self.parts.0.take(), self.parts.1.take()) {
                        self.out.push((self.module.clone(), a, b, scale));
                    }
                }
                _ => {}
            }
        }
    }
    let mut v = Factors::default();
    policy.visit(&mut v);
    let family = policy.family();
    v.out
        .into_iter()
        .map(|(m, a, b, s)| (names(family, &m).pop().unwrap_or(m), a, b, s))
        .collect()
}

/// Whether any weight of `model` carries factors.
pub fn is_adapted<M: Module>(model: &M) -> bool {
    struct Any(bool);
    impl ModuleVisitor for Any {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0 |= name == LoraFactors::NAME;
        }
    }
    let mut v = Any(false);
    model.visit(&mut v);
    v.0
}

/// The policy with fresh LoRA factors on the projections `cfg` names (drawn from the device's
/// RNG: seed it for a reproducible start) and every other base parameter frozen.
///
/// # Errors
/// [`LoraError::BadSetting`] for settings out of range, [`LoraError::NoTarget`] for a target
/// that matches nothing (the message lists the names that do), [`LoraError::AlreadyAdapted`].
pub fn attach<P: CausalLm>(policy: P, cfg: &LoraConfig) -> Result<P, LoraError> {
    cfg.validate()?;
    if is_adapted(&policy) {
        return Err(LoraError::AlreadyAdapted);
    }
    let family = policy.family();
    let params = parameters(&policy);
    let keep: Vec<String> = params
        .iter()
        .filter(|(_, clean, _)| clean.starts_with("value_head."))
        .map(|(full, _, _)| full.clone())
        .collect();
    // The projections: 2-D weights outside the value head, by (full path, module path).
    let projections: Vec<(&String, &str)> = params
        .iter()
        .filter(|(_, clean, rank)| *rank == 2 && !clean.starts_with("value_head."))
        .filter_map(|(full, clean, _)| Some((full, clean.strip_suffix(".weight")?)))
        .collect();
    let modules: Vec<String> = projections.iter().map(|(_, m)| m.to_string()).collect();
    let adapt: Vec<String> = projections
        .iter()
        .filter(|(_, m)| {
            names(family, m)
                .iter()
                .any(|n| cfg.targets.iter().any(|t| matches(n, t)))
        })
        .map(|(full, _)| full.to_string())
        .collect();
    for target in &cfg.targets {
        let hit = modules
            .iter()
            .any(|m| names(family, m).iter().any(|n| matches(n, target)));
        if !hit {
            let mut available: Vec<String> = modules
                .iter()
                .flat_map(|m| names(family, m))
                .filter_map(|n| n.rsplit('.').next().map(String::from))
                .filter(|n| n.parse::<usize>().is_err())
                .collect();
            available.sort();
            available.dedup();
            return Err(LoraError::NoTarget {
                target: target.clone(),
                family,
                available: available.join(", "),
            });
        }
    }
    Ok(policy.apply_reparameterization(Attach {
        cfg,
        adapt: &adapt,
        keep: &keep,
    }))
}

/// The policy with its factors folded into the weights (`W + s·A·B`, no adapters left), every
/// parameter trainable again.
pub fn fold<M: Module>(model: M) -> M {
    model.materialize().set_require_grad(true)
}

/// Number of trainable values (the factors, and a value head) of an adapted model; every
/// value of one without adapters.
pub fn trainable_params<M: Module>(model: &M) -> usize {
    #[derive(Default)]
    struct Count {
        adapted: bool,
        factors: usize,
        all: usize,
        path: Path,
    }
    impl ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.path.enter(name, container);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let n = p.lazy_shape().num_elements();
            self.all += n;
            let in_factors = self.path.inside_factors();
            self.adapted |= in_factors;
            let factor = in_factors && self.path.full.last().is_some_and(|s| s != SCALE);
            if factor || self.path.clean().starts_with("value_head.") {
                self.factors += n;
            }
        }
    }
    let mut c = Count::default();
    model.visit(&mut c);
    if c.adapted { c.factors } else { c.all }
}

/// Each adapted weight of a model: its index among the base weights (traversal order), its
/// base value and its update `s·A·B`.
#[derive(Default)]
struct Adapted {
    stack: Vec<String>,
    index: usize,
    base: Option<Tensor<2>>,
    factors: (Option<Tensor<2>>, Option<Tensor<2>>),
    out: Vec<(usize, Tensor<2>, Tensor<2>)>,
}

impl ModuleVisitor for Adapted {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let v = p.val();
        let flat = |t: Tensor<D>| {
            let d = t.dims();
            t.reshape([d[0], d[D - 1]])
        };
        if !self.stack.iter().any(|s| s == LoraFactors::NAME) {
            // A base weight; its factors, if any, are visited right after it.
            self.index += 1;
            self.base = (D == 2).then(|| flat(v));
            return;
        }
        match self.stack.last().map(String::as_str) {
            Some(FACTOR_A) => self.factors.0 = Some(flat(v)),
            Some(FACTOR_B) => self.factors.1 = Some(flat(v)),
            Some(SCALE) => {
                let (a, b) = (self.factors.0.take(), self.factors.1.take());
                if let (Some(a), Some(b), Some(base)) = (a, b, self.base.take()) {
                    let delta = update(a, b, v.reshape([1]));
                    self.out.push((self.index - 1, base, delta));
                }
            }
            _ => {}
        }
    }
}

fn adapted<M: Module>(model: &M) -> Vec<(usize, Tensor<2>, Tensor<2>)> {
    let mut v = Adapted::default();
    model.visit(&mut v);
    v.out
}

/// Sets the base weights at the given indices (traversal order) of a model without adapters.
struct SetWeights {
    at: usize,
    values: std::iter::Peekable<std::vec::IntoIter<(usize, Tensor<2>)>>,
}

impl ModuleMapper for SetWeights {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.at;
        self.at += 1;
        match self.values.next_if(|(j, _)| *j == i) {
            Some((_, value)) => p.map(|t| value.reshape(t.shape())),
            None => p,
        }
    }
}

/// The exact linear merge of adapted experts that share one frozen base:
/// `W + Σ_k w_k · s·A_k·B_k` for every adapted weight — equal to merging their folded weights,
/// since the base is common and the weights sum to 1 — returned folded (no adapters). The
/// other parameters are the first expert's (the shared base).
///
/// # Panics
/// If `experts` is empty or the experts are adapted differently (they come from one policy).
pub fn merge_folded<M: Module>(experts: &[M], weights: &[f64]) -> M {
    let mut merged: Vec<(usize, Tensor<2>, Tensor<2>)> = Vec::new();
    for (k, (expert, &w)) in experts.iter().zip(weights).enumerate() {
        let weights_k = adapted(expert);
        if k == 0 {
            merged = weights_k
                .into_iter()
                .map(|(i, base, delta)| (i, base, delta * w))
                .collect();
            continue;
        }
        assert_eq!(weights_k.len(), merged.len(), "experts adapted alike");
        for (m, (_, _, delta)) in merged.iter_mut().zip(weights_k) {
            m.2 = m.2.clone() + delta * w;
        }
    }
    let values: Vec<(usize, Tensor<2>)> = merged
        .into_iter()
        .map(|(i, base, update)| (i, base + update))
        .collect();
    experts[0]
        .clone()
        .materialize()
        .map(&mut SetWeights {
            at: 0,
            values: values.into_iter().peekable(),
        })
        .set_require_grad(true)
}
