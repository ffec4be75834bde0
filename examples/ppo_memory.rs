//! Peak memory over many PPO iterations must stay flat: rollouts are sampled on a `valid()`
//! copy and nothing from a rollout keeps an autodiff graph alive. Prints the process RSS
//! (from `/proc/self/status`) every 10 iterations.
//!
//! ```text
//! cargo run --release --example ppo_memory -- --iterations 100
//! ```

use clap::Parser;
use multireward::policy::{GptConfig, SamplingConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::rl::{Ppo, PpoConfig, RlError};
use multireward::strategy::{Learner, OptimizerConfig, PpoLearner, StepContext};
use multireward::tasks::molecules::SmilesTokenizer;

#[path = "support/start.rs"]
mod start;

#[derive(Parser, Debug)]
struct Args {
    /// PPO iterations.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Samples per iteration.
    #[arg(long, default_value_t = 64)]
    samples: usize,
}

/// Resident set size in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (args, device) = start::start::<Args>()?;
    let device = device.autodiff();
    device.seed(0);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O", "c1ccccc1", "C(=O)"])?;
    let vocab = multireward::tokenizer::Tokenizer::vocab_size(&tok);
    let reference = GptConfig::new(4, 4, 256, 1024, vocab, 64)
        .with_value_head(true)
        .init(&device);
    let mut rewards = RewardSet::builder()
        .add(
            FnReward::new("nitrogen", |s: &Sample| {
                Some(s.completion.matches('N').count() as f64)
            }),
            1.0,
        )
        .build()?;
    let config = PpoConfig {
        samples_per_step: args.samples,
        sampling: SamplingConfig {
            max_new_tokens: 32,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut learner = PpoLearner {
        ppo: Ppo::new(config, &reference),
        rewards: &mut rewards,
        tokenizer: &tok,
        prompts: multireward::policy::Prompts::unconditional(
            multireward::tokenizer::Tokenizer::specials(&tok).start(),
        ),
        optimizer: OptimizerConfig::default(),
        adapters: None,
    };
    let mut optim = learner.optimizer();
    let mut policy = reference.clone();
    let start = std::time::Instant::now();
    let mut samples = Vec::new();
    println!("iteration,rss_mib,seconds,reward,kl");
    for t in 1..=args.iterations {
        let ctx = StepContext {
            step: t,
            expert: None,
            round: 0,
            seed: 1,
        };
        let (p, report) = learner
            .step(policy, &mut optim, &[1.0], &ctx)
            .map_err(|e| RlError::Scorer(e.to_string()))?;
        policy = p;
        if t == 1 || t % 10 == 0 {
            let rss = rss_mib();
            samples.push((t, rss));
            println!(
                "{t},{rss:.1},{:.1},{:.3},{:.4}",
                start.elapsed().as_secs_f64(),
                report.optimised,
                report.kl
            );
        }
    }
    let after_warmup: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= 10)
        .map(|s| s.1)
        .collect();
    let (lo, hi) = after_warmup
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    println!(
        "RSS from iteration 10 to {}: {lo:.1}–{hi:.1} MiB (spread {:.1} MiB)",
        args.iterations,
        hi - lo
    );
    Ok(())
}
