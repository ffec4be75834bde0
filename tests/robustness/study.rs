//! Class 10 of docs/reliability.md: study files. `Study::load` refuses what is not a study —
//! a file that cannot be read, TOML that does not parse, an unknown, missing or mistyped
//! field, an unknown task — with the file, the line and the field (the checks that need the
//! task, the flags or the scorers run before training: tests/study.rs).

use multireward::cli::study::{Study, StudyError};
use std::path::PathBuf;

fn load(name: &str, text: &str) -> Result<Study, StudyError> {
    let dir = std::env::temp_dir().join(format!("mr-robust-study-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    Study::load(&path)
}

/// `(case, text, line, field, words in the message)`.
const FIELDS: [(&str, &str, usize, &str, &str); 6] = [
    (
        "unknown top-level field",
        "out = \"x\"\nseeds = 3\n[task]\nname = \"dna\"\n[[rewards]]\nname = \"K562\"\n",
        2,
        "seeds",
        "unknown field",
    ),
    (
        "unknown task option",
        "out = \"x\"\n[task]\nname = \"dna\"\ntemprature = 1.0\n[[rewards]]\nname = \"K562\"\n",
        4,
        "task.temprature",
        "unknown field",
    ),
    (
        "mistyped option",
        "out = \"x\"\n[task]\nname = \"dna\"\ntemperature = \"hot\"\n[[rewards]]\nname = \"K562\"\n",
        4,
        "task.temperature",
        "invalid type",
    ),
    (
        "unknown task",
        "out = \"x\"\n[task]\nname = \"protein\"\n[[rewards]]\nname = \"a\"\n",
        3,
        "task.name",
        "is \"protein\"; give one of",
    ),
    (
        "missing out",
        "[task]\nname = \"dna\"\n[[rewards]]\nname = \"K562\"\n",
        1,
        "out",
        "missing field",
    ),
    (
        "unknown reward field",
        "out = \"x\"\n[task]\nname = \"dna\"\n[[rewards]]\nname = \"K562\"\nwieght = 1\n",
        6,
        "rewards[0].wieght",
        "unknown field",
    ),
];

#[test]
fn fields_are_named_with_their_line() {
    for (case, text, line, field, words) in FIELDS {
        match load("fields", text) {
            Err(StudyError::Field {
                line: l,
                field: f,
                message,
                ..
            }) => {
                assert_eq!((l, f.as_str()), (line, field), "{case}: {message}");
                assert!(message.contains(words), "{case}: {message}");
            }
            other => panic!("{case}: {other:?}"),
        }
    }
}

#[test]
fn unreadable_and_unparsable_files_say_so() {
    let missing = PathBuf::from("/nonexistent/study.toml");
    assert!(matches!(
        Study::load(&missing),
        Err(StudyError::Read { .. })
    ));
    match load("syntax", "out = \"x\"\n[task\nname = \"dna\"\n") {
        Err(e @ StudyError::Syntax { line: 2, .. }) => {
            assert!(e.to_string().contains("syntax.toml:2:"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A committed study loads.
    let root = env!("CARGO_MANIFEST_DIR");
    let study = Study::load(&PathBuf::from(root).join("studies/dna.toml")).unwrap();
    assert_eq!(study.file.rewards.len(), 3);
}
