//! A run of any strategy stopped at a checkpoint (a merge round, a RiC round or every k
//! iterations) and resumed ends with bit-identical weights, budget and log to an uninterrupted
//! run (flex, same seed), with Adam state and running reward normalisers carried across; a
//! non-finite step stops a run with a typed error.

mod common;

use common::{learner, max_abs_diff, params, tiny_gpt};
use multireward::device::default_device;
use multireward::policy::Gpt;
use multireward::reward::{FnReward, Normalizer, RewardSet, Sample};
use multireward::strategy::{RicConfig, RicTarget, RunOptions, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::train::LmTrainingConfig;

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

/// The final policy of `strategy` run through, and of the same run stopped by `stop` (which
/// checkpoints into its directory) and resumed in a fresh learner; and the stopped policy.
fn through_and_resumed(
    reference: &Gpt,
    tok: &SmilesTokenizer,
    strategy: &Strategy,
    stop: &RunOptions,
) -> (Gpt, Gpt, Gpt) {
    let mut set = rewards();
    let full = strategy
        .run(reference, &mut learner(reference, tok, &mut set, 1e-3), 5)
        .unwrap();
    assert!(full.completed);
    let mut set = rewards();
    let partial = strategy
        .run_with(
            reference,
            &mut learner(reference, tok, &mut set, 1e-3),
            5,
            stop,
        )
        .unwrap();
    assert!(!partial.completed, "{} did not stop", strategy.name());
    let dir = stop.checkpoint_dir.as_ref().unwrap();
    assert!(dir.join(multireward::strategy::STATE_FILE).exists());
    // A fresh reward set: the running normalisers come from the checkpoint.
    let mut set = rewards();
    let resumed = Strategy::resume(
        dir,
        reference,
        &mut learner(reference, tok, &mut set, 1e-3),
        &RunOptions::default(),
    )
    .unwrap();
    assert!(resumed.completed);
    assert_eq!(resumed.spent, full.spent, "{}", strategy.name());
    assert_eq!(
        serde_json::to_string(&resumed.log).unwrap(),
        serde_json::to_string(&full.log).unwrap(),
        "{}: logs differ",
        strategy.name()
    );
    (full.policy, resumed.policy, partial.policy)
}

#[test]
fn stopped_and_resumed_runs_are_bit_identical() {
    let device = default_device().autodiff();
    device.seed(8);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = tiny_gpt(7, 16).init(&device);
    let dir = std::env::temp_dir().join(format!("mr-resume-{}", std::process::id()));
    let ric = RicConfig {
        offline_samples: 16,
        online_samples: 8,
        online_rounds: 2,
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
    let cases = [
        (
            Strategy::iterative_rs(6, 2, 2),
            RunOptions {
                stop_after_round: Some(1),
                ..Default::default()
            },
        ),
        // Mid-block: a checkpoint every 2 iterations, stopped after the first one past 3.
        (
            Strategy::iterative_rs(4, 4, 3),
            RunOptions {
                checkpoint_every: Some(2),
                stop_after_iterations: Some(3),
                ..Default::default()
            },
        ),
        (
            Strategy::Morlhf { steps: 4 },
            RunOptions {
                checkpoint_every: Some(2),
                stop_after_iterations: Some(2),
                ..Default::default()
            },
        ),
        // Stopped inside the second expert's run.
        (
            Strategy::rewarded_soups(2),
            RunOptions {
                checkpoint_every: Some(3),
                stop_after_iterations: Some(3),
                ..Default::default()
            },
        ),
        (
            Strategy::Ric(ric),
            RunOptions {
                stop_after_round: Some(1),
                ..Default::default()
            },
        ),
    ];
    for (strategy, stop) in cases {
        let stop = RunOptions {
            checkpoint_dir: Some(dir.clone()),
            ..stop
        };
        let (full, resumed, partial) = through_and_resumed(&reference, &tok, &strategy, &stop);
        let (a, b, c) = (params(&full), params(&resumed), params(&partial));
        let diff = max_abs_diff(&a, &b);
        assert_eq!(
            diff,
            0.0,
            "{}: resumed run differs by {diff}",
            strategy.name()
        );
        // The stop really happened mid-run.
        if a.len() == c.len() {
            assert!(a.iter().zip(&c).any(|(x, y)| x != y), "{}", strategy.name());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_non_finite_step_stops_the_run_with_a_typed_error() {
    let device = default_device().autodiff();
    device.seed(3);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = tiny_gpt(7, 16).init(&device);
    let mut set = rewards();
    let mut l = learner(&reference, &tok, &mut set, 1e-3);
    // A valid (finite, positive) learning rate whose update overflows f32: the weights become
    // non-finite at the first step. (A NaN rate is refused before the run:
    // tests/robustness/settings.rs.)
    l.optimizer.lr = f64::MAX;
    let dir = std::env::temp_dir().join(format!("mr-nonfinite-{}", std::process::id()));
    let options = RunOptions {
        checkpoint_dir: Some(dir.clone()),
        checkpoint_every: Some(1),
        ..Default::default()
    };
    let err = Strategy::Morlhf { steps: 3 }
        .run_with(&reference, &mut l, 1, &options)
        .err()
        .expect("an overflowing learning rate must stop the run");
    let msg = err.to_string();
    assert!(
        msg.contains("MORLHF stopped at step 1") && msg.contains("non-finite"),
        "{msg}"
    );
    // Nothing after the bad step was checkpointed.
    assert!(!dir.join(multireward::strategy::STATE_FILE).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zero_counts_in_run_options_are_refused() {
    let device = default_device().autodiff();
    let tok = SmilesTokenizer::from_corpus(["C"]).unwrap();
    let reference = tiny_gpt(7, 16).init(&device);
    let mut set = rewards();
    let options = RunOptions {
        stop_after_round: Some(0),
        ..Default::default()
    };
    let err = Strategy::Morlhf { steps: 1 }
        .run_with(
            &reference,
            &mut learner(&reference, &tok, &mut set, 1e-3),
            1,
            &options,
        )
        .err()
        .unwrap();
    assert!(err.to_string().contains("stop_after_round is 0"), "{err}");
}
