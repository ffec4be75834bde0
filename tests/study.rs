//! The `multireward` binary on study files: every committed study validates (and its
//! `--quick` variant runs, in CI's smoke runs); bad study files are refused before any
//! training with a sentence naming the file, line and field; an external scorer that fails
//! mid-run stops the study at its last checkpoint, and `resume` finishes it once the scorer
//! is fixed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn multireward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_multireward"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the multireward binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("multireward-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A study file in `dir` with `body` after `out = …` (results under `dir/out`).
fn study(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("study.toml");
    let text = format!("out = {:?}\n{body}", dir.join("out").display().to_string());
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn committed_studies_validate() {
    let text_data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/minilm/model.safetensors");
    for name in ["molecules", "dna", "text", "qed-external"] {
        if name == "text" && !text_data.exists() {
            eprintln!("skipping studies/text.toml: no data/minilm (scripts/fetch-minilm.sh)");
            continue;
        }
        for quick in [false, true] {
            let file = format!("studies/{name}.toml");
            let mut args = vec!["validate", file.as_str()];
            if quick {
                args.push("--quick");
            }
            let o = multireward(&args);
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(out.contains("valid."), "{args:?}: {out}");
        }
    }
}

/// `(case, study body, the sentence's start after "error: <file>:")`.
const BAD: [(&str, &str, &str); 15] = [
    (
        "unknown field",
        "[task]\nname = \"molecules\"\npolcy = \"x\"\n[[rewards]]\nname = \"qed\"\n",
        "4: task.polcy: unknown field `polcy`",
    ),
    (
        "unknown setting",
        "[task]\nname = \"molecules\"\n[run]\nsedes = 3\n[[rewards]]\nname = \"qed\"\n",
        "5: run.sedes: is not a setting",
    ),
    (
        "wrong type",
        "[task]\nname = \"molecules\"\n[run]\nseeds = \"three\"\n[[rewards]]\nname = \"qed\"\n",
        "5: run.seeds: invalid value 'three'",
    ),
    (
        "wrong type of a field",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"qed\"\nweight = \"half\"\n",
        "6: rewards[0].weight: invalid type",
    ),
    (
        "missing rewards",
        "[task]\nname = \"molecules\"\n",
        "1: rewards: missing field `rewards`",
    ),
    (
        "unknown reward",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"qedd\"\n",
        "5: rewards[0].name: ",
    ),
    (
        "weight NaN",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"qed\"\nweight = nan\n",
        "6: rewards[0].weight: is NaN",
    ),
    (
        "weights given for some",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"qed\"\nweight = 1.0\n[[rewards]]\nname = \"sa\"\n",
        "7: rewards[1]: has no weight",
    ),
    (
        "missing command",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"x\"\nexternal = { command = [\"no-such-scorer-3141\"] }\n",
        "6: rewards[0].external.command: \"no-such-scorer-3141\" is neither a file nor a program on PATH",
    ),
    (
        "missing script",
        "[task]\nname = \"molecules\"\n[[rewards]]\nname = \"x\"\nexternal = { command = [\"python3\", \"no/such.py\"] }\n",
        "6: rewards[0].external.command: \"no/such.py\" does not exist",
    ),
    (
        "unknown task",
        "[task]\nname = \"proteins\"\n[[rewards]]\nname = \"x\"\n",
        "3: task",
    ),
    (
        "missing task name",
        "[task]\npolicy = \"assets/smiles-gpt\"\n[[rewards]]\nname = \"x\"\n",
        "2: task.name: missing field `name`",
    ),
    (
        "a β listed twice",
        "[task]\nname = \"molecules\"\n[run]\nsweep_kl_coef = [0.1, 0.1]\n[[rewards]]\nname = \"qed\"\n",
        "5: run.sweep_kl_coef: lists 0.1 twice",
    ),
    (
        "a weight vector of the wrong length",
        "[task]\nname = \"molecules\"\n[run]\nsweep_weights = \"1,2\"\n[[rewards]]\nname = \"qed\"\n",
        "5: run.sweep_weights: has [1.0, 2.0]; give one finite weight > 0 per objective, 1 in all (qed)",
    ),
    (
        "a setting the flags refuse",
        "[task]\nname = \"molecules\"\n[run]\niterations = 0\n[[rewards]]\nname = \"qed\"\n",
        "5: run.iterations: is 0",
    ),
];

#[test]
fn bad_study_files_are_refused_before_training() {
    for (case, body, expected) in BAD {
        let dir = tmp("bad");
        let file = study(&dir, body);
        for command in ["validate", "run"] {
            let o = multireward(&[command, file.to_str().unwrap(), "--quick"]);
            let err = stderr(&o);
            assert!(!o.status.success(), "{case}: {command} accepted");
            let prefix = format!("error: {}:{expected}", file.display());
            assert!(
                err.starts_with(&prefix),
                "{case}: {command}: expected {prefix:?}, got {err}"
            );
            assert!(!dir.join("out").exists(), "{case}: {command} wrote results");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A scorer that crashes mid-run stops the study with its command and batch named and a
/// checkpoint kept; fixed, `resume` finishes the study.
#[test]
fn a_failing_scorer_stops_the_study_and_resume_finishes_it() {
    let dir = tmp("resume");
    let flag = dir.join("crashed");
    let body = format!(
        "[task]\nname = \"prompts\"\npolicy = \"assets/smiles-gpt\"\n\
         [run]\nstrategies = [\"morlhf\"]\niterations = 4\nsamples = 8\neval_samples = 16\n\
         max_new_tokens = 12\ncheckpoint_every = 1\n\
         [[rewards]]\nname = \"length\"\n\
         external = {{ command = [\"python3\", \"tests/fixtures/scorers/faulty.py\", \"crash-at\", \"3\", {:?}], \
         oracle = [\"python3\", \"tests/fixtures/scorers/length.py\"] }}\n",
        flag.display().to_string()
    );
    let file = study(&dir, &body);
    let o = multireward(&["run", file.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "the crash went unnoticed");
    assert!(
        err.contains("faulty.py") && err.contains("batch 2"),
        "{err}"
    );
    assert!(err.contains("multireward resume"), "{err}");
    assert!(flag.exists());
    let o = multireward(&["resume", file.to_str().unwrap()]);
    assert!(o.status.success(), "resume: {}", stderr(&o));
    let out = dir.join("out");
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("MORLHF") && md.contains("length"), "{md}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.lines().count() > 4);
    for line in metrics.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("one JSON object per line");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The β sweep (`sweep_kl_coef`): the comparison once per β into `kl-<β>/`, each with its β,
/// and the fronts' report with paired differences and the matched-KL comparison.
#[test]
fn a_kl_sweep_runs_the_comparison_once_per_beta() {
    let dir = tmp("sweep");
    let body = "[task]\nname = \"prompts\"\npolicy = \"assets/smiles-gpt\"\n\
         [run]\nstrategies = [\"morlhf\", \"iterativers\"]\nseeds = 2\niterations = 2\n\
         samples = 8\neval_samples = 16\nmax_new_tokens = 12\nsweep_kl_coef = [0.0, 0.5]\n\
         [[rewards]]\nname = \"length\"\n\
         external = { command = [\"python3\", \"tests/fixtures/scorers/length.py\"] }\n";
    let file = study(&dir, body);
    let o = multireward(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("out");
    for (sub, beta) in [("kl-0", 0.0), ("kl-0.5", 0.5)] {
        let text = std::fs::read_to_string(out.join(sub).join("results.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let recorded = json["config"]["comparison"]["kl_coef"].as_f64().unwrap();
        assert!((recorded - beta).abs() < 1e-6, "{sub}: β {recorded}");
    }
    let md = std::fs::read_to_string(out.join("kl_sweep.md")).unwrap();
    for part in [
        "| 0.5 | MORLHF | 2 |",
        "MORLHF − IterativeRS",
        "At matched KL",
    ] {
        assert!(md.contains(part), "{part} not in {md}");
    }
    assert!(out.join("kl_fronts.png").exists());
    // `multireward report` on the sweep's directory rewrites the same report.
    std::fs::remove_file(out.join("kl_sweep.md")).unwrap();
    let o = multireward(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("kl_sweep.md")).unwrap(),
        md
    );
    assert!(out.join("kl-0.5").join("report.html").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The preference sweep (`sweep_weights`): the comparison once per weight vector into
/// `w-<weights>/`, each trained under its weights (scaled to the task's weight sum, 1 here), and the
/// fronts' report with each strategy's hypervolume and the pairs' differences.
#[test]
fn a_preference_sweep_runs_the_comparison_once_per_weight_vector() {
    let dir = tmp("prefs");
    let body = "[task]\nname = \"molecules\"\n\
         [run]\nstrategies = [\"morlhf\", \"soups\"]\nseeds = 2\niterations = 2\n\
         samples = 8\neval_samples = 16\nmax_new_tokens = 12\nsweep_weights = \"3,1; 1,3\"\n\
         [[rewards]]\nname = \"alpha\"\n[[rewards]]\nname = \"gap\"\n";
    let file = study(&dir, body);
    let o = multireward(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("out");
    for (sub, alpha) in [("w-3-1", 0.75), ("w-1-3", 0.25)] {
        let text = std::fs::read_to_string(out.join(sub).join("results.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let recorded = json["config"]["weights"]["alpha"].as_f64().unwrap();
        assert!(
            (recorded - alpha).abs() < 1e-12,
            "{sub}: alpha weight {recorded}"
        );
    }
    let md = std::fs::read_to_string(out.join("preference_sweep.md")).unwrap();
    for part in [
        "| 3, 1 | MORLHF | 2 |",
        "| 1, 3 | Rewarded Soups | 2 |",
        "## Hypervolume of each strategy's front",
        "| MORLHF | 2 | 2 |",
        "MORLHF − Rewarded Soups",
    ] {
        assert!(md.contains(part), "{part} not in {md}");
    }
    assert!(out.join("preference_front_alpha_gap.png").exists());
    std::fs::remove_file(out.join("preference_sweep.md")).unwrap();
    let o = multireward(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = std::fs::read_to_string(out.join("preference_sweep.md")).unwrap();
    // Re-rendered in name order (w-1-3 before w-3-1), the same rows.
    let rows = |t: &str| {
        let mut r: Vec<String> = t
            .lines()
            .filter(|l| l.starts_with("| "))
            .map(String::from)
            .collect();
        r.sort();
        r
    };
    assert_eq!(rows(&again), rows(&md));
    let _ = std::fs::remove_dir_all(&dir);
}
