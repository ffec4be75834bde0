//! Tests of the preference sweep's report on known data.

use super::*;

fn e(strategy: &str, seed: u64, means: [f64; 2]) -> Evaluated {
    Evaluated {
        strategy: strategy.into(),
        seed: Some(seed),
        means: means.to_vec(),
        kl: 1.0,
    }
}

#[test]
fn weight_vectors_parse_and_bad_ones_are_refused() {
    assert_eq!(
        parse("2,1,1; 1,2,1").unwrap(),
        vec![vec![2.0, 1.0, 1.0], vec![1.0, 2.0, 1.0]]
    );
    assert!(parse("2,x").unwrap_err().contains("\"x\""));
    assert!(parse("1,2;1,2").unwrap_err().contains("twice"));
    assert!(parse(" ; ").unwrap_err().contains("no weight vector"));
    assert_eq!(dir_name(&[0.5, 0.25, 0.25]), "w-0.5-0.25-0.25");
}

#[test]
fn front_hypervolumes_and_pairs_on_known_data() {
    // Reference point (0, 0). Under weights (2,1) A reaches (2, 1), under (1,2) (1, 2): its
    // front dominates 2·1 + 1·2 − 1·1 = 3. B reaches (1, 1) under both: 1. Two seeds each,
    // B's second seed a little better (HV 1.21), so A − B is ahead.
    let pre = Evaluated {
        seed: None,
        kl: 0.0,
        ..e("Pretrained", 0, [0.5, 0.5])
    };
    let read = |a: [f64; 2]| Read {
        objectives: vec!["x".into(), "y".into()],
        reference: Some(vec![0.0, 0.0]),
        evaluated: vec![
            pre.clone(),
            e("A", 0, a),
            e("B", 0, [1.0, 1.0]),
            e("A", 1, a),
            e("B", 1, [1.1, 1.1]),
        ],
    };
    let runs = vec![
        (vec![2.0, 1.0], read([2.0, 1.0])),
        (vec![1.0, 2.0], read([1.0, 2.0])),
    ];
    let dir = std::env::temp_dir().join(format!("mr-pref-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let md = report(&runs, &dir).unwrap();
    assert!(dir.join(plot_name("x", "y")).exists());
    assert!(md.contains("| A | 2 | 2 | 3.0000 ± 0.0000 |"), "{md}");
    assert!(md.contains("| B | 2 | 2 | 1.1050 ± "), "{md}");
    assert!(md.contains("| A − B | +1.8950 ["), "{md}");
    assert!(md.contains("ahead"), "{md}");
    assert!(
        md.contains("| 2, 1 | A | 2 | 2.0000 ± 0.0000 | 1.0000 ± 0.0000 |"),
        "{md}"
    );
    assert!(
        md.contains("| – | Pretrained | 1 | 0.5000 | 0.5000 | 0.00 |"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
