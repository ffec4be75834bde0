//! Tests of the cell-type classifier.

use super::*;
use crate::device::default_device;
use crate::tasks::dna::Split;

/// Random sequences whose class is planted as a motif: both architectures learn it,
/// scoring skips bad input, and a saved model predicts the same after loading.
#[test]
fn learns_planted_motifs_and_round_trips() {
    let motifs = ["GATAAG", "TTGACA", "CACGTG", "CCAATC"];
    let mut rng = StdRng::seed_from_u64(3);
    let make = |n: usize, rng: &mut StdRng| -> Vec<DhsRecord> {
        (0..n)
            .map(|i| {
                let c = CellType::ALL[i % 4];
                let mut s: Vec<u8> = (0..40).map(|_| b"ACGT"[rng.random_range(0..4)]).collect();
                let at = rng.random_range(0..34);
                s[at..at + 6].copy_from_slice(motifs[c.index()].as_bytes());
                DhsRecord {
                    sequence: String::from_utf8(s).unwrap(),
                    cell_type: c,
                    split: Split::Train,
                }
            })
            .collect()
    };
    let (train, test) = (make(1200, &mut rng), make(400, &mut rng));
    let dev = default_device();
    let training = ClassifierTraining {
        epochs: 8,
        batch_size: 64,
        lr: 5e-3,
        ..Default::default()
    };
    for architecture in [
        Architecture::Cnn {
            filters: vec![16, 16],
            kernels: vec![7, 3],
            pool: 2,
        },
        Architecture::Kmer { k: 3 },
    ] {
        let config = ClassifierConfig {
            architecture,
            hidden: vec![32],
            length: 40,
        };
        let model =
            CellClassifier::fit(config.clone(), &train, &test, &training, &dev, |_, _| ()).unwrap();
        let rep = model.evaluate(&test);
        assert!(
            rep.accuracy > 0.6 && rep.macro_auroc > 0.8,
            "{config:?}: {rep:?}"
        );
        let seqs: Vec<&str> = test.iter().take(3).map(|r| r.sequence.as_str()).collect();
        let bad = ["ACGT", &"N".repeat(40)];
        let probs = model.probabilities(&[seqs[0], bad[0], bad[1]]);
        assert!(probs[0].is_some() && probs[1].is_none() && probs[2].is_none());
        let dir = std::env::temp_dir().join(format!("mr-cls-{}", std::process::id()));
        model.save(&dir).unwrap();
        let back = CellClassifier::load(&dir, &dev).unwrap();
        for (a, b) in back
            .probabilities(&seqs)
            .iter()
            .zip(model.probabilities(&seqs))
        {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let bad = ClassifierConfig {
        architecture: Architecture::Kmer { k: 9 },
        hidden: vec![],
        length: 40,
    };
    assert!(CellClassifier::init(bad, &dev).is_err());
}
