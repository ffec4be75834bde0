//! Strategies on LoRA experts: all four train adapters on one frozen base (tests/lora.rs
//! checks that merging experts' updates equals merging their folded weights); a checkpoint
//! holds the experts' adapters, not copies of the base; a run stopped at a checkpoint and
//! resumed ends bit for bit where the uninterrupted run ends.

mod common;

use burn::module::Module;
use common::{learner, max_abs_diff, params, tiny_gpt};
use multireward::device::default_device;
use multireward::policy::Gpt;
use multireward::policy::lora::{self, LoraConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::strategy::{RicConfig, RicTarget, RunOptions, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::train::LmTrainingConfig;

fn count(c: char) -> impl Fn(&Sample) -> Option<f64> + Send + Sync {
    move |s: &Sample| Some(s.completion.chars().filter(|&x| x == c).count() as f64)
}

fn rewards() -> RewardSet {
    RewardSet::builder()
        .add(FnReward::new("carbon", count('C')), 1.0)
        .add(FnReward::new("nitrogen", count('N')), 1.0)
        .build()
        .unwrap()
}

fn adapters() -> LoraConfig {
    LoraConfig::new(2, 4.0, &["all-linear"])
}

fn strategies() -> Vec<Strategy> {
    let ric = RicConfig {
        offline_samples: 16,
        online_samples: 8,
        online_rounds: 1,
        bins: 2,
        sft: LmTrainingConfig {
            steps: 3,
            batch_size: 4,
            lr: 1e-3,
            warmup: 1,
            eval_every: usize::MAX,
            progress: false,
            ..Default::default()
        },
        target: RicTarget::Top,
    };
    vec![
        Strategy::iterative_rs(4, 2, 2),
        Strategy::Morlhf { steps: 3 },
        Strategy::rewarded_soups(2),
        Strategy::Ric(ric),
    ]
}

#[test]
fn all_four_strategies_train_adapters_on_a_frozen_base() {
    let device = default_device().autodiff();
    device.seed(3);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = tiny_gpt(7, 24).init(&device);
    let before = params(&reference);
    for strategy in strategies() {
        let mut set = rewards();
        let mut l = learner(&reference, &tok, &mut set, 1e-2);
        l.adapters = Some(adapters());
        let out = strategy.run(&reference, &mut l, 9).unwrap();
        assert!(out.completed, "{}", strategy.name());
        // The policy moved (adapters trained, or folded into the merged weights)…
        let moved = lora::fold(out.policy.clone());
        let shape_same = moved.num_params() == reference.num_params();
        if shape_same {
            assert!(
                max_abs_diff(&params(&moved), &before) > 0.0,
                "{} did not train",
                strategy.name()
            );
        }
        // … and the reference did not.
        assert_eq!(params(&reference), before);
    }
}

#[test]
fn checkpoints_hold_adapters_and_resume_bit_for_bit() {
    let device = default_device().autodiff();
    device.seed(6);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    // A reference large enough that a base copy dwarfs the adapters.
    let reference = multireward::policy::GptConfig::new(2, 4, 64, 256, 7, 24).init(&device);
    let dir = std::env::temp_dir().join(format!("mr-lora-resume-{}", std::process::id()));
    for (k, strategy) in [
        Strategy::iterative_rs(6, 2, 2),
        Strategy::Morlhf { steps: 4 },
        Strategy::rewarded_soups(3),
    ]
    .into_iter()
    .enumerate()
    {
        let run = |options: &RunOptions| {
            let mut set = rewards();
            let mut l = learner(&reference, &tok, &mut set, 1e-2);
            l.adapters = Some(adapters());
            strategy.run_with(&reference, &mut l, 5, options).unwrap()
        };
        let full = run(&RunOptions::default());
        let ckpt = dir.join(format!("run-{k}"));
        let stop = RunOptions {
            checkpoint_dir: Some(ckpt.clone()),
            checkpoint_every: Some(1),
            stop_after_iterations: Some(2),
            ..Default::default()
        };
        let partial = run(&stop);
        assert!(!partial.completed);
        // The expert files hold the adapters only: far smaller than a copy of the base.
        let base_bytes = 4 * reference.num_params() as u64;
        let expert = std::fs::metadata(ckpt.join("expert-0.bpk")).unwrap().len();
        assert!(
            expert * 4 < base_bytes,
            "{}: an expert file of {expert} bytes against a base of {base_bytes}",
            strategy.name()
        );
        let mut set = rewards();
        let mut l = learner(&reference, &tok, &mut set, 1e-2);
        l.adapters = Some(adapters());
        let resumed = Strategy::resume(&ckpt, &reference, &mut l, &RunOptions::default()).unwrap();
        assert!(resumed.completed);
        assert_eq!(resumed.spent, full.spent, "{}", strategy.name());
        assert_eq!(
            serde_json::to_string(&resumed.log).unwrap(),
            serde_json::to_string(&full.log).unwrap(),
            "{}: logs differ",
            strategy.name()
        );
        let (a, b): (Gpt, Gpt) = (lora::fold(full.policy), lora::fold(resumed.policy));
        assert_eq!(
            max_abs_diff(&params(&a), &params(&b)),
            0.0,
            "{}: resumed policy differs",
            strategy.name()
        );
        // Resuming without the adapters is refused, naming them.
        let mut set = rewards();
        let mut l = learner(&reference, &tok, &mut set, 1e-2);
        let partial = run(&stop);
        drop(partial);
        let e = Strategy::resume(&ckpt, &reference, &mut l, &RunOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("LoRA adapters"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
