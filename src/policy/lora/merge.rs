//! Merging adapted experts exactly (their updates folded into the shared base) and reading their
//! factors out (for PEFT).

use super::attach::names;
use super::factors::{FACTOR_A, FACTOR_B, LoraFactors, Path, SCALE, update};
use crate::policy::CausalLm;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, Reparameterization};
use burn::tensor::Tensor;

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
/// other parameters are the first expert's (the shared base). Computed on frozen copies: the
/// result holds no autodiff graph.
///
/// # Panics
/// If `experts` is empty or the experts are adapted differently (they come from one policy).
pub fn merge_folded<M: Module>(experts: &[&M], weights: &[f64]) -> M {
    let mut merged: Vec<(usize, Tensor<2>, Tensor<2>)> = Vec::new();
    for (k, (expert, &w)) in experts.iter().zip(weights).enumerate() {
        let weights_k = adapted(&expert.valid());
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
        .valid()
        .materialize()
        .map(&mut SetWeights {
            at: 0,
            values: values.into_iter().peekable(),
        })
        .set_require_grad(true)
}
