//! ROUGE-L (longest common subsequence) between a generated summary and a human reference,
//! bit-identical to Google's `rouge-score` 0.1.2 (its tokenizer: lower-case, non-alphanumerics
//! to spaces; optionally NLTK's Porter stemmer on tokens longer than 3 characters), through the
//! `rougers` crate. Checked against a committed rouge-score fixture (`tests/rouge.rs`).

use crate::reward::{Reward, RewardError, Sample};
use rougers::{RougeScorer, RougeType};
use std::collections::HashMap;

/// ROUGE-L precision, recall and F1 of a prediction against a reference (each in [0, 1]; all 0
/// when either side has no tokens).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RougeScore {
    /// LCS length / prediction tokens.
    pub precision: f64,
    /// LCS length / reference tokens.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// A ROUGE-L scorer.
#[derive(Debug, Clone)]
pub struct RougeL {
    scorer: RougeScorer,
}

impl RougeL {
    /// A scorer, with rouge-score's Porter stemming when `stemmer` (the common setting for
    /// summarisation, `use_stemmer=True`).
    pub fn new(stemmer: bool) -> Self {
        Self {
            scorer: RougeScorer::new(["rougeL"], stemmer).expect("rougeL is a ROUGE type"),
        }
    }

    /// ROUGE-L of `prediction` against `reference` (rouge-score's `score(target, prediction)`).
    pub fn score(&self, reference: &str, prediction: &str) -> RougeScore {
        let s = self
            .scorer
            .score(reference, prediction)
            .get(RougeType::L)
            .unwrap_or_default();
        RougeScore {
            precision: s.precision,
            recall: s.recall,
            f1: s.fmeasure,
        }
    }
}

/// The reference-agreement objective: ROUGE-L F1 of a completion against the human reference
/// of its prompt (e.g. a package description's synopsis). A sample whose prompt has no
/// reference is not applicable (`None`).
#[derive(Debug, Clone)]
pub struct RougeReward {
    name: String,
    rouge: RougeL,
    references: HashMap<String, String>,
}

impl RougeReward {
    /// A reward named `name` over `(prompt, reference)` pairs (a repeated prompt keeps its last
    /// reference), with or without stemming.
    pub fn new(
        name: impl Into<String>,
        references: impl IntoIterator<Item = (String, String)>,
        stemmer: bool,
    ) -> Self {
        Self {
            name: name.into(),
            rouge: RougeL::new(stemmer),
            references: references.into_iter().collect(),
        }
    }
}

impl Reward for RougeReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        Ok(samples
            .iter()
            .map(|s| {
                self.references
                    .get(s.prompt)
                    .map(|r| self.rouge.score(r, s.completion).f1)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_scores_against_the_prompts_reference() {
        let r = RougeReward::new(
            "rougeL",
            [(
                "long text".to_string(),
                "the cat sat on the mat".to_string(),
            )],
            true,
        );
        let samples = [
            Sample {
                prompt: "long text",
                completion: "The cat sat on the mat!",
            },
            Sample {
                prompt: "long text",
                completion: "a dog",
            },
            Sample {
                prompt: "unknown",
                completion: "the cat",
            },
        ];
        assert_eq!(r.score(&samples).unwrap(), [Some(1.0), Some(0.0), None]);
        let s = RougeL::new(false).score("police killed the gunman", "the gunman police");
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12 && (s.recall - 0.5).abs() < 1e-12);
    }
}
