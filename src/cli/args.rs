//! The run flags every comparison example shares ([`RunArgs`]: presets, budget, optimiser,
//! strategies, RiC, checkpoints, resume, output) and their mapping onto a
//! [`ComparisonConfig`]; [`CompareArgs`] adds the results directory for a task with no flags
//! of its own.

use crate::experiment::{
    Accounting, AdamAtMerge, AdapterMerge, Budget, ComparisonConfig, EstimatorKind,
    ExperimentError, Preset, RicSettings, SavePolicies, StrategyKind,
};
use crate::policy::CausalLm;
use crate::policy::lora::LoraConfig;
use crate::strategy::RicTarget;
use clap::ValueEnum;
use std::path::PathBuf;

/// Advantage estimator of the RL strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorArg {
    /// Leave-one-out group baseline (no value head; fastest on CPU).
    Rloo,
    /// GAE on a fresh value head (the reference code's PPO).
    Gae,
}

/// Budget, optimiser, strategy and output flags (flattened into each example's arguments
/// with `#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Smoke run (≈ 1–2 min): tiny budget.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// The reference code's budget: 25 rounds of m = 4 steps, 128 samples (hours on a CPU).
    #[arg(long)]
    pub full: bool,
    /// Seeds per strategy (the table shows mean ± std).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// PPO iterations per strategy (summed over experts); overrides the preset.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Samples per PPO iteration; overrides the preset.
    #[arg(long)]
    pub samples: Option<usize>,
    /// IterativeRS merge period m (steps per expert between merges); overrides the preset.
    #[arg(long)]
    pub merge_every: Option<usize>,
    /// Samples drawn from each final policy for evaluation; overrides the preset.
    #[arg(long)]
    pub eval_samples: Option<usize>,
    /// Generated tokens per sample; overrides the preset.
    #[arg(long)]
    pub max_new_tokens: Option<usize>,
    /// PPO epochs per iteration; overrides the preset (reference: 4).
    #[arg(long)]
    pub ppo_epochs: Option<usize>,
    /// PPO minibatches per epoch; overrides the preset (reference: 4).
    #[arg(long)]
    pub minibatches: Option<usize>,
    /// Adam learning rate of PPO (the reference uses 1.41e-5 for 25× our budget).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Adam learning rate of the IterativeRS and Rewarded Soups experts (default: `--lr`).
    #[arg(long)]
    pub expert_lr: Option<f64>,
    /// KL coefficient β.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub kl_coef: f32,
    /// Advantage estimator.
    #[arg(long, value_enum, default_value_t = EstimatorArg::Rloo)]
    pub estimator: EstimatorArg,
    /// Strategies to run (comma-separated of iterativers, morlhf, soups, ric).
    #[arg(long, default_value = "iterativers,morlhf,soups,ric")]
    pub strategies: String,
    /// RiC: reward quantile bins per objective.
    #[arg(long, default_value_t = 4)]
    pub ric_bins: usize,
    /// RiC: online rounds after the offline one (default: the example's).
    #[arg(long)]
    pub ric_rounds: Option<usize>,
    /// RiC: condition on the top bins of all objectives (`top`) or on the best bin combination
    /// holding ≥ 2 % of the offline data (`best`).
    #[arg(long, default_value = "top")]
    pub ric_target: String,
    /// RiC: supervised learning rate (default: the example's).
    #[arg(long)]
    pub ric_lr: Option<f64>,
    /// Checkpoint every this many PPO iterations (besides every merge round).
    #[arg(long, default_value_t = 5)]
    pub checkpoint_every: usize,
    /// Checkpoint directory (default: `checkpoints/` under `--out`).
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue an earlier run into the same `--out`: finished runs keep their results, an
    /// unfinished one continues from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Budget accounting: equal `samples` (default) or the paper's equal algorithmic `steps`
    /// (IterativeRS and Rewarded Soups then use N × MORLHF's samples).
    #[arg(long, value_enum, default_value_t = AccountingArg::Samples)]
    pub budget: AccountingArg,
    /// IterativeRS experts' Adam state after a merge: `reset` (the reference code's) or `keep`.
    #[arg(long, value_enum, default_value_t = AdamArg::Reset)]
    pub adam_at_merge: AdamArg,
    /// Evaluate every strategy along its run and plot reward against KL (`reward_kl.png`).
    #[arg(long)]
    pub curve: bool,
    /// The m ablation: one IterativeRS run per merge period listed (comma-separated; `T` for
    /// m = T), plotted against the other strategies' levels (`ablation_m.png`).
    #[arg(long)]
    pub sweep_m: Option<String>,
    /// The β sweep: the whole comparison once per KL coefficient listed (comma-separated,
    /// e.g. 0.01,0.03,0.1,0.3), each into `--out`/kl-<β>, then every strategy's reward–KL
    /// front (`kl_fronts.png`, `kl_sweep.md` in `--out`).
    #[arg(long, value_delimiter = ',', conflicts_with = "kl_coef")]
    pub sweep_kl_coef: Vec<f32>,
    /// The preference sweep: the whole comparison once per weight vector listed (one weight
    /// per objective, each > 0, `;` between vectors, e.g. "2,1,1;1,2,1;1,1,2"; each scaled to
    /// the task's weight sum), each into `--out/w-<weights>`, then every strategy's front in
    /// objective space with its hypervolume (`preference_sweep.md` and plots in `--out`).
    #[arg(long, conflicts_with = "sweep_kl_coef")]
    pub sweep_weights: Option<String>,
    /// Candidate learning rates (comma-separated, e.g. 3e-5,1e-4,3e-4): each RL strategy is
    /// trained once per candidate on a tuning seed and keeps the one its *training* rewards
    /// score best (never the evaluation oracles); the report lists the trials.
    #[arg(long, value_delimiter = ',')]
    pub select_lr: Vec<f64>,
    /// Keep every strategy × seed's final policy under `--out`/policies (`final`, in the
    /// reference policy's format: ours, or Hugging Face's) or none.
    #[arg(long, value_enum, default_value_t = SaveArg::Final)]
    pub save_policies: SaveArg,
    /// Off a terminal (no progress bars), print a progress line every this many PPO
    /// iterations of a run.
    #[arg(long, default_value_t = 10)]
    pub log_every: usize,
    /// Also write every event (steps, evaluations) to this file, one JSON object per line
    /// (with `--resume`, appended).
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Train LoRA adapters of this rank on a frozen base instead of every weight.
    #[arg(long)]
    pub lora_rank: Option<usize>,
    /// LoRA α (the update is scaled by α / r; default 2 × the rank).
    #[arg(long, requires = "lora_rank")]
    pub lora_alpha: Option<f64>,
    /// Projections that get adapters, comma-separated (PEFT's names: q_proj,v_proj…; GPT-2's
    /// c_attn,c_proj,c_fc; ours qkv,proj,fc,fc_proj), or all-linear.
    #[arg(
        long,
        requires = "lora_rank",
        default_value = "all-linear",
        value_delimiter = ','
    )]
    pub lora_targets: Vec<String>,
    /// Dropout on the adapters' inputs in training.
    #[arg(long, requires = "lora_rank", default_value_t = 0.0)]
    pub lora_dropout: f64,
    /// rsLoRA: scale by α / √r.
    #[arg(long, requires = "lora_rank")]
    pub lora_rslora: bool,
    /// How LoRA experts merge: their updates folded into the shared policy (`updates`, the
    /// linear merge) or their factors averaged (`factors`, Rewarded Soups' practice).
    #[arg(long, value_enum, requires = "lora_rank", default_value_t = LoraMergeArg::Updates)]
    pub lora_merge: LoraMergeArg,
}

/// How LoRA experts merge (`--lora-merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoraMergeArg {
    /// The experts' updates folded into the shared policy (the linear merge).
    Updates,
    /// The factors A and B averaged separately.
    Factors,
}

/// Which trained policies to keep (`--save-policies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaveArg {
    /// Only the evaluations.
    None,
    /// Every strategy × seed's final policy.
    Final,
}

/// Budget accounting (`--budget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccountingArg {
    /// Equal samples.
    Samples,
    /// Equal algorithmic steps (the paper's).
    Steps,
}

/// Adam state at an IterativeRS merge (`--adam-at-merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdamArg {
    /// A fresh optimiser every round.
    Reset,
    /// Each expert keeps its moments.
    Keep,
}

impl RunArgs {
    /// The comparison settings: the preset chosen by `--quick` / `--full` (else `default`)
    /// with the flags' overrides; RiC's rounds and learning rate default to `ric`'s.
    pub fn config(
        &self,
        [default, quick, full]: [Preset; 3],
        ric: RicSettings,
    ) -> Result<ComparisonConfig, ExperimentError> {
        let base = if self.full {
            full
        } else if self.quick {
            quick
        } else {
            default
        };
        let b = base.budget;
        let budget = Budget::new(
            self.iterations.unwrap_or(b.iterations),
            self.samples.unwrap_or(b.samples),
        )
        .with_merge_every(self.merge_every.unwrap_or(b.merge_every))
        .with_max_new_tokens(self.max_new_tokens.unwrap_or(b.max_new_tokens))
        .with_updates(
            self.ppo_epochs.unwrap_or(b.epochs),
            self.minibatches.unwrap_or(b.minibatches),
        );
        let target = match self.ric_target.as_str() {
            "top" => RicTarget::Top,
            "best" => RicTarget::BestSupported { min_fraction: 0.02 },
            other => {
                return Err(ExperimentError::setting(
                    "ric.target",
                    format!("is {other:?}; use top or best"),
                ));
            }
        };
        Ok(
            ComparisonConfig::new(budget, self.eval_samples.unwrap_or(base.eval_samples))
                .with_strategies(StrategyKind::parse_list(&self.strategies)?)
                .with_seeds(self.seeds)
                .with_lr(self.lr)
                .with_expert_lr(self.expert_lr)
                .with_kl_coef(self.kl_coef)
                .with_estimator(match self.estimator {
                    EstimatorArg::Rloo => EstimatorKind::Rloo,
                    EstimatorArg::Gae => EstimatorKind::Gae,
                })
                .with_checkpoint_every(self.checkpoint_every)
                .with_accounting(match self.budget {
                    AccountingArg::Samples => Accounting::Samples,
                    AccountingArg::Steps => Accounting::Steps,
                })
                .with_adam_at_merge(match self.adam_at_merge {
                    AdamArg::Reset => AdamAtMerge::Reset,
                    AdamArg::Keep => AdamAtMerge::Keep,
                })
                .with_curve(self.curve)
                .with_sweep_m(self.sweep_periods()?)
                .with_lr_candidates(self.select_lr.clone())
                .with_save_policies(match self.save_policies {
                    SaveArg::None => SavePolicies::None,
                    SaveArg::Final => SavePolicies::Final,
                })
                .with_lora(self.lora_rank.map(|r| {
                    let targets: Vec<&str> = self.lora_targets.iter().map(String::as_str).collect();
                    LoraConfig::new(r, self.lora_alpha.unwrap_or(2.0 * r as f64), &targets)
                        .with_dropout(self.lora_dropout)
                        .with_rslora(self.lora_rslora)
                }))
                .with_adapter_merge(match self.lora_merge {
                    LoraMergeArg::Updates => AdapterMerge::Updates,
                    LoraMergeArg::Factors => AdapterMerge::Factors,
                })
                .with_ric(
                    RicSettings::new()
                        .with_bins(self.ric_bins)
                        .with_rounds(self.ric_rounds.unwrap_or(ric.rounds))
                        .with_target(target)
                        .with_lr(self.ric_lr.unwrap_or(ric.lr)),
                ),
        )
    }

    /// `--sweep-m` as merge periods (0 for `T`).
    fn sweep_periods(&self) -> Result<Vec<usize>, ExperimentError> {
        let Some(list) = &self.sweep_m else {
            return Ok(Vec::new());
        };
        list.split(',')
            .map(|m| match m.trim() {
                "T" | "t" => Ok(0),
                m => m.parse::<usize>().ok().filter(|&m| m > 0).ok_or_else(|| {
                    ExperimentError::setting(
                        "sweep_m",
                        format!("has {m:?}; list merge periods ≥ 1 or T, e.g. 1,2,4,8,T"),
                    )
                }),
            })
            .collect()
    }

    /// The reference policy for `--estimator`: with a fresh value head (seeded, so that a
    /// resumed run gets the same one) for GAE.
    pub fn reference<P: CausalLm>(&self, policy: P) -> P {
        match self.estimator {
            EstimatorArg::Rloo => policy,
            EstimatorArg::Gae => {
                policy.device().seed(0x5641_4c55_4548_4541);
                policy.with_value_head()
            }
        }
    }
}

/// The run flags and the results directory: all the flags of a task with none of its own.
#[derive(clap::Parser, Debug, Clone)]
#[command(about = "Compare multi-reward fine-tuning strategies on a task")]
pub struct CompareArgs {
    /// Budget, optimiser, strategies, checkpoints.
    #[command(flatten)]
    pub run: RunArgs,
    /// Results directory (default: the task's).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CompareArgs {
    /// `--out`, else `default`.
    pub fn out_or(&self, default: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from(default))
    }
}
