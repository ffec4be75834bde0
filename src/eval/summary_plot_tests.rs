use super::*;

/// A strategy with `seeds` seeds of 50 samples on two objectives, its scores shifted by
/// `shift`, and KL `kl` + 0.1 × seed.
fn strategy(name: &str, seeds: usize, shift: f64, kl: Option<f64>) -> StrategySummary {
    let summaries: Vec<Summary> = (0..seeds)
        .map(|seed| {
            let scores: Vec<Vec<f64>> = (0..50)
                .map(|k| {
                    let w = ((k * 37 + seed * 11) % 17) as f64 / 17.0;
                    vec![shift + w, shift - w + 0.1 * seed as f64]
                })
                .collect();
            Summary::new(name, &["K562", "HepG2"], &scores, None).unwrap()
        })
        .collect();
    let seeds: Vec<(&Summary, Option<f64>)> = summaries
        .iter()
        .enumerate()
        .map(|(k, s)| (s, kl.map(|kl| kl + 0.1 * k as f64)))
        .collect();
    StrategySummary::of(name, &seeds).unwrap()
}

fn objectives() -> Vec<String> {
    vec!["K562".into(), "HepG2".into()]
}

#[test]
fn draws_a_panel_per_objective_and_one_of_reward_against_kl() {
    let strategies = vec![
        strategy("Pretrained", 1, 0.0, Some(0.0)),
        strategy("IterativeRS", 3, 0.5, Some(1.0)),
        strategy("MORLHF", 3, 0.7, Some(2.0)),
    ];
    assert_eq!(strategies[1].intervals[0].kind, IntervalKind::Seeds(3));
    assert_eq!(strategies[0].intervals[0].kind, IntervalKind::Samples(50));
    assert_eq!(strategies[2].positions.len(), 3);
    let objectives = objectives();
    let figure = SummaryFigure {
        objectives: &objectives,
        strategies: &strategies,
        pretrained: Some(0),
    };
    let (pixels, size) = render(figure).unwrap();
    // Two objectives and the KL panel: two per row, two rows, under a caption of three lines
    // and a legend line.
    assert_eq!(size.0, 2 * SUMMARY_PANEL_WIDTH);
    assert_eq!(size.1, 4 * LINE + 6 + 2 * 400);
    let background = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
    let total = pixels.len() / 3;
    assert!(
        background > total / 2 && background < total - 5_000,
        "{background}/{total}"
    );
    // Colour of each series is in the picture (the pretrained policy's is black).
    for s in 1..3 {
        let RGBColor(r, g, b) = color(figure, s);
        assert!(pixels.chunks(3).any(|p| p == [r, g, b]), "strategy {s}");
    }
    let path = std::env::temp_dir().join(format!("mr-summary-{}.png", std::process::id()));
    assert_eq!(write_summary_plot(&path, figure).unwrap(), size);
    let png = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn without_kl_there_is_no_kl_panel_and_one_caption_kind() {
    let strategies = vec![strategy("A", 2, 0.0, None), strategy("B", 2, 1.0, None)];
    let objectives = objectives();
    let figure = SummaryFigure {
        objectives: &objectives,
        strategies: &strategies,
        pretrained: None,
    };
    let (_, size) = render(figure).unwrap();
    assert_eq!(size, (2 * SUMMARY_PANEL_WIDTH, 3 * LINE + 6 + 400));
    let lines = caption(&strategies);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("t-interval"), "{lines:?}");
}

#[test]
fn rejects_empty_and_mismatched_figures() {
    let objectives = objectives();
    let strategies = vec![strategy("A", 1, 0.0, None)];
    let figure = |objectives: &'static [String], strategies| SummaryFigure {
        objectives,
        strategies,
        pretrained: None,
    };
    assert!(matches!(
        render(figure(&[], &strategies)),
        Err(EvalError::Empty)
    ));
    let one: &'static [String] = Box::leak(vec![objectives[0].clone()].into_boxed_slice());
    assert!(matches!(
        render(figure(one, &strategies)),
        Err(EvalError::Mismatch { .. })
    ));
    let mut nan = strategies.clone();
    nan[0].intervals[1].mean = f64::NAN;
    let two: &'static [String] = Box::leak(objectives.into_boxed_slice());
    assert!(matches!(
        render(figure(two, &nan)),
        Err(EvalError::NonFinite { row: 0, col: 1 })
    ));
    assert!(matches!(
        StrategySummary::of("A", &[]),
        Err(EvalError::Empty)
    ));
}

#[test]
fn one_strategy_alone_is_drawn() {
    // The report after the pretrained policy's evaluation, before any run.
    let strategies = vec![strategy("Pretrained", 1, 0.0, Some(0.0))];
    let objectives = objectives();
    let figure = SummaryFigure {
        objectives: &objectives,
        strategies: &strategies,
        pretrained: Some(0),
    };
    let (pixels, size) = render(figure).unwrap();
    assert_eq!(size, (2 * SUMMARY_PANEL_WIDTH, 3 * LINE + 6 + 2 * 400));
    // Its dots and whiskers are black, the axes too: many pure black pixels.
    let black = pixels.chunks(3).filter(|p| p == &[0, 0, 0]).count();
    assert!(black > 2_000, "{black}");
}
