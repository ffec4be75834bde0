//! Attaching factors to a policy (fresh ones, or given ones from a PEFT adapter), folding them
//! in, and counting what trains.

use super::config::{LoraConfig, LoraError};
use super::factors::{LoraFactors, Path, SCALE, parameters};
use crate::policy::CausalLm;
use burn::module::{Module, ModuleVisitor, Param, Reparameterization, Reparameterizer};
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Whether the parameter at `path` is a token embedding or an LM head (ours, GPT-2's or
/// Llama's names).
fn is_embedding(path: &str) -> bool {
    ["tok_emb.weight", "embed_tokens.weight", "wte.weight"]
        .iter()
        .any(|e| path == *e || path.ends_with(&format!(".{e}")))
        || path.starts_with("lm_head.")
}

/// PEFT's target for every projection of the blocks (not the embeddings, not the LM head).
pub const ALL_LINEAR: &str = "all-linear";

/// Whether the projection at `module` (a path without `.weight`) is named by `target`.
fn matches(module: &str, target: &str) -> bool {
    if target == ALL_LINEAR {
        let table = [
            "tok_emb",
            "pos_emb",
            "wte",
            "wpe",
            "embed_tokens",
            "lm_head",
        ];
        return !table
            .iter()
            .any(|t| module == *t || module.ends_with(&format!(".{t}")));
    }
    module == target || module.ends_with(&format!(".{target}"))
}

/// The names a policy's projection answers to: its own path, and for our GPT family the
/// Hugging Face GPT-2 path.
pub(super) fn names(family: &str, module: &str) -> Vec<String> {
    let mut out = vec![module.to_string()];
    if family == "gpt" || family == "gpt2" {
        out.push(crate::policy::hf::gpt2::hf_name(module));
    }
    out
}

/// Attaches fresh factors to the weights at `adapt` (full paths) and freezes every other base
/// parameter but those at `keep` (the value head, PPO's critic, stays trainable).
struct Attach<'a> {
    cfg: &'a LoraConfig,
    adapt: &'a [String],
    keep: &'a [String],
    rng: StdRng,
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
        let device = base.val().device();
        let factors = LoraFactors::fresh(dims[0], dims[1], self.cfg, &device, &mut self.rng);
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
/// `names` gives it: Hugging Face's names) on its weights, every other base parameter
/// frozen. An error sentence when a module does not exist or a shape does not fit.
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

/// The policy with fresh LoRA factors on the projections `cfg` names (drawn from `seed`) and
/// every other base parameter frozen.
///
/// # Errors
/// [`LoraError::BadSetting`] for settings out of range, [`LoraError::NoTarget`] for a target
/// that matches nothing (the message lists the names that do), [`LoraError::AlreadyAdapted`].
pub fn attach<P: CausalLm>(policy: P, cfg: &LoraConfig, seed: u64) -> Result<P, LoraError> {
    cfg.validate()?;
    if is_adapted(&policy) {
        return Err(LoraError::AlreadyAdapted);
    }
    let family = policy.family();
    let params = parameters(&policy);
    let keep: Vec<String> = params
        .iter()
        .filter(|(_, clean, _)| {
            clean.starts_with("value_head.") || (cfg.train_embeddings && is_embedding(clean))
        })
        .map(|(full, _, _)| full.clone())
        .collect();
    // The projections: 2-D weights outside the value head, by (full path, module path).
    let projections: Vec<(&String, &str)> = params
        .iter()
        .filter(|(full, clean, rank)| {
            *rank == 2 && !clean.starts_with("value_head.") && !keep.contains(full)
        })
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
    for target in cfg.targets.iter().filter(|t| *t != ALL_LINEAR) {
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
        rng: StdRng::seed_from_u64(seed),
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
