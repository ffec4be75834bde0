//! Shapes shared by the benches: the paper's QM9 policy and the shipped small policy, both
//! measured at batch 64 × 100 tokens like `../shared/peer/hf_gpt_bench.py`; and two foundation
//! model shapes (GPT-2 124M, SmolLM2-135M, random-initialised) at batch 8 × 100 tokens, as the
//! peer script is run for them on this CPU.

// Each bench uses part of this module.
#![allow(dead_code)]

use burn::tensor::Device;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use multireward::device::device_from_env;
use multireward::policy::{Activation, AutoPolicy, GptConfig, LlamaConfig};
use std::time::Duration;

/// Batch size of every bench (the peer script's default).
pub const BATCH: usize = 64;
/// Tokens per row (new tokens when sampling, sequence length when training).
pub const TOKENS: usize = 100;
/// Batch size at the foundation-model shapes ([`hf_shapes`]).
pub const HF_BATCH: usize = 8;

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

/// `(name, config)` of the foundation-model shapes, measured at [`HF_BATCH`] rows (select with
/// `MULTIREWARD_BENCH_HF=0` to skip them): GPT-2 small (12 layers, d 768, vocab 50,257, tanh
/// GELU, tied) and SmolLM2-135M (Llama: 30 layers, d 576, 9 heads / 3 kv heads, SwiGLU 1536,
/// vocab 49,152, tied).
pub fn hf_shapes(device: &Device) -> Vec<(&'static str, AutoPolicy)> {
    if std::env::var("MULTIREWARD_BENCH_HF").is_ok_and(|v| v == "0") {
        return Vec::new();
    }
    device.seed(0);
    let gpt2 = GptConfig::new(12, 12, 768, 3072, 50257, 1024)
        .with_activation(Some(Activation::GeluTanh))
        .init(device);
    let smollm2 = LlamaConfig::new(49152, 576, 1536, 30, 9, 3, 64, 2048)
        .with_rope_theta(100000.0)
        .with_rms_norm_eps(1e-5)
        .with_tie_word_embeddings(true)
        .init(device);
    vec![
        ("gpt2-124m", AutoPolicy::Gpt(gpt2)),
        ("smollm2-135m", AutoPolicy::Llama(smollm2)),
    ]
}

#[path = "../examples/support/alloc.rs"]
mod alloc;
pub use alloc::keep_freed_memory;
