//! A reward computed by a separate, persistent process (REINVENT's external-process scoring
//! component, with one process for a whole run instead of one per batch).
//!
//! The protocol, its faults and how blocking is avoided are documented on [`ExternalReward`].

mod process;
mod protocol;

use super::{Direction, Reward, RewardError, Sample};
use process::{Answer, Scorer};
use protocol::Bad;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a scorer that closed stdout or stdin is given to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_secs(1);

/// A [`Reward`] whose scores come from a persistent external process speaking JSON lines.
///
/// ```no_run
/// use multireward::reward::{ExternalReward, Reward, Sample};
/// use std::time::Duration;
///
/// let qed = ExternalReward::new("qed", ["python3", "examples/scorers/qed.py"])
///     .with_timeout(Duration::from_secs(30));
/// let scores = qed.score(&Sample::unprompted(&["CCO", "not a molecule"]))?;
/// assert_eq!(scores[1], None);
/// # Ok::<(), multireward::reward::RewardError>(())
/// ```
///
/// # Protocol
///
/// It starts its command (a program and its arguments, no shell) at its first
/// batch — or at [`ExternalReward::start`] — and keeps it running. For each batch it writes
/// **one JSON line** to the command's stdin:
///
/// ```text
/// {"batch": 0, "samples": [{"prompt": "", "completion": "CCO"}, {"prompt": "", "completion": "C1"}]}
/// ```
///
/// `batch` counts the reward's batches from 0 (it goes on counting when the process is
/// restarted). The command answers with **one JSON line** on stdout, in either form:
///
/// ```text
/// {"batch": 0, "scores": [0.4068, null]}
/// [0.4068, null]
/// ```
///
/// one finite number, or `null` where the reward does not apply, per sample and in order. If
/// the object names a `batch`, it must be the one asked. The command must flush stdout after
/// each answer and write anything else (logs, warnings) to stderr; it ends when its stdin
/// closes. An empty batch is answered without asking the process. A minimal scorer in Python:
///
/// ```text
/// import json, sys
/// for line in sys.stdin:
///     request = json.loads(line)
///     scores = [len(s["completion"]) or None for s in request["samples"]]
///     print(json.dumps({"batch": request["batch"], "scores": scores}), flush=True)
/// ```
///
/// # Faults
///
/// Every fault is a typed [`RewardError`] naming the reward, the command and the batch, with
/// the last lines of the command's stderr (up to 20 lines, 4 KiB):
/// [`RewardError::ExternalStart`] (the program cannot be started),
/// [`RewardError::ExternalExited`] (it exited, closed stdout or stopped reading stdin before
/// answering), [`RewardError::ExternalTimeout`] (no answer within the timeout, by default
/// [`ExternalReward::DEFAULT_TIMEOUT`]), [`RewardError::ExternalGarbage`] (the answer is not
/// JSON, not of either form, holds a value that is not a finite number or null, answers
/// another batch, or came before it was asked for) and [`RewardError::ExternalWrongCount`].
/// After any fault the process is killed and reaped, and the next batch starts the command
/// afresh: a run that stopped on the error resumes from its last checkpoint once the scorer
/// is fixed.
///
/// # Blocking
///
/// No call blocks past the timeout: a writer thread writes each request (a scorer that stops
/// reading cannot block the caller on a full pipe), a reader thread reads stdout line by line
/// (answer lines up to 64 MiB) and a third keeps the end of stderr; the caller waits on a
/// channel until the deadline, which covers starting, writing and answering. On a timeout the
/// command's own process is killed; processes it started itself should end when their stdin
/// or stdout closes. Dropping the reward closes the command's stdin, gives it 0.5 s to exit,
/// then kills it, and reaps it.
pub struct ExternalReward {
    name: String,
    command: Vec<String>,
    direction: Direction,
    timeout: Duration,
    working_dir: Option<PathBuf>,
    state: Mutex<State>,
}

/// The running process (if any) and the next batch's number.
#[derive(Default)]
struct State {
    scorer: Option<Scorer>,
    batch: u64,
}

impl ExternalReward {
    /// The default time a scorer has to answer one batch (60 s).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A maximised reward named `name`, scored by `command` (the program, then its
    /// arguments; run without a shell), with the [`ExternalReward::DEFAULT_TIMEOUT`]. Nothing
    /// starts yet.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        command: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            command: command.into_iter().map(Into::into).collect(),
            direction: Direction::Maximize,
            timeout: Self::DEFAULT_TIMEOUT,
            working_dir: None,
            state: Mutex::new(State::default()),
        }
    }

    /// The same reward with another direction.
    #[must_use]
    pub fn with_direction(self, direction: Direction) -> Self {
        Self { direction, ..self }
    }

    /// The same reward with another time limit per batch (from the request to the answer,
    /// including the start of the process when the batch starts it; [`Duration::MAX`]: no
    /// limit).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// The same reward with the command run in `dir` (default: the caller's working
    /// directory). A relative program path is resolved by the operating system.
    #[must_use]
    pub fn with_working_dir(self, dir: impl Into<PathBuf>) -> Self {
        Self {
            working_dir: Some(dir.into()),
            ..self
        }
    }

    /// The command line (program, then arguments).
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// The time limit per batch.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Starts the process now unless it is running (to find a missing program before a run
    /// rather than at its first batch).
    ///
    /// # Errors
    /// [`RewardError::ExternalStart`] when the command cannot be started.
    pub fn start(&self) -> Result<(), RewardError> {
        self.running(&mut self.lock()).map(drop)
    }

    /// The process id of the running scorer, if one is running.
    pub fn process_id(&self) -> Option<u32> {
        self.lock().scorer.as_ref().map(Scorer::id)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The running scorer, started if none is.
    fn running<'s>(&self, state: &'s mut State) -> Result<&'s Scorer, RewardError> {
        let scorer = match state.scorer.take() {
            Some(scorer) => scorer,
            None => {
                Scorer::start(&self.command, self.working_dir.as_deref()).map_err(|source| {
                    RewardError::ExternalStart {
                        reward: self.name.clone(),
                        command: self.command_line(),
                        source,
                    }
                })?
            }
        };
        Ok(state.scorer.insert(scorer))
    }

    /// The command line as shown in errors (arguments with spaces or quotes quoted).
    fn command_line(&self) -> String {
        let plain = |a: &str| {
            !a.is_empty()
                && a.chars()
                    .all(|c| c.is_alphanumeric() || "-_./=:,+@%".contains(c))
        };
        self.command
            .iter()
            .map(|a| {
                if plain(a) {
                    a.clone()
                } else {
                    format!("{a:?}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One batch's exchange with the scorer: the answer, or the fault with the process
    /// stopped (the next batch starts it afresh).
    fn exchange(
        &self,
        state: &mut State,
        batch: u64,
        samples: &[Sample<'_>],
    ) -> Result<Vec<Option<f64>>, RewardError> {
        let deadline = Instant::now().checked_add(self.timeout);
        let scorer = self.running(state)?;
        let (answer, early) = match scorer.pending() {
            Some(answer) => (answer, true),
            None => (
                scorer.ask(protocol::request(batch, samples), deadline),
                false,
            ),
        };
        let (line, bad) = match answer {
            Answer::Line(line, _) if early => {
                let reason = format!(
                    "it came before batch {batch} was sent (more than one line for an earlier \
                     batch?)"
                );
                (line, Bad::Garbage(reason))
            }
            Answer::Line(line, true) => {
                (line, Bad::Garbage("the line is longer than 64 MiB".into()))
            }
            Answer::Line(line, false) => match protocol::parse(&line, batch, samples.len()) {
                Ok(scores) => return Ok(scores),
                Err(bad) => (line, bad),
            },
            Answer::Gone => {
                let (status, stderr) = self.stop(state, EXIT_WAIT);
                return Err(RewardError::ExternalExited {
                    reward: self.name.clone(),
                    command: self.command_line(),
                    batch,
                    status,
                    stderr,
                });
            }
            Answer::TimedOut => {
                let (_, stderr) = self.stop(state, Duration::ZERO);
                return Err(RewardError::ExternalTimeout {
                    reward: self.name.clone(),
                    command: self.command_line(),
                    batch,
                    seconds: self.timeout.as_secs_f64(),
                    stderr,
                });
            }
        };
        let (_, stderr) = self.stop(state, Duration::ZERO);
        let (reward, command) = (self.name.clone(), self.command_line());
        Err(match bad {
            Bad::Garbage(reason) => RewardError::ExternalGarbage {
                reward,
                command,
                batch,
                line: protocol::shown(&line),
                reason,
                stderr,
            },
            Bad::WrongCount(got) => RewardError::ExternalWrongCount {
                reward,
                command,
                batch,
                expected: samples.len(),
                got,
                stderr,
            },
        })
    }

    /// Stops and forgets the scorer; how it ended and the end of its stderr.
    fn stop(
        &self,
        state: &mut State,
        grace: Duration,
    ) -> (Option<std::process::ExitStatus>, Box<str>) {
        match state.scorer.take() {
            Some(mut scorer) => scorer.stop(grace),
            None => (None, Box::default()),
        }
    }
}

impl Reward for ExternalReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn direction(&self) -> Direction {
        self.direction
    }

    /// Scores the batch through the process (started if it is not running).
    ///
    /// # Errors
    /// The `External*` variants of [`RewardError`] (see [`ExternalReward`]).
    fn score(&self, samples: &[Sample<'_>]) -> Result<Vec<Option<f64>>, RewardError> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        let batch = state.batch;
        state.batch = batch.wrapping_add(1);
        self.exchange(&mut state, batch, samples)
    }
}

impl fmt::Debug for ExternalReward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalReward")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("direction", &self.direction)
            .field("timeout", &self.timeout)
            .field("working_dir", &self.working_dir)
            .finish_non_exhaustive()
    }
}
