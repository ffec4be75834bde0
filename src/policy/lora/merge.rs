//! Merging adapted experts exactly (their updates folded into the shared base) and reading their
//! factors out (for PEFT).

use super::attach::names;
use super::factors::{FACTOR_A, FACTOR_B, LoraFactors, Path, SCALE};
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

/// The factors of each adapted weight of a model, in traversal order: `A` `[in, r]`, `B`
/// `[r, out]` and the scale `[1]`.
#[derive(Default)]
struct Adapted {
    stack: Vec<String>,
    parts: (Option<Tensor<2>>, Option<Tensor<2>>),
    out: Vec<(Tensor<2>, Tensor<2>, Tensor<1>)>,
}

impl ModuleVisitor for Adapted {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if !self.stack.iter().any(|s| s == LoraFactors::NAME) {
            return;
        }
        let v = p.val();
        let d = v.dims();
        let flat = |t: Tensor<D>| t.reshape([d[0], d[D - 1]]);
        match self.stack.last().map(String::as_str) {
            Some(FACTOR_A) => self.parts.0 = Some(flat(v)),
            Some(FACTOR_B) => self.parts.1 = Some(flat(v)),
            Some(SCALE) => {
                if let (Some(a), Some(b)) = (self.parts.0.take(), self.parts.1.take()) {
                    self.out.push((a, b, v.reshape([1])));
                }
            }
            _ => {}
        }
    }
}

fn adapted<M: Module>(model: &M) -> Vec<(Tensor<2>, Tensor<2>, Tensor<1>)> {
    let mut v = Adapted::default();
    model.visit(&mut v);
    v.out
}

/// Replaces the factors of each adapted weight (traversal order) by the given `A`, `B` and a
/// unit scale.
struct SetFactors {
    stack: Vec<String>,
    factors: std::vec::IntoIter<(Tensor<2>, Tensor<2>)>,
    current: Option<(Tensor<2>, Tensor<2>)>,
}

impl ModuleMapper for SetFactors {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
        if name == LoraFactors::NAME {
            self.current = self.factors.next();
        }
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.stack.iter().any(|s| s == LoraFactors::NAME) {
            return p;
        }
        let Some((a, b)) = &self.current else {
            return p;
        };
        let value = match self.stack.last().map(String::as_str) {
            Some(FACTOR_A) => a.clone(),
            Some(FACTOR_B) => b.clone(),
            Some(SCALE) => Tensor::<2>::ones([1, 1], &a.device()),
            _ => return p,
        };
        let [rows, cols] = value.dims();
        let mut dims = [1; D];
        dims[0] = rows;
        dims[D - 1] = cols;
        p.map(|_| value.reshape(dims))
    }
}

/// The exact linear merge of adapted experts that share one frozen base:
/// `W + Σ_k w_k · s_k·A_k·B_k` for every adapted weight — equal to merging their folded
/// weights, since the base is common and the weights sum to 1 — returned folded (no adapters).
/// The other parameters are the first expert's (the shared base). Each weight costs one
/// product of the stacked factors `[w_1 s_1 A_1 … w_N s_N A_N]·[B_1; …; B_N]` and one sum.
/// Computed on frozen copies: the result holds no autodiff graph.
///
/// # Panics
/// If `experts` is empty or the experts are adapted differently (they come from one policy).
pub fn merge_folded<M: Module>(experts: &[&M], weights: &[f64]) -> M {
    let frozen: Vec<M> = experts.iter().map(|e| e.valid()).collect();
    let per_expert: Vec<_> = frozen.iter().map(adapted).collect();
    let count = per_expert[0].len();
    assert!(
        per_expert.iter().all(|f| f.len() == count),
        "experts adapted alike"
    );
    let mut columns: Vec<Vec<Tensor<2>>> = vec![Vec::new(); count];
    let mut rows: Vec<Vec<Tensor<2>>> = vec![Vec::new(); count];
    for (factors, &w) in per_expert.into_iter().zip(weights) {
        for (j, (a, b, scale)) in factors.into_iter().enumerate() {
            columns[j].push(a * (scale * w).reshape([1, 1]));
            rows[j].push(b);
        }
    }
    let stacked: Vec<(Tensor<2>, Tensor<2>)> = columns
        .into_iter()
        .zip(rows)
        .map(|(a, b)| (Tensor::cat(a, 1), Tensor::cat(b, 0)))
        .collect();
    let mut frozen = frozen;
    frozen
        .swap_remove(0)
        .map(&mut SetFactors {
            stack: Vec::new(),
            factors: stacked.into_iter(),
            current: None,
        })
        .materialize()
        .set_require_grad(true)
}
