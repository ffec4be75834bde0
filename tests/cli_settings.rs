//! The command line refuses, before anything is trained and naming the flag, the settings the
//! library refuses: sizes past memory or any run's length, RiC rounds that leave a round no
//! sample, a strategy listed twice, a merge period beyond the run (m ≥ T is Rewarded Soups)
//! and a sweep listing a period twice. (The molecules example is built by `cargo test`, or by
//! `cargo build --release --example molecules`.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The molecules example built next to this test.
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

#[test]
fn sizes_duplicates_and_merge_periods_are_refused_naming_the_flag() {
    let out_dir = std::env::temp_dir().join(format!("mr-cli-sizes-{}", std::process::id()));
    let huge = "1000000000000000000";
    let max = "18446744073709551615";
    // `--quick` trains 3 objectives for 6 iterations (T = 2 steps per expert).
    let cases: [(&[&str], &str); 12] = [
        (&["--samples", huge], "--samples is too large"),
        (&["--eval-samples", huge], "--eval-samples is too large"),
        (&["--max-new-tokens", max], "--max-new-tokens is too large"),
        (&["--ric-bins", huge], "--ric-bins is 1000000000000000000"),
        (
            &["--ric-rounds", max],
            "--ric-rounds is 18446744073709551615",
        ),
        (&["--seeds", huge], "--seeds is 1000000000000000000"),
        (
            &["--iterations", huge],
            "--iterations is 1000000000000000000",
        ),
        (
            &["--ppo-epochs", huge],
            "--ppo-epochs is 1000000000000000000",
        ),
        (
            &["--strategies", "morlhf,morlhf"],
            "--strategies lists morlhf twice",
        ),
        (&["--merge-every", "4"], "--merge-every is 4, more than"),
        (&["--sweep-m", "1,4"], "--sweep-m has m = 4"),
        (
            &["--iterations", "24", "--sweep-m", "8,1,8"],
            "--sweep-m lists m = 8 twice",
        ),
    ];
    for (args, expected) in cases {
        let started = Instant::now();
        let out = Command::new(molecules())
            .arg("--quick")
            .args(args)
            .arg("--out")
            .arg(&out_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "{args:?}: {stderr}"
        );
        if args.contains(&"--merge-every") {
            assert!(stderr.contains("m ≥ T is Rewarded Soups"), "{stderr}");
        }
        // Refused before any training: no run was written.
        assert!(!out_dir.join("runs/pretrained.json").exists(), "{args:?}");
        assert!(started.elapsed() < Duration::from_secs(60), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
