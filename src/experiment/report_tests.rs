//! Tests of the comparison report writer: every file, extra columns, seeds in the front.
use super::*;
use crate::reward::RewardStats;
use crate::strategy::StepReport;

fn record(step: usize, expert: Option<usize>) -> StepRecord {
    let stats = |name: &str, m: f64| RewardStats {
        name: name.into(),
        weight: 1.0,
        raw_mean: Some(m),
        raw_std: Some(0.1),
        transformed_mean: Some(m),
        transformed_std: Some(0.1),
        not_applicable: 0,
        count: 8,
    };
    StepRecord {
        step,
        expert,
        round: 0,
        report: StepReport {
            rewards: vec![stats("a", 0.5), stats("b", 0.25)],
            optimised: 0.5,
            kl: 0.01,
            samples: 8,
            updates: 4,
            ppo: None,
        },
    }
}

#[test]
fn writes_every_file() {
    let dir = std::env::temp_dir().join(format!("mr-exp-{}", std::process::id()));
    let results = vec![
        StrategyResult {
            name: "MORLHF".into(),
            scores: vec![vec![0.1, 0.9], vec![0.4, 0.5], vec![0.3, 0.2]],
            log: vec![record(1, None), record(2, None)],
            spent: Spent {
                iterations: 2,
                samples: 16,
                updates: 8,
                merges: 0,
            },
        },
        StrategyResult {
            name: "IterativeRS".into(),
            scores: vec![vec![0.6, 0.7], vec![0.5, 0.4]],
            log: vec![record(1, Some(0)), record(1, Some(1))],
            spent: Spent::default(),
        },
    ];
    let (summaries, files) = write_report(
        &dir,
        &["a", "b"],
        &results,
        json!({"task": "test"}),
        json!({"seed": 1}),
        &[],
        Some(&[0.0, 0.0]),
    )
    .unwrap();
    assert_eq!(summaries.len(), 2);
    assert!((summaries[1].avg - 0.55).abs() < 1e-12);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("IterativeRS") && md.contains("0.5500"), "{md}");
    let js: Value = serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(js["metadata"]["budgets"][0]["budget"]["samples"], 16);
    // The table's numbers, one seed each: no standard error.
    let avg = &js["table"][1]["columns"]["Avg"];
    assert!(
        (avg["mean"].as_f64().unwrap() - 0.55).abs() < 1e-12,
        "{avg}"
    );
    assert!(avg["se"].is_null() && js.get("provenance").is_none());
    // IterativeRS (0.55, 0.55) dominates MORLHF (0.267, 0.533).
    assert_eq!(
        js["metadata"]["pareto_front_of_strategies"],
        json!(["IterativeRS"])
    );
    let csv = std::fs::read_to_string(&files.steps).unwrap();
    // Header + 2 records × 2 rewards per strategy.
    assert_eq!(csv.lines().count(), 1 + 4 + 4);
    assert!(csv.contains("IterativeRS,1,b,0.25"), "{csv}");
    let png = std::fs::read(&files.plot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The summary figure (no KL recorded: objective panels only) and the HTML page with both
    // plots.
    assert_eq!(&std::fs::read(&files.summary).unwrap()[..4], b"\x89PNG");
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert_eq!(html.matches("data:image/png;base64,").count(), 2);
    // Writing again replaces the CSV instead of appending to it.
    write_report(&dir, &["a", "b"], &results, json!({}), json!({}), &[], None).unwrap();
    let again = std::fs::read_to_string(&files.steps).unwrap();
    assert_eq!(again.lines().count(), csv.lines().count());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn extras_add_columns_and_provenance() {
    let dir = std::env::temp_dir().join(format!("mr-exp-extras-{}", std::process::id()));
    let result = |scores| StrategyResult {
        name: "A".into(),
        scores,
        log: Vec::new(),
        spent: Spent::default(),
    };
    let results = [result(vec![vec![1.0, 0.0]]), result(vec![vec![0.0, 1.0]])];
    let extras = ReportExtras {
        columns: vec![Column {
            header: "KL".into(),
            format: crate::eval::table::Format::Decimals(2),
            values: vec![Some(1.0), Some(3.0)],
            note: String::new(),
        }],
        provenance: json!({"crate_version": "x"}),
        ..Default::default()
    };
    let (_, files) =
        write_report_with(&dir, &["x", "y"], &results, json!({}), json!({}), extras).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(
        md.starts_with("| Method | x | y | Avg | ICV-A | ICV-B | KL |"),
        "{md}"
    );
    assert!(md.contains("| 2.00 ± 1.00 |"), "{md}");
    let js: Value = serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(js["provenance"]["crate_version"], "x");
    assert_eq!(js["columns"][0]["values"], json!([1.0, 3.0]));
    assert_eq!(js["table"][0]["columns"]["KL"]["se"], 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seeds_are_averaged_for_the_front() {
    let dir = std::env::temp_dir().join(format!("mr-exp-seeds-{}", std::process::id()));
    let result = |name: &str, scores: Vec<Vec<f64>>| StrategyResult {
        name: name.into(),
        scores,
        log: Vec::new(),
        spent: Spent::default(),
    };
    // A's seeds average (0.5, 0): B (0.6, 0) dominates it, although A's first seed alone
    // would dominate B.
    let results = vec![
        result("A", vec![vec![1.0, 0.0]]),
        result("A", vec![vec![0.0, 0.0]]),
        result("B", vec![vec![0.6, 0.0]]),
    ];
    let (summaries, files) =
        write_report(&dir, &["x", "y"], &results, json!({}), json!({}), &[], None).unwrap();
    assert_eq!(summaries.len(), 3);
    let js: Value = serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(js["metadata"]["pareto_front_of_strategies"], json!(["B"]));
    let _ = std::fs::remove_dir_all(&dir);
}
