//! Weighted merge of three experts (`Linear`, weights 1/3 each) at the benchmarked shapes, as
//! the peer script's merge of three state dicts. Memory-bound: it reads three copies of the
//! weights and writes one.

use criterion::{Criterion, criterion_group, criterion_main};
use multireward::merge::{Linear, Merger};

mod common;

fn merge(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "merge3", 20, 10);
    for (name, config) in common::shapes() {
        let experts: Vec<_> = (0..3)
            .map(|k| {
                device.seed(k);
                config.init(&device)
            })
            .collect();
        let refs: Vec<_> = experts.iter().collect();
        let weights = [1.0 / 3.0; 3];
        group.bench_function(name, |b| {
            b.iter(|| {
                let merged = Linear.merge(&refs, &weights, None).unwrap();
                // Asynchronous backends: wait until every merged tensor exists.
                device.sync().unwrap();
                merged
            })
        });
    }
    group.finish();
}

criterion_group!(benches, merge);
criterion_main!(benches);
