//! Tests of the main table: standard errors, formats, extra columns and the JSON numbers.

use super::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

fn summary(strategy: &str, scores: &[[f64; 2]]) -> Summary {
    let scores: Vec<Vec<f64>> = scores.iter().map(|r| r.to_vec()).collect();
    Summary::new(strategy, &["a", "b"], &scores, None).unwrap()
}

#[test]
fn standard_error_is_sample_std_over_root_n() {
    // Values 1, 2, 6: mean 3, squares 4 + 1 + 9 = 14; population std √(14/3), sample std
    // √7, SE √7/√3.
    let s = SeedStats::of(&[1.0, 2.0, 6.0]);
    assert_eq!(s.n, 3);
    close(s.mean, 3.0);
    close(s.std, (14.0f64 / 3.0).sqrt());
    close(s.se.unwrap(), (7.0f64 / 3.0).sqrt());
    // Two seeds: SE = |a − b| / 2 = population std.
    let two = SeedStats::of(&[1.0, 2.0]);
    close(two.se.unwrap(), 0.5);
    close(two.std, 0.5);
    // One seed: no spread.
    let one = SeedStats::of(&[0.25]);
    assert_eq!(
        (one.se, one.cell(Format::Decimals(2))),
        (None, "0.25".to_string())
    );
    assert_eq!(s.cell(Format::Decimals(3)), "3.000 ± 1.528");
    assert_eq!(
        SeedStats::of(&[0.9, 0.95, 1.0]).cell(Format::Percent(1)),
        "95.0 ± 2.9 %"
    );
    assert_eq!(Format::Decimals(2).show(-1e-9), "0.00");
    assert_eq!(Format::Decimals(2).show(-0.5), "-0.50");
    assert_eq!(Format::Percent(1).show(-1e-9), "0.0 %");
}

#[test]
fn uncertainty_note_names_the_seed_count() {
    let note = uncertainty_note(&[1, 3, 3]);
    assert!(note.contains("standard error over 3 seeds"), "{note}");
    assert!(uncertainty_note(&[1, 2, 3]).contains("over 2–3 seeds"));
    assert!(uncertainty_note(&[1, 1]).contains("one seed"));
}

#[test]
fn extra_columns_follow_icv_and_show_n_a_when_missing() {
    let results = vec![
        summary("P", &[[0.0, 1.0], [1.0, 0.0]]),
        summary("S", &[[1.0, 2.0], [2.0, 1.0]]),
        summary("S", &[[2.0, 3.0], [3.0, 2.0]]),
        summary("S", &[[3.0, 4.0], [4.0, 3.0]]),
    ];
    let kl = Column {
        header: "KL".into(),
        format: Format::Decimals(2),
        values: vec![Some(0.0), Some(1.0), Some(2.0), Some(6.0)],
        note: "KL: drift.".into(),
    };
    let realism = Column {
        header: "Validity".into(),
        format: Format::Percent(1),
        values: vec![Some(0.5), Some(1.0), None, Some(1.0)],
        note: String::new(),
    };
    let md = markdown_table_with(&results, &[kl.clone(), realism.clone()], &[]).unwrap();
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(
        lines[0],
        "| Method | a | b | Avg | ICV-A | ICV-B | KL | Validity |"
    );
    assert_eq!(lines[1], "|---|---|---|---|---|---|---|---|");
    // Means 1.5, 2.5, 3.5 per objective: SE = 1/√3 = 0.5774.
    assert!(
        lines[2].starts_with("| P | 0.5000 | 0.5000 | 0.5000 |"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with("| 0.00 | 50.0 % |"), "{}", lines[2]);
    assert!(
        lines[3].starts_with("| S | 2.5000 ± 0.5774 | 2.5000 ± 0.5774 |"),
        "{}",
        lines[3]
    );
    assert!(lines[3].ends_with("| 3.00 ± 1.53 | n/a |"), "{}", lines[3]);
    assert!(
        md.contains("KL: drift. `a ± b`: mean ± standard error over 3 seeds"),
        "{md}"
    );
    let short = Column {
        values: vec![None],
        ..kl.clone()
    };
    assert!(matches!(
        markdown_table_with(&results, &[short], &[]),
        Err(EvalError::Mismatch { .. })
    ));
    // The JSON numbers carry both the std and the SE.
    let json = table_json(&results, &[kl, realism]);
    let s = &json[1];
    assert_eq!(
        (s["strategy"].as_str(), s["seeds"].as_u64()),
        (Some("S"), Some(3))
    );
    close(
        s["columns"]["KL"]["se"].as_f64().unwrap(),
        (7.0f64 / 3.0).sqrt(),
    );
    close(
        s["columns"]["KL"]["std"].as_f64().unwrap(),
        (14.0f64 / 3.0).sqrt(),
    );
    assert!(s["columns"]["Validity"].is_null());
    assert!(json[0]["columns"]["a"]["se"].is_null());
}

#[test]
fn one_evaluations_own_standard_error_is_stated() {
    // Pretrained, evaluated once on four samples: a = (0, 2, 0, 2), std 1, SE 1/2; b = 1
    // throughout, std 0; sample averages (0.5, 1.5, 0.5, 1.5), std 0.5, SE 0.25.
    let pre = summary(
        "Pretrained",
        &[[0.0, 1.0], [2.0, 1.0], [0.0, 1.0], [2.0, 1.0]],
    );
    let seeds = [
        summary("A", &[[1.0, 1.0], [2.0, 2.0]]),
        summary("A", &[[1.0, 1.0], [3.0, 2.0]]),
    ];
    let results = [pre, seeds[0].clone(), seeds[1].clone()];
    let md = markdown_table_with(&results, &[], &[]).unwrap();
    assert!(
        md.contains("own standard error over its 4 samples (std / √n, from the Pretrained row): a 0.5000, b 0.0000, Avg 0.2500;"),
        "{md}"
    );
    // Only seeds: no such sentence.
    let md = markdown_table_with(&seeds, &[], &[]).unwrap();
    assert!(!md.contains("own standard error"), "{md}");
}
