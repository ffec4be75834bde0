//! The DNA domain's data and motif scores: PWM log-odds, per-position scores on both strands and
//! occupancy against Biopython 1.88 (fixture written by `scripts/make-pwm-fixture.py`), and the
//! committed DHS file against its documented counts (`data/README.md`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use multireward::data::read_lines;
use multireward::tasks::dna::{
    CellType, DnaError, Pfm, Pwm, SK_N_SH, SK_N_SH_EVAL, Split, dhs_path, group_pwms, jaspar_path,
    jaspar2024, load_dhs, load_jaspar, occupancy,
};

/// Agreement required with Biopython (log-odds and scores in bits, occupancy in nats).
const TOL: f64 = 1e-4;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/biopython/pwm.tsv.gz")
}

fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|e| panic!("fixture number {s:?}: {e}"))
}

/// Largest absolute difference seen, and the number of values compared.
#[derive(Default)]
struct Agreement {
    max_abs: f64,
    n: usize,
}

impl Agreement {
    /// Require `got` ≈ `want` (infinities must match exactly).
    fn check(&mut self, got: f64, want: f64, what: &dyn Fn() -> String) {
        self.n += 1;
        if want.is_infinite() || got.is_infinite() {
            assert_eq!(got, want, "{}", what());
            return;
        }
        let d = (got - want).abs();
        assert!(
            d <= TOL,
            "{}: got {got}, Biopython {want} (diff {d})",
            what()
        );
        self.max_abs = self.max_abs.max(d);
    }
}

#[test]
fn pwm_matches_biopython() {
    let start = Instant::now();
    let pfms: HashMap<String, Pfm> = load_jaspar(&jaspar_path())
        .unwrap()
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let lines = read_lines(&fixture_path()).unwrap();
    let records: Vec<Vec<&str>> = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();

    let mut seqs: HashMap<&str, &str> = HashMap::new();
    // Configuration -> motif id -> weight matrix (the motifs of its `logodds` records).
    let mut configs: HashMap<&str, (f64, [f64; 4])> = HashMap::new();
    let mut pwms: HashMap<&str, BTreeMap<&str, Pwm>> = HashMap::new();
    for r in &records {
        match r[0] {
            "seq" => {
                seqs.insert(r[1], r[2]);
            }
            "config" => {
                let bg = [num(r[3]), num(r[4]), num(r[5]), num(r[6])];
                configs.insert(r[1], (num(r[2]), bg));
            }
            "logodds" => {
                let (pc, bg) = configs[r[1]];
                pwms.entry(r[1])
                    .or_default()
                    .entry(r[2])
                    .or_insert_with(|| Pwm::from_counts(&pfms[r[2]], pc, bg).unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(configs.len(), 3);
    assert_eq!(pwms["p0.5"].len(), 21);
    assert_eq!(seqs.len(), 26);

    let (mut lo, mut scores, mut occ) = (
        Agreement::default(),
        Agreement::default(),
        Agreement::default(),
    );
    let mut neg_inf = 0;
    for r in &records {
        match r[0] {
            "logodds" => {
                let pwm = &pwms[r[1]][r[2]];
                let b = "ACGT".find(r[3]).unwrap();
                assert_eq!(pwm.len(), r.len() - 4, "{} length", r[2]);
                for (i, v) in r[4..].iter().enumerate() {
                    let want = num(v);
                    neg_inf += usize::from(want == f64::NEG_INFINITY);
                    lo.check(pwm.log_odds()[i][b], want, &|| {
                        format!("{} {} log-odds {}[{i}]", r[1], r[2], r[3])
                    });
                }
            }
            "fwd" | "rev" => {
                let pwm = &pwms[r[1]][r[2]];
                let (f, rc) = pwm.scores_both_strands(seqs[r[3]]).unwrap();
                let got = if r[0] == "fwd" { f } else { rc };
                let want: Vec<f64> = r[4..].iter().map(|v| num(v)).collect();
                assert_eq!(got.len(), want.len(), "{} {} {} {}", r[0], r[1], r[2], r[3]);
                if r[0] == "fwd" {
                    assert_eq!(got, pwm.scores(seqs[r[3]]).unwrap());
                }
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    scores.check(g, w, &|| {
                        format!("{} {} {} {} [{i}]", r[0], r[1], r[2], r[3])
                    });
                }
            }
            "occ" => {
                let all = &pwms[r[1]];
                let set: Vec<Pwm> = match r[2] {
                    "all" => all.values().cloned().collect(),
                    id if all.contains_key(id) => vec![all[id].clone()],
                    group => {
                        let members: Vec<Pfm> =
                            pfms.values().filter(|p| p.serves(group)).cloned().collect();
                        assert!(!members.is_empty(), "unknown motif set {group}");
                        members.iter().map(|p| all[p.id.as_str()].clone()).collect()
                    }
                };
                let got = occupancy(seqs[r[3]], &set).unwrap();
                occ.check(got, num(r[4]), &|| {
                    format!("occupancy {} {} {}", r[1], r[2], r[3])
                });
            }
            _ => {}
        }
    }
    assert!(
        neg_inf > 0,
        "the p0 configuration must exercise -inf log-odds"
    );
    assert!(lo.n > 1000 && scores.n > 100_000 && occ.n > 400);
    eprintln!(
        "Biopython agreement (max abs diff / values): log-odds {:.2e} / {}, scores {:.2e} / {}, \
         occupancy {:.2e} / {} ({neg_inf} -inf log-odds); {:.2?}",
        lo.max_abs,
        lo.n,
        scores.max_abs,
        scores.n,
        occ.max_abs,
        occ.n,
        start.elapsed()
    );
}

#[test]
fn embedded_matrices_equal_the_asset_file() {
    let pfms = load_jaspar(&jaspar_path()).unwrap();
    assert_eq!(pfms, jaspar2024().unwrap());
    assert_eq!(pfms.len(), 21);
    let hnf4a = pfms.iter().find(|p| p.id == "MA0114.5").unwrap();
    assert_eq!((hnf4a.name.as_str(), hnf4a.len()), ("HNF4A", 9));
    assert_eq!(hnf4a.counts[0], [1468.0, 41443.0, 1237.0, 2356.0]);
    for group in ["HepG2", "K562", SK_N_SH, SK_N_SH_EVAL, "control"] {
        assert!(pfms.iter().any(|p| p.serves(group)), "{group}");
    }
}

#[test]
fn dhs_file_has_the_documented_counts() {
    let start = Instant::now();
    let rows = load_dhs(&dhs_path()).unwrap();
    assert_eq!(rows.len(), 47_872);
    assert!(rows.iter().all(|r| r.sequence.len() == 200));
    let mut table: HashMap<(CellType, Split), usize> = HashMap::new();
    for r in &rows {
        *table.entry((r.cell_type, r.split)).or_default() += 1;
    }
    let count = |s: Split| CellType::ALL.iter().map(|&c| table[&(c, s)]).sum::<usize>();
    assert_eq!(
        [count(Split::Train), count(Split::Val), count(Split::Test)],
        [39_254, 4_053, 4_565]
    );
    // data/README.md: train / val / test per cell type.
    let documented: [(CellType, [usize; 3]); 4] = [
        (CellType::HepG2, [9_833, 1_177, 958]),
        (CellType::K562, [9_769, 878, 1_321]),
        (CellType::Gm12878, [9_903, 1_021, 1_044]),
        (CellType::HEsc, [9_749, 977, 1_242]),
    ];
    for (c, n) in documented {
        assert_eq!(Split::ALL.map(|s| table[&(c, s)]), n, "{c} rows per split");
    }

    // Mean SK-N-SH occupancy (nats; pseudocount 0.5, uniform background) per cell type on the
    // validation split: printed for later reward design, only required to be finite.
    let pwms = group_pwms(&jaspar2024().unwrap(), SK_N_SH, 0.5, [0.25; 4]).unwrap();
    assert_eq!(pwms.len(), 5);
    for c in CellType::ALL {
        let occ: Vec<f64> = rows
            .iter()
            .filter(|r| r.split == Split::Val && r.cell_type == c)
            .map(|r| occupancy(&r.sequence, &pwms).unwrap())
            .collect();
        let mean = occ.iter().sum::<f64>() / occ.len() as f64;
        assert!(mean.is_finite());
        eprintln!(
            "SK-N-SH occupancy, val {c}: mean {mean:.4} nats over {} sequences",
            occ.len()
        );
    }
    eprintln!("DHS load + occupancy: {:.2?}", start.elapsed());
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-dna-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn malformed_files_are_typed_errors() {
    let parse_line = |r: Result<_, DnaError>| match r {
        Err(DnaError::Parse { line, .. }) => line,
        other => panic!("expected a parse error, got {other:?}"),
    };
    let dhs = |name: &str, text: &str| load_dhs(&temp_file(name, text)).map(|_| ());
    let header = "sequence\tcell_type\tsplit\n";
    assert_eq!(
        parse_line(dhs(
            "n.tsv",
            &format!("{header}ACGT\tK562\ttrain\nACNT\tK562\ttrain\n")
        )),
        3
    );
    assert_eq!(
        parse_line(dhs("c.tsv", &format!("{header}ACGT\tliver\ttrain\n"))),
        2
    );
    assert_eq!(
        parse_line(dhs("s.tsv", &format!("{header}ACGT\tK562\tdev\n"))),
        2
    );
    assert_eq!(
        parse_line(dhs("f.tsv", &format!("{header}ACGT\tK562\n"))),
        2
    );
    assert_eq!(parse_line(dhs("h.tsv", "seq\tcell_type\tsplit\n")), 1);
    assert_eq!(parse_line(dhs("e.tsv", "")), 1);
    let ok = load_dhs(&temp_file(
        "ok.tsv",
        "split\tsequence\tcell_type\tchr\ntest\tGATTACA\thESC\tchr1\n",
    ))
    .unwrap();
    assert_eq!(
        (ok[0].sequence.as_str(), ok[0].cell_type, ok[0].split),
        ("GATTACA", CellType::HEsc, Split::Test)
    );
    assert!(matches!(
        load_dhs(Path::new("/nonexistent/dna.tsv.gz")),
        Err(DnaError::Io(_))
    ));

    let jaspar = |name: &str, text: &str| load_jaspar(&temp_file(name, text)).map(|_| ());
    let good = ">M1\tX\tg\nA\t1\t2\nC\t1\t2\nG\t1\t2\nT\t1\t2\n";
    assert_eq!(
        load_jaspar(&temp_file("good.tsv", good)).unwrap()[0].len(),
        2
    );
    assert_eq!(parse_line(jaspar("order.tsv", ">M1\tX\nC\t1\n")), 2);
    assert_eq!(
        parse_line(jaspar("short.tsv", ">M1\tX\nA\t1\nC\t1\nG\t1\n>M2\tY\n")),
        5
    );
    assert_eq!(
        parse_line(jaspar("trunc.tsv", "# c\n>M1\tX\nA\t1\nC\t1\n")),
        5
    );
    assert_eq!(parse_line(jaspar("len.tsv", ">M1\tX\nA\t1\t2\nC\t1\n")), 3);
    assert_eq!(parse_line(jaspar("neg.tsv", ">M1\tX\nA\t-1\n")), 2);
    assert_eq!(parse_line(jaspar("nan.tsv", ">M1\tX\nA\tx\n")), 2);
    assert_eq!(parse_line(jaspar("row.tsv", "A\t1\n")), 1);
    assert_eq!(parse_line(jaspar("none.tsv", "# nothing\n")), 2);
    assert_eq!(parse_line(jaspar("dup.tsv", &format!("{good}{good}"))), 6);
    assert_eq!(
        parse_line(jaspar("five.tsv", &format!("{good}T\t1\t2\n"))),
        6
    );
}

#[test]
fn short_sequences_and_bad_bases() {
    let pfms = jaspar2024().unwrap();
    let pwms = group_pwms(&pfms, SK_N_SH, 0.5, [0.25; 4]).unwrap();
    let gata2 = &pwms[0];
    assert_eq!((gata2.id(), gata2.len()), ("MA0036.4", 7));
    assert!(gata2.scores("GATAAG").unwrap().is_empty());
    assert_eq!(gata2.scores("AGATAAG").unwrap().len(), 1);
    assert_eq!(occupancy("", &pwms).unwrap(), f64::NEG_INFINITY);
    assert_eq!(occupancy("ACGTACGT", &[]).unwrap(), f64::NEG_INFINITY);
    assert!(matches!(
        occupancy("ACGTNACGT", &pwms),
        Err(DnaError::InvalidBase {
            position: 4,
            found: 'N'
        })
    ));
    // The reverse-complement matrix scores the forward strand of the reverse complement.
    let seq = "TTAGATAAGGCTTATCTCCG";
    let rc: String = seq
        .chars()
        .rev()
        .map(|c| match c {
            'A' => 'T',
            'C' => 'G',
            'G' => 'C',
            _ => 'A',
        })
        .collect();
    let (_, rev) = gata2.scores_both_strands(seq).unwrap();
    let mut fwd_of_rc = gata2.scores(&rc).unwrap();
    fwd_of_rc.reverse();
    for (a, b) in rev.iter().zip(&fwd_of_rc) {
        assert!((a - b).abs() < 1e-12);
    }
    assert_eq!(gata2.reverse_complement().reverse_complement(), *gata2);
    assert!(gata2.max_score() > 0.0 && gata2.min_score() < 0.0);
    for p in gata2.probabilities() {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
