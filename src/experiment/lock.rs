//! One writer per results directory: an advisory lock on `<out>/.lock` (the operating system's
//! file lock through `std::fs::File::try_lock`, released when the process ends, even by a
//! kill), holding the writer's PID so that a second writer can name it.

use super::error::ExperimentError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// The lock file's name in the results directory.
pub const LOCK_FILE: &str = ".lock";
/// How long a held lock is tried again before the directory counts as in use.
const RETRY: Duration = Duration::from_millis(500);

/// The held lock on a results directory (released on drop).
#[derive(Debug)]
pub(super) struct OutLock {
    _file: File,
}

impl OutLock {
    /// Lock the results directory `out` (which exists) for this process, or fail with
    /// [`ExperimentError::Locked`] naming the process that holds it. A lock found held is
    /// tried again for up to [`RETRY`]: a child process that any thread is starting shares the
    /// lock until it executes its program, so a lock just released can look held for a few
    /// milliseconds.
    pub fn acquire(out: &Path) -> Result<Self, ExperimentError> {
        let path = out.join(LOCK_FILE);
        let unwritable = |source| ExperimentError::Unwritable {
            path: out.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(unwritable)?;
        let start = Instant::now();
        let mut locked = file.try_lock();
        while matches!(locked, Err(TryLockError::WouldBlock)) && start.elapsed() < RETRY {
            std::thread::sleep(Duration::from_millis(10));
            locked = file.try_lock();
        }
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(ExperimentError::Locked {
                    path: out.to_path_buf(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(unwritable(source)),
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .map_err(unwritable)?;
        Ok(Self { _file: file })
    }
}
