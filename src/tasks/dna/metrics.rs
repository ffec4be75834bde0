//! Realism metrics of generated DNA against real sequences: GC content, the k-mer spectrum and
//! its correlation with a reference set, motif hit counts, and [`Realism`], which gathers them
//! per policy.

use super::pwm::Pwm;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// Length of the DHS sites and of the generated sequences, in bases.
pub const SITE_BP: usize = 200;

/// Relative PWM score (of the way from the minimum to the maximum) that [`Realism`] counts as a
/// motif hit.
pub const HIT_THRESHOLD: f64 = 0.85;

/// How much generated sequences look like real sites: what `examples/dna.rs` reports per
/// policy (and for the real test sites themselves).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Realism {
    /// Fraction of sequences exactly [`SITE_BP`] bases long.
    pub exactly_200bp: f64,
    /// Fraction of distinct sequences.
    pub uniqueness: f64,
    /// GC content over all bases ([`gc_content`]).
    pub gc: f64,
    /// 4-mer spectrum correlation with each named set of real sequences
    /// ([`spectrum_correlation`]).
    pub spectrum_r: BTreeMap<String, f64>,
    /// Motif hits per sequence for each named matrix group ([`motif_hits`] at
    /// [`HIT_THRESHOLD`]).
    pub motif_hits_per_seq: BTreeMap<String, f64>,
}

impl Realism {
    /// Measure `seqs` against named sets of real sequences and named motif groups.
    pub fn measure<S: AsRef<str>, R: AsRef<str>>(
        seqs: &[S],
        references: &[(&str, &[R])],
        motif_groups: &[(&str, &[Pwm])],
    ) -> Self {
        let n = seqs.len().max(1) as f64;
        let unique: HashSet<&str> = seqs.iter().map(AsRef::as_ref).collect();
        Self {
            exactly_200bp: seqs.iter().filter(|s| s.as_ref().len() == SITE_BP).count() as f64 / n,
            uniqueness: unique.len() as f64 / n,
            gc: gc_content(seqs),
            spectrum_r: references
                .iter()
                .map(|(name, real)| (name.to_string(), spectrum_correlation(seqs, real, 4)))
                .collect(),
            motif_hits_per_seq: motif_groups
                .iter()
                .map(|(name, group)| {
                    let hits: usize = seqs
                        .iter()
                        .map(|s| motif_hits(s.as_ref(), group, HIT_THRESHOLD))
                        .sum();
                    (name.to_string(), hits as f64 / n)
                })
                .collect(),
        }
    }

    /// Header of a Markdown table of [`Realism::markdown_row`]s with the reference and motif
    /// group columns in the given order.
    pub fn markdown_header(references: &[&str], groups: &[&str]) -> String {
        let mut md = String::from("| Policy | Seed | 200 bp | Unique | GC |");
        for r in references {
            let _ = write!(md, " 4-mer r ({r}) |");
        }
        for g in groups {
            let _ = write!(md, " {g} hits |");
        }
        md.push_str(" KL to pretrained |\n|");
        md.push_str(&"---|".repeat(6 + references.len() + groups.len()));
        md.push('\n');
        md
    }

    /// One Markdown row (`n/a` for a reference or group not measured).
    pub fn markdown_row(
        &self,
        (policy, seed, kl): (&str, &str, &str),
        references: &[&str],
        groups: &[&str],
    ) -> String {
        let get = |m: &BTreeMap<String, f64>, k: &str, d: usize| {
            m.get(k).map_or("n/a".into(), |x| format!("{x:.d$}"))
        };
        let mut md = format!(
            "| {policy} | {seed} | {:.1} % | {:.1} % | {:.3} |",
            100.0 * self.exactly_200bp,
            100.0 * self.uniqueness,
            self.gc
        );
        for r in references {
            let _ = write!(md, " {} |", get(&self.spectrum_r, r, 3));
        }
        for g in groups {
            let _ = write!(md, " {} |", get(&self.motif_hits_per_seq, g, 2));
        }
        let _ = writeln!(md, " {kl} |");
        md
    }
}

/// Fraction of `G`/`C` bases (either case) over all bases of `seqs` (0 for no bases).
pub fn gc_content<S: AsRef<str>>(seqs: &[S]) -> f64 {
    let (gc, all) = seqs.iter().fold((0usize, 0usize), |(g, a), s| {
        let s = s.as_ref().as_bytes();
        (
            g + s
                .iter()
                .filter(|b| matches!(b, b'G' | b'C' | b'g' | b'c'))
                .count(),
            a + s.len(),
        )
    });
    gc as f64 / all.max(1) as f64
}

/// Overlapping k-mer frequencies of `seqs` (4^k entries in lexicographic `ACGT` order, summing
/// to 1; windows holding another character are skipped; all zeros if no window counts).
///
/// # Panics
/// If `k` is 0 or above 10 (a programming error: 4^10 entries is the most this is meant for).
pub fn kmer_spectrum<S: AsRef<str>>(seqs: &[S], k: usize) -> Vec<f64> {
    assert!((1..=10).contains(&k), "k = {k}, expected 1..=10");
    let mut counts = vec![0.0; 1 << (2 * k)];
    for s in seqs {
        for w in s.as_ref().as_bytes().windows(k) {
            let idx = w.iter().try_fold(0usize, |acc, c| {
                let i = match c {
                    b'A' | b'a' => 0,
                    b'C' | b'c' => 1,
                    b'G' | b'g' => 2,
                    b'T' | b't' => 3,
                    _ => return None,
                };
                Some(acc * 4 + i)
            });
            if let Some(i) = idx {
                counts[i] += 1.0;
            }
        }
    }
    let total: f64 = counts.iter().sum();
    if total > 0.0 {
        counts.iter_mut().for_each(|c| *c /= total);
    }
    counts
}

/// Pearson correlation of two equally long series (NaN when either is constant or empty).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Correlation of the k-mer spectra of `seqs` and `reference` ([`kmer_spectrum`],
/// [`pearson`]).
pub fn spectrum_correlation<S: AsRef<str>, R: AsRef<str>>(
    seqs: &[S],
    reference: &[R],
    k: usize,
) -> f64 {
    pearson(&kmer_spectrum(seqs, k), &kmer_spectrum(reference, k))
}

/// Motif hits in `seq`: windows, on either strand, of any of `pwms` whose log-odds score
/// reaches `relative` of the way from the matrix's minimum to its maximum score (0.85 is a
/// common threshold; MOODS/Biopython users often take 0.8–0.9). Invalid sequences have no
/// hits.
pub fn motif_hits(seq: &str, pwms: &[Pwm], relative: f64) -> usize {
    pwms.iter()
        .map(|m| {
            let threshold = m.min_score() + relative * (m.max_score() - m.min_score());
            m.scores_both_strands(seq).map_or(0, |(fwd, rev)| {
                fwd.iter().chain(&rev).filter(|&&s| s >= threshold).count()
            })
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realism_of_sequences() {
        let a = "ACGT".repeat(50);
        let b = "GGCC".repeat(50);
        let seqs = [a.as_str(), a.as_str(), b.as_str(), "ACGT"];
        let real = [a.as_str()];
        let r = Realism::measure(&seqs, &[("real", &real[..])], &[]);
        assert_eq!(r.exactly_200bp, 0.75);
        assert_eq!(r.uniqueness, 0.75);
        assert!((r.gc - gc_content(&seqs)).abs() < 1e-15);
        assert!(r.spectrum_r["real"] > 0.0 && r.spectrum_r["real"] < 1.0);
        assert!(r.motif_hits_per_seq.is_empty());
        let header = Realism::markdown_header(&["real"], &["X"]);
        assert!(header.starts_with("| Policy | Seed | 200 bp | Unique | GC | 4-mer r (real) |"));
        assert_eq!(header.lines().nth(1).unwrap().matches("---").count(), 8);
        let row = r.markdown_row(("P", "0", "1.00"), &["real"], &["X"]);
        assert!(row.starts_with("| P | 0 | 75.0 % | 75.0 % | "), "{row}");
        assert!(row.ends_with("| n/a | 1.00 |\n"), "{row}");
    }

    #[test]
    fn gc_and_spectrum() {
        assert_eq!(gc_content(&["GCAT", "gg"]), 4.0 / 6.0);
        assert_eq!(gc_content::<&str>(&[]), 0.0);
        let s = kmer_spectrum(&["ACGTN", "AC"], 2);
        assert_eq!(s.len(), 16);
        // AC twice, CG, GT once each; GN skipped.
        assert_eq!(s[1], 0.5);
        assert_eq!(s[6], 0.25);
        assert_eq!(s[11], 0.25);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9986).abs() < 1e-3);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        assert!((spectrum_correlation(&["ACGTTA"], &["ACGTTA", "ACGTTA"], 2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn hits_count_both_strands() {
        let pfm = crate::tasks::dna::pwm::tests::gata_test_matrix();
        let pwm = Pwm::from_counts(&pfm, 0.1, [0.25; 4]).unwrap();
        // GATA forward once, TATC (reverse complement of GATA) once.
        let pwms = [pwm];
        assert_eq!(motif_hits("CCGATACCTATCC", &pwms, 0.9), 2);
        assert_eq!(motif_hits("CCCCCCCC", &pwms, 0.9), 0);
        assert_eq!(motif_hits("CCNN", &pwms, 0.9), 0);
    }
}
