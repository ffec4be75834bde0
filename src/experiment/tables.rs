//! Markdown tables of the task's own metrics in a comparison's report ([`metrics_table`]) and
//! the cells they are made of ([`percent`], [`decimals`]).

use serde_json::Value;

/// A cell of [`metrics_table`]: the text shown for one evaluation's metrics object.
pub type Cell = fn(&Value) -> String;

/// Markdown table of evaluation rows as `Task::with_markdown`
/// gets them (`{"strategy", "seed", "metrics"}`): Policy, Seed (`–` for the pretrained
/// policy), one column per `(header, cell)` computed from the row's `metrics`, and the KL (two
/// decimals) under `kl_header`.
///
/// ```
/// use multireward::experiment::{metrics_table, percent};
/// let rows = [serde_json::json!({"strategy": "MORLHF", "seed": 0,
///     "metrics": {"validity": 0.95, "kl": 5.9}})];
/// let md = metrics_table(&rows, &[("Validity", |m| percent(&m["validity"]))], "KL");
/// assert_eq!(md.lines().nth(2), Some("| MORLHF | 0 | 95.0 % | 5.90 |"));
/// ```
pub fn metrics_table(rows: &[Value], columns: &[(&str, Cell)], kl_header: &str) -> String {
    let mut md = String::from("| Policy | Seed |");
    for (header, _) in columns {
        md.push_str(&format!(" {header} |"));
    }
    md.push_str(&format!(
        " {kl_header} |\n|{}\n",
        "---|".repeat(columns.len() + 3)
    ));
    for r in rows {
        let seed = r["seed"].as_u64().map_or("–".into(), |s| s.to_string());
        md.push_str(&format!(
            "| {} | {seed} |",
            r["strategy"].as_str().unwrap_or_default()
        ));
        for (_, cell) in columns {
            md.push_str(&format!(" {} |", cell(&r["metrics"])));
        }
        md.push_str(&format!(" {} |\n", decimals(&r["metrics"]["kl"], 2)));
    }
    md
}

/// A fraction as a percentage with one decimal (`"95.0 %"`), `n/a` if not a number.
pub fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or("n/a".into(), |x| format!("{:.1} %", 100.0 * x))
}

/// A number with `d` decimals, `n/a` if not a number.
pub fn decimals(v: &Value, d: usize) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.d$}"))
}
