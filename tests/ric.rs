//! RiC learns reward conditioning: conditioned on a high nitrogen bin and a low oxygen bin it
//! writes more N than when conditioned the other way round.

use burn::module::Module;
use multireward::device::default_device;
use multireward::policy::{GptConfig, Policy, SamplingConfig};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::rl::{Ppo, PpoConfig};
use multireward::strategy::{OptimizerConfig, PpoLearner, RicConfig, RicTarget, Strategy};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::{BOS, Tokenizer};
use multireward::train::LmTrainingConfig;

fn fraction(c: char) -> impl Fn(&Sample) -> Option<f64> + Send + Sync {
    move |s: &Sample| {
        let n = s.completion.len();
        (n > 0).then(|| s.completion.chars().filter(|&x| x == c).count() as f64 / n as f64)
    }
}

#[test]
fn ric_follows_its_conditioning() {
    let device = default_device().autodiff();
    device.seed(6);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let reference = GptConfig::new(2, 2, 32, 64, 7, 24).init(&device);
    let mut rewards = RewardSet::builder()
        .add(FnReward::new("nitrogen", fraction('N')), 1.0)
        .add(FnReward::new("oxygen", fraction('O')), 1.0)
        .build()
        .unwrap();
    let config = PpoConfig {
        sampling: SamplingConfig {
            max_new_tokens: 8,
            temperature: 1.0,
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
    let ric = Strategy::Ric(RicConfig {
        offline_samples: 512,
        bins: 3,
        sft: LmTrainingConfig {
            steps: 150,
            batch_size: 32,
            lr: 3e-3,
            warmup: 10,
            eval_every: 150,
            progress: false,
            ..Default::default()
        },
        online_rounds: 1,
        online_samples: 128,
        target: RicTarget::Top,
    });
    let out = ric.run(&reference, &mut learner, 2).unwrap();
    assert_eq!(
        out.condition().to_vec(),
        vec![7 + 2, 7 + 3 + 2],
        "top bins of both objectives"
    );
    assert_eq!(out.spent.samples, 512 + 128);
    let policy = out.policy.valid();
    let nitrogen = |cond: [u32; 2]| {
        let cfg = SamplingConfig {
            max_new_tokens: 8,
            temperature: 1.0,
            seed: Some(1),
            vocab_limit: Some(7),
            ..Default::default()
        };
        let r = policy
            .sample(&vec![vec![BOS, cond[0], cond[1]]; 256], &cfg)
            .unwrap();
        let texts: Vec<String> = r
            .response_ids()
            .iter()
            .map(|ids| tok.decode(ids).unwrap())
            .collect();
        let f = fraction('N');
        texts
            .iter()
            .map(|t| {
                f(&Sample {
                    prompt: "",
                    completion: t,
                })
                .unwrap_or(0.0)
            })
            .sum::<f64>()
            / texts.len() as f64
    };
    // Tokens: nitrogen bins 7, 8, 9; oxygen bins 10, 11, 12.
    let (high, low) = (nitrogen([9, 10]), nitrogen([7, 12]));
    eprintln!("nitrogen fraction: conditioned high {high:.3}, conditioned low {low:.3}");
    assert!(high > low + 0.2, "{high} vs {low}");
}
