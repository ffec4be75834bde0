//! The DNA comparison set up from its options ([`Dna`]): the shipped DNA policy writing
//! exactly 200 bp (50 non-overlapping 4-mers, specials never sampled), the objectives `K562`,
//! `HepG2` (training reward = log-odds under a one-hot CNN, oracle = under an independent 5-mer
//! MLP, both under `rewards`) and `SK-N-SH` (motif occupancy of the JASPAR neuroblastoma core
//! circuit, oracle = of independent profiles of the same specificities, z-scored on real DHS
//! validation sites); realism against real DHS test sites as the task's metrics.
//!
//! Beside the shared shape (`load`, `presets`, `ric`, `objective`, `reward_sets`,
//! `configure`, `reference`, `task`, `edit`): [`Dna::configure_for`] takes the number of
//! objectives, as every domain's does (the text domain's experts' rate depends on it), and
//! [`Dna::real_test_realism`] and [`Dna::real_oracle_table`] give the example its console
//! lines.

use super::tables::{paper_rows, real_oracle_table, realism_table};
use super::{
    CellClassifier, CellType, CellTypeReward, DhsRecord, MotifReward, Pfm, Pwm, Realism, SK_N_SH,
    SK_N_SH_EVAL, Split, UNIFORM_BACKGROUND, dhs_path, group_pwms, jaspar2024, load_dhs,
};
use crate::eval::table::Format;
use crate::experiment::{Budget, ComparisonConfig, Preset, RicSettings, Task};
use crate::policy::{AutoPolicy, SamplingConfig};
use crate::reward::RewardSet;
use crate::strategy::Strategy;
use crate::tasks::objective::{build_sets, grouped_about_map, known_name};
use crate::tasks::{Objective, SetupError, load_tokenizer};
use crate::tokenizer::Tokenizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where the DNA domain reads its models, and how it samples (the example's flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnaOptions {
    /// The pretrained policy.
    pub policy: PathBuf,
    /// The trained cell-type classifiers (`classifier-reward/`, `classifier-oracle/`).
    pub rewards: PathBuf,
    /// Sampling temperature (training and evaluation).
    pub temperature: f32,
}

impl Default for DnaOptions {
    fn default() -> Self {
        Self {
            policy: "assets/dna-gpt".into(),
            rewards: "assets/dna-rewards".into(),
            temperature: 1.0,
        }
    }
}

/// The DNA domain, loaded: the policy's tokenizer, the DHS sites (calibration, realism
/// references, real-site scores), the JASPAR matrices and the real test sites' realism.
pub struct Dna {
    options: DnaOptions,
    device: Device,
    tokenizer: Box<dyn Tokenizer>,
    records: Vec<DhsRecord>,
    jaspar: Vec<Pfm>,
    motifs: MotifGroups,
    real: Realism,
    tokens_per_site: usize,
}

impl Dna {
    /// Built-in objective names, in the paper's column order.
    pub const OBJECTIVES: &'static [&'static str] = &["K562", "HepG2", SK_N_SH];
    /// The default objectives: all three.
    pub const DEFAULT: &'static [&'static str] = Self::OBJECTIVES;

    /// Load the policy's tokenizer, the DHS sites and the JASPAR matrices, and measure the
    /// real test sites' realism (`quick` changes nothing here).
    ///
    /// # Errors
    /// [`SetupError`] naming the file that is missing or malformed.
    pub fn load(options: &DnaOptions, _quick: bool, device: &Device) -> Result<Self, SetupError> {
        let tokenizer = load_tokenizer(&options.policy)?;
        // Exactly 200 bp: 200 / k tokens, k = the length of the first non-special token.
        let specials = tokenizer.specials();
        let first = (0..).find(|id| !specials.all.contains(id)).unwrap_or(0);
        let k = tokenizer.decode(&[first])?.len().max(1);
        let (records, jaspar) = (load_dhs(&dhs_path())?, jaspar2024()?);
        let motifs = motif_groups(&jaspar)?;
        let real = realism(&sequences(&records, Split::Test, None), &records, &motifs);
        Ok(Self {
            options: options.clone(),
            device: device.clone(),
            tokenizer,
            records,
            jaspar,
            motifs,
            real,
            tokens_per_site: 200 / k,
        })
    }

    /// The presets (the number of objectives changes nothing): default (≈ 10 min on 2 cores),
    /// quick, full (the reference's PPO budget: 25 rounds × m = 4 steps × 3 experts, 128
    /// samples).
    pub fn presets(&self, _n_objectives: usize) -> [Preset; 3] {
        let default = Budget::new(24, 64)
            .with_merge_every(2)
            .with_max_new_tokens(50)
            .with_updates(2, 2);
        let quick = Budget {
            iterations: 6,
            samples: 32,
            merge_every: 1,
            ..default
        };
        let full = Budget::new(300, 128).with_max_new_tokens(50);
        [
            Preset::new(default, 512),
            Preset::new(quick, 128),
            Preset::new(full, 1024),
        ]
    }

    /// RiC's rounds and learning rate: the defaults.
    pub fn ric(&self) -> RicSettings {
        RicSettings::default()
    }

    /// The built-in objective `name` (any case) with this weight.
    ///
    /// # Errors
    /// [`SetupError::UnknownObjective`] listing the known ones; a classifier or the motif
    /// calibration that fails.
    pub fn objective(&self, name: &str, weight: f64) -> Result<Objective, SetupError> {
        let name = known_name("dna", name, Self::OBJECTIVES)?;
        if let Some(cell) = [CellType::K562, CellType::HepG2]
            .into_iter()
            .find(|c| c.name() == name)
        {
            let load = |role: &str| {
                let dir = self.options.rewards.join(format!("classifier-{role}"));
                CellClassifier::load(&dir, &self.device)
            };
            let train = CellTypeReward::new(name, cell, load("reward")?);
            let oracle = CellTypeReward::new(name, cell, load("oracle")?);
            let about = json!({"reward": "log-odds, one-hot CNN (classifier-reward)", "oracle": "log-odds, 5-mer MLP (classifier-oracle)"});
            return Ok(
                Objective::new(name, Box::new(train), Box::new(oracle), weight).with_about(about),
            );
        }
        let calibration = sequences(&self.records, Split::Val, None);
        let train = MotifReward::calibrated(SK_N_SH, pwms(&self.jaspar, SK_N_SH)?, &calibration)?;
        let oracle =
            MotifReward::calibrated(SK_N_SH, pwms(&self.jaspar, SK_N_SH_EVAL)?, &calibration)?;
        let about = json!({"reward": "z-scored occupancy of PHOX2B, HAND2, ASCL1, Isl1, GATA2", "oracle": "z-scored occupancy of PHOX2A, Hand1::Tcf3, ASCL1 MA1631.2, ISL2, Gata3"});
        Ok(Objective::new(name, Box::new(train), Box::new(oracle), weight).with_about(about))
    }

    /// The training rewards (an unscorable sequence totals −5) and the evaluation oracles of
    /// `objectives`, in order, with their descriptions (objectives described alike under one
    /// key, their names joined by `/`: `K562/HepG2`).
    ///
    /// # Errors
    /// [`SetupError::Reward`] when they do not make a set (none, a name twice, a bad weight).
    pub fn reward_sets(
        &self,
        objectives: Vec<Objective>,
    ) -> Result<(RewardSet, RewardSet, Value), SetupError> {
        let (train, eval, about) = build_sets(objectives, -5.0)?;
        Ok((train, eval, grouped_about_map(about)))
    }

    /// The comparison settings as the domain runs them: `200 / k` new tokens whatever the
    /// budget says (exactly 200 bp), evaluation seed 2 000 003.
    pub fn configure(&self, mut config: ComparisonConfig) -> ComparisonConfig {
        config.budget.max_new_tokens = self.tokens_per_site;
        config.with_eval_seed(2_000_003)
    }

    /// [`Dna::configure`] (the number of objectives changes nothing here).
    pub fn configure_for(
        &self,
        config: ComparisonConfig,
        _n_objectives: usize,
    ) -> ComparisonConfig {
        self.configure(config)
    }

    /// The reference policy, loaded from the options' `policy`.
    ///
    /// # Errors
    /// [`SetupError::Checkpoint`] when it cannot be loaded.
    pub fn reference(&self, device: &Device) -> Result<AutoPolicy, SetupError> {
        Ok(AutoPolicy::load(&self.options.policy, device)?)
    }

    /// The realism of the real DHS test sites (all cells), the report's last row.
    pub fn real_test_realism(&self) -> &Realism {
        &self.real
    }

    /// Markdown table of the `oracles`' means on the real DHS test sites of each cell type.
    ///
    /// # Errors
    /// [`SetupError::Reward`] when an oracle fails.
    pub fn real_oracle_table(&self, oracles: &RewardSet) -> Result<String, SetupError> {
        Ok(real_oracle_table(&self.records, oracles)?)
    }

    /// The task: unconditional generation of `200 / k` tokens with the specials (EOS
    /// included) never sampled, realism as its metrics (the 4-mer spectrum correlation with
    /// real K562 sites in the main table), the oracles on real sites in the report (an oracle
    /// that fails there says so in the report; the evaluations then fail with its error).
    pub fn task(
        &self,
        reference: AutoPolicy,
        train: RewardSet,
        eval: RewardSet,
        rewards_info: Value,
    ) -> Task<'_, AutoPolicy> {
        let real_oracle_md = self.real_oracle_table(&eval).unwrap_or_else(|e| {
            format!("Evaluation oracles on real DHS test sites (chr1): not scored ({e}).\n")
        });
        let info = json!({
            "objectives": eval.names(), "temperature": self.options.temperature,
            "policy": self.options.policy, "rewards": rewards_info,
            "real_test_sequences": self.real,
        });
        let sampling = SamplingConfig {
            temperature: self.options.temperature,
            suppress: self.tokenizer.specials().all,
            ..Default::default()
        };
        let (references, groups) = (references(&self.records), &self.motifs);
        let real = &self.real;
        Task::new(reference, self.tokenizer.as_ref(), train, eval)
            .with_sampling(sampling)
            .with_describe(move |scored| {
                let texts: Vec<&str> = scored.texts.iter().map(String::as_str).collect();
                let refs = references.each_ref().map(|(n, s)| (*n, &s[..]));
                let motifs = groups.each_ref().map(|(n, p)| (*n, &p[..]));
                let realism = Realism::measure(&texts, &refs, &motifs);
                let summary = format!("GC {:.3}", realism.gc);
                (json!({ "realism": realism }), summary)
            })
            .with_markdown(move |rows| format!("{}\n{real_oracle_md}", realism_table(rows, real)))
            // 4-mer spectrum correlation with real K562 sites (real sites: ≈ 0.95).
            .with_headline_metric(
                "4-mer r (K562)",
                "/realism/spectrum_r/K562",
                Format::Decimals(2),
            )
            .with_paper(paper_rows())
            .with_info(info)
    }

    /// Edits of the planned strategies: none.
    pub fn edit(&self, _strategy: &mut Strategy) {}
}

/// Named groups of weight matrices.
type MotifGroups = [(&'static str, Vec<Pwm>); 3];

/// The sequences of `split` (of `cell`, or all).
fn sequences(records: &[DhsRecord], split: Split, cell: Option<CellType>) -> Vec<&str> {
    records
        .iter()
        .filter(|r| r.split == split && cell.is_none_or(|c| r.cell_type == c))
        .map(|r| r.sequence.as_str())
        .collect()
}

/// Weight matrices of a group of `assets/dna/jaspar2024.tsv` (pseudocount 0.5 per base,
/// uniform background).
fn pwms(jaspar: &[Pfm], group: &str) -> Result<Vec<Pwm>, SetupError> {
    Ok(group_pwms(jaspar, group, 0.5, UNIFORM_BACKGROUND)?)
}

/// What realism is measured against: the real test sites of K562 and HepG2 …
fn references(records: &[DhsRecord]) -> [(&'static str, Vec<&str>); 2] {
    [CellType::K562, CellType::HepG2].map(|c| (c.name(), sequences(records, Split::Test, Some(c))))
}

/// … and the three motif groups.
fn motif_groups(jaspar: &[Pfm]) -> Result<MotifGroups, SetupError> {
    Ok([
        ("K562", pwms(jaspar, "K562")?),
        ("HepG2", pwms(jaspar, "HepG2")?),
        (SK_N_SH, pwms(jaspar, SK_N_SH)?),
    ])
}

/// The realism of `seqs`.
fn realism(seqs: &[&str], records: &[DhsRecord], groups: &MotifGroups) -> Realism {
    let references = references(records);
    let refs = references.each_ref().map(|(n, s)| (*n, &s[..]));
    let motifs = groups.each_ref().map(|(n, p)| (*n, &p[..]));
    Realism::measure(seqs, &refs, &motifs)
}
