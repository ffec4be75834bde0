//! The columns a comparison adds to the main table, so that the table alone shows what a
//! policy paid for its rewards: the KL to the pretrained policy, the task's realism measure
//! ([`Headline`], from [`Task::with_headline_metric`](crate::experiment::Task::with_headline_metric))
//! and the hypervolume of each policy's mean objective vector against a reference point made
//! from the pretrained policy ([`hv_reference`]); and the wall-time table, kept out of the main
//! table and of `results.json` (timings differ between otherwise identical runs).

use super::results_dir::SavedRun;
use crate::eval::metrics::{hypervolume, objective_stats};
use crate::eval::table::{Column, Format};
use crate::eval::{EvalError, MeanStd};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Header of the main table's KL column.
pub const KL_HEADER: &str = "KL to pretrained";
/// Header of the main table's hypervolume column.
pub const HV_HEADER: &str = "HV";
/// First cell of the wall-time table's values row (CI leaves this line out of its comparisons
/// of reports made by different process layouts).
pub const WALL_TIME_ROW: &str = "| Wall-clock seconds |";

/// The task's realism (or validity) measure shown in the main table: a header, where its
/// value sits in each evaluation's metrics (a JSON pointer, e.g. `/quality/validity`) and how
/// it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// Column header, e.g. `Validity`.
    pub header: String,
    /// JSON pointer ([RFC 6901](https://www.rfc-editor.org/rfc/rfc6901)) into the metrics.
    pub pointer: String,
    /// How the values are shown.
    pub format: Format,
}

/// The hypervolume's reference point: the pretrained policy's per-objective mean over samples
/// minus its population std over samples, so that a policy improving on the pretrained one
/// scores more than the pretrained policy's own box (the product of its stds), and a policy
/// worse by more than a std on some objective scores 0.
pub fn hv_reference(pretrained: &[Vec<f64>]) -> Result<Vec<f64>, EvalError> {
    Ok(objective_stats(pretrained)?
        .iter()
        .map(|MeanStd { mean, std }| mean - std)
        .collect())
}

/// The main table's extra columns for `saved` (the pretrained policy's evaluation among them,
/// `seed: None`) with `n` objectives, and what `results.json` records of the hypervolume.
pub(super) fn columns(
    saved: &[SavedRun],
    n: usize,
    headline: Option<&Headline>,
) -> Result<(Vec<Column>, Value), EvalError> {
    let kl = Column {
        header: KL_HEADER.into(),
        format: Format::Decimals(2),
        values: saved.iter().map(|r| r.metrics["kl"].as_f64()).collect(),
        note: "KL to pretrained: mean summed KL of a sample to the pretrained policy (nats)."
            .into(),
    };
    let mut columns = vec![kl];
    if let Some(h) = headline {
        let values = saved
            .iter()
            .map(|r| r.metrics.pointer(&h.pointer).and_then(Value::as_f64))
            .collect();
        let note = format!(
            "{}: the task's realism measure (metrics {}).",
            h.header, h.pointer
        );
        columns.push(Column {
            header: h.header.clone(),
            format: h.format,
            values,
            note,
        });
    }
    columns.extend(unscored_column(saved));
    let (hv, recorded) = hv_column(saved, n)?;
    columns.push(hv);
    Ok((columns, recorded))
}

/// The oracle average over every sample drawn, unscored samples counted at the oracles' NA
/// score (recorded by the evaluation under `with_unscored`); none when no evaluation has it
/// (a report of runs evaluated before it was recorded).
fn unscored_column(saved: &[SavedRun]) -> Option<Column> {
    let of = |r: &SavedRun| r.metrics.get("with_unscored").cloned();
    let score = saved.iter().find_map(of)?["unscored_score"].as_f64()?;
    Some(Column {
        header: format!("Avg (unscored = {score})"),
        format: Format::Decimals(4),
        values: saved
            .iter()
            .map(|r| of(r).and_then(|v| v["avg"].as_f64()))
            .collect(),
        note: format!(
            "Avg (unscored = {score}): the oracle average over every sample drawn, a sample some \
             oracle could not score (e.g. an invalid SMILES) counting as {score} on every \
             objective (REINVENT's convention; the oracles' NA score); Avg is over the scored \
             samples only."
        ),
    })
}

/// The hypervolume column and its record: each evaluation's mean objective vector against
/// [`hv_reference`] of the pretrained policy; `n/a` for other than 2 or 3 objectives.
fn hv_column(saved: &[SavedRun], n: usize) -> Result<(Column, Value), EvalError> {
    let pretrained = saved
        .iter()
        .find(|r| r.seed.is_none() && !r.result.scores.is_empty());
    let (values, note, recorded) = match (n, pretrained) {
        (2 | 3, Some(p)) => {
            let reference = hv_reference(&p.result.scores)?;
            let values = saved
                .iter()
                .map(|r| {
                    let mean: Vec<f64> = objective_stats(&r.result.scores)?
                        .iter()
                        .map(|s| s.mean)
                        .collect();
                    hypervolume(&[mean], &reference).map(Some)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let shown: Vec<String> = reference.iter().map(|r| format!("{r:.4}")).collect();
            let note = format!(
                "HV: hypervolume of the policy's mean objective vector against the reference \
                 point r = pretrained mean − pretrained std over samples, per objective: \
                 r = ({}); 0 when below r on some objective.",
                shown.join(", ")
            );
            let recorded = json!({
                "of": "each evaluation's mean objective vector",
                "reference": reference,
                "reference_rule": "the pretrained policy's per-objective mean minus its \
                                   population std over samples",
            });
            (values, note, recorded)
        }
        _ => {
            let why = match pretrained {
                None => "no evaluation of the pretrained policy to set the reference point".into(),
                Some(_) => format!("the hypervolume is computed for 2 or 3 objectives, not {n}"),
            };
            let note = format!("HV n/a: {why}.");
            (
                vec![None; saved.len()],
                note,
                json!({ "reference": null, "why": why }),
            )
        }
    };
    let column = Column {
        header: HV_HEADER.into(),
        format: Format::Decimals(4),
        values,
        note,
    };
    Ok((column, recorded))
}

/// The wall-time table: one column per strategy (order of first appearance), the mean over
/// seeds of each run's seconds (training and evaluation; per seed in `timings.json`).
pub(super) fn wall_time_table(saved: &[SavedRun]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in saved {
        if !names.contains(&r.result.name.as_str()) {
            names.push(&r.result.name);
        }
    }
    let mut md = String::from(
        "\nWall-clock seconds per policy (training and evaluation, mean over seeds; per seed in \
         timings.json; kept out of results.json and the table above, as they differ between \
         otherwise identical runs):\n\n| |",
    );
    for name in &names {
        let _ = write!(md, " {} |", name.replace('|', "\\|"));
    }
    let _ = write!(md, "\n|{}\n{WALL_TIME_ROW}", "---|".repeat(names.len() + 1));
    for name in &names {
        let seconds: Vec<f64> = saved
            .iter()
            .filter(|r| r.result.name == *name)
            .map(|r| r.seconds)
            .collect();
        let mean = seconds.iter().sum::<f64>() / seconds.len() as f64;
        let _ = write!(md, " {mean:.1} |");
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::StrategyResult;

    fn run(name: &str, seed: Option<u64>, scores: Vec<Vec<f64>>, metrics: Value) -> SavedRun {
        let result = StrategyResult {
            name: name.into(),
            scores,
            log: Vec::new(),
            spent: Default::default(),
        };
        SavedRun::new(
            result,
            seed,
            Value::Null,
            metrics,
            2.0 + seed.unwrap_or(0) as f64,
        )
    }

    /// Pretrained: columns (0, 2) and (1, 3): means (1, 2), stds (1, 1), reference (0, 1).
    fn saved() -> Vec<SavedRun> {
        let m = |kl: f64, v: f64| json!({"kl": kl, "quality": {"validity": v}});
        vec![
            run(
                "Pretrained",
                None,
                vec![vec![0.0, 1.0], vec![2.0, 3.0]],
                m(0.0, 0.9),
            ),
            run("A", Some(0), vec![vec![2.0, 3.0]], m(1.5, 1.0)),
            run("A", Some(1), vec![vec![3.0, 0.5]], json!({"kl": 2.5})),
        ]
    }

    #[test]
    fn reference_is_pretrained_mean_minus_std() {
        let reference = hv_reference(&saved()[0].result.scores).unwrap();
        assert_eq!(reference, vec![0.0, 1.0]);
    }

    #[test]
    fn columns_hold_kl_realism_and_hypervolume() {
        let headline = Headline {
            header: "Validity".into(),
            pointer: "/quality/validity".into(),
            format: Format::Percent(1),
        };
        let (columns, recorded) = columns(&saved(), 2, Some(&headline)).unwrap();
        let headers: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(headers, [KL_HEADER, "Validity", HV_HEADER]);
        assert_eq!(columns[0].values, [Some(0.0), Some(1.5), Some(2.5)]);
        assert_eq!(columns[1].values, [Some(0.9), Some(1.0), None]);
        // Pretrained (1, 2) − (0, 1): 1 × 1; A seed 0 (2, 3): 2 × 2; seed 1 (3, 0.5) is below
        // the reference's 1 on the second objective: 0.
        assert_eq!(columns[2].values, [Some(1.0), Some(4.0), Some(0.0)]);
        assert_eq!(recorded["reference"], json!([0.0, 1.0]));
        assert!(
            columns[2].note.contains("r = (0.0000, 1.0000)"),
            "{}",
            columns[2].note
        );
        // Without a headline: KL and HV only.
        assert_eq!(columns_of(&saved(), 2).len(), 2);
    }

    #[test]
    fn unscored_samples_get_a_named_column_when_recorded() {
        let mut runs = saved();
        let with = |avg: f64| json!({"avg": avg, "unscored": 1, "unscored_score": 0.0});
        runs[0].metrics["with_unscored"] = with(1.2);
        runs[1].metrics["with_unscored"] = with(2.0);
        let (columns, _) = columns(&runs, 2, None).unwrap();
        let headers: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(headers, [KL_HEADER, "Avg (unscored = 0)", HV_HEADER]);
        // The seed evaluated before the column existed shows n/a.
        assert_eq!(columns[1].values, [Some(1.2), Some(2.0), None]);
        assert!(columns[1].note.contains("REINVENT"), "{}", columns[1].note);
    }

    fn columns_of(saved: &[SavedRun], n: usize) -> Vec<Column> {
        columns(saved, n, None).unwrap().0
    }

    #[test]
    fn hypervolume_is_n_a_beyond_three_objectives() {
        let four = |name: &str, seed| run(name, seed, vec![vec![1.0; 4], vec![2.0; 4]], json!({}));
        let saved = [four("Pretrained", None), four("A", Some(0))];
        let (columns, recorded) = columns(&saved, 4, None).unwrap();
        let hv = columns.last().unwrap();
        assert_eq!(hv.values, [None, None]);
        assert!(hv.note.contains("2 or 3 objectives, not 4"), "{}", hv.note);
        assert!(recorded["reference"].is_null());
        assert_eq!(columns[0].values, [None, None], "no KL recorded");
    }

    #[test]
    fn wall_time_is_one_filterable_row() {
        let md = wall_time_table(&saved());
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(lines[0], "| | Pretrained | A |");
        // A: seeds 0 and 1 took 2 and 3 seconds.
        assert_eq!(lines[2], format!("{WALL_TIME_ROW} 2.0 | 2.5 |"));
        assert_eq!(lines.len(), 3);
    }
}
