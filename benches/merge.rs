//! Weighted merge of three experts (`Linear`, weights 1/3 each) at the benchmarked shapes, as
//! the peer script's merge of three state dicts. Memory-bound: it reads three copies of the
//! weights and writes one. `merge3/<shape>` borrows the experts (as the peer, which keeps its
//! state dicts); `merge3-owned/<shape>` consumes fresh copies (checkpoints just loaded, experts
//! about to be replaced) and accumulates in place.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use multireward::merge::{Linear, Merger};
use multireward::policy::{Gpt, GptConfig};

mod common;

/// Three differently seeded experts of one shape.
fn experts(device: &Device, config: &GptConfig) -> Vec<Gpt> {
    (0..3)
        .map(|k| {
            device.seed(k);
            config.init(device)
        })
        .collect()
}

fn merge(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "merge3", 20, 10);
    for (name, config) in common::shapes() {
        let experts = experts(&device, &config);
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

/// Deep copy: every parameter in a buffer of its own.
struct DeepCopy;

impl ModuleMapper for DeepCopy {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| Tensor::from_data(t.to_data(), &t.device()))
    }
}

fn merge_owned(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "merge3-owned", 20, 10);
    for (name, config) in common::shapes() {
        let experts = experts(&device, &config);
        let weights = [1.0 / 3.0; 3];
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    experts
                        .iter()
                        .map(|e| e.clone().map(&mut DeepCopy))
                        .collect()
                },
                |owned: Vec<_>| {
                    let merged = Linear.merge_owned(owned, &weights, None).unwrap();
                    device.sync().unwrap();
                    merged
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, merge, merge_owned);
criterion_main!(benches);
