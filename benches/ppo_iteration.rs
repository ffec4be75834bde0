//! One whole PPO iteration at the reference settings, as `../shared/peer/trl_ppo_bench.py
//! --per-device-bs 128`: sample 128 responses of 100 tokens (temperature 0.7, no early stop),
//! score them, reference log-probs, GAE, then 4 epochs × 4 minibatches of 32 clipped policy +
//! value updates (Adam). The reward is a cheap token count, so the figure is the engine's own
//! cost (TRL's bench scores with a GPT-2 reward model of the policy's shape, and uses a
//! separate value model where ours is a head on the policy).

use criterion::{Criterion, criterion_group, criterion_main};
use multireward::policy::SamplingConfig;
use multireward::rl::{Ppo, PpoConfig};
use multireward::strategy::OptimizerConfig;
use multireward::tokenizer::BOS;

mod common;

fn ppo_iteration(c: &mut Criterion) {
    let (device, mut group) = common::setup(c, "ppo_iteration", 10, 60);
    let device = device.autodiff();
    for (name, config) in common::shapes() {
        device.seed(0);
        let reference = config.with_value_head(true).init(&device);
        let ppo = Ppo::new(
            PpoConfig {
                samples_per_step: 128,
                epochs: 4,
                minibatches: 4,
                sampling: SamplingConfig {
                    max_new_tokens: common::TOKENS,
                    temperature: 0.7,
                    stop_at_eos: false,
                    ..Default::default()
                },
                ..Default::default()
            },
            &reference,
        );
        // The RL experts' optimiser.
        let mut optim = OptimizerConfig::default().init();
        let mut policy = Some(reference.clone());
        let prompts = vec![vec![BOS]];
        let mut seed = 0;
        // Reward: the share of token 5 in each response (any cheap, varying score; 0 when empty).
        let mut scorer = |r: &multireward::policy::Rollout| {
            Ok(r.response_ids()
                .iter()
                .map(|ids| ids.iter().filter(|&&t| t == 5).count() as f32 / ids.len().max(1) as f32)
                .collect())
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                seed += 1;
                let (p, stats) = ppo
                    .step(
                        policy.take().unwrap(),
                        &mut optim,
                        OptimizerConfig::default().lr,
                        &prompts,
                        seed,
                        &mut scorer,
                    )
                    .unwrap();
                policy = Some(p);
                stats
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ppo_iteration);
criterion_main!(benches);
