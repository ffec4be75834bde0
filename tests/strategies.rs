//! The special cases of docs/algorithms.md ("The method", timing convention) on a small
//! deterministic problem: with plain SGD and one exact gradient per step, IterativeRS with
//! m = 1 equals MORLHF and with m = T equals Rewarded Soups (parameters within 1e-5).

mod common;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Tensor, TensorData};
use common::{max_abs_diff, params, tiny_gpt};
use multireward::device::default_device;
use multireward::merge::{Linear, Merger};
use multireward::policy::{Gpt, Policy, Sequences};
use multireward::strategy::selection_grid_3;
use multireward::strategy::{
    Collected, Collector, Learner, MergeWeights, SelectionScore, StepContext, StepReport, Strategy,
    StrategyError,
};
use multireward::tokenizer::BOS;

/// Loss of objective i: −Σ_y p_θ(y) R_i(y) over the nine 2-token sequences of tokens {4, 5, 6}.
struct ExactGradient {
    seqs: Sequences,
    /// `[objective][sequence]` rewards.
    rewards: Vec<Vec<f32>>,
    lr: f64,
}

impl ExactGradient {
    fn new(device: &burn::tensor::Device) -> Self {
        let ys: Vec<Vec<u32>> = (4..7)
            .flat_map(|a| (4..7).map(move |b| vec![a, b]))
            .collect();
        let seqs = Sequences::from_parts(&vec![vec![BOS]; ys.len()], &ys, 8, device).unwrap();
        let rewards = vec![
            ys.iter().map(|y| (y[0] == 4) as u8 as f32).collect(),
            ys.iter().map(|y| (y[1] == 5) as u8 as f32).collect(),
            ys.iter()
                .map(|y| y.iter().filter(|&&t| t == 6).count() as f32 / 2.0)
                .collect(),
        ];
        Self {
            seqs,
            rewards,
            lr: 0.5,
        }
    }
}

impl Learner<Gpt> for ExactGradient {
    fn objectives(&self) -> usize {
        3
    }
    fn preferences(&self) -> Vec<f64> {
        vec![1.0, 2.0, 1.0]
    }
    fn optimizer(&self) -> ModuleOptimizer {
        SgdConfig::new().init()
    }
    fn step(
        &mut self,
        policy: Gpt,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        _ctx: &StepContext,
    ) -> Result<(Gpt, StepReport), StrategyError> {
        let device = policy.device();
        let r: Vec<f32> = (0..9)
            .map(|j| (0..3).map(|i| weights[i] as f32 * self.rewards[i][j]).sum())
            .collect();
        let r = Tensor::<1>::from_data(TensorData::new(r, [9]), &device);
        let p = policy
            .score(&self.seqs, 1.0)?
            .log_probs
            .sum_dim(1)
            .exp()
            .reshape([9]);
        let loss = -(p * r).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &policy);
        let policy = optim.step(self.lr, policy, grads);
        Ok((
            policy,
            StepReport {
                samples: 9,
                updates: 1,
                ..Default::default()
            },
        ))
    }
}

impl ExactGradient {
    /// The exact objective values Σ_y p(y) R_i(y) of `policy`.
    fn exact(&self, policy: &Gpt) -> Result<Vec<f64>, StrategyError> {
        let p: Vec<f32> = policy
            .valid()
            .score(&self.seqs, 1.0)?
            .log_probs
            .sum_dim(1)
            .exp()
            .into_data()
            .iter::<f32>()
            .collect();
        Ok(self
            .rewards
            .iter()
            .map(|r| r.iter().zip(&p).map(|(a, b)| (a * b) as f64).sum())
            .collect())
    }
}

/// No sampling: every row scores the exact objective values (its response is empty).
impl Collector<Gpt> for ExactGradient {
    fn collect(
        &mut self,
        policy: &Gpt,
        rows: &[Vec<u32>],
        _prompt_of: &[usize],
        _seed: u64,
        _vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        let values = self.exact(policy)?;
        Ok(Collected {
            responses: vec![Vec::new(); rows.len()],
            values: vec![values; rows.len()],
        })
    }
}

fn max_diff(a: &Gpt, b: &Gpt) -> f32 {
    max_abs_diff(&params(a), &params(b))
}

fn run(strategy: Strategy, reference: &Gpt) -> Gpt {
    let device = reference.device();
    let mut learner = ExactGradient::new(&device);
    strategy.run(reference, &mut learner, 0).unwrap().policy
}

#[test]
fn iterative_rs_special_cases() {
    let device = default_device().autodiff();
    device.seed(21);
    let reference = tiny_gpt(8, 8).init(&device);
    let steps = 6;
    let morlhf = run(Strategy::Morlhf { steps }, &reference);
    let m1 = run(Strategy::iterative_rs(steps, 1, 3), &reference);
    let soups = run(Strategy::rewarded_soups(steps), &reference);
    let mt = run(Strategy::iterative_rs(steps, steps, 3), &reference);
    let m2 = run(Strategy::iterative_rs(steps, 2, 3), &reference);
    let (d1, dt) = (max_diff(&m1, &morlhf), max_diff(&mt, &soups));
    eprintln!("max abs diff: m = 1 vs MORLHF {d1:e}, m = T vs Rewarded Soups {dt:e}");
    assert!(d1 <= 1e-5, "m = 1 vs MORLHF: {d1}");
    assert!(dt <= 1e-5, "m = T vs Rewarded Soups: {dt}");
    // The problem is not degenerate: the two extremes and an intermediate m all differ, and
    // every run moved away from the reference.
    assert!(max_diff(&morlhf, &soups) > 1e-3);
    assert!(max_diff(&m2, &morlhf) > 1e-4 && max_diff(&m2, &soups) > 1e-4);
    assert!(max_diff(&morlhf, &reference) > 1e-2);
}

/// A run stopped early is evaluated as the policy the strategy has at that point: Rewarded
/// Soups' experts advance side by side, so Soups with T = 6 stopped after 2 steps of every
/// expert is the soup of a Soups run with T = 2, and IterativeRS with m = T stopped there is
/// the same soup (its block's merge so far). IterativeRS with m = 2 stopped mid-block is the
/// merge it would make then.
#[test]
fn runs_stopped_early_are_the_strategy_at_a_smaller_budget() {
    use multireward::strategy::RunOptions;
    let device = default_device().autodiff();
    device.seed(22);
    let reference = tiny_gpt(8, 8).init(&device);
    let dir = std::env::temp_dir().join(format!("mr-stopped-{}", std::process::id()));
    let stopped = |strategy: Strategy, iterations: usize| {
        let _ = std::fs::remove_dir_all(&dir);
        let options = RunOptions {
            checkpoint_dir: Some(dir.clone()),
            stop_after_iterations: Some(iterations),
            checkpoint_every: Some(3),
            ..Default::default()
        };
        let mut learner = ExactGradient::new(&device);
        let out = strategy
            .run_with(&reference, &mut learner, 0, &options)
            .unwrap();
        assert!(!out.completed);
        assert_eq!(out.spent.iterations, iterations);
        out.policy
    };
    let short = run(Strategy::rewarded_soups(2), &reference);
    let soups = stopped(Strategy::rewarded_soups(6), 6);
    let mt = stopped(Strategy::iterative_rs(6, 6, 3), 6);
    assert!(max_diff(&short, &reference) > 1e-3, "the experts moved");
    assert_eq!(
        max_diff(&soups, &short),
        0.0,
        "Soups stopped vs a shorter Soups"
    );
    assert_eq!(
        max_diff(&mt, &short),
        0.0,
        "IterativeRS m = T stopped vs the same soup"
    );
    // m = 2 stopped after 3 steps (one past its first merge) is the merge of its block then:
    // not the first merge (what it returned before), not the reference.
    let m2_at_2 = stopped(Strategy::iterative_rs(6, 2, 3), 6);
    let m2_at_3 = stopped(Strategy::iterative_rs(6, 2, 3), 9);
    assert!(max_diff(&m2_at_3, &m2_at_2) > 1e-4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn budgets_are_reported() {
    let device = default_device().autodiff();
    let reference = tiny_gpt(8, 8).init(&device);
    let mut learner = ExactGradient::new(&device);
    let s = Strategy::iterative_rs(4, 2, 2);
    let out = s.run(&reference, &mut learner, 3).unwrap();
    assert_eq!(out.spent.iterations, s.iterations(3));
    assert_eq!(out.spent.iterations, 8);
    assert_eq!(out.spent.samples, 72);
    assert_eq!(out.spent.merges, 2);
    assert_eq!(out.experts.len(), 3);
    assert_eq!(out.log.len(), 8);
    // Two objectives per block: each logged step names an active expert.
    assert!(out.log.iter().all(|r| r.expert.is_some()));
}

#[test]
fn selection_picks_the_best_candidate() {
    let device = default_device().autodiff();
    device.seed(23);
    let reference = tiny_gpt(8, 8).init(&device);
    let grid = selection_grid_3();
    let strategy = Strategy::rewarded_soups(3).with_merge_weights(MergeWeights::Select {
        candidates: grid.clone(),
        samples: 1,
        score: SelectionScore::Mean,
    });
    let mut learner = ExactGradient::new(&device);
    let out = strategy.run(&reference, &mut learner, 0).unwrap();
    // Brute force over the grid with the same experts.
    let experts: Vec<&Gpt> = out.experts.iter().collect();
    let scored: Vec<(f64, Gpt)> = grid
        .iter()
        .map(|w| {
            let m = Linear.merge(&experts, w, Some(&reference)).unwrap();
            let v = learner.evaluate(&m, 1, 0).unwrap()[0].iter().sum::<f64>() / 3.0;
            (v, m)
        })
        .collect();
    let best = scored
        .iter()
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
        .unwrap();
    let worst = scored
        .iter()
        .min_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
        .unwrap();
    assert!(best.0 > worst.0, "the candidates differ");
    assert!(max_diff(&out.policy, &best.1) <= 1e-6);
}
