//! Sampling throughput: batch 64 × 100 new tokens with the KV cache, temperature 0.7, no early
//! stop (as HF `generate(min_new_tokens=100)` in the peer script).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multireward::policy::{Policy, SamplingConfig};
use multireward::tokenizer::BOS;

mod common;

fn sampling(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "sampling", 10, 20);
    group.throughput(Throughput::Elements(
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
