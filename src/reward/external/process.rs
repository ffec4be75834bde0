//! A running scorer process: its stdin written by a writer thread, its stdout read line by line
//! by a reader thread, the end of its stderr kept by a third, so that no read or write of the
//! caller's can block past a deadline.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The longest answer line read (64 MiB); a longer one is refused as garbage.
const MAX_LINE: usize = 64 << 20;
/// The stderr lines kept for error messages.
const STDERR_LINES: usize = 20;
/// The most bytes of stderr kept (the end of it).
const STDERR_BYTES: usize = 4096;
/// How long a dropped scorer may take to exit once its stdin is closed, before it is killed.
pub(super) const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long to wait for the last stderr lines of a scorer that has exited.
const STDERR_GRACE: Duration = Duration::from_millis(300);

/// What the threads report.
pub(super) enum Event {
    /// An answer line (without its newline).
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`] (its beginning).
    TooLong(Vec<u8>),
    /// Stdout reached its end (or failed to read).
    Closed,
    /// Writing a request failed (the scorer stopped reading: broken pipe).
    WriteFailed,
}

/// What waiting for an answer gave.
pub(super) enum Answer {
    /// A line, or a too-long line's beginning (`false`, `true`).
    Line(Vec<u8>, bool),
    /// Stdout closed or stdin broke: the scorer is gone.
    Gone,
    /// No answer before the deadline.
    TimedOut,
}

/// The last lines of a scorer's stderr.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    done: bool,
}

/// A started scorer process.
pub(super) struct Scorer {
    child: Child,
    requests: Option<Sender<Vec<u8>>>,
    events: Receiver<Event>,
    stderr: Arc<(Mutex<Tail>, std::sync::Condvar)>,
}

impl Scorer {
    /// Starts `command` (program and arguments) with piped stdin, stdout and stderr.
    pub(super) fn start(command: &[String], dir: Option<&Path>) -> io::Result<Self> {
        let (program, args) = command.split_first().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the command line is empty")
        })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn()?;
        let missing = || io::Error::other("a pipe of the child was not created");
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stderr = child.stderr.take().ok_or_else(missing)?;
        let (events_tx, events) = mpsc::channel();
        let (requests, requests_rx) = mpsc::channel();
        let tail = Arc::new((Mutex::new(Tail::default()), std::sync::Condvar::new()));
        let spawned = spawn("scorer-stdin", {
            let events = events_tx.clone();
            move || write_requests(stdin, &requests_rx, &events)
        })
        .and_then(|()| spawn("scorer-stdout", move || read_answers(stdout, &events_tx)))
        .and_then(|()| {
            let tail = Arc::clone(&tail);
            spawn("scorer-stderr", move || keep_tail(stderr, &tail))
        });
        if let Err(e) = spawned {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Self {
            child,
            requests: Some(requests),
            events,
            stderr: tail,
        })
    }

    /// The process's id.
    pub(super) fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the scorer reported before any request asked for it, if anything: a line (it
    /// wrote more than one line for an earlier batch) or its end (it exited between batches).
    pub(super) fn pending(&self) -> Option<Answer> {
        self.events.try_recv().ok().map(answer)
    }

    /// Hands `line` to the writer thread and waits until `deadline` (`None`: no limit) for an
    /// answer line.
    pub(super) fn ask(&self, line: Vec<u8>, deadline: Option<Instant>) -> Answer {
        let sent = self.requests.as_ref().is_some_and(|r| r.send(line).is_ok());
        if !sent {
            return Answer::Gone;
        }
        let event = match deadline {
            Some(deadline) => self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now())),
            None => self
                .events
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(event) => answer(event),
            Err(RecvTimeoutError::Timeout) => Answer::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Answer::Gone,
        }
    }

    /// Ends the process: closes its stdin, lets it exit for up to `grace`, then kills it;
    /// reaps it. Returns how it ended (`None` if it could not be reaped) and the end of its
    /// stderr.
    pub(super) fn stop(&mut self, grace: Duration) -> (Option<ExitStatus>, Box<str>) {
        let status = self.end(grace);
        (status, self.stderr_tail())
    }

    /// Closes stdin, lets the process exit for up to `grace`, kills it if it has not, and
    /// reaps it.
    fn end(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.requests = None;
        let until = Instant::now() + grace;
        let mut status = None;
        while status.is_none() {
            match self.child.try_wait() {
                Ok(Some(s)) => status = Some(s),
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(5)),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_none() {
            let _ = self.child.kill();
            status = self.child.wait().ok();
        }
        status
    }

    /// The kept end of stderr, after waiting briefly for the stderr thread to finish reading
    /// (it does once every holder of the pipe has exited).
    fn stderr_tail(&self) -> Box<str> {
        let (lock, done) = &*self.stderr;
        let tail = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (tail, _) = done
            .wait_timeout_while(tail, STDERR_GRACE, |t| !t.done)
            .unwrap_or_else(PoisonError::into_inner);
        let text = tail.lines.iter().map(String::as_str).collect::<Vec<_>>();
        let text = text.join("\n");
        // At most STDERR_BYTES, cut at a character boundary from the end.
        let mut start = text.len().saturating_sub(STDERR_BYTES);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text[start..].into()
    }
}

impl Drop for Scorer {
    fn drop(&mut self) {
        self.end(EXIT_GRACE);
    }
}

/// The answer an event gives.
fn answer(event: Event) -> Answer {
    match event {
        Event::Line(line) => Answer::Line(line, false),
        Event::TooLong(line) => Answer::Line(line, true),
        Event::Closed | Event::WriteFailed => Answer::Gone,
    }
}

/// Starts a named thread (detached: it ends when its pipe or channel does).
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new().name(name.into()).spawn(f).map(drop)
}

/// Writes each request to the scorer's stdin and flushes; stops at the first failure (which
/// it reports) or when the scorer is stopped (the requests' sender dropped), closing stdin.
fn write_requests(mut stdin: ChildStdin, requests: &Receiver<Vec<u8>>, events: &Sender<Event>) {
    for line in requests {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            let _ = events.send(Event::WriteFailed);
            return;
        }
    }
}

/// Sends each stdout line (at most [`MAX_LINE`] bytes) as an event, then [`Event::Closed`].
fn read_answers(stdout: impl Read, events: &Sender<Event>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        let event = match read {
            Ok(0) | Err(_) => Event::Closed,
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Event::Line(line)
            }
            Ok(_) if line.len() > MAX_LINE => {
                line.truncate(1024);
                let _ = events.send(Event::TooLong(line));
                return;
            }
            // The last line, without a newline, at the end of stdout.
            Ok(_) => Event::Line(line),
        };
        let closed = matches!(event, Event::Closed);
        if events.send(event).is_err() || closed {
            return;
        }
    }
}

/// Keeps the last [`STDERR_LINES`] lines of stderr (each at most [`STDERR_BYTES`] bytes) and
/// marks the tail done at the end.
fn keep_tail(stderr: impl Read, tail: &(Mutex<Tail>, std::sync::Condvar)) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(STDERR_BYTES as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let mut t = tail.0.lock().unwrap_or_else(PoisonError::into_inner);
                if t.lines.len() == STDERR_LINES {
                    t.lines.pop_front();
                }
                t.lines
                    .push_back(text.trim_end_matches(['\n', '\r']).to_owned());
            }
        }
    }
    tail.0.lock().unwrap_or_else(PoisonError::into_inner).done = true;
    tail.1.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &[u8]) -> Vec<String> {
        let (tx, rx) = mpsc::channel();
        read_answers(input, &tx);
        drop(tx);
        rx.into_iter()
            .map(|e| match e {
                Event::Line(l) => format!("line {}", String::from_utf8_lossy(&l)),
                Event::TooLong(l) => format!("too long {}", l.len()),
                Event::Closed => "closed".into(),
                Event::WriteFailed => "write failed".into(),
            })
            .collect()
    }

    #[test]
    fn stdout_is_split_into_lines() {
        assert_eq!(
            events(b"[1]\n[2]\r\n[3]"),
            ["line [1]", "line [2]", "line [3]", "closed"]
        );
        assert_eq!(events(b""), ["closed"]);
        let long = vec![b'x'; MAX_LINE + 10];
        assert_eq!(events(&long), ["too long 1024"]);
    }

    #[test]
    fn stderr_keeps_its_last_lines() {
        let text: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let tail = (Mutex::new(Tail::default()), std::sync::Condvar::new());
        keep_tail(text.as_bytes(), &tail);
        let t = tail.0.lock().unwrap();
        assert!(t.done);
        assert_eq!(t.lines.len(), STDERR_LINES);
        assert_eq!(t.lines.front().map(String::as_str), Some("line 30"));
        assert_eq!(t.lines.back().map(String::as_str), Some("line 49"));
    }
}
