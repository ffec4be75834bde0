//! Every example command line (molecules, DNA, summarisation, the custom task) shares the
//! library's protections: one case per class on each — a size past memory refused naming the
//! flag, a checkpoint folder that is a user's file refused before any work (the file intact),
//! a results directory in use by another process refused naming its PID, and a killed run
//! resumed with other settings refused naming the difference. (`cargo test` builds the
//! examples; the summarisation example needs the text data, see docs/reliability.md.)

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The example `name` built next to this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = dir.join("examples").join(name);
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

fn command(name: &str, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(example(name));
    c.arg("--quick")
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Run `name` and expect it to fail with stderr starting `error: {expected}`, before any run
/// was written.
fn refused(name: &str, out: &Path, extra: &[&str], expected: &str) -> Output {
    let output = command(name, out, extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{name} {extra:?} was accepted");
    assert!(
        stderr.starts_with(&format!("error: {expected}")),
        "{name} {extra:?}: {stderr}"
    );
    output
}

fn protections(name: &str) {
    let root = std::env::temp_dir().join(format!("mr-cli-prot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let out = root.join("out");
    // A size past what the machine holds.
    refused(
        name,
        &out,
        &["--samples", "1000000000000000000"],
        "--samples is too large",
    );
    assert!(!out.join("runs/pretrained.json").exists());
    // The checkpoint folder is a user's file.
    let file = root.join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let path = file.to_str().unwrap();
    refused(
        name,
        &out,
        &["--checkpoint-dir", path],
        &format!("--checkpoint-dir {path} cannot be written"),
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert!(!out.join("runs/pretrained.json").exists());
    // Another process writes to the results directory.
    std::fs::create_dir_all(&out).unwrap();
    let mut held = std::fs::File::create(out.join(".lock")).unwrap();
    held.try_lock().unwrap();
    write!(held, "4242").unwrap();
    refused(name, &out, &[], "--out: the results directory");
    let again = command(name, &out, &[]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("in use by process 4242"));
    drop(held);
    // A run killed once its manifest is written, resumed with another learning rate.
    let mut child = command(name, &out, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("manifest.json").exists() && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        out.join("manifest.json").exists(),
        "{name} wrote no manifest"
    );
    refused(name, &out, &["--resume", "--lr", "0.00031"], "--resume: ");
    let e = command(name, &out, &["--resume", "--lr", "0.00031"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(
        // (The summariser derives its experts' rate from `--lr`: that field may come first.)
        stderr.contains("the comparison settings differ at `config.")
            && stderr.contains("lr`: ")
            && stderr.contains(" now"),
        "{name}: {stderr}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_molecules_command_line_is_protected() {
    protections("molecules");
}

#[test]
fn the_dna_command_line_is_protected() {
    protections("dna");
}

#[test]
fn the_summarize_command_line_is_protected() {
    if std::env::var_os("MULTIREWARD_REQUIRE_DATA").is_none()
        && !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/debian_summaries.tsv.gz")
            .exists()
    {
        eprintln!("skipped: the text data is not fetched (scripts/make-text-data.py)");
        return;
    }
    protections("summarize");
}

#[test]
fn the_custom_task_command_line_is_protected() {
    protections("custom_task");
}
