//! Sampling throughput: batch 64 × 100 new tokens with the KV cache, temperature 0.7, no early
//! stop (as HF `generate(min_new_tokens=100)` in the peer script); batch 8 at the
//! foundation-model shapes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multireward::policy::{AutoPolicy, Policy, SamplingConfig};

mod common;

fn sampling(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "sampling", 10, 20);
    let mut shapes: Vec<(&str, AutoPolicy, usize)> = common::shapes()
        .into_iter()
        .map(|(name, config)| {
            device.seed(0);
            (name, AutoPolicy::Gpt(config.init(&device)), common::BATCH)
        })
        .collect();
    shapes.extend(
        common::hf_shapes(&device)
            .into_iter()
            .map(|(name, model)| (name, model, common::HF_BATCH)),
    );
    for (name, model, batch) in shapes {
        group.throughput(Throughput::Elements((batch * common::TOKENS) as u64));
        let prompts = vec![vec![model.specials().start()]; batch];
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
