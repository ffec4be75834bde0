//! The lines an [`ExternalReward`](crate::reward::ExternalReward) writes and reads: a batch's
//! request, and the checks of an answer.

use crate::reward::Sample;
use serde_json::{Value, json};

/// The most characters of a bad answer kept in
/// [`RewardError::ExternalGarbage`](crate::reward::RewardError::ExternalGarbage).
pub(super) const SHOWN_CHARS: usize = 200;

/// The request line for batch `batch`, newline included:
/// `{"batch": k, "samples": [{"prompt": …, "completion": …}, …]}`.
pub(super) fn request(batch: u64, samples: &[Sample<'_>]) -> Vec<u8> {
    let samples: Vec<Value> = samples
        .iter()
        .map(|s| json!({"prompt": s.prompt, "completion": s.completion}))
        .collect();
    let mut line = json!({"batch": batch, "samples": samples}).to_string();
    line.push('\n');
    line.into_bytes()
}

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bad {
    /// Not an answer (the reason).
    Garbage(String),
    /// A list of scores of the wrong length.
    WrongCount(usize),
}

/// The scores of an answer line to batch `batch` of `expected` samples: either
/// `{"batch": k, "scores": [...]}` (with `k` = `batch`; the `batch` key may be left out) or a
/// bare `[...]`, each score a number or null.
pub(super) fn parse(line: &[u8], batch: u64, expected: usize) -> Result<Vec<Option<f64>>, Bad> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        let hint = if ["NaN", "Infinity"]
            .iter()
            .any(|w| String::from_utf8_lossy(line).contains(w))
        {
            " (NaN and Infinity are not JSON: answer null where a sample has no score, e.g. \
             Python's json.dumps(..., allow_nan=False) refuses them)"
        } else {
            ""
        };
        Bad::Garbage(format!("it is not JSON ({e}){hint}"))
    })?;
    let scores = match value {
        Value::Array(scores) => scores,
        Value::Object(mut map) => {
            match map.get("batch") {
                None => {}
                Some(k) if k.as_u64() == Some(batch) => {}
                Some(k) => {
                    return Err(Bad::Garbage(format!(
                        "it answers batch {k}, not {batch} (the scorer is out of step: one \
                         answer line per request line)"
                    )));
                }
            }
            match map.remove("scores") {
                Some(Value::Array(scores)) => scores,
                Some(other) => {
                    return Err(Bad::Garbage(format!(
                        "\"scores\" is {}, not a list",
                        kind(&other)
                    )));
                }
                None => return Err(Bad::Garbage("the object has no \"scores\" list".into())),
            }
        }
        other => {
            return Err(Bad::Garbage(format!(
                "it is {}, not an object or a list",
                kind(&other)
            )));
        }
    };
    if scores.len() != expected {
        return Err(Bad::WrongCount(scores.len()));
    }
    scores
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| Bad::Garbage(format!("score {i} ({n}) is not a finite number"))),
            other => Err(Bad::Garbage(format!(
                "score {i} is {} {}, not a number or null",
                kind(other),
                shown(other.to_string().as_bytes())
            ))),
        })
        .collect()
}

/// A JSON value's kind, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A line as shown in an error: lossy UTF-8, its first [`SHOWN_CHARS`] characters and "…" if
/// longer.
pub(super) fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\n', '\r']);
    let mut out: String = text.chars().take(SHOWN_CHARS).collect();
    if text.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garbage(line: &str, batch: u64, expected: usize) -> String {
        match parse(line.as_bytes(), batch, expected) {
            Err(Bad::Garbage(reason)) => reason,
            other => panic!("{line}: expected garbage, got {other:?}"),
        }
    }

    #[test]
    fn requests_are_one_json_line() {
        let samples = [
            Sample {
                prompt: "p\n1",
                completion: "C\"O",
            },
            Sample {
                prompt: "",
                completion: "é",
            },
        ];
        let line = String::from_utf8(request(7, &samples)).unwrap();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({"batch": 7, "samples": [
                {"prompt": "p\n1", "completion": "C\"O"},
                {"prompt": "", "completion": "é"},
            ]})
        );
    }

    #[test]
    fn both_answer_forms_parse() {
        let want = vec![Some(1.5), None, Some(-2.0)];
        assert_eq!(parse(b"[1.5, null, -2]", 3, 3), Ok(want.clone()));
        assert_eq!(
            parse(br#"{"batch": 3, "scores": [1.5, null, -2]}"#, 3, 3),
            Ok(want.clone())
        );
        assert_eq!(parse(br#"{"scores": [1.5, null, -2e0]}"#, 3, 3), Ok(want));
        assert_eq!(parse(b"[]\r\n", 0, 0), Ok(vec![]));
    }

    #[test]
    fn bad_answers_are_refused_with_a_reason() {
        assert!(garbage("hello", 0, 1).contains("not JSON"));
        assert!(garbage("", 0, 1).contains("not JSON"));
        assert!(garbage("[NaN]", 0, 1).contains("allow_nan=False"));
        assert!(garbage("[1e400]", 0, 1).contains("not JSON"));
        assert!(garbage(r#"["NaN"]"#, 0, 1).contains("score 0 is a string \"NaN\""));
        assert!(garbage("[true]", 0, 1).contains("a boolean"));
        assert!(garbage("[[1]]", 0, 1).contains("a list"));
        assert!(garbage("3", 0, 1).contains("a number, not an object or a list"));
        assert!(garbage(r#"{"batch": 2, "scores": [1]}"#, 1, 1).contains("batch 2, not 1"));
        assert!(garbage(r#"{"batch": "1", "scores": [1]}"#, 1, 1).contains("out of step"));
        assert!(garbage(r#"{"batch": 1}"#, 1, 1).contains("no \"scores\""));
        assert!(garbage(r#"{"scores": 1}"#, 1, 1).contains("a number, not a list"));
        assert!(garbage("[1] [2]", 0, 1).contains("not JSON"));
        assert!(garbage("\u{fffd}\u{0}", 0, 1).contains("not JSON"));
        assert_eq!(parse(&[0xff, 0xfe], 0, 1).map_err(|_| ()), Err(()));
        assert_eq!(parse(b"[1, 2]", 0, 3), Err(Bad::WrongCount(2)));
        assert_eq!(
            parse(br#"{"batch": 0, "scores": []}"#, 0, 1),
            Err(Bad::WrongCount(0))
        );
    }

    #[test]
    fn shown_lines_are_cut_at_200_characters() {
        assert_eq!(shown(b"abc\n"), "abc");
        let long = "é".repeat(500);
        let s = shown(long.as_bytes());
        assert_eq!(s.chars().count(), SHOWN_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shown(&[b'a', 0xff]), "a\u{fffd}");
    }
}
