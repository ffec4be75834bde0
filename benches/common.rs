//! Shapes shared by the benches: the paper's QM9 policy and the shipped small policy, both
//! measured at batch 64 × 100 tokens like `../shared/peer/hf_gpt_bench.py`.

// Each bench uses part of this module.
#![allow(dead_code)]

use burn::tensor::Device;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use multireward::device::device_from_env;
use multireward::policy::GptConfig;
use std::time::Duration;

/// Batch size of every bench (the peer script's default).
pub const BATCH: usize = 64;
/// Tokens per row (new tokens when sampling, sequence length when training).
pub const TOKENS: usize = 100;

/// Measurement time of a bench, seconds: `default`, or `MULTIREWARD_BENCH_SECONDS` when set
/// (shorter runs on a lent GPU machine).
pub fn seconds(default: u64) -> u64 {
    std::env::var("MULTIREWARD_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Start a bench: keep freed memory (as the examples do) and return the device named by
/// `MULTIREWARD_DEVICE` and criterion group `name` with `samples` samples, a 1 s warm-up and
/// [`seconds`]`(default_seconds)` of measurement.
pub fn setup<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
    default_seconds: u64,
) -> (Device, BenchmarkGroup<'a, WallTime>) {
    keep_freed_memory();
    let device = device_from_env().expect("MULTIREWARD_DEVICE names a compiled backend");
    let mut group = c.benchmark_group(name);
    group
        .sample_size(samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(seconds(default_seconds)));
    (device, group)
}

/// `(name, config)` of the benchmarked shapes.
pub fn shapes() -> Vec<(&'static str, GptConfig)> {
    vec![
        ("qm9", multireward::tasks::molecules::paper_policy()),
        // The shipped SMILES policy's shape (peer script: --shape small).
        ("small", GptConfig::small(40, 128)),
    ]
}

#[path = "../examples/support/alloc.rs"]
mod alloc;
pub use alloc::keep_freed_memory;
