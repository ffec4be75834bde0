//! [`LoraFactors`]: the reparameterization of one adapted weight, and where a traversal of an
//! adapted model stands ([`Path`]).

use super::config::LoraConfig;
use burn::module::{Module, ModuleVisitor, Param, ParamId, Reparameterization};
use burn::tensor::{Distribution, Tensor, TensorData};
use rand::Rng;
use rand::rngs::StdRng;

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
pub(super) const FACTOR_A: &str = "a";
pub(super) const FACTOR_B: &str = "b";
pub(super) const SCALE: &str = "scale";

impl LoraFactors {
    /// Fresh factors for a weight `[d_in, d_out]` on `device`: PEFT's initialisation
    /// (Kaiming-uniform `A`, bound 1/√in, drawn from `rng` — never the device's global RNG,
    /// which concurrent work shares; zero `B`: the update starts at 0).
    pub fn fresh(
        d_in: usize,
        d_out: usize,
        cfg: &LoraConfig,
        device: &burn::tensor::Device,
        rng: &mut StdRng,
    ) -> Self {
        let bound = 1.0 / (d_in as f32).sqrt();
        let values: Vec<f32> = (0..d_in * cfg.rank)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = Tensor::<2>::from_data(TensorData::new(values, [d_in, cfg.rank]), device);
        Self::from_parts(
            a,
            Tensor::zeros([cfg.rank, d_out], device),
            cfg.scale(),
            cfg.dropout,
        )
    }

    /// Factors `a` `[in, r]`, `b` `[r, out]` with this scale and dropout.
    ///
    /// Their parameter ids are derived from `a`'s values rather than drawn at random: the same
    /// factors (e.g. an expert's fresh adapters, seeded, in a run and in its resumption) get the
    /// same ids, and with them the same order wherever Burn keys work by parameter id — so a
    /// resumed run ends bit for bit where the uninterrupted one does.
    pub fn from_parts(a: Tensor<2>, b: Tensor<2>, scale: f64, dropout: f64) -> Self {
        let device = a.device();
        let seed = id_seed(&a);
        let param = |k: u64, t: Tensor<2>| {
            let mut p = Param::from_tensor(t);
            p.id = ParamId::from(seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            p
        };
        let mut scale = Param::from_tensor(Tensor::from_floats([scale as f32], &device));
        scale.id = ParamId::from(seed ^ 3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Self {
            a: param(1, a),
            b: param(2, b),
            scale: scale.set_require_grad(false),
            dropout,
        }
    }

    /// `s · A·B` `[in, out]`, the weight update (no dropout).
    pub fn delta(&self) -> Tensor<2> {
        update(self.a.val(), self.b.val(), self.scale.val())
    }
}

/// A 64-bit digest of `a`'s values (FNV-1a over their bits).
fn id_seed(a: &Tensor<2>) -> u64 {
    let data = a.clone().into_data().convert::<f32>();
    data.iter::<f32>().fold(0xCBF2_9CE4_8422_2325u64, |h, x| {
        (h ^ x.to_bits() as u64).wrapping_mul(0x0100_0000_01B3)
    })
}

/// `s · A·B` from the factors' values.
pub(super) fn update(a: Tensor<2>, b: Tensor<2>, scale: Tensor<1>) -> Tensor<2> {
    (a * scale.reshape([1, 1])).matmul(b)
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

/// Where a traversal stands: the module path as Burn names it (`full`, enum variants
/// included, as reparameterizers see it) and as the model's own file names it (`clean`, the
/// variant of a wrapping enum such as [`AutoPolicy`](crate::policy::AutoPolicy) left out).
#[derive(Default)]
pub(super) struct Path {
    pub(super) full: Vec<String>,
    clean: Vec<Option<String>>,
}

impl Path {
    pub(super) fn enter(&mut self, name: &str, container: &str) {
        self.full.push(name.to_string());
        let variant = container.starts_with("Enum:");
        self.clean.push((!variant).then(|| name.to_string()));
    }
    pub(super) fn exit(&mut self) {
        self.full.pop();
        self.clean.pop();
    }
    pub(super) fn full(&self) -> String {
        self.full.join(".")
    }
    pub(super) fn clean(&self) -> String {
        self.clean
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(".")
    }
    pub(super) fn inside_factors(&self) -> bool {
        self.full.iter().any(|s| s == LoraFactors::NAME)
    }
}

/// Every float parameter of a model: `(full path, clean path, rank)` (see [`Path`]).
pub(super) fn parameters<M: Module>(model: &M) -> Vec<(String, String, usize)> {
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
