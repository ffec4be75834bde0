//! Fuzzing the settings and the results directories (ignored; run with
//! `cargo test --release --test robustness -- --ignored`): 100,000 comparison configurations
//! with fields set to random JSON values, and 100,000 damaged results directories resumed.
//! Every case ends in `Ok` or a typed error, never a panic.

use super::scratch;
use crate::common::tiny_gpt;
use multireward::device::default_device;
use multireward::experiment::{Budget, Comparison, ComparisonConfig, StrategyKind, Task};
use multireward::policy::Gpt;
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::Tokenizer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

fn rewards() -> RewardSet {
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    RewardSet::builder()
        .add(FnReward::new("c", count('C')), 1.0)
        .add(FnReward::new("n", count('N')), 1.0)
        .build()
        .unwrap()
}

/// A random JSON value: numbers at the edges (0, negative, huge, fractional), booleans,
/// strings, null, arrays and objects.
fn random_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..12) {
        0 => json!(0),
        1 => json!(-rng.random_range(1..1_000_000i64)),
        2 => json!(rng.random::<u64>()),
        3 => json!(rng.random_range(0..64u64)),
        4 => json!(rng.random::<f64>() * 10f64.powi(rng.random_range(-300..300))),
        5 => json!(-rng.random::<f64>()),
        6 => json!(rng.random::<bool>()),
        7 => json!("iterativers"),
        8 => Value::Null,
        9 => json!([rng.random_range(0..9), "x"]),
        10 => json!({"k": rng.random_range(0..3)}),
        _ => json!(u64::MAX),
    }
}

/// Every path to a leaf of `v` (objects' fields, arrays' items).
fn leaves(v: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = path.clone();
                p.push(k.clone());
                leaves(x, p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                leaves(x, p, out);
            }
        }
        _ => out.push(path),
    }
}

/// Whether `a` and `b` record the same values (numbers compared as numbers: `0` and `0.0`
/// are one value to the typed manifest).
fn same_values(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(u, v)| same_values(u, v))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, u)| y.get(k).is_some_and(|v| same_values(u, v)))
        }
        _ => a == b,
    }
}

fn set_at(v: &mut Value, path: &[String], new: Value) {
    let mut at = v;
    for key in path {
        at = match at {
            Value::Object(m) => m.entry(key.clone()).or_insert(Value::Null),
            Value::Array(a) => match key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(x) => x,
                None => return,
            },
            _ => return,
        };
    }
    *at = new;
}

/// 100,000 comparison configurations, one to three fields set to random JSON values: each
/// deserialises and is checked by `Comparison::new`, or is refused by serde; never a panic.
#[test]
#[ignore = "100,000 configurations: about a minute in release"]
fn fuzzed_configs_never_panic() {
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let device = default_device();
    device.seed(3);
    let reference: Gpt = tiny_gpt(tok.vocab_size(), 32).init(&device);
    let budget = Budget::new(4, 8).with_merge_every(1).with_max_new_tokens(8);
    let base = serde_json::to_value(ComparisonConfig::new(budget, 8)).unwrap();
    let mut paths = Vec::new();
    leaves(&base, Vec::new(), &mut paths);
    let mut rng = StdRng::seed_from_u64(31);
    let (mut accepted, mut refused, mut unparsed) = (0usize, 0usize, 0usize);
    for case in 0..100_000 {
        let mut v = base.clone();
        for _ in 0..rng.random_range(1..4) {
            let path = &paths[rng.random_range(0..paths.len())];
            let new = random_value(&mut rng);
            set_at(&mut v, path, new);
        }
        let Ok(config) = serde_json::from_value::<ComparisonConfig>(v) else {
            unparsed += 1;
            continue;
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            let task = Task::new(reference.clone(), &tok, rewards(), rewards());
            Comparison::new(task, config).is_ok()
        }));
        match result {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("Comparison::new panicked on case {case}"),
        }
    }
    eprintln!(
        "100000 fuzzed configurations: {unparsed} refused by serde, {refused} refused by the \
         checks, {accepted} accepted, 0 panics"
    );
}

/// One byte of `bytes` changed, a range cut out, or the tail cut off.
fn damage(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    if bytes.is_empty() {
        return;
    }
    let i = rng.random_range(0..bytes.len());
    match rng.random_range(0..3) {
        0 => bytes[i] = rng.random(),
        1 => {
            let j = rng
                .random_range(i..bytes.len().min(i + 16) + 1)
                .min(bytes.len());
            bytes.drain(i..j);
        }
        _ => bytes.truncate(i),
    }
}

/// A finished one-seed MORLHF comparison into `out`, resumed (or not) with `resume`.
fn compare(reference: &Gpt, tok: &SmilesTokenizer, out: &Path, resume: bool) -> bool {
    let task = Task::new(reference.clone(), tok, rewards(), rewards());
    let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
    let config = ComparisonConfig::new(budget, 8).with_strategies(vec![StrategyKind::Morlhf]);
    Comparison::new(task, config)
        .unwrap()
        .with_resume(resume)
        .run(out)
        .is_ok()
}

/// 100,000 damaged results directories: the manifest or a kept run record of a finished
/// comparison damaged (a byte changed, a range cut, the tail cut) or a JSON field of the
/// manifest set to a random value, then resumed: a typed error, or (a manifest change that
/// keeps what it records) a resumed report; never a panic, and never an edited run record
/// resumed.
#[test]
#[ignore = "100,000 resumes: a few minutes in release"]
fn fuzzed_run_directories_never_panic() {
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let device = default_device().autodiff();
    device.seed(3);
    let reference: Gpt = tiny_gpt(tok.vocab_size(), 32).init(&device);
    let good = scratch("fuzz-rundir-good");
    assert!(compare(&reference, &tok, &good, false));
    let files = [
        "manifest.json",
        "runs/pretrained.json",
        "runs/morlhf-seed0.json",
    ];
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(good.join(f)).unwrap())
        .collect();
    let manifest: Value = serde_json::from_slice(&originals[0]).unwrap();
    let mut paths = Vec::new();
    leaves(&manifest, Vec::new(), &mut paths);
    let out = scratch("fuzz-rundir");
    copy_dir(&good, &out);
    let mut rng = StdRng::seed_from_u64(32);
    let (mut resumed, mut refused, mut unchanged) = (0usize, 0usize, 0usize);
    for case in 0..100_000 {
        let k = rng.random_range(0..files.len());
        let mut bytes = originals[k].clone();
        if k == 0 && rng.random_bool(0.5) {
            let mut v = manifest.clone();
            let path = &paths[rng.random_range(0..paths.len())];
            set_at(&mut v, path, random_value(&mut rng));
            bytes = serde_json::to_vec(&v).unwrap();
        } else {
            damage(&mut bytes, &mut rng);
        }
        if bytes == originals[k] {
            unchanged += 1;
            continue;
        }
        std::fs::write(out.join(files[k]), &bytes).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| compare(&reference, &tok, &out, true)));
        match result {
            // A kept run record is trusted only with the bytes it was written with.
            Ok(true) if k > 0 => panic!("case {case}: an edited {} was resumed", files[k]),
            // A manifest is trusted only when it still records the same values.
            Ok(true) => {
                let now = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
                assert!(
                    same_values(&now, &manifest),
                    "case {case}: a manifest recording other values was resumed"
                );
                resumed += 1
            }
            Ok(false) => refused += 1,
            Err(_) => panic!("resuming panicked on case {case} ({} damaged)", files[k]),
        }
        // Back to the finished directory for the next case.
        for (f, original) in files.iter().zip(&originals) {
            std::fs::write(out.join(f), original).unwrap();
        }
    }
    eprintln!(
        "100000 damaged results directories: {unchanged} left the bytes unchanged, {refused} \
         refused with a typed error, {resumed} resumed (a manifest whose bytes changed but \
         whose values did not, e.g. 0.0 written 0), 0 panics; every edited run record refused"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
