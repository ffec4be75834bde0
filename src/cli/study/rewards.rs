//! A study's `[[rewards]]` made into objectives: the task's built-in rewards by name, and
//! external scorers (one process for training, another for evaluation), each checked before
//! any training.

use super::error::{Source, StudyError};
use super::file::{ExternalEntry, RewardEntry};
use super::locate::FieldPath;
use crate::reward::{ExternalReward, Normalizer, Transform};
use crate::tasks::Objective;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Arguments with these endings name a script that must exist (a program that starts and
/// then fails to find its script would only fail at the first batch).
const SCRIPTS: [&str; 6] = [".py", ".R", ".pl", ".sh", ".js", ".rb"];

/// The objectives of `entries`: built-in ones from `builtin(name, weight)`, external ones
/// started here (a command that cannot start is refused now, not at the first batch).
pub fn objectives<E: std::fmt::Display>(
    source: &Source,
    entries: &[RewardEntry],
    mut builtin: impl FnMut(&str, f64) -> Result<Objective, E>,
) -> Result<Vec<Objective>, StudyError> {
    let at = |i: usize, key: &str| FieldPath::key("rewards").at(i).then(key);
    if entries.is_empty() {
        return Err(source.field(
            &FieldPath::key("rewards"),
            "is empty; add at least one [[rewards]] table with a name",
        ));
    }
    let given = entries.iter().filter(|e| e.weight.is_some()).count();
    if given != 0 && given != entries.len() {
        let i = entries.iter().position(|e| e.weight.is_none()).unwrap_or(0);
        return Err(source.field(
            &FieldPath::key("rewards").at(i),
            "has no weight while others have one; give every reward a weight, or none \
             (equal weights)",
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        if entries[..i].iter().any(|e| e.name == entry.name) {
            return Err(source.field(&at(i, "name"), format!("{:?} is named twice", entry.name)));
        }
        let weight = entry.weight.unwrap_or(1.0 / entries.len() as f64);
        if !weight.is_finite() || weight < 0.0 {
            return Err(source.field(
                &at(i, "weight"),
                format!("is {weight}; give a finite weight ≥ 0 (0: scored and reported only)"),
            ));
        }
        let mut objective = match &entry.external {
            Some(ext) => external(source, i, &entry.name, ext, weight)?,
            None => builtin(&entry.name, weight)
                .map_err(|e| source.field(&at(i, "name"), e.to_string()))?,
        };
        if let Some(t) = entry.transform {
            t.check()
                .map_err(|why| source.field(&at(i, "transform"), why.to_string()))?;
            objective.transform = t;
        }
        if let Some(n) = entry.normalizer {
            n.check()
                .map_err(|why| source.field(&at(i, "normalizer"), why.to_string()))?;
            objective.normalizer = n;
        }
        out.push(objective);
    }
    Ok(out)
}

/// An external objective: the command for training and (apart) for evaluation.
fn external(
    source: &Source,
    i: usize,
    name: &str,
    ext: &ExternalEntry,
    weight: f64,
) -> Result<Objective, StudyError> {
    let at = FieldPath::key("rewards").at(i).then("external");
    let timeout = match ext.timeout_s {
        None => ExternalReward::DEFAULT_TIMEOUT,
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(source.field(&at.then("timeout_s"), format!("is {s}; give seconds > 0")));
        }
    };
    let make = |key: &str, command: &[String]| {
        let Some(program) = command.first() else {
            return Err(source.field(
                &at.then(key),
                "is empty; give the program and its arguments, e.g. [\"python3\", \"score.py\"]",
            ));
        };
        if !runnable(program) {
            return Err(source.field(
                &at.then(key),
                format!("{program:?} is neither a file nor a program on PATH"),
            ));
        }
        for arg in &command[1..] {
            let script = SCRIPTS.iter().any(|ext| arg.ends_with(ext));
            if script && !Path::new(arg).exists() {
                return Err(source.field(&at.then(key), format!("{arg:?} does not exist")));
            }
        }
        let reward = ExternalReward::new(name, command.iter().map(String::as_str))
            .with_direction(ext.direction)
            .with_timeout(timeout);
        reward
            .start()
            .map_err(|e| source.field(&at.then(key), e.to_string()))?;
        Ok(reward)
    };
    let train = make("command", &ext.command)?;
    let oracle = make("oracle", ext.oracle.as_deref().unwrap_or(&ext.command))?;
    Ok(Objective {
        name: name.into(),
        train: Box::new(train),
        oracle: Box::new(oracle),
        weight,
        transform: Transform::Identity,
        normalizer: Normalizer::None,
        about: json!({"reward": "external", "command": ext.command,
                      "oracle": ext.oracle.as_ref().unwrap_or(&ext.command)}),
    })
}

/// Whether `program` is a file (a path) or found on `PATH`.
fn runnable(program: &str) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|dirs| std::env::split_paths(&dirs).any(|d| d.join(program).is_file()))
}
