//! ROUGE-L equals Google's rouge-score 0.1.2 on the committed fixture
//! (`scripts/make-rouge-fixture.py`: 200 pairs, with and without stemming).

use multireward::data::unescape_field;
use multireward::tasks::text::RougeL;
use std::path::Path;

#[test]
fn rouge_l_matches_rouge_score() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rouge/rouge_l.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let scorers = [RougeL::new(false), RougeL::new(true)];
    let (mut rows, mut worst, mut stemming_matters) = (0, 0f64, false);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 7, "{line}");
        let stem = f[1] == "1";
        let got = scorers[stem as usize].score(&unescape_field(f[3]), &unescape_field(f[2]));
        let want: Vec<f64> = f[4..].iter().map(|x| x.parse().unwrap()).collect();
        for (g, w) in [got.precision, got.recall, got.f1].iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
        if stem {
            let plain = scorers[0].score(&unescape_field(f[3]), &unescape_field(f[2]));
            stemming_matters |= plain.f1 != got.f1;
        }
        rows += 1;
    }
    assert_eq!(rows, 400);
    assert!(worst <= 1e-12, "max |Δ| {worst:e}");
    assert!(stemming_matters, "the fixture exercises the stemmer");
}
