//! The strategies' settings: [`Strategy`] (one value per run: a checkpoint records it, and it
//! is all a resumed run needs) and how merging strategies choose their coefficients
//! ([`MergeWeights`]). What each strategy does with them is in its own file; the dispatch is
//! in `run.rs`.

use super::ric_settings::RicConfig;
pub use crate::merge::MergeMethod;

/// The strategies. Swapping is one line: build another variant and call [`Strategy::run`].
/// A strategy's settings are all a checkpoint needs to continue it ([`Strategy::resume`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Strategy {
    /// IterativeRS (the paper's Algorithm 1): `N` experts from the reference; every
    /// `merge_every` steps the `per_block` experts trained in the block are merged (weights
    /// renormalised over them) and the next block's `per_block` experts (sampled, seeded)
    /// restart from the merged policy; all `N` are merged at the end. Each step costs one
    /// learner step per expert of the block.
    IterativeRs {
        /// Total steps T.
        steps: usize,
        /// Merge period m (1 ⇒ MORLHF, T ⇒ Rewarded Soups).
        merge_every: usize,
        /// Objectives trained per block, the paper's M ≤ N.
        #[serde(alias = "active")]
        per_block: usize,
        /// How each merge's coefficients are chosen.
        merge_weights: MergeWeights,
        /// The merge method (default: linear, the paper's).
        #[serde(default)]
        merge: MergeMethod,
        /// Restarting experts keep their Adam moments across a merge (`false`, the default
        /// and the reference code's: a fresh optimiser every round).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_optimizer: bool,
    },
    /// MORLHF: one policy trained on the preference-weighted reward for `steps` steps.
    Morlhf {
        /// Total steps.
        steps: usize,
    },
    /// RiC: reward-conditioned supervised fine-tuning (the paper's supervised baseline).
    Ric(RicConfig),
    /// Rewarded Soups: `N` experts trained independently for `steps` steps each, merged once
    /// with the preference weights.
    RewardedSoups {
        /// Steps per expert.
        steps: usize,
        /// How the final merge's coefficients are chosen.
        merge_weights: MergeWeights,
        /// The merge method (default: linear, the paper's).
        #[serde(default)]
        merge: MergeMethod,
    },
}

impl Strategy {
    /// IterativeRS with `steps` steps T, merge period `merge_every` (m) and `per_block`
    /// objectives per block (M), merged linearly with the preference weights (eq. 9).
    pub fn iterative_rs(steps: usize, merge_every: usize, per_block: usize) -> Self {
        Self::IterativeRs {
            steps,
            merge_every,
            per_block,
            merge_weights: MergeWeights::Preferences,
            merge: MergeMethod::Linear,
            keep_optimizer: false,
        }
    }

    /// The same IterativeRS run with experts that keep (`true`) or reset (`false`, the
    /// default) their Adam moments at every merge; other strategies are returned unchanged.
    pub fn with_keep_optimizer(mut self, keep: bool) -> Self {
        if let Self::IterativeRs { keep_optimizer, .. } = &mut self {
            *keep_optimizer = keep;
        }
        self
    }

    /// Rewarded Soups with `steps` steps per expert, merged linearly with the preference
    /// weights.
    pub fn rewarded_soups(steps: usize) -> Self {
        Self::RewardedSoups {
            steps,
            merge_weights: MergeWeights::Preferences,
            merge: MergeMethod::Linear,
        }
    }

    /// The same strategy merging with `method` (IterativeRS and Rewarded Soups; the others do
    /// not merge and are returned unchanged).
    pub fn with_merge(mut self, method: MergeMethod) -> Self {
        if let Self::IterativeRs { merge, .. } | Self::RewardedSoups { merge, .. } = &mut self {
            *merge = method;
        }
        self
    }

    /// The same strategy choosing merge coefficients by `weights` (IterativeRS and Rewarded
    /// Soups; the others are returned unchanged).
    pub fn with_merge_weights(mut self, weights: MergeWeights) -> Self {
        if let Self::IterativeRs { merge_weights, .. } | Self::RewardedSoups { merge_weights, .. } =
            &mut self
        {
            *merge_weights = weights;
        }
        self
    }

    /// Short name for tables and plots.
    pub fn name(&self) -> &'static str {
        match self {
            Self::IterativeRs { .. } => "IterativeRS",
            Self::Morlhf { .. } => "MORLHF",
            Self::RewardedSoups { .. } => "Rewarded Soups",
            Self::Ric(_) => "RiC",
        }
    }

    /// Policies trained side by side with `n` objectives (a checkpoint holds one per expert).
    pub fn experts(&self, n: usize) -> usize {
        match self {
            Self::IterativeRs { .. } | Self::RewardedSoups { .. } => n,
            Self::Morlhf { .. } => 1,
            Self::Ric(_) => 0,
        }
    }

    /// Whether every expert of a run with `n` objectives fine-tunes the reference or the last
    /// merged policy (IterativeRS with every objective in every block, Rewarded Soups,
    /// MORLHF), so that LoRA experts' checkpoints need only their adapters.
    pub fn experts_share_base(&self, n: usize) -> bool {
        match self {
            Self::IterativeRs { per_block, .. } => *per_block >= n,
            Self::RewardedSoups { .. } | Self::Morlhf { .. } => true,
            Self::Ric(_) => false,
        }
    }

    /// Whether a run with `n` objectives can stand at `done` steps, `round` rounds and the
    /// active set `active` (a checkpoint's claims; the message says what is wrong).
    pub fn check_progress(
        &self,
        n: usize,
        done: usize,
        round: usize,
        active: &[usize],
    ) -> Result<(), String> {
        let (limit, unit) = match self {
            Self::IterativeRs { steps, .. } | Self::Morlhf { steps } => (*steps, "steps"),
            Self::RewardedSoups { steps, .. } => (steps * n, "expert steps"),
            Self::Ric(c) => (c.online_rounds.saturating_add(1), "rounds"),
        };
        if done > limit {
            return Err(format!("{done} {unit} done of the {limit} planned"));
        }
        if let Self::IterativeRs {
            steps,
            merge_every,
            per_block,
            ..
        } = self
        {
            if round > steps / (*merge_every).max(1) {
                return Err(format!(
                    "{round} merge rounds exceed {steps} steps with merges every {merge_every}"
                ));
            }
            let mut seen = active.to_vec();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() != active.len()
                || active.iter().any(|&i| i >= n)
                || active.len() != (*per_block).min(n)
            {
                return Err(format!(
                    "active set {active:?} is not {} distinct objectives below {n}",
                    (*per_block).min(n)
                ));
            }
        }
        Ok(())
    }

    /// Learner steps (PPO iterations) the run will take with `n` objectives.
    pub fn iterations(&self, n: usize) -> usize {
        match *self {
            Self::IterativeRs {
                steps, per_block, ..
            } => steps * per_block.min(n),
            Self::Morlhf { steps } => steps,
            Self::RewardedSoups { steps, .. } => steps * n,
            Self::Ric(ref c) => c.online_rounds.saturating_add(1),
        }
    }
}

/// How merge coefficients are chosen.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MergeWeights {
    /// Eq. 9: the preference weights renormalised over the merged experts (uniform
    /// preferences give 1/M) — the reference code's QM9 setting.
    #[default]
    Preferences,
    /// The reference code's "selection": merge with each candidate (one weight per merged
    /// expert, convex), sample `samples` responses from each merged policy, and keep the
    /// candidate with the best score.
    Select {
        /// Candidate weight vectors, e.g. [`selection_grid_3`](crate::strategy::selection_grid_3).
        candidates: Vec<Vec<f64>>,
        /// Samples drawn to score each candidate.
        samples: usize,
        /// How samples are scored.
        score: SelectionScore,
    },
}

/// Score of a merge candidate from its samples' objective values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SelectionScore {
    /// Mean over samples and objectives (the reference code's text task).
    #[default]
    Mean,
    /// Mean over the Pareto-efficient samples only (the reference code's DNA task).
    ParetoMean,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets() {
        let s = Strategy::iterative_rs(10, 2, 2);
        assert_eq!(s.iterations(3), 20);
        assert_eq!(Strategy::rewarded_soups(10).iterations(3), 30);
        assert_eq!(Strategy::Morlhf { steps: 30 }.iterations(3), 30);
    }

    /// Checkpoints written before the field was renamed (`active`) and before the merge
    /// method was recorded still load, as linear merges.
    #[test]
    fn older_strategy_settings_load() {
        let old = r#"{"IterativeRs":{"steps":4,"merge_every":2,"active":3,"merge_weights":"Preferences"}}"#;
        let s: Strategy = serde_json::from_str(old).unwrap();
        assert_eq!(s, Strategy::iterative_rs(4, 2, 3));
        let method = MergeMethod::Ties(crate::merge::Ties {
            density: 0.5,
            scale: 1.0,
        });
        let s = Strategy::iterative_rs(4, 2, 3).with_merge(method);
        let back: Strategy = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
