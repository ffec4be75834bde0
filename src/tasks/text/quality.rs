//! [`SummaryQuality`]: length, distinctness and emptiness of generated summaries.

use std::collections::HashSet;

/// Length, distinctness and emptiness of a set of generated summaries (what
/// `examples/summarize.rs` reports per policy beside the rewards).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummaryQuality {
    /// Mean whitespace-separated words per summary.
    pub words: f64,
    /// Fraction of distinct summaries.
    pub unique: f64,
    /// Fraction of empty (or whitespace-only) summaries.
    pub empty: f64,
}

impl SummaryQuality {
    /// Measure `texts` (all zeros for none).
    ///
    /// ```
    /// use multireward::tasks::text::SummaryQuality;
    /// let q = SummaryQuality::measure(&["a b", "a b", " "]);
    /// assert_eq!((q.words, q.empty), (4.0 / 3.0, 1.0 / 3.0));
    /// assert!((q.unique - 2.0 / 3.0).abs() < 1e-12);
    /// ```
    pub fn measure<S: AsRef<str>>(texts: &[S]) -> Self {
        let n = texts.len().max(1) as f64;
        let words: usize = texts
            .iter()
            .map(|t| t.as_ref().split_whitespace().count())
            .sum();
        let unique: HashSet<&str> = texts.iter().map(AsRef::as_ref).collect();
        let empty = texts
            .iter()
            .filter(|t| t.as_ref().trim().is_empty())
            .count();
        Self {
            words: words as f64 / n,
            unique: unique.len() as f64 / n,
            empty: empty as f64 / n,
        }
    }
}
