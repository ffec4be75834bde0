//! all-MiniLM-L6-v2 in Burn equals the float64 numpy reference of
//! `scripts/make-minilm-fixture.py` (token ids exactly, embeddings to 1e-4 cosine, batched and
//! one at a time) and reproduces sentence-transformers' published similarities.
//!
//! Needs `data/minilm/` (`scripts/fetch-minilm.sh`): skipped with a message when it is absent,
//! failed when `MULTIREWARD_REQUIRE_DATA` is set.

mod common;

use common::minilm_dir;
use multireward::data::unescape_field;
use multireward::device::default_device;
use multireward::tasks::text::{SentenceEncoder, cosine};
use std::path::Path;
use std::time::Instant;

fn encoder() -> Option<SentenceEncoder> {
    let dir = minilm_dir()?;
    Some(SentenceEncoder::load(&dir, &default_device()).expect("load data/minilm"))
}

struct Row {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

/// Cosine in f64 (the f32 [`cosine`] rounds a near-1 value to 1).
fn cosine64(a: &[f32], b: &[f32]) -> f64 {
    let dot = |x: &[f32], y: &[f32]| -> f64 {
        x.iter()
            .zip(y)
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum()
    };
    dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
}

fn fixture() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm/embeddings.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Row> = text
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{line}");
            Row {
                text: unescape_field(f[1]),
                ids: f[2].split(' ').map(|x| x.parse().unwrap()).collect(),
                embedding: f[3].split(' ').map(|x| x.parse().unwrap()).collect(),
            }
        })
        .collect();
    assert_eq!(rows.len(), 20);
    rows
}

#[test]
fn token_ids_match_fixture() {
    let Some(enc) = encoder() else { return };
    assert_eq!(enc.max_tokens(), 256);
    let rows = fixture();
    for row in &rows {
        assert_eq!(enc.token_ids(&row.text).unwrap(), row.ids, "{:?}", row.text);
    }
    // The 300-word row is cut at the limit, [SEP] kept.
    let enc = enc.with_max_tokens(128).unwrap();
    let ids = enc.token_ids(&rows[19].text).unwrap();
    assert_eq!(ids.len(), 128);
    assert_eq!(ids[..127], rows[19].ids[..127]);
    assert_eq!(ids[127], 102);
    assert!(enc.with_max_tokens(513).is_err());
}

#[test]
fn embeddings_match_fixture_batched_and_single() {
    let Some(enc) = encoder() else { return };
    let rows = fixture();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let batched = enc.embed(&texts).unwrap();
    assert_eq!(batched.len(), rows.len());
    let mut worst = (f64::INFINITY, "", "");
    for (i, row) in rows.iter().enumerate() {
        let single = enc.embed(&[&row.text]).unwrap().remove(0);
        for (how, got) in [("batched", &batched[i]), ("single", &single)] {
            assert_eq!(got.len(), enc.dim());
            let c = cosine64(got, &row.embedding);
            if c < worst.0 {
                worst = (c, how, &row.text);
            }
        }
    }
    println!(
        "worst cosine to the float64 reference: 1 - {:.2e} ({}, {:?})",
        1.0 - worst.0,
        worst.1,
        worst.2
    );
    assert!(worst.0 >= 1.0 - 1e-4, "worst cosine {worst:?}");
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn published_similarities() {
    let Some(enc) = encoder() else { return };
    // sentence-transformers' documented STS example for all-MiniLM-L6-v2.
    let pairs = [
        (
            "A man is eating food.",
            "A man is eating a piece of bread.",
            0.7553,
        ),
        (
            "The new movie is awesome",
            "The new movie is so great",
            0.8939,
        ),
    ];
    for (a, b, want) in pairs {
        let e = enc.embed(&[a, b]).unwrap();
        let got = cosine(&e[0], &e[1]);
        println!("cos({a:?}, {b:?}) = {got:.5} (published {want})");
        assert!((got - want).abs() < 1e-3, "{a:?} / {b:?}: {got} vs {want}");
    }
}

/// CPU seconds this process has used (user + system), where `/proc/self/stat` exists.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on Linux
}

/// Embedding throughput on the default device (run with `--ignored --nocapture`, release build).
#[test]
#[ignore = "timing, not a check"]
fn embed_throughput() {
    let Some(enc) = encoder() else { return };
    let words = [
        "library", "for", "parsing", "the", "network", "files", "and", "tool", "with", "fast",
        "support", "of", "data", "format", "kernel", "module", "python", "bindings", "to", "a",
    ];
    for n_words in [12, 80] {
        let texts: Vec<String> = (0..64)
            .map(|i| {
                (0..n_words)
                    .map(|j| words[(i * 7 + j * 3 + j * j) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens = enc.token_ids(refs[0]).unwrap().len();
        enc.embed(&refs).unwrap(); // warm-up
        let reps = 5;
        let (start, cpu0) = (Instant::now(), cpu_seconds());
        for _ in 0..reps {
            enc.embed(&refs).unwrap();
        }
        let secs = start.elapsed().as_secs_f64() / reps as f64;
        let cpu = cpu_seconds()
            .zip(cpu0)
            .map(|(b, a)| format!(", {:.2} CPU-s per call", (b - a) / reps as f64))
            .unwrap_or_default();
        println!(
            "64 sentences of {n_words} words (~{tokens} tokens): {:.1} ms per call, \
             {:.0} sentences/s{cpu}",
            secs * 1e3,
            64.0 / secs
        );
    }
}
