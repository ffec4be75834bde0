//! Reward against KL along the runs, the m sweep and the budget accounting of a comparison, on
//! a tiny policy and exact rewards: the reports are written, and evaluating along a run (which
//! stops and resumes it at every point) leaves its final result unchanged, bit for bit.

mod common;

use multireward::device::default_device;
use multireward::experiment::{
    Accounting, Budget, Comparison, ComparisonConfig, JsonLines, StrategyKind, Task,
};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::Tokenizer;
use std::path::{Path, PathBuf};

fn rewards() -> RewardSet {
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    RewardSet::builder()
        .add(FnReward::new("nitrogen", count('N')), 1.0)
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .build()
        .unwrap()
}

/// The comparisons of this file seed the device's global RNG to build their reference policy;
/// they take turns so that another test's draws cannot come between the seed and the init.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-curves-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Run a comparison of IterativeRS (m = 1, 2), MORLHF and Rewarded Soups, 2 seeds, 8 PPO
/// iterations of 8 samples, into `dir`; returns results.json.
fn compare(dir: &Path, curve: bool, sweep: Vec<usize>) -> serde_json::Value {
    let device = default_device().autodiff();
    device.seed(3);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = common::tiny_gpt(tok.vocab_size(), 16).init(&device);
    let task = Task::new(reference, &tok, rewards(), rewards());
    let budget = Budget::new(8, 8)
        .with_merge_every(2)
        .with_max_new_tokens(6)
        .with_updates(1, 1);
    let config = ComparisonConfig::new(budget, 16)
        .with_strategies(vec![
            StrategyKind::IterativeRs,
            StrategyKind::Morlhf,
            StrategyKind::RewardedSoups,
        ])
        .with_seeds(2)
        .with_curve(curve)
        .with_sweep_m(sweep)
        .with_accounting(Accounting::Samples);
    Comparison::new(task, config)
        .unwrap()
        .with_progress(false)
        .run(dir)
        .unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn curves_sweep_and_accounting_are_reported_and_change_no_result() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let plain_dir = out("plain");
    let plain = compare(&plain_dir, false, vec![]);
    let dir = out("curve");
    let curved = compare(&dir, true, vec![1, 2]);
    // The m = 2 run is the plain comparison's IterativeRS: stopping and resuming it at every
    // curve point changed nothing (its evaluation samples' oracle scores are bit-identical).
    let scores = |dir: &Path, key: &str| -> serde_json::Value {
        let path = dir.join("runs").join(format!("{key}.json"));
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(
            run["scores"].as_array().is_some_and(|s| !s.is_empty()),
            "{path:?}"
        );
        run["scores"].clone()
    };
    for seed in 0..2 {
        let key = |name: &str| format!("{name}-seed{seed}");
        assert_eq!(
            scores(&plain_dir, &key("iterativers")),
            scores(&dir, &key("iterativers-m-2"))
        );
        for name in ["morlhf", "rewarded-soups"] {
            assert_eq!(scores(&plain_dir, &key(name)), scores(&dir, &key(name)));
        }
        // m = 1 is another run (its step log differs; at this tiny budget its evaluation
        // samples may well be the same).
        let log = |key: &str| -> serde_json::Value {
            let path = dir.join("runs").join(format!("{key}.json"));
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap()
                ["log"]
                .clone()
        };
        assert_ne!(log(&key("iterativers-m-1")), log(&key("iterativers-m-2")));
    }
    assert_eq!(plain["results"].as_array().unwrap().len(), 7);
    assert_eq!(curved["results"].as_array().unwrap().len(), 9);

    // curves.csv: the pretrained point, then per strategy and seed the points along the run
    // (one grid for all: every 2 iterations, one step of both IterativeRS experts) and the
    // final one.
    let csv = std::fs::read_to_string(dir.join("curves.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows[0].starts_with("Pretrained,,0,0,"), "{}", rows[0]);
    let of = |label: &str, seed: u64| {
        rows.iter()
            .filter(|r| r.starts_with(&format!("{label},{seed},")))
            .count()
    };
    for seed in 0..2 {
        assert_eq!(of("IterativeRS (m = 2)", seed), 4, "{csv}");
        assert_eq!(of("IterativeRS (m = 1)", seed), 4, "{csv}");
        assert_eq!(of("MORLHF", seed), 4, "{csv}");
        assert_eq!(of("Rewarded Soups", seed), 4, "{csv}");
    }
    let grid = |label: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.starts_with(&format!("{label},0,")))
            .map(|r| r.split(',').nth(2).unwrap())
            .collect()
    };
    for label in [
        "IterativeRS (m = 2)",
        "IterativeRS (m = 1)",
        "Rewarded Soups",
    ] {
        assert_eq!(
            grid(label),
            grid("MORLHF"),
            "{label} is evaluated on another grid"
        );
    }
    for png in ["reward_kl.png", "ablation_m.png", "scatter.png"] {
        let bytes = std::fs::read(dir.join(png)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
    }
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    for section in [
        "Budget accounting: equal samples",
        "## Reward against KL along the runs",
        "## IterativeRS against the merge period m",
        "| 1 | 2 |",
        "| MORLHF | |",
    ] {
        assert!(md.contains(section), "{section} missing from:\n{md}");
    }
    let _ = std::fs::remove_dir_all(&plain_dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// MORLHF and Rewarded Soups, one seed, at `lr` or choosing among `candidates` on the
/// training rewards (the oracles here count carbon and length, which the training rewards do
/// not).
fn compare_lr(dir: &Path, lr: f64, candidates: Vec<f64>, resume: bool) -> serde_json::Value {
    let device = default_device().autodiff();
    device.seed(3);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = common::tiny_gpt(tok.vocab_size(), 16).init(&device);
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    let oracles = RewardSet::builder()
        .add(FnReward::new("carbon", count('C')), 1.0)
        .add(
            FnReward::new("length", |s: &Sample| Some(s.completion.len() as f64)),
            1.0,
        )
        .build()
        .unwrap();
    let task = Task::new(reference, &tok, rewards(), oracles);
    let budget = Budget::new(4, 8).with_max_new_tokens(6).with_updates(1, 1);
    let config = ComparisonConfig::new(budget, 16)
        .with_strategies(vec![StrategyKind::Morlhf, StrategyKind::RewardedSoups])
        .with_lr(lr)
        .with_lr_candidates(candidates);
    let events = JsonLines::create(&dir.with_extension("jsonl")).unwrap();
    Comparison::new(task, config)
        .unwrap()
        .with_progress(false)
        .with_observer(events)
        .with_resume(resume)
        .run(dir)
        .unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn learning_rates_are_chosen_on_the_training_rewards_and_used() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dir = out("select-lr");
    let selected = compare_lr(&dir, 1e-4, vec![1e-4, 3e-3], false);
    let trials = selected["metadata"]["lr_selection"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(trials.len(), 4, "2 strategies × 2 candidates: {trials:?}");
    // The metrics file: every trial, every learner step of the evaluated runs (4 MORLHF + 2 × 2
    // Rewarded Soups; the tuning runs report none), every evaluation, the end.
    let events = std::fs::read_to_string(dir.with_extension("jsonl")).unwrap();
    let count = |event: &str| {
        let kind = |line: &&str| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["event"] == event
        };
        events.lines().filter(kind).count()
    };
    assert_eq!(
        [
            count("lr_trial"),
            count("step"),
            count("evaluated"),
            count("finished")
        ],
        [4, 8, 3, 1],
        "{events}"
    );
    for name in ["MORLHF", "Rewarded Soups"] {
        let mine: Vec<&serde_json::Value> =
            trials.iter().filter(|t| t["strategy"] == name).collect();
        let best = mine
            .iter()
            .map(|t| t["training_reward"].as_f64().unwrap())
            .fold(f64::NEG_INFINITY, f64::max);
        let chosen: Vec<_> = mine.iter().filter(|t| t["chosen"] == true).collect();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0]["training_reward"].as_f64().unwrap(), best);
    }
    let report = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(report.contains("Learning rates chosen on the training rewards"));
    // The chosen rate is the one the seed ran with: a plain comparison at MORLHF's chosen rate
    // gives MORLHF's scores bit for bit.
    let morlhf_lr = trials
        .iter()
        .find(|t| t["strategy"] == "MORLHF" && t["chosen"] == true)
        .unwrap()["lr"]
        .as_f64()
        .unwrap();
    let plain_dir = out("plain-lr");
    compare_lr(&plain_dir, morlhf_lr, vec![], false);
    let morlhf = |dir: &Path| -> serde_json::Value {
        let path = dir.join("runs").join("morlhf-seed0.json");
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(run["scores"].as_array().is_some_and(|s| !s.is_empty()));
        run["scores"].clone()
    };
    let chosen_scores = morlhf(&dir);
    assert_eq!(chosen_scores, morlhf(&plain_dir));
    // --resume reads the trials back instead of running them again.
    let resumed = compare_lr(&dir, 1e-4, vec![1e-4, 3e-3], true);
    assert_eq!(
        resumed["metadata"]["lr_selection"],
        selected["metadata"]["lr_selection"]
    );
    assert_eq!(morlhf(&dir), chosen_scores);
    for d in [dir, plain_dir] {
        std::fs::remove_file(d.with_extension("jsonl")).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }
}
