//! A run stopped after merge round k and resumed from its checkpoint ends with bit-identical
//! weights to an uninterrupted run (flex, same seed), with Adam state and running reward
//! normalisers carried across.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use multireward::device::default_device;
use multireward::merge::Linear;
use multireward::policy::{Gpt, GptConfig, SamplingConfig};
use multireward::reward::{FnReward, Normalizer, RewardSet, Sample};
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig};
use multireward::strategy::{MergeWeights, OptimizerConfig, PpoLearner, RunOptions, Strategy};
use multireward::tokenizer::{BOS, SmilesTokenizer};

fn count(c: char) -> impl Fn(&Sample) -> Option<f64> + Send + Sync {
    move |s: &Sample| Some(s.completion.chars().filter(|&x| x == c).count() as f64)
}

fn rewards() -> RewardSet {
    RewardSet::builder()
        .add(FnReward::new("carbon", count('C')), 1.0)
        .normalizer(Normalizer::running())
        .add(FnReward::new("nitrogen", count('N')), 1.0)
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .build()
        .unwrap()
}

#[derive(Default)]
struct Flatten(Vec<f32>);

impl ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().iter::<f32>());
    }
}

fn params(m: &Gpt) -> Vec<f32> {
    let mut f = Flatten::default();
    m.valid().visit(&mut f);
    f.0
}

fn run(reference: &Gpt, tok: &SmilesTokenizer, options: Option<(&RunOptions, bool)>) -> Gpt {
    let mut set = rewards();
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
    let mut learner = PpoLearner {
        ppo: Ppo::new(config, reference),
        rewards: &mut set,
        tokenizer: tok,
        prompts: vec![vec![BOS]],
        prompt_texts: vec![String::new()],
        optimizer: OptimizerConfig {
            lr: 1e-3,
            weight_decay: 0.01,
        },
    };
    let strategy = Strategy::IterativeRs {
        steps: 6,
        merge_every: 2,
        active: 2,
        merge_weights: MergeWeights::Preferences,
    };
    let out = match options {
        None => strategy.run(reference, &mut learner, &Linear, 5).unwrap(),
        Some((opts, false)) => strategy
            .run_with(reference, &mut learner, &Linear, 5, opts)
            .unwrap(),
        Some((opts, true)) => Strategy::resume(
            opts.checkpoint_dir.as_ref().unwrap(),
            reference,
            &mut learner,
            &Linear,
            &RunOptions::default(),
        )
        .unwrap(),
    };
    out.policy
}

#[test]
fn stopped_and_resumed_run_is_bit_identical() {
    let device = default_device().autodiff();
    device.seed(8);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = GptConfig::new(1, 2, 16, 32, 7, 16).init(&device);
    let full = run(&reference, &tok, None);

    let dir = std::env::temp_dir().join(format!("mr-resume-{}", std::process::id()));
    let stop = RunOptions {
        checkpoint_dir: Some(dir.clone()),
        stop_after_round: Some(1),
    };
    let partial = run(&reference, &tok, Some((&stop, false)));
    assert!(dir.join(multireward::strategy::STATE_FILE).exists());
    let resumed = run(&reference, &tok, Some((&stop, true)));

    let (a, b, c) = (params(&full), params(&resumed), params(&partial));
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert_eq!(diff, 0.0, "resumed run differs by {diff}");
    // The stop really happened mid-run: the round-1 merge is not the final policy.
    assert!(a.iter().zip(&c).any(|(x, y)| x != y));
    let _ = std::fs::remove_dir_all(&dir);
}
