//! Realism metrics of generated DNA against real sequences: GC content, the k-mer spectrum and
//! its correlation with a reference set, and motif hit counts.

use super::pwm::Pwm;

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
        let pfm = crate::tasks::dna::pwm::gata_test_matrix();
        let pwm = Pwm::from_counts(&pfm, 0.1, [0.25; 4]).unwrap();
        // GATA forward once, TATC (reverse complement of GATA) once.
        let pwms = [pwm];
        assert_eq!(motif_hits("CCGATACCTATCC", &pwms, 0.9), 2);
        assert_eq!(motif_hits("CCCCCCCC", &pwms, 0.9), 0);
        assert_eq!(motif_hits("CCNN", &pwms, 0.9), 0);
    }
}
