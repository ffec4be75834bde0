//! The main job survives SIGKILL: a `--quick` molecules run killed by its PID in the middle of
//! a strategy (after some runs finished and a checkpoint of the current one is on disk), then
//! continued with `--resume`, writes a `results.json` byte-identical to an uninterrupted run's.
//! Also: bad settings are refused with a sentence naming the flag before anything is trained.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The molecules example built next to this test (`cargo test` builds the examples).
fn molecules() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = dir.join("examples").join("molecules");
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

/// The flags of both runs: the quick preset, small evaluations, a checkpoint every iteration.
const FLAGS: [&str; 6] = [
    "--quick",
    "--eval-samples",
    "64",
    "--checkpoint-every",
    "1",
    "--strategies=iterativers,morlhf,soups,ric",
];

fn run(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(molecules())
        .args(FLAGS)
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the molecules example")
}

#[test]
fn killed_and_resumed_run_writes_the_same_results() {
    let root = std::env::temp_dir().join(format!("mr-cli-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (through, killed) = (root.join("through"), root.join("killed"));

    let out = run(&through, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(through.join("results.json")).unwrap();

    // Kill once IterativeRS is finished and MORLHF has a checkpoint.
    let mut child = Command::new(molecules())
        .args(FLAGS)
        .arg("--out")
        .arg(&killed)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = killed.join("checkpoints/morlhf-seed0/state.json");
    let started = Instant::now();
    while !checkpoint.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL by PID.
    let killed_by = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed_by.success());
    let _ = child.wait();
    assert!(killed.join("runs/iterativers-seed0.json").exists());
    assert!(!killed.join("runs/morlhf-seed0.json").exists());
    // The finished run's results were written as they arrived.
    let partial: serde_json::Value =
        serde_json::from_slice(&std::fs::read(killed.join("results.json")).unwrap()).unwrap();
    let strategies: Vec<&str> = partial["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(strategies, ["Pretrained", "IterativeRS"]);

    let out = run(&killed, &["--resume"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = std::fs::read(killed.join("results.json")).unwrap();
    assert!(
        resumed == expected,
        "results.json differs after kill + resume:\n{}",
        String::from_utf8_lossy(&resumed)
    );
    // Finished runs leave no checkpoints behind.
    assert!(!killed.join("checkpoints/morlhf-seed0").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn bad_settings_are_sentences_naming_the_flag_before_training() {
    let out_dir = std::env::temp_dir().join(format!("mr-cli-bad-{}", std::process::id()));
    let cases: [(&[&str], &str); 9] = [
        (&["--seeds", "0"], "--seeds is 0"),
        (&["--iterations", "0"], "--iterations is 0"),
        (&["--ric-bins", "1"], "--ric-bins is 1"),
        (&["--eval-samples", "0"], "--eval-samples is 0"),
        (&["--kl-coef", "-5"], "--kl-coef is -5"),
        (&["--lr", "NaN"], "--lr is NaN"),
        (&["--samples", "12"], "--samples is 12"),
        (
            &["--strategies", "iterativers,soup"],
            "--strategies \"soup\"",
        ),
        (
            &["--out", "/proc/forbidden"],
            "--out /proc/forbidden cannot be written",
        ),
    ];
    for (args, expected) in cases {
        let started = Instant::now();
        let mut command = Command::new(molecules());
        command.arg("--quick").args(args);
        if args[0] != "--out" {
            command.arg("--out").arg(&out_dir);
        }
        let out = command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "{args:?}: {stderr}"
        );
        // Refused before any training: no run was written.
        assert!(!out_dir.join("runs/pretrained.json").exists(), "{args:?}");
        // Refused at once, not after loading and training.
        assert!(started.elapsed() < Duration::from_secs(60), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
