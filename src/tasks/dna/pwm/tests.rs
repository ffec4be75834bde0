//! Tests of the JASPAR reader, log-odds and occupancy.

use super::*;

fn pfm(counts: Vec<[f64; 4]>) -> Pfm {
    Pfm {
        id: "T1".into(),
        name: "t".into(),
        groups: vec![],
        counts,
    }
}

#[test]
fn log_sum_exp_is_stable() {
    let mut a = LogSumExp::default();
    for x in [1000.0, 1000.0, f64::NEG_INFINITY] {
        a.add(x);
    }
    assert!((a.value() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    assert_eq!(LogSumExp::default().value(), f64::NEG_INFINITY);
    let mut b = LogSumExp::default();
    for x in [-3.0, 2.0, 0.5] {
        b.add(x);
    }
    let want = [-3.0f64, 2.0, 0.5]
        .iter()
        .map(|x| x.exp())
        .sum::<f64>()
        .ln();
    assert!((b.value() - want).abs() < 1e-12);
}

#[test]
fn hand_computed_matrix() {
    // One position: counts A=3, C=1, G=0, T=0, pseudocount 0 -> p = (.75, .25, 0, 0).
    let pwm = Pwm::from_counts(&pfm(vec![[3.0, 1.0, 0.0, 0.0]]), 0.0, UNIFORM_BACKGROUND).unwrap();
    let lo = pwm.log_odds()[0];
    assert!((lo[0] - 3f64.log2()).abs() < 1e-12);
    assert!((lo[1] - 0.0).abs() < 1e-12);
    assert_eq!(lo[2], f64::NEG_INFINITY);
    assert_eq!(pwm.scores("AcGT").unwrap()[..2], [lo[0], lo[1]]);
    // Reverse strand of base b is the forward score of its complement.
    let (f, r) = pwm.scores_both_strands("T").unwrap();
    assert_eq!((f[0], r[0]), (f64::NEG_INFINITY, lo[0]));
    assert_eq!(pwm.max_score(), lo[0]);
    assert_eq!(pwm.min_score(), f64::NEG_INFINITY);
}

#[test]
fn invalid_inputs_are_typed_errors() {
    let p = pfm(vec![[0.0; 4]]);
    assert!(matches!(
        Pwm::from_counts(&p, 0.0, UNIFORM_BACKGROUND),
        Err(DnaError::InvalidMatrix { .. })
    ));
    let ok = Pwm::from_counts(&p, 0.5, UNIFORM_BACKGROUND).unwrap();
    assert!(matches!(
        Pwm::from_counts(&p, -1.0, UNIFORM_BACKGROUND),
        Err(DnaError::InvalidMatrix { .. })
    ));
    assert!(matches!(
        Pwm::from_counts(&p, 0.5, [0.5, 0.5, 0.0, 0.0]),
        Err(DnaError::InvalidMatrix { .. })
    ));
    assert!(matches!(
        Pwm::from_counts(&pfm(vec![]), 0.5, UNIFORM_BACKGROUND),
        Err(DnaError::InvalidMatrix { .. })
    ));
    assert!(matches!(
        ok.scores("ACGN"),
        Err(DnaError::InvalidBase { position: 3, .. })
    ));
    assert!(matches!(
        occupancy("NA", &[ok]),
        Err(DnaError::InvalidBase { position: 0, .. })
    ));
}

#[test]
fn embedded_matrices_parse() {
    let pfms = jaspar2024().unwrap();
    assert_eq!(pfms.len(), 21);
    assert_eq!(
        pfms.iter()
            .filter(|p| p.serves(SK_N_SH))
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["GATA2", "PHOX2B", "HAND2", "ASCL1", "Isl1"]
    );
    let eval: Vec<&str> = pfms
        .iter()
        .filter(|p| p.serves(SK_N_SH_EVAL))
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        eval,
        ["MA0713.1", "MA0092.2", "MA1631.2", "MA0914.2", "MA0037.5"]
    );
}

/// A four-position `GATA` count matrix (only G, A, T, A; 10 counts each) for unit tests.
pub(crate) fn gata_test_matrix() -> Pfm {
    Pfm {
        id: "X".into(),
        name: "X".into(),
        groups: vec![],
        counts: vec![
            [0.0, 0.0, 10.0, 0.0],
            [10.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 10.0],
            [10.0, 0.0, 0.0, 0.0],
        ],
    }
}
