//! PPO and the group-baseline estimator raise the mean reward of a tiny policy on a synthetic
//! reward with a known optimum, and the KL to the reference stays finite.

mod common;

use burn::module::Module;
use common::tiny_gpt;
use multireward::device::default_device;
use multireward::policy::{Gpt, GptConfig, Policy, SamplingConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::rl::{Estimator, GroupBaseline, Ppo, PpoConfig};
use multireward::strategy::{OptimizerConfig, PpoLearner, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::BOS;

/// Fraction of `N` among the generated atoms: the optimum, 1.0, is "NNNNNN…".
fn nitrogen(s: &Sample) -> Option<f64> {
    let n = s.completion.len();
    (n > 0).then(|| s.completion.chars().filter(|&c| c == 'N').count() as f64 / n as f64)
}

fn mean_reward(policy: &Gpt, tok: &SmilesTokenizer, seed: u64) -> f64 {
    let cfg = SamplingConfig {
        max_new_tokens: 8,
        temperature: 0.7,
        seed: Some(seed),
        ..Default::default()
    };
    let r = policy.sample(&vec![vec![BOS]; 256], &cfg).unwrap();
    let scores: Vec<f64> = r
        .response_ids()
        .iter()
        .map(|ids| {
            let text = multireward::tokenizer::Tokenizer::decode(tok, ids).unwrap();
            nitrogen(&Sample {
                prompt: "",
                completion: &text,
            })
            .unwrap_or(0.0)
        })
        .collect();
    scores.iter().sum::<f64>() / scores.len() as f64
}

fn train(estimator: Estimator, value_head: bool) -> (f64, f64, Vec<f64>) {
    let device = default_device().autodiff();
    device.seed(4);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = GptConfig::new(2, 2, 32, 64, 7, 16)
        .with_value_head(value_head)
        .init(&device);
    let mut rewards = RewardSet::builder()
        .add(FnReward::new("nitrogen", nitrogen), 1.0)
        .build()
        .unwrap();
    let config = PpoConfig {
        samples_per_step: 64,
        minibatches: 2,
        epochs: 2,
        estimator,
        sampling: SamplingConfig {
            max_new_tokens: 8,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut learner = PpoLearner {
        ppo: Ppo::new(config, &reference),
        rewards: &mut rewards,
        tokenizer: &tok,
        prompts: multireward::policy::Prompts::unconditional(
            multireward::tokenizer::Tokenizer::specials(&tok).start(),
        ),
        optimizer: OptimizerConfig {
            lr: 3e-3,
            weight_decay: 0.0,
        },
        adapters: None,
    };
    let before = mean_reward(&reference.valid(), &tok, 99);
    let out = Strategy::Morlhf { steps: 12 }
        .run(&reference, &mut learner, 1)
        .unwrap();
    let after = mean_reward(&out.policy.valid(), &tok, 99);
    let kls = out.log.iter().map(|r| r.report.kl).collect();
    (before, after, kls)
}

#[test]
fn ppo_with_gae_raises_the_reward() {
    let (before, after, kls) = train(Estimator::Gae, true);
    eprintln!("GAE: mean reward {before:.3} → {after:.3}; KL per step {kls:.3?}");
    assert!(after >= before + 0.25, "{before} → {after}");
    assert!(kls.iter().all(|k| k.is_finite()));
    assert!(kls.last().unwrap() > &0.0);
}

#[test]
fn group_baseline_raises_the_reward() {
    let estimator = Estimator::Group {
        size: 4,
        baseline: GroupBaseline::LeaveOneOut,
    };
    let (before, after, kls) = train(estimator, false);
    eprintln!("RLOO: mean reward {before:.3} → {after:.3}; KL per step {kls:.3?}");
    assert!(after >= before + 0.25, "{before} → {after}");
    assert!(kls.iter().all(|k| k.is_finite()));
}

#[test]
fn gae_without_value_head_is_a_typed_error() {
    let device = default_device().autodiff();
    let policy = tiny_gpt(7, 16).init(&device);
    let ppo = Ppo::new(PpoConfig::default(), &policy);
    let err = ppo.validate(&policy).unwrap_err();
    assert!(matches!(err, multireward::rl::RlError::NoValueHead));
    let msg = err.to_string();
    assert!(
        msg.contains("GroupBaseline::LeaveOneOut") && msg.contains("with_value_head()"),
        "{msg}"
    );
}

#[test]
fn kl_to_reference_is_zero_for_itself_and_positive_otherwise() {
    use multireward::rl::kl_to_reference;
    let device = default_device();
    device.seed(5);
    let p = tiny_gpt(7, 16).init(&device);
    let q = tiny_gpt(7, 16).init(&device);
    let cfg = SamplingConfig {
        max_new_tokens: 6,
        temperature: 0.7,
        stop_at_eos: true,
        seed: Some(3),
        ..Default::default()
    };
    let prompts = vec![vec![BOS]; 512];
    let rollout = p.sample(&prompts, &cfg).unwrap();
    let own = kl_to_reference(&rollout, &p, &prompts, 0.7).unwrap();
    assert_eq!(own.len(), 512);
    assert!(own.iter().all(|k| k.abs() < 1e-4), "{own:?}");
    let other = kl_to_reference(&rollout, &q, &prompts, 0.7).unwrap();
    let mean = other.iter().sum::<f64>() / other.len() as f64;
    eprintln!("Monte-Carlo KL(p ‖ q) = {mean:.3} nats");
    assert!(mean > 0.01 && mean.is_finite(), "{mean}");
}

/// Sampling that never draws some ids (DNA suppresses its specials; RiC and padded Hugging Face
/// vocabularies limit the ids) still measures a policy's KL to itself as zero, and its rollout
/// log-probabilities are what scoring gives (PPO's old policy). The shipped DNA policy had KL
/// 0.0031 to itself when the sampler's log-probabilities were of the restricted distribution.
#[test]
fn restricted_sampling_keeps_the_kl_to_itself_zero() {
    use multireward::rl::kl_to_reference;
    let device = default_device();
    device.seed(6);
    let p = tiny_gpt(9, 16).init(&device);
    let cfg = SamplingConfig {
        max_new_tokens: 6,
        temperature: 0.7,
        suppress: vec![0, 2],
        vocab_limit: Some(8),
        seed: Some(4),
        ..Default::default()
    };
    let prompts = vec![vec![BOS]; 256];
    let rollout = p.sample(&prompts, &cfg).unwrap();
    let own = kl_to_reference(&rollout, &p, &prompts, 0.7).unwrap();
    assert!(own.iter().all(|k| k.abs() < 1e-4), "{own:?}");
    let scored = p.score(&rollout.sequences, 0.7).unwrap().log_probs;
    let diff: f32 = (scored - rollout.log_probs.clone())
        .abs()
        .max()
        .into_scalar();
    assert!(
        diff < 1e-4,
        "rollout and scoring log-probabilities differ by {diff}"
    );
}
