//! A study's `[run]` table (and `[quick]`, merged over it with `--quick`) read as the
//! comparison's command-line flags: `seeds = 3` is `--seeds 3`, `curve = true` is `--curve`,
//! a list is comma-separated. The flags' own parser checks every value, so a study and the
//! command line accept exactly the same settings.

use super::error::{Source, StudyError};
use super::locate::FieldPath;
use crate::cli::RunArgs;
use clap::{CommandFactory, Parser};
use toml::{Table, Value};

/// Keys the command decides, never the study file.
const FROM_COMMAND: [(&str, &str); 3] = [
    (
        "quick",
        "give --quick to the command (the study's [quick] table says what it changes)",
    ),
    ("resume", "use `multireward resume STUDY`"),
    ("out", "set `out` at the top of the study file"),
];

#[derive(Parser, Debug)]
#[command(name = "study")]
struct Flags {
    #[command(flatten)]
    run: RunArgs,
}

/// The flags of `table` (keys and values as in the file; `section` names it in errors).
fn flags_of(source: &Source, section: &str, table: &Table) -> Result<Vec<String>, StudyError> {
    let command = Flags::command();
    let mut argv = Vec::new();
    for (key, value) in table {
        let at = FieldPath::key(section).then(key);
        if let Some((_, hint)) = FROM_COMMAND.iter().find(|(k, _)| k == key) {
            return Err(source.field(&at, format!("is not a study setting; {hint}")));
        }
        let long = key.replace('_', "-");
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            return Err(source.field(
                &at,
                format!(
                    "is not a setting; the settings are the comparison's flags without `--`, \
                     `-` written `_` ({})",
                    known(&command)
                ),
            ));
        };
        let switch = !arg.get_action().takes_values();
        // `--flag=value`, so that a negative number is a value, not a flag.
        let with = |v: String| vec![format!("--{long}={v}")];
        let one = match (value, switch) {
            (Value::Boolean(true), true) => vec![format!("--{long}")],
            (Value::Boolean(false), true) => Vec::new(),
            (_, true) => return Err(source.field(&at, "is a switch; write true or false")),
            (Value::String(s), false) => with(s.clone()),
            (Value::Integer(i), false) => with(i.to_string()),
            (Value::Float(x), false) => with(x.to_string()),
            (Value::Array(items), false) => {
                let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
                let Some(parts) = parts else {
                    return Err(source.field(&at, "lists only strings and numbers"));
                };
                with(parts.join(","))
            }
            (other, false) => {
                return Err(source.field(
                    &at,
                    format!("is a {}; give a string, number or list", other.type_str()),
                ));
            }
        };
        // Each setting alone through the flags' parser, so that its error names it.
        if !one.is_empty() {
            let args = std::iter::once("study".to_string()).chain(one.iter().cloned());
            if let Err(e) = Flags::try_parse_from(args)
                && e.kind() != clap::error::ErrorKind::MissingRequiredArgument
            {
                return Err(source.field(&at, first_line(&e.to_string())));
            }
        }
        argv.extend(one);
    }
    Ok(argv)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(x) => Some(x.to_string()),
        _ => None,
    }
}

fn known(command: &clap::Command) -> String {
    let keys: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !FROM_COMMAND.iter().any(|(k, _)| *k == *l) && *l != "help")
        .map(|l| l.replace('-', "_"))
        .collect();
    keys.join(", ")
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.trim_start_matches("error: ").to_string()
}

/// The comparison's settings from `run` (and `quick` over it when `quick_run`), with
/// `--resume` when `resume`.
pub fn run_args(
    source: &Source,
    run: &Table,
    quick: &Table,
    quick_run: bool,
    resume: bool,
) -> Result<RunArgs, StudyError> {
    let mut merged = run.clone();
    if quick_run {
        // Check [quick]'s own keys where they are written, then let them win.
        flags_of(source, "quick", quick)?;
        merged.extend(quick.clone());
    }
    let mut argv = vec!["study".to_string()];
    argv.extend(flags_of(source, "run", &merged)?);
    if quick_run {
        argv.push("--quick".into());
    }
    if resume {
        argv.push("--resume".into());
    }
    Flags::try_parse_from(&argv)
        .map(|f| f.run)
        .map_err(|e| source.field(&FieldPath::key("run"), first_line(&e.to_string())))
}
