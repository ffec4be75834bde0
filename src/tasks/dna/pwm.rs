//! Transcription-factor motifs: JASPAR count matrices, position weight matrices and motif
//! occupancy, computed as Biopython's `Bio.motifs` does (checked against Biopython 1.88 in
//! `tests/dna_pwm.rs`).
//!
//! - [`Pfm`], a count matrix from `assets/dna/jaspar2024.tsv` ([`load_jaspar`], or the copy
//!   embedded in the library, [`jaspar2024`]).
//! - [`Pwm::from_counts`] as `motif.counts.normalize(pseudocounts=p).log_odds(background)`:
//!   probabilities `(count + p) / Σ_b (count_b + p)` per position, log-odds
//!   `log2(probability / background)` in **bits**, `-inf` where a probability is 0.
//! - [`Pwm::scores`] / [`Pwm::scores_both_strands`]: log-odds of every window, as
//!   `pssm.calculate(seq)` and `pssm.reverse_complement().calculate(seq)` (Biopython returns
//!   `float32`; we keep `f64`).
//! - [`occupancy`] = `ln Σ exp(ln 2 · score)` over motifs, windows and both strands, in **nats**
//!   (log-sum-exp, stable).
//!
//! Sequences may be upper or lower case `ACGT`; any other character (`N` included) is a
//! [`DnaError::InvalidBase`] (Biopython scores such windows as NaN instead).

use std::f64::consts::LN_2;
use std::path::{Path, PathBuf};

use super::DnaError;
use super::data::encode;
use crate::data::read_lines;

/// Uniform background base frequencies (A, C, G, T), Biopython's default.
pub const UNIFORM_BACKGROUND: [f64; 4] = [0.25; 4];

/// Group name of the SK-N-SH (neuroblastoma) matrices in `assets/dna/jaspar2024.tsv`: GATA2,
/// PHOX2B, HAND2, ASCL1, ISL1. The other groups are the [`CellType`](super::CellType) names
/// `HepG2` and `K562`, and `control` (REST, CTCF).
pub const SK_N_SH: &str = "SK-N-SH";

/// Group name of the matrices that evaluate the SK-N-SH objective independently of its
/// training reward: other JASPAR profiles of the same binding specificities (PHOX2A,
/// Hand1::Tcf3, ASCL1 MA1631.2, ISL2, Gata3), never used for training.
pub const SK_N_SH_EVAL: &str = "SK-N-SH-eval";

/// The bases in row order.
const BASES: [&str; 4] = ["A", "C", "G", "T"];

/// A position frequency (count) matrix, as in JASPAR.
#[derive(Debug, Clone, PartialEq)]
pub struct Pfm {
    /// JASPAR matrix id, e.g. `MA0114.5`.
    pub id: String,
    /// Transcription-factor name as in JASPAR, e.g. `HNF4A`.
    pub name: String,
    /// Groups (cell types) the matrix serves, e.g. `["K562", "SK-N-SH"]`; see [`SK_N_SH`].
    pub groups: Vec<String>,
    /// Counts per motif position, in base order A, C, G, T (non-negative; totals may differ
    /// between positions).
    pub counts: Vec<[f64; 4]>,
}

impl Pfm {
    /// Motif length L (positions).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the matrix has no positions (never true for a parsed matrix).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Whether the matrix serves `group` (exact name).
    pub fn serves(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// Location of the committed JASPAR 2024 matrices: `assets/dna/jaspar2024.tsv` in the crate.
pub fn jaspar_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("dna")
        .join("jaspar2024.tsv")
}

/// Read a matrix file in the format of `assets/dna/README.md`: `#` comments and blank lines
/// ignored; per matrix a header `>id<TAB>name[<TAB>group,group…]`, then the rows `A`, `C`,
/// `G`, `T` (in that order), each with the same number L ≥ 1 of non-negative counts.
/// Errors name the file and the 1-based line.
pub fn load_jaspar(path: &Path) -> Result<Vec<Pfm>, DnaError> {
    parse_jaspar(read_lines(path)?.iter().map(String::as_str), path)
}

/// The 16 matrices of `assets/dna/jaspar2024.tsv`, embedded in the library at build time (the
/// same as `load_jaspar(&jaspar_path())`).
pub fn jaspar2024() -> Result<Vec<Pfm>, DnaError> {
    let text = include_str!("../../../assets/dna/jaspar2024.tsv");
    parse_jaspar(text.lines(), &jaspar_path())
}

fn parse_jaspar<'a>(
    lines: impl Iterator<Item = &'a str>,
    path: &Path,
) -> Result<Vec<Pfm>, DnaError> {
    let parse = |line: usize, message: String| DnaError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    // The matrix being read: its header's line, the matrix (counts empty) and its rows.
    let mut current: Option<(usize, Pfm, Vec<Vec<f64>>)> = None;
    let mut out: Vec<Pfm> = Vec::new();
    let finish = |current: Option<(usize, Pfm, Vec<Vec<f64>>)>,
                  out: &mut Vec<Pfm>,
                  at: usize|
     -> Result<(), DnaError> {
        let Some((header, mut pfm, rows)) = current else {
            return Ok(());
        };
        if rows.len() != 4 {
            return Err(parse(
                at,
                format!(
                    "matrix {} (line {header}) has {} of the 4 rows A, C, G, T",
                    pfm.id,
                    rows.len()
                ),
            ));
        }
        if out.iter().any(|p| p.id == pfm.id) {
            return Err(parse(header, format!("duplicate matrix id {}", pfm.id)));
        }
        pfm.counts = (0..rows[0].len())
            .map(|i| [rows[0][i], rows[1][i], rows[2][i], rows[3][i]])
            .collect();
        out.push(pfm);
        Ok(())
    };
    let mut last = 0;
    for (i, raw) in lines.enumerate() {
        let n = i + 1;
        last = n;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('>') {
            finish(current.take(), &mut out, n)?;
            let f: Vec<&str> = header.split('\t').collect();
            if !(2..=3).contains(&f.len()) || f[0].is_empty() || f[1].is_empty() {
                return Err(parse(
                    n,
                    "expected a header `>id<TAB>name[<TAB>groups]`".into(),
                ));
            }
            let groups = f
                .get(2)
                .map(|g| {
                    g.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let pfm = Pfm {
                id: f[0].to_string(),
                name: f[1].to_string(),
                groups,
                counts: Vec::new(),
            };
            current = Some((n, pfm, Vec::with_capacity(4)));
            continue;
        }
        let Some((_, pfm, rows)) = current.as_mut() else {
            return Err(parse(n, "count row before any `>` header".into()));
        };
        let mut f = line.split('\t');
        let base = f.next().unwrap_or_default();
        let Some(&want) = BASES.get(rows.len()) else {
            return Err(parse(n, format!("matrix {} has more than 4 rows", pfm.id)));
        };
        if base != want {
            return Err(parse(
                n,
                format!("matrix {}: expected row {want}, got {base:?}", pfm.id),
            ));
        }
        let mut row = Vec::new();
        for (k, s) in f.enumerate() {
            let v: f64 = s.trim().parse().map_err(|e| {
                parse(
                    n,
                    format!("matrix {} row {want} count {}: {s:?}: {e}", pfm.id, k + 1),
                )
            })?;
            if !(v.is_finite() && v >= 0.0) {
                return Err(parse(
                    n,
                    format!(
                        "matrix {} row {want} count {}: {v} is not a non-negative number",
                        pfm.id,
                        k + 1
                    ),
                ));
            }
            row.push(v);
        }
        if row.is_empty() {
            return Err(parse(
                n,
                format!("matrix {} row {want} has no counts", pfm.id),
            ));
        }
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(parse(
                n,
                format!(
                    "matrix {} row {want} has {} counts, row A has {}",
                    pfm.id,
                    row.len(),
                    first.len()
                ),
            ));
        }
        rows.push(row);
    }
    finish(current, &mut out, last + 1)?;
    if out.is_empty() {
        return Err(parse(last + 1, "no matrices in file".into()));
    }
    Ok(out)
}

/// A position weight matrix: per-position base probabilities and log-odds scores (bits)
/// against a background, for the forward strand and its reverse complement.
#[derive(Debug, Clone, PartialEq)]
pub struct Pwm {
    id: String,
    name: String,
    probabilities: Vec<[f64; 4]>,
    log_odds: Vec<[f64; 4]>,
    rc_log_odds: Vec<[f64; 4]>,
}

impl Pwm {
    /// The weight matrix of `pfm`, exactly as Biopython's
    /// `motif.counts.normalize(pseudocounts=pseudocount).log_odds(background)`:
    ///
    /// - probability of base b at position i: `(n_ib + pseudocount) / Σ_b' (n_ib' + pseudocount)`
    ///   (the same pseudocount for every base; each position normalised by its own total);
    /// - background: `background / Σ background` (A, C, G, T; need not sum to 1);
    /// - log-odds: `log2(probability / background_b)` in bits, `-inf` where the probability
    ///   is 0 (a zero count with pseudocount 0).
    ///
    /// Errors ([`DnaError::InvalidMatrix`]): a negative or non-finite pseudocount, a
    /// background entry that is not finite and > 0 (Biopython would give `+inf`/NaN scores), a
    /// negative or non-finite count, an empty matrix, or a position whose total is 0.
    pub fn from_counts(
        pfm: &Pfm,
        pseudocount: f64,
        background: [f64; 4],
    ) -> Result<Self, DnaError> {
        let invalid = |message: String| DnaError::InvalidMatrix {
            id: pfm.id.clone(),
            message,
        };
        if !(pseudocount.is_finite() && pseudocount >= 0.0) {
            return Err(invalid(format!(
                "pseudocount {pseudocount} is not a non-negative number"
            )));
        }
        if background.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
            return Err(invalid(format!(
                "background {background:?} must be finite and positive"
            )));
        }
        if pfm.counts.is_empty() {
            return Err(invalid("matrix has no positions".into()));
        }
        let total_bg: f64 = background.iter().sum();
        let bg = background.map(|b| b / total_bg);
        let mut probabilities = Vec::with_capacity(pfm.len());
        let mut log_odds = Vec::with_capacity(pfm.len());
        for (i, column) in pfm.counts.iter().enumerate() {
            if column.iter().any(|c| !(c.is_finite() && *c >= 0.0)) {
                return Err(invalid(format!(
                    "position {}: counts {column:?} must be finite and non-negative",
                    i + 1
                )));
            }
            let c = column.map(|c| c + pseudocount);
            let total: f64 = c.iter().sum();
            if total <= 0.0 {
                return Err(invalid(format!(
                    "position {}: total count is 0 (add a pseudocount)",
                    i + 1
                )));
            }
            let p = c.map(|c| c / total);
            // Biopython: math.log(p / b, 2), i.e. ln(p / b) / ln 2; -inf for p = 0.
            let lo: [f64; 4] = std::array::from_fn(|b| {
                if p[b] > 0.0 {
                    (p[b] / bg[b]).ln() / LN_2
                } else {
                    f64::NEG_INFINITY
                }
            });
            probabilities.push(p);
            log_odds.push(lo);
        }
        let rc_log_odds = reverse_complement(&log_odds);
        Ok(Self {
            id: pfm.id.clone(),
            name: pfm.name.clone(),
            probabilities,
            log_odds,
            rc_log_odds,
        })
    }

    /// JASPAR matrix id of the source [`Pfm`].
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Transcription-factor name of the source [`Pfm`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Motif length L (positions).
    pub fn len(&self) -> usize {
        self.log_odds.len()
    }

    /// Whether the matrix has no positions (never true: [`from_counts`](Self::from_counts)
    /// rejects empty matrices).
    pub fn is_empty(&self) -> bool {
        self.log_odds.is_empty()
    }

    /// Base probabilities per position (A, C, G, T; each row sums to 1), with the pseudocount.
    pub fn probabilities(&self) -> &[[f64; 4]] {
        &self.probabilities
    }

    /// Log-odds per position (A, C, G, T), in bits; `-inf` for a zero probability.
    pub fn log_odds(&self) -> &[[f64; 4]] {
        &self.log_odds
    }

    /// The matrix of the reverse-complement strand (positions reversed, A↔T, C↔G), as
    /// Biopython's `pssm.reverse_complement()`.
    pub fn reverse_complement(&self) -> Self {
        Self {
            id: self.id.clone(),
            name: self.name.clone(),
            probabilities: reverse_complement(&self.probabilities),
            log_odds: self.rc_log_odds.clone(),
            rc_log_odds: self.log_odds.clone(),
        }
    }

    /// Highest possible window score (bits): the sum of the per-position maxima (Biopython's
    /// `pssm.max`).
    pub fn max_score(&self) -> f64 {
        self.log_odds
            .iter()
            .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .sum()
    }

    /// Lowest possible window score (bits; `-inf` with zero probabilities): the sum of the
    /// per-position minima (Biopython's `pssm.min`).
    pub fn min_score(&self) -> f64 {
        self.log_odds
            .iter()
            .map(|r| r.iter().copied().fold(f64::INFINITY, f64::min))
            .sum()
    }

    /// Forward-strand log-odds (bits) of the window starting at each position
    /// `0..=len(seq) - L`, as Biopython's `pssm.calculate(seq)`; empty when the sequence is
    /// shorter than the motif. Errors on characters other than `ACGTacgt`.
    pub fn scores(&self, seq: &str) -> Result<Vec<f64>, DnaError> {
        Ok(window_scores(&self.log_odds, &encode(seq)?))
    }

    /// Forward and reverse-complement log-odds (bits) of the window starting at each position
    /// (the same start positions on both strands), as `pssm.calculate(seq)` and
    /// `pssm.reverse_complement().calculate(seq)`; both empty when the sequence is shorter than
    /// the motif. Errors on characters other than `ACGTacgt`.
    pub fn scores_both_strands(&self, seq: &str) -> Result<(Vec<f64>, Vec<f64>), DnaError> {
        let bases = encode(seq)?;
        Ok((
            window_scores(&self.log_odds, &bases),
            window_scores(&self.rc_log_odds, &bases),
        ))
    }
}

/// The [`Pwm`]s of the matrices serving `group` (see [`Pfm::serves`]), in file order, with
/// the given pseudocount and background (see [`Pwm::from_counts`]).
pub fn group_pwms(
    pfms: &[Pfm],
    group: &str,
    pseudocount: f64,
    background: [f64; 4],
) -> Result<Vec<Pwm>, DnaError> {
    pfms.iter()
        .filter(|p| p.serves(group))
        .map(|p| Pwm::from_counts(p, pseudocount, background))
        .collect()
}

/// Motif occupancy of `seq` in **nats**: `ln Σ_m Σ_i Σ_strand exp(ln 2 · s_{m,i,strand})`, a
/// soft maximum over every window of every motif on both strands, where `s` is the log-odds
/// score in bits ([`Pwm::scores_both_strands`]), so each term is the likelihood ratio of the
/// window under motif vs background. Computed stably (running log-sum-exp).
///
/// `-inf` when there is no window (no motifs, or every motif longer than the sequence) or every
/// window scores `-inf`. Errors on characters other than `ACGTacgt`.
pub fn occupancy(seq: &str, pwms: &[Pwm]) -> Result<f64, DnaError> {
    let bases = encode(seq)?;
    let mut acc = LogSumExp::default();
    for pwm in pwms {
        for m in [&pwm.log_odds, &pwm.rc_log_odds] {
            for s in window_scores(m, &bases) {
                acc.add(s * LN_2);
            }
        }
    }
    Ok(acc.value())
}

/// Reverse complement of a per-position A, C, G, T table.
fn reverse_complement(m: &[[f64; 4]]) -> Vec<[f64; 4]> {
    m.iter().rev().map(|r| [r[3], r[2], r[1], r[0]]).collect()
}

/// Window sums of `m` over `bases` (indices 0..4), positions added left to right as in
/// Biopython's C loop.
fn window_scores(m: &[[f64; 4]], bases: &[u8]) -> Vec<f64> {
    let l = m.len();
    if l == 0 || bases.len() < l {
        return Vec::new();
    }
    bases
        .windows(l)
        .map(|w| {
            w.iter()
                .zip(m)
                .fold(0.0, |acc, (&b, row)| acc + row[usize::from(b)])
        })
        .collect()
}

/// Streaming log-sum-exp: `ln Σ exp(x)`, rescaled whenever the maximum grows.
#[derive(Debug, Clone, Copy)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl Default for LogSumExp {
    fn default() -> Self {
        Self {
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }
}

impl LogSumExp {
    fn add(&mut self, x: f64) {
        if x == f64::NEG_INFINITY {
            return;
        }
        if x > self.max {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        } else {
            self.sum += (x - self.max).exp();
        }
    }

    fn value(self) -> f64 {
        if self.sum == 0.0 {
            f64::NEG_INFINITY
        } else {
            self.max + self.sum.ln()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
