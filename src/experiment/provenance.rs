//! How a results directory was made. `provenance.json` lists every invocation that wrote it
//! (command line, git commit, UTC start time, crate version), rewritten at each start: a
//! resumed comparison appends itself to the list. `results.json` records only what an
//! uninterrupted run and a killed-and-resumed one share (crate version, commit), under
//! `"provenance"`, so that the two stay byte-identical.

use super::error::ExperimentError;
use crate::eval::json_bytes;
use crate::eval::write_atomic;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every invocation that wrote a results directory, inside it.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// One invocation of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Invocation {
    /// The command line (`std::env::args`).
    pub command: Vec<String>,
    /// `git rev-parse HEAD` in the working directory; `None` outside a git checkout or
    /// without git.
    pub git_commit: Option<String>,
    /// When it started, UTC (`YYYY-MM-DDTHH:MM:SSZ`).
    pub started_utc: String,
    /// This crate's version.
    pub crate_version: String,
}

impl Invocation {
    /// This process's invocation, now.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            command: std::env::args().collect(),
            git_commit: git_commit(),
            started_utc: utc(secs),
            crate_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// What `results.json` records: the crate version and commit, and where the rest is.
    pub fn recorded(&self) -> Value {
        json!({
            "crate_version": self.crate_version,
            "git_commit": self.git_commit,
            "invocations": PROVENANCE_FILE,
        })
    }
}

/// Write `provenance.json` in `out`: the earlier invocations' (when resuming and readable)
/// followed by `this`.
pub(super) fn record(out: &Path, resume: bool, this: &Invocation) -> Result<(), ExperimentError> {
    let path = out.join(PROVENANCE_FILE);
    let mut invocations: Vec<Invocation> = match resume {
        true => std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| serde_json::from_value(v["invocations"].clone()).ok())
            .unwrap_or_default(),
        false => Vec::new(),
    };
    invocations.push(this.clone());
    let file = json!({ "invocations": invocations });
    Ok(write_atomic(&path, &json_bytes(&file))?)
}

/// `git rev-parse HEAD` in the working directory, if it answers with a commit.
fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    let hex = commit.len() >= 40 && commit.chars().all(|c| c.is_ascii_hexdigit());
    (output.status.success() && hex).then_some(commit)
}

/// `secs` after the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
fn utc(secs: u64) -> String {
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_match_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn resumed_invocations_are_appended() {
        let dir = std::env::temp_dir().join(format!("mr-provenance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let this = Invocation::now();
        assert_eq!(this.crate_version, env!("CARGO_PKG_VERSION"));
        if let Some(commit) = &this.git_commit {
            assert!(commit.len() >= 40, "{commit}");
        }
        let read = || -> Value {
            serde_json::from_slice(&std::fs::read(dir.join(PROVENANCE_FILE)).unwrap()).unwrap()
        };
        record(&dir, false, &this).unwrap();
        record(&dir, true, &this).unwrap();
        assert_eq!(read()["invocations"].as_array().unwrap().len(), 2);
        record(&dir, false, &this).unwrap();
        assert_eq!(read()["invocations"].as_array().unwrap().len(), 1);
        assert_eq!(this.recorded()["invocations"], PROVENANCE_FILE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
