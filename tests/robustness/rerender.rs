//! Results directories (docs/reliability.md §9) rendered again (`experiment::rerender`): a
//! folder that is not a results directory, a missing or foreign `results.json`, a report
//! without results or with disagreeing objectives, a missing `results.md` — each is
//! `EvalError::NotAReport` naming the file and saying what to pass instead, and nothing is
//! written.

use super::scratch;
use multireward::eval::EvalError;
use multireward::experiment::{HTML_FILE, SUMMARY_FILE, rerender};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of the shipped molecules results (`results.json`, `results.md`) in a scratch folder.
fn results(name: &str) -> PathBuf {
    let dir = scratch(name);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results/molecules");
    for file in ["results.json", "results.md"] {
        std::fs::copy(shipped.join(file), dir.join(file)).unwrap();
    }
    dir
}

/// `rerender(dir)` fails with `NotAReport` at `file`, its message containing `problem` and
/// the advice; nothing is rendered.
fn refused(dir: &Path, file: &Path, problem: &str) {
    let err = rerender(dir).unwrap_err();
    let text = err.to_string();
    match &err {
        EvalError::NotAReport { path, .. } => assert_eq!(path, file, "{text}"),
        other => panic!("expected NotAReport, got {other:?}"),
    }
    assert!(text.contains(problem), "{text}");
    assert!(
        text.contains("pass a results directory that a comparison wrote"),
        "{text}"
    );
    assert!(!dir.join(SUMMARY_FILE).exists() && !dir.join(HTML_FILE).exists());
}

#[test]
fn a_folder_that_is_not_a_results_directory_is_refused_naming_the_file() {
    let dir = scratch("rerender-empty");
    refused(&dir, &dir.join("results.json"), "is missing");
    let missing = dir.join("no-such-folder");
    refused(&missing, &missing, "does not exist");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    refused(&file, &file, "is not a folder");
}

#[test]
fn a_results_json_of_another_format_is_refused() {
    let dir = results("rerender-foreign");
    let json = dir.join("results.json");
    for (bytes, problem) in [
        (
            &b"{\"inputs\": {}, \"files\": {}}"[..],
            "missing field `config`",
        ),
        (b"[1, 2, 3]", "is not a results.json of a report"),
        (b"\x89PNG\r\n", "is not a results.json of a report"),
        (b"", "EOF while parsing"),
    ] {
        std::fs::write(&json, bytes).unwrap();
        refused(&dir, &json, problem);
    }
}

#[test]
fn a_report_without_results_or_with_other_objectives_is_refused() {
    let dir = results("rerender-results");
    let json = dir.join("results.json");
    let original: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut empty = original.clone();
    empty["results"] = Value::Array(Vec::new());
    std::fs::write(&json, serde_json::to_vec(&empty).unwrap()).unwrap();
    refused(&dir, &json, "records no results");
    let mut other = original.clone();
    other["results"][2]["objectives"][0] = "beta".into();
    std::fs::write(&json, serde_json::to_vec(&other).unwrap()).unwrap();
    refused(&dir, &json, "its results disagree on the objectives");
    let mut short = original;
    short["results"][1]["per_objective"]
        .as_array_mut()
        .unwrap()
        .pop();
    std::fs::write(&json, serde_json::to_vec(&short).unwrap()).unwrap();
    refused(&dir, &json, "disagree on the objectives");
}

#[test]
fn a_missing_results_md_is_refused_and_the_intact_directory_renders() {
    let dir = results("rerender-markdown");
    let md = dir.join("results.md");
    let text = std::fs::read(&md).unwrap();
    std::fs::remove_file(&md).unwrap();
    refused(&dir, &md, "is missing");
    std::fs::write(&md, text).unwrap();
    let files = rerender(&dir).unwrap();
    assert!(files.summary.is_file() && files.html.is_file());
}
