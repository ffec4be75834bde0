//! `ExternalReward`: batches through one persistent process, the QED example scorer against
//! RDKit's values, every fault as its typed error naming the command and the batch, and the
//! restart that lets a run resume once the scorer is fixed. The scorers are Python 3 scripts
//! in `tests/fixtures/scorers/` and `examples/scorers/`. The QED case needs RDKit for `python3`
//! (or `/usr/bin/python3`): it is skipped with a message without it, and fails instead when
//! `MULTIREWARD_REQUIRE_RDKIT` is set.

use multireward::reward::{ExternalReward, Reward, RewardError, RewardSet, Sample};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A path in the repository.
fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// The fault-injecting scorer in `mode`, with a short timeout.
fn faulty(mode: &str, arg: Option<&str>) -> ExternalReward {
    let mut command = vec![
        "python3".to_owned(),
        repo("tests/fixtures/scorers/faulty.py"),
    ];
    command.push(mode.to_owned());
    command.extend(arg.map(str::to_owned));
    ExternalReward::new("faulty", command).with_timeout(Duration::from_secs(10))
}

fn length() -> ExternalReward {
    ExternalReward::new(
        "length",
        [
            "python3".to_owned(),
            repo("tests/fixtures/scorers/length.py"),
        ],
    )
}

fn samples<'a>(completions: &'a [&'a str]) -> Vec<Sample<'a>> {
    Sample::unprompted(completions)
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-external-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn batches_go_through_one_process_in_order() {
    let r = length();
    assert_eq!(
        r.process_id(),
        None,
        "nothing starts before the first batch"
    );
    let first = r.score(&samples(&["CCO", "", "c1ccccc1"])).unwrap();
    assert_eq!(first, [Some(3.0), None, Some(8.0)]);
    let pid = r.process_id().expect("running after the first batch");
    let prompted = [Sample {
        prompt: "a prompt\nwith a newline",
        completion: "é\"\n",
    }];
    assert_eq!(r.score(&prompted).unwrap(), [Some(3.0)]);
    assert_eq!(r.score(&[]).unwrap(), Vec::<Option<f64>>::new());
    assert_eq!(
        r.process_id(),
        Some(pid),
        "the same process scores every batch"
    );

    // The bare-list answer form, and a per-process counter: 1, 2, 3 in one process.
    let c = faulty("counter", None);
    for k in 1..=3 {
        assert_eq!(c.score(&samples(&["a", "b"])).unwrap(), [Some(k as f64); 2]);
    }
}

#[test]
fn dropping_the_reward_ends_its_process() {
    let r = faulty("counter", None);
    r.start().unwrap();
    let pid = r.process_id().unwrap();
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if cfg!(target_os = "linux") {
        assert!(proc.exists());
    }
    let t = Instant::now();
    drop(r);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    if cfg!(target_os = "linux") {
        assert!(!proc.exists(), "process {pid} still exists after the drop");
    }
    // A scorer that never reads is killed after the grace period.
    let h = faulty("hang", None);
    h.start().unwrap();
    let t = Instant::now();
    drop(h);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// The QED example scorer's values equal RDKit's (computed with RDKit 2026.09.1 from PyPI and
/// 2022.09.3 from Debian bookworm: the same to the last digit).
#[test]
fn qed_example_scorer_matches_rdkit() {
    let has_rdkit = |py: &str| {
        Command::new(py)
            .args(["-c", "import rdkit"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let Some(python) = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|py| has_rdkit(py))
    else {
        let msg = "RDKit is not installed for python3 (pip install rdkit, or apt-get install \
                   python3-rdkit)";
        if std::env::var_os("MULTIREWARD_REQUIRE_RDKIT").is_some() {
            panic!("{msg} (MULTIREWARD_REQUIRE_RDKIT is set)");
        }
        eprintln!("skipping qed_example_scorer_matches_rdkit: {msg}");
        return;
    };
    let r = ExternalReward::new("qed", [python, "examples/scorers/qed.py"])
        .with_working_dir(env!("CARGO_MANIFEST_DIR"));
    let smiles = [
        "CCO",
        "c1ccccc1",
        "CC(=O)Oc1ccccc1C(=O)O",
        "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
        "C1CC",
        "",
        "not a molecule",
    ];
    let want = [
        Some(0.40680796565539457),
        Some(0.4426283718993647),
        Some(0.5501217966938848),
        Some(0.5384628262372215),
        None,
        None,
        None,
    ];
    let got = r.score(&samples(&smiles)).unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        match (g, w) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{}: {g} vs {w}", smiles[i]),
            _ => assert_eq!(g, w, "{}", smiles[i]),
        }
    }
    let second = r
        .score(&samples(&["O=C(NCCCn1ccnc1)c1cccc2cccnc12"]))
        .unwrap();
    assert!((second[0].unwrap() - 0.7291816940925039).abs() < 1e-12);
}

/// The error's command text and batch, for every `External*` variant but `ExternalStart`.
fn command_and_batch(e: &RewardError) -> (&str, u64) {
    match e {
        RewardError::ExternalExited { command, batch, .. }
        | RewardError::ExternalTimeout { command, batch, .. }
        | RewardError::ExternalGarbage { command, batch, .. }
        | RewardError::ExternalWrongCount { command, batch, .. } => (command, *batch),
        other => panic!("not an external fault: {other}"),
    }
}

/// Scores one batch with `r` (running `mode`) and returns its error, checking that it names
/// the command, the mode and the batch `batch`.
fn fault(r: &ExternalReward, mode: &str, batch: u64, completions: &[&str]) -> RewardError {
    let err = r.score(&samples(completions)).unwrap_err();
    let (command, b) = command_and_batch(&err);
    assert!(
        command.contains("faulty.py") && command.contains(mode),
        "{err}"
    );
    assert_eq!(b, batch, "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("batch {batch}")), "{text}");
    assert!(text.contains("faulty.py"), "{text}");
    err
}

#[test]
fn a_crash_is_exited_with_its_status_and_stderr() {
    let r = faulty("crash", None);
    let err = fault(&r, "crash", 0, &["CCO"]);
    let RewardError::ExternalExited { status, stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status.and_then(|s| s.code()), Some(3), "{err}");
    assert!(stderr.contains("crashing on purpose at batch 0"), "{err}");
    assert!(err.to_string().contains("resume"), "{err}");
    assert_eq!(r.process_id(), None, "the crashed process is forgotten");
    // The next batch starts the command afresh (and it crashes again: batch 1).
    fault(&r, "crash", 1, &["CCO"]);
}

#[test]
fn a_scorer_that_exits_between_batches_is_exited_at_the_next() {
    let r = faulty("exit-after", Some("2"));
    r.score(&samples(&["a"])).unwrap();
    r.score(&samples(&["a"])).unwrap();
    let err = fault(&r, "exit-after", 2, &["a"]);
    assert!(matches!(err, RewardError::ExternalExited { .. }), "{err:?}");
}

#[test]
fn a_hang_times_out_and_kills_the_scorer_even_on_a_huge_batch() {
    let r = faulty("hang", None).with_timeout(Duration::from_secs(2));
    // 4 MB: far more than a pipe holds, so writing blocks on a scorer that never reads.
    let big = "C".repeat(4 << 20);
    let t = Instant::now();
    let err = fault(&r, "hang", 0, &[&big]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let RewardError::ExternalTimeout {
        seconds, stderr, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*seconds, 2.0);
    assert!(stderr.contains("hanging on purpose"), "{err}");
    assert!(err.to_string().contains("with_timeout"), "{err}");
    assert_eq!(r.process_id(), None);
}

#[test]
fn a_scorer_that_stops_reading_is_exited() {
    // Broken pipe: the request (larger than a pipe holds) cannot be written.
    let r = faulty("stop-reading", None);
    let big = "C".repeat(1 << 20);
    let err = fault(&r, "stop-reading", 0, &[&big]);
    let RewardError::ExternalExited { stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(stderr.contains("stopped reading stdin"), "{err}");
}

#[test]
fn a_scorer_that_closes_stdout_is_exited_and_killed() {
    let r = faulty("close-stdout", None);
    let t = Instant::now();
    let err = fault(&r, "close-stdout", 0, &["a"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let RewardError::ExternalExited { status, stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status.and_then(|s| s.code()), None, "killed: {err}");
    assert!(stderr.contains("closing stdout"), "{err}");
}

#[test]
fn bad_answers_are_garbage_or_the_wrong_count() {
    let reason = |mode: &str| {
        let r = faulty(mode, None);
        let err = fault(&r, mode, 0, &["a", "b"]);
        assert_eq!(r.process_id(), None, "{mode}: the scorer is stopped");
        match err {
            RewardError::ExternalGarbage { line, reason, .. } => format!("{line} | {reason}"),
            other => panic!("{mode}: {other:?}"),
        }
    };
    assert!(reason("garbage").contains("this is not JSON | it is not JSON"));
    assert!(reason("nan").contains("allow_nan=False"));
    assert!(reason("string").contains("score 0 is a string \"NaN\""));
    assert!(reason("wrong-batch").contains("batch 1, not 0"));

    let r = faulty("wrong-count", None);
    let err = fault(&r, "wrong-count", 0, &["a", "b", "c"]);
    assert!(
        matches!(
            err,
            RewardError::ExternalWrongCount {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err:?}"
    );

    // Two answers to one batch: the second is refused at the next batch.
    let r = faulty("twice", None);
    r.score(&samples(&["a"])).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let err = fault(&r, "twice", 1, &["a"]);
    assert!(err.to_string().contains("before batch 1 was sent"), "{err}");
}

#[test]
fn a_missing_program_is_a_start_error() {
    for command in [vec!["multireward-no-such-scorer", "x"], vec![]] {
        let r = ExternalReward::new("missing", command.clone());
        let err = r.score(&samples(&["a"])).unwrap_err();
        let RewardError::ExternalStart { command: c, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(c, &command.join(" "));
        assert!(err.to_string().contains("PATH"), "{err}");
        assert!(matches!(r.start(), Err(RewardError::ExternalStart { .. })));
    }
    // A missing script: python3 starts, then exits with its complaint on stderr.
    let r = ExternalReward::new("missing", ["python3", "/no/such/scorer.py"]);
    let err = r.score(&samples(&["a"])).unwrap_err();
    let RewardError::ExternalExited { stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(stderr.contains("/no/such/scorer.py"), "{err}");
}

#[test]
fn a_fixed_scorer_is_restarted_at_the_next_batch() {
    let marker = scratch("crash-once").join("crashed");
    let r = faulty("crash-once", Some(marker.to_str().unwrap()));
    let err = fault(&r, "crash-once", 0, &["a"]);
    assert!(matches!(err, RewardError::ExternalExited { .. }), "{err:?}");
    // The scorer is "fixed" (the marker exists): the next batch starts it and scores.
    assert_eq!(r.score(&samples(&["a", "b"])).unwrap(), [Some(1.0); 2]);
    let pid = r.process_id().unwrap();
    assert_eq!(r.score(&samples(&["a"])).unwrap(), [Some(2.0)]);
    assert_eq!(r.process_id(), Some(pid));
}

#[test]
fn a_reward_set_scores_through_the_process_and_passes_faults_on_typed() {
    let set = RewardSet::builder()
        .add(length(), 1.0)
        .add(faulty("counter", None), 0.5)
        .build()
        .unwrap();
    let batch = set.score(&samples(&["CC", "CCCC"])).unwrap();
    assert_eq!(batch.total(), [2.5, 4.5]);

    let set = RewardSet::builder()
        .add(length(), 1.0)
        .add(faulty("garbage", None), 1.0)
        .build()
        .unwrap();
    let err = set.score(&samples(&["CC"])).unwrap_err();
    assert!(
        matches!(&err, RewardError::ExternalGarbage { reward, batch: 0, .. } if reward == "faulty"),
        "{err:?}"
    );
}
