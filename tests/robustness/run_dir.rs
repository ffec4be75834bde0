//! Class 8: results directories and checkpoint paths. A resumed comparison reads nothing its
//! manifest does not vouch for (other objectives, another policy, a missing, partial or edited
//! record are refused, naming what differs); one writer at a time; the checkpoint folder is
//! checked before any work; users' files are never renamed, replaced or hidden; a failed run
//! names only a checkpoint that exists.

use super::{err_text, scratch};
use crate::common::{params, tiny_gpt};
use multireward::checkpoint::CheckpointError;
use multireward::device::default_device;
use multireward::experiment::{
    Budget, Comparison, ComparisonConfig, ExperimentError, LOCK_FILE, MANIFEST_FILE, StrategyKind,
    Task,
};
use multireward::policy::{Gpt, Policy};
use multireward::reward::{FnReward, RewardError, RewardSet, Sample};
use multireward::strategy::{RunOptions, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::Tokenizer;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn tokenizer() -> SmilesTokenizer {
    SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap()
}

/// Two rewards counting characters `a` and `b` of a completion.
fn counts(a: char, b: char) -> RewardSet {
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    RewardSet::builder()
        .add(FnReward::new(format!("{a}"), count(a)), 1.0)
        .add(FnReward::new(format!("{b}"), count(b)), 1.0)
        .build()
        .unwrap()
}

/// A reference policy drawn from `seed`.
fn reference(tok: &SmilesTokenizer, seed: u64) -> Gpt {
    let device = default_device().autodiff();
    device.seed(seed);
    tiny_gpt(tok.vocab_size(), 32).init(&device)
}

/// A one-seed MORLHF comparison of `policy` on rewards counting `a` and `b`, into `out`.
fn compare(
    policy: &Gpt,
    tok: &SmilesTokenizer,
    (a, b): (char, char),
    out: &Path,
    resume: bool,
) -> Result<(), ExperimentError> {
    let task = Task::new(policy.clone(), tok, counts(a, b), counts(a, b));
    let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
    let config = ComparisonConfig::new(budget, 8).with_strategies(vec![StrategyKind::Morlhf]);
    Comparison::new(task, config)?
        .with_resume(resume)
        .run(out)
        .map(|_| ())
}

#[test]
fn resuming_refuses_inputs_and_records_that_differ() {
    let tok = tokenizer();
    let policy = reference(&tok, 3);
    let out = scratch("manifest");
    compare(&policy, &tok, ('C', 'N'), &out, false).unwrap();
    let manifest = out.join(MANIFEST_FILE);
    assert!(manifest.is_file());
    // The same inputs resume (nothing to train: every run is kept).
    compare(&policy, &tok, ('C', 'N'), &out, true).unwrap();
    // Other objectives: the numbers would be relabelled.
    let e = err_text(compare(&policy, &tok, ('C', 'O'), &out, true));
    assert!(
        e.contains("the training rewards differ") && e.contains("\"N\""),
        "{e}"
    );
    // Another policy of the same shape.
    let other = reference(&tok, 4);
    assert_ne!(params(&other), params(&policy));
    let e = err_text(compare(&other, &tok, ('C', 'N'), &out, true));
    assert!(e.contains("the reference policy's weights differ"), "{e}");
    // An edited run record.
    let run = out.join("runs/morlhf-seed0.json");
    let kept = std::fs::read_to_string(&run).unwrap();
    std::fs::write(&run, kept.replacen("\"scores\"", "\"scores\" ", 1)).unwrap();
    let e = err_text(compare(&policy, &tok, ('C', 'N'), &out, true));
    assert!(
        e.contains("morlhf-seed0.json was changed after it was written"),
        "{e}"
    );
    std::fs::write(&run, &kept).unwrap();
    // A run record the manifest does not list.
    let planted = out.join("runs/extra.json");
    std::fs::write(&planted, "{}").unwrap();
    let e = err_text(compare(&policy, &tok, ('C', 'N'), &out, true));
    assert!(
        e.contains("extra.json is not listed in the manifest"),
        "{e}"
    );
    std::fs::remove_file(&planted).unwrap();
    // A partial manifest, then none at all beside kept runs.
    let record = std::fs::read_to_string(&manifest).unwrap();
    let mut partial: serde_json::Value = serde_json::from_str(&record).unwrap();
    partial["inputs"].as_object_mut().unwrap().remove("policy");
    std::fs::write(&manifest, partial.to_string()).unwrap();
    let e = err_text(compare(&policy, &tok, ('C', 'N'), &out, true));
    assert!(
        e.contains("damaged or incomplete") && e.contains("policy"),
        "{e}"
    );
    std::fs::write(&manifest, "{}").unwrap();
    assert!(err_text(compare(&policy, &tok, ('C', 'N'), &out, true)).contains("incomplete"));
    std::fs::remove_file(&manifest).unwrap();
    let e = err_text(compare(&policy, &tok, ('C', 'N'), &out, true));
    assert!(e.contains("holds kept runs but no manifest.json"), "{e}");
    // Starting afresh (not resuming) is always possible and writes a new manifest.
    compare(&policy, &tok, ('C', 'O'), &out, false).unwrap();
    compare(&policy, &tok, ('C', 'O'), &out, true).unwrap();
}

#[test]
fn a_second_writer_fails_at_once_naming_the_first() {
    let tok = tokenizer();
    let policy = reference(&tok, 3);
    let out = scratch("lock");
    // Another process's lock, as it leaves it: the file locked, its PID inside.
    let mut held = std::fs::File::create(out.join(LOCK_FILE)).unwrap();
    held.try_lock().unwrap();
    write!(held, "4242").unwrap();
    let e = compare(&policy, &tok, ('C', 'N'), &out, false).unwrap_err();
    assert!(
        matches!(
            e,
            ExperimentError::Locked {
                pid: Some(4242),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("in use by process 4242"), "{e}");
    assert!(!out.join("runs/pretrained.json").exists());
    // Once released, the directory is usable; a stale PID in the file does not block.
    drop(held);
    compare(&policy, &tok, ('C', 'N'), &out, false).unwrap();
}

#[test]
fn checkpoint_paths_are_checked_before_any_work_and_users_files_left_alone() {
    let tok = tokenizer();
    let policy = reference(&tok, 3);
    let root = scratch("ckpt-paths");
    // The comparison's checkpoint folder is a user's file.
    let file = root.join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let task = Task::new(policy.clone(), &tok, counts('C', 'N'), counts('C', 'N'));
    let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
    let config = ComparisonConfig::new(budget, 8).with_strategies(vec![StrategyKind::Morlhf]);
    let out = root.join("out");
    let e = Comparison::new(task, config)
        .unwrap()
        .with_checkpoint_dir(Some(file.clone()))
        .run(&out)
        .unwrap_err();
    assert!(
        matches!(e, ExperimentError::CheckpointsUnwritable { .. }),
        "{e}"
    );
    assert!(!out.join("runs/pretrained.json").exists(), "work was done");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // A user's file where a run's checkpoint goes (`<checkpoint-dir>/morlhf-seed0`): refused
    // before any work, left as it is, nothing hidden beside it.
    let dir = root.join("ckpts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("morlhf-seed0"), "mine").unwrap();
    let task = Task::new(policy.clone(), &tok, counts('C', 'N'), counts('C', 'N'));
    let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
    let config = ComparisonConfig::new(budget, 8).with_strategies(vec![StrategyKind::Morlhf]);
    let e = Comparison::new(task, config)
        .unwrap()
        .with_checkpoint_dir(Some(dir.clone()))
        .run(&out)
        .unwrap_err();
    assert!(
        e.to_string().contains("morlhf-seed0") && e.to_string().contains("did not write"),
        "{e}"
    );
    assert!(!out.join("runs/pretrained.json").exists(), "work was done");
    assert_eq!(
        std::fs::read_to_string(dir.join("morlhf-seed0")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "something was written beside it"
    );
    // The library's checkpoint folder is a user's file, or a user's folder: refused before
    // the first step, left as it was, nothing hidden beside it.
    let folder = root.join("mine");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("data.csv"), "1,2").unwrap();
    for (path, what) in [(&file, "a file"), (&folder, "a folder")] {
        let mut set = counts('C', 'N');
        let mut learner = crate::common::learner(&policy, &tok, &mut set, 1e-3);
        let options = RunOptions {
            checkpoint_dir: Some(path.to_path_buf()),
            ..Default::default()
        };
        let e =
            err_text(Strategy::Morlhf { steps: 2 }.run_with(&policy, &mut learner, 0, &options));
        assert!(
            e.contains(&format!("holds {what} that this library did not write")),
            "{e}"
        );
        assert_eq!(learner_steps(&root), 0);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(
        std::fs::read_to_string(folder.join("data.csv")).unwrap(),
        "1,2"
    );
    let hidden: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "hidden copies: {hidden:?}");
    // The atomic writer refuses the same, whoever calls it.
    let e = multireward::checkpoint::write_dir_atomically(&folder, |_| Ok(())).unwrap_err();
    assert!(matches!(e, CheckpointError::NotOurs { .. }), "{e}");
}

/// Checkpoint folders written under `root` (there should be none after a refusal).
fn learner_steps(root: &Path) -> usize {
    std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join(multireward::strategy::STATE_FILE).exists())
        .count()
}

#[test]
fn a_run_that_fails_before_its_first_checkpoint_names_none() {
    let tok = tokenizer();
    let policy = reference(&tok, 3);
    struct Broken;
    impl multireward::reward::Reward for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn score(&self, _: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
            Err(RewardError::Failed {
                reward: "broken".into(),
                message: "the oracle is down".into(),
            })
        }
    }
    let training = RewardSet::builder()
        .add(Broken, 1.0)
        .add(
            FnReward::new("n", |s: &Sample| {
                Some(s.completion.matches('N').count() as f64)
            }),
            1.0,
        )
        .build()
        .unwrap();
    let task = Task::new(policy.clone(), &tok, training, counts('C', 'N'));
    let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
    let config = ComparisonConfig::new(budget, 8).with_strategies(vec![StrategyKind::Morlhf]);
    let out = scratch("no-ckpt");
    let e = Comparison::new(task, config)
        .unwrap()
        .run(&out)
        .unwrap_err();
    let ExperimentError::Run { checkpoint, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(checkpoint, &None, "{e}");
    assert!(e.to_string().contains("wrote no checkpoint yet"), "{e}");
}

#[test]
fn extra_tokens_do_not_depend_on_the_device_generator() {
    let tok = tokenizer();
    let policy = reference(&tok, 3);
    let device = policy.device();
    device.seed(1);
    let a = policy.with_extra_tokens(4, 7).unwrap();
    device.seed(2);
    let _ = burn::tensor::Tensor::<1>::random([8], burn::tensor::Distribution::Default, &device);
    let b = policy.with_extra_tokens(4, 7).unwrap();
    assert_eq!(params(&a), params(&b));
    let c = policy.with_extra_tokens(4, 8).unwrap();
    assert_ne!(params(&a), params(&c));
}
