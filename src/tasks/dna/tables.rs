//! The DNA comparison's report sections: the paper's rows, the realism table and what the
//! evaluation oracles score on real sites.

use super::{CellType, DhsRecord, Realism, SK_N_SH, Split};
use crate::eval::report::PaperRow;
use crate::reward::{RewardError, RewardSet, Sample};
use serde_json::Value;

/// The paper's DNA table (docs/algorithms.md, "Metrics of the paper"; Malinois-predicted MPRA
/// activity, another scale).
#[allow(clippy::approx_constant)] // MORLHF's ICV is 3.14, not π.
pub(super) fn paper_rows() -> Vec<PaperRow> {
    let row = |m: &str, o: [f64; 3], avg, icv| PaperRow::new(m, &o, avg, icv);
    vec![
        row("MORLHF", [0.2724, 0.7096, 0.7183], 0.5667, 3.14),
        row("Rewarded Soups", [0.3057, 0.6808, 0.7131], 0.5666, 3.82),
        row("RiC", [0.4221, 0.6615, 0.6688], 0.5842, 2.47),
        row("IterativeRS", [0.3032, 0.7370, 0.7378], 0.5927, 3.83),
    ]
}

/// Markdown table of the evaluation oracles' means on the real DHS test sites of each cell
/// type (context for the policies' numbers: what a real site of that cell scores).
pub(super) fn real_oracle_table(
    records: &[DhsRecord],
    oracles: &RewardSet,
) -> Result<String, RewardError> {
    let names = oracles.names();
    let mut md = format!(
        "Evaluation oracles on real DHS test sites (chr1):\n\n| Sites | n | {} |\n|---|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for cell in CellType::ALL {
        let texts: Vec<&str> = records
            .iter()
            .filter(|r| r.split == Split::Test && r.cell_type == cell)
            .map(|r| r.sequence.as_str())
            .collect();
        let batch = oracles.score(&Sample::unprompted(&texts))?;
        let means: Vec<String> = batch
            .columns()
            .iter()
            .map(|c| {
                let v: Vec<f64> = c.transformed.iter().flatten().copied().collect();
                format!("{:.3}", v.iter().sum::<f64>() / v.len().max(1) as f64)
            })
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            cell.name(),
            texts.len(),
            means.join(" | ")
        ));
    }
    Ok(md)
}

/// Markdown table of the realism metrics and KL per (strategy, seed), real sequences last.
pub(super) fn realism_table(rows: &[Value], real: &Realism) -> String {
    let (references, groups) = (["K562", "HepG2"], ["K562", "HepG2", SK_N_SH]);
    let mut md = Realism::markdown_header(&references, &groups);
    for r in rows {
        if let Ok(q) = serde_json::from_value::<Realism>(r["metrics"]["realism"].clone()) {
            let seed = r["seed"].as_u64().map_or("–".into(), |s| s.to_string());
            let kl = r["metrics"]["kl"]
                .as_f64()
                .map_or("n/a".into(), |x| format!("{x:.2}"));
            let policy = r["strategy"].as_str().unwrap_or_default();
            md.push_str(&q.markdown_row((policy, &seed, &kl), &references, &groups));
        }
    }
    md.push_str(&real.markdown_row(
        ("Real DHS (test, all cells)", "–", "–"),
        &references,
        &groups,
    ));
    md
}
