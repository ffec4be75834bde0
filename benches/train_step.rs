//! Training throughput: one forward + backward + AdamW step on batch 64 × 100 tokens
//! (mean token NLL, as the peer script's train step); batch 8 at the foundation-model shapes.

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::Distribution;
use burn::tensor::Tensor;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use multireward::policy::{AutoPolicy, Policy};
use multireward::train::{LmBatch, lm_loss};

mod common;

fn train_step(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "train_step", 10, 20);
    let device = device.autodiff();
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
        let vocab = model.vocab_size();
        let mut model = Some(model);
        let mut optim = AdamWConfig::new().with_weight_decay(0.0).init();
        let ids: Vec<Vec<u32>> = Tensor::<2>::random(
            [batch, common::TOKENS],
            Distribution::Uniform(3.0, vocab as f64),
            &device,
        )
        .into_data()
        .iter::<f32>()
        .map(|x| x as u32)
        .collect::<Vec<_>>()
        .chunks(common::TOKENS)
        .map(<[u32]>::to_vec)
        .collect();
        let rows: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let batch = LmBatch::new(&rows, vocab, &device).unwrap();
        group.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |_| {
                    let m = model.take().unwrap();
                    let loss = lm_loss(&m, &batch).unwrap();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    let m = optim.step(1e-5, m, grads);
                    model = Some(m);
                    // Asynchronous backends: wait for the step to finish.
                    device.sync().unwrap();
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The cost of a second handle on the parameters during an expert's step, at the shipped small
/// shape: "moved" is how the strategies step an expert (its policy moved into the step, so
/// Adam updates the only copy in place); "clone_held" keeps a clone alive across the step, as
/// the strategies once did, so every updated parameter is copied first.
fn expert_handle(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "expert_handle", 10, 20);
    let device = device.autodiff();
    let config = multireward::policy::GptConfig::small(40, 128);
    let ids: Vec<Vec<u32>> = (0..common::BATCH)
        .map(|r| {
            (0..common::TOKENS)
                .map(|t| 3 + ((r * 7 + t * 13) % 37) as u32)
                .collect()
        })
        .collect();
    let rows: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let batch = LmBatch::new(&rows, config.vocab_size, &device).unwrap();
    for held in [false, true] {
        device.seed(0);
        let mut model = Some(config.init(&device));
        let mut optim = AdamWConfig::new().with_weight_decay(0.0).init();
        let name = if held { "clone_held" } else { "moved" };
        group.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |_| {
                    let m = model.take().unwrap();
                    let clone = held.then(|| m.clone());
                    let loss = lm_loss(&m, &batch).unwrap();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    let m = optim.step(1e-5, m, grads);
                    device.sync().unwrap();
                    drop(clone);
                    model = Some(m);
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, train_step, expert_handle);
criterion_main!(benches);
