//! Tests of the β sweep's report on known data.

use super::*;

fn e(strategy: &str, seed: u64, kl: f64, avg: f64) -> Evaluated {
    Evaluated {
        strategy: strategy.into(),
        seed: Some(seed),
        kl,
        avg,
    }
}

#[test]
fn fronts_pairs_and_matched_kl_on_known_data() {
    let pre = Evaluated {
        strategy: "Pretrained".into(),
        seed: None,
        kl: 0.0,
        avg: 0.0,
    };
    // A gains 0.2 per nat, B 0.1 per nat; three seeds each, KL 1 at β = 0.1 and 2 at 0.01.
    let at = |beta: f32, kl: f64| {
        let mut v = vec![pre.clone()];
        for seed in 0..3 {
            let jitter = 0.001 * seed as f64;
            v.push(e("A", seed, kl, 0.2 * kl + jitter));
            v.push(e("B", seed, kl, 0.1 * kl - jitter));
        }
        (beta, v)
    };
    let runs = vec![at(0.1, 1.0), at(0.01, 2.0)];
    let dir = std::env::temp_dir().join(format!("mr-kl-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let md = report(&runs, &dir).unwrap();
    assert!(dir.join(PLOT_FILE).exists());
    // Mean reward over KL ≤ 2 of y = 0.2 x is 0.2; of 0.1 x, 0.1; A − B is ahead.
    assert!(md.contains("KL ∈ [0, 2.000]"), "{md}");
    assert!(md.contains("| A | 3 | 0.20"), "{md}");
    assert!(md.contains("| A − B | +0.10"), "{md}");
    assert!(md.contains("ahead"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_front_without_points_below_k_is_named_a_chord() {
    let pre = Evaluated {
        seed: None,
        ..e("Pretrained", 0, 0.0, 0.0)
    };
    // Reaches: A 3, B 4, C 5, so K = 3. A and B have a point in (0, 3]; C's first is at 4,
    // so below K its front is only a chord.
    let at = |beta: f32, a: f64, b: f64, c: f64| {
        let mut v = vec![pre.clone()];
        for seed in 0..2 {
            v.push(e("A", seed, a, 0.1 * a));
            v.push(e("B", seed, b, 0.1 * b));
            v.push(e("C", seed, c, 0.1 * c));
        }
        (beta, v)
    };
    let runs = vec![at(0.1, 1.0, 2.0, 4.0), at(0.01, 3.0, 4.0, 5.0)];
    let dir = std::env::temp_dir().join(format!("mr-kl-chord-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let md = report(&runs, &dir).unwrap();
    assert!(
        md.contains("No measured point in (0, 3.000]: C (on 2 of 2 seeds)"),
        "{md}"
    );
    assert!(!md.contains("B (on"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_zoomed_plot_when_one_front_dwarfs_another() {
    let s = |name: &str, xs: &[f64]| Series {
        name: name.into(),
        points: xs
            .iter()
            .map(|&x| Point {
                x,
                x_err: 0.0,
                y: x,
                y_err: 0.0,
            })
            .collect(),
    };
    // Reaches 0.3 and 7: zoom to 0.6, widened to B's first point when it is ≤ 5 × 0.3.
    let zoom = |b: &[f64]| zoom_limit(&[s("A", &[0.0, 0.3]), s("B", b)]);
    assert_eq!(zoom(&[0.0, 0.5, 7.0]), Some(0.6));
    assert_eq!(zoom(&[0.0, 0.7, 7.0]), Some(0.7));
    assert_eq!(zoom(&[0.0, 2.0, 7.0]), Some(0.6));
    // Reaches 1 and 3: no zoom.
    assert_eq!(
        zoom_limit(&[s("A", &[0.0, 1.0]), s("B", &[0.0, 3.0])]),
        None
    );
}
