//! The summarisation comparison's report sections: the paper's rows, summary quality and the
//! example summaries before and after.

use super::SummaryPair;
use crate::eval::report::PaperRow;
use crate::experiment::{decimals, metrics_table, percent};
use serde_json::Value;
use std::fmt::Write as _;

/// Evaluation prompts whose summaries are shown before/after.
pub(super) const SHOWN: usize = 6;

/// The paper's summarisation table (docs/algorithms.md, "Metrics of the paper"; Reddit TL;DR
/// with the faithful / summary / DeBERTa reward models: other rewards, other scale).
pub(super) fn paper_rows() -> Vec<PaperRow> {
    let row = |m: &str, o: [f64; 3], avg, icv| PaperRow::new(m, &o, avg, icv);
    vec![
        row("MORLHF", [0.6530, 0.5778, 0.3857], 0.4525, 4.55),
        row("Rewarded Soups", [0.6732, 0.5807, 0.4296], 0.4732, 4.59),
        row("RiC", [0.6497, 0.5688, 0.3455], 0.4518, 3.96),
        row("IterativeRS", [0.6927, 0.5854, 0.4398], 0.4849, 4.91),
    ]
}

/// Markdown table of summary quality and KL per (strategy, seed).
pub(super) fn quality_table(rows: &[Value]) -> String {
    metrics_table(
        rows,
        &[
            ("Words", |m| decimals(&m["quality"]["words"], 1)),
            ("Unique", |m| percent(&m["quality"]["unique"])),
            ("Empty", |m| percent(&m["quality"]["empty"])),
        ],
        "KL to SFT",
    )
}

/// Markdown: for the first shown test descriptions, the human synopsis and each policy's first
/// summary (seed 0 and the pretrained policy).
pub(super) fn examples_table(test: &[SummaryPair], rows: &[Value]) -> String {
    let cell = |t: &str| t.replace('|', "\\|");
    let mut md = String::from("\nExample summaries of held-out test descriptions (seed 0):\n");
    for (p, pair) in test.iter().take(SHOWN).enumerate() {
        let document = pair.document();
        let words: Vec<&str> = document.split_whitespace().take(40).collect();
        let _ = write!(
            md,
            "\n**{}** — {} …\n\n| Policy | Summary |\n|---|---|\n| Human synopsis | {} |\n",
            pair.package,
            cell(&words.join(" ")),
            cell(&pair.summary)
        );
        for r in rows {
            if r["seed"].as_u64().is_some_and(|s| s != 0) {
                continue;
            }
            let text = r["metrics"]["shown"][p].as_str().unwrap_or_default();
            let name = match r["strategy"].as_str().unwrap_or_default() {
                "Pretrained" => "SFT (before)",
                s => s,
            };
            let _ = writeln!(md, "| {name} | {} |", cell(text));
        }
    }
    md
}
