//! Helpers shared by the integration tests (`mod common;` in each test file that uses them).

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use multireward::data::data_path;
use multireward::policy::{Gpt, GptConfig, SamplingConfig};
use multireward::reward::RewardSet;
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig};
use multireward::strategy::{OptimizerConfig, PpoLearner};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::text::minilm::FETCH_COMMAND;
use std::path::PathBuf;

/// The smallest GPT the training tests use: 1 layer, 2 heads, width 16, MLP width 32.
pub fn tiny_gpt(vocab_size: usize, max_len: usize) -> GptConfig {
    GptConfig::new(1, 2, 16, 32, vocab_size, max_len)
}

/// Collects every float parameter of a module, in visiting order.
#[derive(Default)]
struct Flatten(Vec<f32>);

impl ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().iter::<f32>());
    }
}

/// All parameters of `m` (its inference copy) as one flat vector, in visiting order.
pub fn params(m: &Gpt) -> Vec<f32> {
    let mut f = Flatten::default();
    m.valid().visit(&mut f);
    f.0
}

/// Largest elementwise `|a − b|` of two parameter vectors of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `data/minilm` (all-MiniLM-L6-v2, fetched by [`FETCH_COMMAND`]), or `None` (after saying
/// why: the test is skipped) when its weights are absent and `MULTIREWARD_REQUIRE_DATA` is
/// unset.
///
/// # Panics
/// When the weights are absent and `MULTIREWARD_REQUIRE_DATA` is set (as in CI).
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = data_path("minilm");
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "{} is missing: run {FETCH_COMMAND}",
        dir.join("model.safetensors").display()
    );
    if std::env::var_os("MULTIREWARD_REQUIRE_DATA").is_some() {
        panic!("{msg} (MULTIREWARD_REQUIRE_DATA is set)");
    }
    eprintln!("skipping: {msg}");
    None
}

/// PPO (RLOO groups of 4, 16 samples of 6 tokens, 2 × 2 updates) on `set`, Adam at `lr`.
pub fn learner<'a>(
    reference: &Gpt,
    tok: &'a SmilesTokenizer,
    set: &'a mut RewardSet,
    lr: f64,
) -> PpoLearner<'a, Gpt> {
    let config = PpoConfig {
        samples_per_step: 16,
        minibatches: 2,
        epochs: 2,
        estimator: Estimator::Group {
            size: 4,
            baseline: GroupBaseline::LeaveOneOut,
        },
        sampling: SamplingConfig {
            max_new_tokens: 6,
            ..Default::default()
        },
        ..Default::default()
    };
    PpoLearner {
        ppo: Ppo::new(config, reference),
        rewards: set,
        tokenizer: tok,
        prompts: multireward::policy::Prompts::unconditional(
            multireward::tokenizer::Tokenizer::specials(tok).start(),
        ),
        optimizer: OptimizerConfig {
            lr,
            weight_decay: 0.01,
        },
        adapters: None,
    }
}
