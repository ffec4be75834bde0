//! Class 7: the library's own settings (`PpoConfig`, `OptimizerConfig`, `RicConfig`,
//! `RunOptions`, the comparison's) are checked where the command line's are, sizes are bounded
//! before anything is allocated, and plans that would mislabel a run are refused. Each error
//! names the config field. (Written against the API that existed before these checks, so that
//! each test can be shown to fail there.)

use super::{Idle, err_text};
use crate::common::{learner, tiny_gpt};
use multireward::device::default_device;
use multireward::experiment::{Budget, ComparisonConfig, RicSettings, StrategyKind};
use multireward::policy::{Gpt, Policy, SamplingConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::strategy::{RicConfig, RunOptions, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::{BOS, Tokenizer};
use multireward::train::LmTrainingConfig;

/// Two rewards on the length and the nitrogen count of a completion.
fn rewards() -> RewardSet {
    RewardSet::builder()
        .add(
            FnReward::new("len", |s: &Sample| Some(s.completion.len() as f64)),
            1.0,
        )
        .add(
            FnReward::new("n", |s: &Sample| {
                Some(s.completion.matches('N').count() as f64)
            }),
            1.0,
        )
        .build()
        .unwrap()
}

fn reference(tok: &SmilesTokenizer) -> Gpt {
    let device = default_device().autodiff();
    device.seed(3);
    tiny_gpt(tok.vocab_size(), 16).init(&device)
}

/// One MORLHF step with the common test learner, its settings edited by `edit`.
fn ppo_run(edit: impl FnOnce(&mut multireward::strategy::PpoLearner<'_, Gpt>)) -> String {
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let reference = reference(&tok);
    let mut set = rewards();
    let mut l = learner(&reference, &tok, &mut set, 1e-3);
    edit(&mut l);
    err_text(Strategy::Morlhf { steps: 1 }.run(&reference, &mut l, 0))
}

#[test]
fn library_configs_are_validated_naming_the_field() {
    type Edit = fn(&mut multireward::strategy::PpoLearner<'_, Gpt>);
    let cases: [(Edit, &str); 9] = [
        (|l| l.ppo.config.kl_coef = -5.0, "PpoConfig.kl_coef is -5"),
        (
            |l| l.ppo.config.clip_ratio = -0.2,
            "PpoConfig.clip_ratio is -0.2",
        ),
        (
            |l| l.ppo.config.clip_ratio = f32::NAN,
            "PpoConfig.clip_ratio is NaN",
        ),
        (
            |l| l.ppo.config.max_grad_norm = Some(0.0),
            "PpoConfig.max_grad_norm is 0",
        ),
        (
            |l| l.ppo.config.max_grad_norm = Some(f32::NAN),
            "PpoConfig.max_grad_norm is NaN",
        ),
        (|l| l.optimizer.lr = 0.0, "OptimizerConfig.lr is 0"),
        (|l| l.optimizer.lr = -1e-4, "OptimizerConfig.lr is -0.0001"),
        (
            |l| l.optimizer.weight_decay = -10.0,
            "OptimizerConfig.weight_decay is -10",
        ),
        (|l| l.ppo.config.gamma = 2.0, "PpoConfig.gamma is 2"),
    ];
    for (edit, says) in cases {
        let e = ppo_run(edit);
        assert!(e.contains(says), "{says}: {e}");
    }
    // RiC's fine-tuning settings.
    let device = default_device().autodiff();
    let reference = tiny_gpt(9, 16).init(&device);
    let ric = |sft: LmTrainingConfig| {
        Strategy::Ric(RicConfig {
            offline_samples: 8,
            bins: 2,
            online_rounds: 0,
            sft: LmTrainingConfig {
                steps: 1,
                batch_size: 4,
                ..sft
            },
            ..Default::default()
        })
    };
    for (sft, says) in [
        (
            LmTrainingConfig {
                grad_clip: f32::NAN,
                ..Default::default()
            },
            "RicConfig.sft.grad_clip is NaN",
        ),
        (
            LmTrainingConfig {
                weight_decay: -1.0,
                ..Default::default()
            },
            "RicConfig.sft.weight_decay is -1",
        ),
    ] {
        let e = err_text(ric(sft).run(&reference, &mut Idle(vec![1.0; 2]), 0));
        assert!(e.contains(says), "{says}: {e}");
    }
    // An early stop without a checkpoint directory would be silently ignored.
    let options = RunOptions {
        stop_after_iterations: Some(1),
        ..Default::default()
    };
    let e = err_text(Strategy::Morlhf { steps: 3 }.run_with(
        &reference,
        &mut Idle(vec![1.0; 2]),
        0,
        &options,
    ));
    assert!(
        e.contains("RunOptions.stop_after_iterations") && e.contains("checkpoint_dir"),
        "{e}"
    );
}

#[test]
fn sizes_are_bounded_before_allocation() {
    let device = default_device();
    let model = tiny_gpt(9, 16).init(&device);
    // A response length past the context, however large, is refused before allocating it.
    let cfg = SamplingConfig {
        max_new_tokens: usize::MAX,
        ..Default::default()
    };
    let e = err_text(model.sample(&[vec![BOS]], &cfg));
    assert!(e.contains("exceed the context length"), "{e}");
    // More conditioning tokens than ids or memory.
    let e = err_text(model.with_extra_tokens(1 << 40, 0));
    assert!(e.contains("extra tokens"), "{e}");
    let ric = Strategy::Ric(RicConfig {
        offline_samples: 1 << 41,
        bins: 1 << 40,
        ..Default::default()
    });
    let reference = tiny_gpt(9, 16).init(&device.clone().autodiff());
    let e = err_text(ric.run(&reference, &mut Idle(vec![1.0; 2]), 0));
    assert!(e.contains("RicConfig.bins is 1099511627776"), "{e}");
    // A rollout whose logits cannot fit in memory (2³⁶ samples × 6 tokens × 12 × 4 bytes),
    // and an iteration no machine can finish.
    let e = ppo_run(|l| l.ppo.config.samples_per_step = 1 << 36);
    assert!(
        e.contains("PpoConfig.samples_per_step") && e.contains("GiB"),
        "{e}"
    );
    let e = ppo_run(|l| l.ppo.config.epochs = 1 << 40);
    assert!(e.contains("PpoConfig.epochs is too large"), "{e}");
    // The comparison's sizes, each naming its field.
    let base = || {
        ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), 8)
            .with_strategies(StrategyKind::ALL.to_vec())
    };
    let huge = 1_000_000_000_000_000_000;
    let cases: Vec<(ComparisonConfig, &str)> = vec![
        (base().with_seeds(huge), "seeds"),
        (
            ComparisonConfig::new(Budget::new(huge, 16).with_merge_every(1), 8),
            "budget.iterations",
        ),
        (
            ComparisonConfig::new(Budget::new(6, huge).with_merge_every(1), 8),
            "budget.samples",
        ),
        (
            ComparisonConfig::new(Budget::new(6, 16).with_merge_every(1), huge),
            "eval.samples",
        ),
        (
            ComparisonConfig::new(
                (Budget::new(6, 16).with_merge_every(1)).with_max_new_tokens(usize::MAX),
                8,
            ),
            "budget.max_new_tokens",
        ),
        (
            ComparisonConfig::new(
                (Budget::new(6, 16).with_merge_every(1)).with_updates(huge, 1),
                8,
            ),
            "budget.epochs",
        ),
        (
            base().with_ric(RicSettings::new().with_bins(huge)),
            "ric.bins",
        ),
        (
            base().with_ric(RicSettings::new().with_rounds(usize::MAX)),
            "ric.rounds",
        ),
    ];
    for (c, field) in cases {
        let e = err_text(c.validate(3));
        assert!(e.starts_with(&format!("{field} ")), "{field}: {e}");
    }
}

#[test]
fn duplicate_runs_and_merge_periods_beyond_the_run_are_refused() {
    let c = |iterations| {
        ComparisonConfig::new(Budget::new(iterations, 16).with_merge_every(1), 8)
            .with_strategies(vec![StrategyKind::IterativeRs, StrategyKind::Morlhf])
    };
    // The same strategy twice would report "± 0" as if two seeds.
    let twice = c(6).with_strategies(vec![StrategyKind::Morlhf, StrategyKind::Morlhf]);
    let e = err_text(twice.validate(3));
    assert!(e.starts_with("strategies lists morlhf twice"), "{e}");
    // m > T would make the "IterativeRS" row Rewarded Soups.
    let beyond = ComparisonConfig {
        budget: Budget::new(6, 16).with_merge_every(4),
        ..c(6)
    };
    let e = err_text(beyond.validate(3));
    assert!(
        e.starts_with("budget.merge_every is 4") && e.contains("m ≥ T is Rewarded Soups"),
        "{e}"
    );
    let e = err_text(c(6).with_sweep_m(vec![1, 4]).validate(3));
    assert!(e.starts_with("sweep_m has m = 4"), "{e}");
    // A sweep listing one period twice (8 = T, here) would plan two runs into one file.
    let sweep = c(24).with_sweep_m(vec![8, 1, 8]);
    let e = err_text(sweep.validate(3));
    assert!(e.starts_with("sweep_m lists m = 8 twice"), "{e}");
    let e = err_text(c(24).with_sweep_m(vec![8, 0]).validate(3));
    assert!(e.starts_with("sweep_m lists m = 8 twice"), "{e}");
    let runs = |s: &[Strategy]| s.iter().filter(|s| s.name() == "IterativeRS").count();
    assert_eq!(runs(&sweep.plan(3)), 2, "one run per distinct m");
    c(24).with_sweep_m(vec![8, 1, 2]).validate(3).unwrap();
    // The library's IterativeRS refuses m > T too (m = T is allowed: the plan's Soups end).
    let reference = tiny_gpt(9, 8).init(&default_device().autodiff());
    let e = err_text(Strategy::iterative_rs(2, 4, 3).run(&reference, &mut Idle(vec![1.0; 3]), 0));
    assert!(e.contains("m ≥ T is Rewarded Soups"), "{e}");
    Strategy::iterative_rs(2, 2, 3)
        .run(&reference, &mut Idle(vec![1.0; 3]), 0)
        .unwrap();
}

/// A preference sweep's weight vectors: one weight > 0 per objective, else the setting is
/// named and nothing changes; a reward set refuses bad weights the same way.
#[test]
fn preference_weights_are_checked_and_a_refusal_changes_nothing() {
    use multireward::experiment::{Comparison, Task};
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let task = Task::new(reference(&tok), &tok, rewards(), rewards());
    let config = ComparisonConfig::new(Budget::new(2, 8).with_max_new_tokens(8), 8)
        .with_strategies(vec![StrategyKind::Morlhf]);
    let mut comparison = Comparison::new(task, config).unwrap();
    for bad in [
        &[1.0][..],
        &[1.0, 0.0],
        &[1.0, f64::NAN],
        &[-1.0, 2.0],
        &[1.0, 1.0, 1.0],
    ] {
        let e = err_text(comparison.check_preferences(bad));
        assert!(
            e.starts_with("sweep_weights has")
                && e.contains("one finite weight > 0 per objective, 2 in all (len, n)"),
            "{bad:?}: {e}"
        );
        let e = err_text(comparison.set_preferences(bad));
        assert!(e.starts_with("sweep_weights has"), "{e}");
    }
    comparison.set_preferences(&[3.0, 1.0]).unwrap();
    let mut set = rewards();
    let e = err_text(set.set_weights(&[f64::INFINITY, 1.0]));
    assert!(e.contains("finite and non-negative"), "{e}");
    let e = err_text(set.set_weights(&[0.0, 0.0]));
    assert!(e.contains("at least one weight must be positive"), "{e}");
    assert_eq!(
        set.weights(),
        [1.0, 1.0],
        "a refused vector changes nothing"
    );
    set.set_weights(&[0.5, 1.5]).unwrap();
    assert_eq!(set.weights(), [0.5, 1.5]);
}
