//! Sampling throughput: batch 64 × 100 new tokens with the KV cache, temperature 0.7, no early
//! stop (as HF `generate(min_new_tokens=100)` in the peer script).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multireward::device::device_from_env;
use multireward::policy::{Policy, SamplingConfig};
use multireward::tokenizer::BOS;
use std::time::Duration;

mod common;

fn sampling(c: &mut Criterion) {
    common::keep_freed_memory();
    let device = device_from_env().expect("MULTIREWARD_DEVICE names a compiled backend");
    let mut group = c.benchmark_group("sampling");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(common::seconds(20)))
        .throughput(Throughput::Elements(
            (common::BATCH * common::TOKENS) as u64,
        ));
    for (name, config) in common::shapes() {
        device.seed(0);
        let model = config.init(&device);
        let prompts = vec![vec![BOS]; common::BATCH];
        let cfg = SamplingConfig {
            max_new_tokens: common::TOKENS,
            temperature: 0.7,
            ..Default::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = model.sample(&prompts, &cfg).unwrap();
                // Force completion on asynchronous backends.
                r.log_probs.sum().into_scalar::<f32>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sampling);
criterion_main!(benches);
